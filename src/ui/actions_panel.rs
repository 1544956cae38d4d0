//! The actions, in the top bar where they are always in reach: snapshot (and where snapshots go),
//! export with progress, and the message list with times.

use eframe::egui;

use super::jobs::ExportJob;
use super::settings::AppSettings;
use super::state::{Command, Dialog, Messages};
use super::tasks::suggested_name;
use crate::capture::SourceSpec;

pub fn actions_ui(
    ui: &mut egui::Ui,
    settings: &AppSettings,
    source: Option<&SourceSpec>,
    export: Option<&ExportJob>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    if ui
        .button("📷 Snapshot")
        .on_hover_text(format!(
            "save the picture and its keypoints (S) to {}",
            settings.snapshot_folder().display()
        ))
        .clicked()
    {
        commands.push(Command::Snapshot);
    }
    if ui
        .button("Folder…")
        .on_hover_text("choose where snapshots go (remembered)")
        .clicked()
    {
        commands.push(Command::Ask(Dialog::SnapshotFolder));
    }
    match export {
        Some(job) => {
            let (done, total) = job.progress();
            let fraction = total.map_or(0.0, |t| done as f32 / t.max(1) as f32);
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(160.0)
                    .text(format!(
                        "exporting {done}{} frames",
                        total.map(|t| format!("/{t}")).unwrap_or_default()
                    )),
            );
            if ui.button("Cancel export").clicked() {
                commands.push(Command::CancelExport);
            }
        }
        None => {
            let video = matches!(source, Some(SourceSpec::Video(_)));
            let button = ui
                .add_enabled(video, egui::Button::new("Export video…"))
                .on_hover_text("an annotated mp4 (audio kept) and the keypoints as JSON lines")
                .on_disabled_hover_text("open a video file first");
            if button.clicked() {
                let name = suggested_name(source, "_pose.mp4");
                commands.push(Command::Ask(Dialog::ExportTo(name)));
            }
        }
    }
    commands
}

/// The last messages, newest first, each with the time it was said.
pub fn messages_ui(ui: &mut egui::Ui, messages: &Messages) {
    egui::CollapsingHeader::new("Messages")
        .default_open(true)
        .show(ui, |ui| {
            for m in messages.iter().rev() {
                ui.horizontal_wrapped(|ui| {
                    ui.label(egui::RichText::new(&m.at).small().weak());
                    ui.label(egui::RichText::new(&m.text).small());
                });
            }
        });
}
