//! Export: the shared stages with the lossless policy, feeding an encoder stage that draws skeletons
//! into the YUV frames, encodes them (audio carried across) and writes the keypoint files.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};
use serde::Serialize;

use super::engines::WorkerEngine;
use super::export_files::{ExportOutputs, KeypointWriters, StagedFile};
use super::motion_files::MotionOutput;
use super::stage::{spawn_stage, EventSink, StageContext, StageStats};
use super::{
    start_stages, Delivery, FrameResult, PipelineError, PipelineSettings, SharedSettings,
    StagesSpec, QUEUE_DEPTH,
};
use crate::capture::{FrameSource, Picture, PictureKind, Trimmed, VideoSource};
use crate::infer::{Engine, NetConfig};
use crate::io::transaction::{FolderFiles, OutputId, OutputSet};
use crate::pose::Thresholds;
use crate::render::{draw_figures, draw_text, figures, OverlayStyle, YuvCanvas};
use crate::track::TrackerSettings;
use crate::video::{AudioInput, EncodeOptions, VideoFormat, VideoInfo, VideoReader, VideoWriter};

/// Settings of one export.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub net: NetConfig,
    pub thresholds: Thresholds,
    /// `None`: no tracking (`person_id` -1, as in OpenPose).
    pub tracking: Option<TrackerSettings>,
    pub style: OverlayStyle,
    pub encode: EncodeOptions,
    /// Print the processing rate (frames per second so far) in the top-left corner.
    pub fps_overlay: bool,
    /// Stop after this many seconds of the input (recording a stream).
    pub max_duration_s: Option<f64>,
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

/// Exports `input` to the video and keypoint files in `outputs` (written where they say:
/// [`export_file`] handles temporary files). `cancel` stops decoding; the frames already decoded are
/// kept. Each engine is one inference worker.
pub fn export(
    input: &Path,
    outputs: &ExportOutputs,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PipelineError> {
    let reader = VideoReader::open(input)?;
    export_opened(reader, input, outputs, engines, settings, cancel, progress)
}

/// [`export`] of an input already opened: probing and reading use one connection (a stream may not
/// take a second client).
#[allow(clippy::too_many_arguments)]
fn export_opened(
    reader: VideoReader,
    input: &Path,
    outputs: &ExportOutputs,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PipelineError> {
    let start = Instant::now();
    let mut reader = reader;
    let (info, stream) = (reader.info().clone(), reader.is_stream());
    // A stream's audio comes with its frames, from the same connection.
    let stream_audio = reader.take_audio();
    if engines.is_empty() {
        return Err(PipelineError::NoEngine);
    }
    let (events, _events_rx) = EventSink::new(Arc::new(|| {}));
    let shared = SharedSettings::new(PipelineSettings {
        net: settings.net.clone(),
        thresholds: settings.thresholds,
        tracking: settings.tracking,
    });
    let ctx = StageContext::new(shared, events);
    let (source, limit) = (input.to_path_buf(), settings.max_duration_s);
    let first = std::sync::Mutex::new(Some(reader));
    let stages = start_stages(
        StagesSpec {
            opener: Box::new(move || {
                let opened = first.lock().ok().and_then(|mut r| r.take());
                let video: Box<dyn FrameSource> = Box::new(match opened {
                    Some(reader) => VideoSource::from_reader(&source, reader, PictureKind::Yuv),
                    None => VideoSource::open(&source, PictureKind::Yuv)?,
                });
                Ok(match limit {
                    Some(s) => Box::new(Trimmed::new(video, s)),
                    None => video,
                })
            }),
            controls: None,
            engines: engines
                .into_iter()
                .map(|e| WorkerEngine::Fixed(Box::new(e)))
                .collect(),
            delivery: Delivery::Lossless,
            cancel: cancel.clone(),
            results_capacity: QUEUE_DEPTH,
            kept: None,
        },
        ctx.clone(),
    )?;
    let (tx_progress, rx_progress) = bounded::<ExportProgress>(64);
    let encoder = EncodeStage {
        format: VideoFormat::of(&info),
        // A file's audio is read again from the file; a stream's comes from its one connection.
        audio: (info.audio_streams > 0 && !stream).then(|| input.to_path_buf()),
        stream_audio: std::sync::Mutex::new(stream_audio),
        settings: settings.clone(),
        outputs: outputs.clone(),
        rx: stages.results.clone(),
        progress: tx_progress,
        frames_total: info.frames,
        ctx: ctx.clone(),
        cancel: cancel.clone(),
    };
    let encode = spawn_stage("encode", &ctx, move || encoder.run())?;
    for p in rx_progress.iter() {
        progress(p);
    }
    let encoded = encode.join().ok().flatten();
    let mut stages_stats = stages.join()?;
    let (encode_stats, frames, people_total) = match encoded {
        Some(result) => result?,
        None => return Err(PipelineError::Internal("the encoder stopped unexpectedly")),
    };
    stages_stats.push(encode_stats.finish());
    let elapsed_s = start.elapsed().as_secs_f64();
    Ok(ExportReport {
        frames,
        // A signal that came after the last frame was read cut nothing short.
        partial: cancel.load(Ordering::Relaxed)
            && !ctx.source_finished.load(Ordering::Relaxed)
            && info.frames != Some(frames),
        elapsed_s,
        fps: frames as f64 / elapsed_s.max(1e-9),
        people_per_frame: people_total as f64 / frames.max(1) as f64,
        stages: stages_stats,
    })
}

/// The last stage of an export.
struct EncodeStage {
    format: VideoFormat,
    audio: Option<PathBuf>,
    /// A stream's audio packets, handed on by its reader (taken when the writer is made).
    stream_audio: std::sync::Mutex<Option<crate::video::StreamAudio>>,
    settings: ExportSettings,
    outputs: ExportOutputs,
    rx: Receiver<FrameResult>,
    progress: Sender<ExportProgress>,
    frames_total: Option<u64>,
    ctx: StageContext,
    cancel: Arc<AtomicBool>,
}

type EncodeOutcome = Result<(StageStats, u64, u64), PipelineError>;

impl EncodeStage {
    fn run(self) -> EncodeOutcome {
        let result = self.encode_all();
        if let Err(e) = &result {
            self.ctx.fail(super::error_chain(e));
        }
        result
    }

    fn encode_all(&self) -> EncodeOutcome {
        let video = &self.outputs.video;
        let stream_audio = self.stream_audio.lock().ok().and_then(|mut a| a.take());
        let audio = match (stream_audio, self.audio.as_deref()) {
            (Some(s), _) => AudioInput::Stream(s),
            (None, Some(file)) => AudioInput::File(file),
            (None, None) => AudioInput::None,
        };
        let mut writer = VideoWriter::create_with(
            &video.path,
            &video.shown,
            &self.format,
            audio,
            &self.settings.encode,
        )?;
        let mut keypoints = KeypointWriters::create(&self.outputs)?;
        let mut stats = StageStats::new("encode");
        let mut people_total = 0u64;
        let started = Instant::now();
        while let Some(result) = stats.recv(&self.rx, &self.ctx) {
            let t = Instant::now();
            let Picture::Yuv(mut picture) = result.frame.picture.clone() else {
                return Err(PipelineError::Internal("export frames must be YUV"));
            };
            let picture = Arc::make_mut(&mut picture);
            let mut canvas = YuvCanvas { image: picture };
            draw_people(&mut canvas, &result, &self.settings.style);
            if self.settings.fps_overlay {
                let fps = (writer.frames_written() + 1) as f64
                    / started.elapsed().as_secs_f64().max(1e-3);
                draw_fps(&mut canvas, fps);
            }
            writer.write(picture, result.frame.pts)?;
            keypoints.write(&result)?;
            people_total += result.people.len() as u64;
            stats.busy(t);
            let _ = self.progress.try_send(ExportProgress {
                frames_done: writer.frames_written(),
                frames_total: self.frames_total,
                people: result.people.len(),
            });
        }
        keypoints.finish()?;
        let frames = writer.frames_written();
        // A stopped export keeps the audio only as far as its video goes.
        // The audio goes as far as the video: cut where the export stopped early or where
        // --duration ended it.
        let cut = self.cancel.load(Ordering::Relaxed)
            || self.ctx.stopped()
            || self.settings.max_duration_s.is_some();
        writer.finish(cut)?;
        Ok((stats, frames, people_total))
    }
}

/// The skeletons (and labels, trails) of a frame's people, as an export draws them.
pub(super) fn draw_people(canvas: &mut YuvCanvas<'_>, result: &FrameResult, style: &OverlayStyle) {
    let figures = figures(&result.people, &result.tracked, style.smoothed);
    draw_figures(canvas, result.skeleton, &figures, style);
}

pub(super) fn draw_fps(canvas: &mut YuvCanvas<'_>, fps: f64) {
    let (w, h) = (canvas.image.width, canvas.image.height);
    let scale = OverlayStyle::text_scale(w, h);
    draw_text(
        canvas,
        &format!("{fps:.1} fps"),
        scale * 4,
        scale * 4,
        scale,
    );
}

/// What to write, for [`ExportPlan`].
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    pub jsonl: Option<PathBuf>,
    pub json_dir: Option<PathBuf>,
    /// Tracks as CSV (needs tracking).
    pub csv: Option<PathBuf>,
    /// A folder for the motion files (needs tracking), and how to make them.
    pub motion: Option<(PathBuf, crate::motion::MotionSettings)>,
    pub overwrite: bool,
    /// Largest frame accepted, in pixels.
    pub max_pixels: u64,
}

/// An export's outputs, checked and staged before any work: one transaction, committed when the
/// export finishes (or finishes early, cancelled) and removed when it fails.
pub struct ExportPlan {
    request: ExportRequest,
    /// The input, opened once to check it: the export reads this same connection.
    reader: VideoReader,
    info: VideoInfo,
    outputs: OutputSet,
    video: OutputId,
    jsonl: Option<OutputId>,
    json_dir: Option<OutputId>,
    csv: Option<OutputId>,
    motion: Option<OutputId>,
}

impl ExportPlan {
    /// Checks every output against the input and each other (and the video's container), then
    /// creates their temporaries beside them.
    pub fn new(request: &ExportRequest) -> Result<Self, PipelineError> {
        let reader = VideoReader::open(&request.input)?;
        let info = reader.info().clone();
        crate::io::inputs::within_pixels(
            &request.input,
            (info.width, info.height),
            request.max_pixels,
        )
        .map_err(crate::video::VideoError::from)?;
        crate::video::check_container(&request.output)?;
        // A sequence's frames are inputs as much as its pattern: no output may replace one.
        let mut inputs = crate::video::sequence_files(&request.input);
        inputs.push(request.input.clone());
        let mut outputs = OutputSet::new(&inputs, request.overwrite);
        let video = outputs.add_file(&request.output, "-o")?;
        let jsonl = match &request.jsonl {
            Some(p) => Some(outputs.add_file(p, "--json")?),
            None => None,
        };
        let csv = match &request.csv {
            Some(p) => Some(outputs.add_file(p, "--csv")?),
            None => None,
        };
        let json_dir = match &request.json_dir {
            Some(p) => Some(outputs.add_folder(
                p,
                "--json-dir",
                FolderFiles::Pattern {
                    prefix: format!("{}_", json_stem(&request.input)),
                    suffix: "_keypoints.json".into(),
                },
            )?),
            None => None,
        };
        let motion = match &request.motion {
            Some((p, _)) => Some(outputs.add_folder(
                p,
                "--motion",
                FolderFiles::Pattern {
                    prefix: format!("{}_", json_stem(&request.input)),
                    suffix: String::new(),
                },
            )?),
            None => None,
        };
        outputs.stage()?;
        Ok(Self {
            request: request.clone(),
            reader,
            info,
            outputs,
            video,
            jsonl,
            json_dir,
            csv,
            motion,
        })
    }

    /// What the input holds.
    pub fn input_info(&self) -> &VideoInfo {
        &self.info
    }

    /// Runs the export into the staged outputs, ready to be committed. A cancelled export keeps the
    /// frames done so far; a failed one leaves nothing.
    pub fn run(
        self,
        engines: Vec<Engine>,
        settings: &ExportSettings,
        cancel: Arc<AtomicBool>,
        progress: impl FnMut(ExportProgress),
    ) -> Result<FinishedExport, PipelineError> {
        let staged = |id: OutputId| StagedFile {
            path: self.outputs.path(id).to_path_buf(),
            shown: self.outputs.target(id).to_path_buf(),
        };
        let outputs = ExportOutputs {
            video: staged(self.video),
            jsonl: self.jsonl.map(staged),
            json_dir: self.json_dir.map(staged),
            json_stem: json_stem(&self.request.input),
            csv: self.csv.map(staged),
            motion: self
                .motion
                .map(staged)
                .zip(self.request.motion.as_ref())
                .map(|(dir, (_, settings))| MotionOutput {
                    dir: dir.path,
                    shown: dir.shown,
                    stem: json_stem(&self.request.input),
                    settings: *settings,
                }),
        };
        let report = export_opened(
            self.reader,
            &self.request.input,
            &outputs,
            engines,
            settings,
            cancel,
            progress,
        )?;
        if report.frames == 0 {
            return Err(PipelineError::NothingExported {
                path: self.request.output.clone(),
                cancelled: report.partial,
            });
        }
        Ok(FinishedExport {
            report,
            outputs: self.outputs,
        })
    }
}

/// An export whose outputs are written and staged: [`FinishedExport::commit`] puts them in place;
/// dropping it removes them (a caller that failed afterwards, say to print its report).
pub struct FinishedExport {
    pub report: ExportReport,
    outputs: OutputSet,
}

impl FinishedExport {
    pub fn commit(self) -> Result<ExportReport, PipelineError> {
        self.outputs.commit()?;
        Ok(self.report)
    }
}

/// [`ExportPlan::new`] then [`ExportPlan::run`].
pub fn export_file(
    request: &ExportRequest,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, PipelineError> {
    ExportPlan::new(request)?
        .run(engines, settings, cancel, progress)?
        .commit()
}

/// Per-frame files are named `<input stem>_<12-digit frame>_keypoints.json`, as OpenPose names them
/// (`img` for a sequence `img_%04d.png`).
pub(crate) fn json_stem(input: &Path) -> String {
    if let Some(stem) = crate::video::sequence_stem(input) {
        return stem;
    }
    input
        .file_stem()
        .map_or_else(|| "video".into(), |s| s.to_string_lossy().into_owned())
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
