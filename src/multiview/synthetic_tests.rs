//! Known 3D people filmed by four distorting cameras, with what real detections do wrong: noise, a
//! view whose joint is far off, views missing a person, left and right swapped, a bystander only one
//! view sees, and people listed in a different order in each view.

use nalgebra::Point3;

use super::camera::Lens;
use super::rig::Rig;
use super::scene::{frame_sets, reconstruct, SceneSettings, ViewClip};
use super::synthetic::{body, detect, ring};
use crate::pose::COCO18;

const FRAMES: usize = 40;

/// People 0..3 walk; person 3 (the bystander) is seen by view 0 only.
fn truth(frame: usize) -> Vec<Vec<Point3<f64>>> {
    let f = frame as f64;
    vec![
        body(Point3::new(-0.8 + 0.02 * f, -0.5, 0.0), 0.3 * f),
        body(Point3::new(0.6 - 0.02 * f, 0.4, 0.0), 0.3 * f + 1.0),
        body(Point3::new(0.2, -0.9 + 0.01 * f, 0.0), 0.2 * f),
        body(Point3::new(-1.6, 1.2, 0.0), 0.0),
    ]
}

fn views(rig: &Rig) -> Vec<ViewClip> {
    let mirror = COCO18.mirror();
    (0..rig.len())
        .map(|v| {
            let mut clip = ViewClip::default();
            for f in 0..FRAMES {
                clip.times.push(f as f64 / 30.0);
                let mut found = Vec::new();
                for (who, person) in truth(f).iter().enumerate() {
                    if (who == 3 && v != 0) || (who == 2 && v == 1 && (5..10).contains(&f)) {
                        continue;
                    }
                    let mut d = detect(rig, v, person, (f * 10 + who) as u64 * 10 + v as u64);
                    if who == 0 && v == 2 && (10..16).contains(&f) {
                        d = mirror.iter().map(|&m| d[m]).collect();
                    }
                    if who == 1 && v == 3 {
                        if let Some((px, _)) = d[4].as_mut() {
                            px[0] += 90.0;
                        }
                    }
                    found.push(d);
                }
                if v % 2 == 1 {
                    found.reverse();
                }
                clip.people.push(found);
            }
            clip
        })
        .collect()
}

#[test]
fn every_joint_of_every_person_comes_back_and_none_from_one_view() {
    let rig = ring(
        4,
        Lens::Standard {
            k: [-0.047, 0.137, 0.0],
            p: [0.0006, 0.0007],
        },
    );
    let views = views(&rig);
    let times: Vec<Vec<f64>> = views.iter().map(|v| v.times.clone()).collect();
    let settings = SceneSettings {
        min_frames: 5,
        ..Default::default()
    };
    let scene = reconstruct(
        &rig,
        &views,
        frame_sets(&times, &[0.0; 4]),
        &COCO18.mirror(),
        &settings,
    );
    assert_eq!(scene.ids(), vec![1, 2, 3], "three people, no bystander");
    let mut worst: f64 = 0.0;
    let (mut found, mut total) = (0, 0);
    let mut who_is = std::collections::HashMap::new();
    for (f, people) in scene.people.iter().enumerate() {
        assert_eq!(people.len(), 3, "frame {f}");
        let truth = truth(f);
        for p in people {
            // The person this ID is: the truth nearest its neck; the same for the whole clip.
            let neck = p.person.joints[1].as_ref().expect("neck").point;
            let who = (0..3)
                .min_by(|&a, &b| {
                    (truth[a][1] - neck)
                        .norm()
                        .total_cmp(&(truth[b][1] - neck).norm())
                })
                .unwrap();
            assert_eq!(
                *who_is.entry(p.id).or_insert(who),
                who,
                "frame {f}: ID {} changed person",
                p.id
            );
            for (part, j) in p.person.joints.iter().enumerate() {
                total += 1;
                let Some(j) = j else { continue };
                found += 1;
                assert!(j.views.len() >= 2, "a joint from {:?}", j.views);
                worst = worst.max((j.point - truth[who][part]).norm());
            }
        }
    }
    eprintln!(
        "synthetic scene: worst joint {:.1} mm off, {found} of {total} joints",
        worst * 1e3
    );
    assert!(worst < 0.015, "worst joint {worst:.3} m off");
    assert!(
        found as f64 >= 0.99 * total as f64,
        "{found} of {total} joints"
    );
}
