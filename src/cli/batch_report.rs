//! `posecam batch status` and `merge`: where a batch stands, item by item, and its results joined.

use crate::cli::console::{outln, set_failure_code};

use anyhow::{bail, Result};
use clap::Args;
use posecam::batch::inputs::absolute;
use posecam::batch::plan::{file_stamp, ManifestItem};
use posecam::batch::records::{leftovers, retry_wont_help, ItemRecord};
use posecam::batch::{self, Check, Counts, ItemState, Judge, Plan, EXIT_BAD_INPUT, EXIT_RETRY};
use std::path::PathBuf;

use super::number_in;

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub dir: PathBuf,
    /// One JSON object on stdout instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Check every done item's outputs by their sha256 too (reads them all), not just their size
    /// and modification time.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    pub dir: PathBuf,
    /// The shard count the array ran with (default: the one the records name).
    #[arg(long, value_parser = number_in(SHARDS))]
    pub shards: Option<usize>,
}

/// Shard counts accepted (an array engine's largest arrays are far smaller).
pub(super) const SHARDS: std::ops::RangeInclusive<usize> = 1..=1_000_000;

pub fn status(args: StatusArgs) -> Result<()> {
    let plan = Plan::read(&absolute(&args.dir))?;
    let check = if args.verify {
        Check::Checksums
    } else {
        Check::Stamps
    };
    let states = batch::states(&plan, &Judge::of(&plan)?, check);
    let mut counts = Counts::default();
    for (state, _) in &states {
        counts.add(*state);
    }
    let leftovers = leftovers(&plan);
    if args.json {
        let failed: Vec<_> = plan
            .items
            .iter()
            .zip(&states)
            .filter(|(_, (s, _))| *s == ItemState::Failed)
            .map(|(item, (_, r))| {
                serde_json::json!({
                    "id": item.id,
                    "input": item.input.to_string_lossy(),
                    "error": failure_of(item, r.as_ref()),
                })
            })
            .collect();
        let leftovers: Vec<_> = leftovers.iter().map(|p| p.to_string_lossy()).collect();
        outln!(
            "{}",
            serde_json::json!({ "items": counts.total(), "counts": counts, "failed": failed, "leftovers": leftovers })
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
            let why = match state {
                ItemState::Failed => failure_of(item, record.as_ref()),
                _ => stale_reason(&plan, item, record.as_ref(), check),
            };
            outln!(
                "  {} {} {}{}",
                state.name(),
                item.id,
                item.input.display(),
                why.map(|w| format!(": {w}")).unwrap_or_default()
            );
        }
    }
    if !leftovers.is_empty() {
        outln!(
            "{} files an earlier plan wrote are no longer part of this one (`posecam batch plan ... --overwrite` removes them):",
            leftovers.len()
        );
        for path in &leftovers {
            outln!("  {}", path.display());
        }
    }
    Ok(())
}

/// Why a failed item failed: its input is gone, or what its record says.
fn failure_of(item: &ManifestItem, record: Option<&ItemRecord>) -> Option<String> {
    if file_stamp(&item.input).is_err() {
        return Some("the input is missing".into());
    }
    record.and_then(|r| r.error.clone())
}

/// Why an item is stale: what changed since its record was written.
fn stale_reason(
    plan: &Plan,
    item: &ManifestItem,
    record: Option<&ItemRecord>,
    check: Check,
) -> Option<String> {
    let r = record?;
    if r.options_hash != plan.file.options_hash {
        return Some("it was run with other options".into());
    }
    if r.posecam != env!("CARGO_PKG_VERSION") {
        return Some(format!("it was run by posecam {}", r.posecam));
    }
    if file_stamp(&item.input).ok() != Some((r.input_size, r.input_mtime_ns)) {
        return Some("the input changed since".into());
    }
    let changed = item.outputs.all().find(|out| {
        !r.outputs.iter().any(|o| {
            o.path == **out
                && o.unchanged(&plan.dir)
                && (check == Check::Stamps || o.verified(&plan.dir))
        })
    });
    Some(match changed {
        Some(out) => format!("{} changed since it was written", out.display()),
        None => "the model changed since".into(),
    })
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let plan = Plan::read(&absolute(&args.dir))?;
    let states = batch::states(&plan, &Judge::of(&plan)?, Check::Stamps);
    let report = batch::merge::merge(&plan, &states, args.shards)?;
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
    // As `batch run` would end on these items: 65 when running again will not help.
    let retry_wont_help = c.pending == 0
        && c.stale == 0
        && plan
            .items
            .iter()
            .zip(&states)
            .all(|(item, (s, r))| *s != ItemState::Failed || retry_wont_help(item, r.as_ref()));
    set_failure_code(if retry_wont_help {
        EXIT_BAD_INPUT
    } else {
        EXIT_RETRY
    });
    bail!("{} of {} items are not done", c.total() - c.done, c.total())
}
