//! The desktop window: a live view of a webcam, video or image with skeletons, threshold sliders that
//! act at once, and live statistics. All the work happens in [`crate::pipeline`]; the window receives
//! results (it repaints when one arrives) and applies the commands its panels return.

mod actions_panel;
mod jobs;
mod layout;
mod picture;
mod settings_panels;
mod source_panel;
pub mod state;
mod stats_panel;
mod window;

pub use window::{run, WindowError};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use crate::capture::{list_cameras, SourceInfo, SourceSpec};
use crate::infer::{Device, Provider};
use crate::pipeline::{
    Control, EngineSpec, FrameResult, LiveOptions, LivePipeline, PipelineEvent, PipelineSettings,
};
use crate::pose::{Associator, Person};
use crate::track::{angles, carry_tracks, TrackedPerson};
use jobs::ExportJob;
use picture::PictureTextures;
use source_panel::CameraPicker;
use state::{AngleHistory, AppSettings, Command, StatSample, Stats};

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub source: Option<SourceSpec>,
    pub model: Option<PathBuf>,
    pub device: Option<Device>,
}

const STORAGE_KEY: &str = "posecam-settings";
/// Messages kept in the side panel.
const MESSAGES_KEPT: usize = 6;

/// What the model in use is, as the pipeline reported it.
#[derive(Debug, Clone, Default)]
struct ModelStatus {
    provider: Option<Provider>,
    skeleton: &'static str,
    workers: usize,
}

pub struct PosecamApp {
    pub settings: AppSettings,
    ctx: egui::Context,
    source: Option<SourceSpec>,
    pipeline: Option<LivePipeline>,
    info: Option<SourceInfo>,
    cameras: CameraPicker,
    /// The frame on screen, with its network output.
    last: Option<FrameResult>,
    /// The people on screen (re-associated from `last` when a setting changes while paused).
    pub people: Vec<Person>,
    /// Their tracks (one per person, or none when tracking is off).
    pub tracked: Vec<TrackedPerson>,
    /// The joint angles of the person followed.
    pub angles: AngleHistory,
    associator: Associator,
    applied: Option<PipelineSettings>,
    pub playing: bool,
    /// While paused, the frame on screen: frames still in flight when the user paused are not
    /// shown (`None` after a step or seek: the next frame to arrive is shown and held).
    held: Option<u64>,
    ended: bool,
    source_failed: bool,
    textures: PictureTextures,
    pub stats: Stats,
    started: Instant,
    model: ModelStatus,
    messages: Vec<String>,
    export: Option<ExportJob>,
    fullscreen: bool,
}

impl PosecamApp {
    pub fn new(ctx: &egui::Context, stored: Option<AppSettings>, options: StartOptions) -> Self {
        let (mut settings, notes) = stored.unwrap_or_default().checked();
        if let Some(m) = &options.model {
            settings.model = m.display().to_string();
        } else if settings.model.is_empty() || !Path::new(&settings.model).is_file() {
            settings.model = crate::setup::paths::default_model()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
        }
        if let Some(d) = options.device {
            settings.device = d.to_string();
        }
        let cameras = CameraPicker::new(list_cameras());
        let first = options.source.or_else(|| {
            cameras.choice.map(|index| SourceSpec::Camera {
                index,
                format: None,
            })
        });
        let mut app = Self {
            settings,
            ctx: ctx.clone(),
            source: None,
            pipeline: None,
            info: None,
            cameras,
            last: None,
            people: Vec::new(),
            tracked: Vec::new(),
            angles: AngleHistory::default(),
            associator: Associator::new(),
            applied: None,
            playing: false,
            held: None,
            ended: false,
            source_failed: false,
            textures: PictureTextures::default(),
            stats: Stats::default(),
            started: Instant::now(),
            model: ModelStatus::default(),
            messages: Vec::new(),
            export: None,
            fullscreen: false,
        };
        for note in notes {
            app.say(note);
        }
        match first {
            Some(spec) => app.open_source(spec),
            None => app
                .say("No webcam found. Open a video or image above, or drop a file on the window."),
        }
        app
    }

    fn say(&mut self, msg: impl Into<String>) {
        // A message may quote a camera URL: never its password.
        let msg = crate::io::redact::redact(&msg.into()).into_owned();
        tracing::debug!("{msg}");
        self.messages.push(msg);
        if self.messages.len() > MESSAGES_KEPT {
            self.messages.remove(0);
        }
    }

    fn engine_spec(&self) -> Option<EngineSpec> {
        if self.settings.model.is_empty() {
            return None;
        }
        Some(EngineSpec {
            model: PathBuf::from(&self.settings.model),
            device: self.settings.device.parse().unwrap_or_default(),
        })
    }

    /// Starts showing `spec`, replacing the current source.
    pub fn open_source(&mut self, spec: SourceSpec) {
        self.pipeline = None;
        self.last = None;
        self.people.clear();
        self.tracked.clear();
        self.angles.follow(None);
        self.info = None;
        self.ended = false;
        self.source_failed = false;
        self.stats = Stats::default();
        self.source = Some(spec.clone());
        if let SourceSpec::Stream(url) = &spec {
            for name in crate::io::redact::variables(url) {
                let found = std::env::var_os(&name).is_some();
                self.say(if found {
                    format!("the stream's password comes from the environment variable {name}")
                } else {
                    format!("the URL names ${{{name}}}, but {name} is not set in the environment")
                });
            }
        }
        let Some(engine) = self.engine_spec() else {
            self.say(
                "No model: run `posecam model fetch` or choose an .onnx model in the side panel.",
            );
            return;
        };
        let settings = self.settings.pipeline();
        let ctx = self.ctx.clone();
        let notify = Arc::new(move || ctx.request_repaint());
        let options = LiveOptions {
            every_frame: self.settings.every_frame,
            ..LiveOptions::default()
        };
        match LivePipeline::start(spec.clone(), engine, settings.clone(), options, notify) {
            Ok(pipeline) => {
                pipeline.control(Control::RealTime(self.settings.real_time));
                self.pipeline = Some(pipeline);
                self.applied = Some(settings);
                self.playing = true;
            }
            Err(e) => {
                self.source_failed = true;
                self.say(e.to_string());
            }
        }
        if !matches!(spec, SourceSpec::Synthetic { .. }) {
            // Remembered without its password: a `${VAR}` placeholder stays, a typed one is asked for
            // again.
            self.settings.last_source = Some(match &spec {
                SourceSpec::Stream(url) => crate::io::redact::without_password(url),
                other => other.label(),
            });
            if let SourceSpec::Stream(url) = &spec {
                self.settings.remember_stream(url);
            }
        }
    }

    fn control(&mut self, c: Control) {
        match &c {
            Control::Play => self.playing = true,
            Control::Pause => {
                self.playing = false;
                self.held = self.last.as_ref().map(|l| l.frame.index);
            }
            Control::Step(_) => {
                self.playing = false;
                self.held = None;
            }
            Control::Seek(_) => self.held = None,
            _ => {}
        }
        if let Some(p) = &self.pipeline {
            p.control(c);
        }
    }

    /// Takes what the pipeline produced since the last frame.
    pub fn poll(&mut self) {
        let Some(pipeline) = &self.pipeline else {
            return;
        };
        let events: Vec<PipelineEvent> = pipeline.events().collect();
        let results: Vec<FrameResult> = pipeline.results().collect();
        for e in events {
            self.on_event(e);
        }
        for r in results {
            if !self.playing {
                match self.held {
                    Some(shown) if shown != r.frame.index => continue,
                    _ => self.held = Some(r.frame.index),
                }
            }
            self.stats.dropped = r.dropped;
            self.stats.push(StatSample {
                at_s: self.started.elapsed().as_secs_f64(),
                inference_ms: r.timings.inference_ms,
                association_ms: r.timings.association_ms,
                latency_ms: r.timings.latency_ms,
                people: r.people.len(),
            });
            self.people = r.people.clone();
            self.tracked = r.tracked.clone();
            self.record_angles(&r);
            self.last = Some(r);
            self.ended = false;
        }
    }

    /// Adds the followed person's joint angles (from their smoothed keypoints) to the plot.
    fn record_angles(&mut self, r: &FrameResult) {
        let Some(id) = self.angles.id else {
            return;
        };
        let Some(person) = r.tracked.iter().find(|t| t.id == Some(id)) else {
            return;
        };
        let values = angles::joint_angles(r.skeleton, &person.smoothed)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        self.angles
            .push(self.started.elapsed().as_secs_f64(), values);
    }

    fn on_event(&mut self, event: PipelineEvent) {
        match event {
            PipelineEvent::SourceOpened(info) => {
                let rate = info
                    .frame_rate
                    .map(|f| format!(" at {f:.1} fps"))
                    .unwrap_or_default();
                self.say(format!(
                    "{}: {}x{}{rate}",
                    info.name, info.width, info.height
                ));
                self.info = Some(info);
            }
            PipelineEvent::ModelLoaded {
                model,
                provider,
                skeleton,
                workers,
            } => {
                self.model = ModelStatus {
                    provider: Some(provider),
                    skeleton: skeleton.name,
                    workers,
                };
                self.say(format!("model {} on {provider}", model.display()));
                if !self.playing {
                    self.control(Control::Refresh);
                }
            }
            PipelineEvent::Ended => {
                self.ended = true;
                self.playing = false;
            }
            PipelineEvent::Reconnecting {
                reason,
                attempt,
                wait_s,
            } => {
                self.say(format!(
                    "stream lost ({reason}): reconnecting in {wait_s:.1} s (attempt {attempt})"
                ));
            }
            PipelineEvent::Error(msg) => {
                if self.info.as_ref().is_none_or(|i| i.live) {
                    self.source_failed = true;
                }
                self.say(msg);
            }
        }
    }

    /// Sends changed settings to the pipeline; re-associates the frame on screen from its cached network
    /// output so a slider's effect shows at once, even while paused.
    pub fn apply_settings(&mut self) {
        let settings = self.settings.pipeline();
        if self.applied.as_ref() == Some(&settings) {
            return;
        }
        if let Some(p) = &self.pipeline {
            if let Err(e) = p.set_settings(settings.clone()) {
                self.say(e.to_string());
            }
        }
        if let Some(last) = &self.last {
            let people = self
                .associator
                .run(&last.maps, last.skeleton, &settings.thresholds);
            self.tracked = match settings.tracking {
                Some(_) => carry_tracks(last.skeleton, &last.people, &last.tracked, &people),
                None => Vec::new(),
            };
            self.people = people;
        }
        self.applied = Some(settings);
    }

    fn apply(&mut self, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Open(spec) => self.open_source(spec),
                Command::Reopen => {
                    if let Some(spec) = self.source.clone() {
                        self.open_source(spec);
                    }
                }
                Command::Control(c) => self.control(c),
                Command::LoadModel => self.load_model(),
                Command::Snapshot => self.snapshot(),
                Command::ExportTo(path) => self.start_export(path),
                Command::CancelExport => {
                    if let Some(job) = &self.export {
                        job.cancel();
                    }
                }
                Command::ToggleFullscreen => {
                    self.fullscreen = !self.fullscreen;
                    let full = egui::ViewportCommand::Fullscreen(self.fullscreen);
                    self.ctx.send_viewport_cmd(full);
                }
                Command::RescanCameras => self.cameras = CameraPicker::new(list_cameras()),
                Command::Follow(id) => self.angles.follow(id),
                Command::Say(m) => self.say(m),
            }
        }
    }

    fn load_model(&mut self) {
        match (&self.pipeline, self.engine_spec()) {
            (Some(p), Some(spec)) => p.load_engine(spec),
            _ => {
                if let Some(spec) = self.source.clone() {
                    self.open_source(spec);
                }
            }
        }
    }

    fn snapshot(&mut self) {
        let Some(last) = &self.last else {
            self.say("nothing to snapshot yet");
            return;
        };
        let folder = PathBuf::from(&self.settings.snapshot_dir);
        let style = &self.settings.overlay;
        match jobs::snapshot(last, &self.people, &self.tracked, style, &folder) {
            Ok(base) => self.say(format!("snapshot saved: {}.png / .json", base.display())),
            Err(e) => self.say(format!(
                "snapshot failed: {}",
                crate::pipeline::error_chain(&e)
            )),
        }
    }

    fn start_export(&mut self, output: PathBuf) {
        let (Some(SourceSpec::Video(input)), Some(engine)) =
            (self.source.clone(), self.engine_spec())
        else {
            return;
        };
        let pipeline = self.settings.pipeline();
        match ExportJob::start(
            &self.ctx,
            input,
            output,
            engine,
            pipeline,
            self.settings.overlay,
        ) {
            Ok(job) => self.export = Some(job),
            Err(e) => self.say(crate::pipeline::error_chain(&e)),
        }
    }

    fn check_export(&mut self) {
        let Some(outcome) = self.export.as_ref().and_then(ExportJob::finished) else {
            return;
        };
        let out = self.export.take().map(|j| j.output.display().to_string());
        match outcome {
            Ok(msg) => self.say(msg),
            Err(e) => self.say(format!(
                "export to {} failed: {}",
                out.unwrap_or_default(),
                crate::pipeline::error_chain(&e)
            )),
        }
    }
}
