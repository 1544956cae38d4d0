//! Video files through FFmpeg: a [`VideoReader`] that yields upright RGB frames with their timestamps,
//! and a [`VideoWriter`] that encodes H.264 and carries the input's audio across unchanged.

mod audio;
pub mod color;
mod decode;
mod encode;
mod frame;

pub use audio::AudioError;
pub use color::{ColorSpec, Matrix};
pub use decode::{DecodedFrame, VideoReader};
pub use encode::{
    check_container, EncodeError, EncodeOptions, VideoFormat, VideoWriter, X264_PRESETS,
};
pub use frame::Yuv420Image;

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Failures at the video boundary, each one line.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(transparent)]
    Input(#[from] crate::io::inputs::InputError),
    #[error("{path}: cannot open as a video")]
    Open {
        path: PathBuf,
        source: ffmpeg_next::Error,
    },
    #[error("{0}: contains no video stream")]
    NoVideo(PathBuf),
    #[error("{path}: video codec cannot be decoded")]
    Codec {
        path: PathBuf,
        source: ffmpeg_next::Error,
    },
    #[error("{path}: unsupported frame size {width}x{height}")]
    BadSize {
        path: PathBuf,
        width: u32,
        height: u32,
    },
    #[error("{path}: decoding failed at frame {frame}: {what}")]
    Decode {
        path: PathBuf,
        frame: u64,
        what: String,
        source: ffmpeg_next::Error,
    },
    #[error(
        "{path}: file is truncated or damaged: only {decoded} of its {declared} frames decode"
    )]
    Truncated {
        path: PathBuf,
        decoded: u64,
        declared: u64,
    },
    #[error("{0}: the stream stopped sending (no data for {STREAM_TIMEOUT_S} s)")]
    Stalled(PathBuf),
    #[error("{path}: cannot write video: {reason}")]
    Container { path: PathBuf, reason: &'static str },
    #[error("{path}: cannot write video")]
    Write { path: PathBuf, source: EncodeError },
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
    path.to_str().is_some_and(|s| s.contains('%')) && !is_stream_url(path)
}

/// Network sources posecam reads (live streams, cameras on the network).
/// Seconds without data before a network stream counts as stopped.
pub const STREAM_TIMEOUT_S: u64 = 5;

pub const STREAM_SCHEMES: &[&str] = &[
    "rtsp", "rtsps", "rtmp", "http", "https", "udp", "rtp", "srt", "tcp",
];

/// True for `rtsp://`, `http(s)://`, `udp://`, `srt://`... URLs.
pub fn is_stream_url(path: &Path) -> bool {
    path.to_str()
        .and_then(|s| s.split_once("://"))
        .is_some_and(|(scheme, _)| STREAM_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// Opens `path` just to describe it.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    Ok(VideoReader::open(path)?.info().clone())
}

/// Consecutive read errors tolerated in a file (damaged packets are skipped, as players do).
const MAX_READ_ERRORS: u32 = 100;

/// The next packet of `input`: `Ok(None)` at the end. Unlike ffmpeg-next's packet iterator, a read
/// error is not retried forever: a stream that stopped (a timeout) is an error, a damaged file gets
/// a hundred tries.
pub(crate) fn read_packet(
    input: &mut ffmpeg_next::format::context::Input,
) -> Result<Option<ffmpeg_next::Packet>, ffmpeg_next::Error> {
    let mut errors = 0;
    loop {
        let mut packet = ffmpeg_next::Packet::empty();
        match packet.read(input) {
            Ok(()) => return Ok(Some(packet)),
            Err(ffmpeg_next::Error::Eof) => return Ok(None),
            Err(ffmpeg_next::Error::Other { errno }) if errno == libc::EAGAIN => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => {
                errors += 1;
                if errors >= MAX_READ_ERRORS
                    || matches!(
                        e,
                        ffmpeg_next::Error::Exit
                            | ffmpeg_next::Error::Other {
                                errno: libc::ETIMEDOUT | libc::EIO
                            }
                    )
                {
                    return Err(e);
                }
            }
        }
    }
}

pub(crate) fn rational_f64(r: ffmpeg_next::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| r.numerator() as f64 / r.denominator() as f64)
}
