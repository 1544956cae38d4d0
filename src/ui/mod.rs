//! The desktop window: a live view of a webcam, video or image with skeletons, threshold sliders that
//! act at once, and live statistics. All the work happens in [`crate::live`]; the window only
//! receives results (it repaints when one arrives) and sends commands.

pub mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;
use egui::{Color32, Pos2, Rect, Stroke, TextureHandle, TextureOptions};

use crate::capture::{camera_formats, list_cameras, CameraDesc, SourceInfo, SourceSpec};
use crate::infer::{Device, EngineOptions, Provider};
use crate::live::{Control, EngineSpec, LiveEvent, LivePipeline, LiveResult, LiveSettings};
use crate::pipeline::{ExportProgress, ExportRequest, ExportSettings};
use crate::pose::{Associator, Person};
use state::{
    fit_rect, image_to_screen, key_action, AppSettings, DebugView, KeyAction, StatSample, Stats,
};

/// How the window starts.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub source: Option<SourceSpec>,
    pub model: Option<PathBuf>,
    pub device: Option<Device>,
}

const STORAGE_KEY: &str = "posecam-settings";

/// An export started from the window.
struct ExportJob {
    output: PathBuf,
    progress: Arc<Mutex<(u64, Option<u64>)>>,
    cancel: Arc<AtomicBool>,
    result: Arc<Mutex<Option<Result<String, String>>>>,
}

pub struct PosecamApp {
    pub settings: AppSettings,
    ctx: egui::Context,
    source: Option<SourceSpec>,
    pipeline: Option<LivePipeline>,
    info: Option<SourceInfo>,
    cameras: Vec<CameraDesc>,
    camera_choice: Option<u32>,
    formats: Vec<(u32, u32, u32)>,
    format_choice: Option<(u32, u32, u32)>,
    /// The frame on screen, its network output and people (re-associated when paused).
    last: Option<LiveResult>,
    pub people: Vec<Person>,
    associator: Associator,
    applied: Option<LiveSettings>,
    pub playing: bool,
    ended: bool,
    source_failed: bool,
    texture: Option<TextureHandle>,
    texture_frame: Option<(u64, usize)>,
    debug_texture: Option<TextureHandle>,
    pub stats: Stats,
    started: Instant,
    provider: Option<Provider>,
    skeleton_name: &'static str,
    messages: Vec<String>,
    export: Option<ExportJob>,
    fullscreen: bool,
}

impl PosecamApp {
    pub fn new(ctx: &egui::Context, stored: Option<AppSettings>, options: StartOptions) -> Self {
        let mut settings = stored.unwrap_or_default();
        if let Some(m) = &options.model {
            settings.model = m.display().to_string();
        } else if settings.model.is_empty() || !PathBuf::from(&settings.model).is_file() {
            settings.model = crate::paths::default_model()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
        }
        if let Some(d) = options.device {
            settings.device = d.to_string();
        }
        let cameras = list_cameras();
        let mut app = Self {
            settings,
            ctx: ctx.clone(),
            source: None,
            pipeline: None,
            info: None,
            camera_choice: cameras.first().map(|c| c.index),
            cameras,
            formats: Vec::new(),
            format_choice: None,
            last: None,
            people: Vec::new(),
            associator: Associator::new(),
            applied: None,
            playing: false,
            ended: false,
            source_failed: false,
            texture: None,
            texture_frame: None,
            debug_texture: None,
            stats: Stats::default(),
            started: Instant::now(),
            provider: None,
            skeleton_name: "",
            messages: Vec::new(),
            export: None,
            fullscreen: false,
        };
        let first = options.source.or_else(|| {
            app.camera_choice.map(|index| SourceSpec::Camera {
                index,
                format: None,
            })
        });
        match first {
            Some(spec) => app.open_source(spec),
            None => app
                .say("No webcam found. Open a video or image above, or drop a file on the window."),
        }
        app
    }

    fn say(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        tracing::info!("{msg}");
        self.messages.push(msg);
        if self.messages.len() > 6 {
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
        self.info = None;
        self.ended = false;
        self.source_failed = false;
        self.stats = Stats::default();
        let Some(engine) = self.engine_spec() else {
            self.say(
                "No model: run `posecam model fetch` or choose an .onnx model in the side panel.",
            );
            self.source = Some(spec);
            return;
        };
        let live = self.settings.live();
        let ctx = self.ctx.clone();
        let pipeline = LivePipeline::start(
            spec.clone(),
            engine,
            live.clone(),
            Arc::new(move || ctx.request_repaint()),
        );
        pipeline.control(Control::RealTime(self.settings.real_time));
        self.pipeline = Some(pipeline);
        self.applied = Some(live);
        self.playing = true;
        if !matches!(spec, SourceSpec::Synthetic { .. }) {
            self.settings.last_source = Some(spec.label());
        }
        self.source = Some(spec);
    }

    fn control(&mut self, c: Control) {
        match &c {
            Control::Play => self.playing = true,
            Control::Pause | Control::Step(_) => self.playing = false,
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
        let events: Vec<LiveEvent> = pipeline.events().collect();
        for e in events {
            match e {
                LiveEvent::SourceOpened(info) => {
                    self.say(format!(
                        "{}: {}x{}{}",
                        info.name,
                        info.width,
                        info.height,
                        info.frame_rate
                            .map(|f| format!(" at {f:.1} fps"))
                            .unwrap_or_default()
                    ));
                    self.info = Some(info);
                }
                LiveEvent::ModelLoaded {
                    model,
                    provider,
                    skeleton,
                } => {
                    self.provider = Some(provider);
                    self.skeleton_name = skeleton.name;
                    self.say(format!("model {} on {provider}", model.display()));
                }
                LiveEvent::Result(r) => {
                    self.stats.dropped = r.dropped;
                    self.stats.push(StatSample {
                        at_s: self.started.elapsed().as_secs_f64(),
                        inference_ms: r.timings.inference_ms,
                        association_ms: r.timings.association_ms,
                        latency_ms: r.timings.latency_ms,
                        people: r.people.len(),
                    });
                    self.people = r.people.clone();
                    self.last = Some(*r);
                    self.ended = false;
                }
                LiveEvent::Ended => {
                    self.ended = true;
                    self.playing = false;
                }
                LiveEvent::Error(msg) => {
                    if self.info.as_ref().is_none_or(|i| i.live) {
                        self.source_failed = true;
                    }
                    self.say(msg);
                }
            }
        }
    }

    /// Sends changed settings to the pipeline; while paused, re-associates the frame on screen from its
    /// cached network output so a slider's effect shows at once.
    pub fn apply_settings(&mut self) {
        let live = self.settings.live();
        if self.applied.as_ref() == Some(&live) {
            return;
        }
        if let Some(p) = &self.pipeline {
            p.set_settings(live.clone());
        }
        if let Some(last) = &self.last {
            self.people = self
                .associator
                .run(&last.maps, last.skeleton, &live.thresholds);
        }
        self.applied = Some(live);
    }

    fn snapshot(&mut self) {
        let Some(last) = &self.last else {
            self.say("nothing to snapshot yet");
            return;
        };
        let mut image = (*last.frame.image).clone();
        crate::render::draw_people(
            &mut crate::render::RgbCanvas::from_image(&mut image),
            last.skeleton,
            &self.people,
            &crate::render::OverlayStyle {
                numbers: self.settings.overlay.numbers,
                ..Default::default()
            },
        );
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let base = PathBuf::from(&self.settings.snapshot_dir)
            .join(format!("posecam-{stamp}-{}", last.frame.index));
        let json = serde_json::to_vec(&crate::output::OpenPoseFrame::new(&self.people))
            .unwrap_or_default();
        let result =
            crate::imageio::save_rgb(&base.with_extension("png"), &image, false).and_then(|_| {
                crate::imageio::write_file_atomic(&base.with_extension("json"), false, |f| {
                    std::io::Write::write_all(f, &json).map_err(|e| e.to_string())
                })
            });
        match result {
            Ok(()) => self.say(format!("snapshot saved: {}.png / .json", base.display())),
            Err(e) => self.say(format!("snapshot failed: {e}")),
        }
    }

    fn start_export(&mut self, output: PathBuf) {
        let Some(SourceSpec::Video(input)) = self.source.clone() else {
            return;
        };
        let Some(engine) = self.engine_spec() else {
            return;
        };
        let live = self.settings.live();
        let job = ExportJob {
            output: output.clone(),
            progress: Arc::new(Mutex::new((0, None))),
            cancel: Arc::new(AtomicBool::new(false)),
            result: Arc::new(Mutex::new(None)),
        };
        let (progress, cancel, result, ctx) = (
            job.progress.clone(),
            job.cancel.clone(),
            job.result.clone(),
            self.ctx.clone(),
        );
        let overlay = self.settings.overlay;
        let spawned = std::thread::Builder::new()
            .name("posecam-export".into())
            .spawn(move || {
                let outcome = (|| -> Result<String, String> {
                    let options = EngineOptions {
                        device: engine.device,
                        spin: true,
                        ..Default::default()
                    };
                    let engines = crate::infer::Engine::load_workers(&engine.model, &options, None)
                        .map_err(|e| e.to_string())?;
                    let settings = ExportSettings {
                        net: live.net,
                        thresholds: live.thresholds,
                        style: crate::render::OverlayStyle {
                            limbs: overlay.limbs,
                            joints: overlay.joints,
                            numbers: overlay.numbers,
                            confidence_shading: overlay.confidence_shading,
                            thickness: None,
                        },
                        encode: Default::default(),
                        fps_overlay: false,
                    };
                    // The save dialog confirmed replacing the video; keypoints go to a free name.
                    let request = ExportRequest {
                        input,
                        output: output.clone(),
                        jsonl: Some(free_name_beside(&output, "jsonl")),
                        json_dir: None,
                        overwrite: true,
                    };
                    let report = crate::pipeline::export_file(
                        &request,
                        engines,
                        &settings,
                        cancel,
                        |_| {},
                        |p: ExportProgress| {
                            if let Ok(mut g) = progress.lock() {
                                *g = (p.frames_done, p.frames_total);
                            }
                            ctx.request_repaint();
                        },
                    )
                    .map_err(|e| e.to_string())?;
                    Ok(format!(
                        "{} {} frames to {}",
                        if report.partial {
                            "cancelled: kept"
                        } else {
                            "exported"
                        },
                        report.frames,
                        output.display()
                    ))
                })();
                if let Ok(mut r) = result.lock() {
                    *r = Some(outcome);
                }
            });
        match spawned {
            Ok(_) => self.export = Some(job),
            Err(e) => self.say(format!("cannot start export: {e}")),
        }
    }

    /// Draws the whole window (also driven directly by UI tests).
    pub fn draw(&mut self, ctx: &egui::Context) {
        self.poll();
        self.handle_input(ctx);
        egui::TopBottomPanel::top("source").show(ctx, |ui| self.source_ui(ui));
        egui::SidePanel::right("settings")
            .resizable(true)
            .default_width(290.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.settings_ui(ui));
            });
        egui::TopBottomPanel::bottom("stats")
            .resizable(true)
            .default_height(170.0)
            .show(ctx, |ui| self.stats_ui(ui));
        egui::CentralPanel::default().show(ctx, |ui| self.picture_ui(ui));
        self.apply_settings();
        if self.export.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(200));
        } else if self.pipeline.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        if ctx.wants_keyboard_input() {
            return;
        }
        let (keys, dropped): (Vec<egui::Key>, Vec<PathBuf>) = ctx.input(|i| {
            (
                i.events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::Key {
                            key,
                            pressed: true,
                            repeat: false,
                            ..
                        } => Some(*key),
                        _ => None,
                    })
                    .collect(),
                i.raw
                    .dropped_files
                    .iter()
                    .filter_map(|f| f.path.clone())
                    .collect(),
            )
        });
        for key in keys {
            match key_action(key) {
                Some(KeyAction::TogglePlay) => self.control(if self.playing {
                    Control::Pause
                } else {
                    Control::Play
                }),
                Some(KeyAction::Step(n)) => self.control(Control::Step(n)),
                Some(KeyAction::ToggleFullscreen) => {
                    self.fullscreen = !self.fullscreen;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(self.fullscreen));
                }
                Some(KeyAction::Snapshot) => self.snapshot(),
                None => {}
            }
        }
        if let Some(path) = dropped.into_iter().next() {
            match SourceSpec::parse(&path.display().to_string()) {
                Ok(spec) => self.open_source(spec),
                Err(e) => self.say(e),
            }
        }
    }

    fn source_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            if self.cameras.is_empty() {
                ui.label("No webcam found");
            } else {
                let label = self
                    .camera_choice
                    .and_then(|i| self.cameras.iter().find(|c| c.index == i))
                    .map_or("camera".into(), |c| c.name.clone());
                egui::ComboBox::from_id_salt("camera")
                    .selected_text(label)
                    .show_ui(ui, |ui| {
                        for c in self.cameras.clone() {
                            if ui
                                .selectable_label(self.camera_choice == Some(c.index), &c.name)
                                .clicked()
                            {
                                self.camera_choice = Some(c.index);
                                self.formats = camera_formats(c.index).unwrap_or_default();
                                self.format_choice = None;
                            }
                        }
                    });
                if !self.formats.is_empty() {
                    let text = self
                        .format_choice
                        .map_or("best frame rate".into(), |(w, h, f)| {
                            format!("{w}x{h} @ {f}")
                        });
                    egui::ComboBox::from_id_salt("format")
                        .selected_text(text)
                        .show_ui(ui, |ui| {
                            for f in self.formats.clone() {
                                ui.selectable_value(
                                    &mut self.format_choice,
                                    Some(f),
                                    format!("{}x{} @ {}", f.0, f.1, f.2),
                                );
                            }
                        });
                }
                if ui.button("Open camera").clicked() {
                    if let Some(index) = self.camera_choice {
                        self.open_source(SourceSpec::Camera {
                            index,
                            format: self.format_choice,
                        });
                    }
                }
            }
            if ui.button("Rescan webcams").clicked() {
                self.cameras = list_cameras();
                self.camera_choice = self.cameras.first().map(|c| c.index);
            }
            if ui.button("Open file…").clicked() {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter(
                        "videos and images",
                        &[
                            "mp4", "mkv", "avi", "mov", "webm", "gif", "jpg", "jpeg", "png", "bmp",
                            "webp",
                        ],
                    )
                    .pick_file()
                {
                    match SourceSpec::parse(&path.display().to_string()) {
                        Ok(spec) => self.open_source(spec),
                        Err(e) => self.say(e),
                    }
                }
            }
            if self.source_failed {
                if let Some(spec) = self.source.clone() {
                    if ui
                        .button("Reopen")
                        .on_hover_text("the source failed; try again")
                        .clicked()
                    {
                        self.open_source(spec);
                    }
                }
            }
            ui.separator();
            if let Some(source) = &self.source {
                ui.label(source.label());
            }
        });
        let seekable = self.info.as_ref().is_some_and(|i| i.seekable && !i.live);
        if seekable || self.info.as_ref().is_some_and(|i| i.live) {
            ui.horizontal(|ui| {
                let label = if self.playing {
                    "⏸ Pause"
                } else {
                    "▶ Play"
                };
                if ui.button(label).clicked() {
                    self.control(if self.playing {
                        Control::Pause
                    } else {
                        Control::Play
                    });
                }
                if seekable {
                    if ui.button("◀").on_hover_text("previous frame (←)").clicked() {
                        self.control(Control::Step(-1));
                    }
                    if ui.button("▶|").on_hover_text("next frame (→)").clicked() {
                        self.control(Control::Step(1));
                    }
                    if ui
                        .checkbox(&mut self.settings.real_time, "real time")
                        .on_hover_text("off: as fast as inference goes")
                        .changed()
                    {
                        self.control(Control::RealTime(self.settings.real_time));
                    }
                    let duration = self.info.as_ref().and_then(|i| i.duration_s).unwrap_or(0.0);
                    let mut t = self.last.as_ref().map_or(0.0, |l| l.frame.time_s);
                    let slider = ui.add(
                        egui::Slider::new(&mut t, 0.0..=duration.max(0.01))
                            .suffix(" s")
                            .text("position"),
                    );
                    if slider.drag_stopped() || (slider.changed() && !slider.dragged()) {
                        self.control(Control::Seek(t));
                    }
                    if self.ended {
                        ui.label("end");
                    }
                }
            });
        }
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Detection");
        let t = &mut self.settings.thresholds;
        ui.add(egui::Slider::new(&mut t.peak, 0.0..=1.0).text("Peak threshold"));
        ui.add(egui::Slider::new(&mut t.paf, 0.0..=1.0).text("PAF threshold"));
        ui.add(
            egui::Slider::new(&mut t.paf_sample_fraction, 0.0..=1.0).text("PAF sample fraction"),
        );
        ui.add(egui::Slider::new(&mut t.min_parts, 1..=25).text("Minimum parts"));
        ui.add(egui::Slider::new(&mut t.min_person_score, 0.0..=1.5).text("Minimum person score"));
        if ui.button("CMU defaults").clicked() {
            *t = crate::pose::Thresholds::default();
        }
        ui.separator();
        ui.heading("Network");
        ui.add(
            egui::Slider::new(&mut self.settings.net_height, 96..=1024)
                .step_by(8.0)
                .text("Net input height"),
        );
        ui.horizontal(|ui| {
            ui.label("Scales");
            ui.text_edit_singleline(&mut self.settings.scales)
                .on_hover_text("e.g. 1.0, 0.75, 0.5");
        });
        ui.horizontal(|ui| {
            ui.label("Model");
            ui.text_edit_singleline(&mut self.settings.model);
        });
        ui.horizontal(|ui| {
            if ui.button("Browse…").clicked() {
                if let Some(p) = rfd::FileDialog::new()
                    .add_filter("ONNX model", &["onnx"])
                    .pick_file()
                {
                    self.settings.model = p.display().to_string();
                }
            }
            egui::ComboBox::from_id_salt("device")
                .selected_text(self.settings.device.clone())
                .show_ui(ui, |ui| {
                    for d in ["auto", "cpu", "cuda"] {
                        ui.selectable_value(&mut self.settings.device, d.to_string(), d);
                    }
                });
            if ui.button("Load").clicked() {
                match (&self.pipeline, self.engine_spec()) {
                    (Some(p), Some(spec)) => p.load_engine(spec),
                    _ => {
                        if let Some(spec) = self.source.clone() {
                            self.open_source(spec);
                        }
                    }
                }
            }
        });
        ui.separator();
        ui.heading("Overlay");
        let o = &mut self.settings.overlay;
        ui.checkbox(&mut o.joints, "Joints");
        ui.checkbox(&mut o.limbs, "Limbs");
        ui.checkbox(&mut o.numbers, "Person numbers");
        ui.checkbox(&mut o.confidence_shading, "Confidence shading");
        egui::ComboBox::from_label("Debug view")
            .selected_text(format!("{:?}", o.debug))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut o.debug, DebugView::Off, "Off");
                ui.selectable_value(&mut o.debug, DebugView::Heatmap, "Heatmap");
                ui.selectable_value(&mut o.debug, DebugView::Paf, "PAF");
            });
        if o.debug != DebugView::Off {
            let channels = self.last.as_ref().map_or(1, |l| match o.debug {
                DebugView::Heatmap => l.maps.heatmaps.channels(),
                _ => l.maps.pafs.channels(),
            });
            o.debug_channel = o.debug_channel.min(channels.saturating_sub(1));
            let name = match (o.debug, self.last.as_ref()) {
                (DebugView::Heatmap, Some(l)) => l
                    .skeleton
                    .parts
                    .get(o.debug_channel)
                    .map_or("background", |p| p.name)
                    .to_string(),
                (DebugView::Paf, Some(l)) => l
                    .skeleton
                    .limbs
                    .iter()
                    .find(|lb| lb.paf_x == o.debug_channel || lb.paf_y == o.debug_channel)
                    .map_or(String::new(), |lb| {
                        format!(
                            "{}→{} {}",
                            l.skeleton.parts[lb.from].name,
                            l.skeleton.parts[lb.to].name,
                            if lb.paf_x == o.debug_channel {
                                "x"
                            } else {
                                "y"
                            }
                        )
                    }),
                _ => String::new(),
            };
            ui.add(
                egui::Slider::new(&mut o.debug_channel, 0..=channels.saturating_sub(1))
                    .text("channel"),
            );
            ui.label(name);
            ui.add(egui::Slider::new(&mut o.debug_opacity, 0.0..=1.0).text("opacity"));
        }
        ui.separator();
        ui.heading("Actions");
        ui.horizontal(|ui| {
            if ui.button("Snapshot (S)").clicked() {
                self.snapshot();
            }
            ui.label("to");
            ui.text_edit_singleline(&mut self.settings.snapshot_dir);
        });
        let is_video = matches!(self.source, Some(SourceSpec::Video(_)));
        if let Some(job) = &self.export {
            let (done, total) = job.progress.lock().map(|g| *g).unwrap_or((0, None));
            let fraction = total.map_or(0.0, |t| done as f32 / t.max(1) as f32);
            ui.add(egui::ProgressBar::new(fraction).text(format!(
                "exporting {done}{} frames",
                total.map(|t| format!("/{t}")).unwrap_or_default()
            )));
            if ui.button("Cancel export").clicked() {
                job.cancel.store(true, Ordering::Relaxed);
            }
            let finished = job.result.lock().ok().and_then(|mut r| r.take());
            if let Some(outcome) = finished {
                let out = job.output.display().to_string();
                self.export = None;
                match outcome {
                    Ok(msg) => self.say(msg),
                    Err(e) => self.say(format!("export to {out} failed: {e}")),
                }
            }
        } else if ui
            .add_enabled(is_video, egui::Button::new("Export video…"))
            .on_disabled_hover_text("open a video file first")
            .clicked()
        {
            if let Some(SourceSpec::Video(input)) = &self.source {
                let stem = input
                    .file_stem()
                    .map_or("video".into(), |s| s.to_string_lossy().into_owned());
                if let Some(out) = rfd::FileDialog::new()
                    .set_file_name(format!("{stem}_pose.mp4"))
                    .add_filter("MP4 video", &["mp4"])
                    .save_file()
                {
                    self.start_export(out);
                }
            }
        }
        ui.separator();
        for m in self.messages.iter().rev() {
            ui.label(egui::RichText::new(m).small());
        }
    }

    fn stats_ui(&mut self, ui: &mut egui::Ui) {
        let now = self.started.elapsed().as_secs_f64();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("{:.1} fps", self.stats.fps(now)));
            ui.separator();
            ui.label(format!("latency {:.0} ms", self.stats.mean_latency_ms()));
            ui.separator();
            ui.label(format!(
                "inference {:.1} ms",
                self.stats.mean_inference_ms()
            ));
            ui.separator();
            ui.label(format!(
                "association {:.2} ms",
                self.stats.mean_association_ms()
            ));
            ui.separator();
            ui.label(format!("people: {}", self.people.len()));
            ui.separator();
            ui.label(format!("dropped: {}", self.stats.dropped));
            ui.separator();
            ui.label(format!(
                "provider: {}",
                self.provider.map_or("-".into(), |p| p.to_string())
            ));
            if !self.skeleton_name.is_empty() {
                ui.separator();
                ui.label(self.skeleton_name);
            }
        });
        let series = |f: fn(&StatSample) -> f32| -> egui_plot::PlotPoints {
            self.stats
                .samples
                .iter()
                .map(|s| [s.at_s - now, f(s) as f64])
                .collect()
        };
        egui_plot::Plot::new("timings")
            .legend(egui_plot::Legend::default())
            .include_y(0.0)
            .include_x(-Stats::WINDOW_S)
            .include_x(0.0)
            .y_axis_label("ms")
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(egui_plot::Line::new("latency", series(|s| s.latency_ms)));
                plot.line(egui_plot::Line::new(
                    "inference",
                    series(|s| s.inference_ms),
                ));
                plot.line(egui_plot::Line::new(
                    "association",
                    series(|s| s.association_ms),
                ));
            });
    }

    fn picture_ui(&mut self, ui: &mut egui::Ui) {
        let Some(last) = &self.last else {
            ui.centered_and_justified(|ui| {
                let text = match (&self.source, self.messages.last()) {
                    (None, _) if self.cameras.is_empty() => {
                        "No webcam found.\nOpen a video or image above, or drop a file here."
                            .to_string()
                    }
                    (_, Some(m)) => m.clone(),
                    _ => "Waiting for the first frame…".to_string(),
                };
                ui.label(egui::RichText::new(text).size(18.0));
            });
            return;
        };
        let image = &last.frame.image;
        let size = (image.width(), image.height());
        let key = (last.frame.index, Arc::as_ptr(image) as usize);
        if self.texture_frame != Some(key) {
            let color =
                egui::ColorImage::from_rgb([size.0 as usize, size.1 as usize], image.as_raw());
            match &mut self.texture {
                Some(t) => t.set(color, TextureOptions::LINEAR),
                None => {
                    self.texture = Some(ui.ctx().load_texture(
                        "frame",
                        color,
                        TextureOptions::LINEAR,
                    ))
                }
            }
            self.texture_frame = Some(key);
        }
        let avail = ui.available_rect_before_wrap();
        let r = fit_rect(
            [avail.min.x, avail.min.y, avail.width(), avail.height()],
            size,
        );
        let rect = Rect::from_min_size(Pos2::new(r[0], r[1]), egui::vec2(r[2], r[3]));
        let painter = ui.painter_at(avail);
        if let Some(t) = &self.texture {
            painter.image(
                t.id(),
                rect,
                Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        let o = self.settings.overlay;
        if o.debug != DebugView::Off {
            let maps = &last.maps;
            let (stack, signed) = match o.debug {
                DebugView::Heatmap => (&maps.heatmaps, false),
                _ => (&maps.pafs, true),
            };
            if o.debug_channel < stack.channels() {
                let (gw, gh) = (stack.width(), stack.height());
                let plane = stack.channel_plane(o.debug_channel);
                let alpha = (o.debug_opacity * 255.0) as u8;
                let pixels: Vec<Color32> = plane
                    .iter()
                    .map(|&v| {
                        if signed {
                            let m = (v.abs().min(1.0) * 255.0) as u8;
                            if v >= 0.0 {
                                Color32::from_rgba_unmultiplied(255, 60, 0, m.min(alpha))
                            } else {
                                Color32::from_rgba_unmultiplied(0, 120, 255, m.min(alpha))
                            }
                        } else {
                            let m = (v.clamp(0.0, 1.0) * 255.0) as u8;
                            Color32::from_rgba_unmultiplied(255, m, 0, m.min(alpha))
                        }
                    })
                    .collect();
                let color = egui::ColorImage {
                    size: [gw, gh],
                    source_size: egui::vec2(gw as f32, gh as f32),
                    pixels,
                };
                match &mut self.debug_texture {
                    Some(t) => t.set(color, TextureOptions::LINEAR),
                    None => {
                        self.debug_texture = Some(ui.ctx().load_texture(
                            "debug",
                            color,
                            TextureOptions::LINEAR,
                        ))
                    }
                }
                // The grid's cells are centred on image points: the texture spans half a cell beyond.
                let (x0, y0) = maps.grid_to_image.apply(-0.5, -0.5);
                let (x1, y1) = maps.grid_to_image.apply(gw as f32 - 0.5, gh as f32 - 0.5);
                let (a, b) = (
                    image_to_screen(r, size, (x0 - 0.5, y0 - 0.5)),
                    image_to_screen(r, size, (x1 - 0.5, y1 - 0.5)),
                );
                if let Some(t) = &self.debug_texture {
                    painter.with_clip_rect(rect).image(
                        t.id(),
                        Rect::from_min_max(Pos2::new(a.0, a.1), Pos2::new(b.0, b.1)),
                        Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                        Color32::WHITE,
                    );
                }
            }
        }
        let skeleton = last.skeleton;
        let thickness = (r[3].min(r[2]) / 120.0).max(2.0);
        let shade = |score: f32| {
            if o.confidence_shading {
                score.clamp(0.2, 1.0)
            } else {
                1.0
            }
        };
        let to_screen = |k: &crate::pose::Keypoint| {
            let (x, y) = image_to_screen(r, size, (k.x, k.y));
            Pos2::new(x, y)
        };
        for (i, person) in self.people.iter().enumerate() {
            if o.limbs {
                for limb in skeleton.drawn_limbs() {
                    if let (Some(Some(a)), Some(Some(b))) = (
                        person.keypoints.get(limb.from),
                        person.keypoints.get(limb.to),
                    ) {
                        let [cr, cg, cb] = skeleton.parts[limb.to].color;
                        let alpha = (200.0 * shade(a.score.min(b.score))) as u8;
                        painter.line_segment(
                            [to_screen(a), to_screen(b)],
                            Stroke::new(
                                thickness,
                                Color32::from_rgba_unmultiplied(cr, cg, cb, alpha),
                            ),
                        );
                    }
                }
            }
            if o.joints {
                for (p, k) in person.keypoints.iter().enumerate() {
                    if let (Some(k), Some(def)) = (k, skeleton.parts.get(p)) {
                        let [cr, cg, cb] = def.color;
                        painter.circle_filled(
                            to_screen(k),
                            thickness * 0.9,
                            Color32::from_rgba_unmultiplied(
                                cr,
                                cg,
                                cb,
                                (255.0 * shade(k.score)) as u8,
                            ),
                        );
                    }
                }
            }
            if o.numbers {
                if let Some([x0, y0, _, _]) = person.bounds() {
                    let (x, y) = image_to_screen(r, size, (x0, y0));
                    let galley_pos = Pos2::new(x, y - 4.0);
                    let text = painter.layout_no_wrap(
                        format!("#{}", i + 1),
                        egui::FontId::proportional(15.0),
                        Color32::WHITE,
                    );
                    let bg = Rect::from_min_size(
                        galley_pos - egui::vec2(2.0, text.size().y),
                        text.size() + egui::vec2(4.0, 0.0),
                    );
                    painter.rect_filled(bg, 2.0, Color32::from_black_alpha(160));
                    painter.galley(bg.min + egui::vec2(2.0, 0.0), text, Color32::WHITE);
                }
            }
        }
    }
}

/// `<stem>.<ext>` beside `path`, or `<stem>-2.<ext>`, `<stem>-3.<ext>`... if taken.
fn free_name_beside(path: &std::path::Path, ext: &str) -> PathBuf {
    let first = path.with_extension(ext);
    if !first.exists() {
        return first;
    }
    let stem = path
        .file_stem()
        .map_or_else(|| "keypoints".into(), |s| s.to_string_lossy().into_owned());
    (2..)
        .map(|n| path.with_file_name(format!("{stem}-{n}.{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

impl eframe::App for PosecamApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.draw(ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.settings);
    }
}

/// Opens the window; returns when it closes.
pub fn run(options: StartOptions) -> Result<(), String> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("posecam")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "posecam",
        native,
        Box::new(move |cc| {
            let stored = cc.storage.and_then(|s| eframe::get_value::<AppSettings>(s, STORAGE_KEY));
            Ok(Box::new(PosecamApp::new(&cc.egui_ctx, stored, options)))
        }),
    )
    .map_err(|e| format!("cannot open a window: {e} (no display? `posecam image`/`posecam export` work without one)"))
}

#[cfg(test)]
mod tests {
    use super::free_name_beside;

    #[test]
    fn keypoint_files_never_replace_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("clip_pose.mp4");
        assert_eq!(
            free_name_beside(&video, "jsonl"),
            dir.path().join("clip_pose.jsonl")
        );
        std::fs::write(dir.path().join("clip_pose.jsonl"), "x").unwrap();
        assert_eq!(
            free_name_beside(&video, "jsonl"),
            dir.path().join("clip_pose-2.jsonl")
        );
    }
}
