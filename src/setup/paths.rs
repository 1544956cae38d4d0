//! Where posecam keeps and finds its files: ONNX Runtime, models, settings.
//!
//! Installed anywhere (`cargo install`, a copied binary), posecam uses the user's folders: the data
//! folder (XDG, e.g. `~/.local/share/posecam`: runtime and models) and the config folder (settings).
//! Run from its checkout (`target/release/posecam`), it also finds the checkout's `.deps/` and
//! `models/`, located from the executable. Never the current directory: running posecam inside a
//! downloaded folder must not load that folder's libraries.

use std::path::{Path, PathBuf};

/// Folder (in a checkout) where set-up unpacks ONNX Runtime.
pub const DEPS_DIR: &str = ".deps";
/// Folder holding models and their manifests (in a checkout and in the data folder).
pub const MODELS_DIR: &str = "models";
/// Folder (in the data folder) holding ONNX Runtime.
pub const RUNTIME_DIR: &str = "runtime";

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "posecam")
}

/// The user's data folder for posecam (`POSECAM_DATA_DIR` overrides it).
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("POSECAM_DATA_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => project_dirs().map(|d| d.data_dir().to_path_buf()),
    }
}

/// The user's config folder for posecam (`POSECAM_CONFIG_DIR` overrides it).
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os("POSECAM_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => project_dirs().map(|d| d.config_dir().to_path_buf()),
    }
}

/// The folder of the running executable.
pub fn exe_dir() -> Option<PathBuf> {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.canonicalize().ok())
        .and_then(|e| e.parent().map(Path::to_path_buf))
}

/// The posecam checkout the executable was built in (`<checkout>/target/<profile>/posecam`, or a test
/// binary one level deeper), if it runs from one.
pub fn checkout() -> Option<PathBuf> {
    exe_dir()?.ancestors().take(4).find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .contains("name = \"posecam\"")
            .then(|| dir.to_path_buf())
    })
}

/// Folders holding models, in the order they are searched: the data folder's, then the checkout's.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = data_dir().map(|d| d.join(MODELS_DIR)).into_iter().collect();
    dirs.extend(checkout().map(|c| c.join(MODELS_DIR)));
    dirs
}

/// Where `posecam model fetch` saves models: the checkout's `models/` when run from one (so set-up
/// keeps everything in the project), else the data folder's.
pub fn models_home() -> Option<PathBuf> {
    checkout()
        .map(|c| c.join(MODELS_DIR))
        .or_else(|| data_dir().map(|d| d.join(MODELS_DIR)))
}

/// A file shipped beside the checkout (the shared test data), if there is one.
pub fn find_in_checkout(relative: &Path) -> Option<PathBuf> {
    checkout().map(|c| c.join(relative)).filter(|p| p.exists())
}

/// Models looked for by name, best first: the CMU COCO model once fetched, then the small one.
pub const DEFAULT_MODELS: &[&str] = &["body_pose_model.onnx", "tfpose-mobilenet-v2-small.onnx"];

/// The model to use when none is named: `POSECAM_MODEL`, else the best of [`DEFAULT_MODELS`] in a
/// model folder, else any `.onnx` there.
pub fn default_model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("POSECAM_MODEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dirs = model_dirs();
    for name in DEFAULT_MODELS {
        if let Some(p) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
            return Some(p);
        }
    }
    dirs.iter().find_map(|dir| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx") && p.is_file())
            .collect();
        found.sort();
        found.into_iter().next()
    })
}

/// Folders holding ONNX Runtime installs, in the order they are searched (after `ORT_DYLIB_PATH`):
/// beside the executable, the data folder, the checkout's `.deps/`.
pub fn runtime_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(exe_dir());
    dirs.extend(data_dir().map(|d| d.join(RUNTIME_DIR)));
    dirs.extend(checkout().map(|c| c.join(DEPS_DIR)));
    dirs
}
