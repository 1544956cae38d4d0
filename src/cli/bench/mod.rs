//! `posecam bench`: where the time goes, as figures (median over runs).

mod batch;
mod fuzz;
mod live;
mod scene;
mod track;

use crate::cli::console::outln;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use posecam::infer::{Engine, NetConfig};
use posecam::io::image as imageio;
use posecam::pose::{Associator, Thresholds};
use posecam::setup::paths::find_in_checkout;

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
    /// Measure the live pipeline (the window's) without a window, beside an export at the same net size.
    #[arg(long)]
    pub live: bool,
    /// Run association on this many hostile network outputs instead (counts panics; no model needed).
    #[arg(long, value_name = "CASES")]
    pub fuzz: Option<u64>,
    /// Tracking figures instead: time per frame for 20 people, and with --video the IDs posecam's
    /// tracker gives against the previous-frame greedy tracker on the same detections.
    #[arg(long)]
    pub track: bool,
    /// With --track --video: use every N-th frame (a 50 fps clip as 10 fps: 5).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// A batch of short clips (cut from --video, default the shared one-by-one clip) against one
    /// export of the same frames joined into a single clip.
    #[arg(long)]
    pub batch: bool,
    /// With --batch: how many clips.
    #[arg(long, default_value_t = 20)]
    pub batch_clips: usize,
    /// With --batch: seconds per clip.
    #[arg(long, default_value_t = 5.0)]
    pub clip_seconds: f64,
    /// Several calibrated views (default: the shared 4-camera demo): all views in one pipeline
    /// against each view alone on the same frames, and the 3D stages' time per frame set.
    #[arg(long)]
    pub scene: bool,
    /// With --scene: the views, one per camera in the calibration's order.
    #[arg(long, value_name = "VIDEO", num_args = 2.., requires = "scene")]
    pub scene_views: Vec<PathBuf>,
    /// With --scene: the calibration (default: the demo's Calib.qca.txt).
    #[arg(long, requires = "scene")]
    pub calib: Option<PathBuf>,
    #[command(flatten)]
    pub live_args: live::LiveBenchArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

const SAMPLE_IMAGE: &str = "../shared/data/images/ski.jpg";
/// Association takes well under a millisecond: repeat it for a stable median.
const ASSOCIATION_REPEATS: usize = 300;

pub(crate) fn median(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

pub fn run(args: BenchArgs) -> Result<()> {
    if let Some(cases) = args.fuzz {
        return fuzz::run(cases);
    }
    if args.live {
        return live::run(&args.live_args, &args.model);
    }
    if args.batch {
        let bench = batch::BatchBench {
            clips: args.batch_clips,
            clip_seconds: args.clip_seconds,
            video: args.video.clone(),
        };
        return batch::run(&bench, &args.model);
    }
    if args.scene {
        let bench = scene::SceneBench {
            views: args.scene_views.clone(),
            calib: args.calib.clone(),
        };
        return scene::run(&bench, &args.model);
    }
    if args.track {
        return track::run(args.video.as_deref(), args.every, &args.model);
    }
    if !(1..=100_000).contains(&args.runs) {
        bail!("--runs must be between 1 and 100000, got {}", args.runs);
    }
    let net = args.model.net()?;
    let image_path = match &args.image {
        Some(p) => p.clone(),
        None => match find_in_checkout(&PathBuf::from(SAMPLE_IMAGE)) {
            Some(p) => p,
            None => bail!("no --image given and {SAMPLE_IMAGE} not found"),
        },
    };
    let (mut figures, engine) = image_figures(&args, &image_path, &net)?;
    if let Some(video) = &args.video {
        let v = bench_video(&args, video, &net, engine)?;
        outln!(
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
    outln!("{figures}");
    Ok(())
}

/// Median stage times on one image, plus association repeated for a stable figure.
struct ImageTimings {
    preprocess_ms: f64,
    inference_ms: f64,
    copy_ms: f64,
    associate_ms: f64,
    people: usize,
}

fn time_image(
    engine: &mut Engine,
    image: &image::RgbImage,
    net: &NetConfig,
    runs: usize,
) -> Result<ImageTimings> {
    for _ in 0..3 {
        engine.infer(image, net)?;
    }
    let (mut pre, mut inf, mut copy, mut assoc) = (vec![], vec![], vec![], vec![]);
    let mut maps = engine.infer(image, net)?;
    for _ in 0..runs {
        maps = engine.infer(image, net)?;
        let timings = engine.last_timings();
        pre.push(timings.preprocess);
        inf.push(timings.inference);
        copy.push(timings.postprocess);
    }
    let mut associator = Associator::new();
    let mut people = 0;
    for _ in 0..ASSOCIATION_REPEATS {
        let t = Instant::now();
        people = associator
            .run(&maps, engine.skeleton(), &Thresholds::default())
            .len();
        assoc.push(t.elapsed());
    }
    Ok(ImageTimings {
        preprocess_ms: median(pre),
        inference_ms: median(inf),
        copy_ms: median(copy),
        associate_ms: median(assoc),
        people,
    })
}

fn image_figures(
    args: &BenchArgs,
    image_path: &std::path::Path,
    net: &NetConfig,
) -> Result<(serde_json::Value, Engine)> {
    let image = imageio::load_rgb(image_path, posecam::io::inputs::DEFAULT_MAX_PIXELS)?;
    let t = Instant::now();
    let mut engine = args.model.load_engine()?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let tm = time_image(&mut engine, &image, net, args.runs)?;
    let size = (image.width() as usize, image.height() as usize);
    let geometry = engine.geometry(size, net.height_for(size, 1.0))?;
    let association_ms = tm.copy_ms + tm.associate_ms;
    let total_ms = tm.preprocess_ms + tm.inference_ms + association_ms;
    outln!(
        "{} on {} ({}x{} net, {} provider, {} people): preprocess {:.2} ms, inference {:.2} ms, \
         association {association_ms:.3} ms (output copy {:.3} + peaks/limbs/people {:.3})",
        engine.model_path().display(),
        image_path.display(),
        geometry.net_width,
        geometry.net_height,
        engine.provider(),
        tm.people,
        tm.preprocess_ms,
        tm.inference_ms,
        tm.copy_ms,
        tm.associate_ms,
    );
    let figures = serde_json::json!({
        "model": engine.model_path().display().to_string(),
        "skeleton": engine.skeleton().name,
        "provider": engine.provider(),
        "image": image_path.display().to_string(),
        "image_size": [image.width(), image.height()],
        "net_size": [geometry.net_width, geometry.net_height],
        "scales": net.scales,
        "people": tm.people,
        "runs": args.runs,
        "load_ms": round(load_ms),
        "preprocess_ms": round(tm.preprocess_ms),
        "inference_ms": round(tm.inference_ms),
        "association_ms": round(association_ms),
        "output_copy_ms": round(tm.copy_ms),
        "associate_ms": round(tm.associate_ms),
        "total_ms": round(total_ms),
        "fps": round(1e3 / total_ms),
    });
    Ok((figures, engine))
}

struct VideoFigures {
    frames: u64,
    net_size: (u32, u32),
    raw_fps: f64,
    export_fps: f64,
    stages: Vec<posecam::pipeline::StageStats>,
}

/// Raw inference (ONNX Runtime alone, default settings, on the video's frames) against a full export of
/// the same video, in one run.
///
/// `engine` is the plain session (ONNX Runtime defaults) of the image benchmark: sessions created later
/// in a process were seen to run at half speed on this VM now and then, which would flatter the ratio.
fn bench_video(
    args: &BenchArgs,
    video: &std::path::Path,
    net: &NetConfig,
    mut engine: Engine,
) -> Result<VideoFigures> {
    let mut reader = posecam::video::VideoReader::open(video)?;
    let mut frames = Vec::new();
    while frames.len() < args.video_frames.max(1) {
        match reader.next_frame()? {
            Some(f) => frames.push(f.picture),
            None => break,
        }
    }
    drop(reader); // its decoder threads must not run beside the measurement
    let Some(first) = frames.first() else {
        bail!("{}: no frames", video.display());
    };
    let net_input = |p| posecam::infer::NetInput::Yuv(p);
    engine.infer_input(net_input(first), net)?;
    let size = (first.width, first.height);
    let geometry = engine.geometry(size, net.height_for(size, 1.0))?;
    let mut inference = Vec::new();
    for f in &frames {
        engine.infer_input(net_input(f), net)?;
        inference.push(engine.last_timings().inference);
    }
    let raw_fps = 1e3 / median(inference);
    drop(engine);
    let report = export_figures(video, net, args.model.load_workers(None)?, None)?;
    Ok(VideoFigures {
        frames: report.frames,
        net_size: (geometry.net_width as u32, geometry.net_height as u32),
        raw_fps,
        export_fps: report.fps,
        stages: report.stages,
    })
}

/// Exports `video` (at most `max_frames` of it) to a temporary file, for its figures.
pub(crate) fn export_figures(
    video: &std::path::Path,
    net: &posecam::infer::NetConfig,
    engines: Vec<posecam::infer::Engine>,
    max_frames: Option<u64>,
) -> Result<posecam::pipeline::ExportReport> {
    use posecam::pipeline::{ExportOutputs, ExportSettings};
    use std::sync::{atomic::AtomicBool, atomic::Ordering, Arc};

    let dir = tempfile::tempdir()?;
    let settings = ExportSettings {
        net: net.clone(),
        thresholds: Thresholds::default(),
        tracking: Some(posecam::track::TrackerSettings::default()),
        style: posecam::render::OverlayStyle::default(),
        encode: posecam::video::EncodeOptions::for_this_machine(),
        fps_overlay: false,
        max_duration_s: None,
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let stop = cancel.clone();
    Ok(posecam::pipeline::export(
        video,
        &ExportOutputs::video_only(&dir.path().join("bench.mp4")),
        engines,
        &settings,
        cancel,
        move |p| {
            if max_frames.is_some_and(|m| p.frames_done >= m) {
                stop.store(true, Ordering::Relaxed);
            }
        },
    )?)
}

pub(crate) fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}
