//! What happened to each item: a record written last, after its outputs, in
//! `.posecam/records/<id>.json`. A done record that still matches (same input, posecam, model and
//! options) with its outputs present means the item need not run again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::{file_stamp, ManifestItem, Plan};
use super::{write_file, BatchError, RECORDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    /// The input is bad: running again will not help.
    BadInput,
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

pub fn record_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(RECORDS).join(format!("{id}.json"))
}

/// The item's record, if any (an unreadable one counts as none: the item runs again).
pub fn read_record(dir: &Path, id: &str) -> Option<ItemRecord> {
    let text = std::fs::read_to_string(record_path(dir, id)).ok()?;
    serde_json::from_str(&text).ok()
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

/// Where `item` stands, judged by its record, its input now and its outputs.
pub fn state_of(
    plan: &Plan,
    item: &ManifestItem,
    record: Option<&ItemRecord>,
    judge: &Judge,
) -> ItemState {
    let Some(r) = record else {
        return ItemState::Pending;
    };
    let stamp = file_stamp(&item.input).ok();
    let same = stamp == Some((r.input_size, r.input_mtime_ns))
        && r.posecam == env!("CARGO_PKG_VERSION")
        && r.model_sha256 == judge.model_sha256
        && r.options_hash == judge.options_hash;
    if !same {
        return ItemState::Stale;
    }
    match r.outcome {
        Outcome::Done if item.outputs.all().all(|o| plan.output_path(o).is_file()) => {
            ItemState::Done
        }
        Outcome::Done => ItemState::Stale,
        Outcome::BadInput | Outcome::Failed => ItemState::Failed,
    }
}

/// sha256 of the model file, read in blocks.
pub fn model_checksum(path: &Path) -> Result<String, BatchError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let read = |e| BatchError::Read {
        path: path.to_path_buf(),
        source: e,
    };
    let mut file = std::fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(super::plan::hex(&hasher.finalize()))
}
