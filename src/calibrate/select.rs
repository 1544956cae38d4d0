//! Which board views a lens is solved from: sharp ones, one per board pose (a video holds the same
//! pose for many frames), and when there are more than needed, the most varied. Pure: no pictures.

use image::GrayImage;
use vision_calibration_core::Pt2;
use vision_calibration_linear::prelude::dlt_homography;

use super::board::BoardView;
use crate::multiview::camera::Xy;

/// One picture's view of the board and how sharp the board is in it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub view: BoardView,
    pub sharpness: f64,
}

/// What became of a candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Kept,
    /// Much softer than the others (motion blur, focus).
    Blurred {
        sharpness: f64,
        median: f64,
    },
    /// The board where it is in the kept candidate of this index.
    SameAs(usize),
    /// More views than needed, and this one the least different.
    Surplus,
}

#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub max_views: usize,
    /// Blurred: sharpness below this share of the median (a close board scores lower than a far one
    /// by up to about 3 times on the demo's pictures, so the margin is wide).
    pub blur_ratio: f64,
    /// The same pose: every board corner within this share of the picture's diagonal.
    pub same_fraction: f64,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            max_views: 40,
            blur_ratio: 0.25,
            same_fraction: 0.02,
        }
    }
}

/// A verdict per candidate, in their order.
pub fn select(candidates: &[Candidate], diagonal: f64, opts: &Selection) -> Vec<Verdict> {
    let mut verdicts = vec![Verdict::Kept; candidates.len()];
    let median = median(candidates.iter().map(|c| c.sharpness).collect());
    let quads: Vec<Option<[Xy; 4]>> = candidates.iter().map(|c| outline(&c.view)).collect();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| candidates[b].sharpness.total_cmp(&candidates[a].sharpness));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let sharpness = candidates[i].sharpness;
        if candidates.len() >= 4 && sharpness < opts.blur_ratio * median {
            verdicts[i] = Verdict::Blurred { sharpness, median };
            continue;
        }
        let same = kept.iter().find(|&&k| {
            quad_distance(quads[i].as_ref(), quads[k].as_ref()) < opts.same_fraction * diagonal
        });
        match same {
            Some(&k) => verdicts[i] = Verdict::SameAs(k),
            None => kept.push(i),
        }
    }
    for i in surplus(&kept, &quads, opts.max_views) {
        verdicts[i] = Verdict::Surplus;
    }
    verdicts
}

/// Beyond `max`, the kept views least different from the others (farthest-point order from the
/// sharpest, which comes first in `kept`).
fn surplus(kept: &[usize], quads: &[Option<[Xy; 4]>], max: usize) -> Vec<usize> {
    if kept.len() <= max {
        return Vec::new();
    }
    let mut chosen = vec![kept[0]];
    let mut rest: Vec<usize> = kept[1..].to_vec();
    while chosen.len() < max.max(1) && !rest.is_empty() {
        let gap = |i: usize| {
            chosen
                .iter()
                .map(|&c| quad_distance(quads[i].as_ref(), quads[c].as_ref()))
                .fold(f64::MAX, f64::min)
        };
        let best = (0..rest.len())
            .max_by(|&a, &b| gap(rest[a]).total_cmp(&gap(rest[b])))
            .unwrap_or(0);
        chosen.push(rest.swap_remove(best));
    }
    rest
}

/// Where the corners of the seen part of the board land (through its homography), so partial and
/// full views of one pose compare alike.
fn outline(view: &BoardView) -> Option<[Xy; 4]> {
    let board: Vec<Pt2> = view.points.iter().map(|p| Pt2::new(p[0], p[1])).collect();
    let pixels: Vec<Pt2> = view.pixels.iter().map(|p| Pt2::new(p[0], p[1])).collect();
    let h = dlt_homography(&board, &pixels).ok()?;
    let (x1, y1) = view
        .points
        .iter()
        .fold((0.0f64, 0.0f64), |(x, y), p| (x.max(p[0]), y.max(p[1])));
    let map = |x: f64, y: f64| {
        let p = h * nalgebra::Vector3::new(x, y, 1.0);
        [p.x / p.z, p.y / p.z]
    };
    Some([map(0.0, 0.0), map(x1, 0.0), map(x1, y1), map(0.0, y1)])
}

/// The farthest any corner of one outline is from the nearest corner of the other, both ways, so
/// the board's labelling direction does not matter.
fn quad_distance(a: Option<&[Xy; 4]>, b: Option<&[Xy; 4]>) -> f64 {
    let (Some(a), Some(b)) = (a, b) else {
        return f64::MAX;
    };
    let one_way = |a: &[Xy; 4], b: &[Xy; 4]| {
        a.iter()
            .map(|p| {
                b.iter()
                    .map(|q| (p[0] - q[0]).hypot(p[1] - q[1]))
                    .fold(f64::MAX, f64::min)
            })
            .fold(0.0, f64::max)
    };
    one_way(a, b).max(one_way(b, a))
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// How sharp the board is: the variance of the Laplacian over the rectangle its corners span, divided
/// by the variance of the grey levels there (a dim or low-contrast board is not a blurred one), times
/// the squares' size in pixels (a near board has fewer edges per pixel, not softer ones).
pub fn sharpness(gray: &GrayImage, view: &BoardView) -> f64 {
    edge_energy(gray, view.bounds()) * view.cell_px()
}

fn edge_energy(gray: &GrayImage, bounds: [f64; 4]) -> f64 {
    let (w, h) = (gray.width() as i64, gray.height() as i64);
    let clamp = |v: f64, hi: i64| (v.round() as i64).clamp(1, hi - 2);
    let [x0, y0, x1, y1] = bounds;
    let (x0, x1, y0, y1) = (clamp(x0, w), clamp(x1, w), clamp(y0, h), clamp(y1, h));
    let at = |x: i64, y: i64| f64::from(gray.get_pixel(x as u32, y as u32)[0]);
    let (mut lap, mut grey) = (Moments::default(), Moments::default());
    for y in y0..=y1 {
        for x in x0..=x1 {
            let c = at(x, y);
            lap.add(at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * c);
            grey.add(c);
        }
    }
    lap.variance() / grey.variance().max(1.0)
}

#[derive(Default)]
struct Moments {
    n: f64,
    sum: f64,
    sum2: f64,
}

impl Moments {
    fn add(&mut self, v: f64) {
        self.n += 1.0;
        self.sum += v;
        self.sum2 += v * v;
    }

    fn variance(&self) -> f64 {
        if self.n < 2.0 {
            return 0.0;
        }
        let mean = self.sum / self.n;
        (self.sum2 / self.n - mean * mean).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4×3 board seen face-on, `scale` pixels per metre, its corner at `at`.
    fn face_on(at: Xy, scale: f64, sharpness: f64) -> Candidate {
        let mut view = BoardView {
            pixels: Vec::new(),
            points: Vec::new(),
        };
        for v in 0..3 {
            for u in 0..4 {
                let p = [f64::from(u) * 0.1, f64::from(v) * 0.1];
                view.points.push(p);
                view.pixels
                    .push([at[0] + p[0] * scale, at[1] + p[1] * scale]);
            }
        }
        Candidate { view, sharpness }
    }

    #[test]
    fn blurred_and_repeated_views_go_and_the_sharpest_copy_stays() {
        let c = vec![
            face_on([100.0, 100.0], 1000.0, 1.0),
            face_on([101.0, 100.5], 1000.0, 1.2),
            face_on([500.0, 300.0], 1000.0, 0.9),
            face_on([300.0, 600.0], 800.0, 0.2),
            face_on([700.0, 100.0], 1200.0, 1.1),
        ];
        let v = select(&c, 1000.0, &Selection::default());
        assert_eq!(v[0], Verdict::SameAs(1));
        assert_eq!(v[1], Verdict::Kept);
        assert_eq!(v[2], Verdict::Kept);
        assert!(matches!(v[3], Verdict::Blurred { .. }), "{:?}", v[3]);
        assert_eq!(v[4], Verdict::Kept);
    }

    #[test]
    fn beyond_the_cap_the_least_different_views_are_surplus() {
        let c = vec![
            face_on([100.0, 100.0], 1000.0, 1.0),
            face_on([130.0, 100.0], 1000.0, 1.0),
            face_on([800.0, 700.0], 1000.0, 1.0),
        ];
        let opts = Selection {
            max_views: 2,
            ..Selection::default()
        };
        assert_eq!(
            select(&c, 1000.0, &opts),
            vec![Verdict::Kept, Verdict::Surplus, Verdict::Kept]
        );
    }

    #[test]
    fn sharpness_falls_with_blur_and_not_with_contrast() {
        let board = |contrast: u8| {
            GrayImage::from_fn(64, 64, |x, y| {
                image::Luma([if (x / 8 + y / 8) % 2 == 0 {
                    100 + contrast
                } else {
                    100
                }])
            })
        };
        let bounds = [0.0, 0.0, 63.0, 63.0];
        let (strong, weak) = (board(120), board(30));
        let blurred = image::imageops::blur(&strong, 2.0);
        let (s, w, b) = (
            edge_energy(&strong, bounds),
            edge_energy(&weak, bounds),
            edge_energy(&blurred, bounds),
        );
        assert!((s - w).abs() < 0.05 * s, "{s} {w}");
        assert!(b < 0.35 * s, "{b} {s}");
    }
}
