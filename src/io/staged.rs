//! The temporaries of every output set in this process, registered so that a signal handler can
//! remove them all at once (a second Ctrl-C: nothing may be left behind), and locked (`flock`) while
//! this process lives, so that a later run can tell what a killed one left (`kill -9`, a lost node)
//! from what a live one is writing, and sweep only the former.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static STAGED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(super) fn register(path: &Path) {
    STAGED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(path.to_path_buf());
}

pub(super) fn unregister(path: &Path) {
    STAGED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|p| p != path);
}

/// Removes every temporary of every output set (a second Ctrl-C: nothing may be left behind); how
/// many there were.
pub fn remove_all_staged() -> usize {
    let staged = std::mem::take(&mut *STAGED.lock().unwrap_or_else(|p| p.into_inner()));
    let count = staged.len();
    for path in staged {
        remove_racing_writers(&path);
    }
    count
}

/// Removes a file or a whole folder, as far as it can (cleaning up: nothing to report).
pub(super) fn remove_any(path: &Path) {
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Removes a temporary that another thread may still be writing into: a file added to a folder while
/// it is being emptied makes the last step fail, so try again (briefly) until it is gone.
fn remove_racing_writers(path: &Path) {
    for _ in 0..100 {
        remove_any(path);
        if std::fs::symlink_metadata(path).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Locks a temporary just made at `path` (through `file`, open on it) for as long as the returned
/// file lives; `None` when it could not be locked, or is no longer at `path` (swept by another run
/// in the instant between its creation and the lock: make another).
pub(super) fn lock(path: &Path, file: std::fs::File) -> Option<std::fs::File> {
    use std::os::unix::fs::MetadataExt;
    file.try_lock().ok()?;
    let (here, held) = (std::fs::symlink_metadata(path).ok()?, file.metadata().ok()?);
    (here.ino() == held.ino() && here.dev() == held.dev()).then_some(file)
}

/// Whether `name` is one of posecam's temporaries: `.NAME.XXXXXX.posecam` or
/// `.NAME.XXXXXX.posecam.EXT` (XXXXXX: six letters or digits).
pub(super) fn is_staged_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let stem = match rest.rsplit_once(".posecam") {
        Some((stem, "")) => stem,
        Some((stem, ext)) => match ext.strip_prefix('.') {
            Some(e) if !e.is_empty() && e.len() <= 16 && !e.contains('.') => stem,
            _ => return false,
        },
        None => return false,
    };
    let Some((name, random)) = stem.rsplit_once('.') else {
        return false;
    };
    !name.is_empty() && random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Folders this process has swept already: a folder is swept once, when this process first stages
/// in it (a batch writes every record into one folder: no listing of it per record).
static SWEPT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// [`sweep_stale`] of `folder`, the first time this process stages there; later calls do nothing.
pub(super) fn sweep_stale_once(folder: &Path) -> Vec<PathBuf> {
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|p| p.into_inner());
        if swept.iter().any(|f| f == folder) {
            return Vec::new();
        }
        swept.push(folder.to_path_buf());
    }
    sweep_stale(folder)
}

/// Removes from `folder` the temporaries that runs killed before they could clean up left behind:
/// posecam's names only, and only those no live process holds locked. What was removed.
pub fn sweep_stale(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_ours = name.to_str().is_some_and(is_staged_name);
        let kind = entry.file_type();
        if !is_ours || !kind.is_ok_and(|k| k.is_file() || k.is_dir()) {
            continue;
        }
        let path = entry.path();
        // Held while it is removed, so no run can take it up meanwhile.
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            remove_any(&path);
            if std::fs::symlink_metadata(&path).is_err() {
                removed.push(path);
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_posecams_temporary_names_are_taken_for_its_own() {
        for ours in [
            ".long_pose.mp4.C2Di1F.posecam.mp4",
            ".long.jsonl.a1b2c3.posecam.jsonl",
            ".frames.ZZZZZZ.posecam",
        ] {
            assert!(is_staged_name(ours), "{ours}");
        }
        for theirs in [
            "long_pose.mp4",
            ".hidden.mp4",
            ".x.C2Di1.posecam.mp4",
            ".x.C2Di1F!.posecam",
            ".x.C2Di1F.posecam.a.b",
            ".C2Di1F.posecam",
            ".x.C2Di1F.posecamera",
        ] {
            assert!(!is_staged_name(theirs), "{theirs}");
        }
    }

    #[test]
    fn a_killed_runs_temporaries_go_and_a_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(".clip_pose.mp4.AbC123.posecam.mp4");
        let live = dir.path().join(".clip.jsonl.XyZ789.posecam.jsonl");
        let dead_folder = dir.path().join(".frames.Qq1234.posecam");
        let user = dir.path().join(".notes.AbC123.txt");
        std::fs::write(&dead, b"half a video").unwrap();
        std::fs::write(&live, b"being written").unwrap();
        std::fs::create_dir(&dead_folder).unwrap();
        std::fs::write(dead_folder.join("f_000_keypoints.json"), b"{}").unwrap();
        std::fs::write(&user, b"mine").unwrap();
        let held = lock(&live, std::fs::File::open(&live).unwrap()).unwrap();
        let mut removed = sweep_stale(dir.path());
        removed.sort();
        assert_eq!(removed, [dead, dead_folder]);
        assert!(live.exists() && user.exists());
        drop(held);
        assert_eq!(sweep_stale(dir.path()), [live]);
    }
}
