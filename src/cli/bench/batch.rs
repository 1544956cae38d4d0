//! `posecam bench --batch`: a batch of short clips against one export of the same frames joined into a
//! single clip, in the same run. What a batch costs per item shows as the difference.

use crate::cli::console::outln;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use posecam::batch::{self, BatchOptions, OutputKinds, Plan};
use posecam::pipeline::{export_file, ExportRequest, ExportSettings};
use posecam::render::OverlayStyle;
use posecam::track::TrackerSettings;
use posecam::video::{EncodeOptions, VideoFormat, VideoReader, VideoWriter};

use super::super::ModelArgs;

/// The clips are cut from this video (people walk in and out of it).
const SOURCE: &str = "../shared/data/video/one-by-one-person-768x432-10fps.mp4";

pub struct BatchBench {
    pub clips: usize,
    pub clip_seconds: f64,
    pub video: Option<PathBuf>,
}

pub fn run(bench: &BatchBench, model: &ModelArgs) -> Result<()> {
    if !(1..=1000).contains(&bench.clips) || !(0.5..=600.0).contains(&bench.clip_seconds) {
        bail!("--batch-clips must be 1-1000 and --clip-seconds 0.5-600");
    }
    let source = match &bench.video {
        Some(v) => v.clone(),
        None => posecam::setup::paths::find_in_checkout(Path::new(SOURCE))
            .with_context(|| format!("no --video given and {SOURCE} not found"))?,
    };
    let work = tempfile::tempdir()?;
    let clips_dir = work.path().join("clips");
    std::fs::create_dir(&clips_dir)?;
    let joined = work.path().join("joined.mp4");
    let frames = cut_clips(&source, &clips_dir, &joined, bench)?;
    let options = options(model)?;
    let settings =
        batch::run::settings_of(&Plan::new(work.path(), options.clone(), Vec::new(), false));

    // The single clip first, then the batch: both with engines loaded beforehand, outputs alike.
    let single_s = time_single(&joined, work.path(), model, &settings)?;
    let (batch_s, done) = time_batch(&clips_dir, &work.path().join("batch"), model, options)?;
    if done != bench.clips {
        bail!("only {done} of {} clips were done", bench.clips);
    }
    let (batch_fps, single_fps) = (frames as f64 / batch_s, frames as f64 / single_s);
    let startup_ms = (batch_s - single_s) * 1e3 / bench.clips as f64;
    outln!(
        "{} clips of {:.1} s ({frames} frames): batch {batch_fps:.2} fps, one joined clip \
         {single_fps:.2} fps: {:.1} %; {startup_ms:.0} ms more per item",
        bench.clips,
        bench.clip_seconds,
        100.0 * batch_fps / single_fps
    );
    outln!(
        "{}",
        serde_json::json!({
            "items": bench.clips,
            "frames": frames,
            "batch_fps": round(batch_fps),
            "single_fps": round(single_fps),
            "batch_to_single": round(batch_fps / single_fps),
            "startup_ms_per_item": round(startup_ms),
        })
    );
    Ok(())
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The export options of both runs: the model's defaults, every output written.
fn options(model: &ModelArgs) -> Result<BatchOptions> {
    Ok(BatchOptions {
        model: model.model_path()?,
        net: model.net()?,
        thresholds: posecam::pose::Thresholds::default(),
        tracking: Some(TrackerSettings::default()),
        style: OverlayStyle::default(),
        crf: 20,
        preset: EncodeOptions::auto_preset().into(),
        outputs: OutputKinds {
            video: true,
            jsonl: true,
            csv: true,
            motion: false,
        },
        max_pixels: posecam::io::inputs::DEFAULT_MAX_PIXELS,
        motion: None,
    })
}

/// Cuts `bench.clips` clips of `clip_seconds` from `source` into `dir`, and the same frames into
/// `joined`; returns the frame count.
fn cut_clips(source: &Path, dir: &Path, joined: &Path, bench: &BatchBench) -> Result<u64> {
    let mut reader = VideoReader::open(source)?;
    let info = reader.info().clone();
    let per_clip = (bench.clip_seconds * info.frame_rate.unwrap_or(25.0)).round() as u64;
    let format = VideoFormat::of(&info);
    let options = EncodeOptions {
        crf: 20,
        preset: "ultrafast".into(),
    };
    let mut all = VideoWriter::create(joined, joined, &format, None, &options)?;
    let mut total = 0;
    for clip in 0..bench.clips {
        let path = dir.join(format!("clip{clip:04}.mp4"));
        let mut writer = VideoWriter::create(&path, &path, &format, None, &options)?;
        let mut first_pts = None;
        for _ in 0..per_clip {
            let Some(frame) = reader.next_frame()? else {
                bail!(
                    "{} is too short for {} clips of {} s",
                    source.display(),
                    bench.clips,
                    bench.clip_seconds
                );
            };
            let start = *first_pts.get_or_insert(frame.pts);
            writer.write(&frame.picture, frame.pts - start)?;
            all.write(&frame.picture, total as i64 * default_step(&info))?;
            total += 1;
        }
        writer.finish(false)?;
    }
    all.finish(false)?;
    Ok(total)
}

/// Timestamp ticks per frame in the source's time base.
fn default_step(info: &posecam::video::VideoInfo) -> i64 {
    let fps = info.frame_rate.unwrap_or(25.0);
    let tb = info.time_base;
    ((tb.denominator() as f64 / tb.numerator().max(1) as f64) / fps)
        .round()
        .max(1.0) as i64
}

fn time_single(
    joined: &Path,
    dir: &Path,
    model: &ModelArgs,
    settings: &ExportSettings,
) -> Result<f64> {
    let engines = model.load_workers(None)?;
    let request = ExportRequest {
        input: joined.to_path_buf(),
        output: dir.join("joined_pose.mp4"),
        jsonl: Some(dir.join("joined.jsonl")),
        json_dir: None,
        csv: Some(dir.join("joined.csv")),
        motion: None,
        overwrite: true,
        max_pixels: posecam::io::inputs::DEFAULT_MAX_PIXELS,
    };
    let t = Instant::now();
    export_file(
        &request,
        engines,
        settings,
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )?;
    Ok(t.elapsed().as_secs_f64())
}

/// Plans and runs the clips as a batch; the time of the run (engines loaded before), and the items done.
fn time_batch(
    clips: &Path,
    out: &Path,
    model: &ModelArgs,
    options: BatchOptions,
) -> Result<(f64, usize)> {
    let found = batch::inputs::expand(&[clips.as_os_str().to_owned()], out)?;
    let items = batch::plan::items_for(&found.inputs, options.outputs)?;
    std::fs::create_dir_all(out)?;
    let plan = Plan::new(out, options, items, false);
    plan.write()?;
    let judge = batch::Judge::of(&plan)?;
    let positions: Vec<usize> = (0..plan.items.len()).collect();
    let engines = model.load_workers(None)?;
    let gate = batch::gate::RunGate::new(&plan, &judge, false)?;
    let t = Instant::now();
    let summary = batch::run::run_items(
        &plan,
        &positions,
        engines,
        gate,
        &judge,
        batch::Shard::WHOLE,
        |_| {},
    )?;
    Ok((t.elapsed().as_secs_f64(), summary.done))
}
