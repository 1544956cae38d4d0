//! Planar YUV 4:2:0 frames: what decoders produce and encoders take, so the full-size picture is never
//! converted to RGB and back (at 1080p that costs as much as encoding).

use super::color::ColorSpec;

/// An upright 8-bit YUV 4:2:0 picture, planes stored without padding, with the colours it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yuv420Image {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
    pub colors: ColorSpec,
}

impl Yuv420Image {
    pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
        (width.div_ceil(2), height.div_ceil(2))
    }

    /// A uniform picture of `rgb`.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3], colors: ColorSpec) -> Self {
        let (cw, ch) = Self::chroma_size(width, height);
        let [y, u, v] = colors.rgb_to_yuv(rgb);
        Self {
            width,
            height,
            y: vec![y; width * height],
            u: vec![u; cw * ch],
            v: vec![v; cw * ch],
            colors,
        }
    }

    /// Copies planes from strided buffers (as FFmpeg frames hold them).
    pub fn from_planes(
        width: usize,
        height: usize,
        planes: [(&[u8], usize); 3],
        colors: ColorSpec,
    ) -> Self {
        let (cw, ch) = Self::chroma_size(width, height);
        let copy = |(data, stride): (&[u8], usize), w: usize, h: usize| {
            let mut out = Vec::with_capacity(w * h);
            for row in 0..h {
                out.extend_from_slice(&data[row * stride..row * stride + w]);
            }
            out
        };
        Self {
            width,
            height,
            y: copy(planes[0], width, height),
            u: copy(planes[1], cw, ch),
            v: copy(planes[2], cw, ch),
            colors,
        }
    }

    /// Converts an RGB picture (chroma averaged over each 2×2 block).
    pub fn from_rgb(image: &image::RgbImage, colors: ColorSpec) -> Self {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let (cw, ch) = Self::chroma_size(w, h);
        let mut out = Self::filled(w, h, [0, 0, 0], colors);
        let mut sums = vec![[0u32; 3]; cw * ch];
        for (x, y, p) in image.enumerate_pixels() {
            let [ly, u, v] = colors.rgb_to_yuv(p.0);
            out.y[y as usize * w + x as usize] = ly;
            let s = &mut sums[(y as usize / 2) * cw + x as usize / 2];
            s[0] += u as u32;
            s[1] += v as u32;
            s[2] += 1;
        }
        for (i, [u, v, n]) in sums.into_iter().enumerate() {
            out.u[i] = ((u + n / 2) / n.max(1)) as u8;
            out.v[i] = ((v + n / 2) / n.max(1)) as u8;
        }
        out
    }

    /// Rotated clockwise by `degrees` (0, 90, 180 or 270).
    pub fn rotated(&self, degrees: u32) -> Self {
        if degrees.is_multiple_of(360) {
            return self.clone();
        }
        let (cw, ch) = Self::chroma_size(self.width, self.height);
        let (w, h) = if degrees % 180 == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        };
        Self {
            width: w,
            height: h,
            y: rotate_plane(&self.y, self.width, self.height, degrees),
            u: rotate_plane(&self.u, cw, ch, degrees),
            v: rotate_plane(&self.v, cw, ch, degrees),
            colors: self.colors,
        }
    }

    /// Converts to RGB in the picture's own colours (for display, snapshots and the network).
    pub fn to_rgb(&self) -> image::RgbImage {
        let mut out = Vec::new();
        self.to_rgb_into(&mut out);
        image::RgbImage::from_raw(self.width as u32, self.height as u32, out)
            .expect("sized by to_rgb_into")
    }

    /// [`Yuv420Image::to_rgb`] into a reused buffer (packed RGB rows). Each chroma sample serves its
    /// 2×2 block, as FFmpeg's unscaled converter does.
    pub fn to_rgb_into(&self, out: &mut Vec<u8>) {
        let (w, h) = (self.width, self.height);
        let (cw, _) = Self::chroma_size(w, h);
        let convert = self.colors.converter();
        out.resize(w * h * 3, 0);
        for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
            let luma = &self.y[y * w..(y + 1) * w];
            let (u, v) = (&self.u[(y / 2) * cw..], &self.v[(y / 2) * cw..]);
            for ((pair, l), (&cu, &cv)) in
                row.chunks_mut(6).zip(luma.chunks(2)).zip(u.iter().zip(v))
            {
                for (px, &ly) in pair.chunks_exact_mut(3).zip(l) {
                    px.copy_from_slice(&convert.convert(ly, cu, cv));
                }
            }
        }
    }
}

fn rotate_plane(src: &[u8], w: usize, h: usize, degrees: u32) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    match degrees % 360 {
        90 => {
            // out is h wide, w tall: out(x', y') = src(y', h-1-x')
            for y in 0..h {
                for x in 0..w {
                    out[x * h + (h - 1 - y)] = src[y * w + x];
                }
            }
        }
        180 => {
            for (i, p) in src.iter().enumerate() {
                out[w * h - 1 - i] = *p;
            }
        }
        270 => {
            for y in 0..h {
                for x in 0..w {
                    out[(w - 1 - x) * h + y] = src[y * w + x];
                }
            }
        }
        _ => out.copy_from_slice(src),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_pictures_convert_both_ways() {
        let rgb =
            image::RgbImage::from_fn(7, 5, |x, y| image::Rgb([x as u8 * 30, y as u8 * 50, 90]));
        for colors in [ColorSpec::BT601, ColorSpec::BT709] {
            let back = Yuv420Image::from_rgb(&rgb, colors).to_rgb();
            let worst = rgb
                .pixels()
                .zip(back.pixels())
                .flat_map(|(a, b)| (0..3).map(move |c| (a[c] as i32 - b[c] as i32).abs()))
                .max()
                .unwrap();
            assert!(
                worst <= 40,
                "chroma is shared by 2x2 blocks, luma is exact: {worst}"
            );
            assert_eq!(back.dimensions(), (7, 5));
        }
    }

    #[test]
    fn rotation_moves_corners_and_odd_sizes_keep_their_chroma() {
        let mut img = Yuv420Image::filled(5, 3, [0, 0, 0], ColorSpec::BT601);
        img.y[0] = 200; // top-left
        let r = img.rotated(90);
        assert_eq!((r.width, r.height), (3, 5));
        assert_eq!(r.y[2], 200, "top-left goes to top-right");
        assert_eq!(r.u.len(), 2 * 3);
        let r = img.rotated(270);
        assert_eq!(r.y[4 * 3], 200, "top-left goes to bottom-left");
        assert_eq!(img.rotated(180).y[14], 200);
        assert_eq!(img.rotated(90).rotated(270), img);
    }
}
