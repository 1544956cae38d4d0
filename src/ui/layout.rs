//! How the window is laid out each frame: the side panel, the picture, the stats, the angle plot,
//! and the keys. Each part returns the commands it wants; [`PosecamApp::draw`] applies them after
//! drawing.

use std::time::Duration;

use eframe::egui;

use super::source_panel::{self, Transport};
use super::state::{key_action, AngleHistory, Command};
use super::{actions_panel, picture, settings_panels, stats_panel, PosecamApp};
use crate::track::angles;

impl PosecamApp {
    /// Draws the whole window (also driven directly by UI tests).
    pub fn draw(&mut self, ctx: &egui::Context) {
        self.poll();
        self.check_export();
        let mut commands = self.input_commands(ctx);
        let recent = self.settings.recent_streams.clone();
        let transport = Transport {
            source: self.source.as_ref(),
            recent: &recent,
            info: self.info.as_ref(),
            playing: self.playing,
            ended: self.ended,
            failed: self.source_failed,
            position_s: self.last.as_ref().map_or(0.0, |l| l.frame.time_s),
        };
        egui::TopBottomPanel::top("source").show(ctx, |ui| {
            commands.extend(source_panel::source_ui(ui, &mut self.cameras, &transport));
            commands.extend(source_panel::transport_ui(
                ui,
                &mut self.settings,
                &transport,
            ));
        });
        egui::SidePanel::right("settings")
            .resizable(true)
            .default_width(290.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| commands.extend(self.side_ui(ui)));
            });
        egui::TopBottomPanel::bottom("stats")
            .resizable(true)
            .default_height(170.0)
            .show(ctx, |ui| self.stats_ui(ui));
        egui::CentralPanel::default().show(ctx, |ui| commands.extend(self.picture_ui(ui)));
        self.angles_ui(ctx);
        self.apply(commands);
        self.apply_settings();
        let every = if self.export.is_some() { 200 } else { 500 };
        if self.export.is_some() || self.pipeline.is_some() {
            ctx.request_repaint_after(Duration::from_millis(every));
        }
    }

    fn side_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let mut commands = settings_panels::detection_ui(ui, &mut self.settings);
        ui.separator();
        commands.extend(settings_panels::tracking_ui(
            ui,
            &mut self.settings,
            self.angles.id,
        ));
        ui.separator();
        settings_panels::overlay_ui(ui, &mut self.settings, self.last.as_ref());
        ui.separator();
        commands.extend(actions_panel::actions_ui(
            ui,
            &mut self.settings,
            self.source.as_ref(),
            self.export.as_ref(),
            &self.messages,
        ));
        commands
    }

    fn stats_ui(&self, ui: &mut egui::Ui) {
        let view = stats_panel::StatsView {
            stats: &self.stats,
            now_s: self.started.elapsed().as_secs_f64(),
            people: self.people.len(),
            provider: self.model.provider.map_or("-".into(), |p| p.to_string()),
            skeleton: self.model.skeleton,
            workers: self.model.workers,
        };
        stats_panel::stats_ui(ui, &view);
    }

    fn picture_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let Some(last) = &self.last else {
            let text = match (&self.source, self.messages.last()) {
                (None, _) if self.cameras.cameras.is_empty() => {
                    "No webcam found.\nOpen a video or image above, or drop a file here."
                        .to_string()
                }
                (_, Some(m)) => m.clone(),
                _ => "Waiting for the first frame…".to_string(),
            };
            ui.centered_and_justified(|ui| ui.label(egui::RichText::new(text).size(18.0)));
            return Vec::new();
        };
        let overlay = picture::Overlay {
            people: &self.people,
            tracked: &self.tracked,
            style: &self.settings.overlay,
            debug: &self.settings.debug,
        };
        let clicked = picture::picture_ui(ui, &mut self.textures, last, &overlay);
        match clicked.map(|i| self.tracked.get(i).and_then(|t| t.id)) {
            Some(Some(id)) => vec![Command::Follow(Some(id))],
            Some(None) => vec![Command::Say(
                "that person has no ID yet (tracking is off or still confirming)".into(),
            )],
            None => Vec::new(),
        }
    }

    /// The followed person's joint angles over the last seconds.
    fn angles_ui(&mut self, ctx: &egui::Context) {
        let Some(id) = self.angles.id else {
            return;
        };
        let mut open = true;
        let now = self.started.elapsed().as_secs_f64();
        egui::Window::new(format!("Joint angles of #{id}"))
            .open(&mut open)
            .default_size([420.0, 260.0])
            .show(ctx, |ui| {
                egui_plot::Plot::new("angles")
                    .legend(egui_plot::Legend::default())
                    .include_y(0.0)
                    .include_y(180.0)
                    .include_x(-AngleHistory::WINDOW_S)
                    .include_x(0.0)
                    .y_axis_label("degrees")
                    .allow_scroll(false)
                    .show(ui, |plot| {
                        for (i, def) in angles::JOINT_ANGLES.iter().enumerate() {
                            let points: egui_plot::PlotPoints = self.angles.series(i, now).into();
                            plot.line(egui_plot::Line::new(def.name, points));
                        }
                    });
            });
        if !open {
            self.angles.follow(None);
        }
    }

    /// Keys and dropped files, as commands.
    fn input_commands(&self, ctx: &egui::Context) -> Vec<Command> {
        if ctx.wants_keyboard_input() {
            return Vec::new();
        }
        let playing = self.playing;
        ctx.input(|i| {
            let keys = i.events.iter().filter_map(|e| match e {
                egui::Event::Key {
                    key,
                    pressed: true,
                    repeat: false,
                    ..
                } => key_action(*key).map(|a| a.command(playing)),
                _ => None,
            });
            let dropped = i.raw.dropped_files.iter().filter_map(|f| f.path.clone());
            let dropped = dropped
                .take(1)
                .map(|p| source_panel::open_path(&p.display().to_string()));
            keys.chain(dropped).collect()
        })
    }
}
