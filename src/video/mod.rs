//! Video files through FFmpeg: a [`VideoReader`] that yields upright RGB frames with their timestamps,
//! and a [`VideoWriter`] that encodes H.264 and carries the input's audio across unchanged.

mod audio;
pub mod color;
mod decode;
mod encode;
mod frame;
pub mod network;

pub use audio::AudioError;
pub use color::{ColorSpec, Matrix};
pub use decode::{DecodedFrame, VideoReader};
pub use encode::{
    check_container, AudioInput, EncodeError, EncodeOptions, StreamAudio, VideoFormat, VideoWriter,
    X264_PRESETS,
};
pub use frame::Yuv420Image;

use std::path::{Path, PathBuf};
use std::sync::Once;

/// Failures at the video boundary, each one line.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(transparent)]
    Input(#[from] crate::io::inputs::InputError),
    #[error("{path}: cannot open")]
    OpenFile {
        path: PathBuf,
        source: std::io::Error,
    },
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
    #[error(
        "{path}: no keyframe arrived in the {seconds} s after joining the stream, so its picture size \
         is unknown: the sender's keyframe interval is longer (ask it for a keyframe every second or \
         two, e.g. ffmpeg's -g with the frame rate)"
    )]
    NoKeyframe { path: PathBuf, seconds: f64 },
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
    #[error("{path}: the stream stopped sending (no data for {seconds} s)")]
    Stalled { path: PathBuf, seconds: f64 },
    #[error(
        "{path}: did not answer within {seconds} s (raise --stream-timeout for a slow network)"
    )]
    NoAnswer { path: PathBuf, seconds: f64 },
    #[error("{0}: the camera refused the user name or password")]
    Unauthorized(PathBuf),
    #[error(
        "{0}: the camera asks for a user name and password: put them before its host, as \
         user:password@host, or as user:${{VARIABLE}}@host to take the password from the \
         environment"
    )]
    NeedsCredentials(PathBuf),
    #[error("{path}: the URL names ${{{name}}}, but {name} is not set in the environment")]
    NoSuchVariable { path: PathBuf, name: String },
    #[error("{0}: stopped while connecting")]
    Interrupted(PathBuf),
    #[error(
        "{0}: this MP4 keeps its index at the end, and the server did not let FFmpeg jump there \
         (no HTTP range requests): serve it from a server that answers range requests, or remux it \
         with `ffmpeg -i IN -c copy -movflags +faststart OUT`"
    )]
    NeedsRanges(PathBuf),
    #[error("{path}: cannot write video: {reason}")]
    Container { path: PathBuf, reason: &'static str },
    #[error("{path}: cannot create")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
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
    sequence_parts(path).is_some() && !is_stream_url(path) && !path.is_file()
}

/// The `%d` / `%0Nd` placeholder of a sequence pattern's file name: (prefix, suffix).
fn sequence_parts(pattern: &Path) -> Option<(String, String)> {
    let name = pattern.file_name()?.to_str()?;
    let start = name.find('%')?;
    let rest = &name[start + 1..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    rest[digits..]
        .starts_with('d')
        .then(|| (name[..start].to_string(), rest[digits + 1..].to_string()))
}

/// The files an image-sequence pattern reads (`img_%04d.png`: `img_0001.png`, `img_0002.png`...), in
/// order: outputs are checked against every one of them.
pub fn sequence_files(pattern: &Path) -> Vec<PathBuf> {
    let Some((prefix, suffix)) = sequence_parts(pattern) else {
        return Vec::new();
    };
    let dir = match pattern.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.len() > prefix.len() + suffix.len()
                    && n.starts_with(&prefix)
                    && n.ends_with(&suffix)
                    && n[prefix.len()..n.len() - suffix.len()]
                        .chars()
                        .all(|c| c.is_ascii_digit())
            })
        })
        .map(|e| dir.join(e.file_name()))
        .collect();
    files.sort();
    files
}

/// A name for what a sequence pattern holds: `frames/img_%04d.png` gives `img` (`frames` when the
/// pattern is nothing but the number).
pub fn sequence_stem(pattern: &Path) -> Option<String> {
    let (prefix, _) = sequence_parts(pattern)?;
    let stem = prefix.trim_end_matches(['_', '-', '.', ' ']);
    Some(if stem.is_empty() { "frames" } else { stem }.to_string())
}

/// Network sources posecam reads (live streams, cameras on the network).
/// Seconds without data before a network stream counts as stopped.
pub const STREAM_TIMEOUT_S: u64 = 5;

pub const STREAM_SCHEMES: &[&str] = &[
    "rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "rtp", "srt", "tcp",
];

/// True for `rtsp://`, `http(s)://`, `udp://`, `srt://`... URLs.
pub fn is_stream_url(path: &Path) -> bool {
    path.to_str()
        .and_then(|s| s.split_once("://"))
        .is_some_and(|(scheme, _)| STREAM_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// A file name as FFmpeg's C API takes it. ffmpeg-next passes names as UTF-8 (and panics on any
/// other), so a name that is not UTF-8 is opened here and handed to FFmpeg as `/proc/self/fd/N`,
/// which names the same open file; the file stays open while this lives. A local name that starts
/// like a protocol (`concat:a.mp4`, `file:b.mp4`, `http:c.mp4`) is that local file: FFmpeg reads
/// `scheme:` before the first `/` as a protocol, so a relative name gets `./` in front.
pub(crate) struct FfmpegPath {
    pub name: String,
    _file: Option<std::fs::File>,
}

impl FfmpegPath {
    pub fn for_reading(path: &Path) -> std::io::Result<Self> {
        Self::new(path, |p| std::fs::File::open(p))
    }

    /// Creates the file (FFmpeg writes it through its name).
    pub fn for_writing(path: &Path) -> std::io::Result<Self> {
        Self::new(path, |p| std::fs::File::create(p))
    }

    fn new(
        path: &Path,
        open: impl FnOnce(&Path) -> std::io::Result<std::fs::File>,
    ) -> std::io::Result<Self> {
        if let Some(name) = path.to_str() {
            let local = if is_stream_url(path) || path.is_absolute() {
                name.to_string()
            } else {
                format!("./{name}")
            };
            return Ok(Self {
                name: local,
                _file: None,
            });
        }
        use std::os::fd::AsRawFd;
        let file = open(path)?;
        Ok(Self {
            name: format!("/proc/self/fd/{}", file.as_raw_fd()),
            _file: Some(file),
        })
    }
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
