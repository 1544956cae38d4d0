//! How the window is laid out each frame: the top bar (source, transport, actions), the side panel
//! (messages and settings, scrolling), the stats and the docked angle plot at the bottom, and the
//! picture with its banner and presence strip. Each part returns the commands it wants;
//! [`PosecamApp::draw`] applies them after drawing. Nothing here waits on a dialog or a device.

use std::time::Duration;

use eframe::egui;

use super::angles_panel::{self, AnglesView};
use super::motion_view::{self, AngleRows};
use super::settings_panels::{self, ScalesField};
use super::source_panel::{self, Transport};
use super::state::{key_action, Command, Hint};
use super::strip::{self, TimelineViews};
use super::tasks::{open_path, suggested_name};
use super::{actions_panel, banner, picture, stats_panel, PosecamApp};

/// While playing, the stats redraw this often even without a new frame.
const PLAYING_REFRESH: Duration = Duration::from_millis(250);

impl PosecamApp {
    /// Draws the whole window (also driven directly by UI tests).
    pub fn draw(&mut self, ctx: &egui::Context) {
        if let Some(scene) = self.runtime.scene.as_mut() {
            let mut back = false;
            egui::TopBottomPanel::top("scene-back").show(ctx, |ui| {
                back = ui.button("◀ Back to the single view").clicked();
            });
            scene.draw(ctx);
            if back {
                self.apply(vec![Command::CloseScene]);
            }
            return;
        }
        self.poll();
        self.check_export();
        let mut commands = self.runtime.background.answers();
        commands.extend(self.input_commands(ctx));
        egui::TopBottomPanel::top("source").show(ctx, |ui| commands.extend(self.top_ui(ui)));
        egui::SidePanel::right("settings")
            .resizable(true)
            .default_width(280.0)
            .width_range(200.0..=520.0)
            .show(ctx, |ui| {
                // A solid bar, always there: the panel is taller than small windows.
                ui.spacing_mut().scroll = egui::style::ScrollStyle::solid();
                egui::ScrollArea::vertical()
                    .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysVisible)
                    .auto_shrink([false, false])
                    .show(ui, |ui| commands.extend(self.side_ui(ui)));
            });
        egui::TopBottomPanel::bottom("stats")
            .resizable(true)
            .default_height(130.0)
            .show(ctx, |ui| self.stats_ui(ui));
        if self.view.followed.is_some() {
            egui::TopBottomPanel::bottom("angles")
                .resizable(true)
                .default_height(if self.is_still() { 200.0 } else { 220.0 })
                .show(ctx, |ui| commands.extend(self.angles_ui(ui)));
        }
        egui::CentralPanel::default().show(ctx, |ui| commands.extend(self.central_ui(ui)));
        self.apply(commands);
        self.apply_settings();
        self.fetch_maps();
        // Idle costs nothing: paused, ended or failed, only input or a pipeline event repaints.
        if self.runtime.export.is_some() || (self.view.playing && self.runtime.pipeline.is_some()) {
            ctx.request_repaint_after(PLAYING_REFRESH);
        }
    }

    fn top_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let recent = self.settings.recent_streams.clone();
        let still = self.is_still();
        let v = &mut self.view;
        let transport = Transport {
            source: v.source.as_ref(),
            recent: &recent,
            info: v.info.as_ref(),
            playing: v.playing,
            ended: v.ended,
            still,
            position_s: v.last.as_ref().map_or(0.0, |l| l.frame.time_s),
        };
        let mut commands = source_panel::source_ui(ui, &mut v.cameras, &transport);
        ui.horizontal_wrapped(|ui| {
            commands.extend(actions_panel::actions_ui(
                ui,
                &self.settings,
                transport.source,
                self.runtime.export.as_ref(),
            ));
            ui.separator();
            commands.extend(source_panel::transport_ui(
                ui,
                &mut self.settings,
                &transport,
            ));
        });
        commands
    }

    fn side_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        actions_panel::messages_ui(ui, &self.view.messages);
        settings_panels::detection_ui(ui, &mut self.settings);
        let v = &mut self.view;
        let scales = ScalesField {
            text: &mut v.scales_text,
            error: &mut v.scales_error,
        };
        let mut commands = settings_panels::network_ui(ui, &mut self.settings, scales);
        commands.extend(settings_panels::tracking_ui(
            ui,
            &mut self.settings,
            v.followed,
        ));
        settings_panels::overlay_ui(ui, &mut self.settings, v.last.as_ref());
        commands
    }

    /// Seconds on the stats' clock: it stands still while paused.
    fn stats_now_s(&self) -> f64 {
        self.view.frozen_at_s.unwrap_or_else(|| self.now_s())
    }

    fn stats_ui(&self, ui: &mut egui::Ui) {
        let kept = self.keeps_timeline().then(|| {
            self.view
                .timeline
                .read()
                .map_or((0, 0), |t| (t.len(), t.heap_bytes()))
        });
        let view = stats_panel::StatsView {
            stats: &self.view.stats,
            now_s: self.stats_now_s(),
            people: self.view.people.len(),
            provider: self
                .view
                .model
                .provider
                .map_or("-".into(), |p| p.to_string()),
            skeleton: self.view.model.skeleton,
            workers: self.view.model.workers,
            kept,
        };
        stats_panel::stats_ui(ui, &view);
    }

    /// The picture, the banner over it, and (files) the presence strip under it.
    fn central_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let file = self.keeps_timeline() && !self.is_still();
        let duration = self.view.info.as_ref().and_then(|i| i.duration_s);
        let mut commands = Vec::new();
        if let (true, Some(duration)) = (file, duration) {
            let position = self.view.last.as_ref().map_or(0.0, |l| l.frame.time_s);
            let followed = self.view.followed;
            let presence = &self.strip_views().presence;
            egui::TopBottomPanel::bottom("presence")
                .frame(egui::Frame::NONE)
                .show_separator_line(false)
                .show_inside(ui, |ui| {
                    commands.extend(strip::strip_ui(ui, presence, duration, position, followed));
                });
        }
        let area = ui.available_rect_before_wrap();
        commands.extend(self.picture_ui(ui));
        if let Some(b) = &self.view.banner {
            commands.extend(banner::banner_ui(ui, area, b));
        }
        commands
    }

    /// The timeline's views, brought up to date.
    fn strip_views(&mut self) -> &TimelineViews {
        let frame_s = self
            .view
            .info
            .as_ref()
            .and_then(|i| i.frame_rate)
            .map_or(0.04, |f| 1.0 / f.max(1.0));
        let skeleton = self.view.last.as_ref().map(|l| l.skeleton);
        if let Ok(t) = self.view.timeline.read() {
            let (followed, playing) = (self.view.followed, self.view.playing);
            let angles = (skeleton, self.view.angle_options);
            self.view
                .views
                .refresh(&t, followed, angles, frame_s, playing);
        }
        &self.view.views
    }

    fn picture_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let Some(last) = &self.view.last else {
            let text = match (&self.view.source, self.view.messages.last()) {
                (None, _) if self.view.cameras.cameras.is_empty() => {
                    "No webcam found.\nOpen a video or image above, or drop a file here."
                        .to_string()
                }
                (Some(_), _) if self.view.banner.is_some() => String::new(),
                (_, Some(m)) => m.text.clone(),
                _ => "Waiting for the first frame…".to_string(),
            };
            ui.centered_and_justified(|ui| ui.label(egui::RichText::new(text).size(18.0)));
            return Vec::new();
        };
        let overlay = picture::Overlay {
            people: &self.view.people,
            tracked: &self.view.tracked,
            style: &self.settings.overlay,
            debug: &self.settings.debug,
            followed: self.view.followed,
        };
        let clicked = picture::picture_ui(ui, &mut self.runtime.textures, last, &overlay);
        match clicked.map(|i| self.view.tracked.get(i).and_then(|t| t.id)) {
            Some(Some(id)) => vec![Command::Follow(Some(id))],
            Some(None) if !self.settings.tracking => vec![Command::Hint(
                Hint::NoId,
                "turn on \"Follow people\" to follow someone's joint angles".into(),
            )],
            Some(None) => vec![Command::Hint(
                Hint::NoId,
                "that person has no ID yet: they get one once seen in a few frames".into(),
            )],
            None => Vec::new(),
        }
    }

    /// The followed person's angles, docked under the picture.
    fn angles_ui(&mut self, ui: &mut egui::Ui) -> Vec<Command> {
        let Some(id) = self.view.followed else {
            return Vec::new();
        };
        let file = self.keeps_timeline();
        let now_s = match file {
            true => self.view.last.as_ref().map_or(0.0, |l| l.frame.time_s),
            false => self.stats_now_s(),
        };
        let csv_name = suggested_name(self.view.source.as_ref(), &format!("_angles_{id}.csv"));
        let still = self.is_still();
        let options = self.view.angle_options;
        let skeleton = self.view.last.as_ref().map(|l| l.skeleton);
        let live_now = skeleton.and_then(|s| self.view.live_angles(s, id));
        let live: AngleRows;
        let data: &AngleRows = if file {
            &self.strip_views().angles
        } else {
            live = AngleRows {
                names: skeleton.map_or_else(Vec::new, |s| motion_view::names(s, options.kind)),
                rows: self.view.angles.samples.iter().cloned().collect(),
                speed: Vec::new(),
            };
            &live
        };
        // The frame on screen: its row of the file's analysis, or the live keypoints' angles.
        let at = data.rows.iter().position(|(t, _)| (t - now_s).abs() < 1e-6);
        let current = match file {
            true => at.map(|i| data.rows[i].1.clone()),
            false => live_now,
        };
        let view = AnglesView {
            id,
            data,
            file,
            still,
            now_s,
            current,
            speed_now: at.and_then(|i| data.speed.get(i).copied().flatten()),
            options,
            csv_name,
        };
        angles_panel::angles_ui(ui, &view)
    }

    /// Keys and dropped files, as commands.
    fn input_commands(&self, ctx: &egui::Context) -> Vec<Command> {
        if ctx.wants_keyboard_input() {
            return Vec::new();
        }
        let playing = self.view.playing;
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
            let dropped = dropped.take(1).map(|p| open_path(&p.display().to_string()));
            keys.chain(dropped).collect()
        })
    }
}
