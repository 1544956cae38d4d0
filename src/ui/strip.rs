//! The presence strip under the picture of a file: a row per ID showing when that person is in view,
//! the frame on screen as a line, and a click that jumps there. Also what the window reads from the
//! timeline to draw (presence and the followed person's angles), recomputed when it changes.

use std::time::{Duration, Instant};

use eframe::egui;

use super::state::Command;
use super::timeline::{AngleRows, Presence, Timeline};
use crate::pipeline::Control;
use crate::pose::Skeleton;
use crate::render::id_color;

/// Views of the timeline, recomputed at most this often while it grows.
const REFRESH: Duration = Duration::from_millis(400);

/// What is drawn from the timeline, kept between frames.
#[derive(Debug, Default)]
pub struct TimelineViews {
    version: Option<u64>,
    followed: Option<u64>,
    at: Option<Instant>,
    pub presence: Vec<Presence>,
    pub angles: AngleRows,
}

impl TimelineViews {
    /// Brings the views up to date with `timeline` (not more often than [`REFRESH`] while it grows,
    /// at once when the followed person changes or the frame stands still).
    pub fn refresh(
        &mut self,
        timeline: &Timeline,
        followed: Option<u64>,
        skeleton: Option<&Skeleton>,
        frame_s: f64,
        playing: bool,
    ) {
        let stale = self.version != Some(timeline.version()) || self.followed != followed;
        let due = !playing
            || self.followed != followed
            || self.at.is_none_or(|at| at.elapsed() >= REFRESH);
        if !stale || !due {
            return;
        }
        // Frames further apart than this split a run (a second at most: a missed frame or two does not).
        let gap = (2.5 * frame_s).clamp(0.05, 1.0);
        self.presence = timeline.presence(gap);
        self.angles = match (followed, skeleton) {
            (Some(id), Some(s)) => timeline.angles_of(id, s),
            _ => Vec::new(),
        };
        self.version = Some(timeline.version());
        self.followed = followed;
        self.at = Some(Instant::now());
    }
}

/// Height of the strip at most, in points.
const STRIP_HEIGHT: f32 = 64.0;
/// Room for the ID labels on the left.
const LABELS: f32 = 38.0;

/// Draws the strip; a click asks to seek to where that person is in view.
pub fn strip_ui(
    ui: &mut egui::Ui,
    presence: &[Presence],
    duration_s: f64,
    position_s: f64,
    followed: Option<u64>,
) -> Vec<Command> {
    let rows = presence.len().max(1);
    let row_h = (STRIP_HEIGHT / rows as f32).clamp(3.0, 12.0);
    let size = egui::vec2(ui.available_width(), row_h * rows as f32 + 4.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Other, true, "presence strip"));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let span = duration_s.max(1e-3);
    let track = egui::Rect::from_min_max(
        rect.min + egui::vec2(LABELS, 2.0),
        rect.max - egui::vec2(2.0, 2.0),
    );
    let x_of = |t: f64| track.min.x + (t / span).clamp(0.0, 1.0) as f32 * track.width();
    for (i, p) in presence.iter().enumerate() {
        let y = track.min.y + i as f32 * row_h;
        let [r, g, b] = id_color(p.id);
        let strong = followed.is_none_or(|f| f == p.id);
        let color = egui::Color32::from_rgba_unmultiplied(r, g, b, if strong { 255 } else { 110 });
        for &(a, z) in &p.runs {
            let bar = egui::Rect::from_min_max(
                egui::pos2(x_of(a), y + 0.5),
                egui::pos2(x_of(z).max(x_of(a) + 2.0), y + row_h - 0.5),
            );
            painter.rect_filled(bar, 1.0, color);
        }
        if row_h >= 9.0 {
            let pos = egui::pos2(rect.min.x + 4.0, y + row_h / 2.0);
            let font = egui::FontId::proportional(row_h.min(11.0));
            painter.text(
                pos,
                egui::Align2::LEFT_CENTER,
                format!("#{}", p.id),
                font,
                color,
            );
        }
    }
    let now = x_of(position_s);
    painter.line_segment(
        [egui::pos2(now, rect.min.y), egui::pos2(now, rect.max.y)],
        egui::Stroke::new(1.5, ui.visuals().strong_text_color()),
    );
    let Some(click) = response
        .interact_pointer_pos()
        .filter(|_| response.clicked())
    else {
        return Vec::new();
    };
    let t = ((click.x - track.min.x) / track.width().max(1.0)) as f64 * span;
    let row = ((click.y - track.min.y) / row_h).floor().max(0.0) as usize;
    let target = presence.get(row).map_or(t, |p| nearest_in(&p.runs, t));
    vec![Command::Control(Control::Seek(target))]
}

/// `t` if it lies in a run, else the closest run's nearest end.
pub fn nearest_in(runs: &[(f64, f64)], t: f64) -> f64 {
    runs.iter()
        .map(|&(a, z)| t.clamp(a, z))
        .min_by(|x, y| (x - t).abs().total_cmp(&(y - t).abs()))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::nearest_in;

    #[test]
    fn a_click_lands_where_the_person_is() {
        let runs = [(1.0, 2.0), (5.0, 9.0)];
        assert_eq!(nearest_in(&runs, 1.5), 1.5);
        assert_eq!(nearest_in(&runs, 3.0), 2.0);
        assert_eq!(nearest_in(&runs, 4.5), 5.0);
        assert_eq!(nearest_in(&[], 4.5), 4.5);
    }
}
