//! Joint angles from keypoints, defined by part names so every skeleton that has the parts gets them.

use crate::pose::{Keypoint, Skeleton};

/// An angle at `at` between the segments to `from` and `to`, in degrees (180: straight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AngleDef {
    pub name: &'static str,
    pub from: &'static str,
    pub at: &'static str,
    pub to: &'static str,
}

const fn angle(
    name: &'static str,
    from: &'static str,
    at: &'static str,
    to: &'static str,
) -> AngleDef {
    AngleDef { name, from, at, to }
}

/// Elbows, knees, hips (trunk to thigh) and shoulders (trunk to upper arm), both sides.
pub const JOINT_ANGLES: &[AngleDef] = &[
    angle(
        "right elbow",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
    ),
    angle("left elbow", "left_shoulder", "left_elbow", "left_wrist"),
    angle("right knee", "right_hip", "right_knee", "right_ankle"),
    angle("left knee", "left_hip", "left_knee", "left_ankle"),
    angle("right hip", "right_shoulder", "right_hip", "right_knee"),
    angle("left hip", "left_shoulder", "left_hip", "left_knee"),
    angle(
        "right shoulder",
        "right_hip",
        "right_shoulder",
        "right_elbow",
    ),
    angle("left shoulder", "left_hip", "left_shoulder", "left_elbow"),
];

/// The angle at `b` between `a` and `c`, in degrees; `None` for coincident points.
pub fn angle_at(a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> Option<f32> {
    let (u, v) = ((a.0 - b.0, a.1 - b.1), (c.0 - b.0, c.1 - b.1));
    let (nu, nv) = (
        (u.0 * u.0 + u.1 * u.1).sqrt(),
        (v.0 * v.0 + v.1 * v.1).sqrt(),
    );
    if nu < 1e-6 || nv < 1e-6 {
        return None;
    }
    let cos = ((u.0 * v.0 + u.1 * v.1) / (nu * nv)).clamp(-1.0, 1.0);
    Some(cos.acos().to_degrees())
}

/// Every joint angle of `keypoints` (in `skeleton` part order); `None` where a part is missing.
pub fn joint_angles(
    skeleton: &Skeleton,
    keypoints: &[Option<Keypoint>],
) -> Vec<(&'static str, Option<f32>)> {
    let find = |name: &str| {
        let i = skeleton.parts.iter().position(|p| p.name == name)?;
        keypoints.get(i).copied().flatten().map(|k| (k.x, k.y))
    };
    JOINT_ANGLES
        .iter()
        .map(|d| {
            let value = match (find(d.from), find(d.at), find(d.to)) {
                (Some(a), Some(b), Some(c)) => angle_at(a, b, c),
                _ => None,
            };
            (d.name, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{BODY25, COCO18};

    #[test]
    fn right_angles_and_straight_limbs() {
        assert_eq!(
            angle_at((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)).map(f32::round),
            Some(90.0)
        );
        assert_eq!(
            angle_at((0.0, 0.0), (1.0, 0.0), (2.0, 0.0)).map(f32::round),
            Some(180.0)
        );
        assert_eq!(angle_at((1.0, 1.0), (1.0, 1.0), (2.0, 0.0)), None);
    }

    #[test]
    fn angles_come_from_part_names_in_any_skeleton() {
        for skeleton in [&COCO18, &BODY25] {
            let mut k = vec![None; skeleton.parts.len()];
            let mut put = |name: &str, x: f32, y: f32| {
                let i = skeleton.parts.iter().position(|p| p.name == name).unwrap();
                k[i] = Some(Keypoint { x, y, score: 1.0 });
            };
            put("right_shoulder", 0.0, 0.0);
            put("right_elbow", 0.0, 10.0);
            put("right_wrist", 10.0, 10.0);
            let angles = joint_angles(skeleton, &k);
            assert_eq!(angles[0].0, "right elbow");
            assert_eq!(angles[0].1.map(f32::round), Some(90.0));
            assert_eq!(angles[2].1, None, "no knee without a hip");
        }
    }
}
