//! The top bar: where frames come from (webcams, files) and the transport (play, pause, step, seek).

use eframe::egui;

use super::state::{AppSettings, Command};
use crate::capture::{camera_formats, CameraDesc, SourceInfo, SourceSpec};
use crate::pipeline::Control;

/// File types offered by the open dialog.
const OPENABLE: &[&str] = &[
    "mp4", "mkv", "avi", "mov", "webm", "gif", "ts", "jpg", "jpeg", "png", "bmp", "webp",
];

/// The source chooser's own state: webcams, and a stream URL being typed.
#[derive(Debug, Default)]
pub struct CameraPicker {
    pub cameras: Vec<CameraDesc>,
    pub choice: Option<u32>,
    pub formats: Vec<(u32, u32, u32)>,
    pub format: Option<(u32, u32, u32)>,
    pub url: String,
}

impl CameraPicker {
    pub fn new(cameras: Vec<CameraDesc>) -> Self {
        Self {
            choice: cameras.first().map(|c| c.index),
            cameras,
            ..Self::default()
        }
    }
}

/// What the transport shows about the source.
pub struct Transport<'a> {
    pub source: Option<&'a SourceSpec>,
    /// Streams opened lately, without passwords.
    pub recent: &'a [String],
    pub info: Option<&'a SourceInfo>,
    pub playing: bool,
    pub ended: bool,
    pub failed: bool,
    /// Position of the frame on screen, seconds.
    pub position_s: f64,
}

pub fn source_ui(
    ui: &mut egui::Ui,
    picker: &mut CameraPicker,
    view: &Transport<'_>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal_wrapped(|ui| {
        camera_ui(ui, picker, &mut commands);
        if ui.button("Open file…").clicked() {
            if let Some(path) = rfd::FileDialog::new()
                .add_filter("videos and images", OPENABLE)
                .pick_file()
            {
                commands.push(open_path(&path.display().to_string()));
            }
        }
        url_ui(ui, &mut picker.url, view.recent, &mut commands);
        if view.failed
            && view.source.is_some()
            && ui
                .button("Reopen")
                .on_hover_text("the source failed; try again")
                .clicked()
        {
            commands.push(Command::Reopen);
        }
        ui.separator();
        if let Some(source) = view.source {
            ui.label(source.label());
        }
    });
    commands
}

/// A network camera or stream: `rtsp://`, `http(s)://`, `udp://`, `srt://`...
fn url_ui(ui: &mut egui::Ui, url: &mut String, recent: &[String], commands: &mut Vec<Command>) {
    if !recent.is_empty() {
        egui::ComboBox::from_id_salt("recent-streams")
            .selected_text("Recent")
            .show_ui(ui, |ui| {
                for r in recent {
                    if ui.selectable_label(false, r).clicked() {
                        // Without its password: type it, or name it as ${VARIABLE} in the URL.
                        url.clone_from(r);
                    }
                }
            })
            .response
            .on_hover_text(
                "streams opened lately (passwords are never kept: type them, or use ${VAR})",
            );
    }
    let field = ui.add(
        egui::TextEdit::singleline(url)
            .hint_text("rtsp://… http://… udp://…")
            .desired_width(180.0),
    );
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if (ui.button("Open URL").clicked() || entered) && !url.trim().is_empty() {
        let text = url.trim();
        commands.push(if crate::video::is_stream_url(std::path::Path::new(text)) {
            let open = Command::Open(SourceSpec::Stream(text.to_string()));
            // The field keeps the URL for next time, but not a typed password.
            *url = crate::io::redact::without_password(text);
            open
        } else {
            Command::Say(format!(
                "'{text}' is not a stream URL ({}://...)",
                crate::video::STREAM_SCHEMES.join("://, ")
            ))
        });
    }
}

/// A command to open what the user named (a dropped or picked file).
pub fn open_path(text: &str) -> Command {
    match SourceSpec::parse(text) {
        Ok(spec) => Command::Open(spec),
        Err(e) => Command::Say(e.to_string()),
    }
}

fn camera_ui(ui: &mut egui::Ui, picker: &mut CameraPicker, commands: &mut Vec<Command>) {
    if picker.cameras.is_empty() {
        ui.label("No webcam found");
    } else {
        let label = picker
            .choice
            .and_then(|i| picker.cameras.iter().find(|c| c.index == i))
            .map_or("camera".into(), |c| c.name.clone());
        egui::ComboBox::from_id_salt("camera")
            .selected_text(label)
            .show_ui(ui, |ui| {
                for c in picker.cameras.clone() {
                    if ui
                        .selectable_label(picker.choice == Some(c.index), &c.name)
                        .clicked()
                    {
                        picker.choice = Some(c.index);
                        picker.formats = camera_formats(c.index).unwrap_or_default();
                        picker.format = None;
                    }
                }
            });
        if !picker.formats.is_empty() {
            let text = picker.format.map_or("best frame rate".into(), |(w, h, f)| {
                format!("{w}x{h} @ {f}")
            });
            egui::ComboBox::from_id_salt("format")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    for f in picker.formats.clone() {
                        let label = format!("{}x{} @ {}", f.0, f.1, f.2);
                        ui.selectable_value(&mut picker.format, Some(f), label);
                    }
                });
        }
        if ui.button("Open camera").clicked() {
            if let Some(index) = picker.choice {
                commands.push(Command::Open(SourceSpec::Camera {
                    index,
                    format: picker.format,
                }));
            }
        }
    }
    if ui.button("Rescan webcams").clicked() {
        commands.push(Command::RescanCameras);
    }
}

pub fn transport_ui(
    ui: &mut egui::Ui,
    settings: &mut AppSettings,
    view: &Transport<'_>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(info) = view.info else {
        return commands;
    };
    let seekable = info.seekable && !info.live;
    if !seekable && !info.live {
        return commands;
    }
    ui.horizontal(|ui| {
        let (label, control) = if view.playing {
            ("⏸ Pause", Control::Pause)
        } else {
            ("▶ Play", Control::Play)
        };
        if ui.button(label).clicked() {
            commands.push(Command::Control(control));
        }
        if !seekable {
            // Applies when the source is opened again.
            if ui
                .checkbox(&mut settings.every_frame, "every frame")
                .on_hover_text(
                    "keep every frame for analysis (latency grows when inference is slower); \
                     off: the newest frame, for watching. Applies on Reopen.",
                )
                .changed()
            {
                commands.push(Command::Reopen);
            }
            return;
        }
        if ui.button("◀").on_hover_text("previous frame (←)").clicked() {
            commands.push(Command::Control(Control::Step(-1)));
        }
        if ui.button("▶|").on_hover_text("next frame (→)").clicked() {
            commands.push(Command::Control(Control::Step(1)));
        }
        if ui
            .checkbox(&mut settings.real_time, "real time")
            .on_hover_text("off: as fast as inference goes")
            .changed()
        {
            commands.push(Command::Control(Control::RealTime(settings.real_time)));
        }
        let duration = info.duration_s.unwrap_or(0.0);
        let mut t = view.position_s;
        let slider = ui.add(
            egui::Slider::new(&mut t, 0.0..=duration.max(0.01))
                .suffix(" s")
                .text("position"),
        );
        if slider.drag_stopped() || (slider.changed() && !slider.dragged()) {
            commands.push(Command::Control(Control::Seek(t)));
        }
        if view.ended {
            ui.label("end");
        }
    });
    commands
}
