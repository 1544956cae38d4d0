//! COCO keypoint evaluation (OKS AP), following pycocotools' `COCOeval` for `iouType='keypoints'`:
//! per-keypoint sigmas, ignored ground truth (crowd or no keypoints), 20 detections per image, OKS
//! thresholds 0.50:0.05:0.95 and 101-point interpolated precision.

use serde::Deserialize;

use crate::pose::COCO17_SIGMAS as COCO_SIGMAS;

const MAX_DETECTIONS: usize = 20;

/// One ground-truth person as COCO stores it.
#[derive(Debug, Clone, Deserialize)]
pub struct GroundTruth {
    pub image_id: u64,
    /// 17 × (x, y, visibility).
    pub keypoints: Vec<f64>,
    pub area: f64,
    /// x, y, width, height.
    pub bbox: [f64; 4],
    #[serde(default)]
    pub iscrowd: u8,
    #[serde(default)]
    pub num_keypoints: u32,
}

/// The subset of a COCO annotation file this evaluation reads.
#[derive(Debug, Clone, Deserialize)]
pub struct CocoFile {
    pub images: Vec<CocoImage>,
    pub annotations: Vec<GroundTruth>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

/// One detected person in COCO-17 order.
#[derive(Debug, Clone)]
pub struct Detection {
    pub image_id: u64,
    /// 17 × (x, y); missing keypoints may hold anything, COCO scores them against visible ground truth.
    pub keypoints: [(f64, f64); 17],
    pub score: f64,
}

impl GroundTruth {
    fn ignored(&self) -> bool {
        self.iscrowd != 0 || self.num_keypoints == 0
    }
}

/// Object keypoint similarity between a detection and a ground-truth person.
pub fn oks(det: &Detection, gt: &GroundTruth) -> f64 {
    let visible: Vec<usize> = (0..17)
        .filter(|&k| gt.keypoints.get(k * 3 + 2).copied().unwrap_or(0.0) > 0.0)
        .collect();
    let area = gt.area + f64::EPSILON;
    let e = |k: usize, dx: f64, dy: f64| {
        let var = (2.0 * COCO_SIGMAS[k]).powi(2);
        (dx * dx + dy * dy) / var / area / 2.0
    };
    let terms: Vec<f64> = if visible.is_empty() {
        // No visible keypoint: distance to a box twice the size of the ground-truth box.
        let [bx, by, bw, bh] = gt.bbox;
        let (x0, x1, y0, y1) = (bx - bw, bx + bw * 2.0, by - bh, by + bh * 2.0);
        (0..17)
            .map(|k| {
                let (x, y) = det.keypoints[k];
                let dx = (x0 - x).max(0.0) + (x - x1).max(0.0);
                let dy = (y0 - y).max(0.0) + (y - y1).max(0.0);
                e(k, dx, dy)
            })
            .collect()
    } else {
        visible
            .iter()
            .map(|&k| {
                let (x, y) = det.keypoints[k];
                e(k, x - gt.keypoints[k * 3], y - gt.keypoints[k * 3 + 1])
            })
            .collect()
    };
    terms.iter().map(|t| (-t).exp()).sum::<f64>() / terms.len() as f64
}

/// AP at each OKS threshold 0.50, 0.55, ..., 0.95 and their mean.
#[derive(Debug, Clone, PartialEq)]
pub struct ApSummary {
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub per_threshold: Vec<f64>,
}

/// OKS thresholds of COCO AP: 0.50, 0.55, ..., 0.95.
const OKS_THRESHOLDS: usize = 10;

fn oks_threshold(i: usize) -> f64 {
    0.5 + 0.05 * i as f64
}

/// One kept detection: its score, and per threshold whether it matched and whether that match was to
/// an ignored person.
type ScoredDetection = (f64, Vec<bool>, Vec<bool>);

/// OKS AP of `detections` against `ground_truth` over all images (area range "all").
pub fn keypoint_ap(ground_truth: &[GroundTruth], detections: &[Detection]) -> ApSummary {
    let mut image_ids: Vec<u64> = ground_truth.iter().map(|g| g.image_id).collect();
    image_ids.extend(detections.iter().map(|d| d.image_id));
    image_ids.sort_unstable();
    image_ids.dedup();
    let n_positive = ground_truth.iter().filter(|g| !g.ignored()).count();
    let mut scored: Vec<ScoredDetection> = Vec::new();
    for &image in &image_ids {
        scored.extend(match_image(ground_truth, detections, image));
    }
    // pycocotools sorts with a stable mergesort on -score.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let per_threshold: Vec<f64> = (0..OKS_THRESHOLDS)
        .map(|ti| average_precision(&scored, ti, n_positive))
        .collect();
    let ap = per_threshold.iter().sum::<f64>() / per_threshold.len() as f64;
    ApSummary {
        ap,
        ap50: per_threshold[0],
        ap75: per_threshold[5],
        per_threshold,
    }
}

/// Greedy matching of one image's detections (best score first) to its people, per threshold.
fn match_image(
    ground_truth: &[GroundTruth],
    detections: &[Detection],
    image: u64,
) -> Vec<ScoredDetection> {
    let mut gts: Vec<&GroundTruth> = ground_truth
        .iter()
        .filter(|g| g.image_id == image)
        .collect();
    gts.sort_by_key(|g| g.ignored()); // non-ignored first, stable
    let mut dets: Vec<&Detection> = detections.iter().filter(|d| d.image_id == image).collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    dets.truncate(MAX_DETECTIONS);
    let ious: Vec<Vec<f64>> = dets
        .iter()
        .map(|d| gts.iter().map(|g| oks(d, g)).collect())
        .collect();
    let mut per_det: Vec<ScoredDetection> = dets
        .iter()
        .map(|d| {
            (
                d.score,
                vec![false; OKS_THRESHOLDS],
                vec![false; OKS_THRESHOLDS],
            )
        })
        .collect();
    for ti in 0..OKS_THRESHOLDS {
        let t = oks_threshold(ti);
        let mut gt_taken = vec![false; gts.len()];
        for (di, row) in ious.iter().enumerate() {
            if let Some(m) = best_match(&gts, &gt_taken, row, t) {
                gt_taken[m] = true;
                per_det[di].1[ti] = true;
                per_det[di].2[ti] = gts[m].ignored();
            }
        }
    }
    per_det
}

/// The person a detection matches at threshold `t` (pycocotools' rules).
fn best_match(gts: &[&GroundTruth], taken: &[bool], ious: &[f64], t: f64) -> Option<usize> {
    let mut best = t.min(1.0 - 1e-10);
    let mut matched: Option<usize> = None;
    for (gi, g) in gts.iter().enumerate() {
        if taken[gi] && g.iscrowd == 0 {
            continue;
        }
        // Already matched to a real person: ignored ones (sorted last) cannot beat it.
        if matched.is_some_and(|m| !gts[m].ignored() && g.ignored()) {
            break;
        }
        if ious[gi] < best {
            continue;
        }
        best = ious[gi];
        matched = Some(gi);
    }
    matched
}

/// Area under the interpolated precision/recall curve at 101 recall points, for threshold `ti`.
fn average_precision(scored: &[ScoredDetection], ti: usize, n_positive: usize) -> f64 {
    if n_positive == 0 {
        return -1.0;
    }
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut recall = Vec::new();
    let mut precision = Vec::new();
    for (_, m, ig) in scored {
        if ig[ti] {
            continue;
        }
        if m[ti] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        recall.push(tp / n_positive as f64);
        precision.push(tp / (tp + fp + f64::EPSILON));
    }
    for i in (1..precision.len()).rev() {
        if precision[i] > precision[i - 1] {
            precision[i - 1] = precision[i];
        }
    }
    let recall_points = 101;
    let sum: f64 = (0..recall_points)
        .map(|i| {
            let r = i as f64 / 100.0;
            let idx = recall.partition_point(|&x| x < r);
            precision.get(idx).copied().unwrap_or(0.0)
        })
        .sum();
    sum / recall_points as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(image_id: u64, kps: &[(f64, f64)], area: f64) -> GroundTruth {
        GroundTruth {
            image_id,
            keypoints: kps.iter().flat_map(|&(x, y)| [x, y, 2.0]).collect(),
            area,
            bbox: [0.0, 0.0, 10.0, 10.0],
            iscrowd: 0,
            num_keypoints: 17,
        }
    }

    fn person(offset: f64) -> Vec<(f64, f64)> {
        (0..17)
            .map(|k| (offset + 10.0 * k as f64, 50.0 + 5.0 * k as f64))
            .collect()
    }

    fn det(image_id: u64, kps: &[(f64, f64)], score: f64) -> Detection {
        Detection {
            image_id,
            keypoints: std::array::from_fn(|k| kps[k]),
            score,
        }
    }

    #[test]
    fn perfect_detections_score_one_and_misses_lower_it() {
        let gts = vec![
            gt(1, &person(0.0), 5000.0),
            gt(1, &person(300.0), 5000.0),
            gt(2, &person(0.0), 5000.0),
        ];
        let perfect: Vec<Detection> = gts
            .iter()
            .map(|g| {
                det(
                    g.image_id,
                    &(0..17)
                        .map(|k| (g.keypoints[k * 3], g.keypoints[k * 3 + 1]))
                        .collect::<Vec<_>>(),
                    1.0,
                )
            })
            .collect();
        let s = keypoint_ap(&gts, &perfect);
        assert!((s.ap - 1.0).abs() < 1e-9, "{s:?}");
        // Two of three found: recall tops out at 2/3.
        let s = keypoint_ap(&gts, &perfect[..2]);
        assert!(s.ap < 0.7 && s.ap > 0.6, "{s:?}");
        // A confident false positive ranked first lowers precision.
        let mut with_fp = perfect.clone();
        with_fp.push(det(2, &person(900.0), 2.0));
        let s = keypoint_ap(&gts, &with_fp);
        assert!(s.ap < 1.0 && s.ap > 0.6, "{s:?}");
    }

    #[test]
    fn oks_falls_with_distance_and_ignores_invisible_points() {
        let g = gt(1, &person(0.0), 5000.0);
        let exact = det(1, &person(0.0), 1.0);
        let off = det(1, &person(5.0), 1.0);
        assert!((oks(&exact, &g) - 1.0).abs() < 1e-12);
        let o = oks(&off, &g);
        assert!(o < 1.0 && o > 0.0);
        let mut partial = g.clone();
        for k in 5..17 {
            partial.keypoints[k * 3 + 2] = 0.0;
        }
        let mut moved = person(0.0);
        for p in moved.iter_mut().skip(5) {
            p.0 += 1000.0;
        }
        assert!((oks(&det(1, &moved, 1.0), &partial) - 1.0).abs() < 1e-12);
    }
}
