//! The followed person's joint angles, docked under the picture so it never covers anyone: a plot
//! in degrees (0–180, ticks every 30°) over video time for files (their whole history) or the last
//! seconds live, and beside it the legend with each angle's value in the frame on screen. A still
//! image has the numbers only.

use eframe::egui;
use egui_plot::{GridMark, Line, Plot, PlotPoints, VLine};

use super::state::{AngleHistory, Command, Dialog};
use crate::track::angles::JOINT_ANGLES;

/// One colour per joint angle, apart from each other on a dark plot.
const ANGLE_COLORS: [egui::Color32; 8] = [
    egui::Color32::from_rgb(255, 99, 71),
    egui::Color32::from_rgb(255, 190, 60),
    egui::Color32::from_rgb(120, 220, 90),
    egui::Color32::from_rgb(60, 200, 200),
    egui::Color32::from_rgb(90, 150, 255),
    egui::Color32::from_rgb(190, 120, 255),
    egui::Color32::from_rgb(255, 120, 200),
    egui::Color32::from_rgb(200, 200, 200),
];

fn color_of(i: usize) -> egui::Color32 {
    ANGLE_COLORS[i % ANGLE_COLORS.len()]
}

/// What the panel shows.
pub struct AnglesView<'a> {
    pub id: u64,
    /// (time, values): video time for files, seconds since the window opened live.
    pub rows: &'a [(f64, Vec<Option<f32>>)],
    /// Files: x is video time. Live: x is seconds before `now_s`.
    pub file: bool,
    pub still: bool,
    /// Live: now (frozen while paused); files: the time of the frame on screen.
    pub now_s: f64,
    /// The angles in the frame on screen (`None`: the person is not in it).
    pub current: Option<Vec<Option<f32>>>,
    /// A file name to suggest for the CSV.
    pub csv_name: String,
}

pub fn angles_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.strong(format!("Joint angles of #{}", view.id));
        if ui
            .button("Save angles…")
            .on_hover_text("this person's angles, one row per frame, as CSV")
            .clicked()
        {
            commands.push(Command::Ask(Dialog::SaveAngles(view.csv_name.clone())));
        }
        if ui.button("Close").clicked() {
            commands.push(Command::Follow(None));
        }
        if view.current.is_none() {
            ui.label(egui::RichText::new("not in this frame").weak());
        }
    });
    ui.horizontal_top(|ui| {
        let legend_width = 190.0;
        if !view.still {
            let plot_width = (ui.available_width() - legend_width - 12.0).max(120.0);
            ui.allocate_ui(egui::vec2(plot_width, ui.available_height()), |ui| {
                plot_ui(ui, view);
            });
            ui.separator();
        }
        ui.vertical(|ui| legend_ui(ui, view));
    });
    commands
}

fn plot_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) {
    let (x0, x1) = if view.file {
        let first = view.rows.first().map_or(0.0, |r| r.0);
        let last = view.rows.last().map_or(1.0, |r| r.0).max(view.now_s);
        (first, last.max(first + 1.0))
    } else {
        (-AngleHistory::WINDOW_S, 0.0)
    };
    let plot = Plot::new("angles")
        .y_axis_label("degrees")
        .x_axis_label(if view.file {
            "video time (s)"
        } else {
            "seconds ago"
        })
        .y_grid_spacer(egui_plot::uniform_grid_spacer(|_| [90.0, 30.0, 10.0]))
        .y_axis_formatter(|mark: GridMark, _| format!("{:.0}°", mark.value))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .show_background(false);
    plot.show(ui, |plot| {
        plot.set_plot_bounds_x(x0..=x1);
        plot.set_plot_bounds_y(0.0..=180.0);
        for (i, def) in JOINT_ANGLES.iter().enumerate() {
            let points: PlotPoints = series(view, i).into();
            plot.line(Line::new(def.name, points).color(color_of(i)).width(1.5));
        }
        if view.file {
            plot.vline(VLine::new("frame on screen", view.now_s).color(egui::Color32::GRAY));
        }
    });
}

/// Angle `index` as plot points; gaps where it was not seen split the line into separate points.
fn series(view: &AnglesView<'_>, index: usize) -> Vec<[f64; 2]> {
    view.rows
        .iter()
        .filter_map(|(t, a)| {
            let x = if view.file { *t } else { t - view.now_s };
            Some([x, (*a.get(index)?)? as f64])
        })
        .filter(|p| view.file || p[0] >= -AngleHistory::WINDOW_S)
        .collect()
}

/// Each angle's colour, name and value in the frame on screen, beside the plot (never over it).
fn legend_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) {
    egui::Grid::new("angle-legend")
        .num_columns(2)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            for (i, def) in JOINT_ANGLES.iter().enumerate() {
                ui.horizontal(|ui| {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(12.0, 3.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 0.0, color_of(i));
                    ui.label(def.name);
                });
                let value = view
                    .current
                    .as_ref()
                    .and_then(|c| c.get(i).copied().flatten())
                    .map_or("-".to_string(), |v| format!("{v:.0}°"));
                ui.monospace(value);
                ui.end_row();
            }
        });
}
