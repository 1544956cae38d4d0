//! Known rigs and people walking in front of them (1.5 px of noise per keypoint): the rig comes
//! back, in metres and on the floor, and each way a rig cannot be solved says so.

use nalgebra::Point3;

use super::{solve, PeopleRigError, PeopleRigSettings, RigFit, Scale};
use crate::calibrate::compare::compare;
use crate::multiview::camera::{Camera, Lens};
use crate::multiview::scene::{frame_sets, ViewClip};
use crate::multiview::synthetic::{body, filmed_walkers, look_from, ring};
use crate::multiview::Rig;
use crate::pose::COCO18;

const LENS: Lens = Lens::Standard {
    k: [-0.05, 0.11, 0.0],
    p: [0.0006, -0.0004],
};

/// The cameras with their lenses only (all at the origin, as `calib intrinsics` writes them).
fn lenses(rig: &Rig) -> Vec<Camera> {
    rig.cameras
        .iter()
        .map(|c| Camera {
            rotation: nalgebra::Rotation3::identity(),
            translation: nalgebra::Vector3::zeros(),
            ..c.clone()
        })
        .collect()
}

fn run(rig: &Rig, clips: &[ViewClip], scale: Scale) -> Result<RigFit, PeopleRigError> {
    let times: Vec<Vec<f64>> = clips.iter().map(|c| c.times.clone()).collect();
    let sets = frame_sets(&times, &vec![0.0; clips.len()]);
    let lenses = lenses(rig);
    solve(
        &lenses,
        clips,
        &sets,
        &COCO18,
        scale,
        &PeopleRigSettings::default(),
    )
}

/// The synthetic body's ankle-to-shoulder chain over Winter's share: the height the solve should
/// measure.
fn synthetic_height() -> f64 {
    let b = body(Point3::origin(), 0.0);
    let part = |n: &str| b[COCO18.parts.iter().position(|p| p.name == n).expect("part")];
    let chain = [
        part("right_ankle"),
        part("right_knee"),
        part("right_hip"),
        part("right_shoulder"),
    ];
    chain.windows(2).map(|w| (w[1] - w[0]).norm()).sum::<f64>() / 0.779
}

#[test]
fn a_ring_of_four_comes_back_in_metres_on_the_floor() {
    let rig = ring(4, LENS);
    let clips = filmed_walkers(&rig, 2, 120);
    let fit = run(&rig, &clips, Scale::Height(synthetic_height())).expect("solved");
    let c = compare(&fit.cameras, &rig.cameras).expect("comparable");
    for d in &c.cameras {
        assert!(d.centre_share < 0.01, "{d:?}");
        assert!(d.rotation_deg < 0.5, "{d:?}");
    }
    assert!((c.scale - 1.0).abs() < 0.03, "scale {}", c.scale);
    // Z up, feet on the floor: the cameras stand 1.5 m above it.
    for cam in &fit.cameras {
        let z = cam.centre().z;
        assert!((z - 1.5).abs() < 0.06, "{} at {z:.3} m", cam.name);
    }
    assert!(fit.world.floor_from_feet);
    for e in &fit.errors {
        assert!(e.median_px < 2.0 && e.joints > 1000, "{e:?}");
    }
}

#[test]
fn a_known_distance_sets_the_scale() {
    let rig = ring(3, LENS);
    let clips = filmed_walkers(&rig, 2, 90);
    let metres = (rig.cameras[0].centre() - rig.cameras[2].centre()).norm();
    let scale = Scale::Distance {
        cameras: [0, 2],
        metres,
    };
    let fit = run(&rig, &clips, scale).expect("solved");
    let c = compare(&fit.cameras, &rig.cameras).expect("comparable");
    assert!((c.scale - 1.0).abs() < 0.01, "scale {}", c.scale);
    assert!(c.cameras.iter().all(|d| d.centre_share < 0.01), "{c:?}");
}

#[test]
fn a_camera_that_sees_nobody_the_others_see_is_named() {
    let rig = ring(3, LENS);
    let mut clips = filmed_walkers(&rig, 2, 60);
    clips[2].people.iter_mut().for_each(Vec::clear);
    let err = run(&rig, &clips, Scale::Height(1.7)).expect_err("camera 3 is blind");
    assert!(
        matches!(&err, PeopleRigError::NoOverlap { camera, .. } if camera == "cam03"),
        "{err}"
    );
}

#[test]
fn videos_out_of_step_are_called_unsynchronised() {
    let rig = ring(3, LENS);
    let mut clips = filmed_walkers(&rig, 2, 150);
    // View 2's pictures are 1 s late.
    clips[1].people.rotate_left(30);
    let err = run(&rig, &clips, Scale::Height(1.7)).expect_err("out of step");
    assert!(
        matches!(&err, PeopleRigError::Unsynchronised { camera, .. }
            | PeopleRigError::OutOfStep { camera, .. } if camera == "cam02"),
        "{err}"
    );
    assert!(err.to_string().contains("out of step"), "{err}");
}

#[test]
fn people_who_stand_still_are_too_little_to_go_on() {
    let rig = ring(3, LENS);
    let mut clips = filmed_walkers(&rig, 2, 60);
    for clip in &mut clips {
        let first = clip.people[0].clone();
        clip.people.iter_mut().for_each(|p| *p = first.clone());
    }
    let err = run(&rig, &clips, Scale::Height(1.7)).expect_err("nobody moved");
    assert!(matches!(err, PeopleRigError::StoodStill(..)), "{err}");
}

#[test]
fn two_cameras_at_one_place_have_no_baseline() {
    let here = Point3::new(4.0, 0.0, 1.5);
    let cameras = vec![
        look_from("cam01", here, Point3::new(0.0, 0.0, 1.0), LENS),
        look_from("cam02", here, Point3::new(0.0, 0.3, 0.9), LENS),
    ];
    let rig = Rig::new(cameras).expect("rig");
    let clips = filmed_walkers(&rig, 2, 90);
    let err = run(&rig, &clips, Scale::Height(1.7)).expect_err("one place");
    assert!(matches!(err, PeopleRigError::NoBaseline(..)), "{err}");
}

#[test]
fn fewer_than_two_cameras_or_a_fisheye_are_refused() {
    let rig = ring(2, Lens::Fisheye([0.01, 0.0, 0.0, 0.0]));
    let clips = filmed_walkers(&rig, 1, 10);
    let err = run(&rig, &clips, Scale::Height(1.7)).expect_err("fisheye");
    assert!(matches!(err, PeopleRigError::Fisheye(_)), "{err}");
    let lenses = lenses(&ring(2, LENS));
    let err = solve(
        &lenses[..1],
        &[],
        &[],
        &COCO18,
        Scale::Height(1.7),
        &PeopleRigSettings::default(),
    )
    .expect_err("one camera");
    assert_eq!(err, PeopleRigError::TooFewCameras(1));
}
