//! Decoding: packets → frames → upright YUV 4:2:0 pictures in the stream's own colours.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::{init, rational_f64, ColorSpec, VideoError, VideoInfo, Yuv420Image};
use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;

/// One decoded frame, upright, with its place in the stream.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    /// 0-based position in decoding output order (= display order).
    pub index: u64,
    /// Presentation timestamp in the stream's time base (synthesised when the file has none; from zero
    /// for a network stream).
    pub pts: i64,
    /// Presentation time in seconds from the stream start.
    pub time_s: f64,
    /// The full picture, as the encoder wants it.
    pub picture: Yuv420Image,
}

/// FFmpeg's scaler, movable to another thread: an `SwsContext` holds no thread-bound state and the
/// reader that owns it is used by one thread at a time.
struct Scaler(scaling::Context);

// SAFETY: see above; `VideoReader` never shares the context, it only moves with its owner.
unsafe impl Send for Scaler {}

/// Reads a video file frame by frame. `Send`, so a stream opened once (to learn its size) can move to the
/// thread that reads it instead of being opened twice.
pub struct VideoReader {
    path: PathBuf,
    input: ff::format::context::Input,
    decoder: ff::decoder::Video,
    stream_index: usize,
    time_base: ff::Rational,
    start_pts: i64,
    /// A network stream: joined midway, ends by going quiet.
    stream: bool,
    /// Stops FFmpeg's blocking calls; dropped after `input` (declared after it).
    interrupt: Option<std::sync::Arc<super::network::Interrupt>>,
    /// Seconds of silence before a stream counts as stopped.
    stream_timeout_s: f64,
    /// When the first frame of a stream without timestamps arrived.
    first_arrival: Option<std::time::Instant>,
    /// A live stream whose container carries no real timestamps (multipart JPEG).
    arrival_timed: bool,
    /// A stream's audio, handed on to the export's muxer (one connection for both).
    audio_tap: Option<super::audio::AudioTap>,
    /// Keeps a file FFmpeg reads through `/proc/self/fd` open.
    _name: Option<super::FfmpegPath>,
    /// The file's size when opened: a file that grew by its end was still being written.
    size_at_open: Option<u64>,
    grew: bool,
    info: VideoInfo,
    /// Converts decoder formats other than YUV 4:2:0 (same size).
    to_yuv: Option<(Scaler, Pixel, u32, u32)>,
    /// After a seek, frame indices are estimates and the truncation check is off.
    seeked: bool,
    ready: VecDeque<DecodedFrame>,
    next_index: u64,
    last_pts: Option<i64>,
    frame_step: i64,
    eof_sent: bool,
    decoded: ff::frame::Video,
    yuv: ff::frame::Video,
}

impl VideoReader {
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        init();
        if super::is_stream_url(path) {
            return Self::open_stream(path);
        }
        if !super::is_sequence_pattern(path) {
            crate::io::inputs::regular_file(path)?;
        }
        let name = super::FfmpegPath::for_reading(path).map_err(|e| VideoError::OpenFile {
            path: path.to_path_buf(),
            source: e,
        })?;
        let input = ff::format::input(&name.name).map_err(|e| VideoError::Open {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut reader = Self::from_input(path, input)?;
        reader._name = Some(name);
        Ok(reader)
    }

    /// A network stream. RTSP, RTMP, UDP, SRT are opened for low latency (no input buffering, a short
    /// probe); HTTP(S) like a file, and read as one when it has a duration (a file served over HTTP:
    /// every frame, its own timestamps). Reads give up after the timeout of silence; opening gives up
    /// at the timeout too, and at once when the pipeline stops.
    fn open_stream(url: &Path) -> Result<Self, VideoError> {
        let text = url.to_string_lossy();
        let stream = super::network::stream_options();
        let low_latency = super::network::low_latency(&text);
        let options = super::network::dictionary(&text, &stream);
        let (input, interrupt) = super::network::open(url, &text, options, &stream)?;
        let finite = !low_latency && input.duration() > 0;
        let mut reader = Self::from_input(url, input)
            .map_err(|e| super::network::no_keyframe_yet(e, &text, &stream))?;
        reader.interrupt = Some(interrupt);
        reader.stream = !finite;
        let format = reader.input.format().name().to_string();
        tracing::debug!(
            "{}: container {format}, finite {finite}",
            crate::io::redact::redact(&text)
        );
        reader.arrival_timed =
            !finite && ["mpjpeg", "mjpeg", "jpeg_pipe"].contains(&format.as_str());
        reader.stream_timeout_s = stream.timeout_s;
        Ok(reader)
    }

    fn from_input(path: &Path, input: ff::format::context::Input) -> Result<Self, VideoError> {
        let stream = input
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| VideoError::NoVideo(path.to_path_buf()))?;
        let decoder = open_decoder(path, &stream)?;
        let info = describe(&input, &stream, &decoder);
        let (stream_index, time_base) = (stream.index(), stream.time_base());
        let start_pts = if stream.start_time() != ff::ffi::AV_NOPTS_VALUE {
            stream.start_time()
        } else {
            0
        };
        // Step between synthesised timestamps when a file has none.
        let frame_step = match (info.frame_rate, rational_f64(time_base)) {
            (Some(fps), Some(tb)) if fps > 0.0 => ((1.0 / fps) / tb).round().max(1.0) as i64,
            _ => 1,
        };
        Ok(Self {
            path: path.to_path_buf(),
            input,
            decoder,
            stream_index,
            time_base,
            start_pts,
            stream: super::is_stream_url(path),
            interrupt: None,
            stream_timeout_s: super::STREAM_TIMEOUT_S as f64,
            first_arrival: None,
            arrival_timed: false,
            audio_tap: None,
            _name: None,
            size_at_open: std::fs::metadata(path).ok().map(|m| m.len()),
            grew: false,
            info,
            to_yuv: None,
            seeked: false,
            ready: VecDeque::new(),
            next_index: 0,
            last_pts: None,
            frame_step,
            eof_sent: false,
            decoded: ff::frame::Video::empty(),
            yuv: ff::frame::Video::empty(),
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn time_base(&self) -> ff::Rational {
        self.time_base
    }

    /// Jumps to the first frame shown at or after `time_s` seconds (from the stream start).
    pub fn seek(&mut self, time_s: f64) -> Result<(), VideoError> {
        let target = (time_s.max(0.0) * ff::ffi::AV_TIME_BASE as f64) as i64;
        self.input
            .seek(target, ..target + 1)
            .map_err(|e| self.decode_error(format!("seek to {time_s:.2} s"), e))?;
        self.decoder.flush();
        self.ready.clear();
        self.eof_sent = false;
        self.last_pts = None;
        self.seeked = true;
        let fps = self.info.frame_rate.unwrap_or(25.0);
        self.next_index = (time_s.max(0.0) * fps).round() as u64;
        // Seeking lands on the key frame before the target: decode up to the target.
        while let Some(f) = self.next_frame()? {
            if f.time_s + 0.5 / fps >= time_s {
                // Numbered from where it lies (the frames decoded from the key frame were counted
                // from the target), and the frames decoded with it after it.
                let first = (f.time_s.max(0.0) * fps).round() as u64;
                self.ready.push_front(f);
                for (i, r) in self.ready.iter_mut().enumerate() {
                    r.index = first + i as u64;
                }
                self.next_index = first + self.ready.len() as u64;
                break;
            }
        }
        Ok(())
    }

    /// The next frame, `None` at the end of the stream.
    /// A network stream: joined midway (timestamps from zero), ends by going quiet, cannot seek.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>, VideoError> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Ok(Some(f));
            }
            if self.eof_sent {
                // Containers that declare a frame count let a cut-off file be told from a short one.
                if let Some(declared) = self.info.frames.filter(|_| !self.seeked) {
                    if declared > self.next_index + declared / 50 {
                        return Err(VideoError::Truncated {
                            path: self.path.clone(),
                            decoded: self.next_index,
                            declared,
                        });
                    }
                }
                self.check_growth();
                return Ok(None);
            }
            let mut fed = false;
            let mut read_error = None;
            // Silence counts from when a packet is waited for (not from when the stream was opened:
            // the model may have loaded since).
            if let Some(interrupt) = &self.interrupt {
                interrupt.touch();
            }
            while let Some(packet) =
                super::read_packet(&mut self.input).map_err(|e| self.read_error(e))?
            {
                if let Some(interrupt) = &self.interrupt {
                    interrupt.touch();
                }
                if packet.stream() != self.stream_index {
                    self.tap_audio(packet);
                    continue;
                }
                if let Err(e) = self.decoder.send_packet(&packet) {
                    // A corrupt packet: FFmpeg conceals what it can; stop only if nothing decodes.
                    read_error = Some(e);
                }
                fed = true;
                break;
            }
            if !fed {
                let _ = self.decoder.send_eof();
                self.eof_sent = true;
            }
            self.drain()?;
            self.release_held_audio();
            if let (Some(e), true) = (read_error, self.ready.is_empty() && self.eof_sent) {
                return Err(self.decode_error("decoding", e));
            }
        }
    }

    /// True when the file grew while it was read (a recording still being written): what FFmpeg
    /// read of it may have gaps, and its end was not read.
    pub fn grew_while_read(&self) -> bool {
        self.grew
    }

    /// At the end: a file larger now than when it was opened was still being written.
    fn check_growth(&mut self) {
        let now = std::fs::metadata(&self.path).ok().map(|m| m.len());
        if let (Some(before), Some(now)) = (self.size_at_open, now) {
            if now > before && !self.grew {
                self.grew = true;
                tracing::warn!(
                    "{}: the file grew from {before} to {now} bytes while it was read (still being \
                     recorded?): frames may be missing; run again once it is complete",
                    self.path.display()
                );
            }
        }
    }

    /// A network stream that goes quiet fails its read with EIO or ETIMEDOUT once the timeout passes.
    fn read_error(&self, e: ff::Error) -> VideoError {
        let quiet = matches!(e, ff::Error::Other { errno } if errno == libc::EIO || errno == libc::ETIMEDOUT);
        let over_network = super::is_stream_url(&self.path);
        if over_network
            && !self.stream
            && self.next_index == 0
            && self.input.format().name().contains("mp4")
        {
            return VideoError::NeedsRanges(self.path.clone());
        }
        let interrupt = self.interrupt.as_ref();
        if matches!(e, ff::Error::Exit) && interrupt.is_some_and(|i| i.stopped()) {
            VideoError::Interrupted(self.path.clone())
        } else if (quiet || matches!(e, ff::Error::Exit)) && self.stream {
            VideoError::Stalled {
                path: self.path.clone(),
                seconds: self.stream_timeout_s,
            }
        } else {
            self.decode_error("reading", e)
        }
    }

    fn decode_error(&self, what: impl Into<String>, source: ff::Error) -> VideoError {
        VideoError::Decode {
            path: self.path.clone(),
            frame: self.next_index,
            what: what.into(),
            source,
        }
    }

    /// A stream's audio packets from now on, timed from the recording's start like its frames: for
    /// an export to mux them (the stream cannot be opened a second time for its audio). `None` for
    /// files (their audio is read again from the file) and streams without audio.
    pub fn take_audio(&mut self) -> Option<super::audio::StreamAudio> {
        if !self.stream || self.audio_tap.is_some() {
            return None;
        }
        let streams = super::audio::audio_streams(&self.input);
        if streams.is_empty() {
            return None;
        }
        let (tx, packets) = crossbeam_channel::bounded(super::audio::AUDIO_QUEUE);
        self.audio_tap = Some(super::audio::AudioTap {
            tx,
            time_bases: streams.iter().map(|s| (s.index, s.time_base)).collect(),
            held: Vec::new(),
            dropped: 0,
        });
        Some(super::audio::StreamAudio { streams, packets })
    }

    /// An audio packet of a tapped stream: held until the first frame fixes the recording's start,
    /// then handed on.
    fn tap_audio(&mut self, packet: ff::Packet) {
        let Some(tap) = self.audio_tap.as_mut() else {
            return;
        };
        if !tap.time_bases.iter().any(|(i, _)| *i == packet.stream()) {
            return;
        }
        if self.last_pts.is_none() {
            if tap.held.len() < super::audio::AUDIO_QUEUE {
                tap.held.push(packet);
            }
            return;
        }
        let start_s = rational_f64(self.time_base).map_or(0.0, |tb| self.start_pts as f64 * tb);
        tap.send(packet, start_s);
    }

    fn release_held_audio(&mut self) {
        if self.last_pts.is_none() {
            return;
        }
        let start_s = rational_f64(self.time_base).map_or(0.0, |tb| self.start_pts as f64 * tb);
        if let Some(tap) = self.audio_tap.as_mut() {
            for packet in std::mem::take(&mut tap.held) {
                tap.send(packet, start_s);
            }
        }
    }

    /// Now, in the stream's time base, counted from its first frame (never twice the same).
    fn arrival_pts(&mut self) -> i64 {
        let first = *self
            .first_arrival
            .get_or_insert_with(std::time::Instant::now);
        let ticks = rational_f64(self.time_base)
            .filter(|tb| *tb > 0.0)
            .map_or(0, |tb| (first.elapsed().as_secs_f64() / tb).round() as i64);
        self.last_pts.map_or(ticks, |last| ticks.max(last + 1))
    }

    fn drain(&mut self) -> Result<(), VideoError> {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            let pts = match self.decoded.timestamp() {
                // A live stream without real timestamps (MJPEG over HTTP numbers its frames at
                // 25 fps, whatever the camera sends): its frames are timed by their arrival.
                _ if self.arrival_timed => self.arrival_pts(),
                None if self.stream => self.arrival_pts(),
                Some(p) if self.last_pts.is_none_or(|last| p > last) => p,
                _ => self
                    .last_pts
                    .map_or(self.start_pts, |last| last + self.frame_step),
            };
            if self.last_pts.is_none() && self.stream {
                // A stream joined midway: its recording starts at zero.
                self.start_pts = pts;
            }
            self.last_pts = Some(pts);
            let picture = self.convert()?;
            let time_s =
                rational_f64(self.time_base).map_or(0.0, |tb| (pts - self.start_pts) as f64 * tb);
            self.ready.push_back(DecodedFrame {
                index: self.next_index,
                pts: if self.stream {
                    pts - self.start_pts
                } else {
                    pts
                },
                time_s,
                picture,
            });
            self.next_index += 1;
        }
        Ok(())
    }

    /// The decoded frame as upright YUV 4:2:0, converting other pixel formats (same size).
    fn convert(&mut self) -> Result<Yuv420Image, VideoError> {
        let (fmt, w, h) = (
            self.decoded.format(),
            self.decoded.width(),
            self.decoded.height(),
        );
        let tagged = ColorSpec::from_tags(
            self.decoded.color_space(),
            self.decoded.color_range(),
            (w, h),
        );
        let (yuv, colors) = match fmt {
            Pixel::YUV420P => (&self.decoded, tagged),
            Pixel::YUVJ420P => (
                &self.decoded,
                ColorSpec {
                    full_range: true,
                    ..tagged
                },
            ),
            _ => {
                self.convert_to_yuv(fmt, w, h)?;
                (&self.yuv, converted_colors(fmt, tagged))
            }
        };
        let picture = Yuv420Image::from_planes(
            w as usize,
            h as usize,
            [
                (yuv.data(0), yuv.stride(0)),
                (yuv.data(1), yuv.stride(1)),
                (yuv.data(2), yuv.stride(2)),
            ],
            colors,
        );
        Ok(match self.info.rotation {
            0 => picture,
            r => picture.rotated(r),
        })
    }

    fn convert_to_yuv(&mut self, fmt: Pixel, w: u32, h: u32) -> Result<(), VideoError> {
        if !matches!(&self.to_yuv, Some((_, f, sw, sh)) if *f == fmt && *sw == w && *sh == h) {
            let ctx =
                scaling::Context::get(fmt, w, h, Pixel::YUV420P, w, h, scaling::Flags::BILINEAR)
                    .map_err(|e| self.decode_error(format!("no conversion from {fmt:?}"), e))?;
            self.to_yuv = Some((Scaler(ctx), fmt, w, h));
            self.yuv = ff::frame::Video::empty();
        }
        let frame = self.next_index;
        let Some((ctx, ..)) = self.to_yuv.as_mut() else {
            return Ok(());
        };
        ctx.0
            .run(&self.decoded, &mut self.yuv)
            .map_err(|e| VideoError::Decode {
                path: self.path.clone(),
                frame,
                what: "converting to YUV".into(),
                source: e,
            })
    }
}

/// The colours of a picture FFmpeg's scaler converted to YUV 4:2:0: RGB, palette and grey sources come
/// out BT.601 limited range, full-range "J" formats come out limited, other YUV formats keep their
/// matrix and range.
fn converted_colors(source: Pixel, tagged: ColorSpec) -> ColorSpec {
    let name = source.descriptor().map_or("", |d| d.name());
    let not_yuv = ["rgb", "bgr", "gbr", "pal", "gray", "ya", "argb", "abgr"]
        .iter()
        .any(|p| name.starts_with(p) || name.contains("rgb"));
    if not_yuv {
        return ColorSpec::BT601;
    }
    ColorSpec {
        full_range: tagged.full_range && !name.starts_with("yuvj"),
        ..tagged
    }
}

fn open_decoder(
    path: &Path,
    stream: &ff::format::stream::Stream,
) -> Result<ff::decoder::Video, VideoError> {
    let codec_err = |e: ff::Error| VideoError::Codec {
        path: path.to_path_buf(),
        source: e,
    };
    let mut context =
        ff::codec::context::Context::from_parameters(stream.parameters()).map_err(codec_err)?;
    // Decoders run single-threaded unless told before opening. On small machines the decoder's own
    // thread (a pipeline stage) is enough, and frame threads measurably slow inference beside it.
    context.set_threading(ff::codec::threading::Config {
        kind: ff::codec::threading::Type::Frame,
        count: if small_machine() { 1 } else { 0 },
        ..Default::default()
    });
    let decoder = context.decoder().video().map_err(codec_err)?;
    let (w, h) = (decoder.width(), decoder.height());
    if w == 0 || h == 0 || w > super::MAX_SIDE || h > super::MAX_SIDE {
        return Err(VideoError::BadSize {
            path: path.to_path_buf(),
            width: w,
            height: h,
        });
    }
    Ok(decoder)
}

fn describe(
    input: &ff::format::context::Input,
    stream: &ff::format::stream::Stream,
    decoder: &ff::decoder::Video,
) -> VideoInfo {
    let (w, h) = (decoder.width(), decoder.height());
    let rotation = stream_rotation(stream);
    let (width, height) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
    let time_base = stream.time_base();
    let duration_s = if stream.duration() > 0 {
        rational_f64(time_base).map(|tb| stream.duration() as f64 * tb)
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / ff::ffi::AV_TIME_BASE as f64)
    } else {
        None
    };
    let tagged = ColorSpec::from_tags(decoder.color_space(), decoder.color_range(), (w, h));
    let colors = match decoder.format() {
        Pixel::YUV420P | Pixel::None => tagged,
        Pixel::YUVJ420P => ColorSpec {
            full_range: true,
            ..tagged
        },
        other => converted_colors(other, tagged),
    };
    VideoInfo {
        width,
        height,
        rotation,
        frame_rate: rational_f64(stream.avg_frame_rate()).or_else(|| rational_f64(stream.rate())),
        frames: (stream.frames() > 0).then_some(stream.frames() as u64),
        duration_s,
        audio_streams: input
            .streams()
            .filter(|s| s.parameters().medium() == ff::media::Type::Audio)
            .count(),
        codec: decoder
            .codec()
            .map_or_else(|| "unknown".into(), |c| c.name().to_string()),
        time_base,
        colors,
        color_primaries: decoder.color_primaries(),
        color_transfer: decoder.color_transfer_characteristic(),
    }
}

/// Four cores or fewer: inference needs them all.
pub(crate) fn small_machine() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) <= 4
}

/// Clockwise rotation that makes frames upright, from the stream's display matrix (as ffmpeg's
/// autorotate reads it).
fn stream_rotation(stream: &ff::format::stream::Stream) -> u32 {
    for side in stream.side_data() {
        if side.kind() == ff::codec::packet::side_data::Type::DisplayMatrix
            && side.data().len() >= 36
        {
            // SAFETY: a display matrix is nine i32; the slice holds at least 36 bytes.
            let angle =
                unsafe { ff::ffi::av_display_rotation_get(side.data().as_ptr() as *const i32) };
            if angle.is_finite() {
                let cw = (-angle).rem_euclid(360.0);
                return (((cw / 90.0).round() as u32) % 4) * 90;
            }
        }
    }
    0
}
