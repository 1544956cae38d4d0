//! Pose2Sim's marker names for posecam's parts, so files open in Pose2Sim's OpenSim set-ups, and the
//! two points those set-ups add: `Hip` (between the hips) and `Neck` (between the shoulders).

use crate::pose::Skeleton;

/// A marker Pose2Sim's models know and the part (or parts, averaged) it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkerDef {
    pub name: &'static str,
    pub parts: &'static [&'static str],
}

const fn marker(name: &'static str, parts: &'static [&'static str]) -> MarkerDef {
    MarkerDef { name, parts }
}

/// Every marker name an angle or a file may use, with its parts in posecam's skeletons. A name
/// with two parts is their midpoint, used when the skeleton lacks the first (`mid_hip`, `neck`).
pub const MARKERS: &[MarkerDef] = &[
    marker("Hip", &["mid_hip", "right_hip", "left_hip"]),
    marker("CHip", &["mid_hip", "right_hip", "left_hip"]),
    marker("Neck", &["neck", "right_shoulder", "left_shoulder"]),
    marker("Nose", &["nose"]),
    marker("REye", &["right_eye"]),
    marker("LEye", &["left_eye"]),
    marker("REar", &["right_ear"]),
    marker("LEar", &["left_ear"]),
    marker("RShoulder", &["right_shoulder"]),
    marker("LShoulder", &["left_shoulder"]),
    marker("RElbow", &["right_elbow"]),
    marker("LElbow", &["left_elbow"]),
    marker("RWrist", &["right_wrist"]),
    marker("LWrist", &["left_wrist"]),
    marker("RHip", &["right_hip"]),
    marker("LHip", &["left_hip"]),
    marker("RKnee", &["right_knee"]),
    marker("LKnee", &["left_knee"]),
    marker("RAnkle", &["right_ankle"]),
    marker("LAnkle", &["left_ankle"]),
    marker("RBigToe", &["right_big_toe"]),
    marker("LBigToe", &["left_big_toe"]),
    marker("RSmallToe", &["right_small_toe"]),
    marker("LSmallToe", &["left_small_toe"]),
    marker("RHeel", &["right_heel"]),
    marker("LHeel", &["left_heel"]),
];

/// The markers of Pose2Sim's skeleton for each of posecam's, in Pose2Sim's order: what `.trc` and
/// `.c3d` files hold. COCO-18 gives Pose2Sim's COCO-17 set (its OpenSim set-up's markers).
pub fn file_markers(skeleton: &Skeleton) -> &'static [&'static str] {
    const COCO_17: &[&str] = &[
        "RHip",
        "RKnee",
        "RAnkle",
        "LHip",
        "LKnee",
        "LAnkle",
        "Nose",
        "RShoulder",
        "RElbow",
        "RWrist",
        "LShoulder",
        "LElbow",
        "LWrist",
    ];
    const BODY_25: &[&str] = &[
        "CHip",
        "RHip",
        "RKnee",
        "RAnkle",
        "RBigToe",
        "RSmallToe",
        "RHeel",
        "LHip",
        "LKnee",
        "LAnkle",
        "LBigToe",
        "LSmallToe",
        "LHeel",
        "Neck",
        "Nose",
        "RShoulder",
        "RElbow",
        "RWrist",
        "LShoulder",
        "LElbow",
        "LWrist",
    ];
    if skeleton.parts.iter().any(|p| p.name == "right_heel") {
        BODY_25
    } else {
        COCO_17
    }
}

/// How to find a marker in a skeleton's keypoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerSource {
    Part(usize),
    Midpoint(usize, usize),
}

impl MarkerSource {
    /// Where `name` comes from in `skeleton`; `None` when the skeleton cannot give it.
    pub fn find(skeleton: &Skeleton, name: &str) -> Option<Self> {
        let def = MARKERS.iter().find(|m| m.name == name)?;
        let index = |part: &str| skeleton.parts.iter().position(|p| p.name == part);
        match def.parts {
            [one] => index(one).map(Self::Part),
            [own, a, b] => index(own)
                .map(Self::Part)
                .or_else(|| Some(Self::Midpoint(index(a)?, index(b)?))),
            _ => None,
        }
    }

    /// The marker's position in one frame's points (part order), if its parts are there.
    pub fn locate<T: Copy>(self, points: &[Option<T>], mid: impl Fn(T, T) -> T) -> Option<T> {
        match self {
            Self::Part(i) => points.get(i).copied().flatten(),
            Self::Midpoint(a, b) => Some(mid(points.get(a).copied()??, points.get(b).copied()??)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{BODY25, COCO18};

    #[test]
    fn every_file_marker_exists_in_its_skeleton() {
        for s in [&COCO18, &BODY25] {
            for m in file_markers(s) {
                assert!(MarkerSource::find(s, m).is_some(), "{} {m}", s.name);
            }
        }
        assert_eq!(file_markers(&COCO18).len(), 13);
        assert!(matches!(
            MarkerSource::find(&COCO18, "Hip"),
            Some(MarkerSource::Midpoint(..))
        ));
        assert!(matches!(
            MarkerSource::find(&BODY25, "Hip"),
            Some(MarkerSource::Part(_))
        ));
        assert_eq!(MarkerSource::find(&COCO18, "RHeel"), None);
    }
}
