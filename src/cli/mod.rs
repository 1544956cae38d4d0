//! Command-line interface: argument types shared by the commands, and model resolution.

mod bench;
mod export;
mod image_cmd;
mod model_cmd;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use posecam::infer::{Device, Engine, EngineOptions, NetConfig};
use posecam::pose::Thresholds;

#[derive(Debug, Parser)]
#[command(
    name = "posecam",
    version,
    about = "Multi-person pose estimation (OpenPose Part Affinity Fields). Without a command: the live window.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// More logging (-v, -vv). POSECAM_LOG=filter overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Window: open on this source (a video or image path, camera:N, or synthetic).
    #[arg(long)]
    pub source: Option<String>,
    /// Window: ONNX model (default: the best model in models/).
    #[arg(long, env = "POSECAM_MODEL")]
    pub model: Option<PathBuf>,
    /// Window: auto, cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<Device>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find people in images: writes rendered images and OpenPose JSON.
    Image(image_cmd::ImageArgs),
    /// Annotate a video: skeletons drawn into an mp4 (audio kept) plus the keypoints as JSON.
    Export(export::ExportArgs),
    /// Measure inference and association time (last stdout line: one JSON object).
    Bench(bench::BenchArgs),
    /// Download or inspect models.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Image(a)) => image_cmd::run(a),
        Some(Command::Export(a)) => export::run(a),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Model(c)) => model_cmd::run(c),
        None => {
            let source = cli
                .source
                .as_deref()
                .map(posecam::capture::SourceSpec::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            if let Some(
                posecam::capture::SourceSpec::Video(p) | posecam::capture::SourceSpec::Image(p),
            ) = &source
            {
                if !p.exists() {
                    bail!("{}: no such file", p.display());
                }
            }
            let options = posecam::ui::StartOptions {
                source,
                model: cli.model,
                device: cli.device,
            };
            posecam::ui::run(options).map_err(|e| anyhow::anyhow!(e))
        }
    }
}

/// Which model to run and where.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// ONNX model (CMU COCO/BODY-25 or tf-pose layout). Default: the best model found in models/.
    #[arg(long, env = "POSECAM_MODEL")]
    pub model: Option<PathBuf>,
    /// auto (CUDA if it works, else CPU), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// ONNX Runtime intra-op threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Network input height in pixels (rounded to a multiple of 8); width follows the aspect ratio.
    #[arg(long, default_value_t = 368)]
    pub net_height: usize,
    /// Scales to average, e.g. 1.0,0.75,0.5 (OpenPose's scale_number/scale_gap).
    #[arg(long, value_delimiter = ',', default_value = "1.0")]
    pub scales: Vec<f32>,
}

impl ModelArgs {
    pub fn net(&self) -> Result<NetConfig> {
        if self.net_height < 8 || self.net_height > 4096 {
            bail!(
                "--net-height must be between 8 and 4096, got {}",
                self.net_height
            );
        }
        if let Some(s) = self
            .scales
            .iter()
            .find(|s| !(s.is_finite() && **s > 0.0 && **s <= 4.0))
        {
            bail!("--scales must be numbers in (0, 4], got {s}");
        }
        Ok(NetConfig {
            net_height: self.net_height,
            scales: self.scales.clone(),
        })
    }

    pub fn model_path(&self) -> Result<PathBuf> {
        match &self.model {
            Some(p) => Ok(p.clone()),
            None => default_model().context("no model given and none found"),
        }
    }

    pub fn load_engine(&self) -> Result<Engine> {
        Ok(Engine::load(
            &self.model_path()?,
            &self.engine_options(self.threads),
        )?)
    }

    fn engine_options(&self, threads: Option<usize>) -> EngineOptions {
        EngineOptions {
            device: self.device,
            threads,
            runtime_library: None,
            spin: true,
        }
    }

    /// Engines for parallel inference workers (throughput mode): `workers` of them, or on CPU by default
    /// one per two cores (at least two on a multi-core machine), sharing the cores; one on CUDA.
    pub fn load_workers(&self, workers: Option<usize>) -> Result<Vec<Engine>> {
        Ok(Engine::load_workers(
            &self.model_path()?,
            &self.engine_options(self.threads),
            workers,
        )?)
    }
}

fn default_model() -> Result<PathBuf> {
    posecam::paths::default_model().ok_or_else(|| {
        anyhow::anyhow!(
            "models/ holds no .onnx model: run `posecam model fetch` (CMU COCO model), \
             or pass --model PATH / set POSECAM_MODEL"
        )
    })
}

/// Association thresholds as flags; defaults are the CMU demo's.
#[derive(Debug, Clone, Args)]
pub struct ThresholdArgs {
    /// Minimum heatmap peak for a part.
    #[arg(long, default_value_t = Thresholds::default().peak)]
    pub peak_threshold: f32,
    /// Minimum PAF alignment of a limb sample.
    #[arg(long, default_value_t = Thresholds::default().paf)]
    pub paf_threshold: f32,
    /// Samples along each candidate limb.
    #[arg(long, default_value_t = Thresholds::default().paf_samples)]
    pub paf_samples: usize,
    /// Fraction of samples that must exceed the PAF threshold.
    #[arg(long, default_value_t = Thresholds::default().paf_sample_fraction)]
    pub paf_fraction: f32,
    /// Minimum parts for a person.
    #[arg(long, default_value_t = Thresholds::default().min_parts)]
    pub min_parts: usize,
    /// Minimum mean score per part for a person.
    #[arg(long, default_value_t = Thresholds::default().min_person_score)]
    pub min_score: f32,
}

impl ThresholdArgs {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            peak: self.peak_threshold,
            paf: self.paf_threshold,
            paf_samples: self.paf_samples,
            paf_sample_fraction: self.paf_fraction,
            min_parts: self.min_parts,
            min_person_score: self.min_score,
        }
    }
}
