//! From a picture to the network's input tensor: keep the aspect ratio, resize so the height is the
//! net height (or fit a fixed-size input), pad right and bottom to a multiple of the stride (as the CMU
//! demo does), then write values in the model's layout, channel order and scale.
//!
//! There is one resize for every path (`posecam image`, export, the window): cubic convolution with
//! a = −0.75 and no anti-aliasing, which is OpenCV's `INTER_CUBIC`, what the CMU demo feeds its
//! networks. Video frames are converted to RGB first (in their own colours), so a frame saved as a
//! picture and the same frame in a video give the network the same numbers, and the same people.

use fast_image_resize::{
    images::{Image, ImageRef},
    Filter, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;

use crate::pose::GridToImage;
use crate::video::Yuv420Image;

use super::model::{ChannelOrder, InputConvention, TensorLayout};

/// Widest net input accepted; a panorama beyond this would need gigabytes of activations.
pub const MAX_NET_SIDE: usize = 8192;

/// Why a picture cannot become a network input.
#[derive(Debug, thiserror::Error)]
pub enum NetInputError {
    #[error("the image is empty (0 pixels)")]
    Empty,
    #[error("no positive scale to run")]
    NoScale,
    /// Says what helps: a lower net height for an ordinary image, cropping for a panorama.
    #[error("net input {width}x{height} is too large (max side {MAX_NET_SIDE}): {advice}")]
    TooLarge {
        width: usize,
        height: usize,
        advice: &'static str,
    },
    #[error("resizing to the network input failed")]
    Resize(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where the image lies inside the network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetGeometry {
    pub image_width: usize,
    pub image_height: usize,
    /// Size of the resized image inside the input.
    pub content_width: usize,
    pub content_height: usize,
    /// Size of the input tensor (content plus padding).
    pub net_width: usize,
    pub net_height: usize,
    pub stride: usize,
}

impl NetGeometry {
    /// Geometry for an image fed at `net_height` (rounded to the stride), or into a fixed-size input.
    pub fn new(
        (image_width, image_height): (usize, usize),
        net_height: usize,
        stride: usize,
        fixed: Option<(usize, usize)>,
    ) -> Result<Self, NetInputError> {
        if image_width == 0 || image_height == 0 {
            return Err(NetInputError::Empty);
        }
        let round_up = |v: usize| v.div_ceil(stride) * stride;
        let (content_width, content_height, net_width, net_height) = match fixed {
            Some((w, h)) => {
                let s = f64::min(
                    w as f64 / image_width as f64,
                    h as f64 / image_height as f64,
                );
                let cw = ((image_width as f64 * s).round() as usize).clamp(1, w);
                let ch = ((image_height as f64 * s).round() as usize).clamp(1, h);
                (cw, ch, w, h)
            }
            None => {
                let nh = (((net_height as f64) / stride as f64).round() as usize).max(1) * stride;
                let s = nh as f64 / image_height as f64;
                let cw = ((image_width as f64 * s).round() as usize).max(1);
                (cw, nh, round_up(cw), nh)
            }
        };
        if net_width > MAX_NET_SIDE || net_height > MAX_NET_SIDE {
            // The width follows the aspect ratio: when it alone is too wide even at the smallest
            // height, only cropping helps.
            let smallest = image_width.div_ceil(image_height.max(1)) * stride;
            return Err(NetInputError::TooLarge {
                width: net_width,
                height: net_height,
                advice: if net_width > MAX_NET_SIDE && smallest > MAX_NET_SIDE {
                    "the picture is too wide for its height: crop it"
                } else {
                    "lower --net-height or crop the image"
                },
            });
        }
        Ok(Self {
            image_width,
            image_height,
            content_width,
            content_height,
            net_width,
            net_height,
            stride,
        })
    }

    /// Output grid size (columns, rows).
    pub fn grid(&self) -> (usize, usize) {
        (self.net_width / self.stride, self.net_height / self.stride)
    }

    pub fn grid_to_image(&self) -> GridToImage {
        GridToImage::new(
            self.stride as f32,
            self.content_width as f32 / self.image_width as f32,
            self.content_height as f32 / self.image_height as f32,
        )
    }
}

/// A picture to feed the network, in whichever form its source produced it.
#[derive(Debug, Clone, Copy)]
pub enum NetInput<'a> {
    Rgb(&'a RgbImage),
    Yuv(&'a Yuv420Image),
}

impl NetInput<'_> {
    pub fn size(&self) -> (usize, usize) {
        match self {
            NetInput::Rgb(i) => (i.width() as usize, i.height() as usize),
            NetInput::Yuv(i) => (i.width, i.height),
        }
    }
}

/// OpenCV's cubic kernel (Keys, a = −0.75).
fn opencv_cubic(x: f64) -> f64 {
    const A: f64 = -0.75;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        A * (((x - 5.0) * x + 8.0) * x - 4.0)
    } else {
        0.0
    }
}

/// The network-input resize: cubic a = −0.75 interpolation (no anti-aliasing filter when shrinking).
fn net_resize_alg() -> ResizeAlg {
    match Filter::new("opencv-cubic", opencv_cubic, 2.0) {
        Ok(f) => ResizeAlg::Interpolation(FilterType::Custom(f)),
        Err(_) => ResizeAlg::Interpolation(FilterType::CatmullRom),
    }
}

/// Resizes and converts pictures into input tensors, reusing its buffers.
pub struct Preprocessor {
    resizer: Resizer,
    alg: ResizeAlg,
    resized: Vec<u8>,
    /// A video frame in RGB, before resizing.
    rgb: Vec<u8>,
}

impl Default for Preprocessor {
    fn default() -> Self {
        Self::new()
    }
}

impl Preprocessor {
    pub fn new() -> Self {
        Self {
            resizer: Resizer::new(),
            alg: net_resize_alg(),
            resized: Vec::new(),
            rgb: Vec::new(),
        }
    }

    /// Writes the input tensor for `picture` at `geometry` into `tensor`.
    pub fn fill(
        &mut self,
        picture: NetInput<'_>,
        geometry: &NetGeometry,
        convention: &InputConvention,
        tensor: &mut Vec<f32>,
    ) -> Result<(), NetInputError> {
        let (cw, ch) = (geometry.content_width, geometry.content_height);
        let (rgb, (w, h)): (&[u8], _) = match picture {
            NetInput::Rgb(image) => (image.as_raw(), image.dimensions()),
            NetInput::Yuv(yuv) => {
                yuv.to_rgb_into(&mut self.rgb);
                (&self.rgb, (yuv.width as u32, yuv.height as u32))
            }
        };
        let content: &[u8] = if (cw as u32, ch as u32) == (w, h) {
            rgb
        } else {
            self.resized.resize(cw * ch * 3, 0);
            let src = ImageRef::new(w, h, rgb, PixelType::U8x3)
                .map_err(|e| NetInputError::Resize(e.into()))?;
            let mut dst =
                Image::from_slice_u8(cw as u32, ch as u32, &mut self.resized, PixelType::U8x3)
                    .map_err(|e| NetInputError::Resize(e.into()))?;
            self.resizer
                .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(self.alg))
                .map_err(|e| NetInputError::Resize(e.into()))?;
            &self.resized
        };
        write_tensor(content, cw, ch, geometry, convention, tensor);
        Ok(())
    }
}

fn write_tensor(
    content: &[u8],
    cw: usize,
    ch: usize,
    g: &NetGeometry,
    conv: &InputConvention,
    tensor: &mut Vec<f32>,
) {
    let (nw, nh) = (g.net_width, g.net_height);
    let lut: Vec<f32> = (0..256)
        .map(|v| v as f32 * conv.scale + conv.offset)
        .collect();
    let pad = lut[conv.pad_value as usize];
    tensor.clear();
    tensor.resize(nw * nh * 3, pad);
    let order: [usize; 3] = match conv.channels {
        ChannelOrder::Bgr => [2, 1, 0],
        ChannelOrder::Rgb => [0, 1, 2],
    };
    match conv.layout {
        TensorLayout::Nhwc => {
            for y in 0..ch {
                let src = &content[y * cw * 3..(y + 1) * cw * 3];
                let dst = &mut tensor[y * nw * 3..y * nw * 3 + cw * 3];
                for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                    d[0] = lut[s[order[0]] as usize];
                    d[1] = lut[s[order[1]] as usize];
                    d[2] = lut[s[order[2]] as usize];
                }
            }
        }
        TensorLayout::Nchw => {
            let plane = nw * nh;
            for (c, &src_c) in order.iter().enumerate() {
                let out = &mut tensor[c * plane..(c + 1) * plane];
                for y in 0..ch {
                    let src = &content[y * cw * 3..(y + 1) * cw * 3];
                    let dst = &mut out[y * nw..y * nw + cw];
                    for (d, s) in dst.iter_mut().zip(src.chunks_exact(3)) {
                        *d = lut[s[src_c] as usize];
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::model::Preset;

    #[test]
    fn geometry_keeps_aspect_and_pads_to_the_stride() {
        let g = NetGeometry::new((1000, 500), 368, 8, None).unwrap();
        assert_eq!((g.content_width, g.content_height), (736, 368));
        assert_eq!((g.net_width, g.net_height), (736, 368));
        let g = NetGeometry::new((853, 480), 368, 8, None).unwrap();
        assert_eq!(g.content_width, 654);
        assert_eq!(g.net_width, 656);
        assert_eq!(g.grid(), (82, 46));
        let g = NetGeometry::new((640, 480), 370, 8, None).unwrap();
        assert_eq!(g.net_height, 368, "net height is rounded to the stride");
    }

    #[test]
    fn fixed_inputs_are_letterboxed() {
        let g = NetGeometry::new((100, 400), 368, 8, Some((320, 240))).unwrap();
        assert_eq!((g.content_width, g.content_height), (60, 240));
        assert_eq!((g.net_width, g.net_height), (320, 240));
    }

    #[test]
    fn absurd_sizes_are_errors() {
        assert!(NetGeometry::new((0, 10), 368, 8, None).is_err());
        assert!(NetGeometry::new((100_000, 10), 368, 8, None).is_err());
    }

    #[test]
    fn tensors_follow_layout_order_and_scale() {
        let img = RgbImage::from_pixel(3, 2, image::Rgb([200, 100, 50]));
        let g = NetGeometry {
            image_width: 3,
            image_height: 2,
            content_width: 3,
            content_height: 2,
            net_width: 8,
            net_height: 8,
            stride: 8,
        };
        let mut p = Preprocessor::new();
        let mut t = Vec::new();
        p.fill(NetInput::Rgb(&img), &g, &Preset::Cmu.convention(), &mut t)
            .unwrap();
        assert_eq!(t.len(), 3 * 64);
        assert_eq!(t[0], 50.0 / 256.0 - 0.5, "plane 0 is blue");
        assert_eq!(t[64], 100.0 / 256.0 - 0.5);
        assert_eq!(t[128 + 8 + 2], 200.0 / 256.0 - 0.5);
        assert_eq!(t[3], 0.0, "padding is grey 128");
        p.fill(
            NetInput::Rgb(&img),
            &g,
            &Preset::TfPose.convention(),
            &mut t,
        )
        .unwrap();
        assert_eq!(&t[0..3], &[50.0, 100.0, 200.0]);
        assert_eq!(&t[9..12], &[128.0, 128.0, 128.0]);
    }

    #[test]
    fn the_kernel_is_opencv_cubic() {
        assert_eq!(opencv_cubic(0.0), 1.0);
        assert_eq!(opencv_cubic(1.0), 0.0);
        assert_eq!(opencv_cubic(2.0), 0.0);
        // Keys' kernel with a = -0.75 at 0.5 and 1.5.
        assert!((opencv_cubic(0.5) - 0.59375).abs() < 1e-12);
        assert!((opencv_cubic(1.5) + 0.09375).abs() < 1e-12);
        // Weights of any phase sum to one.
        for t in [0.1, 0.25, 0.5, 0.9] {
            let sum: f64 = [-1.0, 0.0, 1.0, 2.0]
                .iter()
                .map(|k| opencv_cubic(t - k))
                .sum();
            assert!((sum - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn yuv_and_rgb_pictures_give_the_same_tensor() {
        use crate::video::ColorSpec;
        let rgb = RgbImage::from_fn(97, 61, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 4) as u8, ((x + y) * 3 % 256) as u8])
        });
        let g = NetGeometry::new((97, 61), 32, 8, None).unwrap();
        let conv = Preset::TfPose.convention();
        let mut p = Preprocessor::new();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        p.fill(NetInput::Rgb(&rgb), &g, &conv, &mut a).unwrap();
        let yuv = Yuv420Image::from_rgb(&rgb, ColorSpec::BT709);
        p.fill(NetInput::Yuv(&yuv), &g, &conv, &mut b).unwrap();
        assert_eq!(a.len(), b.len());
        let rgb_of_yuv = yuv.to_rgb();
        let mut c = Vec::new();
        p.fill(NetInput::Rgb(&rgb_of_yuv), &g, &conv, &mut c)
            .unwrap();
        assert_eq!(
            b, c,
            "a video frame and the same frame as a picture give the same tensor"
        );
        let mean = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
        assert!(mean < 4.0, "mean difference {mean} levels");
    }
}
