//! posecam command line: thin on purpose; each command lives in `cli/`.

mod cli;

use clap::Parser;

use std::io::IsTerminal;

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
            tracing_subscriber::EnvFilter::new(match (args.quiet, args.verbose) {
                (true, _) => "error",
                (_, 0) => "warn,posecam=info,ort=warn",
                (_, 1) => "info,posecam=debug",
                _ => "debug",
            })
        });
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .without_time()
        .init();
}

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    init_logging(&args);
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
