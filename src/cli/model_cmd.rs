//! `posecam model`: fetch the CMU model (its size and licence stated, asked on a terminal), or show
//! what posecam makes of a model.

use crate::cli::console::{err, errln, noteln, outln};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use posecam::setup::download::{
    self as fetch, Expected, CMU_COCO_FILE, CMU_COCO_MD5, CMU_COCO_URL,
};

use super::ModelArgs;

/// What users accept by downloading the CMU weights.
const CMU_LICENCE: &str = "The CMU OpenPose weights are free for non-commercial research only; \
commercial use needs a licence from Carnegie Mellon University \
(https://github.com/CMU-Perceptual-Computing-Lab/openpose/blob/master/LICENSE).";

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the CMU COCO body model (~200 MB, non-commercial licence), verifying its checksums.
    Fetch {
        #[arg(long, default_value = CMU_COCO_URL)]
        url: String,
        /// Expected MD5 (empty to skip the check).
        #[arg(long, default_value = CMU_COCO_MD5)]
        md5: String,
        /// Expected SHA-256 (default: what the server publishes for the file, when it does).
        #[arg(long)]
        sha256: Option<String>,
        /// Where to save it (default: the checkout's models/, or the data folder's when installed).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Download again even if a verified copy exists.
        #[arg(long)]
        force: bool,
        /// Accept the licence without asking (for scripts).
        #[arg(short, long)]
        yes: bool,
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
            sha256,
            output,
            force,
            yes,
        } => {
            let dest = match output {
                Some(p) => p,
                None => posecam::setup::paths::models_home()
                    .context("no home folder to keep models in: pass -o PATH")?
                    .join(CMU_COCO_FILE),
            };
            let expected = Expected {
                md5: Some(md5).filter(|m| !m.is_empty()),
                sha256,
                size: None,
            };
            fetch_model(&url, &dest, expected, force, yes)
        }
        ModelCommand::Info { model } => info(&model),
    }
}

fn info(model: &ModelArgs) -> Result<()> {
    let engine = model.load_engine()?;
    let spec = engine.spec();
    outln!("model:      {}", engine.model_path().display());
    outln!(
        "skeleton:   {} ({} parts, {} limbs)",
        spec.skeleton.name,
        spec.skeleton.parts.len(),
        spec.skeleton.limbs.len()
    );
    outln!(
        "input:      {:?} {:?}, value = pixel * {} + {}, stride {} ({})",
        spec.input.layout,
        spec.input.channels,
        spec.input.scale,
        spec.input.offset,
        spec.input.stride,
        spec.convention_source
    );
    if let Some((w, h)) = spec.fixed_input_size {
        outln!("input size: fixed {w}x{h}");
    }
    outln!("maps:       {:?}", spec.maps);
    outln!("provider:   {}", engine.provider());
    Ok(())
}

/// The size and SHA-256 the server states for `url` (Hugging Face gives its LFS digest).
fn announced(url: &str) -> (Option<u64>, Option<String>) {
    let Ok(response) = fetch::agent().head(url).call() else {
        return (None, None);
    };
    let headers = response.headers();
    let size = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let sha256 = ["x-linked-etag", "etag"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok())
        .map(|v| {
            v.trim_matches(|c| c == '"' || c == 'W' || c == '/')
                .to_ascii_lowercase()
        })
        .find(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()));
    (size, sha256)
}

/// Asks on a terminal; elsewhere `--yes` is needed.
fn accept(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("not a terminal: pass --yes to accept the licence and download");
    }
    err!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        bail!("not downloaded");
    }
    Ok(())
}

fn fetch_model(
    url: &str,
    dest: &Path,
    mut expected: Expected,
    force: bool,
    yes: bool,
) -> Result<()> {
    fetch::check_http(url)?;
    if dest.is_file() && !force {
        let have =
            fetch::digests_of(dest).with_context(|| format!("reading {}", dest.display()))?;
        match expected.md5.as_deref() {
            Some(e) if !have.md5.eq_ignore_ascii_case(e) => bail!(
                "{} exists but its MD5 is {}, not {e}: pass --force to download it again",
                dest.display(),
                have.md5
            ),
            _ => {
                noteln!(
                    "{} is already present (SHA-256 {})",
                    dest.display(),
                    have.sha256
                );
                return Ok(());
            }
        }
    }
    let (size, sha256) = announced(url);
    expected.sha256 = expected.sha256.or(sha256);
    expected.size = size;
    errln!(
        "The CMU COCO body model (VGG-19, {}) from {url}\n{CMU_LICENCE}",
        size.map_or("about 200 MB".into(), |s| format!(
            "{:.0} MB",
            s as f64 / 1e6
        ))
    );
    accept("Download it and accept this licence?", yes)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    noteln!("downloading to {}", dest.display());
    let bar = progress_bar();
    let result = fetch::download(url, dest, &expected, |done, total| {
        if let Some(t) = total {
            bar.set_length(t);
        }
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let digests = result?;
    noteln!(
        "saved {} (MD5 {}, SHA-256 {}{})",
        dest.display(),
        digests.md5,
        digests.sha256,
        if expected.sha256.is_some() || expected.md5.is_some() {
            ", verified"
        } else {
            ", not verified"
        }
    );
    Ok(())
}

/// A byte progress bar on a terminal (hidden elsewhere).
pub fn progress_bar() -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() && !super::console::quiet() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
