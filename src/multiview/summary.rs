//! How well a scene came out: per camera, how far its detections lie from the 3D people and how many
//! it gave; per person, how often and how completely they were seen, and how steady their limbs are
//! (a rigid bone keeps its length; a wrong match or a bad joint does not).

use serde::Serialize;

use super::associate::median;
use super::rig::Rig;
use super::scene::{Scene, ViewClip};
use crate::pose::Skeleton;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CameraSummary {
    pub name: String,
    /// Detections (people with at least one keypoint) in the frames the scene used.
    pub detections: usize,
    /// Of those, the ones taken into a 3D person.
    pub used: usize,
    pub used_share: f64,
    /// Over the joints this camera helped triangulate.
    pub mean_reprojection_px: Option<f64>,
    pub median_reprojection_px: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonSummary {
    pub id: u64,
    pub frames: usize,
    pub first_frame_set: usize,
    pub last_frame_set: usize,
    /// Joints triangulated over joints possible, in the frame sets the person is in.
    pub joints_share: f64,
    /// Limb lengths within 20 % of that limb's median, over every limb and frame.
    pub limbs_within_20pct: f64,
    /// The same over the bones only (no face part at either end): a face segment is a few
    /// centimetres, so one pixel's error is a large share of it.
    pub bones_within_20pct: f64,
    pub median_reprojection_px: Option<f64>,
    /// Each limb's median length, metres (`from-to` part names).
    pub limb_medians_m: Vec<(String, f64)>,
}

/// A limb the summary measures.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredLimb {
    pub from: usize,
    pub to: usize,
    /// `from-to` part names.
    pub name: String,
    /// Both ends on the body rather than the face.
    pub bone: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SceneSummary {
    pub frame_sets: usize,
    pub cameras: Vec<CameraSummary>,
    pub people: Vec<PersonSummary>,
    pub median_reprojection_px: Option<f64>,
}

/// The skeleton's drawn limbs, the face's (nose, eyes, ears: COCO's first five) told apart from bones.
pub fn measured_limbs(skeleton: &Skeleton) -> Vec<MeasuredLimb> {
    let face = &skeleton.coco17[..5];
    skeleton
        .drawn_limbs()
        .map(|l| MeasuredLimb {
            from: l.from,
            to: l.to,
            name: format!(
                "{}-{}",
                skeleton.parts[l.from].name, skeleton.parts[l.to].name
            ),
            bone: !face.contains(&l.from) && !face.contains(&l.to),
        })
        .collect()
}

/// Each frame set's and each camera's reprojection errors, and the detections used.
pub fn summarise(
    rig: &Rig,
    views: &[ViewClip],
    scene: &Scene,
    limbs: &[MeasuredLimb],
) -> SceneSummary {
    let n = rig.len();
    let (mut detections, mut used) = (vec![0; n], vec![0; n]);
    let mut errors: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut per_person: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for (set, people) in scene.sets.iter().zip(&scene.people) {
        for (v, f) in set.frames.iter().enumerate() {
            let frame = f.and_then(|f| views.get(v)?.people.get(f));
            detections[v] += frame.map_or(0, |d| {
                d.iter().filter(|p| p.iter().any(Option::is_some)).count()
            });
        }
        for p in people {
            for m in &p.person.members {
                used[m.view] += 1;
                let Some(det) =
                    set.frames[m.view].and_then(|f| views[m.view].people.get(f)?.get(m.index))
                else {
                    continue;
                };
                let camera = &rig.cameras[m.view];
                for (part, joint) in p.person.joints.iter().enumerate() {
                    let Some(joint) = joint.as_ref().filter(|j| j.views.contains(&m.view)) else {
                        continue;
                    };
                    // The detection's own pixel for this part (a swapped view's mirror part).
                    let Some((pixel, _)) = m.parts.get(part).and_then(|&q| *det.get(q)?) else {
                        continue;
                    };
                    if let Some(e) = camera.pixel_error(pixel, &joint.point) {
                        errors[m.view].push(e);
                        per_person.entry(p.id).or_default().push(e);
                    }
                }
            }
        }
    }
    let mut all: Vec<f64> = errors.iter().flatten().copied().collect();
    let cameras = rig
        .cameras
        .iter()
        .enumerate()
        .map(|(v, c)| CameraSummary {
            name: c.name.clone(),
            detections: detections[v],
            used: used[v],
            used_share: used[v] as f64 / detections[v].max(1) as f64,
            mean_reprojection_px: (!errors[v].is_empty())
                .then(|| errors[v].iter().sum::<f64>() / errors[v].len() as f64),
            median_reprojection_px: median(&mut errors[v].clone()),
        })
        .collect();
    let people = scene
        .ids()
        .into_iter()
        .map(|id| person_summary(scene, id, limbs, per_person.get_mut(&id)))
        .collect();
    SceneSummary {
        frame_sets: scene.sets.len(),
        cameras,
        people,
        median_reprojection_px: median(&mut all),
    }
}

fn person_summary(
    scene: &Scene,
    id: u64,
    limbs: &[MeasuredLimb],
    errors: Option<&mut Vec<f64>>,
) -> PersonSummary {
    let present: Vec<usize> = (0..scene.people.len())
        .filter(|&k| scene.people[k].iter().any(|p| p.id == id))
        .collect();
    let parts = scene
        .people
        .iter()
        .flatten()
        .find(|p| p.id == id)
        .map_or(0, |p| p.person.joints.len());
    let track = scene.track(id, parts);
    let (mut got, mut possible) = (0, 0);
    for &k in &present {
        got += track[k].iter().flatten().count();
        possible += parts;
    }
    // (within 20 %, measured), over all limbs and over bones.
    let (mut all, mut bones) = ((0, 0), (0, 0));
    let mut limb_medians_m = Vec::new();
    for limb in limbs {
        let (a, b) = (limb.from, limb.to);
        let mut lengths: Vec<f64> = track
            .iter()
            .filter_map(|row| Some((row.get(a)?.as_ref()? - row.get(b)?.as_ref()?).norm()))
            .collect();
        let Some(m) = median(&mut lengths) else {
            continue;
        };
        let within = lengths.iter().filter(|l| (*l - m).abs() <= 0.2 * m).count();
        for (count, yes) in [(&mut all, true), (&mut bones, limb.bone)] {
            if yes {
                count.0 += within;
                count.1 += lengths.len();
            }
        }
        limb_medians_m.push((limb.name.clone(), m));
    }
    let share = |(within, total): (usize, usize)| within as f64 / total.max(1) as f64;
    PersonSummary {
        id,
        frames: present.len(),
        first_frame_set: present.first().copied().unwrap_or(0),
        last_frame_set: present.last().copied().unwrap_or(0),
        joints_share: got as f64 / possible.max(1) as f64,
        limbs_within_20pct: share(all),
        bones_within_20pct: share(bones),
        median_reprojection_px: errors.and_then(|e| median(e)),
        limb_medians_m,
    }
}
