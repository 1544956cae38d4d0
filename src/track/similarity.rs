//! How alike two poses are: object keypoint similarity (OKS, COCO's per-part falloffs) where enough
//! parts are shared, box overlap (IoU) where they are not.

use crate::pose::Keypoint;

/// Bounding box (x0, y0, x1, y1) of the parts present.
pub fn bounds(keypoints: &[Option<Keypoint>]) -> Option<[f32; 4]> {
    let mut it = keypoints.iter().flatten();
    let first = it.next()?;
    Some(it.fold([first.x, first.y, first.x, first.y], |b, k| {
        [b[0].min(k.x), b[1].min(k.y), b[2].max(k.x), b[3].max(k.y)]
    }))
}

fn area(b: [f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

/// Intersection over union of two boxes, each grown by `margin` of its size (pose boxes of a few
/// parts are thin).
pub fn iou(a: [f32; 4], b: [f32; 4], margin: f32) -> f32 {
    let grow = |r: [f32; 4]| {
        let (mx, my) = ((r[2] - r[0]) * margin + 1.0, (r[3] - r[1]) * margin + 1.0);
        [r[0] - mx, r[1] - my, r[2] + mx, r[3] + my]
    };
    let (a, b) = (grow(a), grow(b));
    let inter = area([
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// OKS of two poses over the parts both have, with object scale² `scale2` (pixels²); and how many
/// parts they share.
pub fn oks(
    a: &[Option<Keypoint>],
    b: &[Option<Keypoint>],
    sigmas: &[f32],
    scale2: f32,
) -> (f32, usize) {
    let mut sum = 0.0;
    let mut shared = 0;
    for ((p, q), sigma) in a.iter().zip(b).zip(sigmas) {
        if let (Some(p), Some(q)) = (p, q) {
            let d2 = (p.x - q.x).powi(2) + (p.y - q.y).powi(2);
            let k2 = (2.0 * sigma).powi(2);
            sum += (-d2 / (2.0 * scale2.max(1.0) * k2)).exp();
            shared += 1;
        }
    }
    if shared == 0 {
        (0.0, 0)
    } else {
        (sum / shared as f32, shared)
    }
}

/// How alike a track's predicted pose and a detection are, 0..1: OKS when they share at least
/// `min_shared` parts, box overlap otherwise. `slack` ≥ 1 widens the match for tracks not seen for a
/// while (their prediction is less certain).
pub fn similarity(
    predicted: &[Option<Keypoint>],
    detected: &[Option<Keypoint>],
    sigmas: &[f32],
    min_shared: usize,
    slack: f32,
) -> f32 {
    let (Some(pb), Some(db)) = (bounds(predicted), bounds(detected)) else {
        return 0.0;
    };
    similarity_in_boxes((predicted, pb), (detected, db), sigmas, min_shared, slack)
}

/// Boxes so far apart that no pair of parts can be similar enough to count (each grown by half its
/// larger side × `slack`: an OKS term of the largest falloff is below 0.2 beyond 0.38 × the scale, and
/// the scale is at most the larger side; box overlap needs the boxes to touch anyway).
pub fn far_apart(a: [f32; 4], b: [f32; 4], slack: f32) -> bool {
    let grow = |r: [f32; 4]| {
        let m = 0.5 * (r[2] - r[0]).max(r[3] - r[1]).max(10.0) * slack;
        [r[0] - m, r[1] - m, r[2] + m, r[3] + m]
    };
    let (a, b) = (grow(a), grow(b));
    a[0] > b[2] || b[0] > a[2] || a[1] > b[3] || b[1] > a[3]
}

/// [`similarity`] of poses whose boxes are already known.
pub fn similarity_in_boxes(
    (predicted, pb): (&[Option<Keypoint>], [f32; 4]),
    (detected, db): (&[Option<Keypoint>], [f32; 4]),
    sigmas: &[f32],
    min_shared: usize,
    slack: f32,
) -> f32 {
    if far_apart(pb, db, slack) {
        return 0.0;
    }
    let scale2 = area(pb).max(area(db)) * slack * slack;
    let (score, shared) = oks(predicted, detected, sigmas, scale2);
    if shared >= min_shared {
        score
    } else {
        // Few shared parts say little; where the boxes lie says more.
        iou(pb, db, 0.1 * slack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::COCO18;

    fn pose(points: &[(usize, f32, f32)]) -> Vec<Option<Keypoint>> {
        let mut v = vec![None; 18];
        for &(p, x, y) in points {
            v[p] = Some(Keypoint { x, y, score: 1.0 });
        }
        v
    }

    #[test]
    fn sigmas_follow_coco_and_fill_in_the_neck() {
        let s = COCO18.oks_sigmas();
        assert_eq!(s[0], 0.026, "nose");
        assert_eq!(s[1], 0.079, "neck, like the shoulders");
        assert_eq!(s[4], 0.062, "right wrist");
        assert_eq!(s.len(), 18);
    }

    #[test]
    fn oks_is_one_for_the_same_pose_and_falls_with_distance() {
        let s = COCO18.oks_sigmas();
        let a = pose(&[
            (1, 100.0, 100.0),
            (2, 80.0, 100.0),
            (5, 120.0, 100.0),
            (8, 90.0, 200.0),
        ]);
        assert_eq!(similarity(&a, &a, &s, 3, 1.0), 1.0);
        let shifted = |dx: f32| {
            a.iter()
                .map(|k| k.map(|k| Keypoint { x: k.x + dx, ..k }))
                .collect::<Vec<_>>()
        };
        let near = similarity(&a, &shifted(5.0), &s, 3, 1.0);
        let far = similarity(&a, &shifted(40.0), &s, 3, 1.0);
        assert!(1.0 > near && near > far && far >= 0.0, "{near} {far}");
        assert!(
            similarity(&a, &shifted(40.0), &s, 3, 3.0) > far,
            "slack widens"
        );
    }

    #[test]
    fn few_shared_parts_fall_back_to_box_overlap() {
        let s = COCO18.oks_sigmas();
        let upper = pose(&[
            (0, 100.0, 50.0),
            (1, 100.0, 80.0),
            (2, 80.0, 80.0),
            (5, 120.0, 80.0),
        ]);
        let lower = pose(&[(1, 101.0, 81.0), (9, 90.0, 160.0), (12, 110.0, 160.0)]);
        let sim = similarity(&upper, &lower, &s, 3, 1.0);
        assert!(sim > 0.0 && sim < 1.0, "{sim}");
        let elsewhere = pose(&[(1, 500.0, 81.0), (9, 490.0, 160.0), (12, 510.0, 160.0)]);
        assert_eq!(similarity(&upper, &elsewhere, &s, 3, 1.0), 0.0);
    }
}
