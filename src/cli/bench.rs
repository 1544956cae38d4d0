//! `posecam bench`: where the time goes, as figures (median over runs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use posecam::imageio;
use posecam::paths::find_in_project;
use posecam::pose::{Associator, Thresholds};

use super::ModelArgs;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Image to run on (default: ../shared/data/images/ski.jpg, 5 people).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Timed runs after 3 warm-up runs.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Also measure this video: raw inference fps on its frames, end-to-end export fps, and their ratio.
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Frames of --video used for the raw inference figure.
    #[arg(long, default_value_t = 60)]
    pub video_frames: usize,
    #[command(flatten)]
    pub model: ModelArgs,
}

const SAMPLE_IMAGE: &str = "../shared/data/images/ski.jpg";
/// Association takes well under a millisecond: repeat it for a stable median.
const ASSOCIATION_REPEATS: usize = 300;

fn median(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

pub fn run(args: BenchArgs) -> Result<()> {
    let net = args.model.net()?;
    let image_path = match &args.image {
        Some(p) => p.clone(),
        None => match find_in_project(&PathBuf::from(SAMPLE_IMAGE)) {
            Some(p) => p,
            None => bail!("no --image given and {SAMPLE_IMAGE} not found"),
        },
    };
    let runs = args.runs.max(1);
    let image = imageio::load_rgb(&image_path)?;
    let t = Instant::now();
    let mut engine = args.model.load_engine()?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let skeleton = engine.skeleton();
    let thresholds = Thresholds::default();
    let mut associator = Associator::new();

    for _ in 0..3 {
        engine.infer(&image, &net)?;
    }
    let (mut pre, mut inf, mut copy, mut assoc) = (vec![], vec![], vec![], vec![]);
    let mut last_maps = None;
    for _ in 0..runs {
        let maps = engine.infer(&image, &net)?;
        let timings = engine.last_timings();
        pre.push(timings.preprocess);
        inf.push(timings.inference);
        copy.push(timings.postprocess);
        last_maps = Some(maps);
    }
    let maps = last_maps.expect("at least one run");
    let mut people = 0;
    for _ in 0..ASSOCIATION_REPEATS {
        let t = Instant::now();
        people = associator.run(&maps, skeleton, &thresholds).len();
        assoc.push(t.elapsed());
    }
    let geometry = engine.geometry(
        (image.width() as usize, image.height() as usize),
        net.net_height,
    )?;
    let (preprocess_ms, inference_ms, copy_ms, associate_ms) =
        (median(pre), median(inf), median(copy), median(assoc));
    let association_ms = copy_ms + associate_ms;
    let total_ms = preprocess_ms + inference_ms + association_ms;
    println!(
        "{} on {} ({}x{} net, {} provider, {} people): preprocess {preprocess_ms:.2} ms, \
         inference {inference_ms:.2} ms, association {association_ms:.3} ms \
         (output copy {copy_ms:.3} + peaks/limbs/people {associate_ms:.3})",
        engine.model_path().display(),
        image_path.display(),
        geometry.net_width,
        geometry.net_height,
        engine.provider(),
        people,
    );
    let mut figures = serde_json::json!({
        "model": engine.model_path().display().to_string(),
        "skeleton": skeleton.name,
        "provider": engine.provider(),
        "image": image_path.display().to_string(),
        "image_size": [image.width(), image.height()],
        "net_size": [geometry.net_width, geometry.net_height],
        "scales": net.scales,
        "people": people,
        "runs": runs,
        "load_ms": round(load_ms),
        "preprocess_ms": round(preprocess_ms),
        "inference_ms": round(inference_ms),
        "association_ms": round(association_ms),
        "output_copy_ms": round(copy_ms),
        "associate_ms": round(associate_ms),
        "total_ms": round(total_ms),
        "fps": round(1e3 / total_ms),
    });
    if let Some(video) = &args.video {
        let v = bench_video(&args, video, &net, engine)?;
        println!(
            "{}: raw inference {:.2} fps ({:.1} ms/frame at {}x{}), end-to-end export {:.2} fps: {:.1} % of raw",
            video.display(),
            v.raw_fps,
            1e3 / v.raw_fps,
            v.net_size.0,
            v.net_size.1,
            v.export_fps,
            100.0 * v.export_fps / v.raw_fps
        );
        figures["video"] = serde_json::json!(video.display().to_string());
        figures["video_frames"] = serde_json::json!(v.frames);
        figures["raw_inference_fps"] = serde_json::json!(round(v.raw_fps));
        figures["export_fps"] = serde_json::json!(round(v.export_fps));
        figures["export_to_raw_ratio"] = serde_json::json!(round(v.export_fps / v.raw_fps));
        figures["export_stages"] = serde_json::to_value(&v.stages)?;
    }
    println!("{figures}");
    Ok(())
}

struct VideoFigures {
    frames: u64,
    net_size: (u32, u32),
    raw_fps: f64,
    export_fps: f64,
    stages: Vec<posecam::pipeline::StageStats>,
}

/// Raw inference (ONNX Runtime alone, default settings, on the video's frames at the net size) against a
/// full export of the same video, in one run.
///
/// `engine` is the plain session (ONNX Runtime defaults) of the image benchmark: sessions created later
/// in a process were seen to run at half speed on this VM now and then, which would flatter the ratio.
fn bench_video(
    args: &BenchArgs,
    video: &std::path::Path,
    net: &posecam::infer::NetConfig,
    mut engine: posecam::infer::Engine,
) -> Result<VideoFigures> {
    use posecam::pipeline::{ExportOutputs, ExportSettings};
    use std::sync::{atomic::AtomicBool, Arc};

    let mut reader = posecam::video::VideoReader::open(video)?;
    let original = (reader.info().width, reader.info().height);
    let net_size = engine.content_size(original, net)?;
    reader.set_net_size(Some(net_size));
    let mut frames = Vec::new();
    while frames.len() < args.video_frames.max(1) {
        match reader.next_frame()? {
            Some(f) => frames.extend(f.net_rgb),
            None => break,
        }
    }
    drop(reader); // its decoder threads must not run beside the measurement
    if frames.is_empty() {
        bail!("{}: no frames", video.display());
    }
    engine.infer_resized(&frames[0], original, net)?;
    let mut inference = Vec::new();
    for f in &frames {
        engine.infer_resized(f, original, net)?;
        inference.push(engine.last_timings().inference);
    }
    let raw_fps = 1e3 / median(inference);
    drop(engine);

    let dir = tempfile::tempdir()?;
    let out = dir.path().join("bench.mp4");
    let settings = ExportSettings {
        net: net.clone(),
        thresholds: Thresholds::default(),
        style: posecam::render::OverlayStyle::default(),
        encode: super::export::default_encode_options(),
        fps_overlay: false,
    };
    let engines = args.model.load_workers(None)?;
    let report = posecam::pipeline::export(
        video,
        &out,
        &ExportOutputs::default(),
        engines,
        &settings,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )?;
    Ok(VideoFigures {
        frames: report.frames,
        net_size,
        raw_fps,
        export_fps: report.fps,
        stages: report.stages,
    })
}

fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}
