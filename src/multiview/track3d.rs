//! One ID per 3D person for the whole clip: people are matched to tracks by their mean joint distance
//! to where each track is predicted to be (last position plus its velocity), optimally
//! (Kuhn–Munkres, as the 2D tracker), within a gate in metres.

use nalgebra::{Point3, Vector3};

use crate::track::assign::assign;

/// How far a person may be from a track's prediction and how long a track waits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tracking3dSettings {
    /// Mean joint distance to the prediction, metres.
    pub max_distance_m: f64,
    /// The gate widens by this much per frame set a track is missing (metres): the person may
    /// have turned or stopped meanwhile.
    pub widen_m: f64,
    /// Frame sets a track survives without its person.
    pub max_missing: u64,
    /// The fastest a person moves per frame set (metres).
    pub max_speed_m: f64,
}

impl Default for Tracking3dSettings {
    fn default() -> Self {
        Self {
            max_distance_m: 0.5,
            widen_m: 0.01,
            max_missing: 60,
            max_speed_m: 0.15,
        }
    }
}

struct Track {
    id: u64,
    joints: Vec<Option<Point3<f64>>>,
    velocity: Vector3<f64>,
    last_frame: u64,
    /// Frame sets the person was found in.
    seen: u64,
}

impl Track {
    /// Where the joints should be at `frame`: moved on at the last velocity for at most 10 frame
    /// sets (a person does not walk on forever while unseen).
    fn predicted(&self, frame: u64) -> impl Iterator<Item = Option<Point3<f64>>> + '_ {
        let steps = (frame - self.last_frame).min(10) as f64;
        self.joints
            .iter()
            .map(move |j| j.map(|p| p + self.velocity * steps))
    }
}

/// The tracks of a clip; feed it frame sets in order.
pub struct Tracker3d {
    settings: Tracking3dSettings,
    tracks: Vec<Track>,
    next_id: u64,
}

fn centroid(joints: &[Option<Point3<f64>>]) -> Option<Point3<f64>> {
    let pts: Vec<_> = joints.iter().flatten().collect();
    (!pts.is_empty()).then(|| {
        Point3::from(pts.iter().map(|p| p.coords).sum::<Vector3<f64>>() / pts.len() as f64)
    })
}

/// The mean displacement of the joints seen in both.
fn mean_step(from: &[Option<Point3<f64>>], to: &[Option<Point3<f64>>]) -> Option<Vector3<f64>> {
    let d: Vec<Vector3<f64>> = from
        .iter()
        .zip(to)
        .filter_map(|(a, b)| Some(b.as_ref()? - a.as_ref()?))
        .collect();
    (!d.is_empty()).then(|| d.iter().sum::<Vector3<f64>>() / d.len() as f64)
}

/// Mean distance over the joints both have (their centroids when they share none).
fn distance(a: &[Option<Point3<f64>>], b: &[Option<Point3<f64>>]) -> Option<f64> {
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(x, y)| Some((x.as_ref()? - y.as_ref()?).norm()))
        .collect();
    if d.is_empty() {
        return Some((centroid(a)? - centroid(b)?).norm());
    }
    Some(d.iter().sum::<f64>() / d.len() as f64)
}

impl Tracker3d {
    pub fn new(settings: Tracking3dSettings) -> Self {
        Self {
            settings,
            tracks: Vec::new(),
            next_id: 1,
        }
    }

    /// Where the people seen in the last few frame sets should be at `frame`, the longest-followed
    /// first (an older prediction is too loose to choose detections by).
    pub fn expected(&self, frame: u64) -> Vec<Vec<Option<Point3<f64>>>> {
        let mut tracks: Vec<&Track> = self
            .tracks
            .iter()
            .filter(|t| frame - t.last_frame <= 3)
            .collect();
        tracks.sort_by_key(|t| std::cmp::Reverse(t.seen));
        tracks
            .iter()
            .map(|t| t.predicted(frame).collect())
            .collect()
    }

    /// The ID of each person of frame set `frame` (IDs count up from 1 and are never reused).
    pub fn update(&mut self, frame: u64, people: &[Vec<Option<Point3<f64>>>]) -> Vec<u64> {
        let s = self.settings;
        let similarity: Vec<Vec<f32>> = self
            .tracks
            .iter()
            .map(|t| {
                let gate = s.max_distance_m + s.widen_m * (frame - t.last_frame - 1) as f64;
                let predicted: Vec<_> = t.predicted(frame).collect();
                people
                    .iter()
                    .map(|p| {
                        distance(&predicted, p).map_or(f32::NEG_INFINITY, |d| (gate - d) as f32)
                    })
                    .collect()
            })
            .collect();
        let mut ids = vec![0; people.len()];
        for (ti, pi) in assign(&similarity, 0.0) {
            let track = &mut self.tracks[ti];
            let steps = (frame - track.last_frame).max(1) as f64;
            // From the joints seen both times (a centroid of other joints would jump), smoothed, and
            // no faster than a sprint.
            if let Some(step) = mean_step(&track.joints, &people[pi]) {
                let v = step / steps;
                let v = if v.norm() > s.max_speed_m {
                    v * (s.max_speed_m / v.norm())
                } else {
                    v
                };
                track.velocity = 0.5 * (track.velocity + v);
            }
            // Joints not seen now keep their last place, moved with the person.
            let carried: Vec<_> = track.predicted(frame).collect();
            track.joints = people[pi]
                .iter()
                .zip(carried)
                .map(|(n, o)| n.or(o))
                .collect();
            track.last_frame = frame;
            track.seen += 1;
            ids[pi] = track.id;
        }
        for (pi, id) in ids.iter_mut().enumerate().filter(|(_, id)| **id == 0) {
            *id = self.next_id;
            self.next_id += 1;
            self.tracks.push(Track {
                id: *id,
                joints: people[pi].clone(),
                velocity: Vector3::zeros(),
                last_frame: frame,
                seen: 1,
            });
        }
        let max_missing = self.settings.max_missing;
        self.tracks.retain(|t| frame - t.last_frame <= max_missing);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x: f64, y: f64) -> Vec<Option<Point3<f64>>> {
        (0..5)
            .map(|i| Some(Point3::new(x, y, 0.2 * i as f64)))
            .collect()
    }

    #[test]
    fn people_crossing_keep_their_ids_through_a_gap() {
        let mut t = Tracker3d::new(Tracking3dSettings::default());
        let mut seen = Vec::new();
        for f in 0..60u64 {
            // Two people walk towards each other along x, 0.4 m apart in y, at 3 cm a frame.
            let a = person(-1.0 + 0.03 * f as f64, 0.0);
            let b = person(1.0 - 0.03 * f as f64, 0.4);
            let frame: Vec<_> = if (20..24).contains(&f) {
                vec![b]
            } else {
                vec![a, b]
            };
            let ids = t.update(f, &frame);
            seen.push(ids);
        }
        assert_eq!(seen[0], vec![1, 2]);
        assert!(
            seen.iter()
                .all(|ids| ids.len() == 1 && ids[0] == 2 || ids == &vec![1, 2]),
            "{seen:?}"
        );
    }
}
