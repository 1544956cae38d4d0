//! The desktop window: a live view of a webcam, video or image with skeletons, threshold sliders that
//! act at once, a timeline of who is where, and joint angles. All the work happens in
//! [`crate::pipeline`]; the window receives results (it repaints when one arrives) and applies the
//! commands its panels return.
//!
//! Its state comes in three parts, as rerun's `App`/`AppState` and egui's demo `WrapApp`/`State`:
//! [`AppSettings`] (persisted), [`ViewState`] (what is on screen, rebuilt from the source) and
//! [`Runtime`] (threads, channels and textures).

mod actions_panel;
mod angles_panel;
mod banner;
mod frames;
mod jobs;
mod layout;
pub mod motion_view;
mod picture;
pub mod scene;
pub mod settings;
mod settings_panels;
mod source_panel;
pub mod state;
mod stats_panel;
mod strip;
mod tasks;
pub mod timeline;
mod window;

pub use window::{run, run_scene, WindowError};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use eframe::egui;

use crate::capture::{list_cameras, SourceInfo, SourceSpec};
use crate::infer::{Device, Provider};
use crate::pipeline::{
    Control, EngineSpec, FrameResult, KeptFrames, LiveOptions, LivePipeline, PipelineSettings,
};
use crate::pose::{Associator, Person};
use crate::track::TrackedPerson;
use jobs::ExportJob;
use picture::PictureTextures;
use settings::AppSettings;
use source_panel::CameraPicker;
use state::{AngleHistory, Banner, Command, Hint, Messages, Stats};
use strip::TimelineViews;
use tasks::Background;
use timeline::Timeline;

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub source: Option<SourceSpec>,
    pub model: Option<PathBuf>,
    pub device: Option<Device>,
}

const STORAGE_KEY: &str = "posecam-settings";

/// What the model in use is, as the pipeline reported it.
#[derive(Debug, Clone, Default)]
pub struct ModelStatus {
    pub provider: Option<Provider>,
    pub skeleton: &'static str,
    pub workers: usize,
}

/// What is on screen: the source, the frame and its people, play state, messages. Rebuilt when a
/// source opens; never saved.
#[derive(Default)]
pub struct ViewState {
    pub source: Option<SourceSpec>,
    pub info: Option<SourceInfo>,
    /// The frame on screen, with its network output (empty for a kept frame shown again).
    pub last: Option<FrameResult>,
    /// The people on screen (re-associated from `last` when a setting changes while paused).
    pub people: Vec<Person>,
    /// Their tracks (one per person, or none when tracking is off).
    pub tracked: Vec<TrackedPerson>,
    pub playing: bool,
    /// While paused, the index of the frame on screen: frames still in flight when the user paused
    /// are kept but not shown (`None` after a step or seek: the next frame to arrive is shown).
    held: Option<u64>,
    /// The number of the last step, seek, refresh or pause sent: while paused, frames read before
    /// it are not shown.
    awaiting: u64,
    /// The file ended (Play starts it again).
    pub ended: bool,
    /// A failure to open or read the source, over the picture.
    pub banner: Option<Banner>,
    pub messages: Messages,
    /// The person whose joint angles are shown.
    pub followed: Option<u64>,
    /// Which angles the panel shows (joint or segment, filtered or raw) and the person's height.
    pub angle_options: motion_view::AngleOptions,
    /// Live sources: the followed person's angles over the last seconds.
    pub angles: AngleHistory,
    /// Files: every processed frame's people, shared with the source stage (kept frames skip the
    /// network).
    pub timeline: Arc<RwLock<Timeline>>,
    /// The debug view is on: kept frames run the network too, for their maps.
    wants_maps: Arc<AtomicBool>,
    /// The frame (sequence number) a refresh was asked for, to fetch its maps once.
    maps_asked: Option<u64>,
    /// What is drawn from the timeline (presence, the followed person's angles).
    views: TimelineViews,
    pub stats: Stats,
    /// Seconds since the window opened when playback paused: the stats plot stands still.
    frozen_at_s: Option<f64>,
    pub model: ModelStatus,
    cameras: CameraPicker,
    /// The scales field as typed, and why it is not used when it cannot be.
    scales_text: String,
    scales_error: Option<String>,
    fullscreen: bool,
}

impl ViewState {
    /// The angles of person `id` on screen, of the kind the panel shows: from their smoothed
    /// keypoints ("filtered" live), or their raw ones.
    pub fn live_angles(
        &self,
        skeleton: &crate::pose::Skeleton,
        id: u64,
    ) -> Option<Vec<Option<f32>>> {
        let i = self.tracked.iter().position(|t| t.id == Some(id))?;
        let o = self.angle_options;
        let keypoints = match o.filtered {
            true => &self.tracked[i].smoothed,
            false => &self.people.get(i)?.keypoints,
        };
        Some(motion_view::live_frame(skeleton, keypoints, o.kind))
    }
}

/// Threads, channels and GPU textures: what the window runs, never shown or saved as such.
pub struct Runtime {
    ctx: egui::Context,
    pipeline: Option<LivePipeline>,
    textures: PictureTextures,
    export: Option<ExportJob>,
    background: Background,
    associator: Associator,
    /// The settings the pipeline runs with.
    applied: Option<PipelineSettings>,
    started: Instant,
    /// A 3D scene shown instead of the single source (which is closed meanwhile).
    scene: Option<scene::SceneApp>,
}

pub struct PosecamApp {
    pub settings: AppSettings,
    pub view: ViewState,
    runtime: Runtime,
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
            settings.device = d;
        }
        let cameras = CameraPicker::new(list_cameras());
        let first = options.source.or_else(|| {
            cameras.choice.map(|index| SourceSpec::Camera {
                index,
                format: None,
            })
        });
        let view = ViewState {
            cameras,
            scales_text: settings::scales_text(&settings.scales),
            ..ViewState::default()
        };
        let runtime = Runtime {
            ctx: ctx.clone(),
            pipeline: None,
            textures: PictureTextures::default(),
            export: None,
            background: Background::new(ctx),
            associator: Associator::new(),
            applied: None,
            started: Instant::now(),
            scene: None,
        };
        let mut app = Self {
            settings,
            view,
            runtime,
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

    /// Seconds since the window opened.
    fn now_s(&self) -> f64 {
        self.runtime.started.elapsed().as_secs_f64()
    }

    fn say(&mut self, msg: impl Into<String>) {
        // A message may quote a camera URL: never its password.
        let msg = crate::io::redact::redact(&msg.into()).into_owned();
        tracing::debug!("{msg}");
        self.view.messages.push(msg, None);
    }

    fn hint(&mut self, hint: Hint, msg: String) {
        self.view.messages.push(msg, Some(hint));
    }

    /// An error: logged on stderr, listed with the messages, and over the picture when it is the
    /// source's.
    fn fail(&mut self, error: String, banner: bool) {
        let error = crate::io::redact::redact(&error).into_owned();
        tracing::error!("{error}");
        self.view.messages.push(error.clone(), None);
        if banner {
            self.view.banner = Some(Banner::new(&error));
        }
    }

    fn engine_spec(&self) -> Option<EngineSpec> {
        if self.settings.model.is_empty() {
            return None;
        }
        Some(EngineSpec {
            model: PathBuf::from(&self.settings.model),
            device: self.settings.device,
        })
    }

    /// A still image: no transport, and IDs at once.
    pub fn is_still(&self) -> bool {
        matches!(self.view.source, Some(SourceSpec::Image(_)))
    }

    /// Files keep what was found in each frame; live sources cannot be replayed.
    fn keeps_timeline(&self) -> bool {
        matches!(
            self.view.source,
            Some(SourceSpec::Video(_) | SourceSpec::Image(_))
        )
    }

    fn pipeline_settings(&self) -> PipelineSettings {
        self.settings.pipeline(self.is_still())
    }

    /// Starts showing `spec`, replacing the current source.
    pub fn open_source(&mut self, spec: SourceSpec) {
        self.runtime.pipeline = None;
        self.runtime.applied = None;
        let messages = std::mem::take(&mut self.view.messages);
        self.view = ViewState {
            messages,
            cameras: std::mem::take(&mut self.view.cameras),
            scales_text: std::mem::take(&mut self.view.scales_text),
            scales_error: self.view.scales_error.take(),
            model: std::mem::take(&mut self.view.model),
            fullscreen: self.view.fullscreen,
            source: Some(spec.clone()),
            ..ViewState::default()
        };
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
        self.remember(&spec);
        let Some(engine) = self.engine_spec() else {
            self.say(
                "No model: run `posecam model fetch` or choose an .onnx model in the side panel.",
            );
            return;
        };
        let settings = self.pipeline_settings();
        let ctx = self.runtime.ctx.clone();
        let notify = Arc::new(move || ctx.request_repaint());
        let kept: Option<KeptFrames> = self.keeps_timeline().then(|| {
            let (timeline, wants_maps) = (self.view.timeline.clone(), self.view.wants_maps.clone());
            Arc::new(move |pts| {
                !wants_maps.load(Ordering::Relaxed)
                    && timeline.read().is_ok_and(|t| t.contains(pts))
            }) as KeptFrames
        });
        let options = LiveOptions {
            every_frame: self.settings.every_frame,
            kept,
            ..LiveOptions::default()
        };
        match LivePipeline::start(spec, engine, settings.clone(), options, notify) {
            Ok(pipeline) => {
                pipeline.control(Control::RealTime(self.settings.real_time));
                self.runtime.pipeline = Some(pipeline);
                self.runtime.applied = Some(settings);
                self.view.playing = true;
            }
            Err(e) => self.fail(crate::pipeline::error_chain(&e), true),
        }
    }

    /// Remembers the source for next time, without a stream's password: a `${VAR}` placeholder
    /// stays, a typed password is asked for again.
    fn remember(&mut self, spec: &SourceSpec) {
        if matches!(spec, SourceSpec::Synthetic { .. }) {
            return;
        }
        self.settings.last_source = Some(match spec {
            SourceSpec::Stream(url) => crate::io::redact::without_password(url),
            other => other.label(),
        });
        if let SourceSpec::Stream(url) = spec {
            self.settings.remember_stream(url);
        }
    }

    fn control(&mut self, c: Control) {
        let v = &mut self.view;
        let c = match c {
            Control::Play => {
                v.playing = true;
                v.frozen_at_s = None;
                v.ended = false;
                c
            }
            Control::Pause | Control::PauseAt(_) => {
                v.playing = false;
                v.frozen_at_s = Some(self.runtime.started.elapsed().as_secs_f64());
                v.held = v.last.as_ref().map(|l| l.frame.index);
                // The source goes back to the frame on screen, so none is skipped.
                v.last
                    .as_ref()
                    .map_or(Control::Pause, |l| Control::PauseAt(l.frame.seq))
            }
            Control::Step(_) => {
                v.playing = false;
                v.ended = false;
                v.frozen_at_s
                    .get_or_insert(self.runtime.started.elapsed().as_secs_f64());
                v.held = None;
                c
            }
            Control::Seek(_) => {
                v.held = None;
                v.ended = false;
                c
            }
            Control::Refresh => {
                v.held = None;
                c
            }
            other => other,
        };
        let answered = matches!(
            c,
            Control::Step(_) | Control::Seek(_) | Control::Refresh | Control::PauseAt(_)
        );
        if let Some(p) = &self.runtime.pipeline {
            let request = p.control(c);
            if answered {
                self.view.awaiting = request;
            }
        }
    }

    fn apply(&mut self, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Open(spec) => self.open_source(spec),
                Command::Reopen => {
                    if let Some(spec) = self.view.source.clone() {
                        self.open_source(spec);
                    }
                }
                Command::Control(c) => self.control(c),
                Command::LoadModel => self.load_model(),
                Command::Snapshot => self.snapshot(),
                Command::ExportTo(path) => self.start_export(path),
                Command::CancelExport => {
                    if let Some(job) = &self.runtime.export {
                        job.cancel();
                    }
                }
                Command::ToggleFullscreen => {
                    self.view.fullscreen = !self.view.fullscreen;
                    let full = egui::ViewportCommand::Fullscreen(self.view.fullscreen);
                    self.runtime.ctx.send_viewport_cmd(full);
                }
                Command::RescanCameras => self.runtime.background.rescan_cameras(),
                Command::QueryFormats(index) => self.runtime.background.query_formats(index),
                Command::Follow(id) => self.follow(id),
                Command::Say(m) => self.say(m),
                Command::Hint(h, m) => self.hint(h, m),
                Command::Ask(dialog) => self.runtime.background.ask(dialog),
                Command::Answer(answer) => self.on_answer(answer),
                Command::SaveAngles(path) => self.save_angles(&path),
                Command::SaveMotion(dir) => self.save_motion(&dir),
                Command::AngleOptions(options) => {
                    self.view.angle_options = options;
                    // Live samples were computed for the old choice.
                    self.view.angles.samples.clear();
                }
                Command::OpenScene { views, calib } => self.open_scene(views, calib),
                Command::CloseScene => {
                    self.runtime.scene = None;
                    if let Some(spec) = self.view.source.clone() {
                        self.open_source(spec);
                    }
                }
                Command::DismissBanner => self.view.banner = None,
                Command::ToggleDetails => {
                    if let Some(b) = &mut self.view.banner {
                        b.show_details = !b.show_details;
                    }
                }
            }
        }
    }

    /// The debug view needs the network's output: kept frames run it again while the view is on,
    /// and a paused kept frame is refreshed once.
    fn fetch_maps(&mut self) {
        let on = self.settings.debug.view != settings::DebugView::Off;
        self.view.wants_maps.store(on, Ordering::Relaxed);
        let Some(last) = self.view.last.as_ref().filter(|l| on && l.maps.is_empty()) else {
            return;
        };
        let seq = last.frame.seq;
        if !self.view.playing && self.view.maps_asked != Some(seq) {
            self.view.maps_asked = Some(seq);
            self.control(Control::Refresh);
        }
    }

    fn follow(&mut self, id: Option<u64>) {
        self.view.followed = id;
        self.view.angles.follow(id);
        if id.is_some() {
            self.view.messages.clear(Hint::NoId);
        }
    }

    /// Shows `views` as one 3D scene, with the model and thresholds of the single view; the single
    /// source stops meanwhile (it would take the same cores).
    pub fn open_scene(&mut self, views: Vec<PathBuf>, calib: PathBuf) {
        let Some(engines) = self.engine_spec() else {
            self.say("no model yet: choose one in the settings first");
            return;
        };
        self.runtime.pipeline = None;
        let options = scene::SceneOptions {
            views,
            calib,
            engines: scene::SceneEngines::Load {
                model: engines.model,
                device: engines.device,
            },
            pipeline: PipelineSettings {
                tracking: None,
                ..self.pipeline_settings()
            },
            max_frames: 600,
            offsets: Vec::new(),
            sync: None,
        };
        self.runtime.scene = Some(scene::SceneApp::new(options));
    }

    /// Whether a 3D scene is shown.
    pub fn in_scene(&self) -> Option<&scene::SceneApp> {
        self.runtime.scene.as_ref()
    }

    fn on_answer(&mut self, answer: state::Answer) {
        match answer {
            state::Answer::SnapshotFolder(dir) => {
                self.say(format!("snapshots go to {}", dir.display()));
                self.settings.snapshot_dir = Some(dir);
            }
            state::Answer::Model(path) => {
                self.settings.model = path.display().to_string();
                self.load_model();
            }
            state::Answer::Cameras(list) => self.view.cameras = CameraPicker::new(list),
            state::Answer::Formats(index, formats) => {
                if self.view.cameras.choice == Some(index) {
                    self.view.cameras.formats = formats;
                }
            }
        }
    }

    fn load_model(&mut self) {
        match (&self.runtime.pipeline, self.engine_spec()) {
            (Some(p), Some(spec)) => p.load_engine(spec),
            _ => {
                if let Some(spec) = self.view.source.clone() {
                    self.open_source(spec);
                }
            }
        }
    }

    fn start_export(&mut self, output: PathBuf) {
        let (Some(SourceSpec::Video(input)), Some(engine)) =
            (self.view.source.clone(), self.engine_spec())
        else {
            return;
        };
        let pipeline = self.pipeline_settings();
        let ctx = self.runtime.ctx.clone();
        let style = self.settings.overlay;
        match ExportJob::start(&ctx, input, output, engine, pipeline, style) {
            Ok(job) => self.runtime.export = Some(job),
            Err(e) => self.fail(crate::pipeline::error_chain(&e), false),
        }
    }

    fn check_export(&mut self) {
        let Some(outcome) = self.runtime.export.as_ref().and_then(ExportJob::finished) else {
            return;
        };
        let out = self
            .runtime
            .export
            .take()
            .map(|j| j.output.display().to_string());
        match outcome {
            Ok(msg) => self.say(msg),
            Err(e) => self.fail(
                format!(
                    "export to {} failed: {}",
                    out.unwrap_or_default(),
                    crate::pipeline::error_chain(&e)
                ),
                false,
            ),
        }
    }
}
