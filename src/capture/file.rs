//! Video files and still images.

use std::path::Path;
use std::sync::Arc;

use image::RgbImage;

use super::{CaptureError, Frame, FrameSource, Picture, PictureKind, SourceInfo};
use crate::io::image as imageio;
use crate::video::VideoReader;

/// The name shown for a file.
fn display_name(path: &Path) -> String {
    if crate::video::is_stream_url(path) {
        return crate::io::redact::redact(&path.to_string_lossy()).into_owned();
    }
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// A video file, delivered as YUV (export: straight to the encoder) or RGB (display).
pub struct VideoSource {
    reader: VideoReader,
    info: SourceInfo,
    kind: PictureKind,
}

impl VideoSource {
    pub fn open(path: &Path, kind: PictureKind) -> Result<Self, CaptureError> {
        Ok(Self::from_reader(path, VideoReader::open(path)?, kind))
    }

    /// A reader already opened (export opens it to learn the format first).
    pub fn from_reader(path: &Path, reader: VideoReader, kind: PictureKind) -> Self {
        let v = reader.info();
        let info = SourceInfo {
            name: display_name(path),
            width: v.width,
            height: v.height,
            frame_rate: v.frame_rate,
            duration_s: v.duration_s,
            // A stream URL read as video (export records it): live, and its end is a stop, not a
            // failure. A file served over HTTP is read as a file.
            live: reader.is_stream(),
            seekable: !reader.is_stream(),
            reconnects: reader.is_stream(),
            loops: v.codec == "gif" && !reader.is_stream(),
        };
        Self { reader, info, kind }
    }
}

impl FrameSource for VideoSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let kind = self.kind;
        Ok(self.reader.next_frame()?.map(|f| {
            let picture = match kind {
                PictureKind::Yuv => Picture::Yuv(Arc::new(f.picture)),
                PictureKind::Rgb => Picture::Rgb(Arc::new(f.picture.to_rgb())),
            };
            Frame {
                pts: f.pts,
                ..Frame::new(f.index, f.time_s, picture)
            }
        }))
    }

    fn seek(&mut self, time_s: f64) -> Result<(), CaptureError> {
        Ok(self.reader.seek(time_s)?)
    }
}

/// A still image: one frame (again after a seek).
pub struct ImageSource {
    image: Arc<RgbImage>,
    info: SourceInfo,
    sent: bool,
}

impl ImageSource {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let image = imageio::load_rgb(path, crate::io::inputs::DEFAULT_MAX_PIXELS)?;
        let info = SourceInfo {
            name: display_name(path),
            width: image.width(),
            height: image.height(),
            frame_rate: None,
            duration_s: None,
            live: false,
            seekable: true,
            reconnects: false,
            loops: false,
        };
        Ok(Self {
            image: Arc::new(image),
            info,
            sent: false,
        })
    }
}

impl FrameSource for ImageSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        if std::mem::replace(&mut self.sent, true) {
            return Ok(None);
        }
        Ok(Some(Frame::new(0, 0.0, Picture::Rgb(self.image.clone()))))
    }

    fn seek(&mut self, _time_s: f64) -> Result<(), CaptureError> {
        self.sent = false;
        Ok(())
    }
}
