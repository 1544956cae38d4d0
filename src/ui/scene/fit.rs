//! How well the 3D fits, beside it: per camera, how far its detections lie from the 3D people and how
//! many were used; per person, how often and how completely they were seen and how steady their
//! bones are. The export's summary, for the thresholds on the sliders.

use eframe::egui::{self, Ui};

use crate::multiview::summary::SceneSummary;

pub fn show(ui: &mut Ui, summary: &SceneSummary) {
    let px = |e: Option<f64>| e.map_or("-".into(), |e| format!("{e:.1} px"));
    ui.horizontal_wrapped(|ui| {
        ui.strong("Fit");
        ui.label(format!(
            "median reprojection {}",
            px(summary.median_reprojection_px)
        ));
    });
    egui::Grid::new("scene-fit-cameras")
        .striped(true)
        .show(ui, |ui| {
            ui.label("camera");
            ui.label("mean reprojection");
            ui.label("detections used");
            ui.end_row();
            for c in &summary.cameras {
                ui.label(&c.name);
                ui.label(px(c.mean_reprojection_px));
                ui.label(format!("{:.0} % of {}", 100.0 * c.used_share, c.detections));
                ui.end_row();
            }
        });
    egui::Grid::new("scene-fit-people")
        .striped(true)
        .show(ui, |ui| {
            ui.label("person");
            ui.label("frame sets");
            ui.label("joints");
            ui.label("bones within 20 %");
            ui.end_row();
            for p in &summary.people {
                ui.label(format!("#{}", p.id));
                ui.label(p.frames.to_string());
                ui.label(format!("{:.0} %", 100.0 * p.joints_share));
                ui.label(format!("{:.1} %", 100.0 * p.bones_within_20pct));
                ui.end_row();
            }
        });
}
