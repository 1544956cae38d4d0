//! A batch's inputs: folders (recursive), globs and `@list` files expanded to files, each with the
//! path its outputs mirror under the output folder.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::BatchError;
use crate::io::inputs::special_kind;

/// Video containers a folder is searched for (a file named on its own is taken whatever its name).
const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "avi", "webm", "gif", "mpg", "mpeg", "ts", "mts", "m2ts", "wmv",
    "flv", "3gp", "ogv",
];
/// Still images a folder is searched for.
const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp"];

/// One input file and where it sits in the mirrored tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInput {
    /// Absolute path.
    pub path: PathBuf,
    /// Path below the inputs' common folder (`a/b/clip.mp4`), mirrored under the output folder.
    pub relative: PathBuf,
}

/// Whether a file is a still image (its annotated output is a picture, not a video).
pub fn is_image(path: &Path) -> bool {
    extension_in(path, IMAGE_EXTENSIONS)
}

fn extension_in(path: &Path, list: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| list.contains(&e.to_ascii_lowercase().as_str()))
}

fn is_media(path: &Path) -> bool {
    extension_in(path, VIDEO_EXTENSIONS) || extension_in(path, IMAGE_EXTENSIONS)
}

/// `path` made absolute and cleaned of `.` and `..` without following links (a linked file keeps
/// its place in the tree).
pub use crate::io::transaction::lexical_absolute as absolute;

/// A file a folder search left out, and why (it is named, never dropped silently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedInput {
    pub path: PathBuf,
    pub reason: String,
}

/// What the inputs expand to.
#[derive(Debug, Clone, Default)]
pub struct Expanded {
    /// Each file once, by its real path, sorted by the path its outputs mirror.
    pub inputs: Vec<FoundInput>,
    pub skipped: Vec<SkippedInput>,
}

/// The longest path the system opens (Linux's PATH_MAX, with its terminating NUL).
const PATH_MAX: usize = 4096;

/// Expands `args` (files, folders, globs, `@list` files) into input files, sorted by their mirrored
/// path, each file once. `skip` (the output folder) is never searched.
pub fn expand(args: &[OsString], skip: &Path) -> Result<Expanded, BatchError> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new(); // (file, root)
    let mut skipped = Vec::new();
    for arg in args {
        let mut search = Search {
            skip,
            found: &mut found,
            skipped: &mut skipped,
        };
        search.arg(arg, None)?;
    }
    let roots: Vec<&Path> = found.iter().map(|(_, root)| root.as_path()).collect();
    let common = common_ancestor(&roots);
    let mut inputs: Vec<FoundInput> = found
        .iter()
        .map(|(file, _)| FoundInput {
            path: file.clone(),
            relative: file.strip_prefix(&common).unwrap_or(file).to_path_buf(),
        })
        .collect();
    inputs.sort_by(|a, b| a.relative.cmp(&b.relative));
    let inputs = once_by_real_path(inputs, &mut skipped);
    Ok(Expanded { inputs, skipped })
}

/// Each file once: a link to a file that is planned already (or twice named) is left out, and the
/// file keeps the place it has in the tree rather than the link's.
fn once_by_real_path(inputs: Vec<FoundInput>, skipped: &mut Vec<SkippedInput>) -> Vec<FoundInput> {
    let reals: Vec<PathBuf> = inputs
        .iter()
        .map(|f| f.path.canonicalize().unwrap_or_else(|_| f.path.clone()))
        .collect();
    // Each file's entry: the first that names it where it is, else its first link.
    let mut chosen: std::collections::HashMap<&Path, usize> = std::collections::HashMap::new();
    for (i, real) in reals.iter().enumerate() {
        let slot = chosen.entry(real).or_insert(i);
        if inputs[i].path == *real && inputs[*slot].path != *real {
            *slot = i;
        }
    }
    let mut kept = Vec::with_capacity(chosen.len());
    for (i, input) in inputs.iter().enumerate() {
        let first = &inputs[chosen[reals[i].as_path()]];
        if chosen[reals[i].as_path()] == i {
            kept.push(input.clone());
        } else if first.path != input.path {
            skipped.push(SkippedInput {
                path: input.path.clone(),
                reason: format!("the same file as {}: planned once", first.path.display()),
            });
        }
    }
    kept
}

/// One expansion: where found files go, what is left out, and the folder never searched.
struct Search<'a> {
    skip: &'a Path,
    found: &'a mut Vec<(PathBuf, PathBuf)>,
    skipped: &'a mut Vec<SkippedInput>,
}

impl Search<'_> {
    fn arg(&mut self, arg: &OsStr, list_dir: Option<&Path>) -> Result<(), BatchError> {
        let text = arg.to_string_lossy();
        if text.contains("://") {
            return Err(BatchError::StreamInput(text.into_owned()));
        }
        if let Some(list) = arg
            .as_bytes()
            .strip_prefix(b"@")
            .filter(|_| list_dir.is_none())
        {
            return self.list(Path::new(OsStr::from_bytes(list)));
        }
        let path = match list_dir {
            Some(dir) if Path::new(arg).is_relative() => dir.join(arg),
            _ => PathBuf::from(arg),
        };
        let path = absolute(&path);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                let before = self.found.len();
                self.walk(&path, &path)?;
                if self.found.len() == before {
                    return Err(BatchError::EmptyFolder(path));
                }
                Ok(())
            }
            Ok(meta) if meta.is_file() => {
                let root = path.parent().unwrap_or(Path::new("/")).to_path_buf();
                self.found.push((path, root));
                Ok(())
            }
            Ok(meta) => Err(BatchError::NotAFile {
                path,
                kind: special_kind(&meta.file_type()),
            }),
            Err(_) if text.contains(['*', '?', '[']) => self.glob(&path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BatchError::NoSuchInput(PathBuf::from(arg)))
            }
            Err(e) => Err(BatchError::Read { path, source: e }),
        }
    }

    /// An `@list` file: one input per line (files, folders or globs; `#` starts a comment);
    /// relative paths are taken from the list's folder, so a list works from any directory. Lines
    /// are bytes: a name that is not UTF-8 is listed as it is.
    fn list(&mut self, list: &Path) -> Result<(), BatchError> {
        let bytes = std::fs::read(list).map_err(|e| BatchError::Read {
            path: list.to_path_buf(),
            source: e,
        })?;
        let dir = absolute(list.parent().unwrap_or(Path::new(".")));
        for line in bytes.split(|b| *b == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            self.arg(OsStr::from_bytes(line), Some(&dir))?;
        }
        Ok(())
    }

    fn glob(&mut self, pattern: &Path) -> Result<(), BatchError> {
        let text = pattern.to_string_lossy();
        let bad = |reason: String| BatchError::BadGlob {
            pattern: text.to_string(),
            reason,
        };
        let paths = glob::glob(&text).map_err(|e| bad(e.msg.to_string()))?;
        // The mirrored tree starts at the pattern's last folder without wildcards.
        let root: PathBuf = pattern
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let before = self.found.len();
        for entry in paths {
            let path = entry.map_err(|e| bad(e.to_string()))?;
            if path.is_file() {
                self.found.push((absolute(&path), root.clone()));
            }
        }
        if self.found.len() == before {
            return Err(BatchError::NoMatch(text.to_string()));
        }
        Ok(())
    }

    /// Media files under `dir`, recursively; hidden entries and `skip` are left out, and so are
    /// linked folders, special files and paths too long to open, each named with its reason.
    fn walk(&mut self, dir: &Path, root: &Path) -> Result<(), BatchError> {
        let read = |e| BatchError::Read {
            path: dir.to_path_buf(),
            source: e,
        };
        let mut entries: Vec<std::fs::DirEntry> =
            std::fs::read_dir(dir).map_err(read)?.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let hidden = entry.file_name().as_bytes().starts_with(b".");
            if hidden || path == self.skip {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let too_long = path.as_os_str().len() >= PATH_MAX;
            if too_long && kind.is_dir() {
                let why = format!("a folder whose path is over {PATH_MAX} bytes, longer than the system opens: no file in it can be read (move them nearer the root)");
                self.skip_it(&path, why);
            } else if too_long && is_media(&path) {
                let why = format!("its path is over {PATH_MAX} bytes, longer than the system opens (move it nearer the root)");
                self.skip_it(&path, why);
            } else if kind.is_dir() {
                if let Err(e) = self.walk(&path, root) {
                    self.skip_it(
                        &path,
                        format!(
                            "cannot read this folder: {}",
                            crate::pipeline::error_chain(&e)
                        ),
                    );
                }
            } else if is_media(&path) {
                self.media(path, kind, root);
            }
        }
        Ok(())
    }

    /// A media-named entry of a folder: a file (or a link to one) is found, anything else named.
    fn media(&mut self, path: PathBuf, kind: std::fs::FileType, root: &Path) {
        let followed = std::fs::metadata(&path);
        match followed {
            Ok(meta) if meta.is_file() => self.found.push((path, root.to_path_buf())),
            Ok(meta) if meta.is_dir() => self.skip_it(
                &path,
                "a link to a folder (linked folders are not searched)".into(),
            ),
            Ok(meta) => {
                let what = special_kind(&meta.file_type());
                self.skip_it(&path, format!("a {what}, not a file"));
            }
            Err(_) if kind.is_symlink() => self.skip_it(&path, "a link to nothing".into()),
            Err(e) => self.skip_it(&path, format!("cannot read: {e}")),
        }
    }

    fn skip_it(&mut self, path: &Path, reason: String) {
        self.skipped.push(SkippedInput {
            path: path.to_path_buf(),
            reason,
        });
    }
}

/// The deepest folder holding every one of `roots`.
fn common_ancestor(roots: &[&Path]) -> PathBuf {
    let Some(first) = roots.first() else {
        return PathBuf::new();
    };
    let mut common: Vec<Component> = first.components().collect();
    for root in &roots[1..] {
        let shared = common
            .iter()
            .zip(root.components())
            .take_while(|(a, b)| **a == *b)
            .count();
        common.truncate(shared);
    }
    common.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_folder_of_roots_is_their_deepest_shared_one() {
        let roots = [Path::new("/data/x/a"), Path::new("/data/x/b/c")];
        assert_eq!(common_ancestor(&roots), PathBuf::from("/data/x"));
        assert_eq!(
            common_ancestor(&[Path::new("/data/x")]),
            PathBuf::from("/data/x")
        );
    }

    #[test]
    fn absolute_paths_lose_dots_without_following_links() {
        assert_eq!(
            absolute(Path::new("/a/./b/../c.mp4")),
            PathBuf::from("/a/c.mp4")
        );
    }

    #[test]
    fn stream_urls_are_refused() {
        let err = expand(&["rtsp://cam/1".into()], Path::new("/nowhere")).unwrap_err();
        assert!(err.to_string().contains("rtsp://cam/1"), "{err}");
    }
}
