//! `batch run`: a shard's items through one pipeline. Each finished item is committed, then its
//! record written; a failed one gets a failed record and the run goes on.

use std::sync::Arc;
use std::time::Instant;

use super::gate::{now_unix_s, RunGate};
use super::plan::{file_stamp, ManifestItem, Plan};
use super::records::{read_record, write_record, ItemRecord, Judge, Outcome, OutputStamp};
use super::{BatchError, ItemState, Shard, EXIT_BAD_INPUT, EXIT_RETRY};
use crate::infer::Engine;
use crate::pipeline::{run_batch, BatchEvent, BatchItem, ExportSettings, ItemFailure, ItemGate};
use crate::video::EncodeOptions;

/// The export settings a plan's options stand for.
pub fn settings_of(plan: &Plan) -> ExportSettings {
    let o = &plan.file.options;
    ExportSettings {
        net: o.net.clone(),
        thresholds: o.thresholds,
        tracking: o.tracking,
        style: o.style,
        encode: EncodeOptions {
            crf: o.crf,
            preset: o.preset.clone(),
        },
        fps_overlay: false,
        max_duration_s: None,
    }
}

/// This shard's items that must run (all of them with `force`), as manifest positions.
pub fn to_do(
    plan: &Plan,
    states: &[(ItemState, Option<ItemRecord>)],
    shard: Shard,
    force: bool,
) -> Vec<usize> {
    (0..plan.items.len())
        .filter(|i| shard.owns(*i))
        .filter(|i| force || states[*i].0 != ItemState::Done)
        .collect()
}

/// What a run reports as it goes.
pub enum RunEvent<'a> {
    /// `k` of `n` (1-based) is being encoded: `frames` so far.
    Progress {
        k: usize,
        n: usize,
        item: &'a ManifestItem,
        frames: u64,
    },
    Finished {
        k: usize,
        n: usize,
        item: &'a ManifestItem,
        record: &'a ItemRecord,
    },
    /// Another run had it (`why`).
    Skipped {
        k: usize,
        n: usize,
        item: &'a ManifestItem,
        why: &'a str,
    },
}

/// Items by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub done: usize,
    /// Bad inputs and refused outputs: running again will not help.
    pub bad_input: usize,
    pub failed: usize,
    /// Another run had them.
    pub skipped: usize,
    pub frames: u64,
}

impl RunSummary {
    /// 0, [`EXIT_BAD_INPUT`] when only inputs were bad (or outputs refused), else [`EXIT_RETRY`].
    /// Items another run had are that run's to report.
    pub fn exit_code(&self) -> i32 {
        match (self.bad_input, self.failed) {
            (0, 0) => 0,
            (_, 0) => EXIT_BAD_INPUT,
            _ => EXIT_RETRY,
        }
    }
}

/// Runs the items at `positions` of `plan` with `engines`.
pub fn run_items(
    plan: &Plan,
    positions: &[usize],
    engines: Vec<Engine>,
    gate: RunGate,
    judge: &Judge,
    shard: Shard,
    mut on: impl FnMut(RunEvent<'_>),
) -> Result<RunSummary, BatchError> {
    let dir = &plan.dir;
    let gate: Arc<dyn ItemGate> = Arc::new(gate);
    let items: Vec<BatchItem> = positions
        .iter()
        .map(|&i| {
            let o = &plan.items[i].outputs;
            let out = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| dir.join(p));
            BatchItem {
                input: plan.items[i].input.clone(),
                annotated: out(&o.video),
                jsonl: out(&o.jsonl),
                csv: out(&o.csv),
                motion: out(&o.motion).zip(plan.file.options.motion),
                tag: i,
                gate: Some(gate.clone()),
            }
        })
        .collect();
    let n = positions.len();
    let mut summary = RunSummary::default();
    let mut record_error = None;
    let started = Instant::now();
    let settings = settings_of(plan);
    let max_pixels = plan.file.options.max_pixels;
    run_batch(items, engines, &settings, max_pixels, |event| match event {
        BatchEvent::Progress { item, frames } => on(RunEvent::Progress {
            k: item + 1,
            n,
            item: &plan.items[positions[item]],
            frames,
        }),
        BatchEvent::Finished { item, result } => {
            let manifest = &plan.items[positions[item]];
            let finished = finish_item(plan, manifest, result, judge, shard, &mut summary);
            let event = match &finished {
                Finish::Recorded(record, _lock) => {
                    if let Err(e) = write_record(dir, record) {
                        record_error.get_or_insert(e);
                    }
                    RunEvent::Finished {
                        k: item + 1,
                        n,
                        item: manifest,
                        record,
                    }
                }
                Finish::Skipped(why) => RunEvent::Skipped {
                    k: item + 1,
                    n,
                    item: manifest,
                    why,
                },
            };
            on(event);
        }
    })?;
    tracing::debug!(
        "batch run: {n} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    match record_error {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

/// What became of an item: a record to write (while its lock is held), or nothing (another run
/// had it).
enum Finish {
    Recorded(Box<ItemRecord>, Option<std::fs::File>),
    Skipped(String),
}

/// Commits a finished item's outputs; the record of what happened.
fn finish_item(
    plan: &Plan,
    manifest: &ManifestItem,
    result: Result<crate::pipeline::FinishedItem, ItemFailure>,
    judge: &Judge,
    shard: Shard,
    summary: &mut RunSummary,
) -> Finish {
    // The input as it was read: a change after this makes the record stale.
    let (input_size, input_mtime_ns) = file_stamp(&manifest.input).unwrap_or((0, 0));
    let mut record = ItemRecord {
        id: manifest.id.clone(),
        outcome: Outcome::Done,
        input_size,
        input_mtime_ns,
        posecam: env!("CARGO_PKG_VERSION").into(),
        model_sha256: judge.model_sha256.clone(),
        options_hash: judge.options_hash.clone(),
        frames: 0,
        seconds: 0.0,
        max_people: 0,
        error: None,
        shard: shard.to_string(),
        finished_unix_s: 0.0,
        outputs: Vec::new(),
    };
    let mut lock = None;
    let committed = result.and_then(|mut finished| {
        lock = finished.take_lock();
        let (frames, seconds, max_people) =
            (finished.frames, finished.seconds, finished.max_people);
        finished
            .commit()
            .map_err(|e| ItemFailure::Other(crate::pipeline::error_chain(&e)))?;
        let stamps = manifest
            .outputs
            .all()
            .map(|o| OutputStamp::of(&plan.dir, o))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| ItemFailure::Other(format!("cannot read an output back: {e}")))?;
        record.outputs = stamps;
        Ok((frames, seconds, max_people))
    });
    record.finished_unix_s = now_unix_s();
    match committed {
        Ok((frames, seconds, max_people)) => {
            summary.done += 1;
            summary.frames += frames;
            (record.frames, record.seconds, record.max_people) = (frames, seconds, max_people);
        }
        Err(ItemFailure::Skipped(why)) => {
            summary.skipped += 1;
            return Finish::Skipped(why);
        }
        Err(failure) => {
            record.outcome = match failure {
                ItemFailure::BadInput(_) => Outcome::BadInput,
                ItemFailure::Refused(_) => Outcome::Refused,
                _ => Outcome::Failed,
            };
            match record.outcome {
                Outcome::Failed => summary.failed += 1,
                _ => summary.bad_input += 1,
            }
            record.error = Some(failure.message().to_string());
            // What earlier runs committed stays known as this batch's own (a later run may
            // replace it).
            record.outputs = read_record(&plan.dir, &manifest.id)
                .map(|r| r.outputs)
                .unwrap_or_default();
        }
    }
    Finish::Recorded(Box::new(record), lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_tell_bad_inputs_from_the_rest() {
        let mut s = RunSummary::default();
        assert_eq!(s.exit_code(), 0);
        s.bad_input = 2;
        assert_eq!(s.exit_code(), EXIT_BAD_INPUT);
        s.failed = 1;
        assert_eq!(s.exit_code(), EXIT_RETRY);
        assert_ne!(EXIT_BAD_INPUT, EXIT_RETRY);
    }
}
