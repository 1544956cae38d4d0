//! The source's audio in an export: each stream copied packet for packet where the container can
//! hold its codec, else decoded and re-encoded to AAC; packets are handed out by time so the video
//! writer interleaves them with its frames.

use std::path::{Path, PathBuf};

use ffmpeg_next as ff;

/// Why the audio could not be carried into the output.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot reopen {path} for its audio")]
    Reopen {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("this FFmpeg has no AAC encoder")]
    NoAac,
    /// An FFmpeg call failed while doing what the text says.
    #[error("{0}")]
    Ffmpeg(&'static str, #[source] ff::Error),
}

/// Maps an FFmpeg error to what was being done.
fn ffmpeg(doing: &'static str) -> impl Fn(ff::Error) -> AudioError {
    move |e| AudioError::Ffmpeg(doing, e)
}

/// Where audio packets come from.
enum PacketSource {
    /// The source file, opened a second time (a file can be).
    File {
        /// Keeps a file FFmpeg reads through `/proc/self/fd` open.
        _name: super::FfmpegPath,
        input: ff::format::context::Input,
    },
    /// A stream's own connection: the video reader hands its audio packets on, timed from the
    /// recording's start.
    Stream(crossbeam_channel::Receiver<ff::Packet>),
}

/// An audio stream of a source: what the output needs to carry it.
pub struct AudioStreamInfo {
    pub index: usize,
    pub parameters: ff::codec::Parameters,
    pub time_base: ff::Rational,
}

/// A stream's audio, handed on by its [`super::VideoReader`] (one connection for both).
pub struct StreamAudio {
    pub(super) streams: Vec<AudioStreamInfo>,
    pub(super) packets: crossbeam_channel::Receiver<ff::Packet>,
}

/// Audio packets of a stream waiting for the muxer (about 40 s of AAC).
pub(super) const AUDIO_QUEUE: usize = 2048;

/// A stream's audio packets on their way to an export's muxer.
pub(super) struct AudioTap {
    pub(super) tx: crossbeam_channel::Sender<ff::Packet>,
    /// Tapped streams and their time bases.
    pub(super) time_bases: Vec<(usize, ff::Rational)>,
    /// Packets read before the first frame fixed the recording's start.
    pub(super) held: Vec<ff::Packet>,
    pub(super) dropped: u64,
}

impl AudioTap {
    /// Hands `packet` on with its time counted from the recording's start (`start_s` in the
    /// stream's clock); audio from before the first frame is left out.
    pub(super) fn send(&mut self, mut packet: ff::Packet, start_s: f64) {
        let Some(tb) = self
            .time_bases
            .iter()
            .find(|(i, _)| *i == packet.stream())
            .and_then(|(_, tb)| super::rational_f64(*tb))
        else {
            return;
        };
        let offset = (start_s / tb).round() as i64;
        let (pts, dts) = (
            packet.pts().map(|t| t - offset),
            packet.dts().map(|t| t - offset),
        );
        if pts.or(dts).is_none_or(|t| t < 0) {
            return;
        }
        packet.set_pts(pts);
        packet.set_dts(dts);
        if self.tx.try_send(packet).is_err() {
            if self.dropped == 0 {
                tracing::warn!("the recording's audio is falling behind: audio packets left out");
            }
            self.dropped += 1;
        }
    }
}

/// Carries the audio of a source file into the output, interleaved with the video by time.
pub(super) struct AudioCopy {
    source: PacketSource,
    /// Per input stream: how its packets reach the output, if it is audio.
    pub(super) map: Vec<Option<AudioRoute>>,
    pending: Option<ff::Packet>,
    exhausted: bool,
}

pub(super) enum AudioRoute {
    /// Packets copied unchanged.
    Copy(CopiedStream),
    /// Decoded and re-encoded to AAC (the container cannot hold the original codec).
    Aac(Box<AacTranscoder>),
}

/// An audio stream copied packet for packet.
pub(super) struct CopiedStream {
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
    pub(super) fn copy(
        &mut self,
        mut packet: ff::Packet,
        output: &mut ff::format::context::Output,
    ) -> Result<(), AudioError> {
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
            .map_err(ffmpeg("writing audio"))
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
pub(super) struct AacTranscoder {
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
        stream: &AudioStreamInfo,
        global_header: bool,
    ) -> Result<Self, AudioError> {
        let ctx = ff::codec::context::Context::from_parameters(stream.parameters.clone())
            .map_err(ffmpeg("reading the audio's parameters"))?;
        let decoder = ctx
            .decoder()
            .audio()
            .map_err(ffmpeg("opening the audio decoder"))?;
        let codec = ff::encoder::find(ff::codec::Id::AAC).ok_or(AudioError::NoAac)?;
        let channels = decoder.channels().clamp(1, 8) as i32;
        let layout = match decoder.channel_layout() {
            l if l.channels() == channels => l,
            _ => ff::ChannelLayout::default(channels),
        };
        let rate = decoder.rate().max(8000);
        let mut out = output
            .add_stream(codec)
            .map_err(ffmpeg("adding the AAC stream"))?;
        let out_index = out.index();
        let mut encoder = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .audio()
            .map_err(ffmpeg("creating the AAC encoder"))?;
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
            .map_err(ffmpeg("opening the AAC encoder"))?;
        out.set_parameters(&encoder);
        out.set_time_base((1, rate as i32));
        let frame_size = (encoder.frame_size() as usize).max(1);
        Ok(Self {
            decoder,
            resampler: None,
            encoder,
            out_index,
            in_tb: stream.time_base,
            layout,
            rate,
            frame_size,
            fifo: vec![Vec::new(); channels as usize],
            next_pts: 0,
        })
    }

    /// Feeds one packet (or the end, for `None`) and writes every AAC packet that results.
    pub(super) fn feed(
        &mut self,
        packet: Option<&ff::Packet>,
        output: &mut ff::format::context::Output,
    ) -> Result<(), AudioError> {
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
                    .map_err(ffmpeg("creating the audio resampler"))?,
                );
            }
            let mut converted = ff::frame::Audio::empty();
            if let Some(r) = self.resampler.as_mut() {
                r.run(&decoded, &mut converted)
                    .map_err(ffmpeg("resampling audio"))?;
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
    ) -> Result<(), AudioError> {
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
                .map_err(ffmpeg("encoding AAC"))?;
            self.write_packets(output)?;
        }
        Ok(())
    }

    fn write_packets(
        &mut self,
        output: &mut ff::format::context::Output,
    ) -> Result<(), AudioError> {
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
                .map_err(ffmpeg("writing audio"))?;
        }
        Ok(())
    }
}

impl AudioCopy {
    /// The next audio packet that starts before `until` seconds (any, for `None`), with its route.
    pub(super) fn next_before(
        &mut self,
        until: Option<f64>,
    ) -> Option<(ff::Packet, &mut AudioRoute)> {
        while self.pending.is_none() && !self.exhausted {
            let read = match &mut self.source {
                PacketSource::File { input, .. } => super::read_packet(input),
                // What the reader has handed on so far: the rest comes with later frames.
                PacketSource::Stream(packets) => match packets.try_recv() {
                    Ok(p) => Ok(Some(p)),
                    Err(crossbeam_channel::TryRecvError::Empty) => return None,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => Ok(None),
                },
            };
            match read {
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
    stream: &AudioStreamInfo,
) -> Result<AudioRoute, AudioError> {
    let params = stream.parameters.clone();
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
            stream.index
        );
        let aac = AacTranscoder::new(output, stream, global_header)?;
        return Ok(AudioRoute::Aac(Box::new(aac)));
    }
    let mut out = output
        .add_stream(ff::encoder::find(ff::codec::Id::None))
        .map_err(ffmpeg("adding an audio stream"))?;
    out.set_parameters(params);
    // SAFETY: resetting the tag lets the muxer choose the right one for its container.
    unsafe {
        (*out.parameters().as_mut_ptr()).codec_tag = 0;
    }
    Ok(AudioRoute::Copy(CopiedStream {
        out_index: out.index(),
        in_tb: stream.time_base,
        last_dts: None,
        dropped: 0,
    }))
}

pub(super) fn add_audio_streams(
    output: &mut ff::format::context::Output,
    source: &Path,
) -> Result<AudioCopy, AudioError> {
    let name = super::FfmpegPath::for_reading(source).map_err(|e| AudioError::Reopen {
        path: source.to_path_buf(),
        source: e.into(),
    })?;
    let input = ff::format::input(&name.name).map_err(|e| AudioError::Reopen {
        path: source.to_path_buf(),
        source: e.into(),
    })?;
    let streams = audio_streams(&input);
    let count = input.nb_streams() as usize;
    routes(
        output,
        &streams,
        count,
        PacketSource::File { _name: name, input },
    )
}

/// The audio streams of `input` that can be carried (parameters complete).
pub(super) fn audio_streams(input: &ff::format::context::Input) -> Vec<AudioStreamInfo> {
    input
        .streams()
        .filter(|s| s.parameters().medium() == ff::media::Type::Audio)
        .filter(|s| {
            let complete = !incomplete_audio(&s.parameters());
            if !complete {
                tracing::warn!(
                    "audio stream {} has no channel layout or sample rate yet: left out",
                    s.index()
                );
            }
            complete
        })
        .map(|s| AudioStreamInfo {
            index: s.index(),
            parameters: s.parameters(),
            time_base: s.time_base(),
        })
        .collect()
}

/// A stream's audio, from its reader.
pub(super) fn add_stream_audio(
    output: &mut ff::format::context::Output,
    audio: StreamAudio,
) -> Result<AudioCopy, AudioError> {
    let count = audio.streams.iter().map(|s| s.index + 1).max().unwrap_or(0);
    routes(
        output,
        &audio.streams,
        count,
        PacketSource::Stream(audio.packets),
    )
}

fn routes(
    output: &mut ff::format::context::Output,
    streams: &[AudioStreamInfo],
    count: usize,
    source: PacketSource,
) -> Result<AudioCopy, AudioError> {
    let mut map: Vec<Option<AudioRoute>> = (0..count).map(|_| None).collect();
    for stream in streams {
        map[stream.index] = Some(audio_route(output, stream)?);
    }
    Ok(AudioCopy {
        source,
        map,
        pending: None,
        exhausted: false,
    })
}
