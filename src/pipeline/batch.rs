//! Many inputs through one pipeline: the model is loaded once, and items follow each other without
//! the pipeline stopping (the next input is decoded while the last one is encoded). Tracking starts
//! afresh for each item; each item's outputs are one transaction, handed to the caller to commit.
//!
//! ```text
//! batch_source (item after item) ─▶ infer ×N ─▶ people (resets per item) ─▶ batch encoder
//!        └──── item events (started, ended, failed) ──────────────────────────────▲
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::batch_source::{BatchSource, ItemEvent, StagedOutputs};
use super::engines::WorkerEngine;
use super::export::{draw_people, ExportSettings};
use super::export_files::{KeypointWriters, StagedFile};
use super::motion_files::MotionOutput;
use super::stage::{spawn_stage, EventSink, StageContext, StageStats};
use super::{
    start_stages, Delivery, FrameResult, PipelineError, PipelineSettings, SharedSettings,
    StagesSpec, QUEUE_DEPTH,
};
use crate::capture::{CaptureError, FrameSource, Picture};
use crate::infer::Engine;
use crate::io::transaction::{OutputError, OutputSet};
use crate::render::YuvCanvas;
use crate::video::{VideoFormat, VideoInfo, VideoWriter};

pub use super::batch_source::{BatchItem, ItemFailure, ItemGate};

/// What a batch run reports, in order, on the caller's thread.
pub enum BatchEvent {
    /// Frames done of the item being encoded.
    Progress { item: usize, frames: u64 },
    Finished {
        item: usize,
        result: Result<FinishedItem, ItemFailure>,
    },
}

/// An item whose outputs are written and staged: [`FinishedItem::commit`] puts them in place;
/// dropping it removes them.
pub struct FinishedItem {
    pub frames: u64,
    /// From opening the input to its last frame encoded.
    pub seconds: f64,
    /// The most people found in one frame.
    pub max_people: usize,
    outputs: OutputSet,
    lock: Option<std::fs::File>,
}

impl FinishedItem {
    pub fn commit(self) -> Result<(), OutputError> {
        self.outputs.commit()
    }

    /// The gate's lock on the item, for the caller to hold until its record is written.
    pub fn take_lock(&mut self) -> Option<std::fs::File> {
        self.lock.take()
    }
}

/// Runs `items` through one pipeline with `engines` (one per inference worker). Per-item failures are
/// reported as events and do not stop the run; an error here (inference failed, a thread died) stops
/// everything.
pub fn run_batch(
    items: Vec<BatchItem>,
    engines: Vec<Engine>,
    settings: &ExportSettings,
    max_pixels: u64,
    mut on_event: impl FnMut(BatchEvent),
) -> Result<Vec<StageStats>, PipelineError> {
    if engines.is_empty() {
        return Err(PipelineError::NoEngine);
    }
    let (events, _events_rx) = EventSink::new(Arc::new(|| {}));
    let ctx = StageContext::new(
        SharedSettings::new(PipelineSettings {
            net: settings.net.clone(),
            thresholds: settings.thresholds,
            tracking: settings.tracking,
        }),
        events,
    );
    // Each item sends at most two events (started, then ended or failed): room for all of them, so
    // the source never waits on the encoder for this channel.
    let (item_tx, item_rx) = bounded(2 * items.len() + 2);
    let source = Mutex::new(Some(BatchSource::new(items, item_tx, max_pixels)));
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
            cancel: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            results_capacity: QUEUE_DEPTH,
            kept: None,
        },
        ctx.clone(),
    )?;
    // Progress is dropped when the caller is behind; finished items wait for room.
    let (out_tx, out_rx) = bounded(QUEUE_DEPTH * 16);
    let encoder = BatchEncoder {
        settings: settings.clone(),
        rx: stages.results.clone(),
        items: item_rx,
        known: BTreeMap::new(),
        out: out_tx,
        ctx: ctx.clone(),
    };
    let encode = spawn_stage("encode", &ctx, move || encoder.run())?;
    for event in out_rx.iter() {
        on_event(event);
    }
    let encoded = encode.join().ok().flatten();
    let mut stats = stages.join()?;
    match encoded {
        Some(result) => stats.push(result?.finish()),
        None => return Err(PipelineError::Internal("the encoder stopped unexpectedly")),
    }
    Ok(stats)
}

/// Writes the annotated picture of an item: a video, or one picture for an image input.
enum Annotated {
    Video(Box<VideoWriter>),
    Picture(StagedFile),
}

/// The item being encoded.
struct OpenItem {
    item: usize,
    outputs: StagedOutputs,
    annotated: Option<Annotated>,
    keypoints: Option<KeypointWriters>,
    frames: u64,
    max_people: usize,
    started: Instant,
    /// A failure while writing it.
    failed: Option<ItemFailure>,
}

struct Started {
    info: Box<VideoInfo>,
    outputs: Box<StagedOutputs>,
    at: Instant,
}

/// What the encoder knows of an item from the source's events.
#[derive(Default)]
struct Known {
    started: Option<Started>,
    /// Read to its end (`Some(None)`), or failed.
    end: Option<Option<ItemFailure>>,
}

/// The last stage of a batch. Frames come in item order, so once a frame of item m arrives, every
/// item before m is final: the source sent its events before m's first frame.
struct BatchEncoder {
    settings: ExportSettings,
    rx: Receiver<FrameResult>,
    items: Receiver<ItemEvent>,
    known: BTreeMap<usize, Known>,
    out: Sender<BatchEvent>,
    ctx: StageContext,
}

impl BatchEncoder {
    fn run(mut self) -> Result<StageStats, PipelineError> {
        let mut stats = StageStats::new("encode");
        let mut current: Option<OpenItem> = None;
        while let Some(result) = stats.recv(&self.rx, &self.ctx) {
            let t = Instant::now();
            let item = result.frame.item;
            if current.as_ref().map(|c| c.item) != Some(item) {
                if let Some(done) = current.take() {
                    self.close(done);
                }
                self.settle_before(item);
                current = self.open(item);
            }
            if let Some(open) = current.as_mut() {
                self.write(open, &result);
                let _ = self.out.try_send(BatchEvent::Progress {
                    item,
                    frames: open.frames,
                });
            }
            stats.busy(t);
        }
        if self.ctx.stopped() {
            // The pipeline failed: the item in progress is not finished (its outputs go with it).
            return Ok(stats);
        }
        if let Some(done) = current.take() {
            self.close(done);
        }
        // Items after the last frame: every event until the source is gone.
        while let Ok(event) = self.items.recv() {
            self.note(event);
        }
        self.settle_before(usize::MAX);
        Ok(stats)
    }

    fn note(&mut self, event: ItemEvent) {
        match event {
            ItemEvent::Started {
                item,
                info,
                outputs,
                at,
            } => {
                self.known.entry(item).or_default().started = Some(Started { info, outputs, at });
            }
            ItemEvent::Ended(item) => self.known.entry(item).or_default().end = Some(None),
            ItemEvent::Failed(item, failure) => {
                self.known.entry(item).or_default().end = Some(Some(failure));
            }
        }
    }

    /// Takes item events until `until` holds for what is known.
    fn wait_for(&mut self, until: impl Fn(&BTreeMap<usize, Known>) -> bool) -> bool {
        while !until(&self.known) {
            match self.items.recv() {
                Ok(event) => self.note(event),
                Err(_) => return false,
            }
        }
        true
    }

    /// Reports the items before `item` that never reached the encoder: they failed to open, or gave
    /// no frame.
    fn settle_before(&mut self, item: usize) {
        while let Ok(event) = self.items.try_recv() {
            self.note(event);
        }
        let earlier: Vec<usize> = self.known.range(..item).map(|(k, _)| *k).collect();
        for k in earlier {
            let failure = self.known.remove(&k).and_then(|known| known.end.flatten());
            let failure = failure.unwrap_or_else(|| {
                ItemFailure::BadInput("no frame could be decoded from it".into())
            });
            let _ = self.out.send(BatchEvent::Finished {
                item: k,
                result: Err(failure),
            });
        }
    }

    /// The item whose first frame just came (its start was sent before that frame).
    fn open(&mut self, item: usize) -> Option<OpenItem> {
        let started =
            |known: &BTreeMap<usize, Known>| known.get(&item).is_some_and(|k| k.started.is_some());
        if !self.wait_for(started) {
            return None;
        }
        let s = self.known.get_mut(&item)?.started.take()?;
        Some(self.begin(item, s))
    }

    fn begin(&self, item: usize, s: Started) -> OpenItem {
        let outputs = *s.outputs;
        let mut open = OpenItem {
            item,
            annotated: None,
            keypoints: None,
            frames: 0,
            max_people: 0,
            started: s.at,
            failed: None,
            outputs,
        };
        if let Err(e) = self.create_writers(&mut open, &s.info) {
            open.failed = Some(ItemFailure::Other(super::error_chain(&e)));
        }
        open
    }

    fn create_writers(&self, open: &mut OpenItem, info: &VideoInfo) -> Result<(), PipelineError> {
        let set = &open.outputs.set;
        let staged = |id| StagedFile {
            path: set.path(id).to_path_buf(),
            shown: set.target(id).to_path_buf(),
        };
        open.annotated = match open.outputs.annotated.map(staged) {
            Some(file) if crate::io::image::has_image_extension(&file.shown) => {
                Some(Annotated::Picture(file))
            }
            Some(file) => Some(Annotated::Video(Box::new(VideoWriter::create(
                &file.path,
                &file.shown,
                &VideoFormat::of(info),
                // Audio comes from the input file itself (batches take files only).
                (info.audio_streams > 0).then_some(open.outputs.input.as_path()),
                &self.settings.encode,
            )?))),
            None => None,
        };
        let motion = open.outputs.motion.map(|(id, settings)| MotionOutput {
            dir: set.path(id).to_path_buf(),
            shown: set.target(id).to_path_buf(),
            stem: open
                .outputs
                .input
                .file_stem()
                .map_or_else(|| "video".into(), |s| s.to_string_lossy().into_owned()),
            settings,
        });
        open.keypoints = Some(
            KeypointWriters::new(
                &open.outputs.jsonl.map(staged),
                None,
                &open.outputs.csv.map(staged),
            )?
            .with_motion(motion),
        );
        Ok(())
    }

    fn write(&self, open: &mut OpenItem, result: &FrameResult) {
        if open.failed.is_some() {
            return;
        }
        if let Err(e) = self.write_frame(open, result) {
            open.failed = Some(ItemFailure::Other(super::error_chain(&e)));
            open.annotated = None;
        }
    }

    fn write_frame(&self, open: &mut OpenItem, result: &FrameResult) -> Result<(), PipelineError> {
        if let Some(annotated) = open.annotated.as_mut() {
            let Picture::Yuv(mut picture) = result.frame.picture.clone() else {
                return Err(PipelineError::Internal("export frames must be YUV"));
            };
            let picture = Arc::make_mut(&mut picture);
            draw_people(
                &mut YuvCanvas { image: picture },
                result,
                &self.settings.style,
            );
            match annotated {
                Annotated::Video(writer) => writer.write(picture, result.frame.pts)?,
                Annotated::Picture(file) => {
                    crate::io::image::write_image(&file.path, &file.shown, &picture.to_rgb())
                        .map_err(|e| PipelineError::Capture(e.into()))?
                }
            }
        }
        if let Some(keypoints) = open.keypoints.as_mut() {
            keypoints.write(result)?;
        }
        open.frames += 1;
        open.max_people = open.max_people.max(result.people.len());
        Ok(())
    }

    /// Waits for the item's end (sent before any later frame), finishes its files and reports it.
    fn close(&mut self, open: OpenItem) {
        let item = open.item;
        let ended =
            |known: &BTreeMap<usize, Known>| known.get(&item).is_some_and(|k| k.end.is_some());
        let end = if self.wait_for(ended) {
            self.known.remove(&item).and_then(|k| k.end).flatten()
        } else {
            Some(ItemFailure::Other(
                "the batch source stopped unexpectedly".into(),
            ))
        };
        let result = finish(open, end);
        let _ = self.out.send(BatchEvent::Finished { item, result });
    }
}

/// Completes an item's files; an item that failed (or had no frame) leaves nothing.
fn finish(open: OpenItem, end: Option<ItemFailure>) -> Result<FinishedItem, ItemFailure> {
    if let Some(failure) = open.failed.or(end) {
        return Err(failure);
    }
    if open.frames == 0 {
        return Err(ItemFailure::BadInput(
            "no frame could be decoded from it".into(),
        ));
    }
    let other = |e: &dyn std::error::Error| ItemFailure::Other(super::error_chain(e));
    if let Some(Annotated::Video(writer)) = open.annotated {
        writer.finish(false).map_err(|e| other(&e))?;
    }
    if let Some(keypoints) = open.keypoints {
        keypoints.finish().map_err(|e| other(&e))?;
    }
    Ok(FinishedItem {
        frames: open.frames,
        seconds: open.started.elapsed().as_secs_f64(),
        max_people: open.max_people,
        lock: open.outputs.lock,
        outputs: open.outputs.set,
    })
}
