//! The bottom panel: rates, latency and timings now, and over the last ten seconds of wall time as a
//! plot that stands still while paused.

use eframe::egui;

use super::state::{StatSample, Stats};

/// What the stats panel shows besides the rolling samples.
pub struct StatsView<'a> {
    pub stats: &'a Stats,
    /// Seconds since the window opened.
    pub now_s: f64,
    pub people: usize,
    pub provider: String,
    pub skeleton: &'a str,
    pub workers: usize,
    /// Files: frames kept in the timeline and the memory they take.
    pub kept: Option<(usize, usize)>,
}

pub fn stats_ui(ui: &mut egui::Ui, view: &StatsView<'_>) {
    let stats = view.stats;
    ui.horizontal_wrapped(|ui| {
        let figures = [
            format!("{:.1} fps", stats.fps(view.now_s)),
            format!("latency {:.0} ms", stats.mean_latency_ms()),
            format!("inference {:.1} ms", stats.mean_inference_ms()),
            format!("association {:.2} ms", stats.mean_association_ms()),
            format!("people: {}", view.people),
            format!("dropped: {}", stats.dropped),
            format!("provider: {}", view.provider),
            format!("workers: {}", view.workers),
        ];
        for (i, f) in figures.iter().enumerate() {
            if i > 0 {
                ui.separator();
            }
            ui.label(f);
        }
        if !view.skeleton.is_empty() {
            ui.separator();
            ui.label(view.skeleton);
        }
        if let Some((frames, bytes)) = view.kept {
            ui.separator();
            let size = if bytes < 1_000_000 {
                format!("{:.0} kB", bytes as f64 / 1e3)
            } else {
                format!("{:.1} MB", bytes as f64 / 1e6)
            };
            ui.label(format!("kept: {frames} frames, {size}"))
                .on_hover_text("every processed frame's people, for stepping back and replaying");
        }
    });
    let series = |f: fn(&StatSample) -> f32| -> egui_plot::PlotPoints {
        stats
            .samples
            .iter()
            .map(|s| [s.at_s - view.now_s, f(s) as f64])
            .filter(|p| p[0] >= -Stats::WINDOW_S)
            .collect()
    };
    egui_plot::Plot::new("timings")
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftTop))
        .include_y(0.0)
        .y_axis_label("ms")
        .x_axis_label("seconds ago")
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .show(ui, |plot| {
            plot.set_plot_bounds_x(-Stats::WINDOW_S..=0.0);
            plot.set_auto_bounds([false, true]);
            plot.line(egui_plot::Line::new("latency", series(|s| s.latency_ms)));
            plot.line(egui_plot::Line::new(
                "inference",
                series(|s| s.inference_ms),
            ));
            plot.line(egui_plot::Line::new(
                "association",
                series(|s| s.association_ms),
            ));
        });
}
