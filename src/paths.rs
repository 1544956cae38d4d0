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

/// Models looked for in `models/`, best first: the CMU COCO model once fetched, then the small one.
pub const DEFAULT_MODELS: &[&str] = &["body_pose_model.onnx", "tfpose-mobilenet-v2-small.onnx"];

/// The model to use when none is named: `POSECAM_MODEL`, else the best of [`DEFAULT_MODELS`] in a
/// project's `models/`, else any `.onnx` there.
pub fn default_model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("POSECAM_MODEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    for name in DEFAULT_MODELS {
        if let Some(p) = find_in_project(&PathBuf::from(MODELS_DIR).join(name)) {
            return Some(p);
        }
    }
    for root in project_roots() {
        if let Ok(entries) = std::fs::read_dir(root.join(MODELS_DIR)) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
                .collect();
            found.sort();
            if let Some(p) = found.into_iter().next() {
                return Some(p);
            }
        }
    }
    None
}
