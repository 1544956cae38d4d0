//! The threaded pipeline: decode → inference → association → overlay + encode, each stage on its own
//! named thread, joined by bounded channels.
//!
//! Export mode applies back-pressure and loses nothing: every decoded frame comes out, in order, with its
//! timestamp. Decoding and encoding overlap with inference, so the network sets the pace. Cancelling
//! stops the decoder; the frames already decoded still flow through and the output is finalised.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use serde::Serialize;

use crate::infer::{Engine, EngineError, NetConfig};
use crate::output::{OpenPoseFrame, OpenPosePerson};
use crate::pose::{Associator, Person, PoseMaps, Skeleton, Thresholds};
use crate::render::{draw_people, draw_text, OverlayStyle, YuvCanvas};
use crate::video::{DecodedFrame, EncodeOptions, VideoError, VideoInfo, VideoReader, VideoWriter};

/// Frames waiting between two stages; small, so memory stays bounded and latency low.
const QUEUE_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{path}: {reason}")]
    Output { path: PathBuf, reason: String },
    #[error("pipeline stage '{0}' stopped unexpectedly")]
    StageLost(&'static str),
}

/// Per-stage timing: how long the stage worked on frames and how long it waited for input/output.
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    pub name: &'static str,
    pub frames: u64,
    /// Milliseconds of work per frame.
    #[serde(skip)]
    pub busy_ms: Vec<f32>,
    pub busy_ms_mean: f64,
    pub busy_ms_p50: f64,
    pub busy_ms_p95: f64,
    /// Total seconds blocked waiting for input.
    pub wait_input_s: f64,
    /// Total seconds blocked because the next stage was full.
    pub wait_output_s: f64,
}

impl StageStats {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            frames: 0,
            busy_ms: Vec::new(),
            busy_ms_mean: 0.0,
            busy_ms_p50: 0.0,
            busy_ms_p95: 0.0,
            wait_input_s: 0.0,
            wait_output_s: 0.0,
        }
    }

    fn finish(mut self) -> Self {
        let mut v = self.busy_ms.clone();
        v.sort_by(f32::total_cmp);
        if !v.is_empty() {
            self.busy_ms_mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            self.busy_ms_p50 = v[v.len() / 2] as f64;
            self.busy_ms_p95 = v[((v.len() as f64 * 0.95) as usize).min(v.len() - 1)] as f64;
        }
        self
    }

    /// Receives the next item, counting the wait.
    fn recv<T>(&mut self, rx: &Receiver<T>) -> Option<T> {
        let t = Instant::now();
        let item = rx.recv().ok();
        self.wait_input_s += t.elapsed().as_secs_f64();
        item
    }

    /// Sends downstream, counting back-pressure; false when downstream is gone.
    fn send<T>(&mut self, tx: &Sender<T>, item: T) -> bool {
        let t = Instant::now();
        let ok = tx.send(item).is_ok();
        self.wait_output_s += t.elapsed().as_secs_f64();
        ok
    }

    fn busy(&mut self, since: Instant) {
        self.busy_ms.push(since.elapsed().as_secs_f32() * 1e3);
        self.frames += 1;
    }
}

/// What an export does besides the video.
#[derive(Debug, Clone, Default)]
pub struct ExportOutputs {
    /// One JSON line per frame (`frame`, `time`, `people`).
    pub jsonl: Option<PathBuf>,
    /// OpenPose's per-frame files `<stem>_<12-digit frame>_keypoints.json`.
    pub json_dir: Option<PathBuf>,
    pub json_stem: String,
}

/// Settings of one export.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub net: NetConfig,
    pub thresholds: Thresholds,
    pub style: OverlayStyle,
    pub encode: EncodeOptions,
    /// Print the processing rate (frames per second so far) in the top-left corner.
    pub fps_overlay: bool,
}

/// Progress reported while exporting.
#[derive(Debug, Clone, Copy)]
pub struct ExportProgress {
    pub frames_done: u64,
    pub frames_total: Option<u64>,
    pub people: usize,
}

/// The outcome of an export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub frames: u64,
    /// Stopped early (cancelled): the output holds the frames done so far.
    pub partial: bool,
    pub elapsed_s: f64,
    pub fps: f64,
    pub people_per_frame: f64,
    pub stages: Vec<StageStats>,
}

struct Inferred {
    frame: DecodedFrame,
    maps: PoseMaps,
}

struct Associated {
    frame: DecodedFrame,
    people: Vec<Person>,
}

/// Exports `input` to the video at `video_out` (written directly: the caller handles temporary files)
/// and the keypoint files in `outputs`. `cancel` stops decoding; the frames already decoded are kept.
///
/// Each engine runs as its own inference worker on the next free frame; results are put back in order
/// before association. On CPUs, two single-threaded sessions on two frames outrun one two-threaded
/// session (ONNX Runtime's intra-op scaling is well below linear on small convolutions).
pub fn export(
    input: &Path,
    video_out: &Path,
    outputs: &ExportOutputs,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PipelineError> {
    let start = Instant::now();
    // FFmpeg's scaler contexts are not Send: the reader and the writer are created on the threads that
    // use them; this probe only reads the stream parameters.
    let info = VideoReader::open(input)?.info().clone();
    let frame_rate = info
        .frame_rate
        .map(ffmpeg_next::Rational::from)
        .filter(|r| r.numerator() > 0);
    let jsonl = match &outputs.jsonl {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| PipelineError::Output {
                path: p.clone(),
                reason: e.to_string(),
            },
        )?)),
        None => None,
    };

    // A failing stage raises `abort` so the others stop instead of waiting forever.
    let abort = Arc::new(AtomicBool::new(false));
    let (tx_decoded, rx_decoded) = bounded::<DecodedFrame>(QUEUE_DEPTH);
    let (tx_inferred, rx_inferred) = bounded::<Inferred>(QUEUE_DEPTH);
    let (tx_people, rx_people) = bounded::<Associated>(QUEUE_DEPTH);
    let (tx_progress, rx_progress) = bounded::<ExportProgress>(64);
    let (tx_ready, rx_ready) = bounded::<Result<(), PipelineError>>(1);
    let Some(first) = engines.first() else {
        return Err(PipelineError::StageLost("infer"));
    };
    let skeleton = first.skeleton();

    let encode = spawn("encode", {
        let (style, abort, outputs, fps_overlay) = (
            settings.style,
            abort.clone(),
            outputs.clone(),
            settings.fps_overlay,
        );
        let cancel = cancel.clone();
        let (video_out, input, encode) = (
            video_out.to_path_buf(),
            input.to_path_buf(),
            settings.encode.clone(),
        );
        let (size, time_base, frames_total, audio) = (
            (info.width, info.height),
            info.time_base,
            info.frames,
            info.audio_streams > 0,
        );
        move || {
            let writer = VideoWriter::create(
                &video_out,
                size,
                time_base,
                frame_rate,
                audio.then_some(input.as_path()),
                &encode,
            );
            let writer = match writer {
                Ok(w) => {
                    let _ = tx_ready.send(Ok(()));
                    w
                }
                Err(e) => {
                    let _ = tx_ready.send(Err(e.into()));
                    return Err(PipelineError::StageLost("encode"));
                }
            };
            encode_stage(EncodeStage {
                skeleton,
                style,
                fps_overlay,
                writer,
                jsonl,
                outputs,
                rx: rx_people,
                progress: tx_progress,
                frames_total,
                abort,
                cancel,
            })
        }
    })?;
    match rx_ready.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = encode.join();
            return Err(e);
        }
        Err(_) => return Err(PipelineError::StageLost("encode")),
    }
    let original = (info.width, info.height);
    let net_size = first.content_size(original, &settings.net)?;
    let decode = spawn("decode", {
        let (cancel, abort, input) = (cancel.clone(), abort.clone(), input.to_path_buf());
        move || decode_stage(&input, net_size, tx_decoded, cancel, abort)
    })?;
    let mut infer = Vec::new();
    for (i, engine) in engines.into_iter().enumerate() {
        let (net, abort, rx, tx) = (
            settings.net.clone(),
            abort.clone(),
            rx_decoded.clone(),
            tx_inferred.clone(),
        );
        infer.push(spawn(
            if i == 0 { "infer" } else { "infer-more" },
            move || infer_stage(engine, net, original, rx, tx, abort),
        )?);
    }
    drop((rx_decoded, tx_inferred));
    let associate = spawn("associate", {
        let thresholds = settings.thresholds;
        move || associate_stage(skeleton, thresholds, rx_inferred, tx_people)
    })?;

    for p in rx_progress.iter() {
        progress(p);
    }
    let decoded = decode
        .join()
        .map_err(|_| PipelineError::StageLost("decode"));
    let inferred: Vec<_> = infer
        .into_iter()
        .map(|h| h.join().map_err(|_| PipelineError::StageLost("infer")))
        .collect();
    let associated = associate
        .join()
        .map_err(|_| PipelineError::StageLost("associate"));
    let encode_result = encode
        .join()
        .map_err(|_| PipelineError::StageLost("encode"))?;
    let mut stages = Vec::new();
    let (decode_stats, partial) = decoded??;
    stages.push(decode_stats.finish());
    let mut infer_stats = StageStats::new("infer");
    for r in inferred {
        let (s, _) = r??;
        infer_stats.frames += s.frames;
        infer_stats.busy_ms.extend(s.busy_ms);
        infer_stats.wait_input_s += s.wait_input_s;
        infer_stats.wait_output_s += s.wait_output_s;
    }
    stages.push(infer_stats.finish());
    stages.push(associated??.0.finish());
    let (encode_stats, frames, people_total) = encode_result?;
    stages.push(encode_stats.finish());
    let elapsed_s = start.elapsed().as_secs_f64();
    Ok(ExportReport {
        frames,
        partial,
        elapsed_s,
        fps: frames as f64 / elapsed_s.max(1e-9),
        people_per_frame: people_total as f64 / frames.max(1) as f64,
        stages,
    })
}

type StageResult = Result<(StageStats, bool), PipelineError>;

fn spawn<T: Send + 'static>(
    name: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<thread::JoinHandle<T>, PipelineError> {
    thread::Builder::new()
        .name(format!("posecam-{name}"))
        .spawn(f)
        .map_err(|_| PipelineError::StageLost(name))
}

fn decode_stage(
    input: &Path,
    net_size: (u32, u32),
    tx: Sender<DecodedFrame>,
    cancel: Arc<AtomicBool>,
    abort: Arc<AtomicBool>,
) -> StageResult {
    let mut stats = StageStats::new("decode");
    let mut reader =
        VideoReader::open(input).inspect_err(|_| abort.store(true, Ordering::Relaxed))?;
    reader.set_net_size(Some(net_size));
    loop {
        if abort.load(Ordering::Relaxed) {
            return Ok((stats, true));
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok((stats, true));
        }
        let t = Instant::now();
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok((stats, false)),
            Err(e) => {
                abort.store(true, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        stats.busy(t);
        if !stats.send(&tx, frame) {
            return Ok((stats, true));
        }
    }
}

fn infer_stage(
    mut engine: Engine,
    net: NetConfig,
    original: (u32, u32),
    rx: Receiver<DecodedFrame>,
    tx: Sender<Inferred>,
    abort: Arc<AtomicBool>,
) -> StageResult {
    let mut stats = StageStats::new("infer");
    while let Some(frame) = stats.recv(&rx) {
        let t = Instant::now();
        let result = match &frame.net_rgb {
            Some(small) => engine.infer_resized(small, original, &net),
            None => engine.infer(&frame.picture.to_rgb(), &net),
        };
        let maps = match result {
            Ok(m) => m,
            Err(e) => {
                abort.store(true, Ordering::Relaxed);
                return Err(e.into());
            }
        };
        stats.busy(t);
        if !stats.send(&tx, Inferred { frame, maps }) {
            break;
        }
    }
    Ok((stats, false))
}

fn associate_stage(
    skeleton: &'static Skeleton,
    thresholds: Thresholds,
    rx: Receiver<Inferred>,
    tx: Sender<Associated>,
) -> StageResult {
    let mut stats = StageStats::new("associate");
    let mut associator = Associator::new();
    // Parallel inference workers finish out of order; frames leave here in order.
    let mut waiting = std::collections::BTreeMap::new();
    let mut next = 0u64;
    while let Some(item) = stats.recv(&rx) {
        waiting.insert(item.frame.index, item);
        while let Some(Inferred { frame, maps }) = waiting.remove(&next) {
            next += 1;
            let t = Instant::now();
            let people = associator.run(&maps, skeleton, &thresholds);
            stats.busy(t);
            if !stats.send(&tx, Associated { frame, people }) {
                return Ok((stats, false));
            }
        }
    }
    Ok((stats, false))
}

struct EncodeStage {
    skeleton: &'static Skeleton,
    style: OverlayStyle,
    fps_overlay: bool,
    writer: VideoWriter,
    jsonl: Option<std::io::BufWriter<std::fs::File>>,
    outputs: ExportOutputs,
    rx: Receiver<Associated>,
    progress: Sender<ExportProgress>,
    frames_total: Option<u64>,
    abort: Arc<AtomicBool>,
    cancel: Arc<AtomicBool>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    frame: u64,
    time: f64,
    people: &'a [OpenPosePerson],
}

fn encode_stage(mut s: EncodeStage) -> Result<(StageStats, u64, u64), PipelineError> {
    let mut stats = StageStats::new("encode");
    let mut people_total = 0u64;
    let started = Instant::now();
    let result = (|| -> Result<(), PipelineError> {
        while let Some(Associated { mut frame, people }) = stats.recv(&s.rx) {
            let t = Instant::now();
            let (w, h) = (frame.picture.width, frame.picture.height);
            let mut canvas = YuvCanvas {
                image: &mut frame.picture,
            };
            draw_people(&mut canvas, s.skeleton, &people, &s.style);
            if s.fps_overlay {
                let fps = (s.writer.frames_written() + 1) as f64
                    / started.elapsed().as_secs_f64().max(1e-3);
                let scale = OverlayStyle::text_scale(w, h);
                draw_text(
                    &mut canvas,
                    &format!("{fps:.1} fps"),
                    scale * 4,
                    scale * 4,
                    scale,
                );
            }
            s.writer.write(&frame.picture, frame.pts)?;
            let persons: Vec<OpenPosePerson> =
                people.iter().map(OpenPosePerson::from_person).collect();
            if let Some(out) = s.jsonl.as_mut() {
                let line = JsonLine {
                    frame: frame.index,
                    time: (frame.time_s * 1e6).round() / 1e6,
                    people: &persons,
                };
                let path = s.outputs.jsonl.clone().unwrap_or_default();
                serde_json::to_writer(&mut *out, &line)
                    .map_err(|e| e.to_string())
                    .and_then(|_| out.write_all(b"\n").map_err(|e| e.to_string()))
                    .map_err(|reason| PipelineError::Output { path, reason })?;
            }
            if let Some(dir) = &s.outputs.json_dir {
                let path = dir.join(format!(
                    "{}_{:012}_keypoints.json",
                    s.outputs.json_stem, frame.index
                ));
                let body = serde_json::to_vec(&OpenPoseFrame {
                    version: 1.3,
                    people: persons,
                })
                .map_err(|e| PipelineError::Output {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                std::fs::write(&path, body).map_err(|e| PipelineError::Output {
                    path,
                    reason: e.to_string(),
                })?;
            }
            people_total += people.len() as u64;
            stats.busy(t);
            let _ = s.progress.try_send(ExportProgress {
                frames_done: s.writer.frames_written(),
                frames_total: s.frames_total,
                people: people.len(),
            });
        }
        Ok(())
    })();
    if let Err(e) = result {
        s.abort.store(true, Ordering::Relaxed);
        return Err(e);
    }
    drop(s.progress);
    if let Some(mut out) = s.jsonl.take() {
        let path = s.outputs.jsonl.clone().unwrap_or_default();
        out.flush().map_err(|e| PipelineError::Output {
            path,
            reason: e.to_string(),
        })?;
    }
    let frames = s.writer.frames_written();
    // A stopped export keeps the audio only as far as its video goes.
    let partial = s.cancel.load(Ordering::Relaxed) || s.abort.load(Ordering::Relaxed);
    s.writer.finish(partial)?;
    Ok((stats, frames, people_total))
}

/// What to write, for [`export_file`].
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    pub jsonl: Option<PathBuf>,
    pub json_dir: Option<PathBuf>,
    pub overwrite: bool,
}

/// A temporary file beside `target`, keeping its extension so FFmpeg picks the same container.
fn temporary_beside(target: &Path) -> Result<tempfile::NamedTempFile, PipelineError> {
    let out_err = |reason: String| PipelineError::Output {
        path: target.to_path_buf(),
        reason,
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(out_err(format!("folder {} does not exist", dir.display())));
    }
    let ext = target.extension().and_then(|e| e.to_str()).unwrap_or("tmp");
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(&format!(".part.{ext}"))
        .tempfile_in(&dir)
        .map_err(|e| out_err(format!("cannot write in {}: {e}", dir.display())))
}

/// [`export`] with the file handling users rely on: outputs are written to temporary files beside
/// them and renamed when complete (a failed export leaves nothing; a cancelled one leaves the frames
/// done so far), an existing output is replaced only with `overwrite`, and the input is never an
/// output. `on_temporary` sees each temporary path (to clean up on a hard stop).
pub fn export_file(
    request: &ExportRequest,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    on_temporary: impl Fn(&Path),
    progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PipelineError> {
    let input = &request.input;
    let mut targets = vec![&request.output];
    targets.extend(request.jsonl.iter());
    for t in &targets {
        let err = |reason: &str| PipelineError::Output {
            path: (*t).clone(),
            reason: reason.into(),
        };
        if crate::imageio::same_file(t, input) || *t == input {
            return Err(err("would overwrite the input"));
        }
        if t.exists() && !request.overwrite {
            return Err(err("already exists (pass --overwrite to replace it)"));
        }
    }
    if request.jsonl.as_ref() == Some(&request.output) {
        return Err(PipelineError::Output {
            path: request.output.clone(),
            reason: "is also the JSON output".into(),
        });
    }
    if let Some(dir) = &request.json_dir {
        std::fs::create_dir_all(dir).map_err(|e| PipelineError::Output {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
    }
    let video_tmp = temporary_beside(&request.output)?;
    on_temporary(video_tmp.path());
    let json_tmp = request.jsonl.as_deref().map(temporary_beside).transpose()?;
    if let Some(t) = &json_tmp {
        on_temporary(t.path());
    }
    let outputs = ExportOutputs {
        jsonl: json_tmp.as_ref().map(|t| t.path().to_path_buf()),
        json_dir: request.json_dir.clone(),
        json_stem: input
            .file_stem()
            .map_or_else(|| "video".into(), |s| s.to_string_lossy().into_owned()),
    };
    // Messages name the real outputs, not their temporary files.
    let mut renames = vec![(
        video_tmp.path().display().to_string(),
        request.output.display().to_string(),
    )];
    if let (Some(tmp), Some(target)) = (&json_tmp, &request.jsonl) {
        renames.push((
            tmp.path().display().to_string(),
            target.display().to_string(),
        ));
    }
    let report = export(
        input,
        video_tmp.path(),
        &outputs,
        engines,
        settings,
        cancel,
        progress,
    )
    .map_err(|e| {
        let message = e.to_string();
        match renames
            .iter()
            .find(|(tmp, _)| message.contains(tmp.as_str()))
        {
            Some(_) => PipelineError::Output {
                path: request.output.clone(),
                reason: renames
                    .iter()
                    .fold(message, |m, (tmp, real)| m.replace(tmp.as_str(), real)),
            },
            None => e,
        }
    })?;
    if report.frames == 0 {
        return Err(PipelineError::Output {
            path: request.output.clone(),
            reason: format!(
                "no frame was exported{}: nothing written",
                if report.partial { " (cancelled)" } else { "" }
            ),
        });
    }
    let persist = |tmp: tempfile::NamedTempFile, target: &Path| -> Result<(), PipelineError> {
        let r = if request.overwrite {
            tmp.persist(target).map(|_| ())
        } else {
            tmp.persist_noclobber(target).map(|_| ())
        };
        r.map_err(|e| PipelineError::Output {
            path: target.to_path_buf(),
            reason: e.error.to_string(),
        })
    };
    persist(video_tmp, &request.output)?;
    if let (Some(tmp), Some(target)) = (json_tmp, &request.jsonl) {
        persist(tmp, target)?;
    }
    Ok(report)
}

/// Summary of the source, for messages.
pub fn describe(info: &VideoInfo) -> String {
    format!(
        "{}x{} {}{}{}, {} audio stream(s)",
        info.width,
        info.height,
        info.codec,
        info.frame_rate
            .map(|f| format!(" {f:.2} fps"))
            .unwrap_or_default(),
        info.frames
            .map(|n| format!(", {n} frames"))
            .unwrap_or_default(),
        info.audio_streams
    )
}
