//! `posecam export`: an annotated video plus the keypoints of every frame.

use crate::cli::console::{noteln, outln};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use posecam::io::interrupt::{self, EXIT_INTERRUPTED};
use posecam::pipeline::{self, ExportPlan, ExportProgress, ExportRequest, ExportSettings};

use super::{InputArgs, ModelArgs, ThresholdArgs, TrackArgs, VideoArgs};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Input video (anything FFmpeg reads: mp4, mkv, avi, mov, webm, gif, ...) or a stream URL
    /// (rtsp://, http(s)://, udp://, srt://...) to record. With --calib: one video per camera.
    #[arg(required = true, num_args = 1.., value_name = "INPUT")]
    pub input: Vec<PathBuf>,
    /// Annotated output video (.mp4, .mkv, .mov); with --calib, the folder for the 3D files.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Keypoints as JSON lines: one line per frame with its index, time and people.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also write OpenPose's per-frame files (<stem>_<12-digit frame>_keypoints.json) into this folder.
    /// With --calib: each view's 2D in <folder>/<view>_json/, the layout Pose2Sim reads.
    #[arg(long)]
    pub json_dir: Option<PathBuf>,
    /// Tracks as CSV in long format (frame,time,person,part,x,y,score,x_smooth,y_smooth).
    #[arg(long, conflicts_with = "no_track")]
    pub csv: Option<PathBuf>,
    /// Replace existing outputs.
    #[arg(long)]
    pub overwrite: bool,
    /// Print the per-stage statistics as JSON on stdout at the end.
    #[arg(long)]
    pub stats: bool,
    /// Stop after this many seconds of the input (for streams; Ctrl-C also finishes a playable file).
    #[arg(long, value_name = "SECONDS", value_parser = super::number_in(0.1..=1e7))]
    pub duration: Option<f64>,
    /// Print the processing rate (fps) in the corner of the video.
    #[arg(long)]
    pub fps_overlay: bool,
    /// Parallel inference workers, at most one per core (default: 2+ on CPU, sharing the cores; 1 on
    /// CUDA).
    #[arg(long)]
    pub infer_workers: Option<usize>,
    #[command(flatten)]
    pub video: VideoArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(flatten)]
    pub tracking: TrackArgs,
    #[command(flatten)]
    pub motion: super::motion_args::MotionArgs,
    #[command(flatten)]
    pub scene: super::scene_args::SceneArgs,
}

/// The first option given that a 3D export has no use for (rather than ignoring it silently).
fn single_view_only(args: &ExportArgs) -> Option<&'static str> {
    [
        (args.json.is_some(), "--json"),
        (args.csv.is_some(), "--csv"),
        (args.motion.motion.is_some(), "--motion"),
        (args.duration.is_some(), "--duration"),
        (args.fps_overlay, "--fps-overlay"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag))
}

/// `export` with `--calib`: several views into one 3D scene.
fn run_scene(args: &ExportArgs, calib: PathBuf) -> Result<()> {
    if let Some(flag) = single_view_only(args) {
        anyhow::bail!(
            "{flag} is for one view; with --calib the 3D files go in the --output folder \
             (and --json-dir writes each view's 2D)"
        );
    }
    let run = super::scene_args::SceneRun {
        input: &args.input,
        output: &args.output,
        json_dir: args.json_dir.as_ref(),
        overwrite: args.overwrite,
        stats: args.stats,
        infer_workers: args.infer_workers,
        model: &args.model,
        thresholds: &args.thresholds,
        video: &args.video,
        tracking: &args.tracking,
        scene: &args.scene,
    };
    super::scene_args::run(&run, calib)
}

pub fn run(args: ExportArgs) -> Result<()> {
    if let Some(calib) = args.scene.calib.clone() {
        return run_scene(&args, calib);
    }
    let [input] = &args.input[..] else {
        anyhow::bail!(
            "{} inputs: several views make a 3D scene, which needs their calibration (--calib FILE)",
            args.input.len()
        );
    };
    let net = args.model.net()?;
    let request = ExportRequest {
        input: input.clone(),
        output: args.output.clone(),
        jsonl: args.json.clone(),
        json_dir: args.json_dir.clone(),
        csv: args.csv.clone(),
        motion: args.motion.request()?,
        overwrite: args.overwrite,
        max_pixels: args.inputs.max_pixels,
    };
    // A stream opened now stops reading as soon as the first signal cancels the export (a read
    // waits inside FFmpeg, e.g. for a keyframe that is seconds away).
    let cancel = Arc::new(AtomicBool::new(false));
    posecam::video::network::set_thread_stop_flags(vec![cancel.clone()]);
    // Inputs and outputs are checked (and the outputs staged) before the model loads.
    let plan = ExportPlan::new(&request)?;
    let info = plan.input_info().clone();
    let engines = args.model.load_workers(args.infer_workers)?;
    if let Some(first) = engines.first() {
        let size = (info.width as usize, info.height as usize);
        args.inputs.check_memory(first, size, &net, engines.len())?;
    }
    if let Some(e) = engines.first() {
        tracing::info!(
            "model {} on {} ({} inference worker{})",
            e.model_path().display(),
            e.provider(),
            engines.len(),
            if engines.len() == 1 { "" } else { "s" }
        );
    }
    tracing::info!("{}: {}", input.display(), pipeline::describe(&info));
    interrupt::finish_on_first_signal(cancel.clone());
    let settings = ExportSettings {
        net,
        thresholds: args.thresholds.thresholds(),
        tracking: args.tracking.settings(),
        style: args.video.style(&args.tracking),
        fps_overlay: args.fps_overlay,
        max_duration_s: args.duration,
        encode: args.video.encode(),
    };
    let mut reporter = Reporter::new(info.frames);
    let finished = plan.run(engines, &settings, cancel.clone(), |p| reporter.update(p));
    reporter.finish();
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        // Stopped by a signal: 130 whether or not any frame was done.
        super::console::set_failure_code(EXIT_INTERRUPTED);
    }
    let finished = finished?;
    if args.stats {
        outln!("{}", serde_json::to_string(&finished.report)?);
    }
    // Figures that did not reach standard output (a full disk) fail the export: nothing committed.
    super::console::healthy()?;
    let report = finished.commit()?;
    print_summary(&report, &args);
    if report.partial {
        // The files are complete and playable; the status tells scripts it is not the whole video.
        std::process::exit(EXIT_INTERRUPTED);
    }
    Ok(())
}

fn print_summary(report: &pipeline::ExportReport, args: &ExportArgs) {
    let per_frame = report
        .stages
        .iter()
        .map(|s| format!("{} {:.1} ms", s.name, s.busy_ms_mean))
        .collect::<Vec<_>>()
        .join(", ");
    let written: Vec<String> = [
        Some(&args.output),
        args.json.as_ref(),
        args.json_dir.as_ref(),
        args.csv.as_ref(),
        args.motion.motion.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|p| p.display().to_string())
    .collect();
    noteln!(
        "{} {} frames in {:.1} s ({:.1} fps, {:.2} people/frame; per frame: {per_frame}) -> {}",
        if report.partial {
            "PARTIAL export (cancelled):"
        } else {
            "exported"
        },
        report.frames,
        report.elapsed_s,
        report.fps,
        report.people_per_frame,
        written.join(", "),
    );
}

/// A progress bar on a terminal, a plain line every few seconds otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    start: Instant,
    last_line: Instant,
}

impl Reporter {
    fn new(total: Option<u64>) -> Self {
        let bar = (std::io::stderr().is_terminal() && !super::console::quiet()).then(|| {
            let bar = ProgressBar::new(total.unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} frames  {per_sec}  eta {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            total,
            start: Instant::now(),
            last_line: Instant::now(),
        }
    }

    fn update(&mut self, p: ExportProgress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.frames_done);
            bar.set_message(format!("{} people", p.people));
            return;
        }
        if self.last_line.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.last_line = Instant::now();
        let fps = p.frames_done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        match self.total.or(p.frames_total) {
            Some(t) if t > 0 => noteln!(
                "export: {}/{t} frames ({:.0}%), {fps:.1} fps, eta {:.0} s",
                p.frames_done,
                100.0 * p.frames_done as f64 / t as f64,
                (t.saturating_sub(p.frames_done)) as f64 / fps.max(1e-9)
            ),
            _ => noteln!("export: {} frames, {fps:.1} fps", p.frames_done),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
