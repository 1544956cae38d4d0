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

/// Copies the audio of a source file into the output, interleaved with the video by time.
struct AudioCopy {
    input: ff::format::context::Input,
    /// Per input stream: (output stream index, input time base) for copied audio streams.
    map: Vec<Option<(usize, ff::Rational)>>,
    pending: Option<ff::Packet>,
    exhausted: bool,
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

impl VideoWriter {
    /// Creates `path` (the container is chosen by its extension) for `width × height` frames whose
    /// timestamps are in `time_base`; copies every audio stream of `audio_source`.
    pub fn create(
        path: &Path,
        (width, height): (u32, u32),
        time_base: ff::Rational,
        frame_rate: Option<ff::Rational>,
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
        let global_header = output
            .format()
            .flags()
            .contains(ff::format::Flags::GLOBAL_HEADER);
        let codec = ff::encoder::find_by_name("libx264")
            .ok_or_else(|| err("this FFmpeg has no libx264 encoder".into()))?;
        // 4:2:0 needs even sizes: odd frames get their last column/row repeated.
        let (ew, eh) = (width + width % 2, height + height % 2);
        let mut encoder = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| err(e.to_string()))?;
        encoder.set_width(ew);
        encoder.set_height(eh);
        encoder.set_format(Pixel::YUV420P);
        encoder.set_time_base(time_base);
        encoder.set_frame_rate(frame_rate);
        if global_header {
            encoder.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let mut dict = ff::Dictionary::new();
        dict.set("crf", &options.crf.to_string());
        dict.set("preset", &options.preset);
        let encoder = encoder.open_with(dict).map_err(|e| {
            err(format!(
                "cannot open libx264 (crf {}, preset {}): {e}",
                options.crf, options.preset
            ))
        })?;
        let video_index = {
            let mut stream = output.add_stream(codec).map_err(|e| err(e.to_string()))?;
            stream.set_parameters(&encoder);
            stream.set_time_base(time_base);
            stream.index()
        };

        let audio = match audio_source {
            Some(src) => Some(add_audio_streams(&mut output, src).map_err(err)?),
            None => None,
        };
        output.write_header().map_err(|e| err(e.to_string()))?;

        let default_duration = frame_rate
            .and_then(|r| {
                let ticks = (r.denominator() as f64 * time_base.denominator() as f64)
                    / (r.numerator() as f64 * time_base.numerator() as f64);
                ticks.is_finite().then_some(ticks.round() as i64)
            })
            .filter(|d| *d > 0)
            .unwrap_or(1);
        Ok(Self {
            path: path.to_path_buf(),
            output,
            encoder,
            video_index,
            time_base,
            width,
            height,
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
        loop {
            if audio.pending.is_none() && !audio.exhausted {
                match audio.input.packets().next() {
                    Some((stream, packet)) if audio.map[stream.index()].is_some() => {
                        audio.pending = Some(packet);
                    }
                    Some(_) => continue,
                    None => audio.exhausted = true,
                }
            }
            let Some(packet) = audio.pending.as_ref() else {
                return Ok(());
            };
            let (out_index, in_tb) =
                audio.map[packet.stream()].expect("only mapped streams are pending");
            let start = packet
                .dts()
                .or(packet.pts())
                .map_or(0.0, |t| t as f64 * f64::from(in_tb));
            if until.is_some_and(|u| start > u) {
                return Ok(());
            }
            let mut packet = audio.pending.take().expect("checked above");
            let out_tb = self
                .output
                .stream(out_index)
                .map(|s| s.time_base())
                .unwrap_or(in_tb);
            packet.set_stream(out_index);
            packet.set_position(-1);
            packet.rescale_ts(in_tb, out_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| VideoError::Write {
                    path: self.path.clone(),
                    reason: format!("audio: {e}"),
                })?;
        }
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
        self.output
            .write_trailer()
            .map_err(|e| self.err(e.to_string()))?;
        Ok(self.frames)
    }
}

fn add_audio_streams(
    output: &mut ff::format::context::Output,
    source: &Path,
) -> Result<AudioCopy, String> {
    let input = ff::format::input(&source)
        .map_err(|e| format!("reopening {} for audio: {e}", source.display()))?;
    let mut map = vec![None; input.nb_streams() as usize];
    for stream in input.streams() {
        let params = stream.parameters();
        if params.medium() != ff::media::Type::Audio {
            continue;
        }
        let id = params.id();
        // SAFETY: the output format pointer is valid for the output's lifetime.
        let storable = unsafe {
            ff::ffi::avformat_query_codec(
                output.format().as_ptr(),
                id.into(),
                ff::ffi::FF_COMPLIANCE_NORMAL,
            )
        };
        if storable != 1 {
            return Err(format!(
                "audio stream {} ({:?}) cannot be stored in this container; use .mkv for the output",
                stream.index(),
                id
            ));
        }
        let mut out = output
            .add_stream(ff::encoder::find(ff::codec::Id::None))
            .map_err(|e| e.to_string())?;
        out.set_parameters(params);
        // SAFETY: resetting the tag lets the muxer choose the right one for its container.
        unsafe {
            (*out.parameters().as_mut_ptr()).codec_tag = 0;
        }
        map[stream.index()] = Some((out.index(), stream.time_base()));
    }
    Ok(AudioCopy {
        input,
        map,
        pending: None,
        exhausted: false,
    })
}
