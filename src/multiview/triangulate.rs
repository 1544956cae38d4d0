//! One joint from several views: undistorted rays, a DLT weighted by the detector's confidence, and
//! views that disagree dropped (the subset of views with the lowest error whose every view reprojects
//! within the limit, trying the most views first). Fewer than `min_views` agreeing views: no point.

use nalgebra::{Matrix4, Point3, SymmetricEigen, Vector4};

use super::camera::Xy;
use super::rig::Rig;

/// What decides whether a joint is in 3D.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriangulationSettings {
    /// A view whose reprojection of the joint misses by more pixels disagrees.
    pub max_reprojection_px: f64,
    /// Views that must agree (at least 2: one view never gives a 3D point).
    pub min_views: usize,
    /// Keypoints below this confidence are not used.
    pub min_score: f32,
}

impl Default for TriangulationSettings {
    fn default() -> Self {
        Self {
            max_reprojection_px: 15.0,
            min_views: 2,
            min_score: 0.1,
        }
    }
}

/// A keypoint seen by one view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sighting {
    pub view: usize,
    /// Pixels, as detected (distorted).
    pub pixel: Xy,
    /// On the undistorted normalised plane of its camera.
    pub ray: Xy,
    pub score: f32,
}

/// A joint in 3D and how well the views agree on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Joint3d {
    /// Metres, world frame.
    pub point: Point3<f64>,
    /// Mean reprojection error over the views used, in pixels.
    pub error_px: f64,
    /// The views that agree, ascending.
    pub views: Vec<usize>,
}

/// The DLT solution of rays weighted by score: the null vector of `Σ wᵢ² (rows)ᵀ(rows)`.
pub fn dlt(rig: &Rig, sightings: &[&Sighting]) -> Option<Point3<f64>> {
    let mut a = Matrix4::<f64>::zeros();
    for s in sightings {
        let p = rig.cameras.get(s.view)?.pose_matrix();
        let w = f64::from(s.score.max(1e-3));
        for row in [
            p.row(2) * s.ray[0] - p.row(0),
            p.row(2) * s.ray[1] - p.row(1),
        ] {
            let r = row.transpose() * w;
            a += r * r.transpose();
        }
    }
    let eig = SymmetricEigen::new(a);
    let (i, _) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    let v: Vector4<f64> = eig.eigenvectors.column(i).into();
    (v.w.abs() > 1e-12).then(|| Point3::new(v.x / v.w, v.y / v.w, v.z / v.w))
}

/// Pixels between a sighting and the point's projection in its view (`None` behind the camera).
pub fn reprojection_px(rig: &Rig, s: &Sighting, p: &Point3<f64>) -> Option<f64> {
    rig.cameras.get(s.view)?.pixel_error(s.pixel, p)
}

/// The joint from the largest subset of views that agree, the lowest error among subsets of that
/// size; `None` when fewer than `min_views` views agree.
pub fn triangulate(
    rig: &Rig,
    sightings: &[Sighting],
    s: &TriangulationSettings,
) -> Option<Joint3d> {
    let usable: Vec<&Sighting> = sightings
        .iter()
        .filter(|o| o.score >= s.min_score)
        .collect();
    let min_views = s.min_views.max(2);
    for size in (min_views..=usable.len()).rev() {
        let mut best: Option<Joint3d> = None;
        for subset in subsets(usable.len(), size) {
            let chosen: Vec<&Sighting> = subset.iter().map(|&i| usable[i]).collect();
            let Some(joint) = fit(rig, &chosen, s.max_reprojection_px) else {
                continue;
            };
            if best.as_ref().is_none_or(|b| joint.error_px < b.error_px) {
                best = Some(joint);
            }
        }
        if best.is_some() {
            return best;
        }
    }
    None
}

/// The point of these views, if each of them reprojects within `limit`.
fn fit(rig: &Rig, chosen: &[&Sighting], limit: f64) -> Option<Joint3d> {
    let point = dlt(rig, chosen)?;
    let mut total = 0.0;
    for o in chosen {
        let e = reprojection_px(rig, o, &point)?;
        if e > limit {
            return None;
        }
        total += e;
    }
    let mut views: Vec<usize> = chosen.iter().map(|o| o.view).collect();
    views.sort_unstable();
    Some(Joint3d {
        point,
        error_px: total / chosen.len() as f64,
        views,
    })
}

/// Every subset of `size` indices out of `n`, in lexicographic order.
fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(size);
    fn walk(
        start: usize,
        n: usize,
        size: usize,
        current: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if current.len() == size {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            if n - i < size - current.len() {
                break;
            }
            current.push(i);
            walk(i + 1, n, size, current, out);
            current.pop();
        }
    }
    walk(0, n, size, &mut current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiview::camera::Lens;
    use crate::multiview::synthetic::ring;

    fn sight(rig: &Rig, view: usize, p: &Point3<f64>, offset: [f64; 2]) -> Sighting {
        let px = rig.cameras[view].project(p).expect("visible");
        let pixel = [px[0] + offset[0], px[1] + offset[1]];
        Sighting {
            view,
            pixel,
            ray: rig.cameras[view].normalise(pixel),
            score: 0.8,
        }
    }

    #[test]
    fn an_outlier_view_is_dropped_and_one_view_never_gives_a_point() {
        let rig = ring(
            4,
            Lens::Standard {
                k: [-0.05, 0.14, 0.0],
                p: [0.0006, 0.0007],
            },
        );
        let p = Point3::new(0.3, -0.2, 1.2);
        let s = TriangulationSettings::default();
        let mut obs: Vec<Sighting> = (0..4).map(|v| sight(&rig, v, &p, [0.5, -0.5])).collect();
        let j = triangulate(&rig, &obs, &s).expect("four views");
        assert!((j.point - p).norm() < 2e-3, "{:?}", j.point);
        assert_eq!(j.views, vec![0, 1, 2, 3]);
        obs[2] = sight(&rig, 2, &p, [60.0, 10.0]);
        let j = triangulate(&rig, &obs, &s).expect("three agree");
        assert_eq!(j.views, vec![0, 1, 3]);
        assert!((j.point - p).norm() < 2e-3);
        assert!(triangulate(&rig, &obs[..1], &s).is_none());
        assert_eq!(subsets(4, 2).len(), 6);
    }
}
