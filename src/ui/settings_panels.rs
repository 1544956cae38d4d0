//! The side panel's settings: detection thresholds, the network and model, tracking, and the
//! overlay, each a section that folds. Every slider has its label on a line of its own, so nothing
//! is cut however narrow the panel. Sliders change the settings directly (applied after drawing);
//! anything else is a command.

use eframe::egui;

use super::settings::{debug_channel_name, parse_scales, AppSettings, DebugView};
use super::state::{Command, Dialog, DEVICES};
use crate::infer::NetConfig;
use crate::pipeline::FrameResult;
use crate::pose::Thresholds;
use crate::track::TrackerSettings;

/// A slider under its label, as wide as the panel allows.
fn slider(ui: &mut egui::Ui, label: &str, hover: &str, slider: egui::Slider<'_>) -> bool {
    ui.label(label).on_hover_text(hover);
    // Room for the value box beside the rail.
    ui.spacing_mut().slider_width = (ui.available_width() - 70.0).max(60.0);
    ui.add(slider).on_hover_text(hover).changed()
}

pub fn detection_ui(ui: &mut egui::Ui, settings: &mut AppSettings) {
    egui::CollapsingHeader::new("Detection")
        .default_open(true)
        .show(ui, |ui| {
            let t = &mut settings.thresholds;
            slider(
                ui,
                "Peak threshold",
                "least heatmap value for a part",
                egui::Slider::new(&mut t.peak, Thresholds::PEAK),
            );
            slider(
                ui,
                "PAF threshold",
                "least limb field along a candidate limb",
                egui::Slider::new(&mut t.paf, Thresholds::PAF),
            );
            slider(
                ui,
                "PAF sample fraction",
                "share of samples along a limb that must pass",
                egui::Slider::new(&mut t.paf_sample_fraction, Thresholds::PAF_FRACTION),
            );
            slider(
                ui,
                "Minimum parts",
                "fewer parts: not a person",
                egui::Slider::new(&mut t.min_parts, Thresholds::MIN_PARTS),
            );
            slider(
                ui,
                "Minimum person score",
                "mean score below this: not a person",
                egui::Slider::new(&mut t.min_person_score, Thresholds::MIN_SCORE),
            );
            if ui.button("CMU defaults").clicked() {
                *t = Thresholds::default();
            }
        });
}

/// The scales field as typed, and the error when it cannot be used.
pub struct ScalesField<'a> {
    pub text: &'a mut String,
    pub error: &'a mut Option<String>,
}

pub fn network_ui(
    ui: &mut egui::Ui,
    settings: &mut AppSettings,
    scales: ScalesField<'_>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::CollapsingHeader::new("Network")
        .default_open(true)
        .show(ui, |ui| {
            slider(
                ui,
                "Net input size",
                "pixels on the shorter side (the height of a landscape frame, the width of a portrait one); larger finds smaller people, slower",
                egui::Slider::new(&mut settings.net_height, NetConfig::NET_HEIGHT)
                    .logarithmic(true)
                    .step_by(8.0),
            );
            ui.label("Scales")
                .on_hover_text("fractions of the net height to average, e.g. 1.0, 0.75, 0.5");
            let field =
                ui.add(egui::TextEdit::singleline(scales.text).desired_width(f32::INFINITY));
            if field.changed() {
                match parse_scales(scales.text) {
                    Ok(v) => {
                        settings.scales = v;
                        *scales.error = None;
                    }
                    Err(e) => *scales.error = Some(e.to_string()),
                }
            }
            if let Some(e) = scales.error.as_deref() {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            model_ui(ui, settings, &mut commands);
        });
    commands
}

fn model_ui(ui: &mut egui::Ui, settings: &mut AppSettings, commands: &mut Vec<Command>) {
    let name = std::path::Path::new(&settings.model)
        .file_name()
        .map_or("none".into(), |n| n.to_string_lossy().into_owned());
    ui.horizontal_wrapped(|ui| {
        ui.label("Model");
        ui.label(egui::RichText::new(name).strong())
            .on_hover_text(&settings.model);
    });
    ui.horizontal_wrapped(|ui| {
        if ui.button("Choose…").clicked() {
            commands.push(Command::Ask(Dialog::Model));
        }
        egui::ComboBox::from_id_salt("device")
            .selected_text(settings.device.to_string())
            .show_ui(ui, |ui| {
                for d in DEVICES {
                    ui.selectable_value(&mut settings.device, d, d.to_string());
                }
            });
        if ui
            .button("Load")
            .on_hover_text("load the model on the device chosen")
            .clicked()
        {
            commands.push(Command::LoadModel);
        }
    });
}

pub fn overlay_ui(ui: &mut egui::Ui, settings: &mut AppSettings, last: Option<&FrameResult>) {
    egui::CollapsingHeader::new("Overlay")
        .default_open(true)
        .show(ui, |ui| {
            let o = &mut settings.overlay;
            ui.checkbox(&mut o.joints, "Joints");
            ui.checkbox(&mut o.limbs, "Limbs");
            ui.checkbox(&mut o.numbers, "Person numbers");
            ui.checkbox(&mut o.confidence_shading, "Confidence shading");
            debug_ui(ui, settings, last);
        });
}

fn debug_ui(ui: &mut egui::Ui, settings: &mut AppSettings, last: Option<&FrameResult>) {
    let d = &mut settings.debug;
    ui.label("Network output");
    egui::ComboBox::from_id_salt("debug-view")
        .selected_text(d.view.label())
        .show_ui(ui, |ui| {
            for view in DebugView::ALL {
                if ui
                    .selectable_value(&mut d.view, view, view.label())
                    .changed()
                {
                    // Each view opens on all its channels at once, which always shows something.
                    d.channel = None;
                }
            }
        });
    if d.view == DebugView::Off {
        return;
    }
    let channels = last.map_or(0, |l| match d.view {
        DebugView::Heatmap => l.maps.heatmaps.channels(),
        _ => l.maps.pafs.channels(),
    });
    let mut all = d.channel.is_none();
    if ui.checkbox(&mut all, "All channels (strongest)").changed() {
        d.channel = (!all).then_some(0);
    }
    if let (Some(c), true) = (&mut d.channel, channels > 0) {
        *c = (*c).min(channels - 1);
        slider(
            ui,
            "Channel",
            "which heatmap or field",
            egui::Slider::new(c, 0..=channels - 1),
        );
    }
    if let Some(l) = last {
        ui.label(egui::RichText::new(debug_channel_name(l.skeleton, d.view, d.channel)).strong());
    }
    slider(
        ui,
        "Opacity",
        "of the network output over the picture",
        egui::Slider::new(&mut d.opacity, 0.0..=1.0),
    );
}

pub fn tracking_ui(
    ui: &mut egui::Ui,
    settings: &mut AppSettings,
    followed: Option<u64>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::CollapsingHeader::new("Tracking")
        .default_open(true)
        .show(ui, |ui| {
            ui.checkbox(&mut settings.tracking, "Follow people (IDs)");
            ui.add_enabled_ui(settings.tracking, |ui| {
                tracker_ui(ui, &mut settings.tracker);
                let o = &mut settings.overlay;
                ui.checkbox(&mut o.color_by_id, "Colour by ID");
                ui.checkbox(&mut o.trails, "Trails");
                match followed {
                    Some(id) => {
                        ui.horizontal_wrapped(|ui| {
                            ui.label(format!("Following #{id}"));
                            if ui.button("Stop").clicked() {
                                commands.push(Command::Follow(None));
                            }
                        });
                    }
                    None => {
                        ui.label(
                            egui::RichText::new("Click a person to see their joint angles.")
                                .small(),
                        );
                    }
                }
            });
        });
    commands
}

fn tracker_ui(ui: &mut egui::Ui, t: &mut TrackerSettings) {
    slider(
        ui,
        "Frames to confirm",
        "a new person gets an ID once seen this many frames",
        egui::Slider::new(&mut t.confirm_frames, TrackerSettings::CONFIRM_FRAMES),
    );
    slider(
        ui,
        "Kept unseen for",
        "how long a hidden person keeps their ID",
        egui::Slider::new(&mut t.max_gap_s, TrackerSettings::MAX_GAP_S).suffix(" s"),
    );
    slider(
        ui,
        "Match similarity",
        "least keypoint similarity to continue a track",
        egui::Slider::new(&mut t.min_similarity, TrackerSettings::MIN_SIMILARITY),
    );
    ui.checkbox(&mut t.smoothing, "Smooth keypoints (One-Euro)");
    ui.add_enabled_ui(t.smoothing, |ui| {
        slider(
            ui,
            "Smoothing at rest",
            "lower: steadier still joints",
            egui::Slider::new(&mut t.min_cutoff_hz, TrackerSettings::MIN_CUTOFF_HZ)
                .logarithmic(true)
                .suffix(" Hz"),
        );
        slider(
            ui,
            "Speed response",
            "higher: fast joints lag less",
            egui::Slider::new(&mut t.beta, TrackerSettings::BETA).logarithmic(true),
        );
    });
}
