//! `posecam export` of several calibrated views: the 3D options and the run.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use posecam::multiview::associate::AssociationSettings;
use posecam::multiview::scene::{Offset, SceneSettings, DEFAULT_MIN_FRAMES};
use posecam::multiview::track3d::Tracking3dSettings;
use posecam::multiview::triangulate::TriangulationSettings;
use posecam::pipeline::{ExportSettings, ScenePlan, SceneReport, SceneRequest, SyncMethod};

use super::console::{noteln, outln};
use super::number_in;

#[derive(Debug, Args)]
pub struct SceneArgs {
    /// The views' calibration (Pose2Sim or aniposelib .toml, Qualisys .qca.txt): the inputs are one
    /// video per camera, in its order, and -o is a folder for the 3D people.
    #[arg(long, value_name = "FILE")]
    pub calib: Option<PathBuf>,
    /// Per view, when it started filming after the first: frames (3) or seconds (0.05s), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        requires = "calib"
    )]
    pub offsets: Vec<Offset>,
    /// Find the offsets from the views: motion (keypoint speeds correlated, as Pose2Sim) or epipolar
    /// (the lag at which the calibrated views' people agree best).
    #[arg(long, value_enum, conflicts_with = "offsets", requires = "calib")]
    pub sync: Option<Sync>,
    /// A view whose reprojection of a joint misses by more pixels is left out of that joint.
    #[arg(long, value_name = "PX", default_value_t = 15.0, value_parser = number_in(0.5..=1000.0), requires = "calib")]
    pub max_reprojection: f64,
    /// Views that must agree on a joint.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = number_in(2usize..=64), requires = "calib")]
    pub min_views: usize,
    /// A 3D person seen in fewer frame sets is a wrong match and left out.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_FRAMES, value_parser = number_in(1usize..=100_000), requires = "calib")]
    pub min_frames: usize,
    /// Fill gaps of up to N frame sets in each joint (cubic), flagged `filled` in the JSON lines.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = number_in(0usize..=10_000), requires = "calib")]
    pub fill_3d_gaps: usize,
    /// Write no video per view (only the 3D files).
    #[arg(long, requires = "calib")]
    pub no_view_videos: bool,
    /// Files in the folder are named NAME_… .
    #[arg(long, default_value = "scene", value_parser = file_prefix, requires = "calib")]
    pub name: String,
}

/// How to put views in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// Correlate the keypoint speeds of each view with the first view's.
    Motion,
    /// The lag at which each view's people agree best with the first view's, through the
    /// calibration.
    Epipolar,
}

impl Sync {
    pub fn method(self) -> SyncMethod {
        match self {
            Sync::Motion => SyncMethod::Motion,
            Sync::Epipolar => SyncMethod::Epipolar,
        }
    }
}

fn file_prefix(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 100
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !text.starts_with('.');
    ok.then(|| text.to_string())
        .ok_or_else(|| "letters, digits, - _ and . (not first)".into())
}

impl SceneArgs {
    pub fn settings(&self) -> SceneSettings {
        SceneSettings {
            association: AssociationSettings::default(),
            triangulation: TriangulationSettings {
                max_reprojection_px: self.max_reprojection,
                min_views: self.min_views,
                ..TriangulationSettings::default()
            },
            tracking: Tracking3dSettings::default(),
            min_frames: self.min_frames,
        }
    }
}

/// What a 3D export takes from `posecam export`'s arguments.
pub struct SceneRun<'a> {
    pub input: &'a [PathBuf],
    pub output: &'a PathBuf,
    pub json_dir: Option<&'a PathBuf>,
    pub overwrite: bool,
    pub stats: bool,
    pub infer_workers: Option<usize>,
    pub model: &'a super::ModelArgs,
    pub thresholds: &'a super::ThresholdArgs,
    pub video: &'a super::VideoArgs,
    pub tracking: &'a super::TrackArgs,
    pub scene: &'a SceneArgs,
}

/// Runs a 3D export: every view to 2D, the scene, the folder.
pub fn run(args: &SceneRun, calib: PathBuf) -> Result<()> {
    let request = SceneRequest {
        inputs: args.input.to_vec(),
        calib,
        out: args.output.clone(),
        name: args.scene.name.clone(),
        overwrite: args.overwrite,
        offsets: args.scene.offsets.clone(),
        fill_gaps: args.scene.fill_3d_gaps,
        videos: !args.scene.no_view_videos,
        sync: args.scene.sync.map(Sync::method),
        json_dir: args.json_dir.cloned(),
    };
    let plan = ScenePlan::new(request)?;
    let engines = args.model.load_workers(args.infer_workers)?;
    let settings = ExportSettings {
        net: args.model.net()?,
        thresholds: args.thresholds.thresholds(),
        tracking: None,
        style: args.video.style(args.tracking),
        fps_overlay: false,
        max_duration_s: None,
        encode: args.video.encode(),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    posecam::io::interrupt::finish_on_first_signal(cancel.clone());
    let names: Vec<String> = plan.rig().cameras.iter().map(|c| c.name.clone()).collect();
    let mut last = (usize::MAX, 0);
    let report = plan.run(
        engines,
        &settings,
        &args.scene.settings(),
        cancel,
        |view, frames| {
            if view != last.0 || frames >= last.1 + 50 {
                noteln!(
                    "view {} ({}): {frames} frames",
                    view + 1,
                    names.get(view).map_or("", String::as_str)
                );
                last = (view, frames);
            }
        },
    )?;
    if args.stats {
        outln!("{}", serde_json::to_string(&report)?);
    }
    print_summary(&report, args);
    Ok(())
}

fn print_summary(r: &SceneReport, args: &SceneRun) {
    let s = &r.summary;
    noteln!(
        "3D: {} frame sets from {} views in {:.1} s (2D) + {:.2} ms per frame set (association, triangulation, tracking) -> {}",
        s.frame_sets,
        r.views,
        r.seconds_2d,
        r.ms_per_frame_set,
        args.output.display()
    );
    for (v, found) in r.found_offsets.iter().enumerate().skip(1) {
        let name = s.cameras.get(v).map_or("", |c| c.name.as_str());
        match found {
            Some(f) => noteln!(
                "  sync: {name} started {:.1} frames ({:.3} s) after {} (correlation {:.2})",
                f.frames,
                f.seconds,
                s.cameras[0].name,
                f.confidence
            ),
            None => noteln!(
                "  sync: {name}: too little movement in common with {}; offset 0",
                s.cameras[0].name
            ),
        }
    }
    for c in &s.cameras {
        noteln!(
            "  camera {}: {} of {} detections used ({:.0} %), reprojection mean {} px",
            c.name,
            c.used,
            c.detections,
            100.0 * c.used_share,
            c.mean_reprojection_px
                .map_or("-".into(), |e| format!("{e:.1}"))
        );
    }
    for p in &s.people {
        noteln!(
            "  person {}: {} frame sets, {:.0} % of joints, limb lengths within 20 % of their median {:.1} % ({:.1} % of bones), reprojection median {} px",
            p.id,
            p.frames,
            100.0 * p.joints_share,
            100.0 * p.limbs_within_20pct,
            100.0 * p.bones_within_20pct,
            p.median_reprojection_px.map_or("-".into(), |e| format!("{e:.1}"))
        );
    }
    if r.filled_joints > 0 {
        noteln!(
            "  {} joints filled (flagged in the JSON lines)",
            r.filled_joints
        );
    }
}
