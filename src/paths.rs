//! Where posecam looks for its project-local files (ONNX Runtime library, models) without being told.

use std::path::{Path, PathBuf};

/// Folder (relative to a project root) where set-up unpacks ONNX Runtime.
pub const DEPS_DIR: &str = ".deps";
/// Folder (relative to a project root) holding models and their manifests.
pub const MODELS_DIR: &str = "models";

/// Candidate project roots, most specific first: the working directory, the folders above the
/// executable (`target/release/posecam` lives two levels below the root), and the source tree this
/// binary was built from.
pub fn project_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut unique: Vec<PathBuf> = Vec::new();
    for r in roots {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    unique
}

/// The first existing `relative` path under one of the project roots.
pub fn find_in_project(relative: &Path) -> Option<PathBuf> {
    project_roots()
        .into_iter()
        .map(|root| root.join(relative))
        .find(|p| p.exists())
}
