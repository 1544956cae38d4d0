//! A batch's inputs: folders (recursive), globs and `@list` files expanded to files, each with the
//! path its outputs mirror under the output folder.

use std::path::{Component, Path, PathBuf};

use super::BatchError;

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

/// Expands `args` (files, folders, globs, `@list` files) into input files, sorted by their mirrored
/// path, without duplicates. `skip` (the output folder) is never searched.
pub fn expand(args: &[String], skip: &Path) -> Result<Vec<FoundInput>, BatchError> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new(); // (file, root)
    for arg in args {
        expand_one(arg, None, skip, &mut found)?;
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
    inputs.dedup_by(|a, b| a.path == b.path);
    Ok(inputs)
}

fn expand_one(
    arg: &str,
    list_dir: Option<&Path>,
    skip: &Path,
    found: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), BatchError> {
    if arg.contains("://") {
        return Err(BatchError::StreamInput(arg.to_string()));
    }
    if let Some(list) = arg.strip_prefix('@').filter(|_| list_dir.is_none()) {
        return expand_list(Path::new(list), skip, found);
    }
    let path = match list_dir {
        Some(dir) if Path::new(arg).is_relative() => dir.join(arg),
        _ => PathBuf::from(arg),
    };
    let path = absolute(&path);
    if path.is_dir() {
        let before = found.len();
        walk(&path, skip, &path, found)?;
        if found.len() == before {
            return Err(BatchError::EmptyFolder(path));
        }
        return Ok(());
    }
    if path.is_file() {
        let root = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        found.push((path, root));
        return Ok(());
    }
    if arg.contains(['*', '?', '[']) {
        return expand_glob(&path, found);
    }
    Err(BatchError::NoSuchInput(PathBuf::from(arg)))
}

/// An `@list` file: one input per line (files, folders or globs; `#` starts a comment); relative
/// paths are taken from the list's folder, so a list works from any directory.
fn expand_list(
    list: &Path,
    skip: &Path,
    found: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), BatchError> {
    let text = std::fs::read_to_string(list).map_err(|e| BatchError::Read {
        path: list.to_path_buf(),
        source: e,
    })?;
    let dir = absolute(list.parent().unwrap_or(Path::new(".")));
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        expand_one(line, Some(&dir), skip, found)?;
    }
    Ok(())
}

fn expand_glob(pattern: &Path, found: &mut Vec<(PathBuf, PathBuf)>) -> Result<(), BatchError> {
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
    let before = found.len();
    for entry in paths {
        let path = entry.map_err(|e| bad(e.to_string()))?;
        if path.is_file() {
            found.push((absolute(&path), root.clone()));
        }
    }
    if found.len() == before {
        return Err(BatchError::NoMatch(text.to_string()));
    }
    Ok(())
}

/// Media files under `dir`, recursively; hidden entries, linked folders and `skip` are left out.
fn walk(
    dir: &Path,
    skip: &Path,
    root: &Path,
    found: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), BatchError> {
    let read = |e| BatchError::Read {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || path == skip {
            continue;
        }
        let linked_dir = path.symlink_metadata().is_ok_and(|m| m.is_symlink()) && path.is_dir();
        if path.is_dir() && !linked_dir {
            walk(&path, skip, root, found)?;
        } else if path.is_file() && is_media(&path) {
            found.push((path, root.to_path_buf()));
        }
    }
    Ok(())
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
