//! Every command's outputs as one transaction: planned and checked before any work (no output may be
//! an input, another output, or an existing file without `--overwrite`), written to temporaries beside
//! their targets, and committed together at the end, or all removed. A commit that fails half-way puts
//! back what it had replaced. Temporaries are registered so a signal handler can remove them.

use std::path::{Component, Path, PathBuf};

use super::journal::{parent_of, shortened, Journal, PlaceError};
pub use super::staged::remove_all_staged;
use super::staged::{lock, register, sweep_stale_once, unregister};

/// Why an output cannot be written, each one line.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path} ({role}) would overwrite the input {input}")]
    IsInput {
        path: PathBuf,
        role: String,
        input: PathBuf,
    },
    #[error("{path} is named twice: as {first} and as {second}")]
    Twice {
        path: PathBuf,
        first: String,
        second: String,
    },
    #[error("{path} ({role}) is a file {folder} ({folder_role}) writes too")]
    InFolder {
        path: PathBuf,
        role: String,
        folder: PathBuf,
        folder_role: String,
    },
    #[error("{0} already exists (pass --overwrite to replace it)")]
    Exists(PathBuf),
    #[error("{path} ({role}) is a folder; name a file")]
    IsFolder { path: PathBuf, role: String },
    #[error("{path} ({role}) exists and is not a folder")]
    NotFolder { path: PathBuf, role: String },
    #[error("{folder} already holds {name} (pass --overwrite to replace it)")]
    FolderClash { folder: PathBuf, name: String },
    #[error("folder {0} does not exist")]
    NoParent(PathBuf),
    #[error("{path}: cannot write")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot create a file in {folder}")]
    Stage {
        path: PathBuf,
        folder: PathBuf,
        source: std::io::Error,
    },
}

/// Which existing files in an output folder the new ones would replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderFiles {
    /// Exactly these names.
    Names(Vec<String>),
    /// Any name with this prefix and suffix (per-frame files).
    Pattern { prefix: String, suffix: String },
    /// The folder is the output's own (a batch item's motion files): every file in it is the
    /// output's, and the new folder replaces the old whole, no file of an earlier run left in it.
    Whole,
}

impl FolderFiles {
    fn matches(&self, name: &str) -> bool {
        match self {
            FolderFiles::Names(names) => names.iter().any(|n| n == name),
            FolderFiles::Pattern { prefix, suffix } => {
                name.len() >= prefix.len() + suffix.len()
                    && name.starts_with(prefix.as_str())
                    && name.ends_with(suffix.as_str())
            }
            FolderFiles::Whole => true,
        }
    }
}

/// A planned output, by the order it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputId(usize);

#[derive(Debug)]
enum Staged {
    File(tempfile::TempPath),
    Folder(tempfile::TempDir),
}

impl Staged {
    fn path(&self) -> &Path {
        match self {
            Staged::File(p) => p,
            Staged::Folder(d) => d.path(),
        }
    }
}

impl Planned {
    /// This is a folder output that writes the file `key` (a direct child its files match).
    fn writes(&self, key: &Path) -> bool {
        let Some(files) = &self.folder else {
            return false;
        };
        key.parent() == Some(self.key.as_path())
            && key
                .file_name()
                .is_some_and(|n| files.matches(&n.to_string_lossy()))
    }
}

#[derive(Debug)]
struct Planned {
    target: PathBuf,
    /// Absolute, with `.`/`..` resolved and the parent's links followed: what collisions compare.
    key: PathBuf,
    role: String,
    folder: Option<FolderFiles>,
    staged: Option<Staged>,
    /// Held while the temporary may still be written: a later run sweeps it only once this is gone.
    lock: Option<std::fs::File>,
}

/// The outputs of one command.
#[derive(Debug)]
pub struct OutputSet {
    overwrite: bool,
    inputs: Vec<(PathBuf, PathBuf)>,
    planned: Vec<Planned>,
}

/// True when both paths exist and name the same file (so an output would replace an input).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// `path` made absolute and cleaned of `.` and `..` without following links.
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    let mut lexical = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    lexical
}

/// `path` made absolute with `.` and `..` resolved, its parent's symbolic links followed.
fn collision_key(path: &Path) -> PathBuf {
    let lexical = lexical_absolute(path);
    if let Ok(real) = lexical.canonicalize() {
        return real;
    }
    match (lexical.parent(), lexical.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map_or_else(|_| lexical.clone(), |p| p.join(name)),
        _ => lexical,
    }
}

/// File mode for new outputs before the umask, as for any file a program creates.
fn file_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o666)
}

fn folder_permissions() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o777)
}

impl OutputSet {
    /// A set whose outputs may not replace any of `inputs`.
    pub fn new<P: AsRef<Path>>(inputs: &[P], overwrite: bool) -> Self {
        Self {
            overwrite,
            inputs: inputs
                .iter()
                .map(|p| (p.as_ref().to_path_buf(), collision_key(p.as_ref())))
                .collect(),
            planned: Vec::new(),
        }
    }

    /// Checks what every output has to pass, file or folder.
    fn check_common(&self, target: &Path, key: &Path, role: &str) -> Result<(), OutputError> {
        if let Some((input, _)) = self
            .inputs
            .iter()
            .find(|(input, k)| k == key || same_file(input, target))
        {
            return Err(OutputError::IsInput {
                path: target.to_path_buf(),
                role: role.into(),
                input: input.clone(),
            });
        }
        if let Some(other) = self.planned.iter().find(|p| p.key == key) {
            return Err(OutputError::Twice {
                path: target.to_path_buf(),
                first: other.role.clone(),
                second: role.into(),
            });
        }
        if let Some(folder) = self.planned.iter().find(|p| p.writes(key)) {
            return Err(OutputError::InFolder {
                path: target.to_path_buf(),
                role: role.into(),
                folder: folder.target.clone(),
                folder_role: folder.role.clone(),
            });
        }
        let parent = parent_of(target);
        if !parent.is_dir() {
            return Err(OutputError::NoParent(parent));
        }
        Ok(())
    }

    /// Plans the file `target` (`role` names it in messages, e.g. "--json").
    pub fn add_file(&mut self, target: &Path, role: &str) -> Result<OutputId, OutputError> {
        let key = collision_key(target);
        self.check_common(target, &key, role)?;
        if target.is_dir() {
            return Err(OutputError::IsFolder {
                path: target.to_path_buf(),
                role: role.into(),
            });
        }
        if target.symlink_metadata().is_ok() && !self.overwrite {
            return Err(OutputError::Exists(target.to_path_buf()));
        }
        Ok(self.push(target, key, role, None))
    }

    /// Plans the folder `target`, which gets the files described by `files` (an existing folder is
    /// filled; files in it that the new ones would replace need `--overwrite`).
    pub fn add_folder(
        &mut self,
        target: &Path,
        role: &str,
        files: FolderFiles,
    ) -> Result<OutputId, OutputError> {
        let key = collision_key(target);
        self.check_common(target, &key, role)?;
        if target.exists() && !target.is_dir() {
            return Err(OutputError::NotFolder {
                path: target.to_path_buf(),
                role: role.into(),
            });
        }
        let planned = Planned {
            target: target.to_path_buf(),
            key: key.clone(),
            role: role.into(),
            folder: Some(files.clone()),
            staged: None,
            lock: None,
        };
        if let Some(file) = self.planned.iter().find(|p| planned.writes(&p.key)) {
            return Err(OutputError::InFolder {
                path: file.target.clone(),
                role: file.role.clone(),
                folder: target.to_path_buf(),
                folder_role: role.into(),
            });
        }
        if target.is_dir() && !self.overwrite {
            let entries = std::fs::read_dir(target).map_err(write_error(target))?;
            if let Some(name) = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| files.matches(n))
            {
                return Err(OutputError::FolderClash {
                    folder: target.to_path_buf(),
                    name,
                });
            }
        }
        Ok(self.push(target, key, role, Some(files)))
    }

    fn push(
        &mut self,
        target: &Path,
        key: PathBuf,
        role: &str,
        folder: Option<FolderFiles>,
    ) -> OutputId {
        self.planned.push(Planned {
            target: target.to_path_buf(),
            key,
            role: role.into(),
            folder,
            staged: None,
            lock: None,
        });
        OutputId(self.planned.len() - 1)
    }

    /// Creates a temporary beside every target (same extension, so FFmpeg picks the same container),
    /// locked for as long as this set lives. First, what killed runs left in those folders goes
    /// (once per folder and process).
    pub fn stage(&mut self) -> Result<(), OutputError> {
        for p in &mut self.planned {
            if p.staged.is_some() {
                continue;
            }
            let parent = parent_of(&p.target);
            for stale in sweep_stale_once(&parent) {
                tracing::info!(
                    "removed {}: left by a posecam run that was killed",
                    stale.display()
                );
            }
            let (staged, held) = stage_one(p, &parent)?;
            register(staged.path());
            p.staged = Some(staged);
            p.lock = held;
        }
        Ok(())
    }

    /// Where to write output `id` (a temporary file or folder, once staged).
    pub fn path(&self, id: OutputId) -> &Path {
        let p = &self.planned[id.0];
        p.staged.as_ref().map_or(&p.target, Staged::path)
    }

    /// The real path of output `id`, for messages.
    pub fn target(&self, id: OutputId) -> &Path {
        &self.planned[id.0].target
    }

    /// Puts every output in place, or none: a failure undoes what was done.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let mut journal = Journal::default();
        let overwrite = self.overwrite;
        for p in &mut self.planned {
            let Some(staged) = p.staged.take() else {
                continue;
            };
            let staged_path = staged.path().to_path_buf();
            let result = match staged {
                Staged::File(file) => journal.place_file(file, &p.target, overwrite),
                Staged::Folder(dir) => {
                    let whole = p.folder == Some(FolderFiles::Whole);
                    journal.place_folder(dir, &p.target, overwrite, whole)
                }
            };
            unregister(&staged_path);
            if let Err(e) = result {
                journal.undo();
                return Err(e.into());
            }
        }
        journal.finish();
        Ok(())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        for p in &self.planned {
            if let Some(s) = &p.staged {
                unregister(s.path());
            }
        }
    }
}

impl From<PlaceError> for OutputError {
    fn from(e: PlaceError) -> Self {
        match e {
            PlaceError::Exists(path) => OutputError::Exists(path),
            PlaceError::Io(path, source) => OutputError::Write { path, source },
        }
    }
}

/// A locked temporary for `p` in `parent` (tried again in the rare case another run's sweep took
/// it in the instant before it was locked).
fn stage_one(p: &Planned, parent: &Path) -> Result<(Staged, Option<std::fs::File>), OutputError> {
    let name = p.target.file_name().map_or_else(
        || "output".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let ext = p
        .target
        .extension()
        .map(|e| e.to_string_lossy().into_owned());
    let prefix = format!(".{}.", shortened(&name, 96));
    let suffix = match (&ext, &p.folder) {
        (Some(e), None) => format!(".posecam.{}", shortened(e, 16)),
        _ => ".posecam".to_string(),
    };
    let err = |e: std::io::Error| OutputError::Stage {
        path: p.target.clone(),
        folder: parent.to_path_buf(),
        source: e,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        let (staged, file) = if p.folder.is_some() {
            builder.permissions(folder_permissions());
            let dir = builder.tempdir_in(parent).map_err(err)?;
            let file = std::fs::File::open(dir.path()).map_err(err)?;
            (Staged::Folder(dir), file)
        } else {
            builder.permissions(file_permissions());
            let (file, path) = builder.tempfile_in(parent).map_err(err)?.into_parts();
            (Staged::File(path), file)
        };
        match lock(staged.path(), file) {
            Some(held) => return Ok((staged, Some(held))),
            // No lock to be had (a file system without them): staged all the same.
            None if tries >= 3 => return Ok((staged, None)),
            None => {}
        }
    }
}

/// An I/O failure while putting `target` in place.
fn write_error(target: &Path) -> impl Fn(std::io::Error) -> OutputError + Copy + '_ {
    move |e| OutputError::Write {
        path: target.to_path_buf(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn collisions_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mp4");
        std::fs::write(&input, b"video").unwrap();
        let mut set = OutputSet::new(&[&input], true);
        let e = set
            .add_file(&dir.path().join("./in.mp4"), "-o")
            .unwrap_err();
        assert!(matches!(e, OutputError::IsInput { .. }), "{e}");
        let same = dir.path().join("same.png");
        set.add_file(&same, "-o").unwrap();
        let e = set
            .add_file(&dir.path().join("sub/../same.png"), "--json")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is named twice: as -o and as --json",
                dir.path().join("sub/../same.png").display()
            )
        );
        let e = set.add_file(dir.path(), "--json").unwrap_err();
        assert!(matches!(e, OutputError::IsFolder { .. }), "{e}");
        let e = set
            .add_file(&dir.path().join("no/x.json"), "--json")
            .unwrap_err();
        assert!(matches!(e, OutputError::NoParent(_)), "{e}");
    }

    #[test]
    fn everything_or_nothing_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.png"));
        let mut set = OutputSet::new::<&Path>(&[], false);
        let (ia, ib) = (
            set.add_file(&a, "a").unwrap(),
            set.add_file(&b, "b").unwrap(),
        );
        set.stage().unwrap();
        std::fs::write(set.path(ia), b"A").unwrap();
        std::fs::write(set.path(ib), b"B").unwrap();
        assert_eq!(names(dir.path()).len(), 2, "only temporaries so far");
        assert!(!a.exists() && !b.exists());
        drop(set);
        assert!(names(dir.path()).is_empty(), "dropped: nothing left");

        let mut set = OutputSet::new::<&Path>(&[], false);
        let (ia, ib) = (
            set.add_file(&a, "a").unwrap(),
            set.add_file(&b, "b").unwrap(),
        );
        set.stage().unwrap();
        std::fs::write(set.path(ia), b"A").unwrap();
        std::fs::write(set.path(ib), b"B").unwrap();
        // Someone creates b meanwhile: the commit fails and a is taken back.
        std::fs::write(&b, b"theirs").unwrap();
        assert!(matches!(set.commit(), Err(OutputError::Exists(_))));
        assert_eq!(names(dir.path()), ["b.png"]);
        assert_eq!(std::fs::read(&b).unwrap(), b"theirs");
    }

    #[test]
    fn overwriting_keeps_the_old_files_until_everything_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b"));
        std::fs::write(&a, b"old").unwrap();
        let mut set = OutputSet::new::<&Path>(&[], true);
        let ia = set.add_file(&a, "a").unwrap();
        let ib = set.add_file(&b, "b").unwrap();
        set.stage().unwrap();
        std::fs::write(set.path(ia), b"new").unwrap();
        std::fs::write(set.path(ib), b"B").unwrap();
        // b becomes a folder: it cannot be replaced by a file, so the old a comes back.
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("keep"), b"x").unwrap();
        assert!(set.commit().is_err());
        assert_eq!(std::fs::read(&a).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.json", "b"]);
    }

    #[test]
    fn folders_are_staged_whole_and_refuse_to_replace_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("frames");
        let pattern = FolderFiles::Pattern {
            prefix: "clip_".into(),
            suffix: "_keypoints.json".into(),
        };
        let mut set = OutputSet::new::<&Path>(&[], false);
        let id = set.add_folder(&out, "--json-dir", pattern.clone()).unwrap();
        set.stage().unwrap();
        std::fs::write(set.path(id).join("clip_000_keypoints.json"), b"{}").unwrap();
        set.commit().unwrap();
        assert_eq!(names(&out), ["clip_000_keypoints.json"]);
        assert_eq!(names(dir.path()), ["frames"], "no temporary left");
        let mut set = OutputSet::new::<&Path>(&[], false);
        let e = set.add_folder(&out, "--json-dir", pattern).unwrap_err();
        assert!(matches!(e, OutputError::FolderClash { .. }), "{e}");
    }

    #[test]
    fn outputs_get_the_usual_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let mut set = OutputSet::new::<&Path>(&[], false);
        let id = set.add_file(&a, "a").unwrap();
        set.stage().unwrap();
        std::fs::write(set.path(id), b"{}").unwrap();
        set.commit().unwrap();
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        // What the umask allows of 0666, not tempfile's private 0600.
        assert_ne!(mode, 0o600);
        assert_eq!(mode & 0o600, 0o600);
    }
}
