//! Generated frames, paced like a camera: what tests and benchmarks drive the live pipeline with.

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;

use super::{CaptureError, Frame, FrameSource, Picture, SourceInfo};

/// Distinct pictures cycled through: rendering costs nothing per frame after the first cycle, so the
/// source takes no CPU from the stages it feeds (a webcam does not either).
const DISTINCT_FRAMES: u64 = 16;

/// Deterministic generated frames (a bar sweeping over a gradient), paced like a camera.
pub struct SyntheticSource {
    info: SourceInfo,
    frames: u64,
    next: u64,
    opened: Instant,
    rendered: Vec<Arc<RgbImage>>,
}

impl SyntheticSource {
    /// `width × height` at `fps` (0: as fast as they are taken), `frames` of them (0: endless).
    pub fn new(width: u32, height: u32, fps: u32, frames: u64) -> Self {
        Self {
            info: SourceInfo {
                name: "synthetic".into(),
                width: width.max(8),
                height: height.max(8),
                frame_rate: (fps > 0).then_some(fps as f64),
                duration_s: None,
                live: true,
                seekable: false,
                reconnects: false,
                loops: false,
            },
            frames,
            next: 0,
            opened: Instant::now(),
            rendered: Vec::new(),
        }
    }

    /// The picture of frame `i`.
    pub fn picture(&mut self, i: u64) -> Arc<RgbImage> {
        let slot = (i % DISTINCT_FRAMES) as usize;
        while self.rendered.len() <= slot {
            let (w, h) = (self.info.width, self.info.height);
            let bar = (self.rendered.len() as u64 * w as u64 / DISTINCT_FRAMES) as u32;
            self.rendered.push(Arc::new(RgbImage::from_fn(w, h, |x, y| {
                if x.abs_diff(bar) < w / 20 {
                    image::Rgb([240, 240, 240])
                } else {
                    image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 96])
                }
            })));
        }
        self.rendered[slot].clone()
    }
}

impl FrameSource for SyntheticSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        if self.frames > 0 && self.next >= self.frames {
            return Ok(None);
        }
        if let Some(fps) = self.info.frame_rate {
            let due = self.opened + Duration::from_secs_f64(self.next as f64 / fps);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let i = self.next;
        self.next += 1;
        let picture = Picture::Rgb(self.picture(i));
        Ok(Some(Frame::new(
            i,
            self.opened.elapsed().as_secs_f64(),
            picture,
        )))
    }
}
