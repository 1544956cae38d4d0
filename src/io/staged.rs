//! The temporaries of every output set in this process, registered so that a signal handler can
//! remove them all at once (a second Ctrl-C: nothing may be left behind).

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
