//! Standard output and standard error that never panic (`println!` does, on a closed pipe or a full
//! disk). Output nobody reads any more (a closed pipe: `posecam doctor | head -1`) is dropped quietly
//! and the command goes on, as coreutils behave. Any other failure to write standard output (a full
//! disk: `> /dev/full`) is remembered: commands check [`healthy`] before committing their outputs,
//! and the process exits non-zero. Standard error is for people: a log that cannot be written never
//! stops the work.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// `-q`: standard error carries errors only (no progress, no summaries).
static QUIET: AtomicBool = AtomicBool::new(false);

/// The exit status of a command that fails (1 unless the command documents its own, as `batch`).
static FAILURE_CODE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);

pub fn set_failure_code(code: i32) {
    FAILURE_CODE.store(code, Ordering::Relaxed);
}

pub fn failure_code() -> i32 {
    FAILURE_CODE.load(Ordering::Relaxed)
}

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Writes `text` to standard error unless `-q` asked for errors only.
pub fn write_note(text: &str) {
    if !quiet() {
        write_err(text);
    }
}

/// Standard output was closed by its reader: nothing more is written there.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first failure to write standard output other than a closed pipe.
static STDOUT_FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes `text` to standard output (and flushes, so a full disk shows now, not at exit).
pub fn write_out(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let text = posecam::io::redact::redact(text);
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert(e);
        }
    }
}

/// Writes `text` to standard error, ignoring any failure.
pub fn write_err(text: &str) {
    let text = posecam::io::redact::redact(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Standard error for the log: every line with its credentials masked.
pub struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr()
            .lock()
            .write_all(posecam::io::redact::redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Everything written to standard output so far arrived (or went to a reader that left).
pub fn healthy() -> anyhow::Result<()> {
    let failed = STDOUT_FAILED.lock().unwrap_or_else(|p| p.into_inner());
    match &*failed {
        None => Ok(()),
        Some(e) => Err(
            anyhow::Error::new(std::io::Error::new(e.kind(), e.to_string()))
                .context("cannot write to standard output"),
        ),
    }
}

/// `println!` that never panics.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::console::write_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::console::write_out(&format!($($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::console::write_err(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// A line for people on standard error (progress, summaries): never panics, silent with `-q`.
macro_rules! noteln {
    ($($arg:tt)*) => {
        $crate::cli::console::write_note(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::cli::console::write_err(&format!($($arg)*))
    };
}

pub(crate) use {err, errln, noteln, out, outln};
