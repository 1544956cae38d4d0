//! The inference stage: N workers, each with its own engine, taking the next frame as soon as they are
//! free. Each announces the frame it starts so association can put results back in order.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::engines::WorkerEngine;
use super::stage::{StageContext, StageStats};
use super::{PipelineError, PipelineEvent};
use crate::capture::{Analysis, Frame};
use crate::pose::{PoseMaps, Skeleton};

/// A frame with its network output.
pub(crate) struct Inferred {
    pub frame: Frame,
    pub maps: Arc<PoseMaps>,
    pub skeleton: &'static Skeleton,
    pub inference_ms: f32,
}

/// What a worker tells the association stage.
pub(crate) enum WorkerMessage {
    Started(u64),
    Done(Box<Inferred>),
    /// The frame produced nothing (no model, or its inference failed in live mode).
    Skipped(u64),
}

/// Runs until the frames stop coming. In export (`fatal`) an inference error stops the pipeline; in
/// live mode it is reported and the frame skipped.
pub(crate) fn infer_worker(
    mut engine: WorkerEngine,
    rx: Receiver<Frame>,
    tx: Sender<WorkerMessage>,
    ctx: StageContext,
    fatal: bool,
) -> Result<StageStats, PipelineError> {
    let mut stats = StageStats::new("infer");
    while engine.ready(&ctx) {
        let Some(frame) = stats.recv(&rx, &ctx) else {
            break;
        };
        let seq = frame.seq;
        if tx.send(WorkerMessage::Started(seq)).is_err() {
            break;
        }
        let net = ctx.current_settings()?.net;
        let Some(current) = engine.engine() else {
            ctx.events.emit(PipelineEvent::Error(
                "no model loaded: choose one in the side panel".into(),
            ));
            let _ = tx.send(WorkerMessage::Skipped(seq));
            continue;
        };
        if frame.analysis == Analysis::Kept {
            // The window has this frame's people: no network.
            let size = frame.picture.size();
            let kept = WorkerMessage::Done(Box::new(Inferred {
                inference_ms: 0.0,
                skeleton: current.skeleton(),
                maps: Arc::new(PoseMaps::empty(size)),
                frame,
            }));
            if tx.send(kept).is_err() {
                break;
            }
            continue;
        }
        let t = Instant::now();
        let message = match current.infer_input(frame.picture.net_input(), &net) {
            Ok(maps) => {
                stats.busy(t);
                WorkerMessage::Done(Box::new(Inferred {
                    // The whole stage: resize, network, output copy (and averaging of scales).
                    inference_ms: t.elapsed().as_secs_f32() * 1e3,
                    skeleton: current.skeleton(),
                    maps: Arc::new(maps),
                    frame,
                }))
            }
            Err(e) if fatal => {
                ctx.fail(super::error_chain(&e));
                return Err(e.into());
            }
            Err(e) => {
                ctx.events
                    .emit(PipelineEvent::Error(super::error_chain(&e)));
                WorkerMessage::Skipped(seq)
            }
        };
        if tx.send(message).is_err() {
            break;
        }
    }
    Ok(stats)
}
