//! Work the window starts and watches: exports in the background, and snapshots.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{bounded, Receiver};
use eframe::egui;

use crate::infer::{Engine, EngineError, EngineOptions};
use crate::io::image::ImageIoError;
use crate::io::openpose::OpenPosePerson;
use crate::io::transaction::{OutputError, OutputSet};
use crate::pipeline::{
    EngineSpec, ExportProgress, ExportRequest, ExportSettings, FrameResult, PipelineError,
    PipelineSettings,
};
use crate::pose::Person;
use crate::render::{draw_figures, figures, OverlayStyle, RgbCanvas};
use crate::track::TrackedPerson;
use crate::video::EncodeOptions;

/// Why an export or a snapshot started from the window failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Outputs(#[from] OutputError),
    #[error(transparent)]
    Image(#[from] ImageIoError),
    #[error("cannot encode the keypoints")]
    Json(#[from] serde_json::Error),
    #[error("cannot start the export")]
    Thread(#[source] std::io::Error),
}

/// An export started from the window, with the same engine and encoder settings as `posecam export`.
pub struct ExportJob {
    pub output: PathBuf,
    progress: Arc<Mutex<(u64, Option<u64>)>>,
    cancel: Arc<AtomicBool>,
    /// The outcome, sent once when the export thread ends.
    result: Receiver<Result<String, JobError>>,
}

impl ExportJob {
    pub fn start(
        ctx: &egui::Context,
        input: PathBuf,
        output: PathBuf,
        engine: EngineSpec,
        pipeline: PipelineSettings,
        style: OverlayStyle,
    ) -> Result<Self, JobError> {
        let (result, receiver) = bounded(1);
        let job = Self {
            output: output.clone(),
            progress: Arc::new(Mutex::new((0, None))),
            cancel: Arc::new(AtomicBool::new(false)),
            result: receiver,
        };
        let (progress, cancel, ctx) = (job.progress.clone(), job.cancel.clone(), ctx.clone());
        let settings = ExportSettings {
            net: pipeline.net,
            thresholds: pipeline.thresholds,
            tracking: pipeline.tracking,
            style,
            encode: EncodeOptions::for_this_machine(),
            fps_overlay: false,
            max_duration_s: None,
        };
        std::thread::Builder::new()
            .name("posecam-export".into())
            .spawn(move || {
                let on_progress = |p: ExportProgress| {
                    if let Ok(mut g) = progress.lock() {
                        *g = (p.frames_done, p.frames_total);
                    }
                    ctx.request_repaint();
                };
                let outcome = run_export(input, output, &engine, &settings, cancel, on_progress);
                let _ = result.send(outcome);
                ctx.request_repaint();
            })
            .map_err(JobError::Thread)?;
        Ok(job)
    }

    /// (frames done, frames in all if known).
    pub fn progress(&self) -> (u64, Option<u64>) {
        self.progress.lock().map(|g| *g).unwrap_or((0, None))
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The outcome, once the export has finished.
    pub fn finished(&self) -> Option<Result<String, JobError>> {
        self.result.try_recv().ok()
    }
}

fn run_export(
    input: PathBuf,
    output: PathBuf,
    engine: &EngineSpec,
    settings: &ExportSettings,
    cancel: Arc<AtomicBool>,
    progress: impl FnMut(ExportProgress),
) -> Result<String, JobError> {
    let options = EngineOptions {
        device: engine.device,
        spin: true,
        ..Default::default()
    };
    let engines = Engine::load_workers(&engine.model, &options, None)?;
    // The save dialog confirmed replacing the video; keypoints go to a free name beside it.
    let request = ExportRequest {
        input,
        output: output.clone(),
        jsonl: Some(free_name_beside(&output, "jsonl")),
        json_dir: None,
        csv: None,
        motion: None,
        overwrite: true,
        max_pixels: crate::io::inputs::DEFAULT_MAX_PIXELS,
    };
    let report = crate::pipeline::export_file(&request, engines, settings, cancel, progress)?;
    let verb = if report.partial {
        "cancelled: kept"
    } else {
        "exported"
    };
    Ok(format!(
        "{verb} {} frames to {}",
        report.frames,
        output.display()
    ))
}

/// `<stem>.<ext>` beside `path`, or `<stem>-2.<ext>`, `<stem>-3.<ext>`... if taken.
pub fn free_name_beside(path: &Path, ext: &str) -> PathBuf {
    let first = path.with_extension(ext);
    if !first.exists() {
        return first;
    }
    let stem = path
        .file_stem()
        .map_or_else(|| "keypoints".into(), |s| s.to_string_lossy().into_owned());
    (2..)
        .map(|n| path.with_file_name(format!("{stem}-{n}.{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Saves the frame on screen with its skeletons (drawn in the window's overlay style) as PNG, and its
/// people (with their track IDs) as OpenPose JSON, into `folder` as `name.png` and `name.json` (or
/// `name-2`... when taken): both or neither. Returns the PNG written.
pub fn snapshot(
    last: &FrameResult,
    people: &[Person],
    tracked: &[TrackedPerson],
    style: &OverlayStyle,
    folder: &Path,
    name: &str,
) -> Result<PathBuf, JobError> {
    let mut image = (*last.frame.picture.to_rgb()).clone();
    let shown = figures(people, tracked, style.smoothed);
    draw_figures(
        &mut RgbCanvas::from_image(&mut image),
        last.skeleton,
        &shown,
        style,
    );
    // Appended, not set as an extension: the name's time has a dot of its own (`clip_00m12.48s`).
    let files = |stem: &str| {
        (
            folder.join(format!("{stem}.png")),
            folder.join(format!("{stem}.json")),
        )
    };
    let (png, json) = std::iter::once(name.to_string())
        .chain((2..1000).map(|n| format!("{name}-{n}")))
        .map(|stem| files(&stem))
        .find(|(png, json)| !png.exists() && !json.exists())
        .unwrap_or_else(|| files(name));
    let frame = crate::io::openpose::OpenPoseFrame {
        version: 1.3,
        people: people
            .iter()
            .enumerate()
            .map(|(i, p)| OpenPosePerson::with_id(p, tracked.get(i).and_then(|t| t.id)))
            .collect(),
    };
    let body = serde_json::to_vec(&frame)?;
    let mut outputs = OutputSet::new::<&Path>(&[], false);
    let ids = (
        outputs.add_file(&png, "snapshot")?,
        outputs.add_file(&json, "snapshot keypoints")?,
    );
    outputs.stage()?;
    crate::io::image::write_image(outputs.path(ids.0), &png, &image)?;
    crate::io::image::write_bytes(outputs.path(ids.1), &json, &body)?;
    outputs.commit()?;
    Ok(png)
}

/// Writes `text` to `path` whole or not at all (the save dialog confirmed replacing it).
pub fn write_text(path: &Path, text: &str) -> Result<(), JobError> {
    let mut outputs = OutputSet::new::<&Path>(&[], true);
    let id = outputs.add_file(path, "angles")?;
    outputs.stage()?;
    crate::io::image::write_bytes(outputs.path(id), path, text.as_bytes())?;
    outputs.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::free_name_beside;

    #[test]
    fn keypoint_files_never_replace_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let video = dir.path().join("clip_pose.mp4");
        assert_eq!(
            free_name_beside(&video, "jsonl"),
            dir.path().join("clip_pose.jsonl")
        );
        std::fs::write(dir.path().join("clip_pose.jsonl"), "x").unwrap();
        assert_eq!(
            free_name_beside(&video, "jsonl"),
            dir.path().join("clip_pose-2.jsonl")
        );
    }
}
