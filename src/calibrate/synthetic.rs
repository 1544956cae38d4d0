//! Pictures of a checkerboard taken by a known camera, for the tests and the benchmark: what the lens
//! solve must give back. Each pixel is the board's colour where its ray (through posecam's own lens
//! model) meets the board's plane, averaged over 3×3 samples so corners fall between pixels.

use image::GrayImage;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};

use super::board::Board;
use crate::multiview::Camera;

/// The board `distance` metres ahead, its centre on the axis shifted by `offset` (metres), turned by
/// `tilt` radians about the camera's x and y axes: board to camera.
pub fn board_pose(
    board: &Board,
    distance: f64,
    offset: [f64; 2],
    tilt: [f64; 2],
) -> Isometry3<f64> {
    let half = Vector3::new(
        f64::from(board.cols - 1) * board.square_m / 2.0,
        f64::from(board.rows - 1) * board.square_m / 2.0,
        0.0,
    );
    let turn = UnitQuaternion::from_euler_angles(tilt[0], tilt[1], 0.0);
    let centre = Vector3::new(offset[0], offset[1], distance);
    Isometry3::from_parts(Translation3::from(centre - turn * half), turn)
}

/// What `camera` sees of `board` placed by `pose` (board to camera): white paper one square wide
/// around the squares, grey beyond.
pub fn board_picture(camera: &Camera, board: &Board, pose: &Isometry3<f64>) -> GrayImage {
    let inverse = pose.inverse();
    let [w, h] = camera.size;
    GrayImage::from_fn(w, h, |u, v| {
        let mut sum = 0.0;
        for dy in [-1.0, 0.0, 1.0] {
            for dx in [-1.0, 0.0, 1.0] {
                let pixel = [f64::from(u) + dx / 3.0, f64::from(v) + dy / 3.0];
                sum += shade(camera, board, &inverse, pixel);
            }
        }
        image::Luma([(sum / 9.0).round() as u8])
    })
}

fn shade(camera: &Camera, board: &Board, to_board: &Isometry3<f64>, pixel: [f64; 2]) -> f64 {
    const PAPER: f64 = 235.0;
    const INK: f64 = 25.0;
    const BACKDROP: f64 = 120.0;
    let [x, y] = camera.normalise(pixel);
    let origin = to_board * Point3::origin();
    let ray = to_board * Vector3::new(x, y, 1.0);
    if ray.z.abs() < 1e-12 {
        return BACKDROP;
    }
    let s = -origin.z / ray.z;
    if s <= 0.0 {
        return BACKDROP;
    }
    let q = board.square_m;
    let (bx, by) = ((origin.x + s * ray.x) / q, (origin.y + s * ray.y) / q);
    let (cols, rows) = (f64::from(board.cols), f64::from(board.rows));
    let squares = bx >= -1.0 && bx < cols && by >= -1.0 && by < rows;
    let paper = bx >= -2.0 && bx < cols + 1.0 && by >= -2.0 && by < rows + 1.0;
    if squares {
        if (bx.floor() as i64 + by.floor() as i64).rem_euclid(2) == 0 {
            INK
        } else {
            PAPER
        }
    } else if paper {
        PAPER
    } else {
        BACKDROP
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::board::{find, Miss};
    use crate::calibrate::lens::{calibrate, LensError, LensOptions};
    use crate::multiview::Lens;
    use nalgebra::{Matrix3, Rotation3};

    fn camera() -> Camera {
        Camera {
            name: "known".into(),
            size: [800, 600],
            matrix: Matrix3::new(820.0, 0.0, 410.0, 0.0, 818.0, 292.0, 0.0, 0.0, 1.0),
            lens: Lens::Standard {
                k: [-0.21, 0.09, 0.0],
                p: [0.0012, -0.0008],
            },
            rotation: Rotation3::identity(),
            translation: Vector3::zeros(),
        }
    }

    fn poses(board: &Board) -> Vec<Isometry3<f64>> {
        let t = 0.45;
        [
            (0.9, [0.0, 0.0], [0.0, 0.0]),
            (1.0, [-0.2, -0.12], [t, 0.2]),
            (0.9, [0.2, 0.12], [-0.3, -t]),
            (1.1, [0.18, -0.15], [0.25, t]),
            (0.8, [-0.15, 0.12], [-t, 0.3]),
            (1.2, [0.05, 0.0], [0.1, -0.5]),
            (0.8, [-0.08, -0.08], [0.5, -0.35]),
            (0.9, [0.22, -0.05], [-0.5, 0.1]),
        ]
        .iter()
        .map(|&(d, o, tilt)| board_pose(board, d, o, tilt))
        .collect()
    }

    #[test]
    fn a_known_lens_comes_back_from_its_board_pictures() {
        let (truth, board) = (camera(), Board::parse("9x6", "60mm").unwrap());
        let views: Vec<_> = poses(&board)
            .iter()
            .map(|p| find(&board, &board_picture(&truth, &board, p)).expect("board found"))
            .collect();
        let fit = calibrate("known", truth.size, &views, LensOptions::default()).unwrap();
        let (m, t) = (&fit.camera.matrix, &truth.matrix);
        for (r, c) in [(0, 0), (1, 1)] {
            assert!(
                (m[(r, c)] / t[(r, c)] - 1.0).abs() < 0.005,
                "{m} against {t}"
            );
        }
        for (r, c) in [(0, 2), (1, 2)] {
            assert!((m[(r, c)] - t[(r, c)]).abs() < 3.0, "{m} against {t}");
        }
        let (Lens::Standard { k, .. }, Lens::Standard { k: k0, .. }) =
            (fit.camera.lens, truth.lens)
        else {
            unreachable!()
        };
        assert!(
            (k[0] - k0[0]).abs() < 0.02 && (k[1] - k0[1]).abs() < 0.05,
            "{k:?}"
        );
        assert!(fit.rms < 0.3, "rms {}", fit.rms);
        assert!(fit.views.iter().all(|v| !v.outlier));
    }

    #[test]
    fn too_few_views_and_no_board_are_reasons_not_lenses() {
        let (truth, board) = (camera(), Board::parse("9x6", "60mm").unwrap());
        let views: Vec<_> = poses(&board)[..2]
            .iter()
            .map(|p| find(&board, &board_picture(&truth, &board, p)).unwrap())
            .collect();
        let err = calibrate("known", truth.size, &views, LensOptions::default()).unwrap_err();
        assert_eq!(err, LensError::TooFewViews { usable: 2 });
        let blank = GrayImage::from_pixel(320, 240, image::Luma([128]));
        assert_eq!(find(&board, &blank), Err(Miss::NotFound));
        let small = Board::parse("3x3", "40mm").unwrap();
        let picture = board_picture(&truth, &board, &poses(&board)[0]);
        assert!(matches!(
            find(&small, &picture),
            Err(Miss::NotThisBoard { .. })
        ));
    }
}
