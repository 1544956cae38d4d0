//! What a run checks as each item opens, before anything is read: the item's lock (two runs of one
//! shard share its items instead of both doing each; a killed run's lock goes with its process), that
//! no other run finished it meanwhile, and that its outputs may be written where the plan says.

use std::path::{Path, PathBuf};

use super::plan::Plan;
use super::records::{read_record, state_of, Check, ItemRecord, Judge};
use super::ItemState;
use crate::pipeline::{BatchItem, ItemFailure, ItemGate};

/// Where the item locks are, in the batch folder.
pub const LOCKS: &str = ".posecam/locks";

/// The gate of one `batch run`.
pub struct RunGate {
    plan: Plan,
    /// The batch folder with its links followed: no output may lead out of it.
    real_dir: PathBuf,
    judge: Judge,
    force: bool,
    started_unix_s: f64,
}

impl RunGate {
    pub fn new(plan: &Plan, judge: &Judge, force: bool) -> std::io::Result<Self> {
        Ok(Self {
            real_dir: plan.dir.canonicalize()?,
            plan: plan.clone(),
            judge: judge.clone(),
            force,
            started_unix_s: now_unix_s(),
        })
    }

    /// The item's lock file, locked; skipped when another run holds it.
    fn lock(&self, id: &str) -> Result<Option<std::fs::File>, ItemFailure> {
        let folder = self.plan.dir.join(LOCKS);
        let other = |e: std::io::Error| {
            ItemFailure::Other(format!("{}: cannot lock: {e}", folder.display()))
        };
        std::fs::create_dir_all(&folder).map_err(other)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(folder.join(format!("{id}.lock")))
            .map_err(other)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(ItemFailure::Skipped(
                "another `posecam batch run` is running it".into(),
            )),
            // A file system without locks: run as before locks existed.
            Err(std::fs::TryLockError::Error(e)) => {
                tracing::warn!(
                    "{}: cannot lock ({e}): running it unlocked",
                    folder.display()
                );
                Ok(None)
            }
        }
    }

    /// Another run finished the item since this one judged it.
    fn done_meanwhile(&self, position: usize, record: Option<&ItemRecord>) -> bool {
        let Some(r) = record else {
            return false;
        };
        let item = &self.plan.items[position];
        let state = state_of(&self.plan.dir, item, Some(r), &self.judge, Check::Stamps);
        r.finished_unix_s >= self.started_unix_s || (!self.force && state == ItemState::Done)
    }

    /// `relative` may be written: it stays in the batch folder once links are followed, and a file
    /// already there is one this batch wrote (or the plan was made with `--overwrite`).
    fn may_write(&self, relative: &Path, record: Option<&ItemRecord>) -> Result<(), ItemFailure> {
        let target = self.plan.dir.join(relative);
        let ancestor = target.ancestors().find(|a| a.exists()).unwrap_or(&target);
        let inside = ancestor
            .canonicalize()
            .is_ok_and(|real| real.starts_with(&self.real_dir));
        if !inside {
            return Err(ItemFailure::Refused(format!(
                "{} leads out of the batch folder (through a link): refused",
                target.display()
            )));
        }
        let ours = record.is_some_and(|r| r.outputs.iter().any(|o| o.path == relative));
        if target.symlink_metadata().is_ok() && !ours && !self.plan.file.overwrite {
            return Err(ItemFailure::Refused(format!(
                "{} already exists and this batch did not write it: remove it, or plan again \
                 with --overwrite",
                target.display()
            )));
        }
        Ok(())
    }
}

impl ItemGate for RunGate {
    fn enter(&self, item: &BatchItem) -> Result<Option<std::fs::File>, ItemFailure> {
        let manifest = &self.plan.items[item.tag];
        let lock = self.lock(&manifest.id)?;
        let record = read_record(&self.plan.dir, &manifest.id);
        if self.done_meanwhile(item.tag, record.as_ref()) {
            return Err(ItemFailure::Skipped(
                "another `posecam batch run` finished it meanwhile".into(),
            ));
        }
        for out in manifest.outputs.all() {
            self.may_write(out, record.as_ref())?;
        }
        Ok(lock)
    }
}

pub fn now_unix_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
