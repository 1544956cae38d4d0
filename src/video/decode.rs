//! Decoding: packets → frames (multi-threaded decoder) → upright RGB images.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;
use image::RgbImage;

use super::{init, rational_f64, VideoError, VideoInfo, Yuv420Image};

/// One decoded frame, upright, with its place in the stream.
#[derive(Debug, Clone)]
pub struct DecodedFrame {
    /// 0-based position in decoding output order (= display order).
    pub index: u64,
    /// Presentation timestamp in the stream's time base (synthesised when the file has none).
    pub pts: i64,
    /// Presentation time in seconds from the stream start.
    pub time_s: f64,
    /// The full picture, as the encoder wants it.
    pub picture: Yuv420Image,
    /// The picture scaled to the network's input size, when [`VideoReader::set_net_size`] asked for it.
    pub net_rgb: Option<RgbImage>,
    /// The full picture in RGB, when [`VideoReader::set_rgb_output`] asked for it (for display).
    pub rgb: Option<RgbImage>,
}

/// Reads a video file frame by frame.
pub struct VideoReader {
    path: PathBuf,
    input: ff::format::context::Input,
    decoder: ff::decoder::Video,
    stream_index: usize,
    time_base: ff::Rational,
    start_pts: i64,
    info: VideoInfo,
    /// Converts decoder formats other than YUV 4:2:0 (same size).
    to_yuv: Option<(scaling::Context, Pixel, u32, u32)>,
    /// Scales YUV 4:2:0 to RGB at the network size (decoder orientation).
    to_net: Option<(scaling::Context, u32, u32, u32, u32)>,
    /// Upright network input size wanted with every frame.
    net_size: Option<(u32, u32)>,
    /// Full-size RGB wanted with every frame.
    rgb_output: bool,
    to_rgb: Option<(scaling::Context, u32, u32)>,
    /// After a seek, frame indices are estimates and the truncation check is off.
    seeked: bool,
    ready: VecDeque<DecodedFrame>,
    next_index: u64,
    last_pts: Option<i64>,
    frame_step: i64,
    eof_sent: bool,
    decoded: ff::frame::Video,
    yuv: ff::frame::Video,
    /// Output frames of the scalers; each keeps one size (FFmpeg allocates them once).
    rgb: ff::frame::Video,
    rgb_full: ff::frame::Video,
}

impl VideoReader {
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        init();
        if !path.exists() && !super::is_sequence_pattern(path) {
            return Err(VideoError::Missing(path.to_path_buf()));
        }
        let open_err = |e: ff::Error| VideoError::Open {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let input = ff::format::input(&path).map_err(open_err)?;
        let stream = input
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| VideoError::NoVideo(path.to_path_buf()))?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let codec_err = |e: ff::Error| VideoError::Codec {
            path: path.to_path_buf(),
            reason: e.to_string(),
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
        if w == 0 || h == 0 || w > 16384 || h > 16384 {
            return Err(VideoError::BadSize {
                path: path.to_path_buf(),
                width: w,
                height: h,
            });
        }
        let rotation = stream_rotation(&stream);
        let (width, height) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        let frame_rate =
            rational_f64(stream.avg_frame_rate()).or_else(|| rational_f64(stream.rate()));
        let duration_s = if stream.duration() > 0 {
            rational_f64(time_base).map(|tb| stream.duration() as f64 * tb)
        } else if input.duration() > 0 {
            Some(input.duration() as f64 / ff::ffi::AV_TIME_BASE as f64)
        } else {
            None
        };
        let frames = (stream.frames() > 0).then_some(stream.frames() as u64);
        let audio_streams = input
            .streams()
            .filter(|s| s.parameters().medium() == ff::media::Type::Audio)
            .count();
        let codec = decoder
            .codec()
            .map(|c| c.name().to_string())
            .unwrap_or_else(|| "unknown".into());
        let start_pts = if stream.start_time() != ff::ffi::AV_NOPTS_VALUE {
            stream.start_time()
        } else {
            0
        };
        // Step between synthesised timestamps when a file has none.
        let frame_step = match (frame_rate, rational_f64(time_base)) {
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
            info: VideoInfo {
                width,
                height,
                rotation,
                frame_rate,
                frames,
                duration_s,
                audio_streams,
                codec,
                time_base,
            },
            to_yuv: None,
            to_net: None,
            net_size: None,
            rgb_output: false,
            to_rgb: None,
            seeked: false,
            ready: VecDeque::new(),
            next_index: 0,
            last_pts: None,
            frame_step,
            eof_sent: false,
            decoded: ff::frame::Video::empty(),
            yuv: ff::frame::Video::empty(),
            rgb: ff::frame::Video::empty(),
            rgb_full: ff::frame::Video::empty(),
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn time_base(&self) -> ff::Rational {
        self.time_base
    }

    /// Also deliver each frame scaled to `size` (upright width, height) in RGB, for the network: one
    /// scale-and-convert of the small image instead of converting the full picture.
    pub fn set_net_size(&mut self, size: Option<(u32, u32)>) {
        self.net_size = size;
    }

    /// Also deliver each frame as full-size upright RGB (for display).
    pub fn set_rgb_output(&mut self, on: bool) {
        self.rgb_output = on;
    }

    /// Jumps to the first frame shown at or after `time_s` seconds (from the stream start).
    pub fn seek(&mut self, time_s: f64) -> Result<(), VideoError> {
        let target = (time_s.max(0.0) * ff::ffi::AV_TIME_BASE as f64) as i64;
        self.input
            .seek(target, ..target + 1)
            .map_err(|e| self.decode_error(format!("seek to {time_s:.2} s: {e}")))?;
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
                self.next_index = f.index;
                self.ready.push_front(f);
                break;
            }
        }
        Ok(())
    }

    /// The next frame, `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>, VideoError> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Ok(Some(f));
            }
            if self.eof_sent {
                // Containers that declare a frame count let a cut-off file be told from a short one.
                if let Some(declared) = self.info.frames.filter(|_| !self.seeked) {
                    if declared > self.next_index + declared / 50 {
                        return Err(self.decode_error(format!(
                            "file is truncated or damaged: only {} of its {declared} frames decode",
                            self.next_index
                        )));
                    }
                }
                return Ok(None);
            }
            let mut fed = false;
            let mut read_error = None;
            for (stream, packet) in self.input.packets() {
                if stream.index() != self.stream_index {
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
            if let (Some(e), true) = (read_error, self.ready.is_empty() && self.eof_sent) {
                return Err(self.decode_error(e.to_string()));
            }
        }
    }

    fn decode_error(&self, reason: String) -> VideoError {
        VideoError::Decode {
            path: self.path.clone(),
            frame: self.next_index,
            reason,
        }
    }

    fn drain(&mut self) -> Result<(), VideoError> {
        while self.decoder.receive_frame(&mut self.decoded).is_ok() {
            let pts = match self.decoded.timestamp() {
                Some(p) if self.last_pts.is_none_or(|last| p > last) => p,
                _ => self
                    .last_pts
                    .map_or(self.start_pts, |last| last + self.frame_step),
            };
            self.last_pts = Some(pts);
            let (picture, net_rgb, rgb) = self.convert()?;
            let time_s =
                rational_f64(self.time_base).map_or(0.0, |tb| (pts - self.start_pts) as f64 * tb);
            self.ready.push_back(DecodedFrame {
                index: self.next_index,
                pts,
                time_s,
                picture,
                net_rgb,
                rgb,
            });
            self.next_index += 1;
        }
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn convert(&mut self) -> Result<(Yuv420Image, Option<RgbImage>, Option<RgbImage>), VideoError> {
        let (fmt, w, h) = (
            self.decoded.format(),
            self.decoded.width(),
            self.decoded.height(),
        );
        let frame = self.next_index;
        let fail = |path: &Path, reason: String| VideoError::Decode {
            path: path.to_path_buf(),
            frame,
            reason,
        };
        let yuv: &ff::frame::Video = if fmt == Pixel::YUV420P {
            &self.decoded
        } else {
            if !matches!(&self.to_yuv, Some((_, f, sw, sh)) if *f == fmt && *sw == w && *sh == h) {
                let ctx = scaling::Context::get(
                    fmt,
                    w,
                    h,
                    Pixel::YUV420P,
                    w,
                    h,
                    scaling::Flags::BILINEAR,
                )
                .map_err(|e| fail(&self.path, format!("no conversion from {fmt:?}: {e}")))?;
                self.to_yuv = Some((ctx, fmt, w, h));
                self.yuv = ff::frame::Video::empty();
            }
            let (ctx, ..) = self.to_yuv.as_mut().expect("set above");
            ctx.run(&self.decoded, &mut self.yuv)
                .map_err(|e| fail(&self.path, e.to_string()))?;
            &self.yuv
        };
        let rotation = self.info.rotation;
        let mut picture = Yuv420Image::from_planes(
            w as usize,
            h as usize,
            [
                (yuv.data(0), yuv.stride(0)),
                (yuv.data(1), yuv.stride(1)),
                (yuv.data(2), yuv.stride(2)),
            ],
        );
        let net_rgb = match self.net_size {
            None => None,
            Some((nw, nh)) => {
                let (dw, dh) = if rotation % 180 == 90 {
                    (nh, nw)
                } else {
                    (nw, nh)
                };
                if !matches!(&self.to_net, Some((_, sw, sh, tw, th)) if (*sw, *sh, *tw, *th) == (w, h, dw, dh))
                {
                    // Bicubic, like the cv2.INTER_CUBIC resize the CMU models were run with.
                    let ctx = scaling::Context::get(
                        Pixel::YUV420P,
                        w,
                        h,
                        Pixel::RGB24,
                        dw,
                        dh,
                        scaling::Flags::BICUBIC,
                    )
                    .map_err(|e| fail(&self.path, e.to_string()))?;
                    self.to_net = Some((ctx, w, h, dw, dh));
                    self.rgb = ff::frame::Video::empty();
                }
                let (ctx, ..) = self.to_net.as_mut().expect("set above");
                ctx.run(yuv, &mut self.rgb)
                    .map_err(|e| fail(&self.path, e.to_string()))?;
                Some(upright_rgb(&self.rgb, rotation))
            }
        };
        let rgb = if self.rgb_output {
            if !matches!(&self.to_rgb, Some((_, sw, sh)) if (*sw, *sh) == (w, h)) {
                let ctx = scaling::Context::get(
                    Pixel::YUV420P,
                    w,
                    h,
                    Pixel::RGB24,
                    w,
                    h,
                    scaling::Flags::BILINEAR,
                )
                .map_err(|e| fail(&self.path, e.to_string()))?;
                self.to_rgb = Some((ctx, w, h));
                self.rgb_full = ff::frame::Video::empty();
            }
            let (ctx, ..) = self.to_rgb.as_mut().expect("set above");
            ctx.run(yuv, &mut self.rgb_full)
                .map_err(|e| fail(&self.path, e.to_string()))?;
            Some(upright_rgb(&self.rgb_full, rotation))
        } else {
            None
        };
        if rotation != 0 {
            picture = picture.rotated(rotation);
        }
        Ok((picture, net_rgb, rgb))
    }
}

/// Copies an RGB24 frame (rows padded to its stride) into an image, turned upright by `rotation`.
fn upright_rgb(frame: &ff::frame::Video, rotation: u32) -> RgbImage {
    let (w, h) = (frame.width(), frame.height());
    let (stride, data, row) = (frame.stride(0), frame.data(0), w as usize * 3);
    let mut buf = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        buf.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    let image = RgbImage::from_raw(w, h, buf).expect("sized from the frame");
    match rotation {
        90 => image::imageops::rotate90(&image),
        180 => image::imageops::rotate180(&image),
        270 => image::imageops::rotate270(&image),
        _ => image,
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
