//! Planar YUV 4:2:0 frames: what decoders produce and encoders take, so the full-size picture is never
//! converted to RGB and back (at 1080p that costs as much as encoding).

/// An upright 8-bit YUV 4:2:0 picture (BT.601 limited range), planes stored without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yuv420Image {
    pub width: usize,
    pub height: usize,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Yuv420Image {
    pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
        (width.div_ceil(2), height.div_ceil(2))
    }

    /// A uniform picture of `rgb`.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        let (cw, ch) = Self::chroma_size(width, height);
        let [y, u, v] = rgb_to_yuv(rgb);
        Self {
            width,
            height,
            y: vec![y; width * height],
            u: vec![u; cw * ch],
            v: vec![v; cw * ch],
        }
    }

    /// Copies planes from strided buffers (as FFmpeg frames hold them).
    pub fn from_planes(width: usize, height: usize, planes: [(&[u8], usize); 3]) -> Self {
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
        }
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
        }
    }

    /// Converts to RGB (for snapshots and display).
    pub fn to_rgb(&self) -> image::RgbImage {
        let (cw, _) = Self::chroma_size(self.width, self.height);
        image::RgbImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let (x, y) = (x as usize, y as usize);
            let c = (y / 2) * cw + x / 2;
            image::Rgb(yuv_to_rgb([
                self.y[y * self.width + x],
                self.u[c],
                self.v[c],
            ]))
        })
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

/// BT.601 limited range, the convention of H.264 files without other colour metadata.
pub fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let y = 16.0 + 65.481 * r + 128.553 * g + 24.966 * b;
    let u = 128.0 - 37.797 * r - 74.203 * g + 112.0 * b;
    let v = 128.0 + 112.0 * r - 93.786 * g - 18.214 * b;
    [y, u, v].map(|c| c.round().clamp(0.0, 255.0) as u8)
}

pub fn yuv_to_rgb([y, u, v]: [u8; 3]) -> [u8; 3] {
    let (y, u, v) = (y as f32 - 16.0, u as f32 - 128.0, v as f32 - 128.0);
    let r = 1.164 * y + 1.596 * v;
    let g = 1.164 * y - 0.392 * u - 0.813 * v;
    let b = 1.164 * y + 2.017 * u;
    [r, g, b].map(|c| c.round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_round_trip() {
        for rgb in [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 0],
            [12, 200, 90],
            [128, 128, 128],
        ] {
            let back = yuv_to_rgb(rgb_to_yuv(rgb));
            for c in 0..3 {
                assert!(
                    (back[c] as i32 - rgb[c] as i32).abs() <= 2,
                    "{rgb:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn rotation_moves_corners_and_odd_sizes_keep_their_chroma() {
        let mut img = Yuv420Image::filled(5, 3, [0, 0, 0]);
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
