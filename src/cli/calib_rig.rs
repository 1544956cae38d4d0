//! `posecam calib rig LENSES VIEWS... -o Calib.toml`: every camera's pose from synchronised videos
//! of people moving through the space, no board needed; the lenses come from a calibration file
//! (`calib intrinsics`, or any rig's, whose poses are ignored).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use posecam::calibrate::board::parse_length;
use posecam::calibrate::compare::{compare, Comparison};
use posecam::calibrate::people::{solve, PeopleRigSettings, RigFit, Scale};
use posecam::io::transaction::OutputSet;
use posecam::multiview::calib::{read_cameras, to_pose2sim_toml, Metadata};
use posecam::multiview::{Camera, Rig};
use posecam::pipeline::open_lens_views;
use serde_json::{json, Value};

use super::console::outln;
use super::number_in;
use super::scene_args::Sync;
use super::scene_cmd::ViewsArgs;

#[derive(Debug, Args)]
pub struct RigArgs {
    /// Each camera's lens: a calibration file (Pose2Sim or aniposelib TOML, Qualisys .qca.txt), as
    /// `calib intrinsics` writes; any poses in it are ignored.
    pub lenses: PathBuf,
    /// One video per camera, in the file's order, filmed at the same time: people walking through
    /// the whole space the cameras share.
    #[arg(required = true, value_name = "VIEW")]
    pub views: Vec<PathBuf>,
    /// Where to write the rig (Pose2Sim's Calib.toml, metres).
    #[arg(short, long, value_name = "TOML")]
    pub output: PathBuf,
    /// The people's typical height (1.75m, 175cm): sets the scale.
    #[arg(
        long,
        value_name = "LENGTH",
        required_unless_present = "distance",
        conflicts_with = "distance"
    )]
    pub height: Option<String>,
    /// The distance between two cameras' centres (cam01:cam02=3.2m): sets the scale.
    #[arg(long, value_name = "A:B=LENGTH")]
    pub distance: Option<String>,
    /// Read at most this many frames of each view.
    #[arg(long, value_name = "N", default_value_t = 600, value_parser = number_in(10usize..=1_000_000))]
    pub max_frames: usize,
    /// A calibration of the same cameras to measure the result against (after aligning the two).
    #[arg(long, value_name = "CALIB")]
    pub compare: Option<PathBuf>,
    /// Every figure of the solve as JSON.
    #[arg(long, value_name = "JSON")]
    pub report: Option<PathBuf>,
    #[arg(long)]
    pub overwrite: bool,
    #[command(flatten)]
    pub run: ViewsArgs,
}

pub fn run(a: &RigArgs) -> Result<()> {
    if a.run.sync == Some(Sync::Epipolar) {
        bail!("--sync epipolar needs the rig this command solves: use --sync motion, or --offsets");
    }
    let (lenses, infos) = open_lens_views(&a.lenses, &a.views)?;
    let scale = scale(a, &lenses)?;
    let reference = match &a.compare {
        Some(path) => Some(reference_cameras(path, &lenses)?),
        None => None,
    };
    let mut outputs = OutputSet::new(&a.views, a.overwrite);
    let toml_id = outputs.add_file(&a.output, "--output")?;
    let report_id = match &a.report {
        Some(path) => Some(outputs.add_file(path, "--report")?),
        None => None,
    };
    // Motion needs no rig (epipolar is refused above): the lenses stand in for one.
    let unplaced = Rig {
        cameras: lenses.clone(),
    };
    let found = a.run.detect(&a.views, a.max_frames, infos, &unplaced)?;
    let (clips, sets, skeleton, seconds_2d) =
        (found.clips, found.sets, found.skeleton, found.seconds);
    let started = Instant::now();
    let settings = PeopleRigSettings::default();
    let fit = solve(&lenses, &clips, &sets, skeleton, scale, &settings)?;
    let solve_s = started.elapsed().as_secs_f64();
    outln!(
        "{} cameras, {} frame sets: {seconds_2d:.1} s of 2D, {solve_s:.1} s solving",
        lenses.len(),
        sets.len()
    );
    print_fit(&fit);
    let comparison = reference.as_ref().and_then(|r| compare(&fit.cameras, r));
    if let Some(c) = &comparison {
        print_comparison(c, a.compare.as_deref().unwrap_or(Path::new("")));
    }
    let metadata = Metadata {
        rms_px: fit
            .errors
            .iter()
            .map(|e| (e.name.clone(), e.rms_px))
            .collect(),
    };
    outputs.stage()?;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(
        outputs.path(toml_id),
        to_pose2sim_toml(&fit.cameras, &metadata),
    )?;
    if let Some(id) = report_id {
        write(
            outputs.path(id),
            report(&fit, comparison.as_ref(), seconds_2d, solve_s).to_string(),
        )?;
    }
    outputs.commit()?;
    outln!("rig -> {}", a.output.display());
    Ok(())
}

/// `--height` or `--distance`, with the cameras named in the lens file.
fn scale(a: &RigArgs, lenses: &[Camera]) -> Result<Scale> {
    let length = |text: &str, option: &str| {
        parse_length(text).with_context(|| {
            format!(
                "{option}: {text:?} is not a length: a positive number with mm, cm or m (1.75m)"
            )
        })
    };
    if let Some(h) = &a.height {
        return Ok(Scale::Height(length(h, "--height")?));
    }
    let text = a
        .distance
        .as_deref()
        .context("give --height or --distance")?;
    let bad = || format!("--distance: {text:?} is not CAMERA:CAMERA=LENGTH (cam01:cam02=3.2m)");
    let (pair, metres) = text.split_once('=').with_context(bad)?;
    let (first, second) = pair.split_once(':').with_context(bad)?;
    let find = |name: &str| {
        lenses
            .iter()
            .position(|c| c.name == name.trim())
            .with_context(|| {
                let names: Vec<&str> = lenses.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "--distance: no camera {name:?} (the cameras are {})",
                    names.join(", ")
                )
            })
    };
    let cameras = [find(first)?, find(second)?];
    if cameras[0] == cameras[1] {
        bail!("--distance: give two different cameras");
    }
    Ok(Scale::Distance {
        cameras,
        metres: length(metres, "--distance")?,
    })
}

fn reference_cameras(path: &Path, lenses: &[Camera]) -> Result<Vec<Camera>> {
    let (cameras, _) = read_cameras(path)?;
    if cameras.len() != lenses.len() {
        bail!(
            "--compare: {} has {} cameras, the lenses {}",
            path.display(),
            cameras.len(),
            lenses.len()
        );
    }
    Ok(cameras)
}

fn print_fit(fit: &RigFit) {
    let mut pairs = fit.pairs.clone();
    pairs.sort_by(|a, b| a.cameras.cmp(&b.cameras));
    for p in &pairs {
        outln!(
            "  {} + {}: {} of {} people paired, {:.1} px off the epipolar lines (median)",
            p.cameras[0],
            p.cameras[1],
            p.matched,
            p.shared,
            p.median_px
        );
    }
    outln!(
        "  reference {}; {} joints; people {:.2} m tall (median); floor from {}",
        fit.cameras[fit.reference].name,
        fit.joints,
        fit.world.people_height_m,
        if fit.world.floor_from_feet {
            "the feet"
        } else {
            "the bodies' upright"
        }
    );
    for (c, e) in fit.cameras.iter().zip(&fit.errors) {
        let at = c.centre();
        outln!(
            "  {:<10} at ({:6.2}, {:6.2}, {:5.2}) m   {:.2} px median, {:.2} px RMS over {} joints",
            c.name,
            at.x,
            at.y,
            at.z,
            e.median_px,
            e.rms_px,
            e.joints
        );
    }
}

fn print_comparison(c: &Comparison, path: &Path) {
    outln!(
        "against {} (rig {:.2} m across; scale {:.3}):",
        path.display(),
        c.rig_size_m,
        c.scale
    );
    for d in &c.cameras {
        outln!(
            "  {:<10} centre {:.3} m off ({:.1} % of the rig), rotation {:.2}° off",
            d.name,
            d.centre_m,
            100.0 * d.centre_share,
            d.rotation_deg
        );
    }
}

fn report(fit: &RigFit, comparison: Option<&Comparison>, seconds_2d: f64, solve_s: f64) -> Value {
    let cameras: Vec<Value> = fit
        .cameras
        .iter()
        .zip(&fit.errors)
        .map(|(c, e)| {
            let at = c.centre();
            json!({"name": c.name, "centre_m": [at.x, at.y, at.z], "joints": e.joints,
                   "median_px": e.median_px, "rms_px": e.rms_px})
        })
        .collect();
    let pairs: Vec<Value> = fit
        .pairs
        .iter()
        .map(|p| json!({"cameras": p.cameras, "paired": p.matched, "pairable": p.shared, "median_px": p.median_px}))
        .collect();
    let against = comparison.map(|c| {
        let cams: Vec<Value> = c
            .cameras
            .iter()
            .map(|d| json!({"name": d.name, "centre_m": d.centre_m, "centre_share": d.centre_share, "rotation_deg": d.rotation_deg}))
            .collect();
        json!({"scale": c.scale, "rig_size_m": c.rig_size_m, "cameras": cams})
    });
    json!({
        "reference": fit.cameras[fit.reference].name,
        "joints": fit.joints,
        "people_height_m": fit.world.people_height_m,
        "floor_from_feet": fit.world.floor_from_feet,
        "cameras": cameras,
        "pairs": pairs,
        "compare": against,
        "seconds": {"detect": seconds_2d, "solve": solve_s},
    })
}
