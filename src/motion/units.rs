//! From pixels to metres on one camera: the scale from a person's known height (their median limb
//! lengths, in Winter's proportions), the floor's tilt and origin from where their feet rest, and
//! speeds. Coordinates in metres have X along the floor and Y up, as OpenSim expects.

use super::markers::MarkerSource;
use crate::pose::Skeleton;

/// A point in pixels, or in metres.
pub type Point = (f64, f64);

/// One frame's points, in the skeleton's part order.
pub type Frame = Vec<Option<Point>>;

/// A length measured on one side (0 right, 1 left) of a frame.
type SideLength<'a> = &'a dyn Fn(&Frame, usize) -> Option<f64>;

/// Winter (2009): the ankle's height above the floor as a share of body height, used where the
/// skeleton has no heel.
const ANKLE_HEIGHT: f64 = 0.039;
/// Mid-shoulder to nose, times this, reaches the top of the head (Pose2Sim's `compute_height`).
const NOSE_TO_VERTEX: f64 = 1.5;

/// Pixels to metres for one camera view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub metres_per_px: f64,
    /// The floor's tilt in the picture, radians (image y down: positive when the floor runs down to
    /// the right in the picture).
    pub floor_angle: f64,
    /// The floor point that becomes (0, 0), in pixels.
    pub origin_px: Point,
}

impl Scale {
    /// A point in metres: turned so the floor is level, X right along it, Y up from it.
    pub fn to_metres(&self, p: Point) -> Point {
        let (dx, dy) = (p.0 - self.origin_px.0, p.1 - self.origin_px.1);
        let (s, c) = self.floor_angle.sin_cos();
        let along = dx * c + dy * s;
        let down = -dx * s + dy * c;
        (along * self.metres_per_px, -down * self.metres_per_px)
    }
}

/// The parts whose distances make up a standing height.
struct HeightParts {
    legs: [[MarkerSource; 3]; 2],
    shoulders: [MarkerSource; 2],
    nose: Option<MarkerSource>,
    heels: Option<[MarkerSource; 2]>,
}

impl HeightParts {
    fn of(skeleton: &Skeleton) -> Option<Self> {
        let f = |n: &str| MarkerSource::find(skeleton, n);
        Some(Self {
            legs: [
                [f("RAnkle")?, f("RKnee")?, f("RHip")?],
                [f("LAnkle")?, f("LKnee")?, f("LHip")?],
            ],
            shoulders: [f("RShoulder")?, f("LShoulder")?],
            nose: f("Nose"),
            heels: f("RHeel").zip(f("LHeel")).map(|(a, b)| [a, b]),
        })
    }
}

fn distance(a: Point, b: Point) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

fn mid(a: Point, b: Point) -> Point {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// The median of the known values; `None` when there are none.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A person's median limb lengths over a clip, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limbs {
    pub shank: f64,
    pub thigh: f64,
    /// Hip to shoulder.
    pub trunk: f64,
    /// Mid-shoulder to the top of the head (from the nose), when seen.
    pub head: Option<f64>,
    /// Heel to ankle, when the skeleton has heels.
    pub foot: Option<f64>,
}

impl Limbs {
    /// Frames where one side is seen whole, ankle to shoulder: the only ones measured, so every
    /// limb's median comes from the same moments (a leg seen in a few frames, half hidden, would
    /// otherwise skew the sum).
    pub fn whole_frames<'a>(
        skeleton: &Skeleton,
        frames: &'a [Vec<Option<Point>>],
    ) -> Vec<&'a Vec<Option<Point>>> {
        let Some(parts) = HeightParts::of(skeleton) else {
            return Vec::new();
        };
        frames
            .iter()
            .filter(|f| {
                (0..2).any(|s| {
                    parts.legs[s]
                        .iter()
                        .chain([&parts.shoulders[s]])
                        .all(|m| m.locate(f, mid).is_some())
                })
            })
            .collect()
    }

    /// Medians over the frames where the person is seen whole (each in part order); `None` when
    /// they never are.
    pub fn measure(skeleton: &Skeleton, frames: &[Vec<Option<Point>>]) -> Option<Self> {
        let parts = HeightParts::of(skeleton)?;
        let frames = Self::whole_frames(skeleton, frames);
        let at = |f: &Vec<Option<Point>>, s: MarkerSource| s.locate(f, mid);
        let side_lengths = |pick: SideLength| {
            median(
                frames
                    .iter()
                    .flat_map(|f| (0..2).filter_map(|side| pick(f, side))),
            )
        };
        let leg = |a: usize, b: usize| {
            side_lengths(&|f, s| Some(distance(at(f, parts.legs[s][a])?, at(f, parts.legs[s][b])?)))
        };
        let trunk = side_lengths(&|f, s| {
            Some(distance(
                at(f, parts.legs[s][2])?,
                at(f, parts.shoulders[s])?,
            ))
        })?;
        let head = parts.nose.and_then(|nose| {
            median(frames.iter().filter_map(|f| {
                let shoulders = mid(at(f, parts.shoulders[0])?, at(f, parts.shoulders[1])?);
                Some(distance(shoulders, at(f, nose)?) * NOSE_TO_VERTEX)
            }))
        });
        let foot = parts.heels.and_then(|heels| {
            side_lengths(&|f, s| Some(distance(at(f, heels[s])?, at(f, parts.legs[s][0])?)))
        });
        Some(Self {
            shank: leg(0, 1)?,
            thigh: leg(1, 2)?,
            trunk,
            head,
            foot,
        })
    }

    /// The standing height these limbs make, in pixels (Pose2Sim's sum of segments; the missing
    /// head and ankle height from Winter's proportions).
    pub fn height(&self) -> f64 {
        let body = self.shank + self.thigh + self.trunk;
        // Without a head, shank + thigh + trunk is Winter's 0.779 of the height (ankle to shoulder).
        let with_head = self.head.map_or(body / 0.779, |h| body + h);
        match self.foot {
            Some(f) => with_head + f,
            None => with_head / (1.0 - ANKLE_HEIGHT),
        }
    }
}

/// The floor under still feet: the line through the ankles (or heels) of frames where they hardly
/// move, fitted by least squares. Returns the tilt (radians) and a point on it.
pub fn floor_from_feet(feet: &[Vec<Point>], still_px: f64) -> Option<(f64, Point)> {
    let mut points = Vec::new();
    for foot in feet {
        for w in foot.windows(2) {
            if distance(w[0], w[1]) <= still_px {
                points.push(w[1]);
            }
        }
    }
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    // Feet in one place give no direction: a level floor through them.
    let spread = points.iter().map(|p| (p.0 - mx).abs()).fold(0.0, f64::max);
    let angle = if spread > 4.0 * still_px && sxx > 0.0 {
        (sxy / sxx).atan()
    } else {
        0.0
    };
    // The floor passes under the lowest still feet near the middle, not through their mean.
    let lowest = points
        .iter()
        .map(|p| p.1 - my - (p.0 - mx) * angle.tan())
        .fold(f64::MIN, f64::max);
    Some((angle, (mx, my + lowest)))
}

/// Speeds in units per second from positions sampled `rate_hz` times a second: central differences
/// (one-sided at the ends of each known run).
pub fn speeds(points: &[Option<Point>], rate_hz: f64) -> Vec<Option<f64>> {
    (0..points.len())
        .map(|i| {
            let before = i.checked_sub(1).and_then(|j| points[j]);
            let after = points.get(i + 1).copied().flatten();
            let here = points[i]?;
            let (a, b, steps) = match (before, after) {
                (Some(a), Some(b)) => (a, b, 2.0),
                (Some(a), None) => (a, here, 1.0),
                (None, Some(b)) => (here, b, 1.0),
                (None, None) => return None,
            };
            Some(distance(a, b) * rate_hz / steps)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::COCO18;

    #[test]
    fn a_person_in_winters_proportions_measures_their_height() {
        // A 1.75 m person drawn at 200 px per metre, standing: Winter's segment heights.
        let px = |share: f64| (100.0, 400.0 - share * 1.75 * 200.0);
        let mut f = vec![None; COCO18.parts.len()];
        let mut put = |name: &str, p: Point| {
            let i = COCO18.parts.iter().position(|q| q.name == name).unwrap();
            f[i] = Some(p);
        };
        for side in ["right", "left"] {
            put(&format!("{side}_ankle"), px(0.039));
            put(&format!("{side}_knee"), px(0.285));
            put(&format!("{side}_hip"), px(0.530));
            put(&format!("{side}_shoulder"), px(0.818));
        }
        put("nose", px(0.818 + 0.182 / 1.5));
        let limbs = Limbs::measure(&COCO18, &[f.clone(), f]).unwrap();
        let height_m = limbs.height() / 200.0;
        assert!((height_m - 1.75).abs() < 0.01, "{height_m}");
        assert!((limbs.thigh / limbs.height() - 0.245).abs() < 0.01);
    }

    #[test]
    fn a_tilted_floor_is_found_and_levelled() {
        let tilt = 0.1f64;
        let feet: Vec<Vec<Point>> = vec![(0..50)
            .map(|i| {
                let x = 10.0 * (i / 5) as f64;
                (x, 300.0 + x * tilt.tan())
            })
            .collect()];
        let (angle, origin) = floor_from_feet(&feet, 1.0).unwrap();
        assert!((angle - tilt).abs() < 1e-6, "{angle}");
        let scale = Scale {
            metres_per_px: 0.01,
            floor_angle: angle,
            origin_px: origin,
        };
        for p in &feet[0] {
            assert!(scale.to_metres(*p).1.abs() < 1e-6, "on the floor");
        }
        let above = scale.to_metres((origin.0 + 100.0 * tilt.sin(), origin.1 - 100.0 * tilt.cos()));
        assert!(
            (above.1 - 1.0).abs() < 1e-9 && above.0.abs() < 1e-9,
            "{above:?}"
        );
    }

    #[test]
    fn speeds_by_central_differences() {
        let p: Vec<Option<Point>> = vec![
            Some((0.0, 0.0)),
            Some((1.0, 0.0)),
            Some((2.0, 0.0)),
            None,
            Some((5.0, 0.0)),
        ];
        let s = speeds(&p, 10.0);
        assert_eq!(s, vec![Some(10.0), Some(10.0), Some(10.0), None, None]);
    }
}
