//! The top bar: where frames come from (webcams, files) and the transport (play, pause, step, seek).

use eframe::egui;

use super::settings::AppSettings;
use super::state::{Command, Dialog};
use crate::capture::{CameraDesc, SourceInfo, SourceSpec};
use crate::pipeline::Control;

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
    /// A still image: nothing to play.
    pub still: bool,
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
            commands.push(Command::Ask(Dialog::OpenSource));
        }
        if ui
            .button("Open scene…")
            .on_hover_text("Several calibrated videos of one scene: the people in 3D")
            .clicked()
        {
            commands.push(Command::Ask(Dialog::OpenScene));
        }
        url_ui(ui, &mut picker.url, view.recent, &mut commands);
        if let Some(source) = view.source {
            ui.separator();
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
                        picker.formats.clear();
                        picker.format = None;
                        commands.push(Command::QueryFormats(c.index));
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
    let Some(info) = view.info.filter(|_| !view.still) else {
        return commands;
    };
    let seekable = info.seekable && !info.live;
    if !seekable && !info.live {
        return commands;
    }
    ui.horizontal(|ui| {
        let (label, control) = match (view.playing, view.ended) {
            (true, _) => ("⏸ Pause", Control::Pause),
            (false, true) => ("▶ Play again", Control::Play),
            (false, false) => ("▶ Play", Control::Play),
        };
        if ui.button(label).on_hover_text("space").clicked() {
            commands.push(Command::Control(control));
        }
        if view.ended {
            ui.label(egui::RichText::new("ended").strong())
                .on_hover_text("the end of the file: Play starts it again");
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
        ui.spacing_mut().slider_width = 180.0;
        let slider = ui.add(
            egui::Slider::new(&mut t, 0.0..=duration.max(0.01))
                .custom_formatter(|v, _| format!("{v:.2}"))
                .suffix(" s")
                .text("position"),
        );
        // Only a move by the user seeks (the slider may round the value it shows).
        let moved = (t - view.position_s).abs() > 1e-3;
        if moved && (slider.drag_stopped() || (slider.changed() && !slider.dragged())) {
            commands.push(Command::Control(Control::Seek(t)));
        }
    });
    commands
}
