//! A source's failure over the picture, where people look: the error's first line, then Reopen,
//! Open another and Details (the whole error, selectable for copying).

use eframe::egui;

use super::state::{Banner, Command, Dialog};

/// Draws `banner` across the top of `area`; returns what its buttons ask for.
pub fn banner_ui(ui: &mut egui::Ui, area: egui::Rect, banner: &Banner) -> Vec<Command> {
    let mut commands = Vec::new();
    let width = (area.width() - 24.0).clamp(200.0, 900.0);
    let rect = egui::Rect::from_min_size(
        egui::pos2(area.center().x - width / 2.0, area.min.y + 12.0),
        egui::vec2(width, 0.0),
    );
    let builder = egui::UiBuilder::new()
        .max_rect(rect)
        .layout(egui::Layout::top_down(egui::Align::Min));
    ui.scope_builder(builder, |ui| {
        egui::Frame::popup(ui.style())
            .fill(egui::Color32::from_rgb(90, 20, 20))
            .inner_margin(12.0)
            .show(ui, |ui| {
                ui.set_width(width - 24.0);
                ui.horizontal(|ui| {
                    ui.label(
                        egui::RichText::new("⚠")
                            .size(22.0)
                            .color(egui::Color32::YELLOW),
                    );
                    let text = egui::RichText::new(&banner.headline)
                        .size(16.0)
                        .color(egui::Color32::WHITE);
                    ui.add(egui::Label::new(text).wrap());
                });
                ui.horizontal_wrapped(|ui| {
                    if ui.button("Reopen").clicked() {
                        commands.push(Command::Reopen);
                    }
                    if ui.button("Open another…").clicked() {
                        commands.push(Command::Ask(Dialog::OpenSource));
                    }
                    let details = if banner.show_details {
                        "Hide details"
                    } else {
                        "Details"
                    };
                    if ui.button(details).clicked() {
                        commands.push(Command::ToggleDetails);
                    }
                    if ui.button("Dismiss").clicked() {
                        commands.push(Command::DismissBanner);
                    }
                });
                if banner.show_details {
                    let mut text = banner.details.as_str();
                    ui.add(
                        egui::TextEdit::multiline(&mut text)
                            .desired_width(f32::INFINITY)
                            .desired_rows(3),
                    );
                }
            });
    });
    commands
}
