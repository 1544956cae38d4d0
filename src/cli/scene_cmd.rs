//! `posecam scene VIEWS... --calib FILE`: the scene window on several calibrated videos.

use std::path::PathBuf;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use posecam::capture::SourceInfo;
use posecam::multiview::scene::{frame_sets, FrameSet, ViewClip};
use posecam::multiview::Rig;
use posecam::pipeline::{
    find_view_offsets, offsets_in_seconds, pose_views, PipelineSettings, ViewPeople,
};
use posecam::pose::Skeleton;
use posecam::ui::scene::{SceneEngines, SceneOptions};

use super::scene_args::Sync;
use super::{number_in, ModelArgs, ThresholdArgs};
use posecam::multiview::scene::Offset;

#[derive(Debug, Args)]
pub struct SceneWindowArgs {
    /// One video per camera, in the calibration's order.
    #[arg(required = true, num_args = 2.., value_name = "VIEW")]
    pub views: Vec<PathBuf>,
    /// The cameras' calibration (Pose2Sim or aniposelib TOML, Qualisys .qca.txt).
    #[arg(long, value_name = "FILE")]
    pub calib: PathBuf,
    /// Read at most this many frames of each view (the window keeps them all in memory).
    #[arg(long, value_name = "N", default_value_t = 600, value_parser = number_in(1usize..=100_000))]
    pub max_frames: usize,
    #[command(flatten)]
    pub run: ViewsArgs,
}

/// How several views are put in step and posed: what the scene window and `calib check` share.
#[derive(Debug, Args)]
pub struct ViewsArgs {
    /// Per view, when it started filming after the first: frames (3) or seconds (0.05s), comma-separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub offsets: Vec<Offset>,
    /// Find the offsets from the views: motion or epipolar (as `export --sync`).
    #[arg(long, value_enum, conflicts_with = "offsets")]
    pub sync: Option<Sync>,
    #[arg(long)]
    pub infer_workers: Option<usize>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
}

/// Every view's people as the 3D commands use them, the skeleton, the seconds it took, and the
/// frame sets that put the views in step.
pub struct Detected {
    pub clips: Vec<ViewClip>,
    pub skeleton: &'static Skeleton,
    pub seconds: f64,
    pub sets: Vec<FrameSet>,
}

impl ViewsArgs {
    /// The people in each of `views` (at most `max_frames` frames each, `infos` describing them),
    /// with the model and thresholds given, put in step by `--offsets` or `--sync` through `rig`.
    pub fn detect(
        &self,
        views: &[PathBuf],
        max_frames: usize,
        infos: Vec<SourceInfo>,
        rig: &Rig,
    ) -> Result<Detected> {
        let given = offsets_in_seconds(&self.offsets, &infos)?;
        let first = infos.into_iter().next().context("no view")?;
        let cancel = Arc::new(AtomicBool::new(false));
        posecam::io::interrupt::finish_on_first_signal(cancel.clone());
        let started = Instant::now();
        let pipeline = PipelineSettings {
            net: self.model.net()?,
            thresholds: self.thresholds.thresholds(),
            tracking: None,
        };
        let engines = self.model.load_workers(self.infer_workers)?;
        let (people, skeleton, _) = pose_views(
            views,
            Some(max_frames),
            first,
            engines,
            pipeline,
            cancel,
            |_, _| {},
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let clips: Vec<ViewClip> = people.iter().map(ViewPeople::clip).collect();
        let offsets = match self.sync {
            Some(sync) => find_view_offsets(sync.method(), rig, &clips, &skeleton.mirror())
                .iter()
                .map(|f| f.map_or(0.0, |f| f.seconds))
                .collect(),
            None => given,
        };
        let times: Vec<Vec<f64>> = clips.iter().map(|c| c.times.clone()).collect();
        Ok(Detected {
            sets: frame_sets(&times, &offsets),
            clips,
            skeleton,
            seconds,
        })
    }
}

pub fn run(args: SceneWindowArgs) -> Result<()> {
    let run = args.run;
    let options = SceneOptions {
        views: args.views,
        calib: args.calib,
        engines: SceneEngines::Loaded(run.model.load_workers(run.infer_workers)?),
        pipeline: PipelineSettings {
            net: run.model.net()?,
            thresholds: run.thresholds.thresholds(),
            tracking: None,
        },
        max_frames: args.max_frames,
        offsets: run.offsets,
        sync: run.sync.map(Sync::method),
    };
    posecam::ui::run_scene(options)?;
    Ok(())
}
