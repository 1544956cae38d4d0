//! Synthetic scenes with a known answer: a ring of portrait cameras and people walking in front of
//! them, projected with the cameras' lenses and a little noise. The geometry tests and `posecam bench
//! --scene` use them, so what is measured is the algorithm, not the network.

use nalgebra::{Matrix3, Point3, Rotation3, Vector3};

use super::camera::{Camera, Lens};
use super::rig::Rig;
use super::scene::{Detection, ViewClip};
use crate::pose::COCO18;

/// `n` cameras on a circle of radius 4 m, 1.5 m up, looking at the origin's vertical (Z up).
pub fn ring(n: usize, lens: Lens) -> Rig {
    let cameras = (0..n)
        .map(|i| {
            let a = i as f64 * std::f64::consts::TAU / n as f64 + 0.3;
            let centre = Point3::new(4.0 * a.cos(), 4.0 * a.sin(), 1.5);
            let target = Point3::new(0.0, 0.0, 1.0);
            look_from(&format!("cam{:02}", i + 1), centre, target, lens)
        })
        .collect();
    Rig::new(cameras).expect("a ring is a rig")
}

/// A portrait 1088×1920 camera at `centre` looking at `target`, Z up in the world.
pub fn look_from(name: &str, centre: Point3<f64>, target: Point3<f64>, lens: Lens) -> Camera {
    let z = (target - centre).normalize();
    let x = z.cross(&Vector3::z()).normalize();
    let y = z.cross(&x);
    let r = Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[
        x.transpose(),
        y.transpose(),
        z.transpose(),
    ]));
    Camera {
        name: name.into(),
        size: [1088, 1920],
        matrix: Matrix3::new(1680.0, 0.0, 540.0, 0.0, 1680.0, 960.0, 0.0, 0.0, 1.0),
        lens,
        translation: -(r * centre.coords),
        rotation: r,
    }
}

/// A standing person facing +x with its feet at `at`, COCO-18 parts (metres, Z up); `phase` swings
/// the arms and legs.
pub fn body(at: Point3<f64>, phase: f64) -> Vec<Point3<f64>> {
    let swing = 0.15 * phase.sin();
    let local = |name: &str| -> [f64; 3] {
        match name {
            "nose" => [0.1, 0.0, 1.62],
            "neck" => [0.0, 0.0, 1.48],
            "right_shoulder" => [0.0, -0.19, 1.45],
            "left_shoulder" => [0.0, 0.19, 1.45],
            "right_elbow" => [swing, -0.22, 1.16],
            "left_elbow" => [-swing, 0.22, 1.16],
            "right_wrist" => [1.5 * swing + 0.05, -0.23, 0.9],
            "left_wrist" => [-1.5 * swing + 0.05, 0.23, 0.9],
            "right_hip" => [0.0, -0.1, 0.93],
            "left_hip" => [0.0, 0.1, 0.93],
            "right_knee" => [-swing + 0.03, -0.1, 0.5],
            "left_knee" => [swing + 0.03, 0.1, 0.5],
            "right_ankle" => [-1.5 * swing, -0.1, 0.08],
            "left_ankle" => [1.5 * swing, 0.1, 0.08],
            "right_eye" => [0.08, -0.035, 1.67],
            "left_eye" => [0.08, 0.035, 1.67],
            "right_ear" => [0.0, -0.08, 1.65],
            _ => [0.0, 0.08, 1.65],
        }
    };
    COCO18
        .parts
        .iter()
        .map(|p| at + Vector3::from(local(p.name)))
        .collect()
}

/// Deterministic noise in about ±`amp`.
pub fn noise(seed: u64, amp: f64) -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    ((x % 20001) as f64 / 10000.0 - 1.0) * amp
}

/// What `view` detects of a person at `truth`: each part projected, ±1.5 px of noise, score 0.8, and
/// parts outside the picture missing.
pub fn detect(rig: &Rig, view: usize, truth: &[Point3<f64>], seed: u64) -> Detection {
    let cam = &rig.cameras[view];
    truth
        .iter()
        .enumerate()
        .map(|(part, p)| {
            let [u, v] = cam.project(p)?;
            let s = seed * 100 + part as u64;
            let px = [u + noise(s, 1.5), v + noise(s + 7, 1.5)];
            let inside = px[0] >= 0.0
                && px[1] >= 0.0
                && px[0] < cam.size[0] as f64
                && px[1] < cam.size[1] as f64;
            inside.then_some((px, 0.8))
        })
        .collect()
}

/// `people` people walking on circles of different radii inside the ring, frame `frame` at 30 fps.
pub fn walkers(people: usize, frame: usize) -> Vec<Vec<Point3<f64>>> {
    let t = frame as f64 / 30.0;
    (0..people)
        .map(|i| {
            let r = 0.4 + 1.6 * i as f64 / people.max(1) as f64;
            let a = 0.4 * t * if i % 2 == 0 { 1.0 } else { -1.0 } + i as f64 * 2.4;
            body(
                Point3::new(r * a.cos(), r * a.sin(), 0.0),
                6.0 * t + i as f64,
            )
        })
        .collect()
}

/// Every view's detections of `walkers(people, …)` over `frames` frames, in a different order per view.
pub fn filmed_walkers(rig: &Rig, people: usize, frames: usize) -> Vec<ViewClip> {
    (0..rig.len())
        .map(|v| {
            let mut clip = ViewClip::default();
            for f in 0..frames {
                clip.times.push(f as f64 / 30.0);
                let mut found: Vec<Detection> = walkers(people, f)
                    .iter()
                    .enumerate()
                    .map(|(who, p)| detect(rig, v, p, ((f * 16 + who) * 16 + v) as u64))
                    .collect();
                found.rotate_left(v % people.max(1));
                clip.people.push(found);
            }
            clip
        })
        .collect()
}
