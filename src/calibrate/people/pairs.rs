//! Two views' relative pose from the people both saw, without knowing who is who in the other
//! view: RANSAC over pairings of one view's people with the other's. A hypothesis is an essential
//! matrix from the joints of a few random pairings in different frame sets; it is scored by how
//! many people, set by set, find a partner whose joints lie on their epipolar lines. The winner is
//! refitted on every joint of the pairings it explains, and split into a rotation and a direction
//! by which of its four poses puts the joints in front of both cameras.

use nalgebra::{Matrix2, Matrix3, Point2, Rotation3, Vector2, Vector3};
use vision_geometry::epipolar::{decompose_essential, essential_5point};

use super::observe::{common_rays, Observations};
use crate::multiview::camera::Xy;

/// How hard the search looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairSettings {
    /// A joint off its epipolar line by more than this (Sampson distance, pixels) is an outlier.
    pub threshold_px: f64,
    pub iterations: usize,
    /// Joints two people must share to be paired.
    pub min_joints: usize,
    /// Pairings (from different frame sets) each hypothesis is fitted to.
    pub sample: usize,
}

impl Default for PairSettings {
    fn default() -> Self {
        Self {
            threshold_px: 6.0,
            iterations: 1000,
            min_joints: 8,
            sample: 2,
        }
    }
}

/// The same person in both views at one frame set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonMatch {
    pub set: usize,
    /// Index among view `a`'s people in that set, and among view `b`'s.
    pub a: usize,
    pub b: usize,
    /// Whether `b`'s left and right are swapped against `a`'s.
    pub mirrored: bool,
}

/// View `b`'s pose relative to view `a`: `x_b = R x_a + t` with `|t| = 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct PairFit {
    pub views: [usize; 2],
    pub rotation: Rotation3<f64>,
    pub direction: Vector3<f64>,
    pub matches: Vec<PersonMatch>,
    /// View a's people (set by set) that had someone in view b to pair with.
    pub pairable: usize,
    /// Median angle between the two rays to each matched joint, degrees: no baseline, no depth.
    pub parallax_deg: f64,
    /// Median Sampson distance of the matched joints, pixels.
    pub median_px: f64,
}

/// A pairing to try: person `a` of view a and person `b` of view b in set `set`, with their common
/// joints as rays.
struct Candidate {
    set: usize,
    a: usize,
    b: usize,
    mirrored: bool,
    rays: Vec<(Xy, Xy)>,
}

/// The pose of view `b` relative to view `a`, or `None` when fewer than 8 pairings agree.
/// `focal_px` turns distances on the normalised plane into pixels; `mirror` (each part's
/// left-right twin) lets a person match with left and right swapped.
pub fn fit_pair(
    obs: &Observations,
    [a, b]: [usize; 2],
    focal_px: f64,
    mirror: &[usize],
    settings: &PairSettings,
) -> Option<PairFit> {
    let candidates = candidates(obs, [a, b], mirror, settings.min_joints);
    let threshold = settings.threshold_px / focal_px;
    let mut rng = SplitMix(0x5eed ^ ((a as u64) << 8) ^ b as u64);
    let mut best: Option<(usize, Matrix3<f64>)> = None;
    for _ in 0..settings.iterations {
        for e in hypotheses(&candidates, settings.sample, &mut rng) {
            let score = assign(&candidates, &e, threshold).len();
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, e));
            }
        }
    }
    let (_, e) = best?;
    let chosen = assign(&candidates, &e, threshold);
    let rays = inlier_rays(&candidates, &chosen, &e, 2.0 * threshold);
    let (mut rotation, mut direction) = pose_in_front(&e, &rays)?;
    let mut e = essential_of(&rotation, &direction);
    for _ in 0..3 {
        let chosen = assign(&candidates, &e, threshold);
        let rays = inlier_rays(&candidates, &chosen, &e, 2.0 * threshold);
        (rotation, direction) = refine(rotation, direction, &rays);
        e = essential_of(&rotation, &direction);
    }
    let chosen = assign(&candidates, &e, threshold);
    if chosen.len() < 8 {
        return None;
    }
    let mut errors: Vec<f64> = chosen
        .iter()
        .flat_map(|&c| candidates[c].rays.iter().map(|r| sampson(&e, r) * focal_px))
        .collect();
    errors.sort_by(f64::total_cmp);
    let mut pairable: Vec<(usize, usize)> = candidates.iter().map(|c| (c.set, c.a)).collect();
    pairable.dedup();
    let parallax = median(
        rays.iter()
            .map(|(xa, xb)| parallax(&rotation, *xa, *xb))
            .collect(),
    );
    Some(PairFit {
        views: [a, b],
        rotation,
        direction,
        matches: chosen
            .iter()
            .map(|&c| PersonMatch {
                set: candidates[c].set,
                a: candidates[c].a,
                b: candidates[c].b,
                mirrored: candidates[c].mirrored,
            })
            .collect(),
        pairable: pairable.len(),
        parallax_deg: parallax.unwrap_or(0.0),
        median_px: errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
    })
}

/// Every pairing of a's people with b's, set by set, that shares enough joints: as detected, and
/// with b's left and right swapped.
fn candidates(
    obs: &Observations,
    [a, b]: [usize; 2],
    mirror: &[usize],
    min_joints: usize,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let ways: &[Option<&[usize]>] = if mirror.is_empty() {
        &[None]
    } else {
        &[None, Some(mirror)]
    };
    for set in 0..obs.set_count() {
        for (i, pa) in obs.people(set, a).iter().enumerate() {
            for (j, pb) in obs.people(set, b).iter().enumerate() {
                for way in ways {
                    let rays: Vec<(Xy, Xy)> = common_rays(pa, pb, *way)
                        .into_iter()
                        .map(|(_, x, y)| (x, y))
                        .collect();
                    if rays.len() >= min_joints {
                        out.push(Candidate {
                            set,
                            a: i,
                            b: j,
                            mirrored: way.is_some(),
                            rays,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Essential matrices (up to ten) from five joints of `sample` random pairings of different sets:
/// the minimal solver, since people filmed from a few metres are nearly an affine view, where the
/// linear 8-point system has no single answer.
fn hypotheses(candidates: &[Candidate], sample: usize, rng: &mut SplitMix) -> Vec<Matrix3<f64>> {
    if candidates.is_empty() {
        return Vec::new();
    }
    let mut picked: Vec<&Candidate> = Vec::new();
    for _ in 0..sample * 10 {
        let c = &candidates[rng.below(candidates.len())];
        if picked.iter().all(|p| p.set != c.set) {
            picked.push(c);
        }
        if picked.len() == sample {
            break;
        }
    }
    let pool: Vec<(Xy, Xy)> = picked.iter().flat_map(|c| c.rays.clone()).collect();
    if pool.len() < 5 {
        return Vec::new();
    }
    let mut five: Vec<usize> = Vec::new();
    while five.len() < 5 {
        let i = rng.below(pool.len());
        if !five.contains(&i) {
            five.push(i);
        }
    }
    let p1: Vec<Point2<f64>> = five
        .iter()
        .map(|&i| Point2::new(pool[i].0[0], pool[i].0[1]))
        .collect();
    let p2: Vec<Point2<f64>> = five
        .iter()
        .map(|&i| Point2::new(pool[i].1[0], pool[i].1[1]))
        .collect();
    essential_5point(&p1, &p2).unwrap_or_default()
}

/// The pairings `e` explains: per set, by ascending median distance, each person used once, each
/// pairing's median under `threshold`.
fn assign(candidates: &[Candidate], e: &Matrix3<f64>, threshold: f64) -> Vec<usize> {
    let mut scored: Vec<(usize, f64)> = candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let m = median(c.rays.iter().map(|r| sampson(e, r)).collect())?;
            (m <= threshold).then_some((i, m))
        })
        .collect();
    scored.sort_by(|x, y| {
        let (cx, cy) = (&candidates[x.0], &candidates[y.0]);
        cx.set.cmp(&cy.set).then(x.1.total_cmp(&y.1))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for (i, _) in scored {
        let c = &candidates[i];
        let taken = chosen.iter().rev().any(|&k| {
            let o = &candidates[k];
            o.set == c.set && (o.a == c.a || o.b == c.b)
        });
        if !taken {
            chosen.push(i);
        }
    }
    chosen
}

fn inlier_rays(
    candidates: &[Candidate],
    chosen: &[usize],
    e: &Matrix3<f64>,
    threshold: f64,
) -> Vec<(Xy, Xy)> {
    chosen
        .iter()
        .flat_map(|&c| candidates[c].rays.iter())
        .filter(|r| sampson(e, r) <= threshold)
        .copied()
        .collect()
}

/// `[t]× R`.
fn essential_of(r: &Rotation3<f64>, t: &Vector3<f64>) -> Matrix3<f64> {
    let tx = Matrix3::new(0.0, -t.z, t.y, t.z, 0.0, -t.x, -t.y, t.x, 0.0);
    tx * r.matrix()
}

/// Levenberg–Marquardt on the rotation (3) and the baseline's direction (2) minimising the
/// rays' Sampson distances, derivatives by central differences.
fn refine(r: Rotation3<f64>, t: Vector3<f64>, rays: &[(Xy, Xy)]) -> (Rotation3<f64>, Vector3<f64>) {
    if rays.len() < 8 {
        return (r, t);
    }
    let (mut r, mut t) = (r, t.normalize());
    let mut lambda = 1e-3;
    let residuals = |r: &Rotation3<f64>, t: &Vector3<f64>| -> Vec<f64> {
        let e = essential_of(r, t);
        rays.iter().map(|ray| signed_sampson(&e, ray)).collect()
    };
    let cost = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
    for _ in 0..20 {
        let basis = tangent(&t);
        let step = |d: &nalgebra::SVector<f64, 5>| {
            let w = Vector3::new(d[0], d[1], d[2]);
            let nt = (t + basis.0 * d[3] + basis.1 * d[4]).normalize();
            (Rotation3::new(w) * r, nt)
        };
        let r0 = residuals(&r, &t);
        let mut jac = nalgebra::DMatrix::<f64>::zeros(rays.len(), 5);
        for k in 0..5 {
            let mut d = nalgebra::SVector::<f64, 5>::zeros();
            d[k] = 1e-6;
            let (rp, tp) = step(&d);
            let (rm, tm) = step(&(-d));
            let (plus, minus) = (residuals(&rp, &tp), residuals(&rm, &tm));
            for i in 0..rays.len() {
                jac[(i, k)] = (plus[i] - minus[i]) / 2e-6;
            }
        }
        let jtj = jac.transpose() * &jac;
        let jtr = jac.transpose() * nalgebra::DVector::from_vec(r0.clone());
        let damped = &jtj + nalgebra::DMatrix::from_diagonal(&jtj.diagonal()) * lambda;
        let Some(delta) = damped.lu().solve(&(-jtr)) else {
            break;
        };
        let d = nalgebra::SVector::<f64, 5>::from_iterator(delta.iter().copied());
        let (rn, tn) = step(&d);
        if cost(&residuals(&rn, &tn)) < cost(&r0) {
            (r, t) = (rn, tn);
            lambda = (lambda * 0.3).max(1e-9);
        } else {
            lambda *= 10.0;
        }
    }
    (r, t)
}

/// Two unit vectors square to `t` and to each other.
fn tangent(t: &Vector3<f64>) -> (Vector3<f64>, Vector3<f64>) {
    let other = if t.x.abs() < 0.9 {
        Vector3::x()
    } else {
        Vector3::y()
    };
    let a = t.cross(&other).normalize();
    (a, t.cross(&a))
}

fn signed_sampson(e: &Matrix3<f64>, (xa, xb): &(Xy, Xy)) -> f64 {
    let x1 = Vector3::new(xa[0], xa[1], 1.0);
    let x2 = Vector3::new(xb[0], xb[1], 1.0);
    let ex1 = e * x1;
    let etx2 = e.transpose() * x2;
    let den = ex1.x * ex1.x + ex1.y * ex1.y + etx2.x * etx2.x + etx2.y * etx2.y;
    x2.dot(&ex1) / den.max(1e-300).sqrt()
}

/// The first-order distance of a pair of rays from satisfying `x_bᵀ E x_a = 0`, normalised units.
pub fn sampson(e: &Matrix3<f64>, ray: &(Xy, Xy)) -> f64 {
    signed_sampson(e, ray).abs()
}

/// Of `E`'s four poses, the one that puts the most joints in front of both cameras.
fn pose_in_front(e: &Matrix3<f64>, rays: &[(Xy, Xy)]) -> Option<(Rotation3<f64>, Vector3<f64>)> {
    let poses = decompose_essential(e).ok()?;
    let in_front = |r: &Matrix3<f64>, t: &Vector3<f64>| {
        rays.iter()
            .filter(|(xa, xb)| depths(r, t, *xa, *xb).is_some_and(|(d1, d2)| d1 > 0.0 && d2 > 0.0))
            .count()
    };
    let (r, t) = poses.into_iter().max_by_key(|(r, t)| in_front(r, t))?;
    Some((Rotation3::from_matrix(&r), t.normalize()))
}

/// The angle between two rays to one point, degrees.
fn parallax(r: &Rotation3<f64>, xa: Xy, xb: Xy) -> f64 {
    let da = r * Vector3::new(xa[0], xa[1], 1.0);
    let db = Vector3::new(xb[0], xb[1], 1.0);
    da.angle(&db).to_degrees()
}

/// Depths along both rays of the closest points of the two rays (`x_b = R x_a + t`).
pub fn depths(r: &Matrix3<f64>, t: &Vector3<f64>, xa: Xy, xb: Xy) -> Option<(f64, f64)> {
    // In b's frame: λa R da + t = λb db.
    let da = r * Vector3::new(xa[0], xa[1], 1.0);
    let db = Vector3::new(xb[0], xb[1], 1.0);
    let m = Matrix2::new(da.dot(&da), -da.dot(&db), da.dot(&db), -db.dot(&db));
    let rhs = Vector2::new(-t.dot(&da), -t.dot(&db));
    let s = m.try_inverse()? * rhs;
    Some((s.x, s.y))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// A small deterministic generator, so a calibration is the same every run.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}
