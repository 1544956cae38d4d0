//! Several views through one pipeline, one after another: the model loads once, the inference
//! workers serve every view, and the next view is decoded while the last one's frames are still in
//! the network. Each view is an item (2D tracking starts afresh). What comes back is each view's
//! people, frame by frame, for the 3D stages.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::engines::WorkerEngine;
use super::stage::{EventSink, StageContext, StageStats};
use super::{
    start_stages, Delivery, PipelineError, PipelineSettings, SharedSettings, StagesSpec,
    QUEUE_DEPTH,
};
use crate::capture::{CaptureError, Frame, FrameSource, PictureKind, SourceInfo, VideoSource};
use crate::infer::Engine;
use crate::multiview::scene::ViewClip;
use crate::pose::{Person, Skeleton};

/// One view's people, frame by frame.
#[derive(Debug, Clone, Default)]
pub struct ViewPeople {
    pub times: Vec<f64>,
    pub people: Vec<Vec<Person>>,
}

impl ViewPeople {
    /// The detections as the 3D stages take them: pixels and scores per part.
    pub fn clip(&self) -> ViewClip {
        let detection = |p: &Person| {
            p.keypoints
                .iter()
                .map(|k| k.map(|k| ([f64::from(k.x), f64::from(k.y)], k.score)))
                .collect()
        };
        ViewClip {
            times: self.times.clone(),
            people: self
                .people
                .iter()
                .map(|frame| frame.iter().map(detection).collect())
                .collect(),
        }
    }
}

/// The views' frames, one view after the other, each frame tagged with its view as its item.
struct ViewsSource {
    paths: Vec<PathBuf>,
    /// The view being read, and the frames read from it.
    current: Option<(usize, VideoSource, usize)>,
    next: usize,
    info: SourceInfo,
    /// At most this many frames of each view.
    limit: Option<usize>,
}

impl FrameSource for ViewsSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            if self.current.is_none() {
                let Some(path) = self.paths.get(self.next) else {
                    return Ok(None);
                };
                self.current = Some((self.next, VideoSource::open(path, PictureKind::Yuv)?, 0));
                self.next += 1;
            }
            let Some((item, source, read)) = self.current.as_mut() else {
                continue;
            };
            let item = *item;
            let more = self.limit.is_none_or(|limit| *read < limit);
            match more.then(|| source.next_frame()).transpose()?.flatten() {
                Some(frame) => {
                    *read += 1;
                    return Ok(Some(Frame { item, ..frame }));
                }
                None => self.current = None,
            }
        }
    }
}

/// Runs every view (at most `limit` frames of each) through the network and 2D association; returns
/// each view's people and the stage statistics. `progress` gets (view, frames done in it).
pub fn pose_views(
    paths: &[PathBuf],
    limit: Option<usize>,
    first: SourceInfo,
    engines: Vec<Engine>,
    settings: PipelineSettings,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(usize, usize),
) -> Result<(Vec<ViewPeople>, &'static Skeleton, Vec<StageStats>), PipelineError> {
    let skeleton = engines.first().ok_or(PipelineError::NoEngine)?.skeleton();
    let (events, _events_rx) = EventSink::new(Arc::new(|| {}));
    let ctx = StageContext::new(SharedSettings::new(settings), events);
    let source = Mutex::new(Some(ViewsSource {
        paths: paths.to_vec(),
        current: None,
        next: 0,
        info: first,
        limit,
    }));
    let stages = start_stages(
        StagesSpec {
            opener: Box::new(move || {
                let source = source.lock().ok().and_then(|mut s| s.take());
                source
                    .map(|s| Box::new(s) as Box<dyn FrameSource>)
                    .ok_or(CaptureError::OpenedTwice)
            }),
            controls: None,
            engines: engines
                .into_iter()
                .map(|e| WorkerEngine::Fixed(Box::new(e)))
                .collect(),
            delivery: Delivery::Lossless,
            cancel,
            results_capacity: QUEUE_DEPTH,
            kept: None,
        },
        ctx,
    )?;
    let mut views = vec![ViewPeople::default(); paths.len()];
    for result in stages.results.iter() {
        let Some(view) = views.get_mut(result.frame.item) else {
            continue;
        };
        view.times.push(result.frame.time_s);
        view.people.push(result.people);
        progress(result.frame.item, view.times.len());
    }
    let stats = stages.join()?;
    Ok((views, skeleton, stats))
}
