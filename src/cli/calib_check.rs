//! `posecam calib check CALIB VIEWS...`: how well each camera of a calibration agrees with the people
//! the others see, and which one no longer fits (moved or bumped since it was calibrated).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use posecam::calibrate::check::{check, disagreeing, CameraFit, CheckError};
use posecam::multiview::scene::SceneSettings;
use posecam::pipeline::open_views;

use super::console::outln;
use super::number_in;
use super::scene_cmd::ViewsArgs;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The calibration to check (Pose2Sim or aniposelib TOML, Qualisys .qca.txt).
    pub calib: PathBuf,
    /// One video per camera, in the calibration's order, filmed since: people moving through the
    /// space.
    #[arg(required = true, value_name = "VIEW")]
    pub views: Vec<PathBuf>,
    /// Read at most this many frames of each view.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = number_in(10usize..=1_000_000))]
    pub max_frames: usize,
    #[command(flatten)]
    pub run: ViewsArgs,
}

pub fn run(a: &CheckArgs) -> Result<()> {
    let (rig, infos) = open_views(&a.calib, &a.views)?;
    if rig.len() < 3 {
        return Err(CheckError::TooFewCameras(rig.len()).into());
    }
    let found = a.run.detect(&a.views, a.max_frames, infos, &rig)?;
    let (clips, sets, skeleton, seconds_2d) =
        (found.clips, found.sets, found.skeleton, found.seconds);
    let started = Instant::now();
    let fits = check(
        &rig,
        &clips,
        &sets,
        &skeleton.mirror(),
        &SceneSettings::default(),
    )?;
    outln!(
        "{}: {} cameras, {} frame sets ({seconds_2d:.1} s of 2D, {:.2} s of checking)",
        a.calib.display(),
        rig.len(),
        sets.len(),
        started.elapsed().as_secs_f64()
    );
    verdict(&fits)
}

/// The table, and an error naming the cameras that disagree.
fn verdict(fits: &[CameraFit]) -> Result<()> {
    let odd = disagreeing(fits);
    for (c, f) in fits.iter().enumerate() {
        let miss = f
            .median_px
            .map_or("no person matched".to_string(), |m| format!("{m:6.1} px"));
        let flag = if odd.contains(&c) { "  DISAGREES" } else { "" };
        outln!(
            "  {:<10} {miss} median miss, {} of its {} people matched with the others{flag}",
            f.name,
            f.matched,
            f.detections
        );
    }
    if odd.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = odd
        .iter()
        .map(|&c| {
            let f = &fits[c];
            f.median_px.map_or(
                format!("{} (matches none of the others' people)", f.name),
                |m| format!("{} ({m:.1} px)", f.name),
            )
        })
        .collect();
    let mut typical: Vec<f64> = (0..fits.len())
        .filter(|c| !odd.contains(c))
        .filter_map(|c| fits[c].median_px)
        .collect();
    typical.sort_by(f64::total_cmp);
    let typical = typical.get(typical.len() / 2).copied().unwrap_or(f64::NAN);
    bail!(
        "{} no longer agree{} with the other cameras ({typical:.1} px typical): moved or bumped since \
         calibrating? Calibrate it again",
        names.join(", "),
        if odd.len() == 1 { "s" } else { "" }
    )
}
