//! `posecam runtime fetch`: ONNX Runtime (and with `--cuda` the GPU build with CUDA 13 and cuDNN 9)
//! from PyPI into the data folder, or wherever `--dir` says.

use crate::cli::console::noteln;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use posecam::infer::runtime;
use posecam::setup::pypi::PYPI;
use posecam::setup::runtime::{self as install, Flavor, InstallRequest};

use super::model_cmd::progress_bar;

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Download ONNX Runtime from PyPI (checksums from the index, resumable); with --cuda the GPU build
    /// and the CUDA/cuDNN libraries it needs, so only the NVIDIA driver must be installed.
    Fetch {
        /// The GPU build with CUDA 13 and cuDNN 9 (about 1.6 GB to download).
        #[arg(long)]
        cuda: bool,
        /// The runtime folder (default: the data folder's runtime/).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The package index (PEP 691 JSON simple API).
        #[arg(long, default_value = PYPI)]
        index: String,
    },
}

pub fn run(command: RuntimeCommand) -> Result<()> {
    let RuntimeCommand::Fetch { cuda, dir, index } = command;
    let dir = match dir {
        Some(d) => d,
        None => posecam::setup::paths::data_dir()
            .context("no home folder for the runtime: pass --dir DIR")?
            .join(posecam::setup::paths::RUNTIME_DIR),
    };
    let created = !dir.exists();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let flavor = if cuda { Flavor::Gpu } else { Flavor::Cpu };
    let request = InstallRequest { dir, flavor, index };
    let bar = progress_bar();
    let mut current = String::new();
    let report = install::install(&request, |p| {
        if p.filename != current {
            current = p.filename.to_string();
            bar.set_message(format!("{}/{} {}", p.wheel, p.wheels, p.filename));
            bar.reset();
            if !bar.is_hidden() {
                return;
            }
            noteln!("downloading {}/{} {}", p.wheel, p.wheels, p.filename);
        }
        if let Some(t) = p.total {
            bar.set_length(t);
        }
        bar.set_position(p.done);
    });
    bar.finish_and_clear();
    if report.is_err() && created {
        // A failed first try leaves no empty folder behind (one holding a partial download stays).
        let _ = std::fs::remove_dir(&request.dir);
    }
    let report = report?;
    let wheels: Vec<String> = report
        .manifest
        .wheels
        .iter()
        .map(|w| format!("{} {}", w.package, w.version))
        .collect();
    noteln!(
        "{} {} in {} ({})",
        if report.already_installed {
            "already installed:"
        } else {
            "installed"
        },
        flavor.package(),
        report.folder.display(),
        wheels.join(", ")
    );
    if cuda {
        let library = report.folder.join("libonnxruntime.so");
        match runtime::cuda_problem(&runtime::preload_cuda(&report.folder)) {
            None => {
                noteln!("CUDA: every library loads; `posecam --device cuda` will use the GPU")
            }
            Some(p) => noteln!(
                "CUDA: {p} (`posecam doctor` has the details; {})",
                library.display()
            ),
        }
    }
    Ok(())
}
