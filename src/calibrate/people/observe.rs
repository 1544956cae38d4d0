//! What each view saw, per frame set: every person's sure keypoints as pixels and as rays on the
//! camera's undistorted normalised plane (the lens is known, the pose is what is sought).

use crate::multiview::camera::{Camera, Xy};
use crate::multiview::scene::{FrameSet, ViewClip};

/// One keypoint of one person in one view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    /// As detected (distorted), pixels.
    pub pixel: Xy,
    /// On the undistorted normalised plane: the ray is `(x, y, 1)`.
    pub ray: Xy,
}

/// A person in one view: a keypoint per part, or none.
pub type Person = Vec<Option<Obs>>;

/// Every view's people, frame set by frame set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// `sets[s][v]`: the people view `v` saw in frame set `s`.
    pub sets: Vec<Vec<Vec<Person>>>,
    pub views: usize,
}

impl Observations {
    /// The keypoints at least `min_score` sure, of the frames each set groups.
    pub fn new(cameras: &[Camera], clips: &[ViewClip], sets: &[FrameSet], min_score: f32) -> Self {
        let sets = sets
            .iter()
            .map(|set| {
                (0..cameras.len())
                    .map(|v| {
                        let frame = set.frames.get(v).copied().flatten();
                        let people = frame.and_then(|f| clips.get(v)?.people.get(f));
                        people
                            .into_iter()
                            .flatten()
                            .map(|d| person(&cameras[v], d, min_score))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Self {
            sets,
            views: cameras.len(),
        }
    }

    /// The people view `view` saw in set `set` (none for a set or view out of range).
    pub fn people(&self, set: usize, view: usize) -> &[Person] {
        self.sets
            .get(set)
            .and_then(|s| s.get(view))
            .map_or(&[], Vec::as_slice)
    }

    pub fn set_count(&self) -> usize {
        self.sets.len()
    }
}

fn person(camera: &Camera, detection: &[Option<(Xy, f32)>], min_score: f32) -> Person {
    detection
        .iter()
        .map(|k| {
            let (pixel, score) = (*k)?;
            (score >= min_score).then(|| Obs {
                pixel,
                ray: camera.normalise(pixel),
            })
        })
        .collect()
}

/// Part `part` of `b`, read with left and right swapped when `mirror` is given (the detector took
/// b's left for right, as it does for people seen from behind).
pub fn part_of(b: &Person, part: usize, mirror: Option<&[usize]>) -> Option<Obs> {
    let index = mirror.map_or(Some(part), |m| m.get(part).copied())?;
    b.get(index).copied().flatten()
}

/// The parts both people have, as pairs of rays (`b` mirrored when `mirror` is given).
pub fn common_rays(a: &Person, b: &Person, mirror: Option<&[usize]>) -> Vec<(usize, Xy, Xy)> {
    a.iter()
        .enumerate()
        .filter_map(|(j, x)| Some((j, x.as_ref()?.ray, part_of(b, j, mirror)?.ray)))
        .collect()
}
