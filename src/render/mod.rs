//! Skeleton overlays, described once and drawn by two backends.
//!
//! [`overlay_marks`] turns people and an [`OverlayStyle`] into [`Mark`]s in image pixels (limbs,
//! joints, labels); [`draw_marks`] rasterises them into RGB images and YUV video frames, and the window
//! paints the same marks with egui. So the window, snapshots and exported videos look alike.

mod canvas;
mod text;

use serde::{Deserialize, Serialize};

pub use canvas::{rasterize_capsule, Canvas, RgbCanvas, YuvCanvas};
pub use text::draw_text;

use crate::pose::{Person, Skeleton};

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
    /// Number each person (#1, #2, ...) above their skeleton.
    pub numbers: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            limbs: true,
            joints: true,
            confidence_shading: false,
            thickness: None,
            numbers: false,
        }
    }
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
    /// Text whose box has its top-left corner at `at`; `scale` font pixels per glyph pixel.
    Label {
        text: String,
        at: (f32, f32),
        scale: usize,
    },
}

/// The marks for `people` on a `width × height` picture.
pub fn overlay_marks(
    skeleton: &Skeleton,
    people: &[Person],
    style: &OverlayStyle,
    (width, height): (usize, usize),
) -> Vec<Mark> {
    let thickness = style.line_thickness(width, height);
    let mut marks = Vec::new();
    for person in people {
        if style.limbs {
            for limb in skeleton.drawn_limbs() {
                let (Some(Some(a)), Some(Some(b))) = (
                    person.keypoints.get(limb.from),
                    person.keypoints.get(limb.to),
                ) else {
                    continue;
                };
                marks.push(Mark::Line {
                    from: (a.x, a.y),
                    to: (b.x, b.y),
                    width: thickness,
                    color: skeleton.parts[limb.to].color,
                    opacity: LIMB_OPACITY * style.shade(a.score.min(b.score)),
                });
            }
        }
        if style.joints {
            for (part, k) in person.keypoints.iter().enumerate() {
                if let (Some(k), Some(def)) = (k, skeleton.parts.get(part)) {
                    marks.push(Mark::Dot {
                        at: (k.x, k.y),
                        radius: thickness * JOINT_RADIUS,
                        color: def.color,
                        opacity: style.shade(k.score),
                    });
                }
            }
        }
    }
    if style.numbers {
        let scale = OverlayStyle::text_scale(width, height);
        for (i, person) in people.iter().enumerate() {
            if let Some([x0, y0, _, _]) = person.bounds() {
                marks.push(Mark::Label {
                    text: format!("#{}", i + 1),
                    at: (x0.max(0.0), (y0 - 12.0 * scale as f32).max(0.0)),
                    scale,
                });
            }
        }
    }
    marks
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
            Mark::Label { text, at, scale } => {
                draw_text(canvas, text, at.0 as usize, at.1 as usize, *scale)
            }
        }
    }
}

/// Draws every person's skeleton onto `canvas`.
pub fn draw_people(
    canvas: &mut impl Canvas,
    skeleton: &Skeleton,
    people: &[Person],
    style: &OverlayStyle,
) {
    let marks = overlay_marks(skeleton, people, style, canvas.size());
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
        let marks = overlay_marks(&COCO18, &people, &all, (100, 100));
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
        let marks = overlay_marks(&COCO18, &people, &joints_only, (100, 100));
        assert!(marks.iter().all(|m| matches!(m, Mark::Dot { .. })));
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
