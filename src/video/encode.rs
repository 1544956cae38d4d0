//! Encoding: upright RGB frames → H.264 (libx264, yuv420p) in any container FFmpeg writes, with the
//! source's audio streams copied packet for packet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{init, VideoError, Yuv420Image};
use ff::format::Pixel;
use ffmpeg_next as ff;

/// x264 settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Constant rate factor: 0 lossless, 18 visually lossless, 23 x264's default, 51 worst.
    pub crf: u8,
    /// x264 preset (ultrafast … placebo): speed against size.
    pub preset: String,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            crf: 20,
            preset: "veryfast".into(),
        }
    }
}

impl EncodeOptions {
    /// CRF 20 and the fastest preset on machines with 4 cores or fewer, where encoding would take the
    /// CPU from inference; `veryfast` otherwise. What `posecam export` and the window use by default.
    pub fn for_this_machine() -> Self {
        Self {
            crf: 20,
            preset: Self::auto_preset().into(),
        }
    }

    /// The preset `auto` stands for on this machine.
    pub fn auto_preset() -> &'static str {
        if super::decode::small_machine() {
            "ultrafast"
        } else {
            "veryfast"
        }
    }
}

pub const X264_PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// `path`'s extension names a container FFmpeg writes that can hold H.264, checked before any work.
pub fn check_container(path: &Path) -> Result<(), VideoError> {
    init();
    let err = |reason: &str| VideoError::Write {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| err("the name holds a NUL byte"))?;
    // SAFETY: av_guess_format reads the NUL-terminated name and returns a static format or null.
    let format =
        unsafe { ff::ffi::av_guess_format(std::ptr::null(), name.as_ptr(), std::ptr::null()) };
    if format.is_null() {
        return Err(err("unknown video container: name it .mp4, .mkv or .mov"));
    }
    // SAFETY: `format` is a static muxer description.
    let h264 = unsafe {
        ff::ffi::avformat_query_codec(
            format,
            ff::ffi::AVCodecID::AV_CODEC_ID_H264,
            ff::ffi::FF_COMPLIANCE_NORMAL,
        )
    };
    if h264 != 1 {
        return Err(err(
            "this container cannot hold H.264 video: use .mp4, .mkv or .mov",
        ));
    }
    Ok(())
}

/// Carries the audio of a source file into the output, interleaved with the video by time.
struct AudioCopy {
    input: ff::format::context::Input,
    /// Per input stream: how its packets reach the output, if it is audio.
    map: Vec<Option<AudioRoute>>,
    pending: Option<ff::Packet>,
    exhausted: bool,
}

enum AudioRoute {
    /// Packets copied unchanged.
    Copy(CopiedStream),
    /// Decoded and re-encoded to AAC (the container cannot hold the original codec).
    Aac(Box<AacTranscoder>),
}

/// An audio stream copied packet for packet.
struct CopiedStream {
    out_index: usize,
    in_tb: ff::Rational,
    /// Decoding time of the last packet written (input time base).
    last_dts: Option<i64>,
    /// Packets left out because their time went backwards (spliced or damaged streams).
    dropped: u64,
}

impl CopiedStream {
    /// Writes `packet` unless its time goes backwards, which muxers refuse (a spliced stream): such
    /// packets are left out rather than failing the export.
    fn copy(
        &mut self,
        mut packet: ff::Packet,
        output: &mut ff::format::context::Output,
    ) -> Result<(), String> {
        let dts = packet.dts().or(packet.pts());
        if let (Some(t), Some(last)) = (dts, self.last_dts) {
            if t <= last {
                if self.dropped == 0 {
                    tracing::warn!(
                        "audio time goes backwards (spliced stream?): overlapping packets left out"
                    );
                }
                self.dropped += 1;
                return Ok(());
            }
        }
        self.last_dts = dts.or(self.last_dts);
        let out_tb = output
            .stream(self.out_index)
            .map_or(self.in_tb, |s| s.time_base());
        packet.set_stream(self.out_index);
        packet.set_position(-1);
        packet.rescale_ts(self.in_tb, out_tb);
        packet
            .write_interleaved(output)
            .map_err(|e| format!("audio: {e}"))
    }
}

/// Audio codecs that players handle inside MP4/MOV; others are re-encoded to AAC there.
const MP4_AUDIO: &[ff::codec::Id] = &[
    ff::codec::Id::AAC,
    ff::codec::Id::MP3,
    ff::codec::Id::AC3,
    ff::codec::Id::EAC3,
    ff::codec::Id::ALAC,
    ff::codec::Id::OPUS,
];

/// Decode → resample to planar float → 1024-sample frames → AAC.
struct AacTranscoder {
    decoder: ff::decoder::Audio,
    resampler: Option<ff::software::resampling::Context>,
    encoder: ff::encoder::Audio,
    out_index: usize,
    in_tb: ff::Rational,
    layout: ff::ChannelLayout,
    rate: u32,
    frame_size: usize,
    /// Samples waiting for a full encoder frame, per channel.
    fifo: Vec<Vec<f32>>,
    next_pts: i64,
}

impl AacTranscoder {
    fn new(
        output: &mut ff::format::context::Output,
        stream: &ff::format::stream::Stream,
        global_header: bool,
    ) -> Result<Self, String> {
        let ctx = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| e.to_string())?;
        let decoder = ctx
            .decoder()
            .audio()
            .map_err(|e| format!("audio decoder: {e}"))?;
        let codec =
            ff::encoder::find(ff::codec::Id::AAC).ok_or("this FFmpeg has no AAC encoder")?;
        let channels = decoder.channels().clamp(1, 8) as i32;
        let layout = match decoder.channel_layout() {
            l if l.channels() == channels => l,
            _ => ff::ChannelLayout::default(channels),
        };
        let rate = decoder.rate().max(8000);
        let mut out = output.add_stream(codec).map_err(|e| e.to_string())?;
        let out_index = out.index();
        let mut encoder = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(|e| e.to_string())?;
        encoder.set_rate(rate as i32);
        encoder.set_channel_layout(layout);
        encoder.set_channels(channels);
        encoder.set_format(ff::format::Sample::F32(ff::format::sample::Type::Planar));
        encoder.set_bit_rate(64_000 * channels as usize);
        encoder.set_time_base((1, rate as i32));
        if global_header {
            encoder.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let encoder = encoder
            .open_as(codec)
            .map_err(|e| format!("AAC encoder: {e}"))?;
        out.set_parameters(&encoder);
        out.set_time_base((1, rate as i32));
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(Self {
            decoder,
            resampler: None,
            encoder,
            out_index,
            in_tb: stream.time_base(),
            layout,
            rate,
            frame_size,
            fifo: vec![Vec::new(); channels as usize],
            next_pts: 0,
        })
    }

    /// Feeds one packet (or the end, for `None`) and writes every AAC packet that results.
    fn feed(
        &mut self,
        packet: Option<&ff::Packet>,
        output: &mut ff::format::context::Output,
    ) -> Result<(), String> {
        match packet {
            Some(p) => {
                let mut p = p.clone();
                p.rescale_ts(self.in_tb, self.decoder.time_base());
                // A damaged audio packet is skipped, as players do.
                let _ = self.decoder.send_packet(&p);
            }
            None => {
                let _ = self.decoder.send_eof();
            }
        }
        let mut decoded = ff::frame::Audio::empty();
        while self.decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.channel_layout().channels() != self.layout.channels() {
                decoded.set_channel_layout(self.layout);
            }
            let target = ff::format::Sample::F32(ff::format::sample::Type::Planar);
            if self.resampler.is_none() {
                self.resampler = Some(
                    ff::software::resampling::Context::get(
                        decoded.format(),
                        self.layout,
                        decoded.rate(),
                        target,
                        self.layout,
                        self.rate,
                    )
                    .map_err(|e| format!("resampler: {e}"))?,
                );
            }
            let mut converted = ff::frame::Audio::empty();
            if let Some(r) = self.resampler.as_mut() {
                r.run(&decoded, &mut converted)
                    .map_err(|e| format!("resampling: {e}"))?;
            }
            self.queue(&converted);
            self.encode_full_frames(output, false)?;
        }
        if packet.is_none() {
            if let Some(r) = self.resampler.as_mut() {
                let mut rest = ff::frame::Audio::empty();
                if r.flush(&mut rest).is_ok() {
                    self.queue(&rest);
                }
            }
            self.encode_full_frames(output, true)?;
            let _ = self.encoder.send_eof();
            self.write_packets(output)?;
        }
        Ok(())
    }

    fn queue(&mut self, frame: &ff::frame::Audio) {
        let n = frame.samples();
        if n == 0 || frame.planes() < self.fifo.len() {
            return;
        }
        for (c, fifo) in self.fifo.iter_mut().enumerate() {
            fifo.extend_from_slice(&frame.plane::<f32>(c)[..n]);
        }
    }

    fn encode_full_frames(
        &mut self,
        output: &mut ff::format::context::Output,
        last: bool,
    ) -> Result<(), String> {
        while self.fifo[0].len() >= self.frame_size || (last && !self.fifo[0].is_empty()) {
            let n = self.fifo[0].len().min(self.frame_size);
            let mut frame = ff::frame::Audio::new(
                ff::format::Sample::F32(ff::format::sample::Type::Planar),
                n,
                self.layout,
            );
            frame.set_rate(self.rate);
            for (c, fifo) in self.fifo.iter_mut().enumerate() {
                frame.plane_mut::<f32>(c)[..n].copy_from_slice(&fifo[..n]);
                fifo.drain(..n);
            }
            frame.set_pts(Some(self.next_pts));
            self.next_pts += n as i64;
            self.encoder
                .send_frame(&frame)
                .map_err(|e| format!("AAC encoding: {e}"))?;
            self.write_packets(output)?;
        }
        Ok(())
    }

    fn write_packets(&mut self, output: &mut ff::format::context::Output) -> Result<(), String> {
        let out_tb = output
            .stream(self.out_index)
            .map(|s| s.time_base())
            .unwrap_or((1, self.rate as i32).into());
        let mut packet = ff::Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(self.out_index);
            packet.rescale_ts((1, self.rate as i32), out_tb);
            packet
                .write_interleaved(output)
                .map_err(|e| format!("audio: {e}"))?;
        }
        Ok(())
    }
}

/// Writes an annotated video.
pub struct VideoWriter {
    path: PathBuf,
    output: ff::format::context::Output,
    encoder: ff::encoder::Video,
    video_index: usize,
    time_base: ff::Rational,
    width: u32,
    height: u32,
    yuv: ff::frame::Video,
    audio: Option<AudioCopy>,
    /// Timestamps of frames sent, to give each packet its real duration (variable frame rate too).
    sent_pts: BTreeSet<i64>,
    default_duration: i64,
    frames: u64,
}

/// What the encoded video stream looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    /// Time base of the timestamps given to [`VideoWriter::write`].
    pub time_base: ff::Rational,
    pub frame_rate: Option<ff::Rational>,
    /// The colours of the pictures written (tagged in the file).
    pub colors: super::ColorSpec,
    pub primaries: ff::color::Primaries,
    pub transfer: ff::color::TransferCharacteristic,
}

impl VideoFormat {
    /// The format of a decoded video, so the export looks like its input.
    pub fn of(info: &super::VideoInfo) -> Self {
        Self {
            width: info.width,
            height: info.height,
            time_base: info.time_base,
            frame_rate: info
                .frame_rate
                .map(ff::Rational::from)
                .filter(|r| r.numerator() > 0),
            colors: info.colors,
            primaries: info.color_primaries,
            transfer: info.color_transfer,
        }
    }
}

impl VideoWriter {
    /// Creates `path` (the container is chosen by its extension) for frames of `format`; copies every
    /// audio stream of `audio_source`.
    pub fn create(
        path: &Path,
        format: &VideoFormat,
        audio_source: Option<&Path>,
        options: &EncodeOptions,
    ) -> Result<Self, VideoError> {
        init();
        let err = |reason: String| VideoError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let mut output =
            ff::format::output(&path).map_err(|e| err(format!("cannot create: {e}")))?;
        let (encoder, video_index) =
            open_video_encoder(&mut output, format, options).map_err(err)?;
        let audio = match audio_source {
            Some(src) => Some(add_audio_streams(&mut output, src).map_err(err)?),
            None => None,
        };
        output.write_header().map_err(|e| err(e.to_string()))?;
        let (time_base, frame_rate) = (format.time_base, format.frame_rate);
        let default_duration = frame_rate
            .and_then(|r| {
                let ticks = (r.denominator() as f64 * time_base.denominator() as f64)
                    / (r.numerator() as f64 * time_base.numerator() as f64);
                ticks.is_finite().then_some(ticks.round() as i64)
            })
            .filter(|d| *d > 0)
            .unwrap_or(1);
        let (ew, eh) = (encoder.width(), encoder.height());
        Ok(Self {
            path: path.to_path_buf(),
            output,
            encoder,
            video_index,
            time_base,
            width: format.width,
            height: format.height,
            yuv: ff::frame::Video::new(Pixel::YUV420P, ew, eh),
            audio,
            sent_pts: BTreeSet::new(),
            default_duration,
            frames: 0,
        })
    }

    fn err(&self, reason: String) -> VideoError {
        VideoError::Write {
            path: self.path.clone(),
            reason,
        }
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Encodes one frame shown at `pts` (in the writer's time base).
    pub fn write(&mut self, picture: &Yuv420Image, pts: i64) -> Result<(), VideoError> {
        if (picture.width, picture.height) != (self.width as usize, self.height as usize) {
            return Err(self.err(format!(
                "frame {}x{} does not match the video's {}x{}",
                picture.width, picture.height, self.width, self.height
            )));
        }
        self.copy_planes(picture);
        self.yuv.set_pts(Some(pts));
        self.sent_pts.insert(pts);
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| self.err(format!("encoding frame {}: {e}", self.frames)))?;
        self.frames += 1;
        self.write_packets()
    }

    /// Copies the planes into the encoder's frame; odd sizes repeat their last luma column and row
    /// (the chroma planes of an odd picture already cover the even size).
    fn copy_planes(&mut self, p: &Yuv420Image) {
        let (w, h) = (p.width, p.height);
        let (ew, eh) = (self.yuv.width() as usize, self.yuv.height() as usize);
        let stride = self.yuv.stride(0);
        let luma = self.yuv.data_mut(0);
        for y in 0..eh {
            let src = &p.y[y.min(h - 1) * w..(y.min(h - 1) + 1) * w];
            let dst = &mut luma[y * stride..y * stride + ew];
            dst[..w].copy_from_slice(src);
            if ew > w {
                dst[w] = src[w - 1];
            }
        }
        let (cw, ch) = Yuv420Image::chroma_size(w, h);
        for (plane, src) in [(1, &p.u), (2, &p.v)] {
            let stride = self.yuv.stride(plane);
            let dst = self.yuv.data_mut(plane);
            for y in 0..ch {
                dst[y * stride..y * stride + cw].copy_from_slice(&src[y * cw..(y + 1) * cw]);
            }
        }
    }

    fn write_packets(&mut self) -> Result<(), VideoError> {
        let ost_tb = self
            .output
            .stream(self.video_index)
            .map(|s| s.time_base())
            .unwrap_or(self.time_base);
        let mut packet = ff::Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            if packet.duration() <= 0 {
                if let Some(pts) = packet.pts() {
                    let next = self.sent_pts.range(pts + 1..).next().copied();
                    packet.set_duration(next.map_or(self.default_duration, |n| n - pts));
                }
            }
            packet.set_stream(self.video_index);
            packet.rescale_ts(self.time_base, ost_tb);
            let until = packet
                .dts()
                .or(packet.pts())
                .map(|t| t as f64 * f64::from(ost_tb));
            if let Some(t) = until {
                self.write_audio_until(Some(t))?;
            }
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| self.err(e.to_string()))?;
        }
        Ok(())
    }

    /// Copies audio packets that start before `until` seconds (all of them for `None`).
    fn write_audio_until(&mut self, until: Option<f64>) -> Result<(), VideoError> {
        let Some(audio) = self.audio.as_mut() else {
            return Ok(());
        };
        while let Some((packet, route)) = audio.next_before(until) {
            let result = match route {
                AudioRoute::Copy(stream) => stream.copy(packet, &mut self.output),
                AudioRoute::Aac(t) => t.feed(Some(&packet), &mut self.output),
            };
            result.map_err(|reason| VideoError::Write {
                path: self.path.clone(),
                reason,
            })?;
        }
        Ok(())
    }

    /// Flushes audio re-encoders (their last samples).
    fn flush_audio(&mut self) -> Result<(), VideoError> {
        if let Some(audio) = self.audio.as_mut() {
            for route in audio.map.iter_mut().flatten() {
                if let AudioRoute::Aac(t) = route {
                    t.feed(None, &mut self.output)
                        .map_err(|reason| VideoError::Write {
                            path: self.path.clone(),
                            reason,
                        })?;
                }
            }
        }
        Ok(())
    }

    /// Flushes the encoder, writes the remaining audio (up to the last frame's end when `partial`) and
    /// the trailer. Without this the file is not playable.
    pub fn finish(mut self, partial: bool) -> Result<u64, VideoError> {
        self.encoder
            .send_eof()
            .map_err(|e| self.err(e.to_string()))?;
        self.write_packets()?;
        let end = if partial {
            let last = self.sent_pts.iter().next_back().copied();
            Some(last.map_or(0.0, |p| {
                (p + self.default_duration) as f64 * f64::from(self.time_base)
            }))
        } else {
            None
        };
        self.write_audio_until(end)?;
        self.flush_audio()?;
        self.output
            .write_trailer()
            .map_err(|e| self.err(e.to_string()))?;
        Ok(self.frames)
    }
}

/// libx264 in yuv420p at the format's size (odd sizes rounded up), tagged with its colours.
fn open_video_encoder(
    output: &mut ff::format::context::Output,
    format: &VideoFormat,
    options: &EncodeOptions,
) -> Result<(ff::encoder::Video, usize), String> {
    let global_header = output
        .format()
        .flags()
        .contains(ff::format::Flags::GLOBAL_HEADER);
    let codec = ff::encoder::find_by_name("libx264").ok_or("this FFmpeg has no libx264 encoder")?;
    let mut encoder = ff::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| e.to_string())?;
    // 4:2:0 needs even sizes: odd frames get their last column/row repeated.
    encoder.set_width(format.width + format.width % 2);
    encoder.set_height(format.height + format.height % 2);
    encoder.set_format(Pixel::YUV420P);
    encoder.set_time_base(format.time_base);
    encoder.set_frame_rate(format.frame_rate);
    let (space, range) = format.colors.tags();
    encoder.set_colorspace(space);
    encoder.set_color_range(range);
    // SAFETY: plain enum fields of the codec context this encoder owns, set before it is opened.
    unsafe {
        let ctx = encoder.as_mut_ptr();
        (*ctx).color_primaries = format.primaries.into();
        (*ctx).color_trc = format.transfer.into();
    }
    if global_header {
        encoder.set_flags(ff::codec::Flags::GLOBAL_HEADER);
    }
    let mut dict = ff::Dictionary::new();
    dict.set("crf", &options.crf.to_string());
    dict.set("preset", &options.preset);
    let encoder = encoder.open_with(dict).map_err(|e| {
        format!(
            "cannot open libx264 (crf {}, preset {}): {e}",
            options.crf, options.preset
        )
    })?;
    let mut stream = output.add_stream(codec).map_err(|e| e.to_string())?;
    stream.set_parameters(&encoder);
    stream.set_time_base(format.time_base);
    Ok((encoder, stream.index()))
}

impl AudioCopy {
    /// The next audio packet that starts before `until` seconds (any, for `None`), with its route.
    fn next_before(&mut self, until: Option<f64>) -> Option<(ff::Packet, &mut AudioRoute)> {
        while self.pending.is_none() && !self.exhausted {
            match super::read_packet(&mut self.input) {
                // Streams that appear after opening (MPEG-TS) have no route: skipped.
                Ok(Some(packet)) if self.map.get(packet.stream()).is_some_and(Option::is_some) => {
                    self.pending = Some(packet);
                }
                Ok(Some(_)) => {}
                // A damaged end of the audio: what was read is kept.
                Ok(None) | Err(_) => self.exhausted = true,
            }
        }
        let packet = self.pending.as_ref()?;
        let in_tb = match self.map.get(packet.stream())?.as_ref()? {
            AudioRoute::Copy(c) => c.in_tb,
            AudioRoute::Aac(t) => t.in_tb,
        };
        let start = packet
            .dts()
            .or(packet.pts())
            .map_or(0.0, |t| t as f64 * f64::from(in_tb));
        if until.is_some_and(|u| start > u) {
            return None;
        }
        let packet = self.pending.take()?;
        let route = self.map.get_mut(packet.stream())?.as_mut()?;
        Some((packet, route))
    }
}

/// An audio stream the demuxer knows too little about to carry (no channels or rate yet: a stream
/// found at the end of an MPEG-TS while probing).
fn incomplete_audio(params: &ff::codec::Parameters) -> bool {
    // SAFETY: reading plain fields of parameters owned by the open input.
    let (channels, rate) = unsafe {
        let p = params.as_ptr();
        ((*p).ch_layout.nb_channels, (*p).sample_rate)
    };
    channels <= 0 || rate <= 0
}

/// How one audio stream reaches `output`.
fn audio_route(
    output: &mut ff::format::context::Output,
    stream: &ff::format::stream::Stream,
) -> Result<AudioRoute, String> {
    let params = stream.parameters();
    let id = params.id();
    let global_header = output
        .format()
        .flags()
        .contains(ff::format::Flags::GLOBAL_HEADER);
    let mp4_like = ["mp4", "mov"]
        .iter()
        .any(|n| output.format().name().split(',').any(|f| f == *n));
    // SAFETY: the output format pointer is valid for the output's lifetime.
    let storable = unsafe {
        ff::ffi::avformat_query_codec(
            output.format().as_ptr(),
            id.into(),
            ff::ffi::FF_COMPLIANCE_NORMAL,
        )
    } == 1;
    if !(storable && (!mp4_like || MP4_AUDIO.contains(&id))) {
        tracing::info!(
            "audio stream {} ({id:?}) is re-encoded to AAC for this container",
            stream.index()
        );
        let aac = AacTranscoder::new(output, stream, global_header)?;
        return Ok(AudioRoute::Aac(Box::new(aac)));
    }
    let mut out = output
        .add_stream(ff::encoder::find(ff::codec::Id::None))
        .map_err(|e| e.to_string())?;
    out.set_parameters(params);
    // SAFETY: resetting the tag lets the muxer choose the right one for its container.
    unsafe {
        (*out.parameters().as_mut_ptr()).codec_tag = 0;
    }
    Ok(AudioRoute::Copy(CopiedStream {
        out_index: out.index(),
        in_tb: stream.time_base(),
        last_dts: None,
        dropped: 0,
    }))
}

fn add_audio_streams(
    output: &mut ff::format::context::Output,
    source: &Path,
) -> Result<AudioCopy, String> {
    let input = ff::format::input(&source)
        .map_err(|e| format!("reopening {} for audio: {e}", source.display()))?;
    let mut map: Vec<Option<AudioRoute>> = (0..input.nb_streams()).map(|_| None).collect();
    for stream in input.streams() {
        let params = stream.parameters();
        if params.medium() != ff::media::Type::Audio {
            continue;
        }
        if incomplete_audio(&params) {
            tracing::warn!(
                "audio stream {} has no channel layout or sample rate yet: left out",
                stream.index()
            );
            continue;
        }
        map[stream.index()] = Some(audio_route(output, &stream)?);
    }
    Ok(AudioCopy {
        input,
        map,
        pending: None,
        exhausted: false,
    })
}
