//! What happened to each item: a record written last, after its outputs, in
//! `.posecam/records/<id>.json`. A done record that still matches (same input, posecam, model and
//! options) with its outputs as it wrote them (size and modification time; sha256 on `--verify`)
//! means the item need not run again. The outputs a record names are also how posecam knows its own
//! files: those it may replace, and those an earlier plan left behind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::{file_stamp, ManifestItem, Plan};
use super::{write_file, BatchError, RECORDS};
use crate::io::os_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// The input is bad: running again will not help.
    BadInput,
    /// An output may not be written as planned (a file in the way): neither will it.
    Refused,
    /// Anything else (a full disk, a lost GPU): running again may.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: String,
    pub outcome: Outcome,
    pub input_size: u64,
    pub input_mtime_ns: u64,
    pub posecam: String,
    pub model_sha256: String,
    pub options_hash: String,
    pub frames: u64,
    pub seconds: f64,
    pub max_people: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The shard that ran it (`K/N`), so a merge can say which to resubmit.
    pub shard: String,
    /// When it finished, seconds since the Unix epoch.
    #[serde(default)]
    pub finished_unix_s: f64,
    /// Each output as committed.
    #[serde(default)]
    pub outputs: Vec<OutputStamp>,
}

/// An output as an item's run committed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputStamp {
    /// Relative to the batch folder.
    #[serde(with = "os_path")]
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: u64,
    pub sha256: String,
}

impl OutputStamp {
    /// The output at `relative` now (read whole for its checksum: once, as it is committed).
    pub fn of(dir: &Path, relative: &Path) -> std::io::Result<Self> {
        let path = dir.join(relative);
        let (size, mtime_ns) = stamp_now(&path)?;
        Ok(Self {
            path: relative.to_path_buf(),
            size,
            mtime_ns,
            sha256: checksum_now(&path)?,
        })
    }

    /// The output is as committed, by its size and modification time (cheap enough for every
    /// `status`; a truncated or rewritten file fails it, as does a file added to or taken from a
    /// folder output).
    pub fn unchanged(&self, dir: &Path) -> bool {
        let path = dir.join(&self.path);
        path.symlink_metadata()
            .is_ok_and(|m| m.is_file() || m.is_dir())
            && stamp_now(&path).ok() == Some((self.size, self.mtime_ns))
    }

    /// [`unchanged`](Self::unchanged), and its content hashes as it did.
    pub fn verified(&self, dir: &Path) -> bool {
        self.unchanged(dir)
            && checksum_now(&dir.join(&self.path)).ok().as_ref() == Some(&self.sha256)
    }
}

/// The files of a folder output (motion files), in name order; anything else in it is an error.
fn folder_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            return Err(std::io::Error::other(format!(
                "{} is not a file",
                entry.path().display()
            )));
        }
        files.push(entry.path());
    }
    files.sort();
    Ok(files)
}

/// A file's size and modification time; a folder's total size and latest time (its own, which
/// changes as files come and go, or its newest file's).
fn stamp_now(path: &Path) -> std::io::Result<(u64, u64)> {
    if !std::fs::symlink_metadata(path)?.is_dir() {
        return file_stamp(path);
    }
    let own = file_stamp(path)?.1;
    folder_files(path)?
        .iter()
        .try_fold((0, own), |(size, time), f| {
            let (s, t) = file_stamp(f)?;
            Ok((size + s, time.max(t)))
        })
}

/// A file's sha256; a folder's, over its files' names and checksums in name order.
fn checksum_now(path: &Path) -> std::io::Result<String> {
    if !std::fs::symlink_metadata(path)?.is_dir() {
        return sha256_of(path);
    }
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for f in folder_files(path)? {
        hasher.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update([0]);
        hasher.update(sha256_of(&f)?.as_bytes());
    }
    Ok(super::plan::hex(&hasher.finalize()))
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemState {
    Done,
    Failed,
    Pending,
    /// Done or failed before, but the input, the model, posecam or the options changed since (or
    /// an output went missing).
    Stale,
}

impl ItemState {
    pub fn name(self) -> &'static str {
        match self {
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Pending => "pending",
            ItemState::Stale => "stale",
        }
    }
}

/// The current model and options, against which records are judged.
#[derive(Debug, Clone)]
pub struct Judge {
    pub model_sha256: String,
    pub options_hash: String,
}

impl Judge {
    /// The plan's (its model read once for its checksum).
    pub fn of(plan: &Plan) -> Result<Self, BatchError> {
        Ok(Self {
            model_sha256: model_checksum(&plan.file.options.model)?,
            options_hash: plan.file.options_hash.clone(),
        })
    }
}

pub fn record_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(RECORDS).join(format!("{id}.json"))
}

/// The item's record, if any (an unreadable one counts as none: the item runs again).
pub fn read_record(dir: &Path, id: &str) -> Option<ItemRecord> {
    let text = std::fs::read_to_string(record_path(dir, id)).ok()?;
    serde_json::from_str(&text)
        .ok()
        .filter(|r: &ItemRecord| r.id == id)
}

pub fn write_record(dir: &Path, record: &ItemRecord) -> Result<(), BatchError> {
    let path = record_path(dir, &record.id);
    std::fs::create_dir_all(dir.join(RECORDS)).map_err(|e| BatchError::Write {
        path: dir.join(RECORDS),
        source: e,
    })?;
    let mut body = serde_json::to_vec_pretty(record).unwrap_or_default();
    body.push(b'\n');
    write_file(&path, &body)
}

/// How closely a done item's outputs are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Size and modification time.
    Stamps,
    /// Those and the sha256 of every output (reads them all).
    Checksums,
}

/// Where `item` of the batch in `dir` stands, judged by its record, its input now and its outputs.
/// An input that is gone fails the item as a bad input (as running it would), unless it was done
/// and its outputs stand.
pub fn state_of(
    dir: &Path,
    item: &ManifestItem,
    record: Option<&ItemRecord>,
    judge: &Judge,
    check: Check,
) -> ItemState {
    let stamp = file_stamp(&item.input).ok();
    let Some(r) = record else {
        return match stamp {
            None => ItemState::Failed,
            Some(_) => ItemState::Pending,
        };
    };
    let same_run = r.posecam == env!("CARGO_PKG_VERSION")
        && r.model_sha256 == judge.model_sha256
        && r.options_hash == judge.options_hash;
    let same_input = stamp == Some((r.input_size, r.input_mtime_ns));
    match r.outcome {
        Outcome::Done if same_run && (same_input || stamp.is_none()) => {
            if outputs_stand(dir, item, r, check) {
                ItemState::Done
            } else if stamp.is_none() {
                ItemState::Failed
            } else {
                ItemState::Stale
            }
        }
        _ if stamp.is_none() => ItemState::Failed,
        Outcome::BadInput | Outcome::Refused | Outcome::Failed if same_run && same_input => {
            ItemState::Failed
        }
        _ => ItemState::Stale,
    }
}

/// Every output the item has now is one the record committed, unchanged.
fn outputs_stand(dir: &Path, item: &ManifestItem, record: &ItemRecord, check: Check) -> bool {
    item.outputs.all().all(|out| {
        record.outputs.iter().any(|o| {
            o.path == *out
                && match check {
                    Check::Stamps => o.unchanged(dir),
                    Check::Checksums => o.verified(dir),
                }
        })
    })
}

/// A failed item that running again will not mend: its input is bad or gone, or an output is in
/// the way.
pub fn retry_wont_help(item: &ManifestItem, record: Option<&ItemRecord>) -> bool {
    file_stamp(&item.input).is_err()
        || record.is_some_and(|r| matches!(r.outcome, Outcome::BadInput | Outcome::Refused))
}

/// Files an earlier run of this batch committed that the plan no longer names (a plan made again
/// with fewer outputs or items), as they were left: posecam's own, unchanged since.
pub fn leftovers(plan: &Plan) -> Vec<PathBuf> {
    let wanted: std::collections::HashSet<&Path> = plan
        .items
        .iter()
        .flat_map(|i| i.outputs.all())
        .map(PathBuf::as_path)
        .collect();
    let mut found: Vec<PathBuf> = all_records(&plan.dir)
        .iter()
        .flat_map(|r| &r.outputs)
        .filter(|o| !wanted.contains(o.path.as_path()) && super::plan::inside_batch(&o.path))
        .filter(|o| o.unchanged(&plan.dir))
        .map(|o| o.path.clone())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Removes the [`leftovers`] of earlier plans and the records of items `plan` no longer has; what
/// was removed.
pub fn remove_leftovers(plan: &Plan) -> Vec<PathBuf> {
    let removed: Vec<PathBuf> = leftovers(plan)
        .into_iter()
        .filter(|o| {
            let path = plan.dir.join(o);
            match path.is_dir() {
                true => std::fs::remove_dir_all(&path).is_ok(),
                false => std::fs::remove_file(&path).is_ok(),
            }
        })
        .collect();
    let ids: std::collections::HashSet<&str> = plan.items.iter().map(|i| i.id.as_str()).collect();
    for record in all_records(&plan.dir) {
        if !ids.contains(record.id.as_str()) {
            let _ = std::fs::remove_file(record_path(&plan.dir, &record.id));
        }
    }
    removed
}

/// Every readable record in the batch folder.
fn all_records(dir: &Path) -> Vec<ItemRecord> {
    let Ok(entries) = std::fs::read_dir(dir.join(RECORDS)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let id = name.to_str()?.strip_suffix(".json")?;
            read_record(dir, id)
        })
        .collect()
}

/// sha256 of the model file, read in blocks.
pub fn model_checksum(path: &Path) -> Result<String, BatchError> {
    sha256_of(path).map_err(|e| BatchError::Read {
        path: path.to_path_buf(),
        source: e,
    })
}

/// sha256 of a file, read in blocks.
fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(super::plan::hex(&hasher.finalize()))
}
