//! Collections of videos as one resumable job, on one machine or spread over a cluster engine's array
//! tasks (Slurm job arrays, Kubernetes Indexed Jobs, AWS Batch array jobs).
//!
//! posecam schedules nothing itself: the engine places tasks, GPUs and retries. Every item is
//! idempotent and atomic: its outputs go through the output transaction, and a record written last
//! says it is done, so a task that is stopped, evicted or rerun redoes only what is not.
//!
//! ```text
//! DIR/plan.json          the export options, once, with their hash
//! DIR/manifest.jsonl     one line per item: id, input, size, mtime, outputs (frozen, sorted)
//! DIR/a/b/clip_pose.mp4  outputs mirror the input tree (clip.jsonl, clip.csv beside it)
//! DIR/.posecam/records/  one record per item run: done or failed, and against what
//! DIR/summary.csv        `merge`: one row per item; tracks.csv: every item's tracks; resubmit.txt
//! ```

pub mod gate;
pub mod inputs;
pub mod merge;
pub mod plan;
pub mod records;
pub mod run;
pub mod shard;

use std::path::{Path, PathBuf};

pub use plan::{BatchOptions, OutputKinds, Plan};
pub use records::{Check, ItemState, Judge};
pub use shard::Shard;

/// Exit status when some item's input is bad and nothing else failed: running again will not help
/// (Kubernetes' `podFailurePolicy` gives it `FailIndex`). sysexits' EX_DATAERR.
pub const EXIT_BAD_INPUT: i32 = 65;
/// Exit status for any other failure (or items left to do): running again may help. sysexits'
/// EX_TEMPFAIL.
pub const EXIT_RETRY: i32 = 75;
/// Exit status when the command or the batch folder is wrong (a bad `--shard`, an array index that
/// is not a shard, no plan, a damaged or edited plan, a model that does not load): running again
/// will not help until a person fixes it. The same code clap gives a command line it cannot parse.
pub const EXIT_USAGE: i32 = 2;

pub const PLAN: &str = "plan.json";
pub const MANIFEST: &str = "manifest.jsonl";
pub const RECORDS: &str = ".posecam/records";
pub const SUMMARY: &str = "summary.csv";
pub const TRACKS: &str = "tracks.csv";
pub const RESUBMIT: &str = "resubmit.txt";
/// Every item's angles, joined by `merge` when the plan writes motion files.
pub const ANGLES: &str = "angles.csv";
/// Files of the batch itself: no item may write one.
pub const RESERVED: &[&str] = &[PLAN, MANIFEST, SUMMARY, TRACKS, RESUBMIT, ANGLES];

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{0}: a stream cannot be part of a batch (a batch reads files to their end): record it with `posecam export URL --duration SECONDS`")]
    StreamInput(String),
    #[error("{0}: no such file or folder")]
    NoSuchInput(PathBuf),
    #[error("{path} is a {kind}, not a file: a batch reads files to their end")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{0}: no video or image in this folder")]
    EmptyFolder(PathBuf),
    #[error("{0}: no file matches")]
    NoMatch(String),
    #[error("{pattern}: not a valid pattern: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("nothing to plan: no input given")]
    NoInputs,
    #[error("{first} and {second} would both write {output}: rename one, or plan them into different --out folders")]
    SameOutput {
        first: PathBuf,
        second: PathBuf,
        output: PathBuf,
    },
    #[error("{0} already holds a different plan (pass --overwrite to replace it; items done with the same options are kept)")]
    OtherPlan(PathBuf),
    #[error("{0}: no batch plan here: run `posecam batch plan INPUTS... --out {0}` first")]
    NoPlan(PathBuf),
    #[error("{path} is damaged: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("'{0}' is not a shard: give K/N with 0 <= K < N (e.g. 0/4), or auto")]
    BadShard(String),
    #[error("{name}={value} is not a whole number")]
    BadEnv { name: String, value: String },
    #[error("{engine} gave task {index} of {count}: it is not one of the shards")]
    EnvRange {
        engine: String,
        index: usize,
        count: usize,
    },
    #[error("--shards only counts the shards of --shard auto (Kubernetes); with --shard K/N the count is N")]
    ShardsWithoutAuto,
    #[error("{0}")]
    Usage(String),
    #[error("--shard auto found the task's index but not the shard count: set {0}")]
    NoCount(&'static str),
    #[error("--shard auto found no array task: looked for SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT), JOB_COMPLETION_INDEX (with --shards N) and AWS_BATCH_JOB_ARRAY_INDEX (with AWS_BATCH_JOB_ARRAY_SIZE); outside an array, give --shard K/N or leave --shard out")]
    NoShardEnv,
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot write")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Outputs(#[from] crate::io::transaction::OutputError),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
}

impl BatchError {
    /// The exit status this error ends a command with: [`EXIT_RETRY`] only where running again may
    /// help (reading or writing failed), [`EXIT_USAGE`] where a person must change something first.
    pub fn exit_code(&self) -> i32 {
        match self {
            BatchError::Read { .. } | BatchError::Write { .. } | BatchError::Pipeline(_) => {
                EXIT_RETRY
            }
            BatchError::Outputs(
                crate::io::transaction::OutputError::Write { .. }
                | crate::io::transaction::OutputError::Stage { .. },
            ) => EXIT_RETRY,
            _ => EXIT_USAGE,
        }
    }
}

/// Writes a file of the batch completely or not at all (staged, then renamed into place).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    use std::io::Write;
    let mut set = crate::io::transaction::OutputSet::new::<&Path>(&[], true);
    let id = set.add_file(path, "batch file")?;
    set.stage()?;
    let write = |e| BatchError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let mut file = std::fs::File::create(set.path(id)).map_err(write)?;
    file.write_all(bytes).map_err(write)?;
    file.sync_all().map_err(write)?;
    set.commit()?;
    Ok(())
}

/// How many items stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub done: usize,
    pub failed: usize,
    pub pending: usize,
    pub stale: usize,
}

impl Counts {
    pub fn add(&mut self, state: ItemState) {
        match state {
            ItemState::Done => self.done += 1,
            ItemState::Failed => self.failed += 1,
            ItemState::Pending => self.pending += 1,
            ItemState::Stale => self.stale += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.done + self.failed + self.pending + self.stale
    }
}

/// Every item's state now, judged by `judge` ([`Judge::of`] the plan).
pub fn states(
    plan: &Plan,
    judge: &Judge,
    check: records::Check,
) -> Vec<(ItemState, Option<records::ItemRecord>)> {
    plan.items
        .iter()
        .map(|item| {
            let record = records::read_record(&plan.dir, &item.id);
            let state = records::state_of(&plan.dir, item, record.as_ref(), judge, check);
            (state, record)
        })
        .collect()
}
