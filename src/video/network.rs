//! Opening network streams: the options people need with cameras (RTSP transport, a timeout), a
//! password taken from the environment (`${CAM_PASS}`), and an FFmpeg interrupt callback so that a
//! connect that never answers gives up at the timeout, and a stopped pipeline (a closed window,
//! Ctrl-C) ends it at once instead of waiting inside FFmpeg.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ffmpeg_next as ff;

use super::VideoError;

/// RTSP over TCP (interleaved: through NATs and firewalls, no loss) or UDP (lower latency on a LAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RtspTransport {
    Tcp,
    Udp,
}

/// Neither `tcp` nor `udp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an RTSP transport: tcp or udp")]
pub struct BadTransport(String);

impl std::str::FromStr for RtspTransport {
    type Err = BadTransport;
    fn from_str(s: &str) -> Result<Self, BadTransport> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            _ => Err(BadTransport(s.to_string())),
        }
    }
}

/// How network streams are opened.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamOptions {
    pub rtsp_transport: RtspTransport,
    /// Seconds a stream may take to answer when opened, and to send anything once playing.
    pub timeout_s: f64,
}

impl StreamOptions {
    /// Timeouts accepted, seconds.
    pub const TIMEOUT_S: std::ops::RangeInclusive<f64> = 0.5..=600.0;
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            rtsp_transport: RtspTransport::Tcp,
            timeout_s: super::STREAM_TIMEOUT_S as f64,
        }
    }
}

static OPTIONS: RwLock<Option<StreamOptions>> = RwLock::new(None);

/// Sets how this process opens streams (from the command line's flags).
pub fn set_stream_options(options: StreamOptions) {
    if let Ok(mut o) = OPTIONS.write() {
        *o = Some(options);
    }
}

pub fn stream_options() -> StreamOptions {
    OPTIONS.read().ok().and_then(|o| *o).unwrap_or_default()
}

thread_local! {
    /// Flags that stop blocking FFmpeg calls made on this thread (the pipeline's stop, Ctrl-C).
    static STOP_FLAGS: RefCell<Vec<Arc<AtomicBool>>> = const { RefCell::new(Vec::new()) };
}

/// Streams opened on this thread from now on give up as soon as one of `flags` is set.
pub fn set_thread_stop_flags(flags: Vec<Arc<AtomicBool>>) {
    STOP_FLAGS.with(|f| *f.borrow_mut() = flags);
}

/// What the interrupt callback checks: the stop flags, and a deadline that every packet read moves
/// on (so one timeout covers a connect that never answers and a stream that goes silent).
pub(crate) struct Interrupt {
    flags: Vec<Arc<AtomicBool>>,
    start: Instant,
    timeout_ms: u64,
    /// Milliseconds after `start` when the open or read in progress gives up.
    deadline_ms: AtomicU64,
}

impl Interrupt {
    fn new(timeout: Duration) -> Self {
        let timeout_ms = timeout.as_millis() as u64;
        Self {
            flags: STOP_FLAGS.with(|f| f.borrow().clone()),
            start: Instant::now(),
            timeout_ms,
            deadline_ms: AtomicU64::new(timeout_ms),
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.flags.iter().any(|f| f.load(Ordering::Relaxed))
    }

    pub(crate) fn late(&self) -> bool {
        self.start.elapsed().as_millis() as u64 > self.deadline_ms.load(Ordering::Relaxed)
    }

    /// Data arrived: the stream has another timeout before it counts as silent.
    pub(crate) fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.deadline_ms
            .store(now + self.timeout_ms, Ordering::Relaxed);
    }
}

unsafe extern "C" fn interrupt_callback(opaque: *mut std::ffi::c_void) -> std::ffi::c_int {
    // SAFETY: `opaque` is the `Interrupt` the reader keeps alive as long as its context.
    let interrupt = unsafe { &*(opaque as *const Interrupt) };
    (interrupt.stopped() || interrupt.late()) as std::ffi::c_int
}

/// Opens `url` (`${NAME}` expanded from the environment) with `options`; `shown` names it in errors.
/// The interrupt stays with the input: reads are stopped by the same flags.
pub(crate) fn open(
    shown: &Path,
    url: &str,
    options: ff::Dictionary,
    stream: &StreamOptions,
) -> Result<(ff::format::context::Input, Arc<Interrupt>), VideoError> {
    let url = crate::io::redact::expand_env(url, |n| std::env::var(n).ok()).map_err(|missing| {
        VideoError::NoSuchVariable {
            path: shown.to_path_buf(),
            name: missing.0,
        }
    })?;
    let timeout = Duration::from_secs_f64(stream.timeout_s);
    let interrupt = Arc::new(Interrupt::new(timeout));
    let c_url = std::ffi::CString::new(url).map_err(|_| VideoError::Open {
        path: shown.to_path_buf(),
        source: ff::Error::InvalidData,
    })?;
    // SAFETY: the FFmpeg calls ffmpeg-next's `input_with_dictionary` makes, with an interrupt
    // callback set on the context first; the callback's `Interrupt` outlives the context (the
    // reader keeps both, and drops the input first).
    let input = unsafe {
        let mut ctx = ff::ffi::avformat_alloc_context();
        if ctx.is_null() {
            return Err(open_error(
                shown,
                ff::Error::from(ff::ffi::AVERROR(libc::ENOMEM)),
                &interrupt,
                stream,
            ));
        }
        (*ctx).interrupt_callback = ff::ffi::AVIOInterruptCB {
            callback: Some(interrupt_callback),
            opaque: Arc::as_ptr(&interrupt) as *mut std::ffi::c_void,
        };
        let mut opts = options.disown();
        let res =
            ff::ffi::avformat_open_input(&mut ctx, c_url.as_ptr(), std::ptr::null(), &mut opts);
        drop(ff::Dictionary::own(opts));
        if res < 0 {
            return Err(open_error(shown, ff::Error::from(res), &interrupt, stream));
        }
        let res = ff::ffi::avformat_find_stream_info(ctx, std::ptr::null_mut());
        if res < 0 {
            ff::ffi::avformat_close_input(&mut ctx);
            return Err(open_error(shown, ff::Error::from(res), &interrupt, stream));
        }
        ff::format::context::Input::wrap(ctx)
    };
    interrupt.touch();
    Ok((input, interrupt))
}

/// What a failed open means for people: no answer in time, refused credentials, or FFmpeg's word.
fn open_error(
    shown: &Path,
    e: ff::Error,
    interrupt: &Interrupt,
    stream: &StreamOptions,
) -> VideoError {
    let path = shown.to_path_buf();
    // Protocols turn an interrupted read into errors of their own (RTSP: invalid data): the
    // interrupt's state says what happened.
    if interrupt.stopped() {
        return VideoError::Interrupted(path);
    }
    if interrupt.late() || matches!(e, ff::Error::Exit) {
        return VideoError::NoAnswer {
            path,
            seconds: stream.timeout_s,
        };
    }
    match e {
        ff::Error::HttpUnauthorized | ff::Error::HttpForbidden if has_user(shown) => {
            VideoError::Unauthorized(path)
        }
        ff::Error::HttpUnauthorized | ff::Error::HttpForbidden => {
            VideoError::NeedsCredentials(path)
        }
        source => VideoError::Open { path, source },
    }
}

/// FFmpeg's options for opening `text` (a stream URL): low latency for RTSP, RTMP, UDP, SRT; the
/// transport; timeouts.
pub(crate) fn dictionary(text: &str, stream: &StreamOptions) -> ff::Dictionary<'static> {
    let low_latency = low_latency(text);
    let mut options = ff::Dictionary::new();
    // Probing must end well within the timeout: an interrupt during it would end the stream.
    let probe_s = probe_seconds(text, stream);
    options.set("analyzeduration", &((probe_s * 1e6) as u64).to_string());
    if low_latency {
        options.set("fflags", "nobuffer");
        options.set("flags", "low_delay");
        options.set("probesize", "1000000");
    }
    // FFmpeg's own socket timeouts are a backstop: the interrupt callback ends a silent connect
    // or read at the timeout itself, with a message that says so.
    let timeout_us = ((stream.timeout_s * 2e6) as u64 + 1_000_000).to_string();
    options.set("rw_timeout", &timeout_us);
    // RTMP's `timeout` would make it listen as a server instead.
    if !text.starts_with("rtmp") {
        options.set("timeout", &timeout_us);
    }
    if text.starts_with("rtsp") {
        let transport = match stream.rtsp_transport {
            RtspTransport::Tcp => "tcp",
            RtspTransport::Udp => "udp",
        };
        options.set("rtsp_transport", transport);
    }
    if text.starts_with("udp") {
        options.set("overrun_nonfatal", "1");
        options.set("fifo_size", "1000000");
    }
    options
}

/// How long opening `text` watches the stream to learn what it holds: it must end well within the
/// timeout, since an interrupt during it would end the stream.
pub(crate) fn probe_seconds(text: &str, stream: &StreamOptions) -> f64 {
    let low_latency = low_latency(text);
    if low_latency { 2.0 } else { 5.0f64 }.min(stream.timeout_s / 2.0)
}

/// A stream whose picture size is unknown after probing was joined between keyframes, and its next
/// one did not come in time: say so, not "frame size 0x0".
pub(crate) fn no_keyframe_yet(e: VideoError, text: &str, stream: &StreamOptions) -> VideoError {
    match e {
        VideoError::BadSize {
            path,
            width: 0,
            height: 0,
        } => VideoError::NoKeyframe {
            path,
            seconds: probe_seconds(text, stream),
        },
        e => e,
    }
}

/// Whether the URL carries a user name (`scheme://user[:password]@host`).
fn has_user(url: &Path) -> bool {
    let text = url.to_string_lossy();
    let authority = text
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    authority.contains('@')
}

/// Whether `url` is a network stream that posecam opens for low latency (RTSP, RTMP, UDP, SRT...).
/// HTTP(S) is opened like a file: a file served over HTTP must not lose its first frames to the
/// low-latency probe, and a live HTTP stream only starts a little later for it.
pub(crate) fn low_latency(url: &str) -> bool {
    !(url.starts_with("http://") || url.starts_with("https://"))
}
