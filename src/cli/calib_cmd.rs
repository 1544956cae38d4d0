//! `posecam calib`: what a calibration holds (and a picture of the rig from above), and conversion to
//! Pose2Sim's format.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use nalgebra::{Rotation3, Vector3};
use posecam::io::transaction::OutputSet;
use posecam::multiview::calib::{self, to_pose2sim_toml, Metadata};
use posecam::multiview::{Camera, Lens, Rig};
use posecam::render::rig_plot::{rig_png, RigCamera};

use crate::cli::console::outln;

#[derive(Debug, Subcommand)]
pub enum CalibCommand {
    /// The cameras of a calibration: size, focal length, lens, where each stands, the distances
    /// between them; --picture draws the rig from above.
    Show(ShowArgs),
    /// Writes a calibration (Pose2Sim or aniposelib TOML, Qualisys .qca.txt) in Pose2Sim's Calib.toml
    /// format.
    Convert(ConvertArgs),
    /// Each camera's lens (focal lengths, centre, distortion) from pictures or a video of a
    /// checkerboard, one folder or video per camera.
    Intrinsics(crate::cli::calib_intrinsics::IntrinsicsArgs),
    /// How well each camera agrees with the people the others see in new videos: names a camera
    /// moved or bumped since calibrating.
    Check(Box<crate::cli::calib_check::CheckArgs>),
    /// Every camera's pose from synchronised videos of people moving through the space (no
    /// board): the lenses from a calibration file, the scale from the people's height or a known
    /// distance, the floor from their feet.
    Rig(Box<crate::cli::calib_rig::RigArgs>),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub file: PathBuf,
    /// The rig from above as a PNG.
    #[arg(long, value_name = "PNG")]
    pub picture: Option<PathBuf>,
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    pub input: PathBuf,
    pub output: PathBuf,
    #[arg(long)]
    pub overwrite: bool,
}

pub fn run(command: CalibCommand) -> Result<()> {
    match command {
        CalibCommand::Show(a) => show(&a),
        CalibCommand::Convert(a) => convert(&a),
        CalibCommand::Intrinsics(a) => crate::cli::calib_intrinsics::run(&a),
        CalibCommand::Check(a) => crate::cli::calib_check::run(&a),
        CalibCommand::Rig(a) => crate::cli::calib_rig::run(&a),
    }
}

fn show(a: &ShowArgs) -> Result<()> {
    let (cameras, format) = calib::read_cameras(&a.file)?;
    outln!(
        "{}: {} cameras ({})",
        a.file.display(),
        cameras.len(),
        format.name()
    );
    show_cameras(&cameras);
    let lenses_only = cameras
        .iter()
        .all(|c| c.translation == Vector3::zeros() && c.rotation == Rotation3::identity());
    if lenses_only && a.picture.is_none() {
        outln!("  lenses only: every camera at the origin, no rig yet");
        return Ok(());
    }
    let (rig, _) = calib::read(&a.file)?;
    show_rig(&rig);
    if let Some(path) = &a.picture {
        write_picture(&rig, &a.file, path, a.overwrite)?;
        outln!("  picture: {}", path.display());
    }
    Ok(())
}

fn show_cameras(cameras: &[Camera]) {
    for cam in cameras {
        let c = cam.centre();
        let k = &cam.matrix;
        let lens = match cam.lens {
            Lens::Standard { .. } => "lens",
            Lens::Fisheye(_) => "fisheye",
        };
        outln!(
            "  {:<10} {}×{}  f {:.1}×{:.1} px  centre ({:.1}, {:.1}) px  {lens} [{}]  at ({:.3}, {:.3}, {:.3}) m",
            cam.name,
            cam.size[0],
            cam.size[1],
            k[(0, 0)],
            k[(1, 1)],
            k[(0, 2)],
            k[(1, 2)],
            cam.lens.coefficients_text(),
            c.x,
            c.y,
            c.z
        );
    }
}

fn show_rig(rig: &Rig) {
    outln!("  baselines:");
    for (i, j, d) in rig.baselines() {
        outln!(
            "    {} – {}: {d:.3} m",
            rig.cameras[i].name,
            rig.cameras[j].name
        );
    }
    if let Some(p) = rig.look_at() {
        outln!(
            "  the cameras look at ({:.2}, {:.2}, {:.2}) m",
            p.x,
            p.y,
            p.z
        );
    }
}

fn write_picture(rig: &Rig, file: &Path, path: &Path, overwrite: bool) -> Result<()> {
    let cameras: Vec<RigCamera> = rig
        .cameras
        .iter()
        .map(|c| {
            let (at, axis) = (c.centre(), c.axis());
            RigCamera {
                name: &c.name,
                at: (at.x, at.y),
                looks: (axis.x, axis.y),
            }
        })
        .collect();
    let title = format!(
        "{} from above",
        file.file_name().unwrap_or_default().to_string_lossy()
    );
    let png =
        rig_png(&title, &cameras, rig.look_at().map(|p| (p.x, p.y))).map_err(anyhow::Error::msg)?;
    write_one(file, path, overwrite, "--picture", &png)
}

/// Writes `bytes` to `path` all or nothing, never over an input or (without --overwrite) a file.
fn write_one(input: &Path, path: &Path, overwrite: bool, role: &str, bytes: &[u8]) -> Result<()> {
    let mut outputs = OutputSet::new(&[input], overwrite);
    let id = outputs.add_file(path, role)?;
    outputs.stage()?;
    std::fs::write(outputs.path(id), bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    outputs.commit()?;
    Ok(())
}

fn convert(a: &ConvertArgs) -> Result<()> {
    let (rig, format) = calib::read(&a.input)?;
    write_one(
        &a.input,
        &a.output,
        a.overwrite,
        "output",
        to_pose2sim_toml(&rig.cameras, &Metadata::default()).as_bytes(),
    )?;
    outln!(
        "{} ({}, {} cameras) -> {} (Pose2Sim)",
        a.input.display(),
        format.name(),
        rig.len(),
        a.output.display()
    );
    Ok(())
}
