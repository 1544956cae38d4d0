//! How well a calibration fits the people its cameras filmed, camera by camera. The people are
//! matched and triangulated across all cameras as the 3D export does it: each joint from the largest
//! set of views that agree on it. Each camera's detections are then measured against those joints. A
//! camera moved or bumped since it was calibrated is outvoted by the others, so it misses by far
//! more than they do (or matches nobody at all).
//!
//! (Leaving each camera out and triangulating from the rest, tried first, mostly measured how badly
//! two nearby cameras place depth: 16 to 30 px on the demo's sound calibration.)

use crate::multiview::associate::{Member, Person3d};
use crate::multiview::scene::{reconstruct, Detection, FrameSet, SceneSettings, ViewClip};
use crate::multiview::Rig;

/// One camera against the people the others see.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraFit {
    pub name: String,
    /// Its detections (per frame set) with enough sure joints to be measured.
    pub detections: usize,
    /// Its detections (per frame set) matched to a 3D person and measured.
    pub matched: usize,
    /// Median over those detections of the median pixel distance between each joint and where the
    /// other cameras put it.
    pub median_px: Option<f64>,
}

/// A camera disagrees when it misses by this many times the others' typical miss...
pub const DISAGREE_RATIO: f64 = 3.0;
/// ...and by at least this many pixels (detectors alone miss by a few).
pub const DISAGREE_MIN_PX: f64 = 10.0;
/// Joints measured for a detection to count.
const MIN_JOINTS: usize = 3;
/// Keypoints less sure than this are neither measured nor triangulated from.
const MIN_SCORE: f32 = 0.3;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    #[error("a check triangulates each camera's people from the other cameras: it needs at least 3 cameras, not {0}")]
    TooFewCameras(usize),
}

/// Every camera's fit, in the rig's order.
pub fn check(
    rig: &Rig,
    views: &[ViewClip],
    sets: &[FrameSet],
    mirror: &[usize],
    settings: &SceneSettings,
) -> Result<Vec<CameraFit>, CheckError> {
    if rig.len() < 3 {
        return Err(CheckError::TooFewCameras(rig.len()));
    }
    let scene = reconstruct(rig, views, sets.to_vec(), mirror, settings);
    let mut misses: Vec<Vec<f64>> = vec![Vec::new(); rig.len()];
    let mut detections = vec![0; rig.len()];
    for (set, people) in scene.sets.iter().zip(&scene.people) {
        for (v, count) in detections.iter_mut().enumerate() {
            let frame = set.frames[v].and_then(|f| views[v].people.get(f));
            *count += frame
                .into_iter()
                .flatten()
                .filter(|d| measurable(d))
                .count();
        }
        for p in people {
            let members = &p.person.members;
            for m in members {
                if let Some(miss) = miss(rig, views, set, &p.person, m) {
                    misses[m.view].push(miss);
                }
            }
        }
    }
    Ok(rig
        .cameras
        .iter()
        .zip(misses)
        .zip(detections)
        .map(|((camera, mut m), detections)| CameraFit {
            name: camera.name.clone(),
            detections,
            matched: m.len(),
            median_px: median(&mut m),
        })
        .collect())
}

/// The median miss of member `m`'s joints against the 3D joints. Each joint was triangulated from
/// the largest set of views that agree on it, so a camera that is off is outvoted (where it is one
/// of three views or more) and its miss shows whole.
fn miss(
    rig: &Rig,
    views: &[ViewClip],
    set: &FrameSet,
    person: &Person3d,
    m: &Member,
) -> Option<f64> {
    let camera = &rig.cameras[m.view];
    let det = views[m.view]
        .people
        .get(set.frames[m.view]?)?
        .get(m.index)?;
    let mut d: Vec<f64> = person
        .joints
        .iter()
        .enumerate()
        .filter_map(|(part, joint)| {
            let (pixel, score) = (*det.get(*m.parts.get(part)?)?)?;
            let joint = joint.as_ref().filter(|j| j.views.len() >= 2)?;
            (score >= MIN_SCORE).then(|| camera.pixel_error(pixel, &joint.point))?
        })
        .collect();
    (d.len() >= MIN_JOINTS).then(|| median(&mut d)).flatten()
}

fn measurable(detection: &Detection) -> bool {
    let sure = detection.iter().flatten().filter(|(_, s)| *s >= MIN_SCORE);
    sure.count() >= MIN_JOINTS
}

fn without<T: Clone>(items: &[T], skip: usize) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .map(|(_, x)| x.clone())
        .collect()
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// The cameras that miss by far more than the others (each against the median of the others).
pub fn disagreeing(fits: &[CameraFit]) -> Vec<usize> {
    (0..fits.len())
        .filter(|&c| {
            let mut others: Vec<f64> = without(fits, c)
                .iter()
                .filter_map(|f| f.median_px)
                .collect();
            let typical = median(&mut others);
            match (fits[c].median_px, typical) {
                (Some(m), Some(t)) => m > (DISAGREE_RATIO * t).max(DISAGREE_MIN_PX),
                // Nothing of its view matches what the others see.
                (None, Some(_)) => true,
                _ => false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiview::scene::frame_sets;
    use crate::multiview::synthetic::{filmed_walkers, ring};
    use crate::multiview::Lens;
    use crate::pose::COCO18;
    use nalgebra::{Rotation3, Vector3};

    fn fits(rig: &Rig, filmed_by: &Rig, people: usize) -> Result<Vec<CameraFit>, CheckError> {
        let views = filmed_walkers(filmed_by, people, 40);
        let times: Vec<Vec<f64>> = views.iter().map(|v| v.times.clone()).collect();
        let sets = frame_sets(&times, &vec![0.0; rig.len()]);
        check(
            rig,
            &views,
            &sets,
            &COCO18.mirror(),
            &SceneSettings::default(),
        )
    }

    #[test]
    fn a_bumped_camera_is_the_one_that_disagrees() {
        let rig = ring(4, Lens::NONE);
        let good = fits(&rig, &rig, 3).unwrap();
        assert!(disagreeing(&good).is_empty(), "{good:?}");
        for f in &good {
            assert!(f.matched >= 80 && f.median_px.unwrap() < 4.0, "{f:?}");
        }
        // Filmed by the true rig, checked against one whose third camera has turned 2° where it
        // stands since (about its own vertical image axis).
        let mut moved = rig.clone();
        let turn = Rotation3::from_axis_angle(&Vector3::y_axis(), 2f64.to_radians());
        let cam = &mut moved.cameras[2];
        (cam.rotation, cam.translation) = (turn * cam.rotation, turn * cam.translation);
        let bumped = fits(&moved, &rig, 3).unwrap();
        assert_eq!(disagreeing(&bumped), vec![2], "{bumped:?}");
        for c in [0, 1, 3] {
            assert!(bumped[c].median_px.unwrap() < 4.0, "{:?}", bumped[c]);
        }
    }

    #[test]
    fn two_cameras_cannot_say_which_one_moved() {
        let rig = ring(2, Lens::NONE);
        assert_eq!(fits(&rig, &rig, 2), Err(CheckError::TooFewCameras(2)));
    }
}
