//! SIGINT, SIGTERM and SIGHUP, handled the same way by every command.
//!
//! The first signal either asks the running export to finish the frames done so far into playable
//! outputs (exit 130), or, for any other command, removes every output still staged and exits 130. A
//! second signal always removes everything and exits at once, without running library destructors (so
//! ONNX Runtime prints nothing while its threads are still busy).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit status after a signal, as shells report Ctrl-C.
pub const EXIT_INTERRUPTED: i32 = 130;

static SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// Set while an export can finish what it has (the first signal then asks it to).
static FINISHER: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handler (once per process).
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(on_signal)
}

/// From now on the first signal sets `cancel` instead of aborting: the export finishes the frames
/// done so far.
pub fn finish_on_first_signal(cancel: Arc<AtomicBool>) {
    let _ = FINISHER.set(cancel);
}

/// How many signals arrived so far.
pub fn received() -> usize {
    SIGNALS.load(Ordering::SeqCst)
}

fn on_signal() {
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        if let Some(cancel) = FINISHER.get() {
            cancel.store(true, Ordering::SeqCst);
            say("\nstopping: finishing the frames done so far (signal again to abort without output)\n");
            return;
        }
    }
    abort();
}

/// A line for people on stderr; one that cannot be written is dropped (`eprintln!` would panic).
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Removes every staged output and exits with status 130 at once.
pub fn abort() -> ! {
    if crate::io::transaction::remove_all_staged() > 0 {
        say("\naborted: no output written\n");
    } else {
        say("\ninterrupted\n");
    }
    // SAFETY: _exit ends the process without unwinding or running atexit handlers, which is the point:
    // other threads may be inside ONNX Runtime or FFmpeg.
    unsafe { libc::_exit(EXIT_INTERRUPTED) }
}
