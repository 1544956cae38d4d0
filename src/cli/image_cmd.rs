//! `posecam image`: people in still images, as rendered images and OpenPose JSON.
//!
//! Every output of one run is one transaction: all are checked before the model loads, written to
//! temporaries, and committed together when every image succeeded; otherwise nothing is written.

use crate::cli::console::{errln, outln};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use posecam::infer::{Engine, NetConfig};
use posecam::io::image::{self as imageio, has_image_extension};
use posecam::io::openpose::OpenPoseFrame;
use posecam::io::transaction::{FolderFiles, OutputId, OutputSet};
use posecam::pose::{Associator, Thresholds};
use posecam::render::{draw_people, OverlayStyle, RgbCanvas};

use super::{InputArgs, ModelArgs, ThresholdArgs};

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
    pub limits: InputArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Where one input's results go: (staged output, real output) of each kind.
struct Job {
    input: PathBuf,
    image_out: Option<Destination>,
    json_out: Option<Destination>,
}

/// An output of one image: inside a staged file or folder of the run's output set.
struct Destination {
    output: OutputId,
    /// The file name inside a folder output; `None` for a file output.
    name: Option<String>,
    target: PathBuf,
}

impl Destination {
    fn staged(&self, outputs: &OutputSet) -> PathBuf {
        match &self.name {
            Some(n) => outputs.path(self.output).join(n),
            None => outputs.path(self.output).to_path_buf(),
        }
    }
}

/// What every image is run with.
struct Runner {
    engine: Engine,
    associator: Associator,
    net: NetConfig,
    thresholds: Thresholds,
    max_pixels: u64,
    to_stdout: bool,
}

pub fn run(args: ImageArgs) -> Result<()> {
    let (jobs, mut outputs) = plan(&args)?;
    outputs.stage()?;
    let engine = args.model.load_engine()?;
    let net = args.model.net()?;
    // The largest picture decides (each is run alone), judged from the headers before any runs.
    if let Some(size) = jobs
        .iter()
        .filter_map(|j| image::image_dimensions(&j.input).ok())
        .max_by_key(|(w, h)| *w as u64 * *h as u64)
    {
        let size = (size.0 as usize, size.1 as usize);
        args.limits.check_memory(&engine, size, &net, 1)?;
    }
    let mut runner = Runner {
        engine,
        associator: Associator::new(),
        net,
        thresholds: args.thresholds.thresholds(),
        max_pixels: args.limits.max_pixels,
        to_stdout: args.output.is_none() && args.json.is_none(),
    };
    let mut failures = 0usize;
    for job in &jobs {
        if let Err(e) = runner.run(job, &outputs) {
            if jobs.len() == 1 {
                return Err(e);
            }
            errln!("error: {e:#}");
            failures += 1;
        }
    }
    if failures > 0 {
        bail!(
            "{failures} of {} images failed: nothing written (leave them out, or fix them)",
            jobs.len()
        );
    }
    // Results that did not reach standard output (a full disk) mean the run failed: nothing is
    // committed.
    super::console::healthy()?;
    outputs.commit()?;
    Ok(())
}

impl Runner {
    fn run(&mut self, job: &Job, outputs: &OutputSet) -> Result<()> {
        let mut image = imageio::load_rgb(&job.input, self.max_pixels)?;
        let maps = self.engine.infer(&image, &self.net)?;
        let t = Instant::now();
        let skeleton = self.engine.skeleton();
        let people = self.associator.run(&maps, skeleton, &self.thresholds);
        let association = t.elapsed();
        let json = serde_json::to_string(&OpenPoseFrame::new(&people))?;
        if let Some(d) = &job.json_out {
            imageio::write_bytes(&d.staged(outputs), &d.target, json.as_bytes())?;
        }
        if let Some(d) = &job.image_out {
            let style = OverlayStyle::default();
            draw_people(
                &mut RgbCanvas::from_image(&mut image),
                skeleton,
                &people,
                &style,
            );
            imageio::write_image(&d.staged(outputs), &d.target, &image)?;
        }
        if self.to_stdout {
            outln!("{json}");
        }
        let written: Vec<String> = [&job.image_out, &job.json_out]
            .into_iter()
            .flatten()
            .map(|d| d.target.display().to_string())
            .collect();
        tracing::info!(
            "{}: {} people (inference {:.1} ms, association {:.2} ms){}{}",
            job.input.display(),
            people.len(),
            self.engine.last_timings().inference.as_secs_f64() * 1e3,
            association.as_secs_f64() * 1e3,
            if written.is_empty() { "" } else { " -> " },
            written.join(", ")
        );
        Ok(())
    }
}

/// Every input is a regular file within the pixel limit, checked from its header before the model
/// loads.
fn check_input(path: &Path, max_pixels: u64) -> Result<()> {
    posecam::io::inputs::regular_file(path)?;
    if let Ok(size) = image::image_dimensions(path) {
        posecam::io::inputs::within_pixels(path, size, max_pixels)?;
    }
    Ok(())
}

/// The images named, folders expanded (sorted), each checked; true when a folder was among them.
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
    for input in &inputs {
        check_input(input, args.limits.max_pixels)?;
    }
    Ok((inputs, any_folder))
}

/// File names of the outputs of `input` in output folders.
fn names_in_folders(input: &Path) -> (String, String) {
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
    (
        format!("{stem}_rendered.{ext}"),
        format!("{stem}_keypoints.json"),
    )
}

/// Two inputs whose results would land on one file (`a/x.jpg` and `b/x.jpg`, or `x.jpg` and `x.png`
/// for their keypoints) are refused before any work: one would silently replace the other.
fn refuse_clashes<'a>(
    inputs: &[PathBuf],
    names: impl Iterator<Item = &'a String>,
    dir: &Path,
) -> Result<()> {
    let mut first: std::collections::HashMap<&String, &PathBuf> = std::collections::HashMap::new();
    for (input, name) in inputs.iter().zip(names) {
        if let Some(other) = first.insert(name, input) {
            bail!(
                "{} and {} would both write {}: rename one, or run them separately",
                other.display(),
                input.display(),
                dir.join(name).display()
            );
        }
    }
    Ok(())
}

/// Every job and the output set they write into, checked before any work.
fn plan(args: &ImageArgs) -> Result<(Vec<Job>, OutputSet)> {
    let (inputs, any_folder) = collect_inputs(args)?;
    let mut outputs = OutputSet::new(&inputs, args.overwrite);
    let several = inputs.len() > 1 || any_folder;
    if !several {
        let input = inputs.into_iter().next().context("no input image")?;
        let mut file = |p: &Option<PathBuf>, role: &str| -> Result<Option<Destination>> {
            let Some(target) = p else { return Ok(None) };
            Ok(Some(Destination {
                output: outputs.add_file(target, role)?,
                name: None,
                target: target.clone(),
            }))
        };
        if let Some(o) = &args.output {
            imageio::output_format(o)?;
        }
        let image_out = file(&args.output, "-o")?;
        let json_out = file(&args.json, "--json")?;
        let job = Job {
            input,
            image_out,
            json_out,
        };
        return Ok((vec![job], outputs));
    }
    if args.output.is_none() && args.json.is_none() {
        bail!("several inputs: give -o FOLDER and/or --json FOLDER for the results");
    }
    let names: Vec<(String, String)> = inputs.iter().map(|i| names_in_folders(i)).collect();
    if let Some(dir) = &args.output {
        refuse_clashes(&inputs, names.iter().map(|n| &n.0), dir)?;
    }
    if let Some(dir) = &args.json {
        refuse_clashes(&inputs, names.iter().map(|n| &n.1), dir)?;
    }
    let mut folder = |p: &Option<PathBuf>, role: &str, pick: fn(&(String, String)) -> &String| {
        p.as_ref()
            .map(|dir| {
                let files = FolderFiles::Names(names.iter().map(|n| pick(n).clone()).collect());
                outputs
                    .add_folder(dir, role, files)
                    .map(|id| (id, dir.clone()))
            })
            .transpose()
    };
    let image_dir = folder(&args.output, "-o", |n| &n.0)?;
    let json_dir = folder(&args.json, "--json", |n| &n.1)?;
    let jobs = inputs
        .into_iter()
        .zip(names)
        .map(|(input, (image_name, json_name))| {
            let within = |dir: &Option<(OutputId, PathBuf)>, name: String| {
                dir.as_ref().map(|(id, path)| Destination {
                    output: *id,
                    target: path.join(&name),
                    name: Some(name),
                })
            };
            Job {
                input,
                image_out: within(&image_dir, image_name),
                json_out: within(&json_dir, json_name),
            }
        })
        .collect();
    Ok((jobs, outputs))
}
