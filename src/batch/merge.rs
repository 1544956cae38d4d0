//! `batch merge`: one summary of the whole collection, every item's tracks in one CSV (and its
//! angles, when the plan writes motion files), and the shards to resubmit. Idempotent: it rewrites
//! its files from the records each time.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::plan::{ManifestItem, Plan};
use super::records::ItemRecord;
use super::{BatchError, Counts, ItemState, Shard, ANGLES, RESUBMIT, SUMMARY, TRACKS};
use crate::io::transaction::OutputSet;
use crate::pipeline::{ANGLES_CSV_HEADER, CSV_HEADER};

/// The summary's columns.
pub const SUMMARY_HEADER: &str = "id,input,status,frames,seconds,fps,max_people,error";

/// What a merge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    pub counts: Counts,
    /// Shard indices with items failed, pending or stale (for `sbatch --array=`).
    pub resubmit: Vec<usize>,
    pub shards: usize,
}

/// Writes `summary.csv`, `tracks.csv` and `resubmit.txt` together. `shards`: the count the array
/// ran with (default: the one the records name, else 1).
pub fn merge(
    plan: &Plan,
    states: &[(ItemState, Option<ItemRecord>)],
    shards: Option<usize>,
) -> Result<MergeReport, BatchError> {
    let shards = shards
        .or_else(|| shards_from_records(states))
        .unwrap_or(1)
        .max(1);
    let mut counts = Counts::default();
    let mut resubmit = Vec::new();
    for (i, (state, _)) in states.iter().enumerate() {
        counts.add(*state);
        let shard = i % shards;
        if *state != ItemState::Done && !resubmit.contains(&shard) {
            resubmit.push(shard);
        }
    }
    resubmit.sort_unstable();
    let mut set = OutputSet::new::<&Path>(&[], true);
    let summary = set.add_file(&plan.dir.join(SUMMARY), "summary")?;
    let tracks = set.add_file(&plan.dir.join(TRACKS), "tracks")?;
    let again = set.add_file(&plan.dir.join(RESUBMIT), "resubmit")?;
    let angles = match plan.file.options.outputs.motion {
        true => Some(set.add_file(&plan.dir.join(ANGLES), "angles")?),
        false => None,
    };
    set.stage()?;
    let target = |id| set.target(id).to_path_buf();
    write_summary(set.path(summary), plan, states).map_err(write_error(target(summary)))?;
    let csv_of = |item: &ManifestItem| item.outputs.csv.clone();
    write_joined(set.path(tracks), CSV_HEADER, plan, states, csv_of)
        .map_err(write_error(target(tracks)))?;
    if let Some(angles) = angles {
        write_joined(set.path(angles), ANGLES_CSV_HEADER, plan, states, angles_of)
            .map_err(write_error(target(angles)))?;
    }
    let list: Vec<String> = resubmit.iter().map(|s| s.to_string()).collect();
    std::fs::write(set.path(again), format!("{}\n", list.join(",")))
        .map_err(write_error(target(again)))?;
    set.commit()?;
    Ok(MergeReport {
        counts,
        resubmit,
        shards,
    })
}

fn write_error(path: PathBuf) -> impl FnOnce(std::io::Error) -> BatchError {
    move |source| BatchError::Write { path, source }
}

/// The shard count most records were run with.
fn shards_from_records(states: &[(ItemState, Option<ItemRecord>)]) -> Option<usize> {
    states
        .iter()
        .filter_map(|(_, r)| Shard::parse(&r.as_ref()?.shard).ok())
        .map(|s| s.count)
        .max()
}

/// A CSV field, quoted when it must be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_summary(
    path: &Path,
    plan: &Plan,
    states: &[(ItemState, Option<ItemRecord>)],
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{SUMMARY_HEADER}")?;
    for (item, (state, record)) in plan.items.iter().zip(states) {
        let (frames, seconds, people, error) = match record {
            Some(r) => (r.frames, r.seconds, r.max_people, r.error.clone()),
            None => (0, 0.0, 0, None),
        };
        let fps = if seconds > 0.0 {
            format!("{:.2}", frames as f64 / seconds)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{},{},{},{frames},{seconds:.3},{fps},{people},{}",
            item.id,
            field(&item.input.to_string_lossy()),
            state.name(),
            field(error.as_deref().unwrap_or_default())
        )?;
    }
    out.into_inner()?.sync_all()
}

/// An item's angles table: `<stem>_angles.csv` in its motion folder.
fn angles_of(item: &ManifestItem) -> Option<PathBuf> {
    let stem = item.input.file_stem()?;
    let mut name = stem.to_os_string();
    name.push("_angles.csv");
    Some(item.outputs.motion.as_ref()?.join(name))
}

/// One table of every done item's table (`file` names it), each row prefixed with the item's id.
fn write_joined(
    path: &Path,
    header: &str,
    plan: &Plan,
    states: &[(ItemState, Option<ItemRecord>)],
    file: impl Fn(&ManifestItem) -> Option<PathBuf>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "item,{header}")?;
    for (item, (state, _)) in plan.items.iter().zip(states) {
        let Some(csv) = file(item).filter(|_| *state == ItemState::Done) else {
            continue;
        };
        let file = std::fs::File::open(plan.output_path(&csv))?;
        for line in std::io::BufReader::new(file).lines().skip(1) {
            writeln!(out, "{},{}", item.id, line?)?;
        }
    }
    out.into_inner()?.sync_all()
}
