//! The association stage: results back in frame order, then peaks, limbs and people.

use std::time::Instant;

use crossbeam_channel::Receiver;

use super::infer::{Inferred, WorkerMessage};
use super::order::Reorder;
use super::stage::{Outlet, StageContext, StageStats};
use super::{Delivery, FrameResult, FrameTimings, PipelineError};
use crate::pose::Associator;

pub(crate) fn associate_stage(
    rx: Receiver<WorkerMessage>,
    out: Outlet<FrameResult>,
    delivery: Delivery,
    ctx: StageContext,
) -> Result<StageStats, PipelineError> {
    let mut stats = StageStats::new("associate");
    let mut associator = Associator::new();
    let mut order = Reorder::new(delivery);
    let mut late = 0;
    while let Some(message) = stats.recv(&rx, &ctx) {
        match message {
            WorkerMessage::Started(seq) => order.started(seq),
            WorkerMessage::Skipped(seq) => order.skipped(seq),
            WorkerMessage::Done(item) => order.finished(item.frame.seq, *item),
        }
        if order.late() > late {
            ctx.count_dropped(order.late() - late);
            late = order.late();
        }
        for item in order.take_ready() {
            let result = associate(&mut associator, item, &ctx)?;
            stats.busy_ms.push(result.timings.association_ms);
            stats.frames += 1;
            if !stats.send(&out, result) {
                return Ok(stats);
            }
            ctx.events.notify();
        }
    }
    // Upstream finished: whatever waits is complete (export hands everything on in order already).
    for item in order.drain() {
        let result = associate(&mut associator, item, &ctx)?;
        if !stats.send(&out, result) {
            break;
        }
    }
    Ok(stats)
}

fn associate(
    associator: &mut Associator,
    item: Inferred,
    ctx: &StageContext,
) -> Result<FrameResult, PipelineError> {
    let thresholds = ctx.current_settings()?.thresholds;
    let t = Instant::now();
    let people = associator.run(&item.maps, item.skeleton, &thresholds);
    let association_ms = t.elapsed().as_secs_f32() * 1e3;
    Ok(FrameResult {
        timings: FrameTimings {
            inference_ms: item.inference_ms,
            association_ms,
            latency_ms: item.frame.captured_at.elapsed().as_secs_f32() * 1e3,
        },
        dropped: ctx.dropped.load(std::sync::atomic::Ordering::Relaxed),
        frame: item.frame,
        maps: item.maps,
        skeleton: item.skeleton,
        people,
    })
}
