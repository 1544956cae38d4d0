//! Opening a scene for the window: the calibration checked against the views, every view's 2D people
//! (one pipeline, as `export --calib` runs it), and small pictures of each view's frames to show
//! under the skeletons. It runs on its own threads; the window polls it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use image::RgbImage;

use crate::capture::{CaptureError, FrameSource, PictureKind, VideoSource};
use crate::infer::{Device, Engine, EngineError, EngineOptions};
use crate::multiview::scene::{Offset, ViewClip};
use crate::multiview::Rig;
use crate::pipeline::{
    find_view_offsets, offsets_in_seconds, open_views, pose_views, PipelineError, PipelineSettings,
    SceneError, SyncMethod, ViewPeople,
};
use crate::pose::Skeleton;

/// Pixels of each picture kept per frame (180×320 portrait, 320×180 landscape): the window shows
/// views small, and 4 views of 600 frames stay near 400 MB whatever their shape.
pub const PICTURE_PIXELS: u32 = 57_600;

/// What a scene window opens.
pub struct SceneOptions {
    /// One video per camera, in the calibration's order.
    pub views: Vec<PathBuf>,
    pub calib: PathBuf,
    pub engines: SceneEngines,
    pub pipeline: PipelineSettings,
    /// At most this many frames of each view are read.
    pub max_frames: usize,
    /// Per view, when it started filming after the first (empty: all at once).
    pub offsets: Vec<Offset>,
    /// Or find the offsets from the views themselves.
    pub sync: Option<SyncMethod>,
}

/// Where the scene's inference workers come from.
pub enum SceneEngines {
    /// Loaded already (the command line loads them first, so a model error shows before the window).
    Loaded(Vec<Engine>),
    /// Loaded by the loader, off the drawing thread (the window opening a scene).
    Load { model: PathBuf, device: Device },
}

impl SceneEngines {
    fn get(self) -> Result<Vec<Engine>, EngineError> {
        match self {
            SceneEngines::Loaded(engines) => Ok(engines),
            SceneEngines::Load { model, device } => {
                let options = EngineOptions {
                    device,
                    ..EngineOptions::default()
                };
                Engine::load_workers(&model, &options, None)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Scene(#[from] SceneError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error("the loader stopped before it finished")]
    Stopped,
}

/// A scene's views, ready to reconstruct and show.
pub struct SceneData {
    pub rig: Rig,
    pub clips: Vec<ViewClip>,
    /// Per view, per frame: the picture, about `PICTURE_PIXELS` in size.
    pub pictures: Vec<Vec<Arc<RgbImage>>>,
    pub skeleton: &'static Skeleton,
    /// Some view had more frames than were read.
    pub truncated: bool,
    /// Per view, seconds after the first view (given or found).
    pub offsets_s: Vec<f64>,
}

/// A scene being opened.
pub struct Loader {
    result: Receiver<Result<SceneData, LoadError>>,
    /// Frames through the network so far, over all views.
    pub frames_done: Arc<AtomicUsize>,
    /// Pictures made so far, over all views.
    pub pictures_done: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
}

impl Loader {
    pub fn start(options: SceneOptions) -> Self {
        let (tx, result) = crossbeam_channel::bounded(1);
        let frames_done = Arc::new(AtomicUsize::new(0));
        let pictures_done = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let counters = (frames_done.clone(), pictures_done.clone(), cancel.clone());
        std::thread::Builder::new()
            .name("scene-loader".into())
            .spawn(move || {
                let _ = tx.send(load(options, &counters.0, &counters.1, counters.2));
            })
            .ok();
        Self {
            result,
            frames_done,
            pictures_done,
            cancel,
        }
    }

    /// The scene once loaded (`None` while still working).
    pub fn poll(&self) -> Option<Result<SceneData, LoadError>> {
        match self.result.try_recv() {
            Ok(r) => Some(r),
            Err(crossbeam_channel::TryRecvError::Empty) => None,
            Err(crossbeam_channel::TryRecvError::Disconnected) => Some(Err(LoadError::Stopped)),
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

fn load(
    options: SceneOptions,
    frames_done: &AtomicUsize,
    pictures_done: &AtomicUsize,
    cancel: Arc<AtomicBool>,
) -> Result<SceneData, LoadError> {
    let (rig, infos) = open_views(&options.calib, &options.views)?;
    let given = offsets_in_seconds(&options.offsets, &infos)?;
    let first = infos
        .into_iter()
        .next()
        .ok_or(PipelineError::Internal("no view"))?;
    let engines = options.engines.get()?;
    let views = options.views.clone();
    let limit = options.max_frames;
    let stop = cancel.clone();
    let pictures = std::thread::scope(|scope| {
        let pictures = scope.spawn(|| read_pictures(&views, limit, pictures_done, &stop));
        let people = pose_views(
            &options.views,
            Some(limit),
            first,
            engines,
            options.pipeline,
            cancel,
            |_, _| {
                frames_done.fetch_add(1, Ordering::Relaxed);
            },
        );
        let pictures = pictures.join().map_err(|_| LoadError::Stopped)?;
        Ok::<_, LoadError>((people?, pictures?))
    });
    let ((people, skeleton, _), (pictures, truncated)) = pictures?;
    let clips: Vec<ViewClip> = people.iter().map(ViewPeople::clip).collect();
    let offsets_s = match options.sync {
        Some(method) => find_view_offsets(method, &rig, &clips, &skeleton.mirror())
            .iter()
            .map(|f| f.map_or(0.0, |f| f.seconds))
            .collect(),
        None => given,
    };
    Ok(SceneData {
        rig,
        clips,
        pictures,
        skeleton,
        truncated,
        offsets_s,
    })
}

/// A frame's size scaled to about `PICTURE_PIXELS` (never up), its shape kept.
fn picture_size(width: u32, height: u32) -> (u32, u32) {
    let pixels = f64::from(width) * f64::from(height);
    let scale = (f64::from(PICTURE_PIXELS) / pixels.max(1.0))
        .sqrt()
        .min(1.0);
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    (side(width), side(height))
}

type Pictures = (Vec<Vec<Arc<RgbImage>>>, bool);

/// Every view's frames, made small; and whether a view went on past `limit`.
fn read_pictures(
    views: &[PathBuf],
    limit: usize,
    done: &AtomicUsize,
    cancel: &AtomicBool,
) -> Result<Pictures, LoadError> {
    let mut all = Vec::new();
    let mut truncated = false;
    for path in views {
        let mut source = VideoSource::open(path, PictureKind::Rgb)?;
        let mut frames = Vec::new();
        while let Some(frame) = source.next_frame()? {
            if cancel.load(Ordering::Relaxed) {
                return Err(LoadError::Stopped);
            }
            if frames.len() == limit {
                truncated = true;
                break;
            }
            let rgb = frame.picture.to_rgb();
            let (width, height) = picture_size(rgb.width(), rgb.height());
            let small = image::imageops::resize(
                &*rgb,
                width,
                height,
                image::imageops::FilterType::Triangle,
            );
            frames.push(Arc::new(small));
            done.fetch_add(1, Ordering::Relaxed);
        }
        all.push(frames);
    }
    Ok((all, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_keep_their_shape_within_the_pixel_budget() {
        assert_eq!(picture_size(1088, 1920), (181, 319));
        assert_eq!(picture_size(1920, 1080), (320, 180));
        assert_eq!(picture_size(160, 120), (160, 120), "never enlarged");
        let (w, h) = picture_size(4000, 3000);
        assert!(w * h <= PICTURE_PIXELS + 400 && (w as f64 / h as f64 - 4.0 / 3.0).abs() < 0.01);
    }
}
