//! The two model contracts (CMU COCO: NCHW, x/256-0.5, two outputs; tf-pose: NHWC raw, one output)
//! checked end to end through ONNX Runtime with small models built here, plus the failures.

use std::path::{Path, PathBuf};

use crate::common::onnx::{node, pointwise_conv, pool8, Attr, Dim, Graph};
use image::{Rgb, RgbImage};
use posecam::infer::{Device, Engine, EngineError, EngineOptions, NetConfig};
use posecam::pipeline::error_chain;
use posecam::pose::peaks::find_peaks;
use posecam::pose::COCO18;

const RGB: [u8; 3] = [200, 100, 50];

fn options() -> EngineOptions {
    EngineOptions {
        device: Device::Cpu,
        ..EngineOptions::default()
    }
}

fn write(dir: &Path, name: &str, g: &Graph) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, g.to_bytes()).unwrap();
    p
}

/// Heatmap `k` = input channel `k % 3`; PAF `k` = 2 × input channel `(k + 1) % 3` + k/100.
fn heat_pick(k: usize) -> usize {
    k % 3
}
fn paf_pick(k: usize) -> usize {
    (k + 1) % 3
}
fn paf_bias(k: usize) -> f32 {
    k as f32 / 100.0
}

/// A CMU-shaped model: NCHW input, PAF ("L1") and heatmap ("L2") outputs.
fn cmu_model(heat_first: bool) -> Graph {
    let mut g = Graph::default();
    let sym = [
        Dim::Fixed(1),
        Dim::Fixed(3),
        Dim::Named("H"),
        Dim::Named("W"),
    ];
    g.inputs.push(("input".into(), sym.to_vec()));
    pool8(&mut g, "input", "pooled");
    pointwise_conv(&mut g, ["paf", "pooled", "Mconv7_stage6_L1"], 38, |k| {
        (paf_pick(k), 2.0, paf_bias(k))
    });
    pointwise_conv(&mut g, ["heat", "pooled", "Mconv7_stage6_L2"], 19, |k| {
        (heat_pick(k), 1.0, 0.0)
    });
    let grid = |c| {
        vec![
            Dim::Fixed(1),
            Dim::Fixed(c),
            Dim::Named("h"),
            Dim::Named("w"),
        ]
    };
    let (paf, heat) = (
        ("Mconv7_stage6_L1".to_string(), grid(38)),
        ("Mconv7_stage6_L2".to_string(), grid(19)),
    );
    g.outputs = if heat_first {
        vec![heat, paf]
    } else {
        vec![paf, heat]
    };
    g
}

/// A tf-pose-shaped model: NHWC input, one NHWC output of 19 heatmaps then 38 PAFs.
fn tfpose_model() -> Graph {
    let mut g = Graph::default();
    g.inputs.push((
        "image:0".into(),
        vec![
            Dim::Named("N"),
            Dim::Named("H"),
            Dim::Named("W"),
            Dim::Fixed(3),
        ],
    ));
    g.nodes.push(node(
        "Transpose",
        &["image:0"],
        &["nchw"],
        vec![("perm", Attr::Ints(vec![0, 3, 1, 2]))],
    ));
    pool8(&mut g, "nchw", "pooled");
    pointwise_conv(&mut g, ["all", "pooled", "maps_nchw"], 57, |k| {
        if k < 19 {
            (heat_pick(k), 1.0, 0.0)
        } else {
            (paf_pick(k - 19), 2.0, paf_bias(k - 19))
        }
    });
    g.nodes.push(node(
        "Transpose",
        &["maps_nchw"],
        &["Openpose/concat_stage7:0"],
        vec![("perm", Attr::Ints(vec![0, 2, 3, 1]))],
    ));
    g.outputs.push((
        "Openpose/concat_stage7:0".into(),
        vec![
            Dim::Named("N"),
            Dim::Named("h"),
            Dim::Named("w"),
            Dim::Fixed(57),
        ],
    ));
    g
}

/// Checks every heatmap and PAF cell against the values the tiny model must produce for a uniform
/// image whose input channels (in model order) are `planes`.
fn assert_maps(engine: &mut Engine, planes: [f32; 3]) {
    let image = RgbImage::from_pixel(64, 48, Rgb(RGB));
    let maps = engine
        .infer(
            &image,
            &NetConfig {
                net_height: 48,
                scales: vec![1.0],
                short_side: false,
            },
        )
        .unwrap();
    assert_eq!((maps.heatmaps.width(), maps.heatmaps.height()), (8, 6));
    assert_eq!((maps.heatmaps.channels(), maps.pafs.channels()), (19, 38));
    for r in 0..6 {
        for c in 0..8 {
            for k in 0..19 {
                let v = maps.heatmaps.at(k, r, c);
                assert!(
                    (v - planes[heat_pick(k)]).abs() < 1e-4,
                    "heatmap {k} at ({r},{c}): {v}"
                );
            }
            for k in 0..38 {
                let v = maps.pafs.at(k, r, c);
                let want = 2.0 * planes[paf_pick(k)] + paf_bias(k);
                assert!(
                    (v - want).abs() < 1e-4,
                    "paf {k} at ({r},{c}): {v} vs {want}"
                );
            }
        }
    }
}

#[test]
fn cmu_contract_nchw_bgr_scaled_with_outputs_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let bgr = [RGB[2], RGB[1], RGB[0]].map(|v| v as f32 / 256.0 - 0.5);
    for heat_first in [false, true] {
        let path = write(
            dir.path(),
            &format!("cmu{heat_first}.onnx"),
            &cmu_model(heat_first),
        );
        let mut engine = Engine::load(&path, &options()).unwrap();
        assert_eq!(engine.skeleton(), &COCO18);
        assert_maps(&mut engine, bgr);
    }
}

#[test]
fn tfpose_contract_nhwc_bgr_raw_in_one_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tfpose.onnx", &tfpose_model());
    let mut engine = Engine::load(&path, &options()).unwrap();
    assert_maps(&mut engine, [RGB[2], RGB[1], RGB[0]].map(|v| v as f32));
}

#[test]
fn a_manifest_beside_the_model_sets_the_input_convention() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "rgbnet.onnx", &cmu_model(false));
    std::fs::write(
        dir.path().join("rgbnet.json"),
        r#"{"channels": "rgb", "scale": 0.00392156862745098, "offset": 0}"#,
    )
    .unwrap();
    let mut engine = Engine::load(&path, &options()).unwrap();
    assert_maps(&mut engine, RGB.map(|v| v as f32 / 255.0));

    std::fs::write(dir.path().join("rgbnet.json"), r#"{"chanels": "rgb"}"#).unwrap();
    let err = Engine::load(&path, &options()).unwrap_err();
    let msg = error_chain(&err);
    assert!(msg.contains("rgbnet.json"), "{msg}");
}

#[test]
fn keypoints_map_back_to_original_image_pixels() {
    // Every heatmap is the pooled red channel: a red blob must peak where it was drawn, through
    // resize (scale 0.4), padding (the net is wider than the content) and the stride.
    let dir = tempfile::tempdir().unwrap();
    let mut g = cmu_model(false);
    g.nodes.clear();
    g.initializers.clear();
    pool8(&mut g, "input", "pooled");
    pointwise_conv(&mut g, ["paf", "pooled", "Mconv7_stage6_L1"], 38, |_| {
        (0, 0.0, 0.0)
    });
    pointwise_conv(&mut g, ["heat", "pooled", "Mconv7_stage6_L2"], 19, |_| {
        (2, 1.0, 0.5)
    });
    let path = write(dir.path(), "blob.onnx", &g);
    let mut engine = Engine::load(&path, &options()).unwrap();
    let (cx, cy) = (203.0f32, 151.0f32);
    let image = RgbImage::from_fn(300, 240, |x, y| {
        let d2 = (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2);
        Rgb([(255.0 * (-d2 / (2.0 * 30.0f32.powi(2))).exp()) as u8, 0, 0])
    });
    let maps = engine
        .infer(
            &image,
            &NetConfig {
                net_height: 96,
                scales: vec![1.0],
                short_side: false,
            },
        )
        .unwrap();
    assert_eq!(maps.image_size, (300, 240));
    let mut peaks = Vec::new();
    find_peaks(&maps.heatmaps, 0, 0.1, maps.valid_grid(), &mut peaks);
    assert_eq!(peaks.len(), 1, "{peaks:?}");
    let (x, y) = maps.grid_to_image.apply(peaks[0].col, peaks[0].row);
    assert!(
        (x - cx).abs() < 4.0 && (y - cy).abs() < 4.0,
        "peak at ({x}, {y}), blob at ({cx}, {cy})"
    );
}

#[test]
fn several_scales_average_on_one_grid() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "cmu.onnx", &cmu_model(false));
    let mut engine = Engine::load(&path, &options()).unwrap();
    let image = RgbImage::from_pixel(128, 96, Rgb(RGB));
    let maps = engine
        .infer(
            &image,
            &NetConfig {
                net_height: 96,
                scales: vec![1.0, 0.5],
                short_side: false,
            },
        )
        .unwrap();
    assert_eq!(
        (maps.heatmaps.width(), maps.heatmaps.height()),
        (16, 12),
        "grid of the first scale"
    );
    let want = RGB[2] as f32 / 256.0 - 0.5;
    assert!((maps.heatmaps.at(0, 5, 7) - want).abs() < 1e-4);
}

#[test]
fn models_that_fit_no_contract_are_named_with_their_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Graph::default();
    g.inputs.push((
        "pixels".into(),
        vec![
            Dim::Fixed(1),
            Dim::Fixed(3),
            Dim::Named("H"),
            Dim::Named("W"),
        ],
    ));
    pool8(&mut g, "pixels", "pooled");
    pointwise_conv(&mut g, ["x", "pooled", "logits"], 10, |_| (0, 1.0, 0.0));
    g.outputs.push((
        "logits".into(),
        vec![
            Dim::Fixed(1),
            Dim::Fixed(10),
            Dim::Named("h"),
            Dim::Named("w"),
        ],
    ));
    let path = write(dir.path(), "classifier.onnx", &g);
    let err = Engine::load(&path, &options()).unwrap_err();
    assert!(matches!(err, EngineError::ModelContract { .. }), "{err}");
    let msg = error_chain(&err);
    assert!(
        msg.contains("pixels") && msg.contains("logits") && msg.contains("COCO-18"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
}

#[test]
fn files_that_are_not_onnx_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"this is not a protobuf").unwrap();
    let err = Engine::load(&junk, &options()).unwrap_err();
    assert!(matches!(err, EngineError::ModelLoad { .. }), "{err}");
    let msg = error_chain(&err);
    assert!(
        msg.contains("junk.onnx") && msg.lines().count() == 1,
        "{msg}"
    );

    let truncated = dir.path().join("truncated.onnx");
    let bytes = cmu_model(false).to_bytes();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        Engine::load(&truncated, &options()),
        Err(EngineError::ModelLoad { .. })
    ));

    let missing = dir.path().join("nope.onnx");
    assert!(matches!(
        Engine::load(&missing, &options()),
        Err(EngineError::ModelMissing(_))
    ));
}

#[test]
fn cuda_on_a_cpu_only_runtime_fails_loudly_and_auto_falls_back() {
    let gpu_runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join(".deps/onnxruntime-gpu");
    if gpu_runtime.exists() {
        eprintln!("SKIPPED: a GPU runtime is installed; this test is for CPU-only runtimes");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "cmu.onnx", &cmu_model(false));
    let cuda = EngineOptions {
        device: Device::Cuda(0),
        ..EngineOptions::default()
    };
    let err = Engine::load(&path, &cuda).unwrap_err();
    assert!(matches!(err, EngineError::CudaUnavailable(_)), "{err}");
    let auto = EngineOptions {
        device: Device::Auto,
        ..EngineOptions::default()
    };
    let engine = Engine::load(&path, &auto).unwrap();
    assert_eq!(engine.provider(), posecam::infer::Provider::Cpu);
}

#[test]
fn outputs_that_are_not_4d_are_unfit_models_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = tfpose_model();
    // The 57 maps flattened to [N·h, w·57]: the right numbers in the wrong shape.
    let last = g.nodes.last_mut().unwrap();
    last.outputs = vec!["nhwc".into()];
    g.nodes.push(node(
        "Flatten",
        &["nhwc"],
        &["flat"],
        vec![("axis", Attr::Int(2))],
    ));
    g.outputs = vec![("flat".into(), vec![Dim::Named("nh"), Dim::Named("w57")])];
    let path = write(dir.path(), "flat.onnx", &g);
    let err = Engine::load(&path, &options()).unwrap_err();
    assert!(matches!(err, EngineError::ModelContract { .. }), "{err}");
    assert!(err.to_string().contains("flat"), "{err}");
}
