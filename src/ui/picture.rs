//! The central picture: the frame as a texture (updated in place), the debug view of a network channel,
//! and the skeletons painted from the same marks as exported videos.

use std::sync::Arc;

use eframe::egui;
use egui::{Color32, Pos2, Rect, Stroke, TextureHandle, TextureOptions};

use super::settings::{DebugOverlay, DebugView};
use super::state::{fit_rect, image_to_screen, person_at};
use crate::pipeline::FrameResult;
use crate::pose::{MapStack, Person};
use crate::render::{figures, id_color, overlay_marks, Identity, Mark, OverlayStyle};
use crate::track::TrackedPerson;

/// Textures kept from frame to frame.
#[derive(Default)]
pub struct PictureTextures {
    frame: Option<TextureHandle>,
    /// Which picture the frame texture holds (frame sequence, pixels).
    frame_key: Option<(u64, usize)>,
    debug: Option<TextureHandle>,
}

/// Where the picture lies on screen, for mapping image pixels to points.
#[derive(Debug, Clone, Copy)]
struct Placement {
    rect: [f32; 4],
    size: (u32, u32),
}

impl Placement {
    fn point(&self, (x, y): (f32, f32)) -> Pos2 {
        let (sx, sy) = image_to_screen(self.rect, self.size, (x, y));
        Pos2::new(sx, sy)
    }

    /// Screen points per image pixel.
    fn scale(&self) -> f32 {
        self.rect[2] / self.size.0.max(1) as f32
    }

    /// The image pixel under a screen point.
    fn image_point(&self, p: Pos2) -> (f32, f32) {
        let [rx, ry, rw, rh] = self.rect;
        (
            (p.x - rx) / rw.max(1e-3) * self.size.0 as f32 - 0.5,
            (p.y - ry) / rh.max(1e-3) * self.size.1 as f32 - 0.5,
        )
    }
}

/// What is drawn over the frame.
pub struct Overlay<'a> {
    pub people: &'a [Person],
    pub tracked: &'a [TrackedPerson],
    pub style: &'a OverlayStyle,
    pub debug: &'a DebugOverlay,
    /// The person whose angles are shown, outlined.
    pub followed: Option<u64>,
}

/// Draws the frame and its overlay; returns the index of the person clicked, if one was.
pub fn picture_ui(
    ui: &mut egui::Ui,
    textures: &mut PictureTextures,
    last: &FrameResult,
    overlay: &Overlay<'_>,
) -> Option<usize> {
    let image = last.frame.picture.to_rgb();
    let size = image.dimensions();
    let key = (last.frame.seq, Arc::as_ptr(&image) as usize);
    if textures.frame_key != Some(key) {
        let color = egui::ColorImage::from_rgb([size.0 as usize, size.1 as usize], image.as_raw());
        upload(ui.ctx(), &mut textures.frame, "frame", color);
        textures.frame_key = Some(key);
    }
    let avail = ui.available_rect_before_wrap();
    let placement = Placement {
        rect: fit_rect(
            [avail.min.x, avail.min.y, avail.width(), avail.height()],
            size,
        ),
        size,
    };
    let r = placement.rect;
    let rect = Rect::from_min_size(Pos2::new(r[0], r[1]), egui::vec2(r[2], r[3]));
    let response = ui.allocate_rect(rect, egui::Sense::click());
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::WidgetType::Image, true, "video frame"));
    let painter = ui.painter_at(avail);
    let whole = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    if let Some(t) = &textures.frame {
        painter.image(t.id(), rect, whole, Color32::WHITE);
    }
    if overlay.debug.view != DebugView::Off {
        let clipped = painter.with_clip_rect(rect);
        debug_ui(ui, &clipped, textures, last, overlay.debug, placement);
    }
    let shown = figures(overlay.people, overlay.tracked, overlay.style.smoothed);
    if let Some(id) = overlay.followed {
        highlight(&painter, &shown, id, placement);
    }
    let size = (size.0 as usize, size.1 as usize);
    let marks = overlay_marks(last.skeleton, &shown, overlay.style, size);
    paint_marks(&painter, &marks, placement);
    let click = response
        .interact_pointer_pos()
        .filter(|_| response.clicked())?;
    let boxes: Vec<Option<[f32; 4]>> = shown
        .iter()
        .map(|f| crate::track::similarity::bounds(f.keypoints))
        .collect();
    person_at(&boxes, placement.image_point(click))
}

/// Outlines the followed person: a rounded box in their colour around their keypoints.
fn highlight(painter: &egui::Painter, shown: &[crate::render::Figure<'_>], id: u64, at: Placement) {
    let Some(figure) = shown.iter().find(|f| f.identity == Identity::Track(id)) else {
        return;
    };
    let Some([x0, y0, x1, y1]) = crate::track::similarity::bounds(figure.keypoints) else {
        return;
    };
    let [r, g, b] = id_color(id);
    let rect = Rect::from_min_max(at.point((x0, y0)), at.point((x1, y1))).expand(10.0);
    painter.rect_stroke(
        rect,
        6.0,
        Stroke::new(5.0, Color32::from_black_alpha(140)),
        egui::StrokeKind::Outside,
    );
    painter.rect_stroke(
        rect,
        6.0,
        Stroke::new(2.5, Color32::from_rgb(r, g, b)),
        egui::StrokeKind::Outside,
    );
}

fn upload(
    ctx: &egui::Context,
    slot: &mut Option<TextureHandle>,
    name: &str,
    image: egui::ColorImage,
) {
    match slot {
        Some(t) => t.set(image, TextureOptions::LINEAR),
        None => *slot = Some(ctx.load_texture(name, image, TextureOptions::LINEAR)),
    }
}

/// Paints overlay marks with egui: the same geometry and colours as the rasterised overlays.
fn paint_marks(painter: &egui::Painter, marks: &[Mark], at: Placement) {
    let scale = at.scale();
    let rgba = |[r, g, b]: [u8; 3], opacity: f32| {
        Color32::from_rgba_unmultiplied(r, g, b, (opacity.clamp(0.0, 1.0) * 255.0) as u8)
    };
    for mark in marks {
        match mark {
            Mark::Line {
                from,
                to,
                width,
                color,
                opacity,
            } => {
                let stroke = Stroke::new((width * scale).max(2.0), rgba(*color, *opacity));
                painter.line_segment([at.point(*from), at.point(*to)], stroke);
            }
            Mark::Dot {
                at: c,
                radius,
                color,
                opacity,
            } => {
                painter.circle_filled(
                    at.point(*c),
                    (radius * scale).max(1.5),
                    rgba(*color, *opacity),
                );
            }
            Mark::Label {
                text,
                at: anchor,
                color,
                ..
            } => paint_label(painter, text, at.point(*anchor), *color),
        }
    }
}

/// A label centred above `anchor`, in `color` with a black outline.
fn paint_label(painter: &egui::Painter, text: &str, anchor: Pos2, [r, g, b]: [u8; 3]) {
    let font = egui::FontId::proportional(17.0);
    let galley = |c: Color32| painter.layout_no_wrap(text.to_string(), font.clone(), c);
    let front = galley(Color32::from_rgb(r, g, b));
    let top_left = anchor - egui::vec2(front.size().x / 2.0, front.size().y + 2.0);
    for (dx, dy) in [
        (-1.5, 0.0),
        (1.5, 0.0),
        (0.0, -1.5),
        (0.0, 1.5),
        (-1.0, -1.0),
        (1.0, 1.0),
        (-1.0, 1.0),
        (1.0, -1.0),
    ] {
        painter.galley(
            top_left + egui::vec2(dx, dy),
            galley(Color32::BLACK),
            Color32::BLACK,
        );
    }
    painter.galley(top_left, front, Color32::WHITE);
}

/// What the debug view shows: one channel (PAFs signed), or the strongest value over every part
/// (heatmaps, background left out) or every limb (PAF magnitudes).
fn debug_plane(last: &FrameResult, debug: &DebugOverlay) -> Option<(Vec<f32>, bool)> {
    let maps = &last.maps;
    let parts = last.skeleton.parts.len();
    let stack: &MapStack = match debug.view {
        DebugView::Off => return None,
        DebugView::Heatmap => &maps.heatmaps,
        DebugView::Paf => &maps.pafs,
    };
    match debug.channel {
        Some(c) if c < stack.channels() => {
            Some((stack.channel_plane(c), debug.view == DebugView::Paf))
        }
        Some(_) => None,
        None if stack.channels() == 0 => None,
        None => {
            let mut plane = vec![0.0f32; stack.width() * stack.height()];
            let strongest = |plane: &mut Vec<f32>, values: Vec<f32>| {
                for (p, v) in plane.iter_mut().zip(values) {
                    *p = p.max(v);
                }
            };
            if debug.view == DebugView::Heatmap {
                for c in 0..parts.min(stack.channels()) {
                    strongest(&mut plane, stack.channel_plane(c));
                }
            } else {
                for limb in last.skeleton.limbs {
                    if limb.paf_x.max(limb.paf_y) < stack.channels() {
                        let (x, y) = (
                            stack.channel_plane(limb.paf_x),
                            stack.channel_plane(limb.paf_y),
                        );
                        strongest(
                            &mut plane,
                            x.iter().zip(&y).map(|(a, b)| a.hypot(*b)).collect(),
                        );
                    }
                }
            }
            Some((plane, false))
        }
    }
}

/// The network output blended over the picture (heatmaps orange to yellow, PAFs red and blue by
/// sign), with its colour scale.
fn debug_ui(
    ui: &egui::Ui,
    painter: &egui::Painter,
    textures: &mut PictureTextures,
    last: &FrameResult,
    debug: &DebugOverlay,
    at: Placement,
) {
    let Some((plane, signed)) = debug_plane(last, debug) else {
        return;
    };
    let maps = &last.maps;
    let (gw, gh) = (maps.heatmaps.width(), maps.heatmaps.height());
    let alpha = (debug.opacity * 255.0) as u8;
    let pixels: Vec<Color32> = plane
        .iter()
        .map(|&v| debug_color(v, signed, alpha))
        .collect();
    let color = egui::ColorImage {
        size: [gw, gh],
        source_size: egui::vec2(gw as f32, gh as f32),
        pixels,
    };
    upload(ui.ctx(), &mut textures.debug, "debug", color);
    // The grid's cells are centred on image points: the texture spans half a cell beyond.
    let (x0, y0) = maps.grid_to_image.apply(-0.5, -0.5);
    let (x1, y1) = maps.grid_to_image.apply(gw as f32 - 0.5, gh as f32 - 0.5);
    let area = Rect::from_min_max(
        at.point((x0 - 0.5, y0 - 0.5)),
        at.point((x1 - 0.5, y1 - 0.5)),
    );
    if let Some(t) = &textures.debug {
        let whole = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
        painter.image(t.id(), area, whole, Color32::WHITE);
    }
    colour_scale(painter, at, signed);
}

/// A bar in the picture's bottom-left corner mapping colours to values.
fn colour_scale(painter: &egui::Painter, at: Placement, signed: bool) {
    let [x, y, _, h] = at.rect;
    let bar = Rect::from_min_size(Pos2::new(x + 12.0, y + h - 34.0), egui::vec2(160.0, 12.0));
    painter.rect_filled(
        bar.expand(8.0).translate(egui::vec2(0.0, 4.0)),
        4.0,
        Color32::from_black_alpha(170),
    );
    let steps = 40;
    let (from, to) = if signed { (-1.0, 1.0) } else { (0.0, 1.0) };
    for i in 0..steps {
        let v = from + (to - from) * (i as f32 + 0.5) / steps as f32;
        let left = bar.min.x + bar.width() * i as f32 / steps as f32;
        let cell = Rect::from_min_size(
            Pos2::new(left, bar.min.y),
            egui::vec2(bar.width() / steps as f32 + 0.5, bar.height()),
        );
        painter.rect_filled(cell, 0.0, debug_color(v, signed, 255));
    }
    let font = egui::FontId::proportional(11.0);
    let ends = if signed {
        ["-1", "0", "+1"]
    } else {
        ["0", "0.5", "1"]
    };
    for (i, label) in ends.iter().enumerate() {
        let pos = Pos2::new(bar.min.x + bar.width() * i as f32 / 2.0, bar.max.y + 1.0);
        painter.text(
            pos,
            egui::Align2::CENTER_TOP,
            label,
            font.clone(),
            Color32::WHITE,
        );
    }
}

fn debug_color(v: f32, signed: bool, alpha: u8) -> Color32 {
    if signed {
        let m = (v.abs().min(1.0) * 255.0) as u8;
        if v >= 0.0 {
            Color32::from_rgba_unmultiplied(255, 60, 0, m.min(alpha))
        } else {
            Color32::from_rgba_unmultiplied(0, 120, 255, m.min(alpha))
        }
    } else {
        let m = (v.clamp(0.0, 1.0) * 255.0) as u8;
        Color32::from_rgba_unmultiplied(255, m, 0, m.min(alpha))
    }
}
