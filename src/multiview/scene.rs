//! A clip's 3D people: views put in step by time, detections matched and triangulated per frame set,
//! people followed over the clip, and short-lived ghosts (a few frames of a wrong match) left out.

use nalgebra::Point3;

use super::associate::{associate, AssociationSettings, Person3d, ViewPerson};
use super::camera::Xy;
use super::rig::Rig;
use super::track3d::{Tracker3d, Tracking3dSettings};
use super::triangulate::TriangulationSettings;

/// A detection in one view: a keypoint (pixels, score) per part.
pub type Detection = Vec<Option<(Xy, f32)>>;

/// One view's detections, frame by frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ViewClip {
    /// Each frame's time in the view's own clock, seconds.
    pub times: Vec<f64>,
    pub people: Vec<Vec<Detection>>,
}

/// Frame sets a 3D person must last, by default, to be more than a wrong match.
pub const DEFAULT_MIN_FRAMES: usize = 10;

/// Everything that decides a scene.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SceneSettings {
    pub association: AssociationSettings,
    pub triangulation: TriangulationSettings,
    pub tracking: Tracking3dSettings,
    /// Frame sets a person must be in to be kept (shorter tracks are wrong matches).
    pub min_frames: usize,
}

/// When a view started filming after the first one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offset {
    Frames(f64),
    Seconds(f64),
}

impl Offset {
    /// In seconds, for a view at `fps` frames per second.
    pub fn seconds(self, fps: f64) -> f64 {
        match self {
            Offset::Frames(f) => f / fps.max(1e-9),
            Offset::Seconds(s) => s,
        }
    }
}

/// An `--offsets` value that is neither frames nor seconds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("\"{0}\" is not an offset: frames (3, -2) or seconds (0.05s)")]
pub struct OffsetError(String);

impl std::str::FromStr for Offset {
    type Err = OffsetError;

    /// `3` (frames), `-2` or `0.05s` (seconds).
    fn from_str(text: &str) -> Result<Self, OffsetError> {
        let t = text.trim();
        let (number, seconds) = match t.strip_suffix('s') {
            Some(n) => (n, true),
            None => (t, false),
        };
        let v: f64 = number
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && v.abs() < 1e7)
            .ok_or_else(|| OffsetError(text.to_string()))?;
        Ok(if seconds {
            Offset::Seconds(v)
        } else {
            Offset::Frames(v)
        })
    }
}

/// The views' frames taken together.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSet {
    /// On the reference view's clock, offsets applied.
    pub time_s: f64,
    /// Each view's frame index (`None`: that view has no frame near this time).
    pub frames: Vec<Option<usize>>,
}

/// A person in one frame set, with the ID kept over the clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenePerson {
    pub id: u64,
    pub person: Person3d,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub sets: Vec<FrameSet>,
    /// The people of each frame set.
    pub people: Vec<Vec<ScenePerson>>,
}

/// Groups frames by time: the reference is the view with the fewest frames per second, and each view
/// gives its frame nearest in time, if within half of its frame period. `offsets[v]`: how many
/// seconds after the first view view v started filming (its frame at 0 s shows that moment).
pub fn frame_sets(times: &[Vec<f64>], offsets: &[f64]) -> Vec<FrameSet> {
    let period = |t: &Vec<f64>| {
        if t.len() < 2 {
            return f64::INFINITY;
        }
        (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64
    };
    let Some(reference) =
        (0..times.len()).max_by(|&a, &b| period(&times[a]).total_cmp(&period(&times[b])))
    else {
        return Vec::new();
    };
    let shifted: Vec<Vec<f64>> = times
        .iter()
        .zip(offsets.iter().chain(std::iter::repeat(&0.0)))
        .map(|(t, o)| t.iter().map(|x| x + o).collect())
        .collect();
    shifted[reference]
        .iter()
        .map(|&time_s| FrameSet {
            time_s,
            frames: shifted
                .iter()
                .map(|t| nearest(t, time_s, 0.5 * period_or(t)))
                .collect(),
        })
        .collect()
}

fn period_or(t: &[f64]) -> f64 {
    if t.len() < 2 {
        return 0.0;
    }
    (t[t.len() - 1] - t[0]) / (t.len() - 1) as f64
}

/// The index of the time nearest `at` in ascending `t`, within `tolerance` (inclusive up to a hair).
fn nearest(t: &[f64], at: f64, tolerance: f64) -> Option<usize> {
    let i = t.partition_point(|&x| x < at);
    [i.checked_sub(1), (i < t.len()).then_some(i)]
        .into_iter()
        .flatten()
        .min_by(|&a, &b| (t[a] - at).abs().total_cmp(&(t[b] - at).abs()))
        .filter(|&j| (t[j] - at).abs() <= tolerance * (1.0 + 1e-6) + 1e-9)
}

/// Matches, triangulates and tracks every frame set of the clip.
pub fn reconstruct(
    rig: &Rig,
    views: &[ViewClip],
    sets: Vec<FrameSet>,
    mirror: &[usize],
    s: &SceneSettings,
) -> Scene {
    let mut tracker = Tracker3d::new(s.tracking);
    let mut people = Vec::with_capacity(sets.len());
    for (k, set) in sets.iter().enumerate() {
        let found = frame_people(rig, views, set, &tracker.expected(k as u64), mirror, s);
        let points: Vec<Vec<Option<Point3<f64>>>> = found
            .iter()
            .map(|p| {
                p.joints
                    .iter()
                    .map(|j| j.as_ref().map(|j| j.point))
                    .collect()
            })
            .collect();
        let ids = tracker.update(k as u64, &points);
        people.push(
            found
                .into_iter()
                .zip(ids)
                .map(|(person, id)| ScenePerson { id, person })
                .collect(),
        );
    }
    let mut scene = Scene { sets, people };
    keep_lasting(&mut scene, s.min_frames);
    scene
}

/// The 3D people of one frame set, those `expected` (followed so far) first.
pub fn frame_people(
    rig: &Rig,
    views: &[ViewClip],
    set: &FrameSet,
    expected: &[Vec<Option<Point3<f64>>>],
    mirror: &[usize],
    s: &SceneSettings,
) -> Vec<Person3d> {
    let detections: Vec<Vec<ViewPerson>> = set
        .frames
        .iter()
        .enumerate()
        .map(|(v, f)| {
            let frame = f.and_then(|f| views.get(v)?.people.get(f));
            frame
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, d)| ViewPerson::new(rig, v, i, d))
                .collect()
        })
        .collect();
    associate(
        rig,
        &detections,
        expected,
        mirror,
        &s.association,
        &s.triangulation,
    )
}

/// Drops people seen in fewer than `min_frames` frame sets and numbers the rest 1, 2, … in order of
/// first appearance.
fn keep_lasting(scene: &mut Scene, min_frames: usize) {
    let mut count = std::collections::BTreeMap::<u64, usize>::new();
    for p in scene.people.iter().flatten() {
        *count.entry(p.id).or_default() += 1;
    }
    let mut renumber = std::collections::HashMap::new();
    for p in scene.people.iter().flatten() {
        if count[&p.id] >= min_frames && !renumber.contains_key(&p.id) {
            renumber.insert(p.id, renumber.len() as u64 + 1);
        }
    }
    for frame in &mut scene.people {
        frame.retain(|p| renumber.contains_key(&p.id));
        for p in frame.iter_mut() {
            p.id = renumber[&p.id];
        }
        frame.sort_by_key(|p| p.id);
    }
}

impl Scene {
    /// The IDs present, ascending.
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.people.iter().flatten().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// One person's joints per frame set (`None` where the person or the joint is missing).
    pub fn track(&self, id: u64, parts: usize) -> Vec<Vec<Option<Point3<f64>>>> {
        self.people
            .iter()
            .map(|frame| match frame.iter().find(|p| p.id == id) {
                Some(p) => p
                    .person
                    .joints
                    .iter()
                    .map(|j| j.as_ref().map(|j| j.point))
                    .collect(),
                None => vec![None; parts],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_matched_by_time_not_index() {
        // View 0 at 30 fps, view 1 at 60 fps starting 0.1 s later in its own clock.
        let v0: Vec<f64> = (0..30).map(|i| i as f64 / 30.0).collect();
        let v1: Vec<f64> = (0..60).map(|i| i as f64 / 60.0).collect();
        let sets = frame_sets(&[v0, v1], &[0.0, 0.1]);
        assert_eq!(sets.len(), 30);
        // View 1 started 0.1 s late: its frame 0 is at 0.1 s on the reference clock.
        assert_eq!(sets[0].frames, vec![Some(0), None]);
        assert_eq!(sets[3].frames, vec![Some(3), Some(0)]);
        assert_eq!(sets[10].frames, vec![Some(10), Some(14)]);
    }
}
