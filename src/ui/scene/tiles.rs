//! The views side by side, each with the 3D people projected back into it in each person's colour:
//! where a skeleton does not sit on its person, the 3D is wrong there.

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, TextureHandle, TextureOptions, Ui};

use super::loader::SceneData;
use crate::multiview::scene::{FrameSet, ScenePerson};
use crate::render::id_color;

/// Each view's texture and the frame it holds.
#[derive(Default)]
pub struct ViewTextures(Vec<Option<(usize, TextureHandle)>>);

impl ViewTextures {
    /// View `v`'s texture showing `frame`, uploaded when it changes.
    fn of(
        &mut self,
        ctx: &egui::Context,
        data: &SceneData,
        v: usize,
        frame: usize,
    ) -> Option<&TextureHandle> {
        if self.0.len() < data.pictures.len() {
            self.0.resize_with(data.pictures.len(), || None);
        }
        let picture = data.pictures.get(v)?.get(frame)?;
        let slot = &mut self.0[v];
        if slot.as_ref().is_none_or(|(f, _)| *f != frame) {
            let size = [picture.width() as usize, picture.height() as usize];
            let image = egui::ColorImage::from_rgb(size, picture.as_raw());
            match slot {
                Some((f, texture)) => {
                    texture.set(image, TextureOptions::LINEAR);
                    *f = frame;
                }
                None => {
                    let texture =
                        ctx.load_texture(format!("scene-view-{v}"), image, TextureOptions::LINEAR);
                    *slot = Some((frame, texture));
                }
            }
        }
        slot.as_ref().map(|(_, t)| t)
    }
}

/// The views in a grid filling `ui`, for frame set `set`.
pub fn show(
    ui: &mut Ui,
    textures: &mut ViewTextures,
    data: &SceneData,
    set: &FrameSet,
    people: &[ScenePerson],
) {
    let n = data.rig.len().max(1);
    let columns = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(columns);
    let cell = egui::vec2(
        ui.available_width() / columns as f32,
        ui.available_height() / rows as f32 - ui.spacing().interact_size.y,
    );
    egui::Grid::new("scene-views")
        .spacing([4.0, 2.0])
        .show(ui, |ui| {
            for v in 0..n {
                ui.vertical(|ui| {
                    let cam = &data.rig.cameras[v];
                    let frame = set.frames.get(v).copied().flatten();
                    ui.label(match frame {
                        Some(f) => format!("{} · frame {f}", cam.name),
                        None => format!("{} · no frame at this time", cam.name),
                    });
                    let aspect = cam.size[0] as f32 / cam.size[1].max(1) as f32;
                    let size = fit(cell, aspect);
                    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::WidgetType::Image,
                            true,
                            format!("view {}", cam.name),
                        )
                    });
                    ui.painter().rect_filled(rect, 0.0, Color32::from_gray(15));
                    if let Some(texture) = frame.and_then(|f| textures.of(ui.ctx(), data, v, f)) {
                        let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
                        ui.painter().image(texture.id(), rect, uv, Color32::WHITE);
                    }
                    draw_projected(ui.painter(), rect, data, v, people);
                });
                if (v + 1) % columns == 0 {
                    ui.end_row();
                }
            }
        });
}

/// The largest size of this aspect ratio (width / height) inside `cell`.
fn fit(cell: egui::Vec2, aspect: f32) -> egui::Vec2 {
    let by_height = egui::vec2(cell.y * aspect, cell.y);
    if by_height.x <= cell.x {
        by_height
    } else {
        egui::vec2(cell.x, cell.x / aspect)
    }
}

fn draw_projected(
    painter: &egui::Painter,
    rect: Rect,
    data: &SceneData,
    v: usize,
    people: &[ScenePerson],
) {
    let cam = &data.rig.cameras[v];
    let scale = egui::vec2(
        rect.width() / cam.size[0] as f32,
        rect.height() / cam.size[1] as f32,
    );
    for person in people {
        let [r, g, b] = id_color(person.id);
        let stroke = Stroke::new(2.0, Color32::from_rgb(r, g, b));
        let at = |part: usize| -> Option<Pos2> {
            let joint = person.person.joints.get(part)?.as_ref()?;
            let [u, v] = cam.project(&joint.point)?;
            Some(rect.min + egui::vec2(u as f32 * scale.x, v as f32 * scale.y))
        };
        for limb in data.skeleton.drawn_limbs() {
            if let (Some(p), Some(q)) = (at(limb.from), at(limb.to)) {
                if rect.contains(p) && rect.contains(q) {
                    painter.line_segment([p, q], stroke);
                }
            }
        }
    }
}
