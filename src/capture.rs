//! Frame sources behind one trait: webcams (nokhwa), video files and still images (FFmpeg, image),
//! and a synthetic source that tests drive exactly like a webcam.
//!
//! Sources are described by a [`SourceSpec`] and opened on the thread that reads them: FFmpeg's
//! scaler contexts are not `Send`, and a webcam belongs to the thread that streams it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::imageio::{self, ImageIoError};
use crate::video::{VideoError, VideoReader};

/// One picture from a source, shared cheaply between pipeline stages and the window.
#[derive(Debug, Clone)]
pub struct SourceFrame {
    pub index: u64,
    /// Position in the source (files) or seconds since the source opened (live sources).
    pub time_s: f64,
    pub image: Arc<RgbImage>,
    /// When the frame was captured, for end-to-end latency.
    pub captured_at: Instant,
}

/// What a source is, for the window and the pipeline's pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub frame_rate: Option<f64>,
    pub duration_s: Option<f64>,
    /// Webcams and synthetic sources: frames arrive in real time and cannot be replayed.
    pub live: bool,
    pub seekable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no webcam found")]
    NoCamera,
    #[error("webcam {index}: {reason}")]
    Camera { index: u32, reason: String },
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Image(#[from] ImageIoError),
    #[error("this source cannot seek")]
    NotSeekable,
}

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SourceSpec {
    /// Webcam by index, optionally asking for a resolution and frame rate.
    Camera {
        index: u32,
        format: Option<(u32, u32, u32)>,
    },
    /// A video file (anything FFmpeg reads).
    Video(PathBuf),
    /// A still image.
    Image(PathBuf),
    /// Generated frames: `width × height` at `fps` (0: as fast as they are taken), `frames` of them
    /// (0: endless).
    Synthetic {
        width: u32,
        height: u32,
        fps: u32,
        frames: u64,
    },
}

impl SourceSpec {
    /// Parses `camera:N`, `synthetic`, or a path (images by extension, everything else as video).
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(n) = s.strip_prefix("camera:") {
            return n
                .parse()
                .map(|index| SourceSpec::Camera {
                    index,
                    format: None,
                })
                .map_err(|_| format!("'{s}': camera index must be a number, e.g. camera:0"));
        }
        if s == "synthetic" {
            return Ok(SourceSpec::Synthetic {
                width: 640,
                height: 480,
                fps: 30,
                frames: 0,
            });
        }
        let path = PathBuf::from(s);
        if imageio::has_image_extension(&path) {
            Ok(SourceSpec::Image(path))
        } else {
            Ok(SourceSpec::Video(path))
        }
    }

    pub fn label(&self) -> String {
        match self {
            SourceSpec::Camera { index, .. } => format!("camera:{index}"),
            SourceSpec::Video(p) | SourceSpec::Image(p) => p.display().to_string(),
            SourceSpec::Synthetic { .. } => "synthetic".into(),
        }
    }

    /// Opens the source (on the calling thread, which then owns it).
    pub fn open(&self) -> Result<Box<dyn FrameSource>, CaptureError> {
        Ok(match self {
            SourceSpec::Camera { index, format } => Box::new(CameraSource::open(*index, *format)?),
            SourceSpec::Video(p) => Box::new(VideoSource::open(p)?),
            SourceSpec::Image(p) => Box::new(ImageSource::open(p)?),
            SourceSpec::Synthetic {
                width,
                height,
                fps,
                frames,
            } => Box::new(SyntheticSource::new(*width, *height, *fps, *frames)),
        })
    }
}

/// A source of frames. Not `Send`: it lives on the thread that opened it.
pub trait FrameSource {
    fn info(&self) -> &SourceInfo;
    /// The next frame; `None` when a file ends. Live sources block until a frame arrives.
    fn next_frame(&mut self) -> Result<Option<SourceFrame>, CaptureError>;
    /// Jumps to `time_s`; the next frame is the first at or after it.
    fn seek(&mut self, _time_s: f64) -> Result<(), CaptureError> {
        Err(CaptureError::NotSeekable)
    }
}

/// A video file, decoded to RGB for display and inference.
pub struct VideoSource {
    reader: VideoReader,
    info: SourceInfo,
}

impl VideoSource {
    pub fn open(path: &std::path::Path) -> Result<Self, CaptureError> {
        let mut reader = VideoReader::open(path)?;
        reader.set_rgb_output(true);
        let v = reader.info();
        let info = SourceInfo {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            width: v.width,
            height: v.height,
            frame_rate: v.frame_rate,
            duration_s: v.duration_s,
            live: false,
            seekable: true,
        };
        Ok(Self { reader, info })
    }
}

impl FrameSource for VideoSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, CaptureError> {
        Ok(self.reader.next_frame()?.map(|f| SourceFrame {
            index: f.index,
            time_s: f.time_s,
            image: Arc::new(f.rgb.unwrap_or_else(|| f.picture.to_rgb())),
            captured_at: Instant::now(),
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
    pub fn open(path: &std::path::Path) -> Result<Self, CaptureError> {
        let image = imageio::load_rgb(path)?;
        let info = SourceInfo {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            width: image.width(),
            height: image.height(),
            frame_rate: None,
            duration_s: None,
            live: false,
            seekable: true,
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

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, CaptureError> {
        if std::mem::replace(&mut self.sent, true) {
            return Ok(None);
        }
        Ok(Some(SourceFrame {
            index: 0,
            time_s: 0.0,
            image: self.image.clone(),
            captured_at: Instant::now(),
        }))
    }

    fn seek(&mut self, _time_s: f64) -> Result<(), CaptureError> {
        self.sent = false;
        Ok(())
    }
}

/// Deterministic generated frames (a moving bar over a gradient), paced like a camera.
pub struct SyntheticSource {
    info: SourceInfo,
    frames: u64,
    next: u64,
    opened: Instant,
}

impl SyntheticSource {
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
            },
            frames,
            next: 0,
            opened: Instant::now(),
        }
    }
}

impl FrameSource for SyntheticSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, CaptureError> {
        if self.frames > 0 && self.next >= self.frames {
            return Ok(None);
        }
        if let Some(fps) = self.info.frame_rate {
            let due = self.opened + Duration::from_secs_f64(self.next as f64 / fps);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let (w, h, i) = (self.info.width, self.info.height, self.next);
        let bar = (i * 7 % w as u64) as u32;
        let image = RgbImage::from_fn(w, h, |x, y| {
            if x.abs_diff(bar) < w / 20 {
                image::Rgb([240, 240, 240])
            } else {
                image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 96])
            }
        });
        self.next += 1;
        Ok(Some(SourceFrame {
            index: i,
            time_s: self.opened.elapsed().as_secs_f64(),
            image: Arc::new(image),
            captured_at: Instant::now(),
        }))
    }
}

/// A webcam, one per capture thread.
pub struct CameraSource {
    camera: nokhwa::Camera,
    info: SourceInfo,
    index: u32,
    next: u64,
    opened: Instant,
}

/// A webcam the system reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraDesc {
    pub index: u32,
    pub name: String,
}

/// Webcams present now (empty when there are none or the platform cannot tell).
pub fn list_cameras() -> Vec<CameraDesc> {
    match nokhwa::query(nokhwa::utils::ApiBackend::Auto) {
        Ok(list) => list
            .iter()
            .filter_map(|c| match c.index() {
                nokhwa::utils::CameraIndex::Index(i) => Some(CameraDesc {
                    index: *i,
                    name: c.human_name(),
                }),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::debug!("webcam query failed: {e}");
            Vec::new()
        }
    }
}

/// Resolutions and frame rates a webcam offers, as (width, height, fps), best first.
pub fn camera_formats(index: u32) -> Result<Vec<(u32, u32, u32)>, CaptureError> {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
    let err = |e: nokhwa::NokhwaError| CaptureError::Camera {
        index,
        reason: e.to_string(),
    };
    let mut cam = nokhwa::Camera::new(
        CameraIndex::Index(index),
        RequestedFormat::new::<RgbFormat>(RequestedFormatType::None),
    )
    .map_err(err)?;
    let mut formats: Vec<(u32, u32, u32)> = cam
        .compatible_camera_formats()
        .map_err(err)?
        .iter()
        .map(|f| {
            (
                f.resolution().width(),
                f.resolution().height(),
                f.frame_rate(),
            )
        })
        .collect();
    formats.sort_by_key(|f| std::cmp::Reverse((f.0 * f.1, f.2)));
    formats.dedup();
    Ok(formats)
}

impl CameraSource {
    pub fn open(index: u32, format: Option<(u32, u32, u32)>) -> Result<Self, CaptureError> {
        use nokhwa::pixel_format::RgbFormat;
        use nokhwa::utils::{
            CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
            Resolution,
        };
        if list_cameras().is_empty() {
            return Err(CaptureError::NoCamera);
        }
        let err = |e: nokhwa::NokhwaError| CaptureError::Camera {
            index,
            reason: e.to_string(),
        };
        let requested = match format {
            Some((w, h, fps)) => RequestedFormatType::Closest(CameraFormat::new(
                Resolution::new(w, h),
                FrameFormat::MJPEG,
                fps,
            )),
            None => RequestedFormatType::AbsoluteHighestFrameRate,
        };
        let mut camera = nokhwa::Camera::new(
            CameraIndex::Index(index),
            RequestedFormat::new::<RgbFormat>(requested),
        )
        .map_err(err)?;
        camera.open_stream().map_err(err)?;
        let f = camera.camera_format();
        let info = SourceInfo {
            name: camera.info().human_name(),
            width: f.resolution().width(),
            height: f.resolution().height(),
            frame_rate: Some(f.frame_rate() as f64),
            duration_s: None,
            live: true,
            seekable: false,
        };
        Ok(Self {
            camera,
            info,
            index,
            next: 0,
            opened: Instant::now(),
        })
    }

    fn to_rgb(&self, buffer: &nokhwa::Buffer) -> Result<RgbImage, CaptureError> {
        use nokhwa::utils::FrameFormat;
        let res = buffer.resolution();
        let (w, h) = (res.width(), res.height());
        let data = buffer.buffer();
        let bad = |reason: String| CaptureError::Camera {
            index: self.index,
            reason,
        };
        let rgb = match buffer.source_frame_format() {
            FrameFormat::MJPEG => {
                image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
                    .map_err(|e| bad(format!("bad MJPEG frame: {e}")))?
                    .into_rgb8()
                    .into_raw()
            }
            FrameFormat::YUYV => {
                nokhwa::utils::yuyv422_to_rgb(data, false).map_err(|e| bad(e.to_string()))?
            }
            FrameFormat::RAWRGB => data.to_vec(),
            FrameFormat::RAWBGR => data
                .chunks_exact(3)
                .flat_map(|p| [p[2], p[1], p[0]])
                .collect(),
            FrameFormat::GRAY => data.iter().flat_map(|&g| [g, g, g]).collect(),
            FrameFormat::NV12 => {
                let (cw, y_len) = (w as usize, (w * h) as usize);
                let mut out = Vec::with_capacity(y_len * 3);
                for y in 0..h as usize {
                    for x in 0..w as usize {
                        let c = y_len + (y / 2) * cw + (x / 2) * 2;
                        let (u, v) = (
                            *data.get(c).unwrap_or(&128),
                            *data.get(c + 1).unwrap_or(&128),
                        );
                        out.extend(crate::video::yuv_to_rgb([
                            data.get(y * cw + x).copied().unwrap_or(16),
                            u,
                            v,
                        ]));
                    }
                }
                out
            }
        };
        RgbImage::from_raw(w, h, rgb)
            .ok_or_else(|| bad(format!("frame of {w}x{h} has the wrong size")))
    }
}

impl FrameSource for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<SourceFrame>, CaptureError> {
        let buffer = self.camera.frame().map_err(|e| CaptureError::Camera {
            index: self.index,
            reason: format!("stopped delivering frames ({e}); unplugged?"),
        })?;
        let image = self.to_rgb(&buffer)?;
        let index = self.next;
        self.next += 1;
        Ok(Some(SourceFrame {
            index,
            time_s: self.opened.elapsed().as_secs_f64(),
            image: Arc::new(image),
            captured_at: Instant::now(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            SourceSpec::parse("camera:2"),
            Ok(SourceSpec::Camera {
                index: 2,
                format: None
            })
        );
        assert!(SourceSpec::parse("camera:x").is_err());
        assert_eq!(
            SourceSpec::parse("a/b.JPG"),
            Ok(SourceSpec::Image("a/b.JPG".into()))
        );
        assert_eq!(
            SourceSpec::parse("clip.mkv"),
            Ok(SourceSpec::Video("clip.mkv".into()))
        );
    }

    #[test]
    fn synthetic_frames_are_numbered_and_end() {
        let mut s = SyntheticSource::new(64, 48, 0, 3);
        let got: Vec<u64> = std::iter::from_fn(|| s.next_frame().unwrap())
            .map(|f| f.index)
            .collect();
        assert_eq!(got, [0, 1, 2]);
    }

    #[test]
    fn still_images_replay_after_a_seek() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        RgbImage::new(10, 10).save(&p).unwrap();
        let mut s = ImageSource::open(&p).unwrap();
        assert!(s.next_frame().unwrap().is_some());
        assert!(s.next_frame().unwrap().is_none());
        s.seek(0.0).unwrap();
        assert!(s.next_frame().unwrap().is_some());
    }
}
