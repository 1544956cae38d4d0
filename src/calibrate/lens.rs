//! A lens from board views: Zhang's closed form with iterated distortion (vision-calibration-linear),
//! refined by one non-linear solve of the intrinsics, the distortion and every board pose
//! (vision-calibration-optim). Each view's error is then measured through posecam's own camera
//! model, so what is reported is what the 3D code will see; views far worse than the rest are
//! dropped once and the lens solved again.

use nalgebra::{Matrix3, Point3, Rotation3, Vector3};
use vision_calibration_core::{
    BrownConrady5, CameraFix, CorrespondenceView, DistortionParams, Iso3, Mat3, PlanarDataset, Pt2,
    Pt3, View,
};
use vision_calibration_linear::prelude::{
    dlt_homography, estimate_intrinsics_iterative, estimate_planar_pose_from_h,
    IterativeIntrinsicsOptions,
};
use vision_calibration_optim::{
    optimize_planar_intrinsics, BackendSolveOptions, PlanarIntrinsicsParams,
    PlanarIntrinsicsSolveOptions,
};

use super::board::BoardView;
use crate::multiview::{Camera, Lens};

/// Fewer views leave the intrinsics undetermined (Zhang's method).
pub const MIN_VIEWS: usize = 3;

#[derive(Debug, Clone, Copy, Default)]
pub struct LensOptions {
    /// Solve `k3` too (wide lenses); otherwise it stays 0, as OpenCV users usually fix it.
    pub k3: bool,
}

/// The solved lens and how well each view agrees with it.
#[derive(Debug, Clone)]
pub struct LensFit {
    /// At the origin, looking along +z: only its matrix and lens are measured.
    pub camera: Camera,
    /// Per input view: its RMS reprojection error in pixels, and whether it was left out as an
    /// outlier (then the error is from the first solve).
    pub views: Vec<ViewFit>,
    /// Over every corner of the views used.
    pub rms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewFit {
    pub rms: f64,
    pub outlier: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LensError {
    #[error("{usable} usable views of the board; a lens needs at least {MIN_VIEWS}")]
    TooFewViews { usable: usize },
    #[error("the lens could not be solved: {0}")]
    Solve(String),
}

/// The lens of camera `name` (pictures `size` pixels) from its views of a board.
pub fn calibrate(
    name: &str,
    size: [u32; 2],
    views: &[BoardView],
    opts: LensOptions,
) -> Result<LensFit, LensError> {
    let all: Vec<usize> = (0..views.len()).collect();
    let (camera, first) = solve_views(name, size, views, &all, opts)?;
    let median = median(&first);
    let outlier = |e: f64| e > (3.0 * median).max(1.0);
    let kept: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| !outlier(first[i]))
        .collect();
    let (camera, errors) = if kept.len() < views.len() && kept.len() >= MIN_VIEWS {
        solve_views(name, size, views, &kept, opts)?
    } else {
        (camera, first.clone())
    };
    let used: Vec<usize> = if kept.len() >= MIN_VIEWS { kept } else { all };
    let mut fits: Vec<ViewFit> = first
        .iter()
        .map(|&rms| ViewFit { rms, outlier: true })
        .collect();
    for (&i, &rms) in used.iter().zip(&errors) {
        fits[i] = ViewFit {
            rms,
            outlier: false,
        };
    }
    let corners: usize = used.iter().map(|&i| views[i].len()).sum();
    let squares: f64 = used
        .iter()
        .zip(&errors)
        .map(|(&i, e)| e * e * views[i].len() as f64)
        .sum();
    Ok(LensFit {
        camera,
        views: fits,
        rms: (squares / corners.max(1) as f64).sqrt(),
    })
}

/// One solve over `chosen` views: the camera and each chosen view's RMS error, in `chosen`'s order.
fn solve_views(
    name: &str,
    size: [u32; 2],
    views: &[BoardView],
    chosen: &[usize],
    opts: LensOptions,
) -> Result<(Camera, Vec<f64>), LensError> {
    if chosen.len() < MIN_VIEWS {
        return Err(LensError::TooFewViews {
            usable: chosen.len(),
        });
    }
    let solve = |e: &dyn std::fmt::Display| LensError::Solve(e.to_string());
    let dataset = dataset(views, chosen).map_err(|e| solve(&e))?;
    let mut init_opts = IterativeIntrinsicsOptions::default();
    init_opts.distortion_opts.fix_k3 = !opts.k3;
    let start = estimate_intrinsics_iterative(&dataset, init_opts).map_err(|e| solve(&e))?;
    let k = Mat3::new(
        start.k.fx, 0.0, start.k.cx, 0.0, start.k.fy, start.k.cy, 0.0, 0.0, 1.0,
    );
    let poses = dataset
        .views
        .iter()
        .map(|v| {
            let board: Vec<Pt2> = v.obs.points_3d.iter().map(|p| Pt2::new(p.x, p.y)).collect();
            let h = dlt_homography(&board, &v.obs.points_2d).map_err(|e| solve(&e))?;
            estimate_planar_pose_from_h(&k, &h).map_err(|e| solve(&e))
        })
        .collect::<Result<Vec<Iso3>, LensError>>()?;
    let initial = PlanarIntrinsicsParams::new_from_components(start.k, start.dist, poses)
        .map_err(|e| solve(&e))?;
    let mut solve_opts = PlanarIntrinsicsSolveOptions::default();
    if opts.k3 {
        solve_opts.fix = CameraFix {
            distortion: Some(Vec::new()),
            ..CameraFix::default()
        };
    }
    let backend = BackendSolveOptions {
        max_iters: 100,
        ..BackendSolveOptions::default()
    };
    let solved = optimize_planar_intrinsics(&dataset, &initial, solve_opts, backend)
        .map_err(|e| solve(&e))?;
    let camera = to_camera(name, size, &solved.params)?;
    let errors = chosen
        .iter()
        .zip(&solved.params.camera_se3_target)
        .map(|(&i, pose)| view_rms(&camera, pose, &views[i]))
        .collect();
    Ok((camera, errors))
}

fn dataset(
    views: &[BoardView],
    chosen: &[usize],
) -> Result<PlanarDataset, vision_calibration_core::Error> {
    let views = chosen
        .iter()
        .map(|&i| {
            let v = &views[i];
            let board = v.points.iter().map(|p| Pt3::new(p[0], p[1], 0.0)).collect();
            let pixels = v.pixels.iter().map(|p| Pt2::new(p[0], p[1])).collect();
            CorrespondenceView::new(board, pixels).map(View::without_meta)
        })
        .collect::<Result<Vec<_>, _>>()?;
    PlanarDataset::new(views)
}

fn to_camera(
    name: &str,
    size: [u32; 2],
    params: &PlanarIntrinsicsParams,
) -> Result<Camera, LensError> {
    let k = params.camera.intrinsics;
    let DistortionParams::BrownConrady5 { params: d } = params.camera.distortion else {
        return Err(LensError::Solve(
            "the solver returned another distortion model".into(),
        ));
    };
    let BrownConrady5 {
        k1, k2, k3, p1, p2, ..
    } = d;
    Ok(Camera {
        name: name.to_string(),
        size,
        matrix: Matrix3::new(k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0),
        lens: Lens::Standard {
            k: [k1, k2, k3],
            p: [p1, p2],
        },
        rotation: Rotation3::identity(),
        translation: Vector3::zeros(),
    })
}

/// RMS pixel error of one view, its board placed by `pose` (board to camera).
fn view_rms(camera: &Camera, pose: &Iso3, view: &BoardView) -> f64 {
    let squares: f64 = view
        .points
        .iter()
        .zip(&view.pixels)
        .map(|(b, px)| {
            let p = pose * Point3::new(b[0], b[1], 0.0);
            camera.pixel_error(*px, &p).map_or(1e6, |e| e * e)
        })
        .sum();
    (squares / view.len().max(1) as f64).sqrt()
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
