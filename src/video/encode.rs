//! Encoding: upright RGB frames → H.264 (libx264, yuv420p) in any container FFmpeg writes, with the
//! source's audio streams copied packet for packet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use super::audio::StreamAudio;
use super::audio::{add_audio_streams, add_stream_audio, AudioCopy, AudioError, AudioRoute};

/// Where an annotated video's audio comes from.
pub enum AudioInput<'a> {
    None,
    /// The source file (opened again for its audio).
    File(&'a Path),
    /// A stream's audio packets, from the one connection its reader holds.
    Stream(StreamAudio),
}
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

/// The containers posecam writes, by extension, with FFmpeg's muxer for each: those that hold H.264
/// with exact per-frame timestamps (AVI, FLV and the like declare a fixed rate and frame count that
/// a variable-rate or cut-short export would contradict).
const CONTAINERS: &[(&str, &str)] = &[
    ("mp4", "mp4"),
    ("m4v", "mp4"),
    ("mov", "mov"),
    ("mkv", "matroska"),
];

/// `path`'s extension names a container posecam writes; FFmpeg's muxer for it. Checked before any
/// work.
pub fn check_container(path: &Path) -> Result<&'static str, VideoError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if let Some((_, muxer)) = CONTAINERS.iter().find(|(e, _)| *e == ext) {
        return Ok(muxer);
    }
    let known = [
        "avi", "flv", "gif", "webm", "ts", "mpg", "mpeg", "wmv", "ogv", "3gp",
    ];
    Err(VideoError::Container {
        path: path.to_path_buf(),
        reason: if known.contains(&ext.as_str()) {
            "this container cannot hold H.264 video with exact timestamps: use .mp4, .mkv or .mov"
        } else {
            "unknown video container: name it .mp4, .mkv or .mov"
        },
    })
}

/// Why a video could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("this FFmpeg has no libx264 encoder")]
    NoX264,
    #[error("cannot open libx264 (crf {crf}, preset {preset})")]
    OpenX264 {
        crf: u8,
        preset: String,
        source: ff::Error,
    },
    #[error(
        "frame {width}x{height} does not match the video's {expected_width}x{expected_height}"
    )]
    FrameSize {
        width: usize,
        height: usize,
        expected_width: u32,
        expected_height: u32,
    },
    #[error("audio")]
    Audio(#[from] AudioError),
    /// An FFmpeg call failed while doing what the text says.
    #[error("{0}")]
    Ffmpeg(String, #[source] ff::Error),
}

/// Maps an FFmpeg error to what was being done.
fn ffmpeg(doing: impl Into<String>) -> impl FnOnce(ff::Error) -> EncodeError {
    move |e| EncodeError::Ffmpeg(doing.into(), e)
}

/// Writes an annotated video.
pub struct VideoWriter {
    path: PathBuf,
    /// Keeps a file FFmpeg writes through `/proc/self/fd` open.
    _name: super::FfmpegPath,
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
    /// audio stream of `audio_source`. Errors name the file `shown` (the target of a staged output).
    pub fn create(
        path: &Path,
        shown: &Path,
        format: &VideoFormat,
        audio_source: Option<&Path>,
        options: &EncodeOptions,
    ) -> Result<Self, VideoError> {
        let audio = audio_source.map_or(AudioInput::None, AudioInput::File);
        Self::create_with(path, shown, format, audio, options)
    }

    /// [`VideoWriter::create`] with the audio of a file, of a stream's reader, or none.
    pub fn create_with(
        path: &Path,
        shown: &Path,
        format: &VideoFormat,
        audio_input: AudioInput<'_>,
        options: &EncodeOptions,
    ) -> Result<Self, VideoError> {
        init();
        let err = |source: EncodeError| VideoError::Write {
            path: shown.to_path_buf(),
            source,
        };
        let muxer = check_container(shown)?;
        let name = super::FfmpegPath::for_writing(path).map_err(|e| VideoError::Create {
            path: shown.to_path_buf(),
            source: e,
        })?;
        let mut output = ff::format::output_as(&name.name, muxer)
            .map_err(ffmpeg("creating the file"))
            .map_err(err)?;
        let (encoder, video_index) =
            open_video_encoder(&mut output, format, options).map_err(err)?;
        let audio = match audio_input {
            AudioInput::File(src) => Some(add_audio_streams(&mut output, src)),
            AudioInput::Stream(audio) => Some(add_stream_audio(&mut output, audio)),
            AudioInput::None => None,
        }
        .transpose()
        .map_err(EncodeError::from)
        .map_err(err)?;
        output
            .write_header()
            .map_err(ffmpeg("writing the header"))
            .map_err(err)?;
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
            path: shown.to_path_buf(),
            _name: name,
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

    fn err(&self, source: impl Into<EncodeError>) -> VideoError {
        VideoError::Write {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Encodes one frame shown at `pts` (in the writer's time base).
    pub fn write(&mut self, picture: &Yuv420Image, pts: i64) -> Result<(), VideoError> {
        if (picture.width, picture.height) != (self.width as usize, self.height as usize) {
            return Err(self.err(EncodeError::FrameSize {
                width: picture.width,
                height: picture.height,
                expected_width: self.width,
                expected_height: self.height,
            }));
        }
        self.copy_planes(picture);
        self.yuv.set_pts(Some(pts));
        self.sent_pts.insert(pts);
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| self.err(ffmpeg(format!("encoding frame {}", self.frames))(e)))?;
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
                .map_err(|e| self.err(ffmpeg("writing a video packet")(e)))?;
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
            result.map_err(|e| VideoError::Write {
                path: self.path.clone(),
                source: e.into(),
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
                        .map_err(|e| VideoError::Write {
                            path: self.path.clone(),
                            source: e.into(),
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
            .map_err(|e| self.err(ffmpeg("flushing the encoder")(e)))?;
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
            .map_err(|e| self.err(ffmpeg("writing the trailer")(e)))?;
        Ok(self.frames)
    }
}

/// libx264 in yuv420p at the format's size (odd sizes rounded up), tagged with its colours.
fn open_video_encoder(
    output: &mut ff::format::context::Output,
    format: &VideoFormat,
    options: &EncodeOptions,
) -> Result<(ff::encoder::Video, usize), EncodeError> {
    let global_header = output
        .format()
        .flags()
        .contains(ff::format::Flags::GLOBAL_HEADER);
    let codec = ff::encoder::find_by_name("libx264").ok_or(EncodeError::NoX264)?;
    let mut encoder = ff::codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(ffmpeg("creating the video encoder"))?;
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
    let encoder = encoder.open_with(dict).map_err(|e| EncodeError::OpenX264 {
        crf: options.crf,
        preset: options.preset.clone(),
        source: e,
    })?;
    let mut stream = output
        .add_stream(codec)
        .map_err(ffmpeg("adding the video stream"))?;
    stream.set_parameters(&encoder);
    stream.set_time_base(format.time_base);
    Ok((encoder, stream.index()))
}
