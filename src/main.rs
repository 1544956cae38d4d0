//! posecam command line: thin on purpose; each command lives in `cli/`.

mod cli;

use crate::cli::console::errln;
use clap::Parser;

use std::io::IsTerminal;

/// The log filter for -q / -v…: each -v shows one level more of posecam, and ONNX Runtime's own
/// lines (hundreds per model load at INFO) stay at warnings until -vvv.
fn log_filter(quiet: bool, verbose: u8) -> &'static str {
    match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn,posecam=info,ort=warn",
        (_, 1) => "info,posecam=debug,ort=warn",
        (_, 2) => "debug,posecam=trace,ort=warn",
        _ => "debug,posecam=trace,ort=info",
    }
}

/// An error for people: one line naming what failed and why (each cause's first line); with -v the
/// whole chain follows, each cause in full on lines of its own.
fn report(e: &anyhow::Error, verbose: u8) {
    let top: &(dyn std::error::Error + 'static) = e.as_ref();
    errln!("error: {}", posecam::pipeline::error_chain(top));
    if verbose > 0 {
        for (depth, cause) in e.chain().enumerate().skip(1) {
            errln!("  caused by ({depth}): {cause}");
        }
    }
}

/// Logging: POSECAM_LOG, else RUST_LOG, else -q/-v; colours only on a terminal (and never with
/// NO_COLOR).
fn init_logging(args: &cli::Cli) {
    let filter = ["POSECAM_LOG", "RUST_LOG"]
        .iter()
        .find_map(|v| {
            std::env::var(v)
                .ok()
                .filter(|f| !f.is_empty())
                .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        })
        .unwrap_or_else(|| {
            tracing_subscriber::EnvFilter::new(log_filter(args.quiet, args.verbose))
        });
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Camera URLs carry passwords: every log line is masked (posecam::io::redact).
        .with_writer(|| cli::console::RedactingStderr)
        .with_ansi(colour)
        .with_target(false)
        .without_time()
        // A log that cannot be written (stderr on a full disk) must not stop the work.
        .log_internal_errors(false)
        .init();
}

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    init_logging(&args);
    let verbose = if args.quiet { 0 } else { args.verbose };
    match cli::run(args).and_then(|()| cli::console::healthy()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            report(&e, verbose);
            let code = cli::console::failure_code();
            std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
