//! Putting staged outputs in place as one step that can be undone: what a commit replaced is kept
//! beside its target until every output is in place, and put back if one fails.

use std::path::{Path, PathBuf};

use super::staged::remove_any;

/// Why an output could not be put in place.
pub(super) enum PlaceError {
    /// Something appeared at the target since the outputs were checked.
    Exists(PathBuf),
    Io(PathBuf, std::io::Error),
}

/// An I/O failure while putting `target` in place.
fn io_error(target: &Path) -> impl Fn(std::io::Error) -> PlaceError + Copy + '_ {
    move |e| PlaceError::Io(target.to_path_buf(), e)
}

/// The folder a target is written in (`.` for a bare name).
pub(super) fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The longest start of `name` that fits in `max` bytes: a temporary named after a target of 250
/// bytes would exceed the file system's 255.
pub(super) fn shortened(name: &str, max: usize) -> String {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// What a commit did so far, to undo it.
#[derive(Default)]
pub(super) struct Journal {
    /// New files and folders put where nothing was.
    placed: Vec<PathBuf>,
    /// (target, backup of what it replaced).
    replaced: Vec<(PathBuf, tempfile::TempPath)>,
}

impl Journal {
    pub(super) fn place_file(
        &mut self,
        file: tempfile::TempPath,
        target: &Path,
        overwrite: bool,
    ) -> Result<(), PlaceError> {
        let err = io_error(target);
        if overwrite && target.symlink_metadata().is_ok() {
            let backup = backup_beside(target).map_err(err)?;
            std::fs::rename(target, &backup).map_err(err)?;
            if let Err(e) = file.persist(target) {
                let _ = std::fs::rename(&backup, target);
                return Err(err(e.error));
            }
            self.replaced.push((target.to_path_buf(), backup));
            return Ok(());
        }
        match file.persist_noclobber(target) {
            Ok(()) => {
                self.placed.push(target.to_path_buf());
                Ok(())
            }
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(PlaceError::Exists(target.to_path_buf()))
            }
            Err(e) => Err(err(e.error)),
        }
    }

    pub(super) fn place_folder(
        &mut self,
        dir: tempfile::TempDir,
        target: &Path,
        overwrite: bool,
        whole: bool,
    ) -> Result<(), PlaceError> {
        let err = io_error(target);
        if !target.exists() {
            let staged = dir.keep();
            std::fs::rename(&staged, target).map_err(|e| {
                let _ = std::fs::remove_dir_all(&staged);
                err(e)
            })?;
            self.placed.push(target.to_path_buf());
            return Ok(());
        }
        let staged: Vec<_> = std::fs::read_dir(dir.path())
            .map_err(err)?
            .flatten()
            .collect();
        if whole && overwrite {
            let names: std::collections::HashSet<_> =
                staged.iter().map(|e| e.file_name()).collect();
            for old in std::fs::read_dir(target).map_err(err)?.flatten() {
                let is_file = old.file_type().is_ok_and(|t| t.is_file());
                if is_file && !names.contains(&old.file_name()) {
                    self.set_aside(&old.path())?;
                }
            }
        }
        for entry in staged {
            let file = tempfile::TempPath::try_from_path(entry.path()).map_err(err)?;
            self.place_file(file, &target.join(entry.file_name()), overwrite)?;
        }
        Ok(())
    }

    /// Moves `target` aside, as a replaced file is: gone once the commit finishes, put back if it
    /// fails.
    fn set_aside(&mut self, target: &Path) -> Result<(), PlaceError> {
        let err = io_error(target);
        let backup = backup_beside(target).map_err(err)?;
        std::fs::rename(target, &backup).map_err(err)?;
        self.replaced.push((target.to_path_buf(), backup));
        Ok(())
    }

    pub(super) fn undo(self) {
        for placed in self.placed.iter().rev() {
            remove_any(placed);
        }
        for (target, backup) in self.replaced.into_iter().rev() {
            let _ = backup.persist(&target);
        }
    }

    /// Success: the replaced files go (their backups are removed when dropped).
    pub(super) fn finish(self) {}
}

/// A free name beside `target` to keep what it replaces until the commit is complete.
fn backup_beside(target: &Path) -> std::io::Result<tempfile::TempPath> {
    let name = target
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let name = shortened(&name, 96);
    Ok(tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".posecam-backup")
        .tempfile_in(parent_of(target))?
        .into_temp_path())
}
