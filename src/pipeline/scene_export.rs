//! `posecam export` of several calibrated views: every view's 2D people (one model, one pipeline),
//! the 3D scene, and its files, all in one output folder committed as one transaction.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::export::json_stem;
use super::scene_files::{
    points_of, series, write_jsonl, write_marker_files, write_openpose_frames, Series,
};
use super::{pose_views, ExportSettings, PipelineError, PipelineSettings, ViewPeople};
use crate::capture::{FrameSource, Picture, PictureKind, VideoSource};
use crate::infer::Engine;
use crate::io::transaction::{FolderFiles, OutputError, OutputSet};
use crate::multiview::calib::{self, CalibError};
use crate::multiview::scene::{frame_sets, reconstruct, Offset, Scene, SceneSettings, ViewClip};
use crate::multiview::summary::{measured_limbs, summarise, SceneSummary};
use crate::multiview::sync::{find_offsets, find_offsets_epipolar, FoundOffset};
use crate::multiview::{Camera, Rig, RigError};
use crate::pose::{Keypoint, Skeleton};
use crate::render::{draw_figures, Figure, Identity, YuvCanvas};
use crate::video::{AudioInput, VideoFormat, VideoReader, VideoWriter};

/// What a 3D export reads and writes.
#[derive(Debug, Clone)]
pub struct SceneRequest {
    /// One video per camera, in the calibration's order.
    pub inputs: Vec<PathBuf>,
    pub calib: PathBuf,
    /// The output folder: every file in it is named `<name>_…`.
    pub out: PathBuf,
    pub name: String,
    pub overwrite: bool,
    /// Per view, when it started filming after the first view (empty: all at once).
    pub offsets: Vec<Offset>,
    /// Fill gaps of at most this many frame sets (0: none), flagged as filled.
    pub fill_gaps: usize,
    /// Write each view with the 3D people drawn back into it.
    pub videos: bool,
    /// Find the offsets from the views themselves (instead of `offsets`).
    pub sync: Option<SyncMethod>,
    /// Each view's 2D people as OpenPose's per-frame files, in `<dir>/<view>_json/` (the layout
    /// Pose2Sim reads from its `pose/` folder).
    pub json_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error(transparent)]
    Calib(#[from] CalibError),
    #[error("{}: {source}", calib.display())]
    Rig { calib: PathBuf, source: RigError },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Outputs(#[from] OutputError),
    #[error("--offsets has {given} value{} for {views} views: give one per view (the first is usually 0)", if *given == 1 { "" } else { "s" })]
    Offsets { given: usize, views: usize },
    #[error("views {first} and {second} are both named {stem:?}: their files would share a name (scene_{stem}.mp4, {stem}_json/); rename one")]
    SameStem {
        first: usize,
        second: usize,
        stem: String,
    },
    #[error("--json-dir {} is a file, not a folder", .0.display())]
    JsonDirIsFile(PathBuf),
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How the views are put in step when no offsets are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMethod {
    /// Keypoint speeds correlated (Pose2Sim's way; needs no calibration).
    Motion,
    /// The lag at which the calibrated views' people agree best.
    Epipolar,
}

/// What a 3D export did.
#[derive(Debug, Clone, Serialize)]
pub struct SceneReport {
    pub views: usize,
    pub frames_per_view: Vec<usize>,
    pub seconds_2d: f64,
    /// Association, triangulation and tracking, per frame set.
    pub ms_per_frame_set: f64,
    pub seconds_files: f64,
    pub summary: SceneSummary,
    pub filled_joints: usize,
    /// Per view, the offset used (seconds after the first view).
    pub offsets_s: Vec<f64>,
    /// With `--sync motion`: what the movement said, per view (`None`: too little in common).
    pub found_offsets: Vec<Option<FoundOffset>>,
}

/// A 3D export checked and staged, waiting to run.
pub struct ScenePlan {
    request: SceneRequest,
    rig: Rig,
    outputs: OutputSet,
    folder: crate::io::transaction::OutputId,
    /// Per view, its OpenPose folder (with `json_dir`).
    json_dirs: Vec<crate::io::transaction::OutputId>,
    first: crate::capture::SourceInfo,
    offsets_s: Vec<f64>,
}

impl ScenePlan {
    /// Reads the calibration, checks the views against it and stages the output folder, before any
    /// model loads.
    pub fn new(request: SceneRequest) -> Result<Self, SceneError> {
        let (rig, infos) = open_views(&request.calib, &request.inputs)?;
        let offsets_s = offsets_in_seconds(&request.offsets, &infos)?;
        if let Some(dir) = request
            .json_dir
            .as_ref()
            .filter(|d| d.exists() && !d.is_dir())
        {
            return Err(SceneError::JsonDirIsFile(dir.clone()));
        }
        let stems = unique_stems(&request.inputs)?;
        let first = infos
            .into_iter()
            .next()
            .ok_or(PipelineError::Internal("no view"))?;
        let mut outputs = OutputSet::new(&request.inputs, request.overwrite);
        let files = FolderFiles::Pattern {
            prefix: format!("{}_", request.name),
            suffix: String::new(),
        };
        let folder = outputs.add_folder(&request.out, "--output", files)?;
        let json_dirs = match &request.json_dir {
            Some(dir) => json_folders(&mut outputs, dir, &stems)?,
            None => Vec::new(),
        };
        outputs.stage()?;
        Ok(Self {
            request,
            rig,
            outputs,
            folder,
            json_dirs,
            first,
            offsets_s,
        })
    }

    pub fn rig(&self) -> &Rig {
        &self.rig
    }

    /// 2D in every view, then 3D, then the files; commits the folder when all is written.
    pub fn run(
        self,
        engines: Vec<Engine>,
        settings: &ExportSettings,
        scene_settings: &SceneSettings,
        cancel: Arc<AtomicBool>,
        progress: impl FnMut(usize, usize),
    ) -> Result<SceneReport, SceneError> {
        let t = Instant::now();
        let pipeline = PipelineSettings {
            net: settings.net.clone(),
            thresholds: settings.thresholds,
            tracking: None,
        };
        let (people, skeleton, _) = pose_views(
            &self.request.inputs,
            None,
            self.first.clone(),
            engines,
            pipeline,
            cancel,
            progress,
        )?;
        let seconds_2d = t.elapsed().as_secs_f64();
        for (v, id) in self.json_dirs.iter().enumerate() {
            let dir = self.outputs.path(*id);
            let stem = json_stem(&self.request.inputs[v]);
            write_openpose_frames(dir, &stem, &people[v]).map_err(|source| SceneError::Write {
                path: self.outputs.target(*id).to_path_buf(),
                source,
            })?;
        }
        let clips: Vec<ViewClip> = people.iter().map(ViewPeople::clip).collect();
        let t = Instant::now();
        let times: Vec<Vec<f64>> = clips.iter().map(|c| c.times.clone()).collect();
        let (offsets_s, found_offsets) = self.offsets(&clips, &skeleton.mirror());
        let sets = frame_sets(&times, &offsets_s);
        let scene = reconstruct(&self.rig, &clips, sets, &skeleton.mirror(), scene_settings);
        let ms_per_frame_set = t.elapsed().as_secs_f64() * 1e3 / scene.sets.len().max(1) as f64;
        let t = Instant::now();
        let limbs = measured_limbs(skeleton);
        let summary = summarise(&self.rig, &clips, &scene, &limbs);
        let all = series(&scene, skeleton.parts.len(), self.request.fill_gaps);
        let dir = self.outputs.path(self.folder).to_path_buf();
        self.write_files(&dir, &scene, &all, skeleton, &summary)?;
        if self.request.videos {
            for v in 0..self.rig.len() {
                self.write_view(&dir, v, &scene, &all, skeleton, settings)?;
            }
        }
        let report = SceneReport {
            views: self.rig.len(),
            frames_per_view: people.iter().map(|p| p.times.len()).collect(),
            seconds_2d,
            ms_per_frame_set,
            seconds_files: t.elapsed().as_secs_f64(),
            filled_joints: all.iter().map(Series::filled).sum(),
            summary,
            offsets_s,
            found_offsets,
        };
        self.outputs.commit()?;
        Ok(report)
    }

    /// The offsets given, or found from the views.
    fn offsets(
        &self,
        clips: &[ViewClip],
        mirror: &[usize],
    ) -> (Vec<f64>, Vec<Option<FoundOffset>>) {
        let Some(method) = self.request.sync else {
            return (self.offsets_s.clone(), Vec::new());
        };
        let found = find_view_offsets(method, &self.rig, clips, mirror);
        (
            found.iter().map(|f| f.map_or(0.0, |f| f.seconds)).collect(),
            found,
        )
    }

    fn file(&self, dir: &Path, what: &str) -> PathBuf {
        dir.join(format!("{}_{what}", self.request.name))
    }

    fn write_files(
        &self,
        dir: &Path,
        scene: &Scene,
        all: &[Series],
        skeleton: &Skeleton,
        summary: &SceneSummary,
    ) -> Result<(), SceneError> {
        let failed = |path: PathBuf| move |source| SceneError::Write { path, source };
        let times: Vec<f64> = scene.sets.iter().map(|s| s.time_s).collect();
        let rate = rate_hz(&times);
        for s in all {
            let stem = format!("{}_person{}", self.request.name, s.id);
            write_marker_files(dir, &stem, s, skeleton, &times, rate)
                .map_err(failed(dir.join(&stem)))?;
        }
        let jsonl = self.file(dir, "3d.jsonl");
        write_jsonl(&jsonl, scene, all, skeleton).map_err(failed(jsonl.clone()))?;
        let path = self.file(dir, "summary.json");
        let text =
            serde_json::to_string_pretty(summary).map_err(|e| failed(path.clone())(e.into()))?;
        std::fs::write(&path, text + "\n").map_err(failed(path.clone()))?;
        Ok(())
    }

    /// View `v` with every 3D person projected into it, in the person's colour.
    fn write_view(
        &self,
        dir: &Path,
        v: usize,
        scene: &Scene,
        all: &[Series],
        skeleton: &Skeleton,
        settings: &ExportSettings,
    ) -> Result<(), SceneError> {
        let input = &self.request.inputs[v];
        let reader = VideoReader::open(input).map_err(PipelineError::from)?;
        let info = reader.info().clone();
        let path = self.file(dir, &format!("{}.mp4", json_stem(input)));
        let audio = if info.audio_streams > 0 {
            AudioInput::File(input)
        } else {
            AudioInput::None
        };
        let mut writer = VideoWriter::create_with(
            &path,
            &path,
            &VideoFormat::of(&info),
            audio,
            &settings.encode,
        )
        .map_err(PipelineError::from)?;
        let mut source = VideoSource::from_reader(input, reader, PictureKind::Yuv);
        let by_frame: std::collections::HashMap<usize, usize> = scene
            .sets
            .iter()
            .enumerate()
            .filter_map(|(k, s)| Some((s.frames[v]?, k)))
            .collect();
        let camera = &self.rig.cameras[v];
        while let Some(frame) = source.next_frame().map_err(PipelineError::from)? {
            let Picture::Yuv(mut picture) = frame.picture else {
                return Err(PipelineError::Internal("view frames must be YUV").into());
            };
            let picture = Arc::make_mut(&mut picture);
            if let Some(&k) = by_frame.get(&(frame.index as usize)) {
                let projected: Vec<(u64, Vec<Option<Keypoint>>)> = all
                    .iter()
                    .filter_map(|s| {
                        let points = points_of(s, k)?;
                        let keypoints = points
                            .iter()
                            .map(|p| {
                                p.and_then(|p| camera.project(&p)).map(|[x, y]| Keypoint {
                                    x: x as f32,
                                    y: y as f32,
                                    score: 1.0,
                                })
                            })
                            .collect();
                        Some((s.id, keypoints))
                    })
                    .collect();
                let figures: Vec<Figure> = projected
                    .iter()
                    .map(|(id, k)| Figure {
                        keypoints: k,
                        identity: Identity::Track(*id),
                        trail: &[],
                    })
                    .collect();
                draw_figures(
                    &mut YuvCanvas { image: picture },
                    skeleton,
                    &figures,
                    &settings.style,
                );
            }
            writer
                .write(picture, frame.pts)
                .map_err(PipelineError::from)?;
        }
        writer.finish(false).map_err(PipelineError::from)?;
        Ok(())
    }
}

/// The calibration read and checked against the views (their count and sizes); each view's
/// stream information.
pub fn open_views(
    calib_path: &Path,
    inputs: &[PathBuf],
) -> Result<(Rig, Vec<crate::capture::SourceInfo>), SceneError> {
    let (rig, _) = calib::read(calib_path)?;
    let infos = view_infos(calib_path, &rig, inputs)?;
    Ok((rig, infos))
}

/// The cameras of a calibration read for their lenses only (poses ignored: a file of lenses, or a
/// rig about to be solved again), and the views, checked one per camera and of its size.
pub fn open_lens_views(
    calib_path: &Path,
    inputs: &[PathBuf],
) -> Result<(Vec<Camera>, Vec<crate::capture::SourceInfo>), SceneError> {
    let (cameras, _) = calib::read_cameras(calib_path)?;
    let rig = Rig { cameras };
    let infos = view_infos(calib_path, &rig, inputs)?;
    Ok((rig.cameras, infos))
}

fn view_infos(
    calib_path: &Path,
    rig: &Rig,
    inputs: &[PathBuf],
) -> Result<Vec<crate::capture::SourceInfo>, SceneError> {
    let mut infos = Vec::new();
    for path in inputs {
        let source = VideoSource::open(path, PictureKind::Yuv).map_err(PipelineError::from)?;
        infos.push(source.info().clone());
    }
    let sizes: Vec<[u32; 2]> = infos.iter().map(|i| [i.width, i.height]).collect();
    rig.check_views(&sizes).map_err(|source| SceneError::Rig {
        calib: calib_path.to_path_buf(),
        source,
    })?;
    Ok(infos)
}

/// The views' offsets found by `method`, looking at most 2 s (or a quarter of the shortest view)
/// either way.
pub fn find_view_offsets(
    method: SyncMethod,
    rig: &Rig,
    clips: &[ViewClip],
    mirror: &[usize],
) -> Vec<Option<FoundOffset>> {
    let shortest = clips
        .iter()
        .map(|c| c.times.last().copied().unwrap_or(0.0) - c.times.first().copied().unwrap_or(0.0))
        .fold(f64::INFINITY, f64::min);
    let reach = (0.25 * shortest).min(2.0);
    match method {
        SyncMethod::Motion => find_offsets(clips, reach),
        SyncMethod::Epipolar => find_offsets_epipolar(rig, clips, mirror, reach),
    }
}

/// Per view, the offset given in seconds (frames at that view's rate); none given, all 0. One per
/// view or none.
pub fn offsets_in_seconds(
    offsets: &[Offset],
    views: &[crate::capture::SourceInfo],
) -> Result<Vec<f64>, SceneError> {
    if !offsets.is_empty() && offsets.len() != views.len() {
        return Err(SceneError::Offsets {
            given: offsets.len(),
            views: views.len(),
        });
    }
    Ok(views
        .iter()
        .enumerate()
        .map(|(v, info)| {
            let fps = info.frame_rate.unwrap_or(30.0);
            offsets.get(v).map_or(0.0, |o| o.seconds(fps))
        })
        .collect())
}

/// Each view's name (its file stem), which its files carry; two views of one name are refused.
fn unique_stems(inputs: &[PathBuf]) -> Result<Vec<String>, SceneError> {
    let stems: Vec<String> = inputs.iter().map(|i| json_stem(i)).collect();
    for (b, stem) in stems.iter().enumerate() {
        if let Some(a) = stems[..b].iter().position(|s| s == stem) {
            return Err(SceneError::SameStem {
                first: a + 1,
                second: b + 1,
                stem: stem.clone(),
            });
        }
    }
    Ok(stems)
}

/// One OpenPose folder per view, `<dir>/<stem>_json`, holding only `<stem>_…_keypoints.json`.
fn json_folders(
    outputs: &mut OutputSet,
    dir: &Path,
    stems: &[String],
) -> Result<Vec<crate::io::transaction::OutputId>, SceneError> {
    let mut ids = Vec::new();
    for stem in stems {
        let files = FolderFiles::Pattern {
            prefix: format!("{stem}_"),
            suffix: "_keypoints.json".into(),
        };
        ids.push(outputs.add_folder(&dir.join(format!("{stem}_json")), "--json-dir", files)?);
    }
    Ok(ids)
}

/// Frame sets per second, from the median step.
fn rate_hz(times: &[f64]) -> f64 {
    let steps = times.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0);
    crate::motion::units::median(steps).map_or(30.0, |d| 1.0 / d)
}
