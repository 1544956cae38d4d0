//! The followed person's angles, docked under the picture so it never covers anyone: joint angles
//! (0° straight, flexion positive) or segment angles (from the horizontal), filtered or raw, in
//! degrees over video time for files (their whole history, filtered as `export --motion` filters
//! it) or the last seconds live, and beside it the legend with each angle's value in the frame on
//! screen. A still image has the numbers only.

use eframe::egui;
use egui_plot::{GridMark, Line, Plot, Points, VLine};

use super::motion_view::{AngleOptions, AngleRows};
use super::state::{AngleHistory, Command, Dialog};
use crate::motion::AngleKind;

/// Colours apart from each other on a dark plot, cycled over the angles.
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
    /// The angles' names and rows: video time for files, seconds since the window opened live.
    pub data: &'a AngleRows,
    /// Files: x is video time. Live: x is seconds before `now_s`.
    pub file: bool,
    pub still: bool,
    /// Live: now (frozen while paused); files: the time of the frame on screen.
    pub now_s: f64,
    /// The angles in the frame on screen (`None`: the person is not in it).
    pub current: Option<Vec<Option<f32>>>,
    /// The hips' speed in the frame on screen, m/s (files, once a height is given).
    pub speed_now: Option<f32>,
    pub options: AngleOptions,
    /// A file name to suggest for the CSV.
    pub csv_name: String,
}

pub fn angles_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.horizontal(|ui| {
        ui.strong(format!("Angles of #{}", view.id));
        if let Some(options) = options_ui(ui, view) {
            commands.push(Command::AngleOptions(options));
        }
        commands.extend(save_ui(ui, view));
        if ui.button("Close").clicked() {
            commands.push(Command::Follow(None));
        }
        if view.current.is_none() {
            ui.label(egui::RichText::new("not in this frame").weak());
        }
    });
    ui.horizontal_top(|ui| {
        let legend_width = 200.0;
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

/// Joint or segment, filtered or raw, and the height that gives speeds in m/s (files).
fn options_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) -> Option<AngleOptions> {
    let mut o = view.options;
    ui.selectable_value(&mut o.kind, AngleKind::Joint, "joints")
        .on_hover_text("joint angles: 0° straight, flexion positive (Pose2Sim's conventions)");
    ui.selectable_value(&mut o.kind, AngleKind::Segment, "segments")
        .on_hover_text("segment angles from the horizontal");
    ui.separator();
    let filtered_hint = match view.file {
        true => {
            "the whole track filtered without lag (gaps filled, outliers removed, Butterworth 6 Hz)"
        }
        false => "the window's smoothed keypoints (One-Euro: live cannot wait for the future)",
    };
    ui.selectable_value(&mut o.filtered, true, "filtered")
        .on_hover_text(filtered_hint);
    ui.selectable_value(&mut o.filtered, false, "raw")
        .on_hover_text("as the network found them");
    if view.file {
        ui.separator();
        ui.label("height");
        ui.add(
            egui::DragValue::new(&mut o.height_m)
                .range(0.0..=2.5)
                .speed(0.01)
                .suffix(" m"),
        )
        .on_hover_text(
            "this person's height: speeds in m/s, and metres in saved files (0: not given)",
        );
    }
    (o != view.options).then_some(o)
}

fn save_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) -> Option<Command> {
    if view.file {
        let hint =
            "everyone's motion files, as export --motion writes them: .trc, .mot, .c3d, plots, CSV";
        return ui
            .button("Save motion files…")
            .on_hover_text(hint)
            .clicked()
            .then_some(Command::Ask(Dialog::SaveMotion));
    }
    let hint = "this person's angles, one row per frame, as CSV";
    ui.button("Save angles…")
        .on_hover_text(hint)
        .clicked()
        .then(|| Command::Ask(Dialog::SaveAngles(view.csv_name.clone())))
}

/// The shown values' range, padded, so any convention fits (segments reach ±180°, unwrapped more).
fn y_range(view: &AnglesView<'_>) -> (f64, f64) {
    let values = view.data.rows.iter().flat_map(|(_, v)| v.iter().flatten());
    let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    match lo <= hi {
        true => (f64::from(lo) - 10.0, f64::from(hi) + 10.0),
        false => (-90.0, 90.0),
    }
}

fn plot_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) {
    let (x0, x1) = if view.file {
        let first = view.data.rows.first().map_or(0.0, |r| r.0);
        let last = view.data.rows.last().map_or(1.0, |r| r.0).max(view.now_s);
        (first, last.max(first + 1.0))
    } else {
        (-AngleHistory::WINDOW_S, 0.0)
    };
    let (y0, y1) = y_range(view);
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
        plot.set_plot_bounds_y(y0..=y1);
        for (i, name) in view.data.names.iter().enumerate() {
            for (k, run) in series(view, i).into_iter().enumerate() {
                let id = egui::Id::new(("angle", i, k));
                if run.len() == 1 {
                    let point = Points::new(*name, run).id(id).radius(1.5);
                    plot.points(point.color(color_of(i)));
                } else {
                    plot.line(Line::new(*name, run).id(id).color(color_of(i)).width(1.5));
                }
            }
        }
        if view.file {
            plot.vline(VLine::new("frame on screen", view.now_s).color(egui::Color32::GRAY));
        }
    });
}

/// Angles further apart in time than this are not joined: the person left, or the joint was
/// hidden, for longer than a few dropped frames.
const MAX_GAP_S: f64 = 0.5;

/// Angle `index` as runs of plot points, one line each.
fn series(view: &AnglesView<'_>, index: usize) -> Vec<Vec<[f64; 2]>> {
    let points = view
        .data
        .rows
        .iter()
        .map(|(t, a)| {
            let x = if view.file { *t } else { t - view.now_s };
            (x, a.get(index).copied().flatten())
        })
        .filter(|&(x, _)| view.file || x >= -AngleHistory::WINDOW_S);
    runs(points, MAX_GAP_S)
}

/// Splits `(x, value)` points into runs: a missing value, or a step in x over `max_gap`, ends one.
fn runs(points: impl Iterator<Item = (f64, Option<f32>)>, max_gap: f64) -> Vec<Vec<[f64; 2]>> {
    let mut runs: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut open = false;
    for (x, value) in points {
        let Some(v) = value else {
            open = false;
            continue;
        };
        match runs.last_mut() {
            Some(run) if open && run.last().is_some_and(|p| x - p[0] <= max_gap) => {
                run.push([x, v as f64]);
            }
            _ => runs.push(vec![[x, v as f64]]),
        }
        open = true;
    }
    runs
}

/// Each angle's colour, name and value in the frame on screen, beside the plot (never over it),
/// and the hips' speed once a height gives metres.
fn legend_ui(ui: &mut egui::Ui, view: &AnglesView<'_>) {
    egui::Grid::new("angle-legend")
        .num_columns(2)
        .spacing([10.0, 2.0])
        .show(ui, |ui| {
            for (i, name) in view.data.names.iter().enumerate() {
                ui.horizontal(|ui| {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(12.0, 3.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 0.0, color_of(i));
                    ui.label(*name);
                });
                let value = view
                    .current
                    .as_ref()
                    .and_then(|c| c.get(i).copied().flatten())
                    .map_or("-".to_string(), |v| format!("{v:.0}°"));
                ui.monospace(value);
                ui.end_row();
            }
            if view.options.height_m > 0.0 && view.file {
                ui.label("hips speed");
                ui.monospace(view.speed_now.map_or("-".into(), |v| format!("{v:.2} m/s")));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn lines_break_where_the_angle_is_missing_or_the_person_was_away() {
        let points = [
            (0.0, Some(90.0)),
            (0.1, Some(91.0)),
            (0.2, None),
            (0.3, Some(92.0)),
            (0.4, Some(93.0)),
            (0.8, Some(94.0)), // a few dropped frames: still one line
            (2.0, Some(95.0)), // away for over a second
        ];
        let runs = runs(points.into_iter(), 0.5);
        let xs: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| r.iter().map(|p| p[0]).collect())
            .collect();
        assert_eq!(xs, vec![vec![0.0, 0.1], vec![0.3, 0.4, 0.8], vec![2.0]]);
        assert_eq!(runs[1][2][1], 94.0);
    }
}
