//! Snapshots, export with progress, and the message log.

use eframe::egui;

use super::jobs::ExportJob;
use super::state::{AppSettings, Command};
use crate::capture::SourceSpec;

pub fn actions_ui(
    ui: &mut egui::Ui,
    settings: &mut AppSettings,
    source: Option<&SourceSpec>,
    export: Option<&ExportJob>,
    messages: &[String],
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.heading("Actions");
    ui.horizontal(|ui| {
        if ui.button("Snapshot (S)").clicked() {
            commands.push(Command::Snapshot);
        }
        ui.label("to");
        ui.text_edit_singleline(&mut settings.snapshot_dir);
    });
    match export {
        Some(job) => {
            let (done, total) = job.progress();
            let fraction = total.map_or(0.0, |t| done as f32 / t.max(1) as f32);
            ui.add(egui::ProgressBar::new(fraction).text(format!(
                "exporting {done}{} frames",
                total.map(|t| format!("/{t}")).unwrap_or_default()
            )));
            if ui.button("Cancel export").clicked() {
                commands.push(Command::CancelExport);
            }
        }
        None => {
            let video = match source {
                Some(SourceSpec::Video(p)) => Some(p),
                _ => None,
            };
            let button = ui
                .add_enabled(video.is_some(), egui::Button::new("Export video…"))
                .on_disabled_hover_text("open a video file first");
            if let (true, Some(input)) = (button.clicked(), video) {
                let stem = input
                    .file_stem()
                    .map_or("video".into(), |s| s.to_string_lossy().into_owned());
                if let Some(out) = rfd::FileDialog::new()
                    .set_file_name(format!("{stem}_pose.mp4"))
                    .add_filter("MP4 video", &["mp4"])
                    .save_file()
                {
                    commands.push(Command::ExportTo(out));
                }
            }
        }
    }
    ui.separator();
    for m in messages.iter().rev() {
        ui.label(egui::RichText::new(m).small());
    }
    commands
}
