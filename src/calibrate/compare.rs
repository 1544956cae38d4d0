//! One calibration against another of the same cameras: the similarity that best lays one on the
//! other (the rotation agreeing best with every camera's orientation, then the scale and shift that
//! best lay the centres), then each camera's remaining distance and rotation. How a rig solved from people is judged against a lab's.

use nalgebra::{Matrix3, Point3, Vector3};

use crate::multiview::Camera;

/// How far one camera is from its reference, after the alignment.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraDifference {
    pub name: String,
    /// Between the centres, in the reference's units (metres).
    pub centre_m: f64,
    /// The same, as a share of the rig's size (the largest distance between two reference cameras).
    pub centre_share: f64,
    /// The angle of the rotation between the two orientations.
    pub rotation_deg: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The scale taking the estimate's units to the reference's (1 for a rig in metres that agrees).
    pub scale: f64,
    pub rig_size_m: f64,
    pub cameras: Vec<CameraDifference>,
}

/// `estimate` against `reference`, camera by camera in the same order; `None` for fewer than 2
/// cameras, different counts, or cameras all at one place.
pub fn compare(estimate: &[Camera], reference: &[Camera]) -> Option<Comparison> {
    if estimate.len() != reference.len() || estimate.len() < 2 {
        return None;
    }
    let src: Vec<Point3<f64>> = estimate.iter().map(Camera::centre).collect();
    let dst: Vec<Point3<f64>> = reference.iter().map(Camera::centre).collect();
    let (scale, rotation, shift) = similarity(&src, &dst)?;
    let rotation = mean_rotation(estimate, reference).unwrap_or(rotation);
    let (scale, shift) = scale_and_shift(&src, &dst, &rotation).unwrap_or((scale, shift));
    let rig_size_m = dst
        .iter()
        .flat_map(|a| dst.iter().map(move |b| (a - b).norm()))
        .fold(0.0, f64::max);
    let cameras = estimate
        .iter()
        .zip(reference)
        .map(|(e, r)| {
            let centre = rotation * e.centre().coords * scale + shift;
            let centre_m = (centre - r.centre().coords).norm();
            let oriented = e.rotation.matrix() * rotation.transpose();
            let between = r.rotation.matrix() * oriented.transpose();
            let cos = ((between.trace() - 1.0) / 2.0).clamp(-1.0, 1.0);
            CameraDifference {
                name: r.name.clone(),
                centre_m,
                centre_share: centre_m / rig_size_m.max(1e-12),
                rotation_deg: cos.acos().to_degrees(),
            }
        })
        .collect();
    Some(Comparison {
        scale,
        rig_size_m,
        cameras,
    })
}

/// The rotation taking the estimate's world to the reference's that best agrees with every
/// camera's orientation (the chordal mean of `R_refᵀ R_est`): centres alone tilt the alignment by
/// their errors over the rig's size, which would show as every camera's rotation error.
fn mean_rotation(estimate: &[Camera], reference: &[Camera]) -> Option<Matrix3<f64>> {
    let sum: Matrix3<f64> = estimate
        .iter()
        .zip(reference)
        .map(|(e, r)| r.rotation.matrix().transpose() * e.rotation.matrix())
        .sum();
    let svd = sum.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let mut flip = Matrix3::identity();
    if (u * v_t).determinant() < 0.0 {
        flip[(2, 2)] = -1.0;
    }
    Some(u * flip * v_t)
}

/// The least-squares scale and shift with the rotation given.
fn scale_and_shift(
    src: &[Point3<f64>],
    dst: &[Point3<f64>],
    rotation: &Matrix3<f64>,
) -> Option<(f64, Vector3<f64>)> {
    let n = src.len() as f64;
    let ms: Vector3<f64> = src.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n;
    let md: Vector3<f64> = dst.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let rs = rotation * (s.coords - ms);
        num += rs.dot(&(d.coords - md));
        den += rs.norm_squared();
    }
    (den > 1e-18).then(|| {
        let scale = num / den;
        (scale, md - rotation * ms * scale)
    })
}

/// Umeyama's least-squares similarity `dst ≈ s R src + t`.
pub fn similarity(
    src: &[Point3<f64>],
    dst: &[Point3<f64>],
) -> Option<(f64, Matrix3<f64>, Vector3<f64>)> {
    let n = src.len() as f64;
    let ms: Vector3<f64> = src.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n;
    let md: Vector3<f64> = dst.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n;
    let cov: Matrix3<f64> = src
        .iter()
        .zip(dst)
        .map(|(s, d)| (d.coords - md) * (s.coords - ms).transpose())
        .sum::<Matrix3<f64>>()
        / n;
    let var: f64 = src
        .iter()
        .map(|s| (s.coords - ms).norm_squared())
        .sum::<f64>()
        / n;
    if var < 1e-18 {
        return None;
    }
    let svd = cov.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let mut flip = Matrix3::identity();
    if u.determinant() * v_t.determinant() < 0.0 {
        flip[(2, 2)] = -1.0;
    }
    let rotation = u * flip * v_t;
    let scale = (Matrix3::from_diagonal(&svd.singular_values) * flip).trace() / var;
    let shift = md - rotation * ms * scale;
    Some((scale, rotation, shift))
}
