//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod http;
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

/// Waits until a staged output in `dir` holds `bytes` (the export is under way), up to 60 s.
pub fn wait_for_progress(dir: &std::path::Path, bytes: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let grown = std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().contains(".posecam")
                && e.metadata().is_ok_and(|m| m.len() >= bytes)
        });
        if grown {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the export never got going");
}

/// Runs ffmpeg quietly; fails the test if it fails.
pub fn ffmpeg(args: &[&str]) {
    let o = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed by set-up");
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A 60 s 640x360 clip with audio: long enough to be interrupted.
pub fn long_clip(path: &std::path::Path) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x360:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-t",
        "60",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
        "-shortest",
        path.to_str().unwrap(),
    ]);
}

/// Fails unless the command failed with one `error:` line mentioning `mentions`, and no panic.
pub fn assert_refused(o: &std::process::Output, mentions: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one error line expected: {err}");
    assert!(
        lines[0].contains(mentions),
        "error should mention '{mentions}': {err}"
    );
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
