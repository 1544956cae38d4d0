//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod onnx;

use std::path::PathBuf;

/// A file from `../shared` (beside the checkout). In CI a missing file fails the test loudly;
/// elsewhere the test is skipped with a message.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("CI: shared test data {} is missing", path.display());
    }
    eprintln!(
        "SKIPPED: {} not found (shared data lives beside the checkout)",
        path.display()
    );
    None
}

pub fn shared_model() -> Option<PathBuf> {
    shared("models/tfpose-mobilenet-v2-small.onnx")
}

/// Path of the release binary cargo built for these tests.
pub fn posecam_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_posecam"))
}

/// Runs the posecam binary with `args`, without inherited model settings or colours.
pub fn posecam(args: &[&str]) -> std::process::Output {
    std::process::Command::new(posecam_bin())
        .args(args)
        .env_remove("POSECAM_MODEL")
        .env("NO_COLOR", "1")
        .output()
        .expect("run posecam")
}
