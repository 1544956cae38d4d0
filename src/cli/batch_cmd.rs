//! `posecam batch plan|run|status|merge`: a collection of videos as one resumable job.

use crate::cli::console::{noteln, set_failure_code};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use posecam::batch::gate::RunGate;
use posecam::batch::inputs::{absolute, expand};
use posecam::batch::run::{run_items, to_do, RunEvent};
use posecam::batch::{
    self, BatchError, BatchOptions, Judge, OutputKinds, Plan, Shard, EXIT_BAD_INPUT, EXIT_RETRY,
    EXIT_USAGE,
};
use posecam::infer::Device;

use super::batch_report::{MergeArgs, StatusArgs, SHARDS};
use super::{
    number_in, InputArgs, ModelArgs, NetArgs, ThresholdArgs, TrackArgs, VideoArgs, THREADS,
};

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Freeze the list of inputs and the export options into DIR (manifest.jsonl, plan.json).
    Plan(Box<PlanArgs>),
    /// Run this task's share of the items; items already done, or held by another run, are skipped.
    ///
    /// Exit status: 0 when every item of the shard is done (or another run has it), 65 when only
    /// bad inputs or outputs in the way failed (retrying will not help), 2 when the command or the
    /// batch folder is wrong (a bad --shard, no or a damaged plan, a model that does not load), 75
    /// for any other failure (retrying may), 130 after a signal.
    Run(RunArgs),
    /// Count the items done, failed, pending and stale (input, options or an output changed), and
    /// name files an earlier plan left.
    Status(StatusArgs),
    /// Write summary.csv, tracks.csv (all items) and resubmit.txt; exits 65 or 75 while any item is
    /// failed or pending (65 when retrying will not help), 2 when the batch folder is wrong.
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
    /// Motion files in <stem>_motion/ (needs tracking): filtered tracks, angles, .trc, .mot, .c3d
    /// and plots, as `export --motion` writes them; `merge` joins everyone's angles in angles.csv.
    Motion,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Videos and images: files, folders (searched recursively), globs ("clips/**/*.mp4") and @list
    /// files (one input per line).
    #[arg(required = true)]
    pub inputs: Vec<std::ffi::OsString>,
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
    #[command(flatten)]
    pub motion: super::motion_args::MotionSettingsArgs,
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
    #[arg(long, value_parser = number_in(SHARDS))]
    pub shards: Option<usize>,
    /// Run every item of the shard again, done or not (items another run holds are still skipped).
    #[arg(long)]
    pub force: bool,
    /// auto (CUDA if it works, else CPU), cpu, cuda or cuda:N (cuda is the first GPU in
    /// CUDA_VISIBLE_DEVICES: the engine places GPUs, one task per GPU).
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// ONNX Runtime intra-op threads per session.
    #[arg(long, value_parser = number_in(THREADS))]
    pub threads: Option<usize>,
    /// Parallel inference workers, at most one per core.
    #[arg(long, value_parser = number_in(1..=4096))]
    pub infer_workers: Option<usize>,
}

pub fn run(command: BatchCommand) -> Result<()> {
    let result = match command {
        BatchCommand::Plan(a) => plan(*a),
        BatchCommand::Run(a) => {
            // Anything that stops a run before its items are judged may pass on a retry.
            set_failure_code(EXIT_RETRY);
            run_shard(a)
        }
        BatchCommand::Status(a) => super::batch_report::status(a),
        BatchCommand::Merge(a) => super::batch_report::merge(a),
    };
    if let Err(e) = &result {
        if let Some(code) = permanent_code(e) {
            set_failure_code(code);
        }
    }
    result
}

/// The exit status of an error a person must mend first (a batch folder or command that is wrong,
/// a model that does not load), whatever the command's usual failure code.
fn permanent_code(e: &anyhow::Error) -> Option<i32> {
    use posecam::infer::EngineError;
    e.chain().find_map(|cause| {
        if let Some(b) = cause.downcast_ref::<BatchError>() {
            return (b.exit_code() == EXIT_USAGE).then_some(EXIT_USAGE);
        }
        match cause.downcast_ref::<EngineError>()? {
            EngineError::ModelMissing(_)
            | EngineError::ModelLoad { .. }
            | EngineError::ModelIsFolder(_)
            | EngineError::ModelFile(_)
            | EngineError::ModelContract { .. } => Some(EXIT_USAGE),
            _ => None,
        }
    })
}

fn output_kinds(args: &PlanArgs) -> Result<OutputKinds> {
    let tracking = !args.tracking.no_track;
    if args.write.is_empty() {
        return Ok(OutputKinds {
            video: true,
            jsonl: true,
            csv: tracking,
            motion: false,
        });
    }
    let has = |k| args.write.contains(&k);
    for (kind, name) in [(OutputKind::Csv, "csv"), (OutputKind::Motion, "motion")] {
        if has(kind) && !tracking {
            bail!("--write {name} needs tracking: leave out --no-track or {name}");
        }
    }
    Ok(OutputKinds {
        video: has(OutputKind::Video),
        jsonl: has(OutputKind::Jsonl),
        csv: has(OutputKind::Csv),
        motion: has(OutputKind::Motion),
    })
}

fn plan(args: PlanArgs) -> Result<()> {
    let dir = absolute(&args.out);
    if dir.exists() && !dir.is_dir() {
        bail!("{}: exists and is not a folder", dir.display());
    }
    let expanded = expand(&args.inputs, &dir)?;
    for skipped in &expanded.skipped {
        noteln!("skipped {}: {}", skipped.path.display(), skipped.reason);
    }
    let found = expanded.inputs;
    if found.is_empty() {
        return Err(BatchError::NoInputs.into());
    }
    let options = plan_options(&args)?;
    let items = batch::plan::items_for(&found, options.outputs)?;
    let new = Plan::new(&dir, options, items, args.overwrite);
    match Plan::read(&dir) {
        Ok(old) if old.same_as(&new) => {
            noteln!(
                "{}: plan unchanged ({} items)",
                dir.display(),
                new.items.len()
            );
            if args.overwrite {
                remove_leftovers(&new);
            }
            return Ok(());
        }
        Ok(_) if !args.overwrite => return Err(BatchError::OtherPlan(dir).into()),
        Err(e @ BatchError::Corrupt { .. }) if !args.overwrite => {
            return Err(anyhow::Error::new(e)
                .context("the batch folder's plan is damaged: pass --overwrite to plan it anew"))
        }
        Ok(_) | Err(BatchError::Corrupt { .. }) => {}
        Err(BatchError::NoPlan(_)) => check_fresh(&new, &found, args.overwrite)?,
        Err(e) => return Err(e.into()),
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    new.write()?;
    if args.overwrite {
        remove_leftovers(&new);
    }
    let images = found
        .iter()
        .filter(|f| batch::inputs::is_image(&f.path))
        .count();
    noteln!(
        "planned {} items ({} videos, {images} images) into {}: options {}{}; next: posecam batch run {}",
        new.items.len(),
        new.items.len() - images,
        dir.display(),
        new.file.options_hash,
        match expanded.skipped.len() {
            0 => String::new(),
            n => format!("; {n} files skipped (named above)"),
        },
        dir.display()
    );
    Ok(())
}

/// `--overwrite`: the files earlier plans wrote that this one no longer names go.
fn remove_leftovers(plan: &Plan) {
    for removed in batch::records::remove_leftovers(plan) {
        noteln!(
            "removed {} (an earlier plan's output)",
            plan.dir.join(removed).display()
        );
    }
}

/// The export options a plan freezes.
fn plan_options(args: &PlanArgs) -> Result<BatchOptions> {
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
    Ok(BatchOptions {
        model,
        net: args.net.config(),
        thresholds: args.thresholds.thresholds(),
        tracking: args.tracking.settings(),
        style: args.video.style(&args.tracking),
        crf: args.video.crf,
        preset: args.video.encode().preset,
        outputs: output_kinds(args)?,
        max_pixels: args.inputs_limits.max_pixels,
        motion: output_kinds(args)?
            .motion
            .then(|| args.motion.settings())
            .transpose()?,
    })
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
        Some("auto") => Shard::from_env(|name| std::env::var(name).ok(), args.shards),
        _ if args.shards.is_some() => Err(BatchError::ShardsWithoutAuto),
        None => Ok(Shard::WHOLE),
        Some(text) => Shard::parse(text),
    }
}

fn run_shard(args: RunArgs) -> Result<()> {
    let shard = shard_of(&args)?;
    let plan = Plan::read(&absolute(&args.dir))?;
    if let Some(n) = args.infer_workers {
        let cores = posecam::infer::WorkerPlan::cores();
        if n > cores {
            return Err(BatchError::Usage(format!(
                "--infer-workers {n}: this machine has {cores} cores (one worker per core at most)"
            ))
            .into());
        }
    }
    let judge = Judge::of(&plan)?;
    let states = batch::states(&plan, &judge, batch::Check::Stamps);
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
            net_height: (!plan.file.options.net.short_side)
                .then_some(plan.file.options.net.net_height),
            scales: plan.file.options.net.scales.clone(),
        },
    };
    let engines = model.load_workers(args.infer_workers)?;
    if let Some(e) = engines.first() {
        tracing::info!("model {} on {}", e.model_path().display(), e.provider());
    }
    let gate = RunGate::new(&plan, &judge, args.force)
        .with_context(|| format!("{}: cannot read", plan.dir.display()))?;
    let mut progress = Progress::new(&plan, &positions, shard);
    let summary = run_items(&plan, &positions, engines, gate, &judge, shard, |e| {
        progress.on(e)
    })?;
    noteln!(
        "batch {shard}: {} done, {} bad input or refused, {} failed, {} left to another run; {} frames in {:.1} s",
        summary.done,
        summary.bad_input,
        summary.failed,
        summary.skipped,
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
                " (bad inputs or outputs in the way: running again will not help)"
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
            RunEvent::Skipped { k, n, item, why } => {
                self.bytes_done += item.size;
                noteln!(
                    "batch {shard}: item {k} of {n} {}: skipped: {why}",
                    item.input.display()
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
                        match record.outcome {
                            batch::records::Outcome::BadInput => "bad input",
                            batch::records::Outcome::Refused => "refused",
                            _ => "may pass on a retry",
                        }
                    ),
                }
            }
        }
    }
}
