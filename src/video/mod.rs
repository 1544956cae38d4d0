//! Video files through FFmpeg: a [`VideoReader`] that yields upright RGB frames with their timestamps,
//! and a [`VideoWriter`] that encodes H.264 and carries the input's audio across unchanged.

pub mod color;
mod decode;
mod encode;
mod frame;

pub use color::{ColorSpec, Matrix};
pub use decode::{DecodedFrame, VideoReader};
pub use encode::{check_container, EncodeOptions, VideoFormat, VideoWriter, X264_PRESETS};
pub use frame::Yuv420Image;

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Failures at the video boundary, each one line.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(transparent)]
    Input(#[from] crate::inputs::InputError),
    #[error("{path}: cannot open as a video: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{0}: contains no video stream")]
    NoVideo(PathBuf),
    #[error("{path}: video codec cannot be decoded: {reason}")]
    Codec { path: PathBuf, reason: String },
    #[error("{path}: unsupported frame size {width}x{height}")]
    BadSize {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error("{path}: decoding failed at frame {frame}: {reason}")]
    Decode {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    #[error("{path}: cannot write video: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// What a video file holds, as far as posecam cares.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Upright size (after the rotation tag is applied).
    pub width: u32,
    pub height: u32,
    /// Clockwise rotation, in degrees, applied to decoded frames to make them upright.
    pub rotation: u32,
    /// Average frame rate (frames per second), if known.
    pub frame_rate: Option<f64>,
    /// Frame count from the container, if it says.
    pub frames: Option<u64>,
    /// Duration in seconds, if known.
    pub duration_s: Option<f64>,
    pub audio_streams: usize,
    pub codec: String,
    /// Time base of the video stream's timestamps.
    pub time_base: ffmpeg_next::Rational,
    /// How the decoded pictures' numbers map to RGB.
    pub colors: ColorSpec,
    /// Carried into exported files unchanged.
    pub color_primaries: ffmpeg_next::color::Primaries,
    pub color_transfer: ffmpeg_next::color::TransferCharacteristic,
}

/// Largest frame side accepted from a video.
pub const MAX_SIDE: u32 = 16384;

pub(crate) fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ffmpeg_next::init();
        // posecam reports failures itself, in one line; FFmpeg's own messages would repeat them.
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Fatal);
    });
}

/// True for image-sequence patterns such as `frames/img_%04d.png`, which FFmpeg reads as a video.
pub fn is_sequence_pattern(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.contains('%'))
}

/// Opens `path` just to describe it.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    Ok(VideoReader::open(path)?.info().clone())
}

pub(crate) fn rational_f64(r: ffmpeg_next::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| r.numerator() as f64 / r.denominator() as f64)
}
