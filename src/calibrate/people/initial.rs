//! A first rig from the pairwise poses. The pairs' matches join each set's detections into people
//! across views (union–find, left–right swaps carried along); the cameras are placed one by one
//! along the strongest pairs from the reference (a maximum spanning tree), each new pair's unknown
//! scale set by the depths its joints have in the cameras already placed; then every person's
//! joints are triangulated.

use std::collections::HashMap;

use nalgebra::{Point3, Rotation3, Vector3};

use super::observe::{part_of, Obs, Observations};
use super::pairs::{depths, PairFit};
use crate::multiview::camera::Camera;
use crate::multiview::triangulate::{dlt, Sighting};
use crate::multiview::Rig;

/// One joint to solve for: a part of a person, and every view that saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub set: usize,
    /// The person, numbered within the set.
    pub person: usize,
    pub part: usize,
    pub sightings: Vec<(usize, Obs)>,
    pub point: Point3<f64>,
}

/// A camera's pose relative to the reference camera's frame: `x = R X + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub rotation: Rotation3<f64>,
    pub translation: Vector3<f64>,
}

impl Pose {
    pub fn identity() -> Pose {
        Pose {
            rotation: Rotation3::identity(),
            translation: Vector3::zeros(),
        }
    }

    /// The camera with this pose.
    pub fn place(&self, lens_only: &Camera) -> Camera {
        Camera {
            rotation: self.rotation,
            translation: self.translation,
            ..lens_only.clone()
        }
    }
}

/// Why the cameras could not all be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unplaced {
    /// No accepted pair links this camera to the placed ones.
    Unlinked(usize),
    /// Linked, but no joint it shares with its partner is seen by a third placed camera: its
    /// distance has no scale.
    Unscaled { camera: usize, partner: usize },
}

/// One view's person in one set.
#[derive(Debug, Clone, Copy)]
struct Node {
    set: usize,
    view: usize,
    person: usize,
}

/// A view's detection in a person across views: (view, person, mirrored against the root).
type Member = (usize, usize, bool);

/// People across views: each with its set and its members.
struct People {
    components: Vec<(usize, Vec<Member>)>,
}

/// Each set's detections joined into people by the pairs' matches.
fn people(obs: &Observations, fits: &[&PairFit]) -> People {
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<(usize, usize, usize), usize> = HashMap::new();
    for set in 0..obs.set_count() {
        for view in 0..obs.views {
            for person in 0..obs.people(set, view).len() {
                index.insert((set, view, person), nodes.len());
                nodes.push(Node { set, view, person });
            }
        }
    }
    let mut forest = Forest::new(nodes.len());
    let mut strongest: Vec<&&PairFit> = fits.iter().collect();
    strongest.sort_by_key(|f| std::cmp::Reverse(f.matches.len()));
    for fit in strongest {
        for m in &fit.matches {
            let a = index.get(&(m.set, fit.views[0], m.a));
            let b = index.get(&(m.set, fit.views[1], m.b));
            if let (Some(&a), Some(&b)) = (a, b) {
                forest.join(a, b, m.mirrored, |x, y| nodes[x].view != nodes[y].view);
            }
        }
    }
    let mut groups: HashMap<usize, Vec<Member>> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let (root, mirrored) = forest.find(i);
        groups
            .entry(root)
            .or_default()
            .push((node.view, node.person, mirrored));
    }
    let mut components: Vec<(usize, Vec<Member>)> = groups
        .into_iter()
        .filter(|(_, m)| m.len() >= 2)
        .map(|(root, m)| (nodes[root].set, m))
        .collect();
    components.sort_by_key(|(set, m)| (*set, m[0].0, m[0].1));
    People { components }
}

/// Union–find with each node's left–right parity against its root. Two groups are joined only if
/// `compatible` holds for every pair of their members (one person per view).
struct Forest {
    parent: Vec<usize>,
    parity: Vec<bool>,
    members: Vec<Vec<usize>>,
}

impl Forest {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            parity: vec![false; n],
            members: (0..n).map(|i| vec![i]).collect(),
        }
    }

    fn find(&self, mut i: usize) -> (usize, bool) {
        let mut parity = false;
        while self.parent[i] != i {
            parity ^= self.parity[i];
            i = self.parent[i];
        }
        (i, parity)
    }

    fn join(
        &mut self,
        a: usize,
        b: usize,
        mirrored: bool,
        compatible: impl Fn(usize, usize) -> bool,
    ) {
        let ((ra, pa), (rb, pb)) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let ok = self.members[ra]
            .iter()
            .all(|&x| self.members[rb].iter().all(|&y| compatible(x, y)));
        if !ok {
            return;
        }
        self.parent[rb] = ra;
        self.parity[rb] = pa ^ pb ^ mirrored;
        let moved = std::mem::take(&mut self.members[rb]);
        self.members[ra].extend(moved);
    }
}

/// Every joint of every person seen by at least two views, not yet triangulated.
fn sightings(obs: &Observations, people: &People, mirror: &[usize]) -> Vec<Track> {
    let mut out = Vec::new();
    for (person, (set, members)) in people.components.iter().enumerate() {
        let parts = members
            .iter()
            .filter_map(|(v, p, _)| obs.people(*set, *v).get(*p).map(Vec::len))
            .max()
            .unwrap_or(0);
        for part in 0..parts {
            let seen: Vec<(usize, Obs)> = members
                .iter()
                .filter_map(|&(view, p, mirrored)| {
                    let detection = obs.people(*set, view).get(p)?;
                    Some((view, part_of(detection, part, mirrored.then_some(mirror))?))
                })
                .collect();
            if seen.len() >= 2 {
                out.push(Track {
                    set: *set,
                    person,
                    part,
                    sightings: seen,
                    point: Point3::origin(),
                });
            }
        }
    }
    out
}

/// The pose of `to` relative to `from`, read from their pair fit in either order (unit baseline).
fn relative(fit: &PairFit, from: usize) -> Pose {
    if fit.views[0] == from {
        Pose {
            rotation: fit.rotation,
            translation: fit.direction,
        }
    } else {
        let inverse = fit.rotation.inverse();
        Pose {
            rotation: inverse,
            translation: -(inverse * fit.direction),
        }
    }
}

/// Every camera's first pose and the people's joints, triangulated, from the tree of pairs grown
/// from `fits[first]` (its first camera is the reference, at the identity).
pub fn start(
    lenses: &[Camera],
    obs: &Observations,
    fits: &[&PairFit],
    first: usize,
    mirror: &[usize],
) -> Result<(Vec<Pose>, Vec<Track>), Unplaced> {
    let tree = tree(lenses.len(), fits, first);
    let mut tracks = sightings(obs, &people(obs, &tree), mirror);
    let mut poses: Vec<Option<Pose>> = vec![None; lenses.len()];
    poses[tree[0].views[0]] = Some(Pose::identity());
    for fit in &tree {
        let (from, to) = if poses[fit.views[0]].is_some() {
            (fit.views[0], fit.views[1])
        } else {
            (fit.views[1], fit.views[0])
        };
        let pose = place(lenses, &poses, &tracks, fit, from, to)?;
        poses[to] = Some(pose);
    }
    if let Some(k) = poses.iter().position(Option::is_none) {
        return Err(Unplaced::Unlinked(k));
    }
    let poses: Vec<Pose> = poses.into_iter().flatten().collect();
    let rig = rig(lenses, &poses);
    tracks.retain_mut(|t| match triangulate(&rig, &t.sightings) {
        Some(p) => {
            t.point = p;
            true
        }
        None => false,
    });
    Ok((poses, tracks))
}

/// How much a pair is worth building on: its matches, times how well its rays cross (parallel rays
/// place depth poorly).
pub fn weight(f: &PairFit) -> f64 {
    f.matches.len() as f64 * f.parallax_deg.to_radians().sin().max(0.05)
}

/// A spanning tree from `fits[first]`, each next edge the weightiest joining a camera in the tree
/// to one outside, in the order the edges were added.
fn tree<'a>(cameras: usize, fits: &[&'a PairFit], first: usize) -> Vec<&'a PairFit> {
    let mut inside = vec![false; cameras];
    let mut edges = vec![fits[first]];
    for v in fits[first].views {
        inside[v] = true;
    }
    while let Some(f) = fits
        .iter()
        .filter(|f| inside[f.views[0]] != inside[f.views[1]])
        .max_by(|a, b| weight(a).total_cmp(&weight(b)))
    {
        inside[f.views[0]] = true;
        inside[f.views[1]] = true;
        edges.push(f);
    }
    edges
}

/// Camera `to` from its pair with the placed camera `from`, the pair's baseline scaled to the
/// placed cameras' (the second camera placed sets the unit).
fn place(
    lenses: &[Camera],
    poses: &[Option<Pose>],
    tracks: &[Track],
    fit: &PairFit,
    from: usize,
    to: usize,
) -> Result<Pose, Unplaced> {
    let rel = relative(fit, from);
    let base = poses[from].expect("placed");
    let placed = poses.iter().filter(|p| p.is_some()).count();
    let scale = if placed == 1 {
        1.0
    } else {
        let s = scale(lenses, poses, tracks, &rel, from, to);
        s.ok_or(Unplaced::Unscaled {
            camera: to,
            partner: from,
        })?
    };
    Ok(Pose {
        rotation: rel.rotation * base.rotation,
        translation: rel.rotation * base.translation + rel.translation * scale,
    })
}

/// The median ratio between joints' depths in camera `from` as the placed cameras triangulate
/// them and as the pair (`from`, `to`) does at unit baseline.
fn scale(
    lenses: &[Camera],
    poses: &[Option<Pose>],
    tracks: &[Track],
    rel: &Pose,
    from: usize,
    to: usize,
) -> Option<f64> {
    let cameras: Vec<Camera> = poses
        .iter()
        .zip(lenses)
        .map(|(p, l)| p.unwrap_or_else(Pose::identity).place(l))
        .collect();
    let rig = Rig { cameras };
    let base = poses[from]?;
    let mut ratios = Vec::new();
    for t in tracks {
        let at = |v: usize| t.sightings.iter().find(|(w, _)| *w == v).map(|(_, o)| *o);
        let (Some(a), Some(b)) = (at(from), at(to)) else {
            continue;
        };
        let known: Vec<(usize, Obs)> = t
            .sightings
            .iter()
            .filter(|(v, _)| *v != to && poses[*v].is_some())
            .copied()
            .collect();
        if known.len() < 2 {
            continue;
        }
        let Some(x) = triangulate(&rig, &known) else {
            continue;
        };
        let depth = (base.rotation * x.coords + base.translation).z;
        if let Some((unit, _)) = depths(rel.rotation.matrix(), &rel.translation, a.ray, b.ray) {
            if unit > 0.0 && depth > 0.0 {
                ratios.push(depth / unit);
            }
        }
    }
    if ratios.len() < 8 {
        return None;
    }
    crate::motion::units::median(ratios)
}

/// The cameras with their lenses placed at `poses`.
pub fn rig(lenses: &[Camera], poses: &[Pose]) -> Rig {
    Rig {
        cameras: poses.iter().zip(lenses).map(|(p, l)| p.place(l)).collect(),
    }
}

/// The joint from its sightings, if in front of every camera that saw it.
pub fn triangulate(rig: &Rig, sightings: &[(usize, Obs)]) -> Option<Point3<f64>> {
    let s: Vec<Sighting> = sightings
        .iter()
        .map(|(view, o)| Sighting {
            view: *view,
            pixel: o.pixel,
            ray: o.ray,
            score: 1.0,
        })
        .collect();
    let refs: Vec<&Sighting> = s.iter().collect();
    let p = dlt(rig, &refs)?;
    sightings
        .iter()
        .all(|(v, _)| rig.cameras[*v].to_camera(&p).z > 0.0)
        .then_some(p)
}
