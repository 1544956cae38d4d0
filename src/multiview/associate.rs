//! Which detections in the views are the same person, frame by frame.
//!
//! Pairs of detections in two views are scored by how far each one's joints lie from the epipolar
//! lines of the other's (median, in pixels; the mirror image of a detection counts too, since 2D
//! detectors swap left and right). From the best pair on, a person grows: it is triangulated, and
//! each other view adds the detection that reprojects best onto it, if near enough. A detection that
//! no other view confirms stays 2D: one view never makes a 3D person.

use nalgebra::{Matrix3, Point3, Vector3};

use super::camera::Xy;
use super::rig::Rig;
use super::triangulate::{reprojection_px, triangulate, Joint3d, Sighting, TriangulationSettings};

/// How close detections must be to be one person.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssociationSettings {
    /// Median distance of two detections' joints to each other's epipolar lines, in pixels.
    pub max_epipolar_px: f64,
    /// Median reprojection error of a detection against a person being built, in pixels.
    pub max_match_px: f64,
    /// Joints two detections must share to be compared.
    pub min_common_joints: usize,
    /// Joints a 3D person needs.
    pub min_joints: usize,
    /// Two people from different views whose joints are this close (median, metres) are one.
    pub same_place_m: f64,
}

impl Default for AssociationSettings {
    fn default() -> Self {
        Self {
            max_epipolar_px: 30.0,
            max_match_px: 40.0,
            min_common_joints: 3,
            min_joints: 5,
            same_place_m: 0.2,
        }
    }
}

/// A person detected in one view, its keypoints as sightings.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewPerson {
    pub view: usize,
    /// Position in that view's list of people.
    pub index: usize,
    pub joints: Vec<Option<Sighting>>,
}

impl ViewPerson {
    /// From pixels and scores (`None`: part not found), undistorted through the view's camera.
    pub fn new(rig: &Rig, view: usize, index: usize, keypoints: &[Option<(Xy, f32)>]) -> Self {
        let camera = &rig.cameras[view];
        let joints = keypoints
            .iter()
            .map(|k| {
                k.map(|(pixel, score)| Sighting {
                    view,
                    pixel,
                    ray: camera.normalise(pixel),
                    score,
                })
            })
            .collect();
        Self {
            view,
            index,
            joints,
        }
    }
}

/// A detection taken into a 3D person, with its own part order (left and right may be swapped).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub view: usize,
    pub index: usize,
    /// For each part of the 3D person, the detection's part that gives it.
    pub parts: Vec<usize>,
}

/// A person in 3D in one frame set.
#[derive(Debug, Clone, PartialEq)]
pub struct Person3d {
    pub joints: Vec<Option<Joint3d>>,
    pub members: Vec<Member>,
}

impl Person3d {
    pub fn joint_count(&self) -> usize {
        self.joints.iter().flatten().count()
    }
}

/// Matches the detections of every view (`views[v]`: view v's people) into 3D people. People
/// already followed come first: where each is expected (`expected`, in 3D) picks its detection in
/// every view, which finds a person whose partial detections share too few joints for a pair.
pub fn associate(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    expected: &[Vec<Option<Point3<f64>>>],
    mirror: &[usize],
    a: &AssociationSettings,
    t: &TriangulationSettings,
) -> Vec<Person3d> {
    let mut taken: Vec<Vec<bool>> = views.iter().map(|v| vec![false; v.len()]).collect();
    let mut people = Vec::new();
    for points in expected {
        let guess: Vec<Option<Joint3d>> = points
            .iter()
            .map(|p| {
                p.map(|point| Joint3d {
                    point,
                    error_px: 0.0,
                    views: Vec::new(),
                })
            })
            .collect();
        let expected = Person3d {
            joints: guess.clone(),
            members: Vec::new(),
        };
        let near = a.same_place_m * 1.5;
        let Some(person) = grow(rig, views, &taken, Vec::new(), Some(guess), mirror, a, t)
            .filter(|p| joint_distance(p, &expected).is_some_and(|d| d < near))
        else {
            continue;
        };
        for m in &person.members {
            taken[m.view][m.index] = true;
        }
        people.push(person);
    }
    for (first, second) in candidate_pairs(rig, views, mirror, a, t.min_score) {
        let ((va, ia), (vb, ib)) = (first, second);
        if taken[va][ia] || taken[vb][ib] {
            continue;
        }
        let seed = vec![
            identity_member(&views[va][ia]),
            oriented_member(rig, &views[va][ia], &views[vb][ib], mirror, t.min_score),
        ];
        let Some(person) = grow(rig, views, &taken, seed, None, mirror, a, t) else {
            continue;
        };
        for m in &person.members {
            taken[m.view][m.index] = true;
        }
        people.push(person);
    }
    merge_duplicates(rig, views, people, a, t)
}

/// Two people in the same place are one. Built from different views (which did not agree closely
/// enough to grow one person), they are merged; sharing a view (the person split in 2D), the fuller
/// one stays.
fn merge_duplicates(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    mut people: Vec<Person3d>,
    a: &AssociationSettings,
    t: &TriangulationSettings,
) -> Vec<Person3d> {
    let mut i = 0;
    while i < people.len() {
        let twin = (i + 1..people.len())
            .find(|&j| joint_distance(&people[i], &people[j]).is_some_and(|d| d < a.same_place_m));
        let Some(j) = twin else {
            i += 1;
            continue;
        };
        let other = people.remove(j);
        let disjoint = other
            .members
            .iter()
            .all(|m| people[i].members.iter().all(|n| n.view != m.view));
        if disjoint {
            let mut members = std::mem::take(&mut people[i].members);
            members.extend(other.members);
            let joints = solve(rig, views, &members, t);
            people[i] = Person3d { joints, members };
        } else if other.joint_count() > people[i].joint_count() {
            // Two detections of one view in the same place: a person split in 2D; the fuller stays.
            people[i] = other;
        }
    }
    people
}

/// Median distance between the joints two people share (`None` with fewer than 3).
fn joint_distance(a: &Person3d, b: &Person3d) -> Option<f64> {
    let mut d: Vec<f64> = a
        .joints
        .iter()
        .zip(&b.joints)
        .filter_map(|(x, y)| Some((x.as_ref()?.point - y.as_ref()?.point).norm()))
        .collect();
    if d.len() < 3 {
        return None;
    }
    median(&mut d)
}

fn identity_member(p: &ViewPerson) -> Member {
    Member {
        view: p.view,
        index: p.index,
        parts: (0..p.joints.len()).collect(),
    }
}

fn mirrored_member(p: &ViewPerson, mirror: &[usize]) -> Member {
    Member {
        parts: mirror.to_vec(),
        ..identity_member(p)
    }
}

/// `b` as it fits `a` best: as detected or mirrored.
fn oriented_member(
    rig: &Rig,
    a: &ViewPerson,
    b: &ViewPerson,
    mirror: &[usize],
    min_score: f32,
) -> Member {
    let direct = epipolar_px(rig, a, b, None, min_score).map_or(f64::INFINITY, |d| d.0);
    let flipped = epipolar_px(rig, a, b, Some(mirror), min_score).map_or(f64::INFINITY, |d| d.0);
    if flipped < direct {
        mirrored_member(b, mirror)
    } else {
        identity_member(b)
    }
}

type Detection = (usize, usize);

/// Pairs of detections in different views whose epipolar distance is within the limit, best first.
fn candidate_pairs(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    mirror: &[usize],
    a: &AssociationSettings,
    min_score: f32,
) -> Vec<(Detection, Detection)> {
    let mut pairs = Vec::new();
    for (va, people_a) in views.iter().enumerate() {
        for (vb, people_b) in views.iter().enumerate().skip(va + 1) {
            for pa in people_a {
                for pb in people_b {
                    let best = [None, Some(mirror)]
                        .into_iter()
                        .filter_map(|m| epipolar_px(rig, pa, pb, m, min_score))
                        .filter(|&(_, common)| common >= a.min_common_joints)
                        .map(|(d, _)| d)
                        .fold(f64::INFINITY, f64::min);
                    if best <= a.max_epipolar_px {
                        pairs.push((best, (va, pa.index), (vb, pb.index)));
                    }
                }
            }
        }
    }
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
    pairs.into_iter().map(|(_, x, y)| (x, y)).collect()
}

/// The essential matrix taking view a's rays to epipolar lines in view b.
fn essential(rig: &Rig, va: usize, vb: usize) -> Matrix3<f64> {
    let (ca, cb) = (&rig.cameras[va], &rig.cameras[vb]);
    let r = cb.rotation * ca.rotation.inverse();
    let t = cb.translation - r * ca.translation;
    t.cross_matrix() * r.matrix()
}

/// Median symmetric epipolar distance (pixels) over the joints both detections have, and how many.
pub(crate) fn epipolar_px(
    rig: &Rig,
    a: &ViewPerson,
    b: &ViewPerson,
    mirror: Option<&[usize]>,
    min_score: f32,
) -> Option<(f64, usize)> {
    let e = essential(rig, a.view, b.view);
    let (fa, fb) = (rig.cameras[a.view].focal(), rig.cameras[b.view].focal());
    let mut d = Vec::new();
    for (part, ja) in a.joints.iter().enumerate() {
        let q = mirror.map_or(part, |m| m[part]);
        let (Some(ja), Some(Some(jb))) = (ja, b.joints.get(q)) else {
            continue;
        };
        if ja.score < min_score || jb.score < min_score {
            continue;
        }
        let xa = Vector3::new(ja.ray[0], ja.ray[1], 1.0);
        let xb = Vector3::new(jb.ray[0], jb.ray[1], 1.0);
        let line_b = e * xa;
        let line_a = e.transpose() * xb;
        let num = xb.dot(&line_b).abs();
        let db = num / line_b.xy().norm().max(1e-12) * fb;
        let da = num / line_a.xy().norm().max(1e-12) * fa;
        d.push(0.5 * (da + db));
    }
    let n = d.len();
    median(&mut d).map(|m| (m, n))
}

pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

/// Triangulates the members (or starts from `guess`), adds the best-fitting untaken detection of
/// each other view, and fixes left/right swaps; `None` when the person has too few joints or fewer
/// than two views.
#[allow(clippy::too_many_arguments)]
fn grow(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    taken: &[Vec<bool>],
    mut members: Vec<Member>,
    guess: Option<Vec<Option<Joint3d>>>,
    mirror: &[usize],
    a: &AssociationSettings,
    t: &TriangulationSettings,
) -> Option<Person3d> {
    let mut joints = guess.unwrap_or_else(|| solve(rig, views, &members, t));
    for (v, people) in views.iter().enumerate() {
        if members.iter().any(|m| m.view == v) {
            continue;
        }
        let best = people
            .iter()
            .filter(|p| !taken[v][p.index])
            .flat_map(|p| [identity_member(p), mirrored_member(p, mirror)])
            .filter_map(|m| {
                let e = match_px(rig, views, &m, &joints, a.min_common_joints)?;
                (e <= a.max_match_px).then_some((e, m))
            })
            .min_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((_, m)) = best {
            members.push(m);
            if members.len() >= 2 {
                joints = solve(rig, views, &members, t);
            }
        }
    }
    if members.len() < 2 {
        return None;
    }
    if fix_swaps(rig, views, &mut members, &joints, mirror, t) {
        joints = solve(rig, views, &members, t);
    }
    let person = Person3d { joints, members };
    (person.joint_count() >= a.min_joints).then_some(person)
}

fn sighting<'a>(views: &'a [Vec<ViewPerson>], m: &Member, part: usize) -> Option<&'a Sighting> {
    let q = *m.parts.get(part)?;
    views[m.view].get(m.index)?.joints.get(q)?.as_ref()
}

/// Every joint triangulated from the members' sightings.
fn solve(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    members: &[Member],
    t: &TriangulationSettings,
) -> Vec<Option<Joint3d>> {
    let parts = members.first().map_or(0, |m| m.parts.len());
    (0..parts)
        .map(|part| {
            let s: Vec<Sighting> = members
                .iter()
                .filter_map(|m| sighting(views, m, part).copied())
                .collect();
            triangulate(rig, &s, t)
        })
        .collect()
}

/// Median reprojection error of a detection against joints in 3D (pixels).
fn match_px(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    m: &Member,
    joints: &[Option<Joint3d>],
    min_common: usize,
) -> Option<f64> {
    let mut e: Vec<f64> = joints
        .iter()
        .enumerate()
        .filter_map(|(part, j)| reprojection_px(rig, sighting(views, m, part)?, &j.as_ref()?.point))
        .collect();
    if e.len() < min_common.min(joints.iter().flatten().count()).max(2) {
        return None;
    }
    median(&mut e)
}

/// Swaps a left/right pair in a member where the swapped labels reproject much better; true if any
/// changed.
fn fix_swaps(
    rig: &Rig,
    views: &[Vec<ViewPerson>],
    members: &mut [Member],
    joints: &[Option<Joint3d>],
    mirror: &[usize],
    t: &TriangulationSettings,
) -> bool {
    let mut changed = false;
    for m in members.iter_mut() {
        for (p, &q) in mirror.iter().enumerate().filter(|(p, q)| p < *q) {
            let (Some(jp), Some(jq)) = (&joints[p], &joints[q]) else {
                continue;
            };
            let err = |m: &Member, a: usize, b: usize, ja: &Joint3d, jb: &Joint3d| {
                Some(
                    reprojection_px(rig, sighting(views, m, a)?, &ja.point)?
                        + reprojection_px(rig, sighting(views, m, b)?, &jb.point)?,
                )
            };
            let (Some(kept), Some(swapped)) = (err(m, p, q, jp, jq), err(m, q, p, jp, jq)) else {
                continue;
            };
            if kept > 2.0 * t.max_reprojection_px && swapped < 0.5 * kept {
                m.parts.swap(p, q);
                changed = true;
            }
        }
    }
    changed
}
