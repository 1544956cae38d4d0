//! Joint and segment angles in clinical conventions, as data: Pose2Sim's `angle_dict` (the points,
//! the offset and the sign of each angle), computed as Pose2Sim and Sports2D compute them, on image
//! coordinates with the person turned to face right, then unwrapped over time.

use super::markers::MarkerSource;
use crate::pose::Skeleton;

/// Whether the angle is between two segments (0° straight, flexion positive) or one segment's
/// against the horizontal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AngleKind {
    Joint,
    Segment,
}

/// One angle of Pose2Sim's `angle_dict`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AngleDef {
    pub name: &'static str,
    /// Two markers (a segment, from the second to the first, against the horizontal), three (the
    /// angle at the middle one) or four (between the first pair's and the second pair's segments).
    pub markers: &'static [&'static str],
    pub kind: AngleKind,
    pub offset_deg: f64,
    pub scale: f64,
}

const fn joint(
    name: &'static str,
    markers: &'static [&'static str],
    offset_deg: f64,
    scale: f64,
) -> AngleDef {
    AngleDef {
        name,
        markers,
        kind: AngleKind::Joint,
        offset_deg,
        scale,
    }
}

const fn segment(name: &'static str, markers: &'static [&'static str]) -> AngleDef {
    AngleDef {
        name,
        markers,
        kind: AngleKind::Segment,
        offset_deg: 0.0,
        scale: -1.0,
    }
}

/// Pose2Sim's `angle_dict` (Pose2Sim/common.py), in its order. Angles whose markers a skeleton lacks
/// (the wrists need a hand point; the feet and ankles BODY_25's toes and heels) are left out for it.
pub const ANGLES: &[AngleDef] = &[
    joint(
        "right ankle",
        &["RKnee", "RAnkle", "RBigToe", "RHeel"],
        90.0,
        1.0,
    ),
    joint(
        "left ankle",
        &["LKnee", "LAnkle", "LBigToe", "LHeel"],
        90.0,
        1.0,
    ),
    joint("right knee", &["RAnkle", "RKnee", "RHip"], -180.0, 1.0),
    joint("left knee", &["LAnkle", "LKnee", "LHip"], -180.0, 1.0),
    joint("right hip", &["RKnee", "RHip", "Hip", "Neck"], 0.0, -1.0),
    joint("left hip", &["LKnee", "LHip", "Hip", "Neck"], 0.0, -1.0),
    joint(
        "right shoulder",
        &["RElbow", "RShoulder", "Hip", "Neck"],
        0.0,
        -1.0,
    ),
    joint(
        "left shoulder",
        &["LElbow", "LShoulder", "Hip", "Neck"],
        0.0,
        -1.0,
    ),
    joint(
        "right elbow",
        &["RWrist", "RElbow", "RShoulder"],
        180.0,
        -1.0,
    ),
    joint(
        "left elbow",
        &["LWrist", "LElbow", "LShoulder"],
        180.0,
        -1.0,
    ),
    joint("right wrist", &["RElbow", "RWrist", "RIndex"], -180.0, 1.0),
    joint("left wrist", &["LElbow", "LIndex", "LWrist"], -180.0, 1.0),
    segment("right foot", &["RBigToe", "RHeel"]),
    segment("left foot", &["LBigToe", "LHeel"]),
    segment("right shank", &["RAnkle", "RKnee"]),
    segment("left shank", &["LAnkle", "LKnee"]),
    segment("right thigh", &["RKnee", "RHip"]),
    segment("left thigh", &["LKnee", "LHip"]),
    segment("pelvis", &["LHip", "RHip"]),
    segment("trunk", &["Neck", "Hip"]),
    segment("shoulders", &["LShoulder", "RShoulder"]),
    segment("head", &["Head", "Neck"]),
    segment("right arm", &["RElbow", "RShoulder"]),
    segment("left arm", &["LElbow", "LShoulder"]),
    segment("right forearm", &["RWrist", "RElbow"]),
    segment("left forearm", &["LWrist", "LElbow"]),
    segment("right hand", &["RIndex", "RWrist"]),
    segment("left hand", &["LIndex", "LWrist"]),
];

impl AngleDef {
    /// Pelvis and shoulders are lines, not directions: they wrap every 180°, not 360°.
    pub fn period_deg(&self) -> f64 {
        if matches!(self.name, "pelvis" | "shoulders") {
            180.0
        } else {
            360.0
        }
    }

    /// The angle for the markers' points, offset, scaled and wrapped as Pose2Sim's `fixed_angles`.
    pub fn value(&self, points: &[(f64, f64)]) -> Option<f64> {
        let raw = points_to_angle(points)?;
        let period = self.period_deg();
        let v = (raw + self.offset_deg) * self.scale;
        Some((v + period / 2.0).rem_euclid(period) - period / 2.0)
    }
}

/// Pose2Sim's `points_to_angles` in 2D, in degrees; `None` for a degenerate segment.
pub fn points_to_angle(p: &[(f64, f64)]) -> Option<f64> {
    let sub = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0, a.1 - b.1);
    let (u, v) = match p {
        [a, b] => {
            let u = sub(*a, *b);
            return (u.0 != 0.0 || u.1 != 0.0).then(|| u.1.atan2(u.0).to_degrees());
        }
        [a, b, c] => (sub(*a, *b), sub(*c, *b)),
        [a, b, c, d] => (sub(*b, *a), sub(*d, *c)),
        _ => return None,
    };
    if (u.0 == 0.0 && u.1 == 0.0) || (v.0 == 0.0 && v.1 == 0.0) {
        return None;
    }
    let cross = u.0 * v.1 - u.1 * v.0;
    let dot = u.0 * v.0 + u.1 * v.1;
    Some(-cross.atan2(dot).to_degrees())
}

/// Which way a person faces in the picture; angles are computed as if facing right, so flexion is
/// positive whichever way they walk (Sports2D's `visible_side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Facing {
    /// From the toes when the skeleton has feet, else from the nose against the ears, each frame.
    #[default]
    Auto,
    Right,
    Left,
    /// Seen from the front: the right side mirrored.
    Front,
    /// Seen from the back: the left side mirrored.
    Back,
    /// As seen, unmirrored.
    None,
}

impl Facing {
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Right => "right",
            Self::Left => "left",
            Self::Front => "front",
            Self::Back => "back",
            Self::None => "none",
        }
    }
}

/// A skeleton's angles: each definition it has every marker for, with where the markers come from.
#[derive(Debug, Clone)]
pub struct AngleSet {
    pub defs: Vec<(AngleDef, Vec<MarkerSource>)>,
    /// Marker sources to tell the facing side: toes and heels, or nose and ears.
    facing_cues: FacingCues,
}

#[derive(Debug, Clone)]
enum FacingCues {
    Feet([MarkerSource; 4]),
    Head([MarkerSource; 3]),
    Nothing,
}

impl AngleSet {
    pub fn for_skeleton(skeleton: &Skeleton) -> Self {
        let find = |name: &str| MarkerSource::find(skeleton, name);
        let defs = ANGLES
            .iter()
            .filter_map(|d| {
                Some((
                    *d,
                    d.markers
                        .iter()
                        .map(|m| find(m))
                        .collect::<Option<Vec<_>>>()?,
                ))
            })
            .collect();
        let feet = ["RBigToe", "RHeel", "LBigToe", "LHeel"].map(find);
        let head = ["Nose", "REar", "LEar"].map(find);
        let facing_cues = if let [Some(a), Some(b), Some(c), Some(d)] = feet {
            FacingCues::Feet([a, b, c, d])
        } else if let [Some(a), Some(b), Some(c)] = head {
            FacingCues::Head([a, b, c])
        } else {
            FacingCues::Nothing
        };
        Self { defs, facing_cues }
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.defs.iter().map(|(d, _)| d.name).collect()
    }

    /// The side one frame's points (part order) face, `facing` resolved: never `Auto`.
    pub fn side(&self, points: &[Option<(f64, f64)>], facing: Facing) -> Facing {
        if facing != Facing::Auto {
            return facing;
        }
        let x = |s: MarkerSource| s.locate(points, mid).map(|p| p.0);
        let direction = match self.facing_cues {
            FacingCues::Feet([rt, rh, lt, lh]) => {
                let right = x(rt).zip(x(rh)).map(|(t, h)| t - h);
                let left = x(lt).zip(x(lh)).map(|(t, h)| t - h);
                right.into_iter().chain(left).reduce(|a, b| a + b)
            }
            FacingCues::Head([nose, re, le]) => {
                let ears: Vec<f64> = [x(re), x(le)].into_iter().flatten().collect();
                x(nose)
                    .filter(|_| !ears.is_empty())
                    .map(|n| n - ears.iter().sum::<f64>() / ears.len() as f64)
            }
            FacingCues::Nothing => None,
        };
        match direction {
            Some(d) if d < 0.0 => Facing::Left,
            _ => Facing::Right,
        }
    }

    /// Every angle of one frame, in degrees (`None` where a marker is missing), for a resolved side.
    pub fn frame(
        &self,
        skeleton: &Skeleton,
        points: &[Option<(f64, f64)>],
        side: Facing,
    ) -> Vec<Option<f64>> {
        let flipped = mirror_for(skeleton, points, side);
        self.defs
            .iter()
            .map(|(def, sources)| {
                let p: Option<Vec<(f64, f64)>> =
                    sources.iter().map(|s| s.locate(&flipped, mid)).collect();
                def.value(&p?)
            })
            .collect()
    }
}

fn mid(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// The points with x negated as Sports2D flips them: all for `Left`, the right side's for `Front`,
/// the left side's for `Back`.
fn mirror_for(
    skeleton: &Skeleton,
    points: &[Option<(f64, f64)>],
    side: Facing,
) -> Vec<Option<(f64, f64)>> {
    let flip = |name: &str| match side {
        Facing::Left => true,
        Facing::Front => name.starts_with("right_"),
        Facing::Back => name.starts_with("left_"),
        _ => false,
    };
    points
        .iter()
        .zip(skeleton.parts)
        .map(|(p, part)| p.map(|(x, y)| if flip(part.name) { (-x, y) } else { (x, y) }))
        .collect()
}

/// Removes the wrap-around jumps of an angle over time (a value passing +180° comes back as -180°),
/// then brings its mean within ±180°, as Sports2D does; missing samples are skipped. Only a jump
/// across the wrap point counts: a sudden change elsewhere (a wrist found on the wrong side for a
/// frame) is a change, and shifting it by a full turn would offset everything after it.
pub fn unwrap(values: &mut [Option<f64>], period_deg: f64) {
    let quarter = period_deg / 4.0;
    let mut previous: Option<f64> = None;
    let mut shift = 0.0;
    for v in values.iter_mut().flatten() {
        let wrapped = *v;
        if let Some(p) = previous {
            let near_edge =
                p.abs() > quarter && wrapped.abs() > quarter && p.signum() != wrapped.signum();
            if near_edge && (wrapped - p).abs() > period_deg / 2.0 {
                shift -= period_deg * ((wrapped - p) / period_deg).round();
            }
        }
        previous = Some(wrapped);
        *v += shift;
    }
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        return;
    }
    let mean = known.iter().sum::<f64>() / known.len() as f64;
    let back = 360.0 * ((mean + 180.0).div_euclid(360.0));
    for v in values.iter_mut().flatten() {
        *v -= back;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{BODY25, COCO18};

    fn at(skeleton: &Skeleton, parts: &[(&str, f64, f64)]) -> Vec<Option<(f64, f64)>> {
        let mut p = vec![None; skeleton.parts.len()];
        for (name, x, y) in parts {
            let i = skeleton.parts.iter().position(|q| q.name == *name).unwrap();
            p[i] = Some((*x, *y));
        }
        p
    }

    fn angle(set: &AngleSet, values: &[Option<f64>], name: &str) -> Option<f64> {
        let i = set.names().iter().position(|n| *n == name).unwrap();
        values[i]
    }

    #[test]
    fn clinical_conventions_for_a_person_facing_right() {
        let set = AngleSet::for_skeleton(&COCO18);
        // Image coordinates (y down): standing straight, then the right knee bent 90° forward.
        let straight = at(
            &COCO18,
            &[
                ("right_hip", 0.0, 0.0),
                ("right_knee", 0.0, 50.0),
                ("right_ankle", 0.0, 100.0),
            ],
        );
        let v = set.frame(&COCO18, &straight, Facing::Right);
        assert!(angle(&set, &v, "right knee").unwrap().abs() < 1e-9);
        let bent = at(
            &COCO18,
            &[
                ("right_hip", 0.0, 0.0),
                ("right_knee", 50.0, 0.0),
                ("right_ankle", 50.0, 50.0),
            ],
        );
        let v = set.frame(&COCO18, &bent, Facing::Right);
        assert!(
            (angle(&set, &v, "right knee").unwrap() - 90.0).abs() < 1e-9,
            "{v:?}"
        );
        // Mirrored, the same bend faces left: the same flexion once the side is known.
        let mirrored: Vec<_> = bent.iter().map(|p| p.map(|(x, y)| (-x, y))).collect();
        let v = set.frame(&COCO18, &mirrored, Facing::Left);
        assert!((angle(&set, &v, "right knee").unwrap() - 90.0).abs() < 1e-9);
        assert_eq!(angle(&set, &v, "left knee"), None);
        assert!(!set.names().contains(&"right ankle"), "COCO has no feet");
        assert!(AngleSet::for_skeleton(&BODY25)
            .names()
            .contains(&"right ankle"));
    }

    #[test]
    fn the_side_comes_from_the_nose_or_the_toes() {
        let set = AngleSet::for_skeleton(&COCO18);
        let right = at(&COCO18, &[("nose", 10.0, 0.0), ("right_ear", 0.0, 0.0)]);
        let left = at(&COCO18, &[("nose", -10.0, 0.0), ("left_ear", 0.0, 0.0)]);
        assert_eq!(set.side(&right, Facing::Auto), Facing::Right);
        assert_eq!(set.side(&left, Facing::Auto), Facing::Left);
        assert_eq!(set.side(&left, Facing::Front), Facing::Front);
        let set = AngleSet::for_skeleton(&BODY25);
        let feet = at(
            &BODY25,
            &[("right_big_toe", -5.0, 0.0), ("right_heel", 5.0, 0.0)],
        );
        assert_eq!(set.side(&feet, Facing::Auto), Facing::Left);
    }

    #[test]
    fn unwrapping_removes_full_turns() {
        let mut v: Vec<Option<f64>> = [170.0, 178.0, -176.0, -170.0, 175.0].map(Some).to_vec();
        v.insert(2, None);
        unwrap(&mut v, 360.0);
        let got: Vec<f64> = v.iter().flatten().copied().collect();
        for w in got.windows(2) {
            assert!((w[1] - w[0]).abs() < 20.0, "{got:?}");
        }
        assert!(got.iter().sum::<f64>() / got.len() as f64 <= 180.0);
        // A jump away from the wrap point is the angle changing: nothing after it moves.
        let mut v: Vec<Option<f64>> = [-60.0, -55.0, 150.0, -50.0, -45.0].map(Some).to_vec();
        unwrap(&mut v, 360.0);
        assert_eq!(v, [-60.0, -55.0, 150.0, -50.0, -45.0].map(Some).to_vec());
    }
}
