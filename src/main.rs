//! posecam command line: thin on purpose; each command lives in `cli/`.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("POSECAM_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(match args.verbose {
            0 => "warn,posecam=info,ort=warn",
            1 => "info,posecam=debug",
            _ => "debug",
        })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
