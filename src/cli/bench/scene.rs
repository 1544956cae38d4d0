//! `posecam bench --scene`: several calibrated views through one pipeline against each view on its
//! own, on the same frames in the same run; and what the 3D stages (association, triangulation,
//! tracking) cost per frame set, on the views' own people and on five synthetic people.

use crate::cli::console::outln;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use posecam::capture::{FrameSource, PictureKind, SourceInfo, VideoSource};
use posecam::infer::{Engine, NetConfig};
use posecam::multiview::scene::{
    frame_sets, reconstruct, SceneSettings, ViewClip, DEFAULT_MIN_FRAMES,
};
use posecam::multiview::synthetic::{filmed_walkers, ring};
use posecam::multiview::{calib, Lens, Rig};
use posecam::pipeline::{pose_views, PipelineSettings, ViewPeople};
use posecam::pose::{Thresholds, COCO18};
use posecam::setup::paths::find_in_checkout;

use super::super::ModelArgs;
use super::{median, round};

/// Pose2Sim's 4-camera demo, shipped in ../shared.
const DEMO: &str = "../shared/data/multiview/pose2sim-demo-multiperson";
/// Repeats of the 3D stages, for a stable median.
const REPEATS: usize = 7;

pub struct SceneBench {
    pub views: Vec<PathBuf>,
    pub calib: Option<PathBuf>,
}

pub fn run(bench: &SceneBench, model: &ModelArgs) -> Result<()> {
    let (views, calib_path) = inputs(bench)?;
    let (rig, _) = calib::read(&calib_path)?;
    let first = VideoSource::open(&views[0], PictureKind::Yuv)?
        .info()
        .clone();
    let net = model.net()?;
    let settings = PipelineSettings {
        net: net.clone(),
        thresholds: Thresholds::default(),
        tracking: None,
    };
    // Each view alone (the engines loaded and warmed before each run), then all views at once.
    let mut alone = Duration::ZERO;
    for view in &views {
        let engines = warmed(model, &views[0], &net)?;
        let t = Instant::now();
        pose_views(
            std::slice::from_ref(view),
            None,
            first.clone(),
            engines,
            settings.clone(),
            never(),
            |_, _| {},
        )?;
        alone += t.elapsed();
    }
    let engines = warmed(model, &views[0], &net)?;
    let t = Instant::now();
    let (people, _, _) = pose_views(
        &views,
        None,
        first.clone(),
        engines,
        settings,
        never(),
        |_, _| {},
    )?;
    let together = t.elapsed();
    let frames: usize = people.iter().map(|p| p.times.len()).sum();
    if frames == 0 {
        bail!("the views have no frames");
    }
    let clips: Vec<ViewClip> = people.iter().map(ViewPeople::clip).collect();
    let real = stages_ms(&rig, &clips);
    let synthetic_rig = ring(4, demo_lens());
    let synthetic = stages_ms(&synthetic_rig, &filmed_walkers(&synthetic_rig, 5, 100));
    report(&Figures {
        views: views.len(),
        frames,
        first: &first,
        alone_s: alone.as_secs_f64(),
        together_s: together.as_secs_f64(),
        real,
        synthetic,
    });
    Ok(())
}

/// The views and calibration given, or the shared demo's.
fn inputs(bench: &SceneBench) -> Result<(Vec<PathBuf>, PathBuf)> {
    let demo = || find_in_checkout(Path::new(DEMO));
    let views = if bench.views.is_empty() {
        let dir = demo().with_context(|| format!("no --scene-views given and {DEMO} not found"))?;
        (1..=4)
            .map(|i| dir.join(format!("cam{i:02}.mp4")))
            .collect()
    } else {
        bench.views.clone()
    };
    let calib = match &bench.calib {
        Some(c) => c.clone(),
        None => demo()
            .map(|d| d.join("Calib.qca.txt"))
            .with_context(|| format!("no --calib given and {DEMO} not found"))?,
    };
    if views.len() < 2 {
        bail!("--scene needs at least 2 views, got {}", views.len());
    }
    Ok((views, calib))
}

/// The demo's lens distortion, for the synthetic rig.
fn demo_lens() -> Lens {
    Lens::Standard {
        k: [-0.047, 0.137, 0.0],
        p: [0.0006, 0.0007],
    }
}

fn never() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// The inference workers, each run once on the first frame of `video` so no run pays for the first
/// inference of a session.
fn warmed(model: &ModelArgs, video: &Path, net: &NetConfig) -> Result<Vec<Engine>> {
    let mut source = VideoSource::open(video, PictureKind::Yuv)?;
    let frame = source
        .next_frame()?
        .with_context(|| format!("{}: no frames", video.display()))?;
    let mut engines = model.load_workers(None)?;
    for engine in &mut engines {
        engine.infer_input(frame.picture.net_input(), net)?;
    }
    Ok(engines)
}

/// Association, triangulation and tracking of a clip: median milliseconds per frame set, and the
/// detections per frame set.
struct StageFigures {
    ms_per_set: f64,
    sets: usize,
    detections_per_set: f64,
    people: usize,
}

fn stages_ms(rig: &Rig, clips: &[ViewClip]) -> StageFigures {
    let times: Vec<Vec<f64>> = clips.iter().map(|c| c.times.clone()).collect();
    let offsets = vec![0.0; clips.len()];
    let mirror = COCO18.mirror();
    let settings = SceneSettings {
        min_frames: DEFAULT_MIN_FRAMES,
        ..SceneSettings::default()
    };
    let mut runs = Vec::new();
    let mut scene = None;
    for _ in 0..REPEATS {
        let sets = frame_sets(&times, &offsets);
        let t = Instant::now();
        let s = reconstruct(rig, clips, sets, &mirror, &settings);
        runs.push(t.elapsed() / s.sets.len().max(1) as u32);
        scene = Some(s);
    }
    let (sets, people) = scene.map_or((0, 0), |s| (s.sets.len(), s.ids().len()));
    let detections: usize = clips
        .iter()
        .flat_map(|c| c.people.iter().map(Vec::len))
        .sum();
    StageFigures {
        ms_per_set: median(runs),
        sets,
        detections_per_set: detections as f64 / sets.max(1) as f64,
        people,
    }
}

struct Figures<'a> {
    views: usize,
    frames: usize,
    first: &'a SourceInfo,
    alone_s: f64,
    together_s: f64,
    real: StageFigures,
    synthetic: StageFigures,
}

fn report(f: &Figures) {
    let (alone_fps, together_fps) = (f.frames as f64 / f.alone_s, f.frames as f64 / f.together_s);
    let inference_ms = 1e3 * f.alone_s / f.frames as f64;
    outln!(
        "{} views of {}x{} ({} frames in all): each view alone {alone_fps:.2} fps, all views in one \
         pipeline {together_fps:.2} fps over all views: {:.2} x",
        f.views,
        f.first.width,
        f.first.height,
        f.frames,
        together_fps / alone_fps
    );
    for (what, s) in [
        ("the views' people", &f.real),
        ("5 synthetic people", &f.synthetic),
    ] {
        outln!(
            "3D stages on {what} ({:.1} detections per frame set, {} IDs): {:.3} ms per frame set, \
             {:.2} % of one frame's 2D ({inference_ms:.1} ms)",
            s.detections_per_set,
            s.people,
            s.ms_per_set,
            100.0 * s.ms_per_set / inference_ms
        );
    }
    let stage = |s: &StageFigures| {
        serde_json::json!({
            "ms_per_frame_set": round(s.ms_per_set),
            "frame_sets": s.sets,
            "detections_per_frame_set": round(s.detections_per_set),
            "ids": s.people,
        })
    };
    outln!(
        "{}",
        serde_json::json!({
            "views": f.views,
            "frames": f.frames,
            "view_size": [f.first.width, f.first.height],
            "alone_fps": round(alone_fps),
            "together_fps": round(together_fps),
            "together_to_alone": round(together_fps / alone_fps),
            "ms_2d_per_frame_alone": round(inference_ms),
            "stages_real": stage(&f.real),
            "stages_synthetic_5_people": stage(&f.synthetic),
        })
    );
}
