//! `posecam bench --live`: the window's pipeline without a window, beside an export at the same net
//! size, so the ratio of the two is read from one run.

use crate::cli::console::outln;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use posecam::capture::{SourceInfo, SourceSpec};
use posecam::infer::NetConfig;
use posecam::pipeline::{EngineSpec, LiveOptions, LivePipeline, PipelineEvent, PipelineSettings};
use posecam::pose::Thresholds;

use super::{export_figures, round};
use crate::cli::ModelArgs;

#[derive(Debug, Clone, Args)]
pub struct LiveBenchArgs {
    /// With --live: what to read (synthetic, a video or image path, camera:N).
    #[arg(long, default_value = "synthetic")]
    pub source: String,
    /// With --live: seconds measured (after the first result).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// With --live and a synthetic source: its frame rate. Faster than the pipeline, so the pipeline is
    /// what is measured (a slower camera would cap the results at its own rate).
    #[arg(long, default_value_t = 100)]
    pub fps: u32,
    /// With --live: inference workers (default: as many as suit the provider).
    #[arg(long)]
    pub workers: Option<usize>,
}

/// What the live run measured.
struct LiveFigures {
    info: SourceInfo,
    results: usize,
    seconds: f64,
    latency_ms: Vec<f32>,
    inference_ms: Vec<f32>,
    association_ms: Vec<f32>,
    dropped: u64,
    workers: usize,
    net_size: (usize, usize),
}

pub fn run(args: &LiveBenchArgs, model: &ModelArgs) -> Result<()> {
    if !(args.seconds.is_finite() && (0.5..=3600.0).contains(&args.seconds)) {
        bail!(
            "--seconds must be between 0.5 and 3600, got {}",
            args.seconds
        );
    }
    let net = model.net()?;
    let source = match SourceSpec::parse(&args.source).map_err(anyhow::Error::msg)? {
        SourceSpec::Synthetic { width, height, .. } => SourceSpec::Synthetic {
            width,
            height,
            fps: args.fps.clamp(1, 1000),
            frames: 0,
        },
        other => other,
    };
    let engine = EngineSpec {
        model: model.model_path()?,
        device: model.device,
    };
    let live = measure_live(source.clone(), engine, &net, args)?;
    let clip = tempfile::tempdir()?;
    let video = export_clip(&source, &live.info, clip.path())?;
    let export = export_figures(&video, &net, model.load_workers(args.workers)?, Some(300))?;
    print_figures(&live, export.fps, args)
}

fn measure_live(
    source: SourceSpec,
    engine: EngineSpec,
    net: &NetConfig,
    args: &LiveBenchArgs,
) -> Result<LiveFigures> {
    let settings = PipelineSettings {
        net: net.clone(),
        thresholds: Thresholds::default(),
        tracking: Some(posecam::track::TrackerSettings::default()),
    };
    let options = LiveOptions {
        workers: args.workers,
        ..LiveOptions::default()
    };
    let pipeline = LivePipeline::start(source, engine, settings, options, Arc::new(|| {}))?;
    let mut info = None;
    let mut workers = 0;
    let mut figures = Vec::new();
    let warm_up = Duration::from_secs(1);
    let mut window: Option<(Instant, u64)> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for e in pipeline.events() {
            match e {
                PipelineEvent::SourceOpened(i) => info = Some(i),
                PipelineEvent::ModelLoaded { workers: w, .. } => workers = w,
                PipelineEvent::Error(m) | PipelineEvent::SourceFailed(m) => bail!("{m}"),
                PipelineEvent::Ended => bail!("the source ended before the measurement did"),
                PipelineEvent::Reconnecting { reason, .. } => {
                    tracing::warn!("{reason}: reconnecting")
                }
            }
        }
        for r in pipeline.results() {
            let first = *window.get_or_insert((Instant::now() + warm_up, 0));
            if Instant::now() >= first.0 {
                figures.push(r);
            }
        }
        match window {
            Some((start, _)) if start.elapsed().as_secs_f64() >= args.seconds => break,
            None if Instant::now() > deadline => bail!("no result within 60 s"),
            _ => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    let (start, _) = window.context("no result")?;
    let seconds = start.elapsed().as_secs_f64();
    let info = info.context("the source never opened")?;
    let dropped_at_start = figures.first().map_or(0, |r| r.dropped);
    let grid = figures
        .first()
        .map(|r| (r.maps.heatmaps.width(), r.maps.heatmaps.height()));
    drop(pipeline);
    Ok(LiveFigures {
        results: figures.len(),
        seconds,
        latency_ms: figures.iter().map(|r| r.timings.latency_ms).collect(),
        inference_ms: figures.iter().map(|r| r.timings.inference_ms).collect(),
        association_ms: figures.iter().map(|r| r.timings.association_ms).collect(),
        dropped: figures.last().map_or(0, |r| r.dropped) - dropped_at_start,
        workers,
        net_size: grid.map_or((0, 0), |(w, h)| (w * 8, h * 8)),
        info,
    })
}

/// A clip to export for the comparison: the file itself, or frames of the live source's size.
fn export_clip(source: &SourceSpec, info: &SourceInfo, dir: &Path) -> Result<PathBuf> {
    match source {
        SourceSpec::Video(p) => Ok(p.clone()),
        _ => {
            let path = dir.join("live-source.mp4");
            posecam::testkit::maps::write_clip(&path, info.width, info.height, 300)
                .context("writing a clip of the live source's size")?;
            Ok(path)
        }
    }
}

fn percentile(values: &[f32], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    match v.len() {
        0 => 0.0,
        n => v[((n as f64 * p) as usize).min(n - 1)] as f64,
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| v as f64).sum::<f64>() / values.len().max(1) as f64
}

fn print_figures(live: &LiveFigures, export_fps: f64, args: &LiveBenchArgs) -> Result<()> {
    let results_per_s = live.results as f64 / live.seconds.max(1e-9);
    let (p50, p95) = (
        percentile(&live.latency_ms, 0.5),
        percentile(&live.latency_ms, 0.95),
    );
    let inference_ms = mean(&live.inference_ms);
    outln!(
        "live {} ({}x{}): {results_per_s:.2} results/s with {} worker(s), latency p50 {p50:.1} ms \
         p95 {p95:.1} ms, inference {inference_ms:.1} ms, {} dropped in {:.1} s; export at the same \
         net size {export_fps:.2} fps: live/export {:.2}",
        live.info.name,
        live.info.width,
        live.info.height,
        live.workers,
        live.dropped,
        live.seconds,
        results_per_s / export_fps.max(1e-9)
    );
    let figures = serde_json::json!({
        "source": args.source,
        "source_size": [live.info.width, live.info.height],
        "source_fps": live.info.frame_rate,
        "net_size": [live.net_size.0, live.net_size.1],
        "seconds": round(live.seconds),
        "results": live.results,
        "results_per_s": round(results_per_s),
        "latency_ms_p50": round(p50),
        "latency_ms_p95": round(p95),
        "inference_ms": round(inference_ms),
        "association_ms": round(mean(&live.association_ms)),
        "dropped": live.dropped,
        "workers": live.workers,
        "export_fps": round(export_fps),
        "live_to_export_ratio": round(results_per_s / export_fps.max(1e-9)),
        "latency_p50_to_inference": round(p50 / inference_ms.max(1e-9)),
    });
    outln!("{figures}");
    Ok(())
}
