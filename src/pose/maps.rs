//! The network's output on its stride grid, whatever its memory layout, plus the mapping from grid cells
//! back to original-image pixels.
//!
//! Association works on these stride-8 maps directly (sub-pixel peaks, bilinear PAF samples) rather than
//! upsampling 57 maps ×8 as the CMU demo does: the result is the same to a fraction of a pixel at a
//! hundredth of the cost.

use std::sync::Arc;

/// A stack of 2-D maps (channels × rows × cols) viewed through strides, so that NCHW and NHWC tensors
/// are read in place without transposing.
#[derive(Debug, Clone)]
pub struct MapStack {
    data: Arc<[f32]>,
    offset: usize,
    channels: usize,
    height: usize,
    width: usize,
    channel_stride: usize,
    row_stride: usize,
    col_stride: usize,
}

/// How a 3-D map tensor (batch dimension removed) is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapLayout {
    /// Channels, rows, columns (NCHW without the batch).
    Chw,
    /// Rows, columns, channels (NHWC without the batch).
    Hwc,
}

impl MapStack {
    /// Views `channels` consecutive channels, starting at `first_channel`, of a tensor holding
    /// `total_channels` channels of `height × width` maps in `layout`.
    ///
    /// Returns `None` when `data` is too short for that shape.
    pub fn new(
        data: Arc<[f32]>,
        layout: MapLayout,
        total_channels: usize,
        height: usize,
        width: usize,
        first_channel: usize,
        channels: usize,
    ) -> Option<Self> {
        if first_channel + channels > total_channels
            || data.len() < total_channels * height * width
            || height == 0
            || width == 0
        {
            return None;
        }
        let (channel_stride, row_stride, col_stride) = match layout {
            MapLayout::Chw => (height * width, width, 1),
            MapLayout::Hwc => (1, width * total_channels, total_channels),
        };
        Some(Self {
            data,
            offset: first_channel * channel_stride,
            channels,
            height,
            width,
            channel_stride,
            row_stride,
            col_stride,
        })
    }

    /// A channel-major stack that owns `data` (`channels × height × width` values).
    pub fn from_chw(data: Vec<f32>, channels: usize, height: usize, width: usize) -> Option<Self> {
        Self::new(
            data.into(),
            MapLayout::Chw,
            channels,
            height,
            width,
            0,
            channels,
        )
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The value at integer cell (`row`, `col`) of `channel`. Callers keep indices in range.
    #[inline(always)]
    pub fn at(&self, channel: usize, row: usize, col: usize) -> f32 {
        self.data[self.offset
            + channel * self.channel_stride
            + row * self.row_stride
            + col * self.col_stride]
    }

    /// Bilinear sample at a fractional grid position, clamped to the map's edges.
    #[inline]
    pub fn bilinear(&self, channel: usize, row: f32, col: f32) -> f32 {
        let max_r = (self.height - 1) as f32;
        let max_c = (self.width - 1) as f32;
        let r = row.clamp(0.0, max_r);
        let c = col.clamp(0.0, max_c);
        let r0 = r.floor() as usize;
        let c0 = c.floor() as usize;
        let r1 = (r0 + 1).min(self.height - 1);
        let c1 = (c0 + 1).min(self.width - 1);
        let fr = r - r0 as f32;
        let fc = c - c0 as f32;
        let top = self.at(channel, r0, c0) * (1.0 - fc) + self.at(channel, r0, c1) * fc;
        let bottom = self.at(channel, r1, c0) * (1.0 - fc) + self.at(channel, r1, c1) * fc;
        top * (1.0 - fr) + bottom * fr
    }

    /// Copies one channel into a row-major `height × width` plane (for display and debugging).
    pub fn channel_plane(&self, channel: usize) -> Vec<f32> {
        let mut plane = Vec::with_capacity(self.height * self.width);
        for r in 0..self.height {
            for c in 0..self.width {
                plane.push(self.at(channel, r, c));
            }
        }
        plane
    }
}

/// Maps grid cells of the network output to original-image pixels (axis-aligned scale + offset).
///
/// A cell `u` of a stride-`s` output covers net-input pixel `u·s + (s-1)/2` (the convention the CMU
/// training targets use); net-input pixels map back to the image through the resize factors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridToImage {
    pub scale_x: f32,
    pub offset_x: f32,
    pub scale_y: f32,
    pub offset_y: f32,
}

impl GridToImage {
    /// For a network of `stride` fed the image resized by (`resize_x`, `resize_y`) into its top-left corner.
    pub fn new(stride: f32, resize_x: f32, resize_y: f32) -> Self {
        // grid u -> net pixel u*stride + (stride-1)/2 -> image ((net + 0.5) / resize) - 0.5
        Self {
            scale_x: stride / resize_x,
            offset_x: (stride / 2.0) / resize_x - 0.5,
            scale_y: stride / resize_y,
            offset_y: (stride / 2.0) / resize_y - 0.5,
        }
    }

    #[inline]
    pub fn apply(&self, col: f32, row: f32) -> (f32, f32) {
        (
            col * self.scale_x + self.offset_x,
            row * self.scale_y + self.offset_y,
        )
    }

    #[inline]
    pub fn invert(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.offset_x) / self.scale_x,
            (y - self.offset_y) / self.scale_y,
        )
    }
}

/// Everything association needs from one network pass: heatmaps (parts + background), PAFs, and where
/// the grid lies in the original image.
#[derive(Debug, Clone)]
pub struct PoseMaps {
    pub heatmaps: MapStack,
    pub pafs: MapStack,
    pub grid_to_image: GridToImage,
    /// Original image size in pixels (width, height).
    pub image_size: (u32, u32),
}

impl PoseMaps {
    /// No network output: a frame whose people were already known (the window's kept frames).
    pub fn empty(image_size: (u32, u32)) -> Self {
        let none = || {
            MapStack::new(Arc::from(Vec::new()), MapLayout::Hwc, 0, 1, 1, 0, 0)
                .expect("an empty 1×1 stack of no channels is a valid shape")
        };
        Self {
            heatmaps: none(),
            pafs: none(),
            grid_to_image: GridToImage::new(8.0, 1.0, 1.0),
            image_size,
        }
    }

    /// True for [`PoseMaps::empty`]: there is nothing to associate or to look at.
    pub fn is_empty(&self) -> bool {
        self.heatmaps.channels() == 0
    }

    /// Grid columns and rows that fall inside the original image (the rest is padding).
    pub fn valid_grid(&self) -> (usize, usize) {
        let (w, h) = self.image_size;
        let (cols, rows) = self.grid_to_image.invert(w as f32 - 0.5, h as f32 - 0.5);
        let cols = (cols.floor() as isize + 1).clamp(0, self.heatmaps.width() as isize) as usize;
        let rows = (rows.floor() as isize + 1).clamp(0, self.heatmaps.height() as isize) as usize;
        (cols, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chw_and_hwc_views_read_the_same_values() {
        let (c, h, w) = (5, 3, 4);
        let value = |ch: usize, r: usize, col: usize| (ch * 100 + r * 10 + col) as f32;
        let mut chw = vec![0.0; c * h * w];
        let mut hwc = vec![0.0; c * h * w];
        for ch in 0..c {
            for r in 0..h {
                for col in 0..w {
                    chw[ch * h * w + r * w + col] = value(ch, r, col);
                    hwc[(r * w + col) * c + ch] = value(ch, r, col);
                }
            }
        }
        let a = MapStack::new(chw.into(), MapLayout::Chw, c, h, w, 2, 3).unwrap();
        let b = MapStack::new(hwc.into(), MapLayout::Hwc, c, h, w, 2, 3).unwrap();
        for ch in 0..3 {
            for r in 0..h {
                for col in 0..w {
                    assert_eq!(a.at(ch, r, col), value(ch + 2, r, col));
                    assert_eq!(b.at(ch, r, col), value(ch + 2, r, col));
                }
            }
        }
    }

    #[test]
    fn too_short_data_is_rejected() {
        assert!(MapStack::new(vec![0.0; 10].into(), MapLayout::Chw, 2, 2, 3, 0, 2).is_none());
        assert!(MapStack::new(vec![0.0; 12].into(), MapLayout::Chw, 2, 2, 3, 1, 2).is_none());
    }

    #[test]
    fn bilinear_interpolates_and_clamps() {
        let m = MapStack::from_chw(vec![0.0, 1.0, 2.0, 3.0], 1, 2, 2).unwrap();
        assert!((m.bilinear(0, 0.5, 0.5) - 1.5).abs() < 1e-6);
        assert!((m.bilinear(0, 0.0, 0.25) - 0.25).abs() < 1e-6);
        assert_eq!(m.bilinear(0, -3.0, 9.0), 1.0);
    }

    #[test]
    fn grid_mapping_round_trips_and_matches_cmu_convention() {
        let g = GridToImage::new(8.0, 0.5, 0.5);
        // cell 0 covers net pixel 3.5, i.e. image pixel (3.5 + 0.5) / 0.5 - 0.5 = 7.5
        assert_eq!(g.apply(0.0, 0.0), (7.5, 7.5));
        let (c, r) = g.invert(123.0, 45.0);
        let (x, y) = g.apply(c, r);
        assert!((x - 123.0).abs() < 1e-4 && (y - 45.0).abs() < 1e-4);
    }
}
