//! OpenPose-compatible JSON, so tools built for OpenPose read posecam's output unchanged.

use serde::{Deserialize, Serialize};

use crate::pose::Person;

/// OpenPose's per-frame file (`*_keypoints.json`, format version 1.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenPoseFrame {
    pub version: f64,
    pub people: Vec<OpenPosePerson>,
}

/// One person in OpenPose's layout: flat `x, y, confidence` triples in skeleton part order, with
/// `0, 0, 0` for a missing part. Face, hand and 3-D arrays stay empty (body model only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenPosePerson {
    pub person_id: Vec<i64>,
    pub pose_keypoints_2d: Vec<f32>,
    #[serde(default)]
    pub face_keypoints_2d: Vec<f32>,
    #[serde(default)]
    pub hand_left_keypoints_2d: Vec<f32>,
    #[serde(default)]
    pub hand_right_keypoints_2d: Vec<f32>,
    #[serde(default)]
    pub pose_keypoints_3d: Vec<f32>,
    #[serde(default)]
    pub face_keypoints_3d: Vec<f32>,
    #[serde(default)]
    pub hand_left_keypoints_3d: Vec<f32>,
    #[serde(default)]
    pub hand_right_keypoints_3d: Vec<f32>,
}

impl OpenPosePerson {
    /// `p` with `person_id` -1 (untracked, as OpenPose writes it).
    pub fn from_person(p: &Person) -> Self {
        Self::with_id(p, None)
    }

    /// `p` with its track ID (-1 when it has none).
    pub fn with_id(p: &Person, id: Option<u64>) -> Self {
        let pose_keypoints_2d = p
            .keypoints
            .iter()
            .flat_map(|k| match k {
                Some(k) => [round3(k.x), round3(k.y), round3(k.score)],
                None => [0.0; 3],
            })
            .collect();
        Self {
            person_id: vec![id.map_or(-1, |id| id as i64)],
            pose_keypoints_2d,
            face_keypoints_2d: vec![],
            hand_left_keypoints_2d: vec![],
            hand_right_keypoints_2d: vec![],
            pose_keypoints_3d: vec![],
            face_keypoints_3d: vec![],
            hand_left_keypoints_3d: vec![],
            hand_right_keypoints_3d: vec![],
        }
    }
}

impl OpenPoseFrame {
    pub fn new(people: &[Person]) -> Self {
        Self {
            version: 1.3,
            people: people.iter().map(OpenPosePerson::from_person).collect(),
        }
    }
}

/// Millipixel precision: enough for any image, and keeps files readable.
fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::Keypoint;

    #[test]
    fn people_serialise_in_openpose_layout() {
        let p = Person {
            keypoints: vec![
                Some(Keypoint {
                    x: 10.25,
                    y: 20.5,
                    score: 0.9,
                }),
                None,
                Some(Keypoint {
                    x: 1.0,
                    y: 2.0,
                    score: 0.5,
                }),
            ],
            score: 3.0,
        };
        let json = serde_json::to_value(OpenPoseFrame::new(&[p])).unwrap();
        assert_eq!(json["version"], 1.3);
        assert_eq!(json["people"][0]["person_id"], serde_json::json!([-1]));
        let kps: Vec<f64> =
            serde_json::from_value(json["people"][0]["pose_keypoints_2d"].clone()).unwrap();
        assert_eq!(kps.len(), 9);
        assert_eq!(&kps[3..6], &[0.0, 0.0, 0.0]);
        assert!((kps[0] - 10.25).abs() < 1e-6 && (kps[8] - 0.5).abs() < 1e-6);
        assert_eq!(
            json["people"][0]["face_keypoints_2d"],
            serde_json::json!([])
        );
    }
}
