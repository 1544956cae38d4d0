//! YUV ↔ RGB in the stream's own colours: the matrix (BT.601, BT.709, BT.2020) and range (limited or
//! full) that the video says it uses, so HD footage is not shifted towards green/magenta by BT.601 maths
//! and skeletons drawn into the YUV planes keep their colours.

/// The luma/chroma matrix of a YUV picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Matrix {
    /// SD video (and anything FFmpeg converts from RGB without being told otherwise).
    #[default]
    Bt601,
    /// HD video.
    Bt709,
    /// UHD / HDR video (non-constant luminance).
    Bt2020,
}

impl Matrix {
    /// (Kr, Kb) luma weights of red and blue.
    fn weights(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// How a YUV picture's numbers map to RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ColorSpec {
    pub matrix: Matrix,
    /// Full range (0–255, JPEG/MJPEG) instead of limited range (16–235 luma, 16–240 chroma).
    pub full_range: bool,
}

/// Fixed-point precision of the bulk converter.
const SHIFT: i32 = 16;
const ONE: f32 = (1 << SHIFT) as f32;

/// Precomputed integer coefficients for converting many pixels.
#[derive(Debug, Clone, Copy)]
pub struct YuvToRgb {
    y_offset: i32,
    y_scale: i32,
    r_v: i32,
    g_u: i32,
    g_v: i32,
    b_u: i32,
}

impl YuvToRgb {
    #[inline(always)]
    pub fn convert(&self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let y = (y as i32 - self.y_offset) * self.y_scale + (1 << (SHIFT - 1));
        let (u, v) = (u as i32 - 128, v as i32 - 128);
        let clamp = |x: i32| (x >> SHIFT).clamp(0, 255) as u8;
        [
            clamp(y + self.r_v * v),
            clamp(y - self.g_u * u - self.g_v * v),
            clamp(y + self.b_u * u),
        ]
    }
}

impl ColorSpec {
    pub const BT601: Self = Self {
        matrix: Matrix::Bt601,
        full_range: false,
    };
    pub const BT709: Self = Self {
        matrix: Matrix::Bt709,
        full_range: false,
    };

    /// From FFmpeg's tags. Untagged video follows what players assume: BT.709 for HD sizes (1280 wide or
    /// 720 tall and up), BT.601 below.
    pub fn from_tags(
        space: ffmpeg_next::color::Space,
        range: ffmpeg_next::color::Range,
        (width, height): (u32, u32),
    ) -> Self {
        use ffmpeg_next::color::Space;
        let matrix = match space {
            Space::BT709 => Matrix::Bt709,
            Space::BT470BG | Space::SMPTE170M | Space::FCC => Matrix::Bt601,
            Space::BT2020NCL | Space::BT2020CL => Matrix::Bt2020,
            _ if width >= 1280 || height >= 720 => Matrix::Bt709,
            _ => Matrix::Bt601,
        };
        Self {
            matrix,
            full_range: range == ffmpeg_next::color::Range::JPEG,
        }
    }

    /// Chroma scale: how many code values one unit of colour difference spans.
    fn ranges(self) -> (f32, f32, f32) {
        if self.full_range {
            (0.0, 255.0, 255.0)
        } else {
            (16.0, 219.0, 224.0)
        }
    }

    pub fn converter(self) -> YuvToRgb {
        let (kr, kb) = self.matrix.weights();
        let kg = 1.0 - kr - kb;
        let (y_offset, y_span, c_span) = self.ranges();
        let c = 255.0 / c_span;
        let fixed = |v: f32| (v * ONE).round() as i32;
        YuvToRgb {
            y_offset: y_offset as i32,
            y_scale: fixed(255.0 / y_span),
            r_v: fixed(2.0 * (1.0 - kr) * c),
            g_u: fixed(2.0 * kb * (1.0 - kb) / kg * c),
            g_v: fixed(2.0 * kr * (1.0 - kr) / kg * c),
            b_u: fixed(2.0 * (1.0 - kb) * c),
        }
    }

    pub fn yuv_to_rgb(self, [y, u, v]: [u8; 3]) -> [u8; 3] {
        self.converter().convert(y, u, v)
    }

    pub fn rgb_to_yuv(self, [r, g, b]: [u8; 3]) -> [u8; 3] {
        let (kr, kb) = self.matrix.weights();
        let kg = 1.0 - kr - kb;
        let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
        let luma = kr * r + kg * g + kb * b;
        let (pb, pr) = (
            (b - luma) / (2.0 * (1.0 - kb)),
            (r - luma) / (2.0 * (1.0 - kr)),
        );
        let (y_offset, y_span, c_span) = self.ranges();
        [
            y_offset + y_span * luma,
            128.0 + c_span * pb,
            128.0 + c_span * pr,
        ]
        .map(|c| c.round().clamp(0.0, 255.0) as u8)
    }

    /// The FFmpeg tags that describe these numbers (for the encoder).
    pub fn tags(self) -> (ffmpeg_next::color::Space, ffmpeg_next::color::Range) {
        use ffmpeg_next::color::{Range, Space};
        let space = match self.matrix {
            Matrix::Bt601 => Space::SMPTE170M,
            Matrix::Bt709 => Space::BT709,
            Matrix::Bt2020 => Space::BT2020NCL,
        };
        let range = if self.full_range {
            Range::JPEG
        } else {
            Range::MPEG
        };
        (space, range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_round_trips() {
        for matrix in [Matrix::Bt601, Matrix::Bt709, Matrix::Bt2020] {
            for full_range in [false, true] {
                let spec = ColorSpec { matrix, full_range };
                for rgb in [
                    [255, 0, 0],
                    [0, 255, 0],
                    [0, 0, 255],
                    [255, 255, 255],
                    [0, 0, 0],
                    [12, 200, 90],
                    [128, 128, 128],
                ] {
                    let back = spec.yuv_to_rgb(spec.rgb_to_yuv(rgb));
                    for c in 0..3 {
                        assert!(
                            (back[c] as i32 - rgb[c] as i32).abs() <= 2,
                            "{spec:?}: {rgb:?} -> {back:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn known_values() {
        // Limited-range white and black, and BT.709 pure red as ITU-R BT.709 gives it (63, 102, 240).
        assert_eq!(
            ColorSpec::BT601.rgb_to_yuv([255, 255, 255]),
            [235, 128, 128]
        );
        assert_eq!(ColorSpec::BT601.rgb_to_yuv([0, 0, 0]), [16, 128, 128]);
        assert_eq!(ColorSpec::BT709.rgb_to_yuv([255, 0, 0]), [63, 102, 240]);
        assert_eq!(ColorSpec::BT601.rgb_to_yuv([255, 0, 0]), [81, 90, 240]);
        // The same numbers read with the wrong matrix are visibly different.
        let red709 = ColorSpec::BT709.rgb_to_yuv([255, 0, 0]);
        let misread = ColorSpec::BT601.yuv_to_rgb(red709);
        assert!(255 - misread[0] as i32 > 15, "{misread:?}");
    }
}
