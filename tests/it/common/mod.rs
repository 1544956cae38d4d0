//! Helpers shared by the integration tests.

pub mod fixture;
pub mod http;
pub mod onnx;
pub mod servers;
pub mod slurm;

use std::path::PathBuf;

/// A file from `../shared` (beside the checkout). A missing file fails the test loudly, in CI
/// always; elsewhere `POSECAM_ALLOW_SKIP=1` turns that into a skip with a message.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    let set =
        |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    if set("CI") {
        panic!("CI: shared test data {} is missing", path.display());
    }
    if !set("POSECAM_ALLOW_SKIP") {
        panic!(
            "shared test data {} is missing (the shared data lives beside the checkout); set \
             POSECAM_ALLOW_SKIP=1 to skip the tests that need it",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: {} not found (POSECAM_ALLOW_SKIP=1)",
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

/// Upper bound for anything a test waits for: conditions are waited for, never assumed after a
/// time, so a slow machine only waits longer.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// Waits until a staged output in `dir` holds `bytes`, or a staged folder holds a file (the work is
/// under way).
pub fn wait_for_progress(dir: &std::path::Path, bytes: u64) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while std::time::Instant::now() < deadline {
        let grown = std::fs::read_dir(dir).unwrap().flatten().any(|e| {
            let staged = e.file_name().to_string_lossy().contains(".posecam");
            let path = e.path();
            let written = if path.is_dir() {
                std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some())
            } else {
                e.metadata().is_ok_and(|m| m.len() >= bytes)
            };
            staged && written
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

/// FFmpeg's test picture at `size` and `fps` for `seconds`, H.264, with a sine tone (AAC) when
/// `audio`; `extra` goes just before the output (e.g. `-f mpegts`).
pub fn test_clip(
    path: &std::path::Path,
    size: &str,
    fps: u32,
    seconds: u32,
    audio: bool,
    extra: &[&str],
) {
    let picture = format!("testsrc=size={size}:rate={fps}");
    let seconds = seconds.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &picture];
    if audio {
        args.extend(["-f", "lavfi", "-i", "sine"]);
    }
    args.extend(["-t", &seconds, "-c:v", "libx264", "-preset", "ultrafast"]);
    if audio {
        args.extend(["-c:a", "aac", "-shortest"]);
    }
    args.extend(extra);
    args.push(path.to_str().unwrap());
    ffmpeg(&args);
}

/// A 60 s 640x360 clip with audio: long enough to be interrupted.
pub fn long_clip(path: &std::path::Path) {
    test_clip(path, "640x360", 30, 60, true, &[]);
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

/// A child's stderr read line by line on a thread: a test waits for a line to appear (an event, not
/// a guess of how long something takes), then gets the whole text for its messages.
pub struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<String>,
}

impl StderrLines {
    pub fn follow(stderr: std::process::ChildStderr) -> Self {
        use std::io::BufRead;
        let (tx, lines) = std::sync::mpsc::sync_channel(4096);
        let reader = std::thread::Builder::new()
            .name("stderr-lines".into())
            .spawn(move || {
                let mut all = String::new();
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    all.push_str(&line);
                    all.push('\n');
                    let _ = tx.try_send(line);
                }
                all
            });
        Self {
            lines,
            reader: reader.expect("start a thread"),
        }
    }

    /// Waits until a line satisfies `seen` (true), or the stream ends or `limit` passes (false).
    pub fn wait_for(&self, limit: std::time::Duration, seen: impl Fn(&str) -> bool) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if seen(&line) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }

    /// Everything the child wrote, once it has closed stderr.
    pub fn finish(self) -> String {
        drop(self.lines);
        self.reader.join().unwrap_or_default()
    }
}
