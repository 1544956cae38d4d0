//! The bottom panel: rates, latency and timings now, and over the last seconds as a plot.

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
    });
    let series = |f: fn(&StatSample) -> f32| -> egui_plot::PlotPoints {
        stats
            .samples
            .iter()
            .map(|s| [s.at_s - view.now_s, f(s) as f64])
            .collect()
    };
    egui_plot::Plot::new("timings")
        .legend(egui_plot::Legend::default())
        .include_y(0.0)
        .include_x(-Stats::WINDOW_S)
        .include_x(0.0)
        .y_axis_label("ms")
        .allow_scroll(false)
        .show(ui, |plot| {
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
