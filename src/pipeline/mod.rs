//! The one pipeline behind `posecam export` and the window:
//!
//! ```text
//! source_stage ─▶ infer_stage ×N ─▶ people_stage (in order) ─▶ sink
//! (decode,         (parallel          (association: peaks,       export: overlay + encode +
//!  camera,          workers)           limbs, people; then        export_files (keypoints)
//!  stream)                             tracking: IDs, smoothing)  window: the newest result
//! ```
//!
//! Each stage runs on its own named thread, joined by bounded channels. The stages are written once;
//! the [`Delivery`] policy is the only difference between the two uses: export waits for room and
//! loses nothing (every input frame comes out, in order), live keeps the newest frame and counts what
//! it drops, so latency stays near one inference time. Settings are read per frame, so a slider
//! applies to the next frame. State events travel apart from frames and are never dropped; a stage
//! that fails or panics stops the others and is reported.

mod batch;
mod batch_source;
mod engines;
mod export;
mod export_files;
mod infer_stage;
mod live;
mod motion_files;
pub mod order;
mod people_stage;
mod scene_export;
mod scene_files;
mod source_stage;
mod stage;
mod views;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use crate::capture::{CaptureError, Frame, FrameSource, SourceInfo};
use crate::infer::{EngineError, NetConfig, Provider};
use crate::pose::{Person, PoseMaps, Skeleton, Thresholds};
use crate::track::{TrackedPerson, TrackerSettings};
use crate::video::VideoError;

pub use batch::{run_batch, BatchEvent, BatchItem, FinishedItem, ItemFailure, ItemGate};
pub use engines::EngineSpec;
pub use export::{
    describe, export, export_file, ExportPlan, ExportProgress, ExportReport, ExportRequest,
    ExportSettings, FinishedExport,
};
pub use export_files::{ExportOutputs, StagedFile, CSV_HEADER};
pub use live::{LiveOptions, LivePipeline};
pub use motion_files::{
    save_motion_files, MotionOutput, MotionSummary, ANGLES_CSV_HEADER, MOTION_CSV_HEADER,
};
pub use scene_export::{
    find_view_offsets, offsets_in_seconds, open_lens_views, open_views, SceneError, ScenePlan,
    SceneReport, SceneRequest, SyncMethod,
};
pub use source_stage::{Control, KeptFrames};
pub use stage::StageStats;
pub use views::{pose_views, ViewPeople};

use engines::WorkerEngine;
use stage::{spawn_stage, Outlet, StageContext};

/// What a stage does when the next one is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Export: wait for room; every frame comes out, in order.
    Lossless,
    /// Live: the newest frame replaces the one waiting; replaced and late frames are counted as dropped.
    Newest,
}

/// Frames waiting between two stages; small, so memory stays bounded and latency low.
const QUEUE_DEPTH: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Outputs(#[from] crate::io::transaction::OutputError),
    #[error("{path}: no frame was exported{}: nothing written", if *cancelled { " (cancelled)" } else { "" })]
    NothingExported {
        path: std::path::PathBuf,
        cancelled: bool,
    },
    #[error("no inference engine to export with")]
    NoEngine,
    #[error("cannot start the pipeline thread {name}")]
    Thread {
        name: String,
        source: std::io::Error,
    },
    /// A stage stopped the pipeline; its own error was reported in full when it happened.
    #[error("{0}")]
    StageFailed(String),
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("the settings were lost: a pipeline thread crashed while changing them")]
    SettingsPoisoned,
}

/// An error and its causes in one line (each cause's first line): what pipeline events and the
/// window show.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let first_line = |e: &dyn std::error::Error| {
        let text = e.to_string();
        text.lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };
    let mut text = first_line(e);
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&first_line(s));
        source = s.source();
    }
    // The window shows these, and logs keep them: no camera password in either.
    crate::io::redact::redact(&text).into_owned()
}

/// Settings the stages read for every frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSettings {
    pub net: NetConfig,
    pub thresholds: Thresholds,
    /// `None`: no tracking (every person's `person_id` is -1, as in OpenPose).
    pub tracking: Option<TrackerSettings>,
}

/// [`PipelineSettings`] shared by the stages and whoever changes them.
#[derive(Debug, Clone)]
pub struct SharedSettings(Arc<Mutex<PipelineSettings>>);

impl SharedSettings {
    pub fn new(settings: PipelineSettings) -> Self {
        Self(Arc::new(Mutex::new(settings)))
    }

    /// The current settings. A poisoned lock is an error: guessing defaults would silently change
    /// what the user chose.
    pub fn get(&self) -> Result<PipelineSettings, PipelineError> {
        self.0
            .lock()
            .map(|s| s.clone())
            .map_err(|_| PipelineError::SettingsPoisoned)
    }

    /// Replaces the settings; returns the previous ones.
    pub fn set(&self, new: PipelineSettings) -> Result<PipelineSettings, PipelineError> {
        let mut s = self.0.lock().map_err(|_| PipelineError::SettingsPoisoned)?;
        Ok(std::mem::replace(&mut *s, new))
    }
}

/// Time spent on one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameTimings {
    pub inference_ms: f32,
    pub association_ms: f32,
    pub tracking_ms: f32,
    /// Capture (or due time) to result.
    pub latency_ms: f32,
}

/// A frame with its people, and the network output kept for re-association and the debug view.
#[derive(Debug, Clone)]
pub struct FrameResult {
    pub frame: Frame,
    pub maps: Arc<PoseMaps>,
    pub skeleton: &'static Skeleton,
    pub people: Vec<Person>,
    /// One entry per person when tracking is on (empty otherwise).
    pub tracked: Vec<TrackedPerson>,
    pub timings: FrameTimings,
    /// Frames dropped so far (live mode).
    pub dropped: u64,
}

impl FrameResult {
    /// Each person's ID (`None` untracked or not confirmed yet).
    pub fn ids(&self) -> Vec<Option<u64>> {
        (0..self.people.len())
            .map(|i| self.tracked.get(i).and_then(|t| t.id))
            .collect()
    }
}

/// State changes, delivered apart from frames and never dropped.
#[derive(Debug, Clone)]
pub enum PipelineEvent {
    SourceOpened(SourceInfo),
    ModelLoaded {
        model: std::path::PathBuf,
        provider: Provider,
        skeleton: &'static Skeleton,
        workers: usize,
    },
    /// The source ended (end of file); it can be sought or replayed.
    Ended,
    /// A network stream dropped; it is opened again after `wait_s` (attempt `attempt`).
    Reconnecting {
        reason: String,
        attempt: u32,
        wait_s: f64,
    },
    /// The source could not be opened or read; the window shows it over the picture and stays up.
    SourceFailed(String),
    /// Something else failed; the window shows it and stays up.
    Error(String),
}

/// Opens a source on the source thread (FFmpeg contexts and webcams are not `Send`).
pub type SourceOpener = Box<dyn Fn() -> Result<Box<dyn FrameSource>, CaptureError> + Send>;

/// How to build the shared stages.
pub(crate) struct StagesSpec {
    pub opener: SourceOpener,
    /// Live: play/pause/seek; export: none (read to the end).
    pub controls: Option<Receiver<source_stage::Request>>,
    pub engines: Vec<WorkerEngine>,
    pub delivery: Delivery,
    /// Stop reading frames (Ctrl-C), keeping those read.
    pub cancel: Arc<AtomicBool>,
    /// Results waiting for the sink.
    pub results_capacity: usize,
    /// Live files: frames the window has kept skip the network.
    pub kept: Option<KeptFrames>,
}

type StageHandle = JoinHandle<Option<Result<StageStats, PipelineError>>>;

/// The running source, inference and association stages.
pub(crate) struct Stages {
    handles: Vec<StageHandle>,
    pub results: Receiver<FrameResult>,
    pub ctx: StageContext,
}

/// Starts source → inference workers → association.
pub(crate) fn start_stages(spec: StagesSpec, ctx: StageContext) -> Result<Stages, PipelineError> {
    let (frames_out, frames_in) = Outlet::<Frame>::new(
        if spec.delivery == Delivery::Newest {
            1
        } else {
            QUEUE_DEPTH
        },
        spec.delivery,
        &ctx,
    );
    let (inferred_out, inferred_in) = crossbeam_channel::bounded(QUEUE_DEPTH * 2);
    let (results_out, results) = Outlet::new(spec.results_capacity, spec.delivery, &ctx);
    let mut handles = Vec::new();
    let controlled = spec.controls.is_some();
    let source = source_stage::SourceStage {
        opener: spec.opener,
        controls: spec.controls,
        out: frames_out,
        cancel: spec.cancel,
        ctx: ctx.clone(),
        kept: spec.kept,
    };
    handles.push(spawn_stage("source", &ctx, move || source.run())?);
    // Export stops at an inference error; the window reports it and goes on.
    let fatal = spec.delivery == Delivery::Lossless && !controlled;
    for (i, engine) in spec.engines.into_iter().enumerate() {
        let (rx, tx, c) = (frames_in.clone(), inferred_out.clone(), ctx.clone());
        handles.push(spawn_stage(&format!("infer-{i}"), &ctx, move || {
            infer_stage::infer_worker(engine, rx, tx, c, fatal)
        })?);
    }
    drop((frames_in, inferred_out));
    let (delivery, c) = (spec.delivery, ctx.clone());
    handles.push(spawn_stage("associate", &ctx, move || {
        people_stage::people_stage(inferred_in, results_out, delivery, c)
    })?);
    Ok(Stages {
        handles,
        results,
        ctx,
    })
}

impl Stages {
    /// Stops every stage and waits up to `patience` for them to finish (a stage blocked in a device
    /// read is left behind). Live pipelines do this when dropped, so no thread still runs inference
    /// while the process exits.
    pub(crate) fn stop(self, patience: std::time::Duration) -> bool {
        self.ctx
            .abort
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let deadline = std::time::Instant::now() + patience;
        while self.handles.iter().any(|h| !h.is_finished()) && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut all = true;
        for handle in self.handles {
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                all = false;
                tracing::warn!("a pipeline thread did not stop in time; leaving it behind");
            }
        }
        all
    }

    /// Waits for every stage; per-stage figures (inference workers merged), or the first failure.
    pub(crate) fn join(self) -> Result<Vec<StageStats>, PipelineError> {
        let mut stats: Vec<StageStats> = Vec::new();
        let mut error = None;
        for handle in self.handles {
            match handle.join().ok().flatten() {
                Some(Ok(s)) => match stats.iter_mut().find(|x| x.name == s.name) {
                    Some(existing) => existing.merge(s),
                    None => stats.push(s),
                },
                Some(Err(e)) => {
                    error.get_or_insert(e);
                }
                None => {
                    let failure = self.ctx.failure.lock().ok().and_then(|f| f.clone());
                    error.get_or_insert(match failure {
                        Some(message) => PipelineError::StageFailed(message),
                        None => PipelineError::Internal("a pipeline stage stopped unexpectedly"),
                    });
                }
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(stats.into_iter().map(StageStats::finish).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_settings_lock_is_an_error_not_defaults() {
        let shared = SharedSettings::new(PipelineSettings {
            net: NetConfig::default(),
            thresholds: Thresholds {
                peak: 0.3,
                ..Thresholds::default()
            },
            tracking: None,
        });
        assert_eq!(shared.get().unwrap().thresholds.peak, 0.3);
        let inner = shared.0.clone();
        let _ = std::thread::Builder::new()
            .name("poisoner".into())
            .spawn(move || {
                let _guard = inner.lock();
                panic!("poisoning on purpose");
            })
            .unwrap()
            .join();
        assert!(matches!(shared.get(), Err(PipelineError::SettingsPoisoned)));
        assert!(shared.set(shared_default()).is_err());
    }

    fn shared_default() -> PipelineSettings {
        PipelineSettings {
            net: NetConfig::default(),
            thresholds: Thresholds::default(),
            tracking: None,
        }
    }
}
