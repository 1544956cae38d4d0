//! The rig from the people in view: no board, only synchronised videos of people moving through the
//! space and each camera's lens. Each pair of cameras gets its relative pose from the joints of the
//! people both saw ([`pairs`]); the camera that pairs best with the others is the reference, the
//! pairs' scales are made one ([`initial`]); a bundle adjustment moves every pose and joint at once
//! ([`bundle`]); the people's height (or a known distance) and their feet put it in metres on the
//! floor ([`world`]). Pure: detections in, cameras out.

pub mod bundle;
pub mod initial;
pub mod observe;
pub mod pairs;
pub mod relink;
pub mod world;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use bundle::{adjust, BundleSettings};
use initial::{start, Pose, Track, Unplaced};
use observe::Observations;
use pairs::{fit_pair, PairFit, PairSettings};
pub use world::{Scale, WorldError};

use crate::multiview::camera::{Camera, Lens};
use crate::multiview::scene::{FrameSet, ViewClip};
use crate::pose::Skeleton;

/// Everything that decides a solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeopleRigSettings {
    pub pairs: PairSettings,
    pub bundle: BundleSettings,
    /// Keypoints less sure than this are not used.
    pub min_score: f32,
    /// A pair must match at least this share of the people both cameras saw to be built on...
    pub min_agreement: f64,
    /// ...and a camera whose best pair matches less than this share of what the cameras
    /// typically match is out of step with the others.
    pub out_of_step: f64,
    /// Median angle, degrees, between the rays two cameras cast at the same joints below which they
    /// are taken for one place (no baseline, no depth).
    pub min_parallax_deg: f64,
    /// Cells of an 8×8 grid over the reference picture the people must have visited.
    pub min_places: usize,
    /// Pairs to grow a rig from (the weightiest), keeping the rig most joints agree with.
    pub max_starts: usize,
}

impl Default for PeopleRigSettings {
    fn default() -> Self {
        Self {
            pairs: PairSettings::default(),
            bundle: BundleSettings::default(),
            min_score: 0.4,
            min_agreement: 0.25,
            out_of_step: 0.6,
            min_parallax_deg: 1.0,
            min_places: 3,
            max_starts: 8,
        }
    }
}

/// A rig that cannot be solved from these people, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PeopleRigError {
    #[error("a rig needs at least 2 cameras, not {0}")]
    TooFewCameras(usize),
    #[error("camera {0} has a fisheye lens: the rig from people handles OpenCV's standard lens model only")]
    Fisheye(String),
    #[error("camera {camera} sees nobody another camera sees at the same time: every person must be seen by at least 2 cameras at once, so film where the views overlap")]
    NoOverlap { camera: String },
    #[error("camera {0} shares people with camera {1} only, never with a third camera at once: its distance from the others has no scale (or is one of them out of step with the others?)")]
    Unscaled(String, String),
    #[error("camera {camera} agrees with camera {reference} on {matched} of the {shared} people both saw ({share:.0} %): is it out of step with the others? Synchronise the videos (--offsets or --sync motion)")]
    Unsynchronised {
        camera: String,
        reference: String,
        matched: usize,
        shared: usize,
        share: f64,
    },
    #[error("cameras {0} and {1} film from the same place (their rays to the same joints are {2:.2}° apart): a rig needs cameras apart from one another")]
    NoBaseline(String, String, f64),
    #[error("the people stayed in one place ({0} of the 64 cells of camera {1}'s picture): the rig is ill-defined; walk through the whole space while filming")]
    StoodStill(usize, String),
    #[error("camera {camera} misses the joints the other cameras agree on by {median_px:.1} px (the others by {typical_px:.1} px): is it out of step with them? Synchronise the videos (--offsets or --sync motion)")]
    OutOfStep {
        camera: String,
        median_px: f64,
        typical_px: f64,
    },
    #[error("camera {camera} shares {joints} solved joints with the others, who typically share {usual}: too few to place it. Are the videos in step (--offsets; --sync motion can fail on short clips) and do the views overlap?")]
    FewJoints {
        camera: String,
        joints: usize,
        usual: usize,
    },
    #[error("the bundle adjustment failed to converge from the cameras' first poses")]
    Diverged,
    #[error(transparent)]
    World(#[from] WorldError),
}

/// One camera's fit to the joints.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraError {
    pub name: String,
    /// Joints it saw that were solved.
    pub joints: usize,
    pub median_px: f64,
    /// Over the joints within 3× the median (the rest are mismatches the loss set aside).
    pub rms_px: f64,
}

/// How well a pair of cameras agreed before the bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct PairSummary {
    pub cameras: [String; 2],
    pub matched: usize,
    pub shared: usize,
    pub median_px: f64,
}

/// The solved rig.
#[derive(Debug, Clone, PartialEq)]
pub struct RigFit {
    pub cameras: Vec<Camera>,
    pub errors: Vec<CameraError>,
    pub pairs: Vec<PairSummary>,
    pub reference: usize,
    pub joints: usize,
    pub world: world::World,
}

/// Every camera's pose from what `obs` saw; `lenses` gives each camera's intrinsics (its pose is
/// ignored).
pub fn solve(
    lenses: &[Camera],
    clips: &[ViewClip],
    sets: &[FrameSet],
    skeleton: &Skeleton,
    scale: Scale,
    settings: &PeopleRigSettings,
) -> Result<RigFit, PeopleRigError> {
    check_lenses(lenses)?;
    let obs = &Observations::new(lenses, clips, sets, settings.min_score);
    let mirror = skeleton.mirror();
    let fits = fit_pairs(lenses, obs, &mirror, &settings.pairs);
    let accepted = accept(lenses, &fits, settings)?;
    let (reference, mut poses, first) = best_start(lenses, obs, &accepted, &mirror, settings)?;
    check_places(&lenses[reference], reference, &first, settings)?;
    let mut tracks = relink::relink(lenses, &poses, clips, sets, obs, &mirror);
    if tracks.len() < first.len() / 2 {
        tracks = first;
    }
    adjust(lenses, reference, &mut poses, &mut tracks, &settings.bundle)
        .ok_or(PeopleRigError::Diverged)?;
    let world = world::place(skeleton, &tracks, &poses, reference, scale)?;
    let cameras: Vec<Camera> = poses
        .iter()
        .zip(lenses)
        .map(|(p, l)| world.pose(p).place(l))
        .collect();
    let errors = errors(lenses, &poses, &tracks);
    out_of_step(&errors)?;
    let mut pairs: Vec<PairSummary> = fits.iter().map(|f| summary(lenses, f)).collect();
    pairs.sort_by(|a, b| a.cameras.cmp(&b.cameras));
    Ok(RigFit {
        pairs,
        cameras,
        errors,
        reference,
        joints: tracks.len(),
        world,
    })
}

fn check_lenses(lenses: &[Camera]) -> Result<(), PeopleRigError> {
    if lenses.len() < 2 {
        return Err(PeopleRigError::TooFewCameras(lenses.len()));
    }
    match lenses.iter().find(|c| matches!(c.lens, Lens::Fisheye(_))) {
        Some(c) => Err(PeopleRigError::Fisheye(c.name.clone())),
        None => Ok(()),
    }
}

/// Every pair's fit, where one was found.
fn fit_pairs(
    lenses: &[Camera],
    obs: &Observations,
    mirror: &[usize],
    settings: &PairSettings,
) -> Vec<PairFit> {
    let mut fits = Vec::new();
    for a in 0..lenses.len() {
        for b in a + 1..lenses.len() {
            let focal = 0.5 * (lenses[a].focal() + lenses[b].focal());
            fits.extend(fit_pair(obs, [a, b], focal, mirror, settings));
        }
    }
    fits
}

/// The share of the people both cameras saw that the pair matched.
fn agreement(f: &PairFit) -> f64 {
    f.matches.len() as f64 / f.pairable.max(1) as f64
}

/// The pairs to build on. Every camera needs one: a camera whose best pair matches far fewer of the
/// people both saw than the others' is out of step with them, one without pairs sees nobody they
/// see.
fn accept<'a>(
    lenses: &[Camera],
    fits: &'a [PairFit],
    settings: &PeopleRigSettings,
) -> Result<Vec<&'a PairFit>, PeopleRigError> {
    // A camera out of step agrees with every other camera far less than they agree among
    // themselves.
    let best: Vec<Option<&PairFit>> = (0..lenses.len())
        .map(|k| {
            fits.iter()
                .filter(|f| f.views.contains(&k))
                .max_by(|a, b| agreement(a).total_cmp(&agreement(b)))
        })
        .collect();
    let typical =
        crate::motion::units::median(best.iter().flatten().map(|f| agreement(f))).unwrap_or(0.0);
    for (k, camera) in lenses.iter().enumerate() {
        let Some(f) = best[k] else {
            return Err(PeopleRigError::NoOverlap {
                camera: camera.name.clone(),
            });
        };
        let share = agreement(f);
        if share < settings.min_agreement || share < settings.out_of_step * typical {
            return Err(PeopleRigError::Unsynchronised {
                camera: camera.name.clone(),
                reference: lenses[f.views[usize::from(f.views[0] == k)]].name.clone(),
                matched: f.matches.len(),
                shared: f.pairable,
                share: 100.0 * share,
            });
        }
    }
    let accepted: Vec<&PairFit> = fits
        .iter()
        .filter(|f| agreement(f) >= settings.min_agreement)
        .collect();
    if let Some(f) = accepted
        .iter()
        .find(|f| f.parallax_deg < settings.min_parallax_deg)
    {
        let [a, b] = f.views.map(|v| lenses[v].name.clone());
        return Err(PeopleRigError::NoBaseline(a, b, f.parallax_deg));
    }
    Ok(accepted)
}

/// Pairs seen from a few metres hold a depth–rotation ambiguity that one pair cannot settle, so a
/// wrong first pose is likely for some: the rig is grown from each pair in turn (the weightiest
/// pairs first) and bundle-adjusted, and the one whose joints most views agree on is kept.
fn best_start(
    lenses: &[Camera],
    obs: &Observations,
    fits: &[&PairFit],
    mirror: &[usize],
    settings: &PeopleRigSettings,
) -> Result<(usize, Vec<Pose>, Vec<Track>), PeopleRigError> {
    let mut order: Vec<usize> = (0..fits.len()).collect();
    order.sort_by(|&a, &b| initial::weight(fits[b]).total_cmp(&initial::weight(fits[a])));
    let mut best: Option<(usize, usize, Vec<Pose>, Vec<Track>)> = None;
    let mut failure = None;
    for first in order.into_iter().take(settings.max_starts) {
        let (mut poses, mut tracks) = match start(lenses, obs, fits, first, mirror) {
            Ok(s) => s,
            Err(e) => {
                failure.get_or_insert(e);
                continue;
            }
        };
        let reference = fits[first].views[0];
        if adjust(lenses, reference, &mut poses, &mut tracks, &settings.bundle).is_none() {
            continue;
        }
        let agreeing = agreeing(lenses, &poses, &tracks, 2.0 * settings.bundle.robust_px);
        if best.as_ref().is_none_or(|b| agreeing > b.0) {
            best = Some((agreeing, reference, poses, tracks));
        }
    }
    match (best, failure) {
        (Some((_, reference, poses, tracks)), _) => Ok((reference, poses, tracks)),
        (None, Some(e)) => Err(unplaced(lenses, e)),
        (None, None) => Err(PeopleRigError::Diverged),
    }
}

/// Sightings whose joint projects within `px` of them.
fn agreeing(lenses: &[Camera], poses: &[Pose], tracks: &[Track], px: f64) -> usize {
    let cameras = initial::rig(lenses, poses).cameras;
    tracks
        .iter()
        .flat_map(|t| t.sightings.iter().map(move |(v, o)| (v, o, t)))
        .filter(|(v, o, t)| {
            cameras[**v]
                .pixel_error(o.pixel, &t.point)
                .is_some_and(|e| e <= px)
        })
        .count()
}

fn unplaced(lenses: &[Camera], e: Unplaced) -> PeopleRigError {
    match e {
        Unplaced::Unlinked(k) => PeopleRigError::NoOverlap {
            camera: lenses[k].name.clone(),
        },
        Unplaced::Unscaled { camera, partner } => {
            PeopleRigError::Unscaled(lenses[camera].name.clone(), lenses[partner].name.clone())
        }
    }
}

/// The people the reference camera saw must have been in enough places of its picture.
fn check_places(
    camera: &Camera,
    reference: usize,
    tracks: &[Track],
    settings: &PeopleRigSettings,
) -> Result<(), PeopleRigError> {
    let mut people: HashMap<(usize, usize), (f64, f64, f64)> = HashMap::new();
    for t in tracks {
        if let Some((_, o)) = t.sightings.iter().find(|(v, _)| *v == reference) {
            let e = people.entry((t.set, t.person)).or_insert((0.0, 0.0, 0.0));
            *e = (e.0 + o.pixel[0], e.1 + o.pixel[1], e.2 + 1.0);
        }
    }
    let cell = |v: f64, size: u32| ((8.0 * v / f64::from(size.max(1))).floor() as i64).clamp(0, 7);
    let cells: std::collections::HashSet<(i64, i64)> = people
        .values()
        .map(|(x, y, n)| (cell(x / n, camera.size[0]), cell(y / n, camera.size[1])))
        .collect();
    if cells.len() < settings.min_places {
        return Err(PeopleRigError::StoodStill(cells.len(), camera.name.clone()));
    }
    Ok(())
}

fn errors(lenses: &[Camera], poses: &[Pose], tracks: &[Track]) -> Vec<CameraError> {
    let cameras = initial::rig(lenses, poses).cameras;
    let mut misses: Vec<Vec<f64>> = vec![Vec::new(); cameras.len()];
    for t in tracks {
        for (view, obs) in &t.sightings {
            if let Some(e) = cameras[*view].pixel_error(obs.pixel, &t.point) {
                misses[*view].push(e);
            }
        }
    }
    cameras
        .iter()
        .zip(misses)
        .map(|(c, m)| {
            let median = crate::motion::units::median(m.iter().copied()).unwrap_or(f64::NAN);
            let kept: Vec<f64> = m.iter().copied().filter(|e| *e <= 3.0 * median).collect();
            let rms = (kept.iter().map(|e| e * e).sum::<f64>() / kept.len().max(1) as f64).sqrt();
            CameraError {
                name: c.name.clone(),
                joints: m.len(),
                median_px: median,
                rms_px: rms,
            }
        })
        .collect()
}

/// A camera out of step fits the solved joints far worse than the others (3× their median miss,
/// and at least 2.5 px), or shares far fewer of them (a quarter of the typical count).
fn out_of_step(errors: &[CameraError]) -> Result<(), PeopleRigError> {
    for (k, e) in errors.iter().enumerate() {
        let counts = errors
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, o)| o.joints as f64);
        let usual = crate::motion::units::median(counts).unwrap_or(0.0);
        if (e.joints as f64) < 0.25 * usual {
            return Err(PeopleRigError::FewJoints {
                camera: e.name.clone(),
                joints: e.joints,
                usual: usual.round() as usize,
            });
        }
        let others = errors
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(_, o)| o.median_px);
        let typical = crate::motion::units::median(others).unwrap_or(f64::NAN);
        if e.median_px > 3.0 * typical && e.median_px > 2.5 {
            return Err(PeopleRigError::OutOfStep {
                camera: e.name.clone(),
                median_px: e.median_px,
                typical_px: typical,
            });
        }
    }
    Ok(())
}

fn summary(lenses: &[Camera], f: &PairFit) -> PairSummary {
    PairSummary {
        cameras: f.views.map(|v| lenses[v].name.clone()),
        matched: f.matches.len(),
        shared: f.pairable,
        median_px: f.median_px,
    }
}
