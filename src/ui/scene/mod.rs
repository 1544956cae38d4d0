//! The scene window: several calibrated views opened as one scene. The views sit in a grid with the
//! 3D people projected back into each; a 3D view shows the people, the floor and the cameras; a
//! timeline plays, pauses and steps; and the triangulation's thresholds are sliders that rebuild the
//! scene at once (the 2D is kept, so only the fast 3D stages run again).

mod fit;
pub mod loader;
pub mod orbit;
mod tiles;
mod view3d;

use std::time::{Duration, Instant};

use eframe::egui;

use crate::multiview::scene::{
    frame_sets, reconstruct, Scene, ScenePerson, SceneSettings, DEFAULT_MIN_FRAMES,
};
use crate::multiview::summary::{measured_limbs, summarise, SceneSummary};
use crate::multiview::triangulate::TriangulationSettings;
use loader::Loader;
pub use loader::{LoadError, SceneData, SceneEngines, SceneOptions};
use orbit::Orbit;
use tiles::ViewTextures;

/// The triangulation thresholds the sliders set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sliders {
    pub max_reprojection_px: f64,
    pub min_views: usize,
}

impl Default for Sliders {
    fn default() -> Self {
        let t = TriangulationSettings::default();
        Self {
            max_reprojection_px: t.max_reprojection_px,
            min_views: t.min_views,
        }
    }
}

/// What the controls ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    Play(bool),
    TogglePlay,
    Step(i64),
    Seek(usize),
    Sliders(Sliders),
}

/// A loaded scene and the 3D built from it with `built_with`.
struct Built {
    data: SceneData,
    scene: Scene,
    summary: SceneSummary,
    built_with: Sliders,
}

pub struct SceneApp {
    loader: Option<Loader>,
    built: Option<Built>,
    error: Option<String>,
    pub sliders: Sliders,
    /// The frame set shown.
    pub frame: usize,
    pub playing: bool,
    pub orbit: Orbit,
    textures: ViewTextures,
    last_step: Instant,
}

impl SceneApp {
    pub fn new(options: SceneOptions) -> Self {
        Self {
            loader: Some(Loader::start(options)),
            built: None,
            error: None,
            sliders: Sliders::default(),
            frame: 0,
            playing: false,
            orbit: Orbit::framing(nalgebra::Point3::origin(), &[]),
            textures: ViewTextures::default(),
            last_step: Instant::now(),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.built.is_some()
    }

    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    pub fn frame_sets(&self) -> usize {
        self.built.as_ref().map_or(0, |b| b.scene.sets.len())
    }

    /// The 3D people of the frame set shown.
    pub fn people_now(&self) -> &[ScenePerson] {
        self.built
            .as_ref()
            .and_then(|b| b.scene.people.get(self.frame))
            .map_or(&[], Vec::as_slice)
    }

    /// Joints triangulated over the whole clip, at the sliders' thresholds.
    pub fn joints_in_clip(&self) -> usize {
        self.built.as_ref().map_or(0, |b| {
            b.scene
                .people
                .iter()
                .flatten()
                .map(|p| p.person.joint_count())
                .sum()
        })
    }

    pub fn draw(&mut self, ctx: &egui::Context) {
        self.poll_loader(ctx);
        let mut commands = Vec::new();
        egui::TopBottomPanel::top("scene-controls").show(ctx, |ui| {
            commands = self.controls(ui);
        });
        commands.extend(keys(ctx));
        for c in commands {
            self.apply(c);
        }
        self.rebuild_if_needed();
        self.advance(ctx);
        egui::CentralPanel::default().show(ctx, |ui| self.views(ui));
    }

    fn poll_loader(&mut self, ctx: &egui::Context) {
        let Some(loader) = &self.loader else { return };
        match loader.poll() {
            None => ctx.request_repaint_after(Duration::from_millis(100)),
            Some(Err(e)) => {
                self.error = Some(e.to_string());
                self.loader = None;
            }
            Some(Ok(data)) => {
                let target = data.rig.look_at().unwrap_or(nalgebra::Point3::origin());
                let centres: Vec<_> = data.rig.cameras.iter().map(|c| c.centre()).collect();
                self.orbit = Orbit::framing(target, &centres);
                let (scene, summary) = build(&data, self.sliders);
                self.built = Some(Built {
                    data,
                    scene,
                    summary,
                    built_with: self.sliders,
                });
                self.loader = None;
            }
        }
    }

    fn controls(&self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut out = Vec::new();
        ui.horizontal_wrapped(|ui| {
            ui.heading("Scene");
            let mut s = self.sliders;
            ui.add(
                egui::Slider::new(&mut s.max_reprojection_px, 1.0..=50.0)
                    .text("Max reprojection (px)"),
            );
            ui.add(egui::Slider::new(&mut s.min_views, 2..=8).text("Min views"));
            if s != self.sliders {
                out.push(Command::Sliders(s));
            }
            ui.separator();
            let sets = self.frame_sets();
            if ui
                .button(if self.playing { "Pause" } else { "Play" })
                .clicked()
            {
                out.push(Command::Play(!self.playing));
            }
            if ui.button("◀ Step").clicked() {
                out.push(Command::Step(-1));
            }
            if ui.button("Step ▶").clicked() {
                out.push(Command::Step(1));
            }
            let mut frame = self.frame;
            let last = sets.saturating_sub(1);
            ui.add(egui::Slider::new(&mut frame, 0..=last).text("Frame set"));
            if frame != self.frame {
                out.push(Command::Seek(frame));
            }
            if let Some(b) = &self.built {
                let people = self.people_now();
                let joints: usize = people.iter().map(|p| p.person.joint_count()).sum();
                ui.label(format!("{} people, {joints} joints in 3D", people.len()));
                if b.data.truncated {
                    ui.label(format!("(the first {sets} frames)"));
                }
                if b.data.offsets_s.iter().any(|o| *o != 0.0) {
                    let shown: Vec<String> = b
                        .data
                        .rig
                        .cameras
                        .iter()
                        .zip(&b.data.offsets_s)
                        .map(|(c, o)| format!("{} {o:+.3} s", c.name))
                        .collect();
                    ui.label(format!("offsets: {}", shown.join(", ")));
                }
            }
        });
        out
    }

    fn apply(&mut self, command: Command) {
        let last = self.frame_sets().saturating_sub(1);
        match command {
            Command::Play(on) => {
                self.playing = on;
                self.last_step = Instant::now();
            }
            Command::TogglePlay => {
                self.playing = !self.playing;
                self.last_step = Instant::now();
            }
            Command::Step(by) => {
                self.playing = false;
                self.frame = self.frame.saturating_add_signed(by as isize).min(last);
            }
            Command::Seek(f) => self.frame = f.min(last),
            Command::Sliders(s) => self.sliders = s,
        }
    }

    /// The sliders moved: the 3D stages run again on the kept 2D.
    fn rebuild_if_needed(&mut self) {
        let sliders = self.sliders;
        if let Some(b) = self.built.as_mut().filter(|b| b.built_with != sliders) {
            (b.scene, b.summary) = build(&b.data, sliders);
            b.built_with = sliders;
        }
    }

    /// While playing, moves on when the next frame set's time has come.
    fn advance(&mut self, ctx: &egui::Context) {
        let Some(b) = self.built.as_ref().filter(|_| self.playing) else {
            return;
        };
        let sets = &b.scene.sets;
        let next = (self.frame + 1) % sets.len().max(1);
        let step = match (sets.get(self.frame), sets.get(next)) {
            (Some(a), Some(b)) if b.time_s > a.time_s => b.time_s - a.time_s,
            _ => 1.0 / 30.0,
        };
        let wait = Duration::from_secs_f64(step);
        if self.last_step.elapsed() >= wait {
            self.frame = next;
            self.last_step = Instant::now();
        }
        ctx.request_repaint_after(wait / 2);
    }

    fn views(&mut self, ui: &mut egui::Ui) {
        if let Some(e) = &self.error {
            ui.colored_label(
                egui::Color32::LIGHT_RED,
                format!("Cannot open the scene: {e}"),
            );
            return;
        }
        let Some(b) = &self.built else {
            let (frames, pictures) = self.loader.as_ref().map_or((0, 0), |l| {
                (
                    l.frames_done.load(std::sync::atomic::Ordering::Relaxed),
                    l.pictures_done.load(std::sync::atomic::Ordering::Relaxed),
                )
            });
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Finding people in every view: {frames} frames, {pictures} pictures"
                ));
            });
            return;
        };
        let people = b
            .scene
            .people
            .get(self.frame)
            .map_or(&[][..], Vec::as_slice);
        let Some(set) = b.scene.sets.get(self.frame) else {
            ui.label("The views have no frames.");
            return;
        };
        let half = ui.available_width() / 2.0;
        egui::SidePanel::right("scene-3d")
            .resizable(true)
            .default_width(half)
            .show_inside(ui, |ui| {
                egui::TopBottomPanel::bottom("scene-fit").show_inside(ui, |ui| {
                    fit::show(ui, &b.summary);
                });
                ui.label("3D view: drag to orbit, right-drag to pan, scroll to zoom");
                view3d::show(ui, &mut self.orbit, &b.data, people);
            });
        tiles::show(ui, &mut self.textures, &b.data, set, people);
    }
}

/// Space plays and pauses; the arrows step.
fn keys(ctx: &egui::Context) -> Vec<Command> {
    ctx.input(|i| {
        let mut out = Vec::new();
        if i.key_pressed(egui::Key::Space) {
            out.push(Command::TogglePlay);
        }
        if i.key_pressed(egui::Key::ArrowRight) {
            out.push(Command::Step(1));
        }
        if i.key_pressed(egui::Key::ArrowLeft) {
            out.push(Command::Step(-1));
        }
        out
    })
}

/// The 3D scene of `data` at these thresholds (its views put in step by its offsets), and how well
/// it fits.
fn build(data: &SceneData, sliders: Sliders) -> (Scene, SceneSummary) {
    let times: Vec<Vec<f64>> = data.clips.iter().map(|c| c.times.clone()).collect();
    let sets = frame_sets(&times, &data.offsets_s);
    let settings = SceneSettings {
        triangulation: TriangulationSettings {
            max_reprojection_px: sliders.max_reprojection_px,
            min_views: sliders.min_views,
            ..TriangulationSettings::default()
        },
        min_frames: DEFAULT_MIN_FRAMES.min(sets.len() / 4).max(1),
        ..SceneSettings::default()
    };
    let scene = reconstruct(
        &data.rig,
        &data.clips,
        sets,
        &data.skeleton.mirror(),
        &settings,
    );
    let summary = summarise(
        &data.rig,
        &data.clips,
        &scene,
        &measured_limbs(data.skeleton),
    );
    (scene, summary)
}
