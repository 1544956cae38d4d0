//! The 3D view: the floor, the cameras and the people, drawn with egui's painter through an
//! [`Orbit`]. Drag to orbit, right-drag (or shift-drag) to pan, scroll to zoom.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, Ui};
use nalgebra::{Point3, Vector3};

use super::loader::SceneData;
use super::orbit::Orbit;
use crate::multiview::scene::ScenePerson;
use crate::render::id_color;

const FLOOR: Color32 = Color32::from_gray(70);
const CAMERA: Color32 = Color32::from_rgb(120, 170, 255);

/// Draws the view in the space left in `ui` and applies the mouse to `orbit`.
pub fn show(ui: &mut Ui, orbit: &mut Orbit, data: &SceneData, people: &[ScenePerson]) {
    let size = ui.available_size().max(egui::vec2(100.0, 100.0));
    let (response, painter) = ui.allocate_painter(size, Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Other, true, "3D view"));
    let rect = response.rect;
    painter.rect_filled(rect, 0.0, Color32::from_gray(20));
    let panning = response.dragged_by(egui::PointerButton::Secondary)
        || (response.dragged_by(egui::PointerButton::Primary) && ui.input(|i| i.modifiers.shift));
    if panning {
        orbit.pan(response.drag_delta(), rect);
    } else if response.dragged_by(egui::PointerButton::Primary) {
        orbit.turn(response.drag_delta());
    }
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            orbit.zoom(scroll);
        }
    }
    let line = |a: &Point3<f64>, b: &Point3<f64>, stroke: Stroke| {
        if let (Some(p), Some(q)) = (orbit.project(a, rect), orbit.project(b, rect)) {
            painter.line_segment([p, q], stroke);
        }
    };
    floor(data, &line);
    for cam in &data.rig.cameras {
        let c = cam.centre();
        line(
            &c,
            &(c + 0.4 * cam.axis().normalize()),
            Stroke::new(2.0, CAMERA),
        );
        if let Some(p) = orbit.project(&c, rect) {
            painter.circle_filled(p, 4.0, CAMERA);
            painter.text(
                p + egui::vec2(6.0, -6.0),
                egui::Align2::LEFT_BOTTOM,
                &cam.name,
                egui::FontId::proportional(12.0),
                CAMERA,
            );
        }
    }
    for person in people {
        draw_person(&painter, orbit, rect, data, person);
    }
}

/// Half-metre lines on the floor (Z = 0) around where the cameras look.
fn floor(data: &SceneData, line: &impl Fn(&Point3<f64>, &Point3<f64>, Stroke)) {
    let centre = data.rig.look_at().unwrap_or(Point3::origin());
    let reach = data
        .rig
        .cameras
        .iter()
        .map(|c| (c.centre() - centre).xy().norm())
        .fold(2.0, f64::max)
        .ceil();
    let (cx, cy) = (
        (centre.x * 2.0).round() / 2.0,
        (centre.y * 2.0).round() / 2.0,
    );
    let steps = (2.0 * reach / 0.5) as i32;
    let stroke = Stroke::new(1.0, FLOOR);
    for i in 0..=steps {
        let t = -reach + f64::from(i) * 0.5;
        line(
            &Point3::new(cx + t, cy - reach, 0.0),
            &Point3::new(cx + t, cy + reach, 0.0),
            stroke,
        );
        line(
            &Point3::new(cx - reach, cy + t, 0.0),
            &Point3::new(cx + reach, cy + t, 0.0),
            stroke,
        );
    }
}

fn draw_person(
    painter: &egui::Painter,
    orbit: &Orbit,
    rect: Rect,
    data: &SceneData,
    person: &ScenePerson,
) {
    let [r, g, b] = id_color(person.id);
    let colour = Color32::from_rgb(r, g, b);
    let at = |part: usize| -> Option<Pos2> {
        let joint = person.person.joints.get(part)?.as_ref()?;
        orbit.project(&joint.point, rect)
    };
    for limb in data.skeleton.drawn_limbs() {
        if let (Some(p), Some(q)) = (at(limb.from), at(limb.to)) {
            painter.line_segment([p, q], Stroke::new(3.0, colour));
        }
    }
    let top = person
        .person
        .joints
        .iter()
        .flatten()
        .map(|j| j.point)
        .max_by(|a, b| a.z.total_cmp(&b.z));
    if let Some(p) = top.and_then(|t| orbit.project(&(t + 0.15 * Vector3::z()), rect)) {
        painter.text(
            p,
            egui::Align2::CENTER_BOTTOM,
            format!("#{}", person.id),
            egui::FontId::proportional(14.0),
            colour,
        );
    }
}
