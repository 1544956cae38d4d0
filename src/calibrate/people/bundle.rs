//! Bundle adjustment: every camera's pose (but the reference's, which fixes the frame) and every
//! joint, moved together to bring each joint's projection onto where each view detected it. A Cauchy
//! loss keeps a wrong match or a misplaced keypoint from pulling the rig. tiny-solver does the
//! Levenberg–Marquardt steps on the sparse system, with derivatives by automatic differentiation.

use std::collections::HashMap;

use nalgebra::{DVector, Matrix3, Point3, RealField, Rotation3, Vector3};
use tiny_solver::factors::Factor;
use tiny_solver::loss_functions::CauchyLoss;
use tiny_solver::optimizer::Optimizer;
use tiny_solver::{LevenbergMarquardtOptimizer, OptimizerOptions, Problem};

use super::initial::{Pose, Track};
use crate::multiview::camera::{Camera, Lens, Xy};

/// The lens and intrinsics of one camera, and a detected pixel.
#[derive(Debug, Clone, Copy)]
struct Pixel {
    /// fx, fy, cx, cy, skew.
    k: [f64; 5],
    /// k1 k2 k3, p1 p2.
    radial: [f64; 3],
    tangential: [f64; 2],
    observed: Xy,
}

impl Pixel {
    fn new(camera: &Camera, observed: Xy) -> Self {
        let m = &camera.matrix;
        let (radial, tangential) = match camera.lens {
            Lens::Standard { k, p } => (k, p),
            // Refused before a bundle is built (see `RigFromPeopleError::Fisheye`).
            Lens::Fisheye(_) => ([0.0; 3], [0.0; 2]),
        };
        Self {
            k: [m[(0, 0)], m[(1, 1)], m[(0, 2)], m[(1, 2)], m[(0, 1)]],
            radial,
            tangential,
            observed,
        }
    }

    /// Projection minus detection, pixels, of a point in the camera's frame.
    fn residual<T: RealField>(&self, p: Vector3<T>) -> DVector<T> {
        let c = |v: f64| T::from_f64(v).expect("f64 is a real");
        let z = if p.z < c(1e-6) { c(1e-6) } else { p.z.clone() };
        let (x, y) = (p.x.clone() / z.clone(), p.y.clone() / z);
        let r2 = x.clone() * x.clone() + y.clone() * y.clone();
        let [k1, k2, k3] = self.radial.map(c);
        let [p1, p2] = self.tangential.map(c);
        let radial = c(1.0) + r2.clone() * (k1 + r2.clone() * (k2 + r2.clone() * k3));
        let two = c(2.0);
        let xd = x.clone() * radial.clone()
            + two.clone() * p1.clone() * x.clone() * y.clone()
            + p2.clone() * (r2.clone() + two.clone() * x.clone() * x.clone());
        let yd =
            y.clone() * radial + p1 * (r2 + two.clone() * y.clone() * y.clone()) + two * p2 * x * y;
        let [fx, fy, cx, cy, skew] = self.k.map(c);
        let u = fx * xd + skew * yd.clone() + cx;
        let v = fy * yd + cy;
        DVector::from_vec(vec![u - c(self.observed[0]), v - c(self.observed[1])])
    }
}

/// A sighting by a camera whose pose is solved: parameters `[w t]` (rotation `exp(w) R0`) and the
/// joint.
struct Moving {
    start: Matrix3<f64>,
    pixel: Pixel,
}

impl<T: RealField> Factor<T> for Moving {
    fn residual_func(&self, params: &[DVector<T>]) -> DVector<T> {
        let (pose, point) = (&params[0], &params[1]);
        let w = Vector3::new(pose[0].clone(), pose[1].clone(), pose[2].clone());
        let t = Vector3::new(pose[3].clone(), pose[4].clone(), pose[5].clone());
        let x = Vector3::new(point[0].clone(), point[1].clone(), point[2].clone());
        let start = self.start.map(|v| T::from_f64(v).expect("f64 is a real"));
        self.pixel.residual(exp_so3(&w) * (start * x) + t)
    }
}

/// A sighting by the reference camera (pose fixed): the only parameter is the joint.
struct Fixed {
    pixel: Pixel,
}

impl<T: RealField> Factor<T> for Fixed {
    fn residual_func(&self, params: &[DVector<T>]) -> DVector<T> {
        let p = &params[0];
        self.pixel
            .residual(Vector3::new(p[0].clone(), p[1].clone(), p[2].clone()))
    }
}

/// Rodrigues' formula, first order near zero (where the derivative is all that matters).
fn exp_so3<T: RealField>(w: &Vector3<T>) -> Matrix3<T> {
    let c = |v: f64| T::from_f64(v).expect("f64 is a real");
    let k = Matrix3::new(
        c(0.0),
        -w.z.clone(),
        w.y.clone(),
        w.z.clone(),
        c(0.0),
        -w.x.clone(),
        -w.y.clone(),
        w.x.clone(),
        c(0.0),
    );
    let theta2 = w.dot(w);
    if theta2 < c(1e-12) {
        return Matrix3::identity() + k;
    }
    let theta = theta2.clone().sqrt();
    let a = theta.clone().sin() / theta.clone();
    let b = (c(1.0) - theta.cos()) / theta2;
    Matrix3::identity() + k.clone() * a + (k.clone() * k) * b
}

/// The bundle's scale is free (any size of rig fits the pixels as well): the largest coordinate of
/// the camera farthest from the reference is held, so each step has one answer.
fn fix_scale(problem: &mut Problem, poses: &[Pose], reference: usize) {
    let farthest = (0..poses.len())
        .filter(|&k| k != reference)
        .max_by(|&a, &b| {
            poses[a]
                .translation
                .norm()
                .total_cmp(&poses[b].translation.norm())
        });
    if let Some(k) = farthest {
        let t = poses[k].translation;
        let axis = t.iamax();
        problem.fix_variable(&format!("c{k}"), 3 + axis);
    }
}

/// How the solve is weighed and bounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BundleSettings {
    /// The Cauchy loss's scale: misses beyond this many pixels count less and less.
    pub robust_px: f64,
    pub iterations: usize,
}

impl Default for BundleSettings {
    fn default() -> Self {
        Self {
            robust_px: 4.0,
            iterations: 60,
        }
    }
}

/// Solves poses and joints in place; `None` if the solver fails.
pub fn adjust(
    lenses: &[Camera],
    reference: usize,
    poses: &mut [Pose],
    tracks: &mut [Track],
    settings: &BundleSettings,
) -> Option<()> {
    let mut problem = Problem::new();
    let mut initial: HashMap<String, DVector<f64>> = HashMap::new();
    for (k, pose) in poses.iter().enumerate() {
        if k != reference {
            let t = pose.translation;
            initial.insert(
                format!("c{k}"),
                DVector::from_vec(vec![0.0, 0.0, 0.0, t.x, t.y, t.z]),
            );
        }
    }
    for (n, track) in tracks.iter().enumerate() {
        let name = format!("p{n}");
        initial.insert(
            name.clone(),
            DVector::from_column_slice(track.point.coords.as_slice()),
        );
        for (view, obs) in &track.sightings {
            let pixel = Pixel::new(&lenses[*view], obs.pixel);
            let loss = Some(Box::new(CauchyLoss::new(settings.robust_px)) as _);
            if *view == reference {
                problem.add_residual_block(2, &[&name], Box::new(Fixed { pixel }), loss);
            } else {
                let start = *poses[*view].rotation.matrix();
                let camera = format!("c{view}");
                problem.add_residual_block(
                    2,
                    &[&camera, &name],
                    Box::new(Moving { start, pixel }),
                    loss,
                );
            }
        }
    }
    fix_scale(&mut problem, poses, reference);
    let options = OptimizerOptions {
        max_iteration: settings.iterations,
        ..OptimizerOptions::default()
    };
    let solved =
        LevenbergMarquardtOptimizer::default().optimize(&problem, &initial, Some(options))?;
    for (k, pose) in poses.iter_mut().enumerate() {
        let Some(v) = solved.get(&format!("c{k}")) else {
            continue;
        };
        let w = Vector3::new(v[0], v[1], v[2]);
        pose.rotation = Rotation3::from_matrix(&(exp_so3(&w) * pose.rotation.matrix()));
        pose.translation = Vector3::new(v[3], v[4], v[5]);
    }
    for (n, track) in tracks.iter_mut().enumerate() {
        if let Some(v) = solved.get(&format!("p{n}")) {
            track.point = Point3::new(v[0], v[1], v[2]);
        }
    }
    Some(())
}
