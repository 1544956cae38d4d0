//! Command-line interface: argument types shared by the commands, and model resolution.

mod batch_cmd;
mod batch_report;
mod bench;
mod calib_check;
mod calib_cmd;
mod calib_intrinsics;
mod calib_rig;
pub(crate) mod console;
mod doctor;
mod export;
mod image_cmd;
mod model_cmd;
mod motion_args;
mod runtime_cmd;
mod scene_args;
mod scene_cmd;

use crate::cli::console::out;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use posecam::infer::{Device, Engine, EngineOptions, NetConfig, WorkerPlan};
use posecam::pose::{check_range, Thresholds};
use posecam::track::TrackerSettings;
use posecam::video::network::{RtspTransport, StreamOptions};

#[derive(Debug, Parser)]
#[command(
    name = "posecam",
    version,
    about = "Multi-person pose estimation (OpenPose Part Affinity Fields). Without a command: the live window."
)]
pub struct Cli {
    /// More logging (-v, -vv). RUST_LOG or POSECAM_LOG (a tracing filter) override.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Window: open on this source (a video or image path, camera:N, or synthetic).
    #[arg(long)]
    pub source: Option<String>,
    /// Window: ONNX model (default: POSECAM_MODEL, else the best model in models/).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Window: auto, cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<Device>,
    /// RTSP cameras: tcp (through firewalls, nothing lost) or udp (lower latency on a LAN).
    #[arg(long, global = true, default_value = "tcp", value_name = "tcp|udp")]
    pub rtsp_transport: RtspTransport,
    /// Seconds a network stream may take to answer when opened, and stay silent once playing.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = StreamOptions::default().timeout_s, value_parser = number_in(StreamOptions::TIMEOUT_S))]
    pub stream_timeout: f64,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find people in images: writes rendered images and OpenPose JSON.
    Image(image_cmd::ImageArgs),
    /// Annotate a video: skeletons drawn into an mp4 (audio kept) plus the keypoints as JSON.
    Export(Box<export::ExportArgs>),
    /// Many videos as one resumable job, on one machine or a cluster's array tasks.
    #[command(subcommand)]
    Batch(batch_cmd::BatchCommand),
    /// Measure inference and association time (last stdout line: one JSON object).
    Bench(bench::BenchArgs),
    /// Several calibrated videos in one window: the views with their 3D people, and a 3D view.
    Scene(Box<scene_cmd::SceneWindowArgs>),
    /// Camera calibrations for 3D: show one (and draw the rig), convert to Pose2Sim's format.
    #[command(subcommand)]
    Calib(calib_cmd::CalibCommand),
    /// Download or inspect models.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Install ONNX Runtime (CPU, or GPU with CUDA and cuDNN) from PyPI.
    #[command(subcommand)]
    Runtime(runtime_cmd::RuntimeCommand),
    /// What posecam will use and why: runtime, CUDA libraries, driver, cameras, models, display.
    Doctor,
    /// Shell completions on stdout (e.g. `posecam completions bash > ~/.local/share/bash-completion/completions/posecam`).
    Completions { shell: clap_complete::Shell },
}

pub fn run(cli: Cli) -> Result<()> {
    // Checked here rather than with clap's `args_conflicts_with_subcommands`, which also refuses the
    // global -v/-q before a command (clap-rs/clap#6160).
    if cli.command.is_some()
        && (cli.source.is_some() || cli.model.is_some() || cli.device.is_some())
    {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--source, --model and --device before a command are for the window; give them after the command",
            )
            .exit();
    }
    console::set_quiet(cli.quiet);
    posecam::video::network::set_stream_options(StreamOptions {
        rtsp_transport: cli.rtsp_transport,
        timeout_s: cli.stream_timeout,
    });
    posecam::io::interrupt::install().context("cannot handle signals")?;
    match cli.command {
        Some(Command::Image(a)) => image_cmd::run(a),
        Some(Command::Export(a)) => export::run(*a),
        Some(Command::Batch(c)) => batch_cmd::run(c),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Model(c)) => model_cmd::run(c),
        Some(Command::Calib(c)) => calib_cmd::run(c),
        Some(Command::Scene(a)) => scene_cmd::run(*a),
        Some(Command::Runtime(c)) => runtime_cmd::run(c),
        Some(Command::Doctor) => {
            out!("{}", doctor::render(&doctor::report()));
            Ok(())
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "posecam", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(())
        }
        None => {
            let source = cli
                .source
                .as_deref()
                .map(posecam::capture::SourceSpec::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            // A missing or damaged source opens the window anyway, with the error over the picture:
            // the user can open another from there.
            let model = match cli.model {
                Some(m) => Some(checked_model(m)?),
                None => model_from_env()?,
            };
            let options = posecam::ui::StartOptions {
                source,
                model,
                device: cli.device,
            };
            posecam::ui::run(options).map_err(anyhow::Error::from)
        }
    }
}

/// A clap parser for numbers in `range`; the error names the range (clap names the flag).
fn number_in<T>(
    range: RangeInclusive<T>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Send + Sync + 'static,
{
    move |text: &str| {
        let value: T = text.trim().parse().map_err(|_| {
            // A number too large (or fractional) for the flag's type is out of range, not "not a number".
            if text.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                format!(
                    "'{text}' is not a whole number between {} and {}",
                    range.start(),
                    range.end()
                )
            } else {
                format!("'{text}' is not a number")
            }
        })?;
        check_range("the value", value, range.clone()).map_err(|e| e.to_string())?;
        Ok(value)
    }
}

/// ONNX Runtime threads per session.
const THREADS: RangeInclusive<usize> = 1..=256;

/// `POSECAM_MODEL`, if set: an empty value is a mistake worth saying so.
fn model_from_env() -> Result<Option<PathBuf>> {
    match std::env::var_os("POSECAM_MODEL") {
        None => Ok(None),
        Some(v) if v.is_empty() => {
            bail!("POSECAM_MODEL is set but empty: unset it, or set it to an .onnx model file")
        }
        Some(v) => Ok(Some(checked_model(PathBuf::from(v))?)),
    }
}

/// A model path that is at least a file.
fn checked_model(path: PathBuf) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        bail!("--model is empty: name an .onnx model file");
    }
    if path.is_dir() {
        bail!(
            "{} is a folder: name the .onnx model file in it",
            path.display()
        );
    }
    Ok(path)
}

/// Which model to run and where.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Model")]
pub struct ModelArgs {
    /// ONNX model (CMU COCO/BODY-25 or tf-pose layout). Default: POSECAM_MODEL, else the best model
    /// found in models/.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// auto (CUDA if it works, else CPU), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// ONNX Runtime intra-op threads per session (default: shared out by the worker plan).
    #[arg(long, value_parser = number_in(THREADS))]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub net: NetArgs,
}

/// The network's input size and scales.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Network input height in pixels (rounded to a multiple of 8); width follows the aspect ratio.
    /// Default: 368 on the shorter side, so a portrait frame gets a landscape one's pixels.
    #[arg(long, value_parser = number_in(NetConfig::NET_HEIGHT))]
    pub net_height: Option<usize>,
    /// Scales to average, e.g. 1.0,0.75,0.5 (OpenPose's scale_number/scale_gap).
    #[arg(long, value_delimiter = ',', default_value = "1.0", value_parser = number_in(NetConfig::SCALE))]
    pub scales: Vec<f32>,
}

impl NetArgs {
    pub fn config(&self) -> NetConfig {
        NetConfig {
            net_height: self.net_height.unwrap_or(NetConfig::default().net_height),
            scales: self.scales.clone(),
            short_side: self.net_height.is_none(),
        }
    }
}

impl ModelArgs {
    pub fn net(&self) -> Result<NetConfig> {
        Ok(self.net.config())
    }

    pub fn model_path(&self) -> Result<PathBuf> {
        match &self.model {
            Some(p) => checked_model(p.clone()),
            None => match model_from_env()? {
                Some(p) => Ok(p),
                None => default_model(),
            },
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

    /// Engines for parallel inference workers (throughput mode): `workers` of them (at most one per
    /// core), or as many as the [`WorkerPlan`] suggests for the provider.
    pub fn load_workers(&self, workers: Option<usize>) -> Result<Vec<Engine>> {
        if let Some(n) = workers {
            check_range("--infer-workers", n, 1..=WorkerPlan::cores())
                .map_err(|e| anyhow::anyhow!("{e} (one per core at most)"))?;
        }
        Ok(Engine::load_workers(
            &self.model_path()?,
            &self.engine_options(self.threads),
            workers,
        )?)
    }
}

fn default_model() -> Result<PathBuf> {
    posecam::setup::paths::default_model().ok_or_else(|| {
        let searched: Vec<String> = posecam::setup::paths::model_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        anyhow::anyhow!(
            "no .onnx model in {}: run `posecam model fetch` (CMU COCO model), \
             or pass --model PATH / set POSECAM_MODEL",
            if searched.is_empty() {
                "any model folder (no home folder)".into()
            } else {
                searched.join(" or ")
            }
        )
    })
}

/// Association thresholds as flags; defaults are the CMU demo's, ranges the same as the window's.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Detection")]
pub struct ThresholdArgs {
    /// Minimum heatmap peak for a part.
    #[arg(long, default_value_t = Thresholds::default().peak, value_parser = number_in(Thresholds::PEAK))]
    pub peak_threshold: f32,
    /// Minimum PAF alignment of a limb sample.
    #[arg(long, default_value_t = Thresholds::default().paf, value_parser = number_in(Thresholds::PAF))]
    pub paf_threshold: f32,
    /// Samples along each candidate limb.
    #[arg(long, default_value_t = Thresholds::default().paf_samples, value_parser = number_in(Thresholds::PAF_SAMPLES))]
    pub paf_samples: usize,
    /// Fraction of samples that must exceed the PAF threshold.
    #[arg(long, default_value_t = Thresholds::default().paf_sample_fraction, value_parser = number_in(Thresholds::PAF_FRACTION))]
    pub paf_fraction: f32,
    /// Minimum parts for a person.
    #[arg(long, default_value_t = Thresholds::default().min_parts, value_parser = number_in(Thresholds::MIN_PARTS))]
    pub min_parts: usize,
    /// Minimum mean score per part for a person.
    #[arg(long, default_value_t = Thresholds::default().min_person_score, value_parser = number_in(Thresholds::MIN_SCORE))]
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

/// Following people over time.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Tracking")]
pub struct TrackArgs {
    /// No tracking: every person_id is -1, as OpenPose writes it.
    #[arg(long)]
    pub no_track: bool,
    /// Frames a new person must be seen in before getting an ID.
    #[arg(long, default_value_t = TrackerSettings::default().confirm_frames, value_parser = number_in(TrackerSettings::CONFIRM_FRAMES))]
    pub confirm_frames: u32,
    /// Seconds a person may go unseen and keep their ID.
    #[arg(long, value_name = "SECONDS", default_value_t = TrackerSettings::default().max_gap_s, value_parser = number_in(TrackerSettings::MAX_GAP_S))]
    pub max_gap: f32,
    /// Least pose similarity (0-1) for a detection to continue a track.
    #[arg(long, default_value_t = TrackerSettings::default().min_similarity, value_parser = number_in(TrackerSettings::MIN_SIMILARITY))]
    pub match_similarity: f32,
    /// Draw raw keypoints instead of smoothed ones (the CSV has both either way).
    #[arg(long)]
    pub no_smoothing: bool,
    /// One-Euro smoothing at rest, in Hz (lower: steadier).
    #[arg(long, value_name = "HZ", default_value_t = TrackerSettings::default().min_cutoff_hz, value_parser = number_in(TrackerSettings::MIN_CUTOFF_HZ))]
    pub smoothing_cutoff: f32,
    /// One-Euro speed response (higher: less lag on fast motion).
    #[arg(long, default_value_t = TrackerSettings::default().beta, value_parser = number_in(TrackerSettings::BETA))]
    pub smoothing_beta: f32,
}

impl TrackArgs {
    /// The tracker's settings, or `None` with `--no-track`.
    pub fn settings(&self) -> Option<TrackerSettings> {
        (!self.no_track).then_some(TrackerSettings {
            confirm_frames: self.confirm_frames,
            max_gap_s: self.max_gap,
            min_similarity: self.match_similarity,
            smoothing: true,
            min_cutoff_hz: self.smoothing_cutoff,
            beta: self.smoothing_beta,
            ..TrackerSettings::default()
        })
    }
}

/// How an annotated video looks and is encoded (export, batch).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Video")]
pub struct VideoArgs {
    /// x264 constant rate factor (0-51, lower is better quality).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=51))]
    pub crf: u8,
    /// x264 preset; `auto` picks ultrafast on machines with 4 cores or fewer (where encoding would take
    /// the CPU from inference) and veryfast otherwise.
    #[arg(long, default_value = "auto", value_parser = preset_parser())]
    pub preset: String,
    /// Label each person in the video (#ID when tracked).
    #[arg(long)]
    pub numbers: bool,
    /// Draw each tracked person's recent path.
    #[arg(long)]
    pub trails: bool,
    /// OpenPose's part colours instead of one colour per tracked person.
    #[arg(long)]
    pub color_by_part: bool,
}

fn preset_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        std::iter::once("auto").chain(posecam::video::X264_PRESETS.iter().copied()),
    )
}

impl VideoArgs {
    pub fn style(&self, tracking: &TrackArgs) -> posecam::render::OverlayStyle {
        posecam::render::OverlayStyle {
            numbers: self.numbers,
            trails: self.trails,
            color_by_id: !self.color_by_part,
            smoothed: !tracking.no_smoothing,
            ..posecam::render::OverlayStyle::default()
        }
    }

    /// The encoder's options, `auto` resolved for this machine.
    pub fn encode(&self) -> posecam::video::EncodeOptions {
        posecam::video::EncodeOptions {
            crf: self.crf,
            preset: if self.preset == "auto" {
                posecam::video::EncodeOptions::auto_preset().into()
            } else {
                self.preset.clone()
            },
        }
    }
}

/// Limits on inputs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Inputs")]
pub struct InputArgs {
    /// Largest picture or video frame accepted, in pixels (checked from the header, before decoding).
    #[arg(long, default_value_t = posecam::io::inputs::DEFAULT_MAX_PIXELS, value_parser = number_in(1..=10_000_000_000u64))]
    pub max_pixels: u64,
    /// Run even when the network input looks too large for the memory this machine has available.
    #[arg(long)]
    pub force: bool,
}

impl InputArgs {
    /// Refuses, before any frame runs, a net size whose estimated working set exceeds the memory
    /// available (the machine would swap or the process be killed); `--force` runs it anyway.
    pub fn check_memory(
        &self,
        engine: &Engine,
        size: (usize, usize),
        net: &NetConfig,
        workers: usize,
    ) -> Result<()> {
        use posecam::infer::memory::{available_bytes, gigabytes};
        let estimate = engine.memory_estimate(size, net, workers)?;
        let Some(available) = available_bytes() else {
            return Ok(());
        };
        if estimate.total() <= available {
            return Ok(());
        }
        let (w, h) = estimate.largest;
        let message = format!(
            "a {w}x{h} network input needs about {} ({} worker{} x {}), but this machine has {} \
             available: lower --net-height or --scales",
            gigabytes(estimate.total()),
            estimate.workers,
            if estimate.workers == 1 { "" } else { "s" },
            gigabytes(estimate.per_worker),
            gigabytes(available)
        );
        if self.force {
            tracing::warn!("{message} (running anyway: --force)");
            return Ok(());
        }
        bail!("{message}, or pass --force to run anyway")
    }
}
