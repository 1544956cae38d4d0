//! `posecam model`: fetch the CMU model, or show what posecam makes of a model.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use posecam::fetch::{self, CMU_COCO_FILE, CMU_COCO_MD5, CMU_COCO_URL};
use posecam::paths::{project_roots, MODELS_DIR};

use super::ModelArgs;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the CMU COCO body model (~200 MB) into models/, verifying its checksum.
    Fetch {
        #[arg(long, default_value = CMU_COCO_URL)]
        url: String,
        /// Expected MD5 (empty to skip the check).
        #[arg(long, default_value = CMU_COCO_MD5)]
        md5: String,
        /// Where to save it (default: models/body_pose_model.onnx in the project).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Download again even if a verified copy exists.
        #[arg(long)]
        force: bool,
    },
    /// Load a model and print its contract (inputs, outputs, skeleton, input convention, provider).
    Info {
        #[command(flatten)]
        model: ModelArgs,
    },
}

pub fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Fetch {
            url,
            md5,
            output,
            force,
        } => fetch_model(&url, &md5, output, force),
        ModelCommand::Info { model } => {
            let engine = model.load_engine()?;
            let spec = engine.spec();
            println!("model:      {}", engine.model_path().display());
            println!(
                "skeleton:   {} ({} parts, {} limbs)",
                spec.skeleton.name,
                spec.skeleton.parts.len(),
                spec.skeleton.limbs.len()
            );
            println!(
                "input:      {:?} {:?}, value = pixel * {} + {}, stride {} ({})",
                spec.input.layout,
                spec.input.channels,
                spec.input.scale,
                spec.input.offset,
                spec.input.stride,
                spec.convention_source
            );
            if let Some((w, h)) = spec.fixed_input_size {
                println!("input size: fixed {w}x{h}");
            }
            println!("maps:       {:?}", spec.maps);
            println!("provider:   {}", engine.provider());
            Ok(())
        }
    }
}

fn default_destination() -> PathBuf {
    let root = project_roots()
        .into_iter()
        .find(|r| r.join(MODELS_DIR).is_dir() && r.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from("."));
    root.join(MODELS_DIR).join(CMU_COCO_FILE)
}

fn fetch_model(url: &str, md5: &str, output: Option<PathBuf>, force: bool) -> Result<()> {
    let dest = output.unwrap_or_else(default_destination);
    let expected = (!md5.is_empty()).then_some(md5);
    if dest.is_file() && !force {
        match expected {
            Some(e) => {
                let actual = fetch::md5_file(&dest)
                    .with_context(|| format!("reading {}", dest.display()))?;
                if actual.eq_ignore_ascii_case(e) {
                    eprintln!("{} is already present and verified", dest.display());
                    return Ok(());
                }
                bail!(
                    "{} exists but its MD5 is {actual}, not {e}: pass --force to download it again",
                    dest.display()
                );
            }
            None => {
                eprintln!("{} is already present", dest.display());
                return Ok(());
            }
        }
    }
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    eprintln!("downloading {url}\n         to {}", dest.display());
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = fetch::download(url, &dest, expected, |done, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    });
    bar.finish_and_clear();
    result?;
    eprintln!(
        "saved {} ({})",
        dest.display(),
        if expected.is_some() {
            "checksum verified"
        } else {
            "not verified"
        }
    );
    Ok(())
}
