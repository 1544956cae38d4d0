//! The presence strip under the picture of a file: a row per ID showing when that person is in view,
//! the frame on screen as a line, and a click that jumps there. Also what the window reads from the
//! timeline to draw (presence and the followed person's angles), recomputed when it changes.

use std::time::{Duration, Instant};

use eframe::egui;

use super::motion_view::{self, AngleOptions, AngleRows};
use super::state::Command;
use super::timeline::{Presence, Timeline};
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
    options: Option<AngleOptions>,
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
        (skeleton, options): (Option<&Skeleton>, AngleOptions),
        frame_s: f64,
        playing: bool,
    ) {
        let asked = self.followed != followed || self.options != Some(options);
        let stale = self.version != Some(timeline.version()) || asked;
        let due = !playing || asked || self.at.is_none_or(|at| at.elapsed() >= REFRESH);
        if !stale || !due {
            return;
        }
        // Frames further apart than this split a run (a second at most: a missed frame or two does not).
        let gap = (2.5 * frame_s).clamp(0.05, 1.0);
        self.presence = timeline.presence(gap);
        self.angles = match (followed.and_then(|id| timeline.track_of(id)), skeleton) {
            (Some((track, times)), Some(s)) => motion_view::from_track(s, track, &times, &options),
            _ => AngleRows::default(),
        };
        self.version = Some(timeline.version());
        self.followed = followed;
        self.options = Some(options);
        self.at = Some(Instant::now());
    }
}

/// Height of the strip at most, in points.
const STRIP_HEIGHT: f32 = 64.0;
/// Room for the ID labels on the left.
const LABELS: f32 = 38.0;

/// Where the strip's rows and times lie on screen.
struct StripGeometry {
    /// The whole strip, labels included.
    rect: egui::Rect,
    /// Where time runs left to right.
    track: egui::Rect,
    row_h: f32,
    span: f64,
}

impl StripGeometry {
    fn x_of(&self, t: f64) -> f32 {
        self.track.min.x + (t / self.span).clamp(0.0, 1.0) as f32 * self.track.width()
    }

    /// The row under `pos`, its person if the row has one, and the time under `pos`.
    fn at<'p>(
        &self,
        pos: egui::Pos2,
        presence: &'p [Presence],
    ) -> (usize, Option<&'p Presence>, f64) {
        let row = ((pos.y - self.track.min.y) / self.row_h).floor().max(0.0) as usize;
        let x = (pos.x - self.track.min.x) / self.track.width().max(1.0);
        (row, presence.get(row), x.clamp(0.0, 1.0) as f64 * self.span)
    }

    /// Row `i` across the whole strip.
    fn row(&self, i: usize) -> egui::Rect {
        let y = self.track.min.y + i as f32 * self.row_h;
        egui::Rect::from_x_y_ranges(self.rect.x_range(), y..=y + self.row_h)
    }
}

/// Draws the strip; a click asks to seek to where that person is in view. Hovering names the row
/// (rows too thin for a label have only this).
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
    let geometry = StripGeometry {
        rect,
        track: egui::Rect::from_min_max(
            rect.min + egui::vec2(LABELS, 2.0),
            rect.max - egui::vec2(2.0, 2.0),
        ),
        row_h,
        span: duration_s.max(1e-3),
    };
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let hovered = response
        .hover_pos()
        .and_then(|pos| match geometry.at(pos, presence) {
            (row, Some(p), t) => Some((row, p, t)),
            _ => None,
        });
    if let Some((row, _, _)) = hovered {
        let band = geometry.row(row);
        painter.rect_filled(band, 0.0, ui.visuals().widgets.hovered.weak_bg_fill);
    }
    draw_rows(&painter, &geometry, presence, followed);
    let now = geometry.x_of(position_s);
    painter.line_segment(
        [egui::pos2(now, rect.min.y), egui::pos2(now, rect.max.y)],
        egui::Stroke::new(1.5, ui.visuals().strong_text_color()),
    );
    let response = match hovered {
        Some((_, p, t)) => response.on_hover_text_at_pointer(hover_text(p, t)),
        None => response,
    };
    let Some(click) = response
        .interact_pointer_pos()
        .filter(|_| response.clicked())
    else {
        return Vec::new();
    };
    let (_, person, t) = geometry.at(click, presence);
    let target = person.map_or(t, |p| nearest_in(&p.runs, t));
    vec![Command::Control(Control::Seek(target))]
}

/// One row per ID: its runs as bars in its colour, and its label where the row is tall enough.
fn draw_rows(
    painter: &egui::Painter,
    g: &StripGeometry,
    presence: &[Presence],
    followed: Option<u64>,
) {
    for (i, p) in presence.iter().enumerate() {
        let row = g.row(i);
        let [r, gr, b] = id_color(p.id);
        let strong = followed.is_none_or(|f| f == p.id);
        let color = egui::Color32::from_rgba_unmultiplied(r, gr, b, if strong { 255 } else { 110 });
        for &(a, z) in &p.runs {
            let bar = egui::Rect::from_min_max(
                egui::pos2(g.x_of(a), row.min.y + 0.5),
                egui::pos2(g.x_of(z).max(g.x_of(a) + 2.0), row.max.y - 0.5),
            );
            painter.rect_filled(bar, 1.0, color);
        }
        if g.row_h >= 9.0 {
            let pos = egui::pos2(row.min.x + 4.0, row.center().y);
            let font = egui::FontId::proportional(g.row_h.min(11.0));
            painter.text(
                pos,
                egui::Align2::LEFT_CENTER,
                format!("#{}", p.id),
                font,
                color,
            );
        }
    }
}

/// What hovering a row says: the person, the stretch in view nearest the pointer, and the click.
fn hover_text(p: &Presence, t: f64) -> String {
    let at = nearest_in(&p.runs, t);
    match p.runs.iter().find(|&&(a, z)| a <= at && at <= z) {
        Some(&(a, z)) => format!("#{}: in view {a:.1}–{z:.1} s (click to go there)", p.id),
        None => format!("#{}", p.id),
    }
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
    use super::{hover_text, nearest_in, Presence};

    #[test]
    fn a_click_lands_where_the_person_is() {
        let runs = [(1.0, 2.0), (5.0, 9.0)];
        assert_eq!(nearest_in(&runs, 1.5), 1.5);
        assert_eq!(nearest_in(&runs, 3.0), 2.0);
        assert_eq!(nearest_in(&runs, 4.5), 5.0);
        assert_eq!(nearest_in(&[], 4.5), 4.5);
    }

    #[test]
    fn hovering_a_row_names_the_person_and_the_stretch_nearest_the_pointer() {
        let p = Presence {
            id: 7,
            runs: vec![(1.0, 2.0), (5.0, 9.3)],
        };
        assert_eq!(
            hover_text(&p, 4.0),
            "#7: in view 5.0–9.3 s (click to go there)"
        );
        assert!(hover_text(&p, 1.5).contains("1.0–2.0 s"));
    }
}
