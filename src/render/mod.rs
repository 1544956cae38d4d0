//! Skeleton overlays, described once and drawn by two backends.
//!
//! [`overlay_marks`] turns people and an [`OverlayStyle`] into [`Mark`]s in image pixels (limbs,
//! joints, labels); [`draw_marks`] rasterises them into RGB images and YUV video frames, and the window
//! paints the same marks with egui. So the window, snapshots and exported videos look alike.

mod canvas;
pub mod plot;
pub mod rig_plot;
mod text;

use serde::{Deserialize, Serialize};

pub use canvas::{rasterize_capsule, Canvas, RgbCanvas, YuvCanvas};
pub use text::{draw_label, draw_text};

use crate::pose::{Keypoint, Person, Skeleton};
use crate::track::TrackedPerson;

/// How overlays look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OverlayStyle {
    pub limbs: bool,
    pub joints: bool,
    /// Fade keypoints and limbs with low confidence.
    pub confidence_shading: bool,
    /// Line thickness in pixels; `None` scales with the frame.
    pub thickness: Option<f32>,
    /// Label each person above their skeleton: their track ID, or #1, #2... untracked.
    pub numbers: bool,
    /// Tracked people in their ID's colour (a stable palette) instead of OpenPose's part colours.
    pub color_by_id: bool,
    /// Draw each tracked person's recent path (of the trail part, the neck).
    pub trails: bool,
    /// Draw smoothed keypoints where the tracker made them.
    pub smoothed: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            limbs: true,
            joints: true,
            confidence_shading: false,
            thickness: None,
            numbers: false,
            color_by_id: true,
            trails: false,
            smoothed: true,
        }
    }
}

/// The colour of track `id`: hues a golden angle apart, so IDs near each other (the people on
/// screen together) never look alike; the brightness steps too, parting IDs whose hues meet again.
pub fn id_color(id: u64) -> [u8; 3] {
    const GOLDEN_ANGLE: f64 = 137.507_764;
    let hue = (id as f64 * GOLDEN_ANGLE) % 360.0;
    let value = [1.0, 0.9, 0.8][(id % 3) as usize];
    hsv_to_rgb(hue, 0.78, value)
}

fn hsv_to_rgb(hue: f64, saturation: f64, value: f64) -> [u8; 3] {
    let c = value * saturation;
    let h = hue / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = value - c;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [byte(r), byte(g), byte(b)]
}

/// Who a drawn person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// Tracked, with this ID.
    Track(u64),
    /// Tracked, not confirmed yet.
    Tentative,
    /// No tracking: the person's place in the frame (1-based).
    Untracked(usize),
}

/// A person as drawn: the keypoints to draw (raw or smoothed), who they are, and their trail.
#[derive(Debug, Clone, Copy)]
pub struct Figure<'a> {
    pub keypoints: &'a [Option<Keypoint>],
    pub identity: Identity,
    pub trail: &'a [(f32, f32)],
}

/// The figures of a frame's `people`, with what `tracked` adds (one entry per person, or none when
/// tracking is off); smoothed keypoints when `smoothed`.
pub fn figures<'a>(
    people: &'a [Person],
    tracked: &'a [TrackedPerson],
    smoothed: bool,
) -> Vec<Figure<'a>> {
    people
        .iter()
        .enumerate()
        .map(|(i, p)| match tracked.get(i) {
            Some(t) => Figure {
                keypoints: if smoothed { &t.smoothed } else { &p.keypoints },
                identity: t.id.map_or(Identity::Tentative, Identity::Track),
                trail: &t.trail,
            },
            None => Figure {
                keypoints: &p.keypoints,
                identity: Identity::Untracked(i + 1),
                trail: &[],
            },
        })
        .collect()
}

/// Opacity of limbs over the picture (joints are opaque), as OpenPose renders them.
const LIMB_OPACITY: f32 = 0.75;
/// Joint radius relative to the line thickness.
const JOINT_RADIUS: f32 = 0.9;

impl OverlayStyle {
    /// OpenPose-like sizing: about 1/120 of the shorter side, never thinner than 2 pixels.
    pub fn line_thickness(&self, width: usize, height: usize) -> f32 {
        self.thickness
            .unwrap_or_else(|| (width.min(height) as f32 / 120.0).max(2.0))
    }

    /// Font pixel size for labels on a frame of this size.
    pub fn text_scale(width: usize, height: usize) -> usize {
        (width.min(height) / 270).max(1)
    }

    fn shade(&self, score: f32) -> f32 {
        if self.confidence_shading {
            score.clamp(0.2, 1.0)
        } else {
            1.0
        }
    }
}

/// One thing to draw, in image pixels (pixel centres at integers).
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
        color: [u8; 3],
        opacity: f32,
    },
    Dot {
        at: (f32, f32),
        radius: f32,
        color: [u8; 3],
        opacity: f32,
    },
    /// A person's label: text centred above `at` (its box's bottom middle), in `color` with a dark
    /// outline; `scale` font pixels per glyph pixel.
    Label {
        text: String,
        at: (f32, f32),
        scale: usize,
        color: [u8; 3],
    },
}

/// Trails fade from this opacity (oldest) to full.
const TRAIL_FADE: f32 = 0.15;

/// The marks for `figures` on a `width × height` picture.
pub fn overlay_marks(
    skeleton: &Skeleton,
    figures: &[Figure<'_>],
    style: &OverlayStyle,
    (width, height): (usize, usize),
) -> Vec<Mark> {
    let thickness = style.line_thickness(width, height);
    let mut marks = Vec::new();
    for figure in figures {
        let own = match figure.identity {
            Identity::Track(id) if style.color_by_id => Some(id_color(id)),
            _ => None,
        };
        if style.trails {
            trail_marks(figure, own, thickness, &mut marks);
        }
        if style.limbs {
            limb_marks(skeleton, figure, own, style, thickness, &mut marks);
        }
        if style.joints {
            for (part, k) in figure.keypoints.iter().enumerate() {
                if let (Some(k), Some(def)) = (k, skeleton.parts.get(part)) {
                    marks.push(Mark::Dot {
                        at: (k.x, k.y),
                        radius: thickness * JOINT_RADIUS,
                        color: own.unwrap_or(def.color),
                        opacity: style.shade(k.score),
                    });
                }
            }
        }
    }
    if style.numbers {
        label_marks(figures, style, (width, height), &mut marks);
    }
    marks
}

fn limb_marks(
    skeleton: &Skeleton,
    figure: &Figure<'_>,
    own: Option<[u8; 3]>,
    style: &OverlayStyle,
    thickness: f32,
    marks: &mut Vec<Mark>,
) {
    for limb in skeleton.drawn_limbs() {
        let (Some(Some(a)), Some(Some(b))) = (
            figure.keypoints.get(limb.from),
            figure.keypoints.get(limb.to),
        ) else {
            continue;
        };
        marks.push(Mark::Line {
            from: (a.x, a.y),
            to: (b.x, b.y),
            width: thickness,
            color: own.unwrap_or(skeleton.parts[limb.to].color),
            opacity: LIMB_OPACITY * style.shade(a.score.min(b.score)),
        });
    }
}

/// Trails are never thinner than this, in pixels.
const TRAIL_MIN_WIDTH: f32 = 2.0;

fn trail_marks(figure: &Figure<'_>, own: Option<[u8; 3]>, thickness: f32, marks: &mut Vec<Mark>) {
    let color = own.unwrap_or([255, 255, 255]);
    let n = figure.trail.len().max(2) as f32;
    for (i, w) in figure.trail.windows(2).enumerate() {
        marks.push(Mark::Line {
            from: w[0],
            to: w[1],
            width: (thickness * 0.75).max(TRAIL_MIN_WIDTH),
            color,
            opacity: TRAIL_FADE + (1.0 - TRAIL_FADE) * (i + 1) as f32 / (n - 1.0),
        });
    }
}

fn label_marks(
    figures: &[Figure<'_>],
    style: &OverlayStyle,
    (width, height): (usize, usize),
    marks: &mut Vec<Mark>,
) {
    let scale = OverlayStyle::text_scale(width, height);
    for figure in figures {
        let (text, color) = match figure.identity {
            Identity::Track(id) if style.color_by_id => (format!("#{id}"), id_color(id)),
            Identity::Track(id) => (format!("#{id}"), [255, 255, 255]),
            Identity::Untracked(n) => (format!("#{n}"), [255, 255, 255]),
            Identity::Tentative => continue,
        };
        if let Some(at) = above_head(figure.keypoints, scale) {
            marks.push(Mark::Label {
                text,
                at,
                scale,
                color,
            });
        }
    }
}

/// Where a person's label goes: centred over their topmost keypoints (the head, when seen), a
/// little above them, and never off the top of the picture.
pub fn above_head(keypoints: &[Option<Keypoint>], scale: usize) -> Option<(f32, f32)> {
    let [_, y0, _, y1] = crate::track::similarity::bounds(keypoints)?;
    let near_top = (y1 - y0) * 0.15 + 1.0;
    let top: Vec<f32> = keypoints
        .iter()
        .flatten()
        .filter(|k| k.y <= y0 + near_top && k.x.is_finite())
        .map(|k| k.x)
        .collect();
    let x = top.iter().sum::<f32>() / top.len().max(1) as f32;
    let label_height = text::TEXT_ROWS as f32 * scale as f32;
    Some((x, (y0 - 3.0 * scale as f32).max(label_height)))
}

/// Rasterises `marks` onto `canvas`.
pub fn draw_marks(canvas: &mut impl Canvas, marks: &[Mark]) {
    for mark in marks {
        match mark {
            Mark::Line {
                from,
                to,
                width,
                color,
                opacity,
            } => canvas.line(*from, *to, *width, *color, *opacity),
            Mark::Dot {
                at,
                radius,
                color,
                opacity,
            } => canvas.disc(*at, *radius, *color, *opacity),
            Mark::Label {
                text,
                at,
                scale,
                color,
            } => draw_label(canvas, text, *at, *scale, *color),
        }
    }
}

/// Draws every person's skeleton onto `canvas` (untracked).
pub fn draw_people(
    canvas: &mut impl Canvas,
    skeleton: &Skeleton,
    people: &[Person],
    style: &OverlayStyle,
) {
    draw_figures(canvas, skeleton, &figures(people, &[], false), style);
}

/// Draws `figures` onto `canvas`.
pub fn draw_figures(
    canvas: &mut impl Canvas,
    skeleton: &Skeleton,
    figures: &[Figure<'_>],
    style: &OverlayStyle,
) {
    let marks = overlay_marks(skeleton, figures, style, canvas.size());
    draw_marks(canvas, &marks);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{Keypoint, COCO18};
    use crate::video::{ColorSpec, Yuv420Image};

    #[test]
    fn lines_cover_their_axis_and_spare_the_rest() {
        let mut img = image::RgbImage::new(40, 20);
        let mut canvas = RgbCanvas::from_image(&mut img);
        canvas.line((5.0, 10.0), (35.0, 10.0), 4.0, [255, 0, 0], 1.0);
        assert_eq!(img.get_pixel(20, 10).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(20, 2).0, [0, 0, 0]);
        let edge = img.get_pixel(20, 12).0[0];
        assert!(edge > 0, "anti-aliased edge is partly covered");
    }

    #[test]
    fn yuv_drawing_matches_rgb_drawing_in_the_frame_colours() {
        for colors in [ColorSpec::BT601, ColorSpec::BT709] {
            let mut yuv = Yuv420Image::filled(40, 20, [0, 0, 0], colors);
            YuvCanvas { image: &mut yuv }.line((5.0, 10.0), (35.0, 10.0), 6.0, [255, 0, 0], 1.0);
            let rgb = yuv.to_rgb();
            let centre = rgb.get_pixel(20, 10).0;
            assert!(
                centre[0] > 240 && centre[1] < 15 && centre[2] < 15,
                "{colors:?}: {centre:?}"
            );
            assert_eq!(rgb.get_pixel(20, 1).0, [0, 0, 0]);
        }
    }

    #[test]
    fn text_lights_pixels_inside_its_box_only() {
        let mut img = image::RgbImage::new(80, 30);
        draw_text(&mut RgbCanvas::from_image(&mut img), "12.5 fps", 2, 2, 1);
        let lit = img.pixels().filter(|p| p.0 == [255, 255, 255]).count();
        assert!(lit > 40, "{lit}");
        assert_eq!(img.get_pixel(79, 29).0, [0, 0, 0]);
        let mut yuv = Yuv420Image::filled(80, 30, [0, 0, 0], ColorSpec::BT601);
        draw_text(&mut YuvCanvas { image: &mut yuv }, "#7", 70, 25, 2);
    }

    #[test]
    fn labels_sit_above_their_anchor_in_their_colour_with_an_outline() {
        let mut img = image::RgbImage::from_pixel(60, 40, image::Rgb([200, 200, 200]));
        draw_label(
            &mut RgbCanvas::from_image(&mut img),
            "#7",
            (30.0, 30.0),
            2,
            [255, 0, 0],
        );
        let red: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [255, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(red.len() > 20, "{}", red.len());
        assert!(
            red.iter().all(|&(x, y)| y < 30 && (14..46).contains(&x)),
            "above, centred"
        );
        let black = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
        assert!(black > 20, "an outline: {black}");
        assert_eq!(
            img.get_pixel(30, 35).0,
            [200, 200, 200],
            "nothing under the anchor"
        );
    }

    fn two_part_person() -> Person {
        let mut kps = vec![None; 18];
        kps[1] = Some(Keypoint {
            x: 5.0,
            y: 5.0,
            score: 0.5,
        });
        kps[2] = Some(Keypoint {
            x: 8.0,
            y: 9.0,
            score: 1.0,
        });
        Person {
            keypoints: kps,
            score: 1.0,
        }
    }

    #[test]
    fn the_style_decides_the_marks() {
        let people = [two_part_person()];
        let all = OverlayStyle {
            numbers: true,
            confidence_shading: true,
            ..OverlayStyle::default()
        };
        let marks = overlay_marks(&COCO18, &figures(&people, &[], false), &all, (100, 100));
        let count = |f: fn(&Mark) -> bool| marks.iter().filter(|m| f(m)).count();
        assert_eq!(
            count(|m| matches!(m, Mark::Line { .. })),
            1,
            "neck to right shoulder"
        );
        assert_eq!(count(|m| matches!(m, Mark::Dot { .. })), 2);
        assert_eq!(count(|m| matches!(m, Mark::Label { .. })), 1);
        let faded = marks.iter().find_map(|m| match m {
            Mark::Line { opacity, .. } => Some(*opacity),
            _ => None,
        });
        assert_eq!(faded, Some(LIMB_OPACITY * 0.5), "shaded by the weaker end");
        let joints_only = OverlayStyle {
            limbs: false,
            ..OverlayStyle::default()
        };
        let marks = overlay_marks(
            &COCO18,
            &figures(&people, &[], false),
            &joints_only,
            (100, 100),
        );
        assert!(marks.iter().all(|m| matches!(m, Mark::Dot { .. })));
    }

    #[test]
    fn tracked_people_wear_their_id_colour_label_and_trail() {
        let people = [two_part_person(), two_part_person()];
        let tracked = [
            TrackedPerson {
                track: 0,
                id: Some(7),
                smoothed: people[0].keypoints.clone(),
                trail: vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)],
            },
            TrackedPerson {
                track: 1,
                id: None,
                smoothed: people[1].keypoints.clone(),
                trail: vec![],
            },
        ];
        let style = OverlayStyle {
            numbers: true,
            trails: true,
            ..OverlayStyle::default()
        };
        let marks = overlay_marks(
            &COCO18,
            &figures(&people, &tracked, true),
            &style,
            (100, 100),
        );
        let labels: Vec<&str> = marks
            .iter()
            .filter_map(|m| match m {
                Mark::Label { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["#7"], "a tentative person has no label yet");
        let in_id_colour = marks
            .iter()
            .filter(|m| matches!(m, Mark::Dot { color, .. } if *color == id_color(7)))
            .count();
        assert_eq!(in_id_colour, 2, "the tracked person's joints");
        let in_colour = marks
            .iter()
            .filter(|m| matches!(m, Mark::Line { color, .. } if *color == id_color(7)))
            .collect::<Vec<_>>();
        assert_eq!(
            in_colour.len(),
            3,
            "one limb and two trail segments (three points)"
        );
        assert!(in_colour
            .iter()
            .all(|m| matches!(m, Mark::Line { width, .. } if *width >= TRAIL_MIN_WIDTH)));
        let label = marks.iter().find_map(|m| match m {
            Mark::Label { at, color, .. } => Some((*at, *color)),
            _ => None,
        });
        let (at, color) = label.expect("a label");
        assert_eq!(color, id_color(7), "in the person's colour");
        // Centred on the topmost part (the neck here), its bottom above it but inside the picture.
        assert!((at.0 - 5.0).abs() < 0.01, "{at:?}");
        assert_eq!(
            at.1,
            text::TEXT_ROWS as f32,
            "kept inside the picture: {at:?}"
        );
        let mut low = two_part_person();
        for k in low.keypoints.iter_mut().flatten() {
            k.y += 50.0;
        }
        let (x, y) = above_head(&low.keypoints, 1).unwrap();
        assert!((x - 5.0).abs() < 0.01 && y < 55.0 && y > 45.0, "({x}, {y})");
    }

    /// The hue of a colour in degrees (for telling colours apart).
    fn hue_of([r, g, b]: [u8; 3]) -> f64 {
        let (r, g, b) = (r as f64, g as f64, b as f64);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        if max - min < 1e-9 {
            return 0.0;
        }
        let d = max - min;
        let h = if max == r {
            ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            (b - r) / d + 2.0
        } else {
            (r - g) / d + 4.0
        };
        h * 60.0
    }

    #[test]
    fn ids_near_each_other_have_colours_far_apart() {
        for a in 1..60u64 {
            for b in a + 1..=(a + 4) {
                let d = (hue_of(id_color(a)) - hue_of(id_color(b))).abs();
                let d = d.min(360.0 - d);
                assert!(d > 45.0, "#{a} and #{b}: {d:.0} degrees apart");
            }
        }
    }

    #[test]
    fn drawing_off_canvas_is_safe() {
        let mut img = image::RgbImage::new(10, 10);
        let mut canvas = RgbCanvas::from_image(&mut img);
        canvas.line((-50.0, -50.0), (-20.0, -10.0), 5.0, [1, 2, 3], 1.0);
        canvas.line((5.0, 5.0), (500.0, 5000.0), 5.0, [9, 9, 9], 1.0);
        let mut person = two_part_person();
        person.keypoints[2] = Some(Keypoint {
            x: f32::NAN,
            y: 1e9,
            score: 1.0,
        });
        draw_people(&mut canvas, &COCO18, &[person], &OverlayStyle::default());
        assert_ne!(img.get_pixel(5, 5).0, [0, 0, 0]);
    }
}
