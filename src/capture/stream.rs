//! Network streams (RTSP cameras, HTTP, UDP, SRT...): live sources read through FFmpeg with low
//! latency; when one drops, the source stage reconnects (see [`SourceInfo::reconnects`]).

use std::sync::Arc;
use std::time::Instant;

use super::{CaptureError, Frame, FrameSource, Picture, SourceInfo};
use crate::video::VideoReader;

/// A live network stream, delivered as RGB, timed by the wall clock like a webcam (a reconnected
/// stream restarts its own timestamps).
pub struct StreamSource {
    reader: VideoReader,
    info: SourceInfo,
    opened: Instant,
    next: u64,
}

impl StreamSource {
    pub fn open(url: &str) -> Result<Self, CaptureError> {
        Ok(Self::from_reader(
            url,
            VideoReader::open(std::path::Path::new(url))?,
        ))
    }

    /// A stream already opened (its one connection: many cameras take one or two clients).
    pub fn from_reader(url: &str, reader: VideoReader) -> Self {
        let v = reader.info();
        let info = SourceInfo {
            name: crate::io::redact::redact(url).into_owned(),
            width: v.width,
            height: v.height,
            frame_rate: v.frame_rate,
            duration_s: None,
            live: true,
            seekable: false,
            reconnects: true,
            loops: false,
        };
        Self {
            reader,
            info,
            opened: Instant::now(),
            next: 0,
        }
    }
}

impl FrameSource for StreamSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(f) = self.reader.next_frame()? else {
            return Ok(None);
        };
        let index = self.next;
        self.next += 1;
        Ok(Some(Frame::new(
            index,
            self.opened.elapsed().as_secs_f64(),
            Picture::Rgb(Arc::new(f.picture.to_rgb())),
        )))
    }
}
