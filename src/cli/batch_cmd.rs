//! `posecam batch plan|run|status|merge`: a collection of videos as one resumable job.

use crate::cli::console::{noteln, outln, set_failure_code};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use posecam::batch::inputs::{absolute, expand};
use posecam::batch::merge::merge;
use posecam::batch::run::{run_items, to_do, RunEvent};
use posecam::batch::{
    self, BatchError, BatchOptions, Counts, ItemState, Judge, OutputKinds, Plan, Shard,
    EXIT_BAD_INPUT, EXIT_RETRY,
};
use posecam::infer::Device;

use super::{InputArgs, ModelArgs, NetArgs, ThresholdArgs, TrackArgs, VideoArgs};

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Freeze the list of inputs and the export options into DIR (manifest.jsonl, plan.json).
    Plan(PlanArgs),
    /// Run this task's share of the items; items already done are skipped.
    ///
    /// Exit status: 0 when every item of the shard is done, 65 when only bad inputs failed
    /// (retrying will not help), 75 for any other failure (retrying may), 130 after a signal.
    Run(RunArgs),
    /// Count the items done, failed, pending and stale (input or options changed).
    Status(StatusArgs),
    /// Write summary.csv, tracks.csv (all items) and resubmit.txt; exits 65 or 75 while any item is
    /// failed or pending.
    Merge(MergeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// The annotated video (a picture for an image).
    Video,
    /// Keypoints as JSON lines.
    Jsonl,
    /// Tracks as CSV (needs tracking).
    Csv,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Videos and images: files, folders (searched recursively), globs ("clips/**/*.mp4") and @list
    /// files (one input per line).
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// The batch folder: outputs mirror the inputs' tree here.
    #[arg(long)]
    pub out: PathBuf,
    /// Outputs of each item (default: video,jsonl and csv when tracking).
    #[arg(long, value_delimiter = ',')]
    pub write: Vec<OutputKind>,
    /// ONNX model (default: POSECAM_MODEL, else the best model found in models/).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Replace a different plan in DIR, or outputs already there.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub video: VideoArgs,
    #[command(flatten)]
    pub net: NetArgs,
    #[command(flatten)]
    pub inputs_limits: InputArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(flatten)]
    pub tracking: TrackArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The batch folder `batch plan` wrote.
    pub dir: PathBuf,
    /// K/N: run items i with i mod N = K; auto: from the array task's environment (Slurm, Kubernetes
    /// Indexed Job, AWS Batch). Default: every item.
    #[arg(long)]
    pub shard: Option<String>,
    /// The shard count, for `--shard auto` on Kubernetes (its Job's completions).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Run every item of the shard again, done or not.
    #[arg(long)]
    pub force: bool,
    /// auto (CUDA if it works, else CPU), cpu, cuda or cuda:N (cuda is the first GPU in
    /// CUDA_VISIBLE_DEVICES: the engine places GPUs, one task per GPU).
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Parallel inference workers, at most one per core.
    #[arg(long)]
    pub infer_workers: Option<usize>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub dir: PathBuf,
    /// One JSON object on stdout instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    pub dir: PathBuf,
    /// The shard count the array ran with (default: the one the records name).
    #[arg(long)]
    pub shards: Option<usize>,
}

pub fn run(command: BatchCommand) -> Result<()> {
    match command {
        BatchCommand::Plan(a) => plan(a),
        BatchCommand::Run(a) => {
            // Anything that stops a run before its items are judged may pass on a retry.
            set_failure_code(EXIT_RETRY);
            run_shard(a)
        }
        BatchCommand::Status(a) => status(a),
        BatchCommand::Merge(a) => merge_cmd(a),
    }
}

fn output_kinds(args: &PlanArgs) -> Result<OutputKinds> {
    let tracking = !args.tracking.no_track;
    if args.write.is_empty() {
        return Ok(OutputKinds {
            video: true,
            jsonl: true,
            csv: tracking,
        });
    }
    let has = |k| args.write.contains(&k);
    if has(OutputKind::Csv) && !tracking {
        bail!("--write csv needs tracking: leave out --no-track or csv");
    }
    Ok(OutputKinds {
        video: has(OutputKind::Video),
        jsonl: has(OutputKind::Jsonl),
        csv: has(OutputKind::Csv),
    })
}

fn plan(args: PlanArgs) -> Result<()> {
    let dir = absolute(&args.out);
    if dir.exists() && !dir.is_dir() {
        bail!("{}: exists and is not a folder", dir.display());
    }
    let found = expand(&args.inputs, &dir)?;
    if found.is_empty() {
        return Err(BatchError::NoInputs.into());
    }
    let model_args = ModelArgs {
        model: args.model.clone(),
        device: Device::Cpu,
        threads: None,
        net: args.net.clone(),
    };
    let model = absolute(&model_args.model_path()?);
    if !model.is_file() {
        bail!("{}: no such model file", model.display());
    }
    let options = BatchOptions {
        model,
        net: args.net.config(),
        thresholds: args.thresholds.thresholds(),
        tracking: args.tracking.settings(),
        style: args.video.style(&args.tracking),
        crf: args.video.crf,
        preset: args.video.encode().preset,
        outputs: output_kinds(&args)?,
        max_pixels: args.inputs_limits.max_pixels,
    };
    let items = batch::plan::items_for(&found, options.outputs)?;
    let new = Plan::new(&dir, options, items);
    match Plan::read(&dir) {
        Ok(old) if old.same_as(&new) => {
            noteln!(
                "{}: plan unchanged ({} items)",
                dir.display(),
                new.items.len()
            );
            return Ok(());
        }
        Ok(_) if !args.overwrite => return Err(BatchError::OtherPlan(dir).into()),
        Ok(_) => {}
        Err(BatchError::NoPlan(_)) => check_fresh(&new, &found, args.overwrite)?,
        Err(e) => return Err(e.into()),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    new.write()?;
    let images = found
        .iter()
        .filter(|f| batch::inputs::is_image(&f.path))
        .count();
    noteln!(
        "planned {} items ({} videos, {images} images) into {}: options {}; next: posecam batch run {}",
        new.items.len(),
        new.items.len() - images,
        dir.display(),
        new.file.options_hash,
        dir.display()
    );
    Ok(())
}

/// A new batch folder replaces nothing unasked, and no output may be an input.
fn check_fresh(plan: &Plan, found: &[batch::inputs::FoundInput], overwrite: bool) -> Result<()> {
    let inputs: std::collections::HashSet<&Path> = found.iter().map(|f| f.path.as_path()).collect();
    for item in &plan.items {
        for out in item.outputs.all() {
            let path = plan.output_path(out);
            if inputs.contains(path.as_path()) {
                bail!(
                    "{} would overwrite an input: plan into another --out folder",
                    path.display()
                );
            }
            if path.symlink_metadata().is_ok() && !overwrite {
                bail!(
                    "{} already exists (pass --overwrite to replace it)",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

fn shard_of(args: &RunArgs) -> Result<Shard, BatchError> {
    match args.shard.as_deref() {
        None => Ok(Shard::WHOLE),
        Some("auto") => Shard::from_env(|name| std::env::var(name).ok(), args.shards),
        Some(text) => Shard::parse(text),
    }
}

fn judge_of(plan: &Plan) -> Result<Judge> {
    Ok(Judge {
        model_sha256: batch::records::model_checksum(&plan.file.options.model)?,
        options_hash: plan.file.options_hash.clone(),
    })
}

fn run_shard(args: RunArgs) -> Result<()> {
    let plan = Plan::read(&absolute(&args.dir))?;
    let shard = shard_of(&args)?;
    let states = batch::states(&plan)?;
    let positions = to_do(&plan, &states, shard, args.force);
    let owned = (0..plan.items.len()).filter(|i| shard.owns(*i)).count();
    if positions.is_empty() {
        noteln!("batch {shard}: nothing to do: all {owned} items of this shard are done");
        return Ok(());
    }
    noteln!(
        "batch {shard}: {} of {owned} items to run ({} done already)",
        positions.len(),
        owned - positions.len()
    );
    let model = ModelArgs {
        model: Some(plan.file.options.model.clone()),
        device: args.device,
        threads: args.threads,
        net: NetArgs {
            net_height: plan.file.options.net.net_height,
            scales: plan.file.options.net.scales.clone(),
        },
    };
    let engines = model.load_workers(args.infer_workers)?;
    if let Some(e) = engines.first() {
        tracing::info!("model {} on {}", e.model_path().display(), e.provider());
    }
    let judge = judge_of(&plan)?;
    let mut progress = Progress::new(&plan, &positions, shard);
    let summary = run_items(&plan, &positions, engines, &judge, shard, |e| {
        progress.on(e)
    })?;
    noteln!(
        "batch {shard}: {} done, {} bad input, {} failed; {} frames in {:.1} s",
        summary.done,
        summary.bad_input,
        summary.failed,
        summary.frames,
        progress.start.elapsed().as_secs_f64()
    );
    let code = summary.exit_code();
    if code != 0 {
        set_failure_code(code);
        bail!(
            "{} of {} items failed{}: `posecam batch status {}` lists them",
            summary.bad_input + summary.failed,
            positions.len(),
            if code == EXIT_BAD_INPUT {
                " (bad inputs: running again will not help)"
            } else {
                ""
            },
            plan.dir.display()
        );
    }
    Ok(())
}

/// Plain progress lines (a Slurm or pod log reads them as well as a terminal): item k of n, frames,
/// fps, ETA from the bytes left.
struct Progress {
    shard: Shard,
    start: Instant,
    last_line: Instant,
    bytes_total: u64,
    bytes_done: u64,
}

impl Progress {
    fn new(plan: &Plan, positions: &[usize], shard: Shard) -> Self {
        Self {
            shard,
            start: Instant::now(),
            last_line: Instant::now(),
            bytes_total: positions.iter().map(|&i| plan.items[i].size).sum(),
            bytes_done: 0,
        }
    }

    fn eta(&self) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        if self.bytes_done == 0 {
            return String::new();
        }
        let rate = self.bytes_done as f64 / elapsed.max(1e-3);
        let left = self.bytes_total.saturating_sub(self.bytes_done) as f64 / rate;
        format!(", eta {left:.0} s")
    }

    fn on(&mut self, event: RunEvent<'_>) {
        let shard = self.shard;
        match event {
            RunEvent::Progress { k, n, item, frames } => {
                if self.last_line.elapsed() < Duration::from_secs(2) {
                    return;
                }
                self.last_line = Instant::now();
                noteln!(
                    "batch {shard}: item {k} of {n} {}: {frames} frames{}",
                    item.input.display(),
                    self.eta()
                );
            }
            RunEvent::Finished { k, n, item, record } => {
                self.bytes_done += item.size;
                match &record.error {
                    None => noteln!(
                        "batch {shard}: item {k} of {n} {}: done, {} frames in {:.1} s ({:.1} fps){}",
                        item.input.display(),
                        record.frames,
                        record.seconds,
                        record.frames as f64 / record.seconds.max(1e-9),
                        self.eta()
                    ),
                    Some(error) => noteln!(
                        "batch {shard}: item {k} of {n} {}: FAILED ({}): {error}",
                        item.input.display(),
                        if record.outcome == batch::records::Outcome::BadInput {
                            "bad input"
                        } else {
                            "may pass on a retry"
                        }
                    ),
                }
            }
        }
    }
}

fn status(args: StatusArgs) -> Result<()> {
    let plan = Plan::read(&absolute(&args.dir))?;
    let states = batch::states(&plan)?;
    let mut counts = Counts::default();
    for (state, _) in &states {
        counts.add(*state);
    }
    if args.json {
        let failed: Vec<_> = plan
            .items
            .iter()
            .zip(&states)
            .filter(|(_, (s, _))| *s == ItemState::Failed)
            .map(|(item, (_, r))| {
                serde_json::json!({
                    "id": item.id,
                    "input": item.input,
                    "error": r.as_ref().and_then(|r| r.error.clone()),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "items": counts.total(), "counts": counts, "failed": failed })
        );
        return Ok(());
    }
    outln!(
        "{}: {} items: {} done, {} failed, {} pending, {} stale",
        plan.dir.display(),
        counts.total(),
        counts.done,
        counts.failed,
        counts.pending,
        counts.stale
    );
    for (item, (state, record)) in plan.items.iter().zip(&states) {
        if matches!(state, ItemState::Failed | ItemState::Stale) {
            let why = record.as_ref().and_then(|r| r.error.clone());
            outln!(
                "  {} {} {}{}",
                state.name(),
                item.id,
                item.input.display(),
                why.map(|w| format!(": {w}")).unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn merge_cmd(args: MergeArgs) -> Result<()> {
    let plan = Plan::read(&absolute(&args.dir))?;
    let states = batch::states(&plan)?;
    let report = merge(&plan, &states, args.shards)?;
    let c = report.counts;
    outln!(
        "{}: {} items: {} done, {} failed, {} pending, {} stale -> {}, {}",
        plan.dir.display(),
        c.total(),
        c.done,
        c.failed,
        c.pending,
        c.stale,
        batch::SUMMARY,
        batch::TRACKS
    );
    if report.resubmit.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = report.resubmit.iter().map(|s| s.to_string()).collect();
    outln!(
        "resubmit shards {} of {} (written to {}), e.g. sbatch --array={} ...",
        list.join(","),
        report.shards,
        batch::RESUBMIT,
        list.join(",")
    );
    let only_bad_inputs = c.pending == 0
        && c.stale == 0
        && states.iter().all(|(s, r)| {
            *s != ItemState::Failed
                || r.as_ref()
                    .is_some_and(|r| r.outcome == batch::records::Outcome::BadInput)
        });
    set_failure_code(if only_bad_inputs {
        EXIT_BAD_INPUT
    } else {
        EXIT_RETRY
    });
    bail!("{} of {} items are not done", c.total() - c.done, c.total())
}
