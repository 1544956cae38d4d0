//! The side panel's settings: detection thresholds, the network and model, and the overlay. Sliders
//! change the settings directly (they are applied after drawing); anything else is a command.

use eframe::egui;

use super::state::{debug_channel_name, AppSettings, Command, DebugView};
use crate::infer::NetConfig;
use crate::pipeline::FrameResult;
use crate::pose::Thresholds;
use crate::track::TrackerSettings;

pub fn detection_ui(ui: &mut egui::Ui, settings: &mut AppSettings) -> Vec<Command> {
    ui.heading("Detection");
    let t = &mut settings.thresholds;
    ui.add(egui::Slider::new(&mut t.peak, Thresholds::PEAK).text("Peak threshold"));
    ui.add(egui::Slider::new(&mut t.paf, Thresholds::PAF).text("PAF threshold"));
    ui.add(
        egui::Slider::new(&mut t.paf_sample_fraction, Thresholds::PAF_FRACTION)
            .text("PAF sample fraction"),
    );
    ui.add(egui::Slider::new(&mut t.min_parts, Thresholds::MIN_PARTS).text("Minimum parts"));
    ui.add(
        egui::Slider::new(&mut t.min_person_score, Thresholds::MIN_SCORE)
            .text("Minimum person score"),
    );
    if ui.button("CMU defaults").clicked() {
        *t = Thresholds::default();
    }
    ui.separator();
    network_ui(ui, settings)
}

fn network_ui(ui: &mut egui::Ui, settings: &mut AppSettings) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.heading("Network");
    ui.add(
        egui::Slider::new(&mut settings.net_height, NetConfig::NET_HEIGHT)
            .logarithmic(true)
            .step_by(8.0)
            .text("Net input height"),
    );
    ui.horizontal(|ui| {
        ui.label("Scales");
        ui.text_edit_singleline(&mut settings.scales)
            .on_hover_text("e.g. 1.0, 0.75, 0.5");
    });
    ui.horizontal(|ui| {
        ui.label("Model");
        ui.text_edit_singleline(&mut settings.model);
    });
    ui.horizontal(|ui| {
        if ui.button("Browse…").clicked() {
            if let Some(p) = rfd::FileDialog::new()
                .add_filter("ONNX model", &["onnx"])
                .pick_file()
            {
                settings.model = p.display().to_string();
            }
        }
        egui::ComboBox::from_id_salt("device")
            .selected_text(settings.device.clone())
            .show_ui(ui, |ui| {
                for d in ["auto", "cpu", "cuda"] {
                    ui.selectable_value(&mut settings.device, d.to_string(), d);
                }
            });
        if ui.button("Load").clicked() {
            commands.push(Command::LoadModel);
        }
    });
    commands
}

pub fn overlay_ui(ui: &mut egui::Ui, settings: &mut AppSettings, last: Option<&FrameResult>) {
    ui.heading("Overlay");
    let o = &mut settings.overlay;
    ui.checkbox(&mut o.joints, "Joints");
    ui.checkbox(&mut o.limbs, "Limbs");
    ui.checkbox(&mut o.numbers, "Person numbers");
    ui.checkbox(&mut o.confidence_shading, "Confidence shading");
    let d = &mut settings.debug;
    egui::ComboBox::from_label("Debug view")
        .selected_text(format!("{:?}", d.view))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut d.view, DebugView::Off, "Off");
            ui.selectable_value(&mut d.view, DebugView::Heatmap, "Heatmap");
            ui.selectable_value(&mut d.view, DebugView::Paf, "PAF");
        });
    if d.view == DebugView::Off {
        return;
    }
    let channels = last.map_or(1, |l| match d.view {
        DebugView::Heatmap => l.maps.heatmaps.channels(),
        _ => l.maps.pafs.channels(),
    });
    d.channel = d.channel.min(channels.saturating_sub(1));
    ui.add(egui::Slider::new(&mut d.channel, 0..=channels.saturating_sub(1)).text("channel"));
    if let Some(l) = last {
        ui.label(debug_channel_name(l.skeleton, d.view, d.channel));
    }
    ui.add(egui::Slider::new(&mut d.opacity, 0.0..=1.0).text("opacity"));
}

pub fn tracking_ui(
    ui: &mut egui::Ui,
    settings: &mut AppSettings,
    followed: Option<u64>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.heading("Tracking");
    ui.checkbox(&mut settings.tracking, "Follow people (IDs)");
    ui.add_enabled_ui(settings.tracking, |ui| {
        let t = &mut settings.tracker;
        ui.add(
            egui::Slider::new(&mut t.confirm_frames, TrackerSettings::CONFIRM_FRAMES)
                .text("Frames to confirm"),
        );
        ui.add(
            egui::Slider::new(&mut t.max_gap_s, TrackerSettings::MAX_GAP_S)
                .suffix(" s")
                .text("Kept unseen for"),
        );
        ui.add(
            egui::Slider::new(&mut t.min_similarity, TrackerSettings::MIN_SIMILARITY)
                .text("Match similarity"),
        );
        ui.checkbox(&mut t.smoothing, "Smooth keypoints (One-Euro)");
        ui.add_enabled_ui(t.smoothing, |ui| {
            ui.add(
                egui::Slider::new(&mut t.min_cutoff_hz, TrackerSettings::MIN_CUTOFF_HZ)
                    .logarithmic(true)
                    .suffix(" Hz")
                    .text("Smoothing at rest"),
            );
            ui.add(
                egui::Slider::new(&mut t.beta, TrackerSettings::BETA)
                    .logarithmic(true)
                    .text("Speed response"),
            );
        });
        let o = &mut settings.overlay;
        ui.checkbox(&mut o.color_by_id, "Colour by ID");
        ui.checkbox(&mut o.trails, "Trails");
        match followed {
            Some(id) => {
                ui.horizontal(|ui| {
                    ui.label(format!("Following #{id}"));
                    if ui.button("Stop").clicked() {
                        commands.push(Command::Follow(None));
                    }
                });
            }
            None => {
                ui.label(egui::RichText::new("Click a person to plot their joint angles.").small());
            }
        }
    });
    commands
}
