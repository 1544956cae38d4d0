//! `posecam image`: people in still images, as rendered images and OpenPose JSON.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use posecam::imageio::{self, has_image_extension};
use posecam::output::OpenPoseFrame;
use posecam::pose::Associator;
use posecam::render::{draw_people, OverlayStyle, RgbCanvas};

use super::{ModelArgs, ThresholdArgs};

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Images or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Rendered image (.png/.jpg); a folder when there are several inputs.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// OpenPose JSON; a folder when there are several inputs. Without -o or --json, JSON goes to stdout.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Replace existing output files.
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Where one input's results go.
struct Job {
    input: PathBuf,
    image_out: Option<PathBuf>,
    json_out: Option<PathBuf>,
}

pub fn run(args: ImageArgs) -> Result<()> {
    let net = args.model.net()?;
    let thresholds = args.thresholds.thresholds();
    let jobs = plan(&args)?;
    let mut engine = args.model.load_engine()?;
    let skeleton = engine.skeleton();
    let mut associator = Associator::new();
    let mut failures = 0usize;
    let to_stdout = args.output.is_none() && args.json.is_none();

    for job in &jobs {
        let result = (|| -> Result<()> {
            let mut image = imageio::load_rgb(&job.input)?;
            let maps = engine.infer(&image, &net)?;
            let t = Instant::now();
            let people = associator.run(&maps, skeleton, &thresholds);
            let association = t.elapsed();
            let frame = OpenPoseFrame::new(&people);
            let json = serde_json::to_string(&frame)?;
            if let Some(path) = &job.json_out {
                imageio::write_file_atomic(path, args.overwrite, |f| {
                    f.write_all(json.as_bytes()).map_err(|e| e.to_string())
                })?;
            }
            if let Some(path) = &job.image_out {
                draw_people(
                    &mut RgbCanvas::from_image(&mut image),
                    skeleton,
                    &people,
                    &OverlayStyle::default(),
                );
                imageio::save_rgb(path, &image, args.overwrite)?;
            }
            if to_stdout {
                println!("{json}");
            }
            let timings = engine.last_timings();
            let mut written: Vec<String> = Vec::new();
            written.extend(job.image_out.iter().map(|p| p.display().to_string()));
            written.extend(job.json_out.iter().map(|p| p.display().to_string()));
            tracing::info!(
                "{}: {} people (inference {:.1} ms, association {:.2} ms){}{}",
                job.input.display(),
                people.len(),
                timings.inference.as_secs_f64() * 1e3,
                association.as_secs_f64() * 1e3,
                if written.is_empty() { "" } else { " -> " },
                written.join(", ")
            );
            Ok(())
        })();
        if let Err(e) = result {
            if jobs.len() == 1 {
                return Err(e);
            }
            eprintln!("error: {e:#}");
            failures += 1;
        }
    }
    if failures > 0 {
        bail!("{failures} of {} images failed", jobs.len());
    }
    Ok(())
}

/// The images named, folders expanded (sorted); true when a folder was among them.
fn collect_inputs(args: &ImageArgs) -> Result<(Vec<PathBuf>, bool)> {
    let mut inputs = Vec::new();
    let mut any_folder = false;
    for input in &args.inputs {
        if input.is_dir() {
            any_folder = true;
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .with_context(|| format!("{}: cannot list folder", input.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && has_image_extension(p))
                .collect();
            found.sort();
            if found.is_empty() {
                bail!(
                    "{}: folder holds no images ({})",
                    input.display(),
                    imageio::IMAGE_EXTENSIONS.join(", ")
                );
            }
            inputs.extend(found);
        } else {
            inputs.push(input.clone());
        }
    }
    Ok((inputs, any_folder))
}

fn plan(args: &ImageArgs) -> Result<Vec<Job>> {
    let (inputs, any_folder) = collect_inputs(args)?;
    let several = inputs.len() > 1 || any_folder;
    if several && args.output.is_none() && args.json.is_none() {
        bail!("several inputs: give -o FOLDER and/or --json FOLDER for the results");
    }
    let folder = |p: &Option<PathBuf>| -> Result<()> {
        if let Some(dir) = p {
            if dir.exists() && !dir.is_dir() {
                bail!(
                    "{} must be a folder when there are several inputs",
                    dir.display()
                );
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    };
    if several {
        folder(&args.output)?;
        folder(&args.json)?;
    } else if let Some(out) = &args.output {
        if out.is_dir() {
            bail!(
                "{} is a folder: name the output image file (.png or .jpg)",
                out.display()
            );
        }
    }
    let mut jobs = Vec::with_capacity(inputs.len());
    for input in inputs {
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let ext = match input
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "jpg" || e == "jpeg" => "jpg",
            _ => "png",
        };
        let (image_out, json_out) = if several {
            (
                args.output
                    .as_ref()
                    .map(|d| d.join(format!("{stem}_rendered.{ext}"))),
                args.json
                    .as_ref()
                    .map(|d| d.join(format!("{stem}_keypoints.json"))),
            )
        } else {
            (args.output.clone(), args.json.clone())
        };
        for out in image_out.iter().chain(json_out.iter()) {
            if imageio::same_file(out, &input) {
                bail!("output {} would overwrite its input", out.display());
            }
        }
        jobs.push(Job {
            input,
            image_out,
            json_out,
        });
    }
    Ok(jobs)
}
