//! Association on maps rendered from known skeletons: the people drawn must come back exactly
//! (same count, same parts, sub-pixel positions).

use posecam::pose::{Associator, Person, Skeleton, Thresholds, BODY25, COCO18};
use posecam::testkit::maps::{render_maps, standing_person_coco18, KnownPose};

/// Tolerance for recovered keypoints, in image pixels.
const TOLERANCE_PX: f32 = 0.6;

fn detect(
    skeleton: &Skeleton,
    people: &[KnownPose],
    size: (u32, u32),
    t: &Thresholds,
) -> Vec<Person> {
    let maps = render_maps(skeleton, people, size, 368);
    Associator::new().run(&maps, skeleton, t)
}

/// Parts of `pose` inside an image of `size`.
fn visible(pose: &KnownPose, size: (u32, u32)) -> KnownPose {
    pose.iter()
        .map(|p| {
            p.filter(|&(x, y)| {
                x >= 0.0 && y >= 0.0 && x <= size.0 as f32 - 1.0 && y <= size.1 as f32 - 1.0
            })
        })
        .collect()
}

/// Every truth matched by exactly one detection with exactly its parts, each within tolerance.
fn assert_same_people(found: &[Person], truth: &[KnownPose]) {
    assert_eq!(found.len(), truth.len(), "people count: found {found:#?}");
    let mut used = vec![false; found.len()];
    for (ti, t) in truth.iter().enumerate() {
        let anchor = t.iter().flatten().next().expect("truth has parts");
        let (di, d) = found
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .min_by(|(_, a), (_, b)| {
                let dist = |p: &Person| {
                    p.keypoints
                        .iter()
                        .zip(t)
                        .filter_map(|(k, q)| Some((k.as_ref()?, q.as_ref()?)))
                        .map(|(k, q)| (k.x - q.0).hypot(k.y - q.1))
                        .fold(f32::INFINITY, f32::min)
                };
                dist(a).total_cmp(&dist(b))
            })
            .unwrap_or_else(|| panic!("no detection left for truth {ti} at {anchor:?}"));
        used[di] = true;
        for (part, (k, q)) in d.keypoints.iter().zip(t).enumerate() {
            match (k, q) {
                (Some(k), Some(q)) => {
                    let err = (k.x - q.0).hypot(k.y - q.1);
                    assert!(
                        err < TOLERANCE_PX,
                        "truth {ti} part {part}: {k:?} vs {q:?} ({err:.2} px)"
                    );
                    assert!(k.score > 0.9, "truth {ti} part {part}: score {}", k.score);
                }
                (None, None) => {}
                _ => panic!("truth {ti} part {part}: found {k:?}, expected {q:?}"),
            }
        }
    }
}

#[test]
fn one_person_comes_back_exactly() {
    let size = (640, 480);
    let truth = vec![standing_person_coco18(321.3, 130.7, 280.0)];
    let found = detect(&COCO18, &truth, size, &Thresholds::default());
    assert_same_people(&found, &truth);
    assert!(found[0].mean_score() > 0.4);
}

#[test]
fn a_crowd_comes_back_person_by_person() {
    let size = (1280, 480);
    let truth: Vec<KnownPose> = (0..7)
        .map(|i| {
            standing_person_coco18(
                110.0 + 175.0 * i as f32,
                120.0 + 9.0 * i as f32,
                260.0 - 12.0 * i as f32,
            )
        })
        .collect();
    let found = detect(&COCO18, &truth, size, &Thresholds::default());
    assert_same_people(&found, &truth);
}

#[test]
fn crossing_arms_stay_with_their_owners() {
    let size = (640, 480);
    let mut a = standing_person_coco18(260.0, 150.0, 260.0);
    let mut b = standing_person_coco18(400.0, 150.0, 260.0);
    // a's left arm (image right) reaches across b's right arm.
    a[6] = Some((330.0, 200.0));
    a[7] = Some((395.0, 250.0));
    b[3] = Some((330.0, 205.0));
    b[4] = Some((262.0, 248.0));
    let truth = vec![a, b];
    let found = detect(&COCO18, &truth, size, &Thresholds::default());
    assert_same_people(&found, &truth);
}

#[test]
fn partial_people_follow_the_min_parts_rule() {
    let size = (640, 480);
    let full = standing_person_coco18(200.0, 150.0, 260.0);
    // Head and shoulders only: 8 parts.
    let head: KnownPose = full
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if [0, 1, 2, 5, 14, 15, 16, 17].contains(&i) {
                *p
            } else {
                None
            }
        })
        .collect();
    // Three parts (neck, right shoulder, right elbow) of a second person.
    let arm_owner = standing_person_coco18(450.0, 150.0, 260.0);
    let arm: KnownPose = arm_owner
        .iter()
        .enumerate()
        .map(|(i, p)| if [1, 2, 3].contains(&i) { *p } else { None })
        .collect();

    let found = detect(
        &COCO18,
        &[head.clone(), arm.clone()],
        size,
        &Thresholds::default(),
    );
    assert_same_people(&found, std::slice::from_ref(&head));

    let lenient = Thresholds {
        min_parts: 3,
        ..Thresholds::default()
    };
    let found = detect(&COCO18, &[head.clone(), arm.clone()], size, &lenient);
    assert_same_people(&found, &[head, arm]);
}

#[test]
fn people_cut_by_the_border_keep_their_visible_parts() {
    let size = (640, 360);
    // Legs leave the bottom edge; a second person's right arm and ear leave the left edge.
    let low = standing_person_coco18(400.0, 200.0, 400.0);
    let left = standing_person_coco18(12.0, 120.0, 220.0);
    let found = detect(
        &COCO18,
        &[low.clone(), left.clone()],
        size,
        &Thresholds::default(),
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    for truth in [&low, &left] {
        let inside = visible(truth, size);
        assert!(
            inside.iter().flatten().count() < 18,
            "the scene really cuts this person"
        );
        let neck = truth[1].unwrap();
        let person = found
            .iter()
            .find(|p| {
                p.keypoints[1].is_some_and(|k| (k.x - neck.0).hypot(k.y - neck.1) < TOLERANCE_PX)
            })
            .expect("each person is found by its neck");
        for (part, (k, (q, q_inside))) in person
            .keypoints
            .iter()
            .zip(truth.iter().zip(&inside))
            .enumerate()
        {
            match (k, q_inside) {
                (Some(k), Some(q)) => {
                    // In the outermost grid cell there is no neighbour beyond to refine against.
                    let at_edge = q.0 < 8.0
                        || q.1 < 8.0
                        || q.0 > size.0 as f32 - 9.0
                        || q.1 > size.1 as f32 - 9.0;
                    let tolerance = if at_edge { 4.0 } else { TOLERANCE_PX };
                    assert!(
                        (k.x - q.0).hypot(k.y - q.1) < tolerance,
                        "part {part}: {k:?} vs {q:?}"
                    )
                }
                (None, Some(q)) => panic!("visible part {part} at {q:?} lost"),
                // A part just outside lights the border cells, as in a real network: it may be
                // reported, clamped to the frame, near where it really is.
                (Some(k), None) => {
                    let q = q.unwrap();
                    assert!(
                        (k.x - q.0).hypot(k.y - q.1) < 16.0,
                        "part {part}: {k:?} far from {q:?}"
                    );
                }
                (None, None) => {}
            }
        }
    }
}

#[test]
fn empty_and_faint_frames_have_nobody() {
    let size = (640, 480);
    assert!(detect(&COCO18, &[], size, &Thresholds::default()).is_empty());
    // A person whose peaks are all below the peak threshold.
    let truth = vec![standing_person_coco18(320.0, 150.0, 250.0)];
    let strict = Thresholds {
        peak: 1.01,
        ..Thresholds::default()
    };
    assert!(detect(&COCO18, &truth, size, &strict).is_empty());
}

#[test]
fn a_strict_paf_threshold_breaks_limbs_apart() {
    let size = (640, 480);
    let truth = vec![standing_person_coco18(320.0, 150.0, 250.0)];
    // Synthetic PAFs are unit vectors: an alignment above 1 can never be reached.
    let strict = Thresholds {
        paf: 1.01,
        ..Thresholds::default()
    };
    assert!(detect(&COCO18, &truth, size, &strict).is_empty());
}

#[test]
fn body25_is_just_another_table() {
    let size = (640, 480);
    let coco = standing_person_coco18(320.0, 100.0, 300.0);
    let u = 300.0 / 8.0;
    // BODY-25 order: COCO parts 0-7, mid-hip, then COCO 8-17 shifted by one, then feet.
    let mut body: KnownPose = coco[..8].to_vec();
    body.push(Some((320.0, 100.0 + 3.0 * u)));
    body.extend_from_slice(&coco[8..]);
    let (ra, la) = (coco[10].unwrap(), coco[13].unwrap());
    body.extend([
        Some((la.0 + 0.4 * u, la.1 + 0.5 * u)),
        Some((la.0 + 0.6 * u, la.1 + 0.4 * u)),
        Some((la.0 - 0.2 * u, la.1 + 0.3 * u)),
        Some((ra.0 - 0.4 * u, ra.1 + 0.5 * u)),
        Some((ra.0 - 0.6 * u, ra.1 + 0.4 * u)),
        Some((ra.0 + 0.2 * u, ra.1 + 0.3 * u)),
    ]);
    assert_eq!(body.len(), 25);
    let truth = vec![body];
    let found = detect(&BODY25, &truth, size, &Thresholds::default());
    assert_same_people(&found, &truth);
}

#[test]
fn hostile_maps_never_panic_and_keypoints_stay_finite() {
    // A few thousand cases here; `posecam bench --fuzz 1000000` runs a million.
    let mut associator = Associator::new();
    for seed in 0..2000u64 {
        let (maps, thresholds) = posecam::testkit::maps::fuzz_case(seed, &COCO18);
        let people = associator.run(&maps, &COCO18, &thresholds);
        for p in &people {
            for k in p.keypoints.iter().flatten() {
                assert!(
                    k.x.is_finite() && k.y.is_finite() && k.score.is_finite(),
                    "seed {seed}: {k:?}"
                );
            }
        }
    }
}
