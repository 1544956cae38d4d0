//! Frame sources behind one trait: webcams (nokhwa), video files and still images (FFmpeg, image),
//! and a synthetic source that tests drive exactly like a webcam.
//!
//! Sources are described by a [`SourceSpec`] and opened on the thread that reads them: FFmpeg's
//! scaler contexts are not `Send`, and a webcam belongs to the thread that streams it.

mod camera;
mod file;
mod stream;
mod synthetic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

pub use camera::{camera_formats, list_cameras, CameraDesc, CameraSource};
pub use file::{ImageSource, VideoSource};
pub use stream::StreamSource;
pub use synthetic::SyntheticSource;

use crate::infer::NetInput;
use crate::io::image::{self as imageio, ImageIoError};
use crate::video::{VideoError, Yuv420Image};

/// A picture as its source produced it, shared cheaply between stages and the window.
#[derive(Debug, Clone)]
pub enum Picture {
    /// Webcams, images, and video for display.
    Rgb(Arc<RgbImage>),
    /// Video for export: straight from the decoder to the encoder.
    Yuv(Arc<Yuv420Image>),
}

/// Which form a video source delivers its pictures in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureKind {
    Rgb,
    Yuv,
}

impl Picture {
    /// (width, height) in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Picture::Rgb(i) => i.dimensions(),
            Picture::Yuv(i) => (i.width as u32, i.height as u32),
        }
    }

    pub fn net_input(&self) -> NetInput<'_> {
        match self {
            Picture::Rgb(i) => NetInput::Rgb(i),
            Picture::Yuv(i) => NetInput::Yuv(i),
        }
    }

    /// The picture in RGB (shared when it already is).
    pub fn to_rgb(&self) -> Arc<RgbImage> {
        match self {
            Picture::Rgb(i) => i.clone(),
            Picture::Yuv(i) => Arc::new(i.to_rgb()),
        }
    }
}

/// One picture from a source with its place in time.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Pipeline sequence number, strictly increasing in the order frames leave the source stage (a
    /// frame shown again after a seek or a refresh gets a new one); stamped by that stage.
    pub seq: u64,
    /// Which input of a batch the frame comes from (0 for everything else): tracking starts afresh
    /// and the outputs change where it changes.
    pub item: usize,
    /// Position in the source (0-based).
    pub index: u64,
    /// Position in the source (files) or seconds since the source opened (live sources).
    pub time_s: f64,
    /// Presentation timestamp in the video stream's time base (video files; 0 elsewhere).
    pub pts: i64,
    pub picture: Picture,
    /// When the frame was captured (or became due), for end-to-end latency.
    pub captured_at: Instant,
    /// How much of the pipeline the frame goes through.
    pub analysis: Analysis,
    /// The last window control applied when the frame was read (0: none): a paused window shows
    /// the frame a step or seek asked for, not one read before it.
    pub request: u64,
}

/// How much of the pipeline a frame goes through. The window keeps what it learnt of a file's frames;
/// a frame it has kept is shown again without running the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Analysis {
    /// Network, association, tracking.
    #[default]
    Full,
    /// Network and association, no tracking: a kept frame looked at again (its tracks are kept).
    Associate,
    /// Nothing: the window already has this frame's people.
    Kept,
}

impl Frame {
    pub fn new(index: u64, time_s: f64, picture: Picture) -> Self {
        Self {
            seq: 0,
            item: 0,
            index,
            time_s,
            pts: 0,
            picture,
            captured_at: Instant::now(),
            analysis: Analysis::Full,
            request: 0,
        }
    }
}

/// What a source is, for the window and the pipeline's pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub frame_rate: Option<f64>,
    pub duration_s: Option<f64>,
    /// Webcams, streams and synthetic sources: frames arrive in real time and cannot be replayed.
    pub live: bool,
    pub seekable: bool,
    /// Network streams: when one drops, the source is opened again (with back-off) instead of ending.
    pub reconnects: bool,
    /// Animated GIFs: the end starts again from the first frame, as browsers play them.
    pub loops: bool,
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
    #[error("this source can be opened only once")]
    OpenedTwice,
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
    /// A network stream: `rtsp://`, `http(s)://`, `udp://`, `srt://`...
    Stream(String),
    /// Generated frames: `width × height` at `fps` (0: as fast as they are taken), `frames` of them
    /// (0: endless).
    Synthetic {
        width: u32,
        height: u32,
        fps: u32,
        frames: u64,
    },
}

/// A `camera:N` source whose N is not a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}': camera index must be a number, e.g. camera:0")]
pub struct BadCameraIndex(pub String);

impl SourceSpec {
    /// Parses `camera:N`, `synthetic`, a stream URL, or a path (images by extension, everything else as
    /// video).
    pub fn parse(s: &str) -> Result<Self, BadCameraIndex> {
        if crate::video::is_stream_url(Path::new(s)) {
            return Ok(SourceSpec::Stream(s.to_string()));
        }
        if crate::video::is_sequence_pattern(Path::new(s)) {
            return Ok(SourceSpec::Video(PathBuf::from(s)));
        }
        if let Some(n) = s.strip_prefix("camera:") {
            return n
                .parse()
                .map(|index| SourceSpec::Camera {
                    index,
                    format: None,
                })
                .map_err(|_| BadCameraIndex(s.to_string()));
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
            SourceSpec::Stream(url) => crate::io::redact::redact(url).into_owned(),
            SourceSpec::Synthetic { .. } => "synthetic".into(),
        }
    }

    /// Opens the source (on the calling thread, which then owns it); video comes as `kind`.
    pub fn open(&self, kind: PictureKind) -> Result<Box<dyn FrameSource>, CaptureError> {
        Ok(match self {
            SourceSpec::Camera { index, format } => Box::new(CameraSource::open(*index, *format)?),
            SourceSpec::Video(p) => Box::new(VideoSource::open(p, kind)?),
            SourceSpec::Image(p) => Box::new(ImageSource::open(p)?),
            SourceSpec::Stream(url) => {
                let reader = crate::video::VideoReader::open(Path::new(url))?;
                if reader.is_stream() {
                    Box::new(StreamSource::from_reader(url, reader))
                } else {
                    // A file served over HTTP: played, paced and sought like a file.
                    Box::new(VideoSource::from_reader(Path::new(url), reader, kind))
                }
            }
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
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;
    /// Jumps to `time_s`; the next frame is the first at or after it.
    fn seek(&mut self, _time_s: f64) -> Result<(), CaptureError> {
        Err(CaptureError::NotSeekable)
    }
}

/// A source cut after `max_s` seconds of its own time (recording a stream for a while).
pub struct Trimmed {
    inner: Box<dyn FrameSource>,
    max_s: f64,
    first: Option<f64>,
}

impl Trimmed {
    pub fn new(inner: Box<dyn FrameSource>, max_s: f64) -> Self {
        Self {
            inner,
            max_s,
            first: None,
        }
    }
}

impl FrameSource for Trimmed {
    fn info(&self) -> &SourceInfo {
        self.inner.info()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(frame) = self.inner.next_frame()? else {
            return Ok(None);
        };
        let start = *self.first.get_or_insert(frame.time_s);
        Ok((frame.time_s - start < self.max_s).then_some(frame))
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
        assert_eq!(
            SourceSpec::parse("rtsp://cam.local:554/stream1"),
            Ok(SourceSpec::Stream("rtsp://cam.local:554/stream1".into()))
        );
        assert_eq!(
            SourceSpec::parse("udp://127.0.0.1:5000"),
            Ok(SourceSpec::Stream("udp://127.0.0.1:5000".into()))
        );
        assert!(matches!(
            SourceSpec::parse("frames/img_%04d.png"),
            Ok(SourceSpec::Video(_))
        ));
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
    fn trimmed_sources_stop_after_their_duration() {
        let inner = Box::new(SyntheticSource::new(32, 24, 0, 100));
        let mut s = Trimmed::new(inner, 0.0);
        assert!(
            s.next_frame().unwrap().is_none(),
            "nothing lasts under zero seconds"
        );
        let mut s = Trimmed::new(Box::new(SyntheticSource::new(32, 24, 0, 5)), 60.0);
        assert_eq!(std::iter::from_fn(|| s.next_frame().unwrap()).count(), 5);
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
