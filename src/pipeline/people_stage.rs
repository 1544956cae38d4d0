//! The association stage: results back in frame order, then peaks, limbs and people, then tracking.
//!
//! Export holds each frame back a little while its people's tracks are still unconfirmed, so a person
//! has their ID from the very first frame they appear in; live mode hands frames on at once.

use std::collections::VecDeque;
use std::time::Instant;

use crossbeam_channel::Receiver;

use super::infer_stage::{Inferred, WorkerMessage};
use super::order::Reorder;
use super::stage::{Outlet, StageContext, StageStats};
use super::{Delivery, FrameResult, FrameTimings, PipelineError};
use crate::capture::Analysis;
use crate::pose::Associator;
use crate::track::Tracker;

/// Frames held for labelling, per frame a new track needs to be confirmed.
const HOLD_PER_CONFIRM_FRAME: usize = 4;

pub(crate) fn people_stage(
    rx: Receiver<WorkerMessage>,
    out: Outlet<FrameResult>,
    delivery: Delivery,
    ctx: StageContext,
) -> Result<StageStats, PipelineError> {
    let mut stats = StageStats::new("associate");
    let mut people = People::new(delivery == Delivery::Lossless);
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
            for held in people.begin_item(item.frame.item) {
                if !stats.send(&out, held) {
                    return Ok(stats);
                }
            }
            let result = people.analyse(item, &ctx)?;
            stats
                .busy_ms
                .push(result.timings.association_ms + result.timings.tracking_ms);
            stats.frames += 1;
            for ready in people.release(result) {
                if !stats.send(&out, ready) {
                    return Ok(stats);
                }
                ctx.events.notify();
            }
        }
    }
    // Upstream finished: whatever waits is complete (export hands everything on in order already).
    let mut rest = Vec::new();
    for item in order.drain() {
        rest.extend(people.begin_item(item.frame.item));
        let result = people.analyse(item, &ctx)?;
        rest.extend(people.release(result));
    }
    rest.extend(people.flush());
    for result in rest {
        if !stats.send(&out, result) {
            break;
        }
    }
    Ok(stats)
}

/// Finds and follows the people of each frame.
struct People {
    associator: Associator,
    tracker: Option<Tracker>,
    /// Export: frames waiting for their people's tracks to be confirmed (or to end).
    held: VecDeque<FrameResult>,
    hold: bool,
    /// The batch item being analysed: each input's people are followed on their own.
    item: usize,
    /// Frames of the item tracked so far.
    frames: u32,
}

impl People {
    fn new(hold: bool) -> Self {
        Self {
            associator: Associator::new(),
            tracker: None,
            held: VecDeque::new(),
            hold,
            item: 0,
            frames: 0,
        }
    }

    /// At the first frame of another batch item: the last item's held frames (labelled), and
    /// tracking starts afresh.
    fn begin_item(&mut self, item: usize) -> Vec<FrameResult> {
        if item == self.item {
            return Vec::new();
        }
        let rest = self.flush();
        self.tracker = None;
        self.item = item;
        self.frames = 0;
        rest
    }

    fn analyse(
        &mut self,
        item: Inferred,
        ctx: &StageContext,
    ) -> Result<FrameResult, PipelineError> {
        let settings = ctx.current_settings()?;
        let t = Instant::now();
        let people = match item.frame.analysis {
            Analysis::Kept => Vec::new(),
            _ => self
                .associator
                .run(&item.maps, item.skeleton, &settings.thresholds),
        };
        let association_ms = t.elapsed().as_secs_f32() * 1e3;
        let t = Instant::now();
        let tracked = match settings.tracking {
            // Frames the window kept have their tracks already; the tracker goes on from where it was.
            _ if item.frame.analysis != Analysis::Full => Vec::new(),
            Some(s) => {
                let tracker = self
                    .tracker
                    .get_or_insert_with(|| Tracker::new(item.skeleton, s));
                tracker.set_settings(s);
                self.frames += 1;
                tracker.update(item.frame.time_s, &people)
            }
            None => Vec::new(),
        };
        Ok(FrameResult {
            timings: FrameTimings {
                inference_ms: item.inference_ms,
                association_ms,
                tracking_ms: t.elapsed().as_secs_f32() * 1e3,
                latency_ms: item.frame.captured_at.elapsed().as_secs_f32() * 1e3,
            },
            dropped: ctx.dropped.load(std::sync::atomic::Ordering::Relaxed),
            frame: item.frame,
            maps: item.maps,
            skeleton: item.skeleton,
            people,
            tracked,
        })
    }

    /// The frames that can be handed on now, in order.
    fn release(&mut self, result: FrameResult) -> Vec<FrameResult> {
        let Some(tracker) = self.tracker.as_ref().filter(|_| self.hold) else {
            return vec![result];
        };
        self.held.push_back(result);
        let most = HOLD_PER_CONFIRM_FRAME * tracker.settings().confirm_frames as usize;
        let mut out = Vec::new();
        while let Some(front) = self.held.front_mut() {
            if !label(tracker, front) && self.held.len() <= most {
                break;
            }
            out.extend(self.held.pop_front());
        }
        out
    }

    /// The held frames, labelled, at the end of an item (or of the stream): a clip too short to
    /// confirm anyone gives the people in all its frames their IDs.
    fn flush(&mut self) -> Vec<FrameResult> {
        let mut rest: Vec<FrameResult> = self.held.drain(..).collect();
        if let Some(tracker) = self.tracker.as_mut().filter(|_| self.hold) {
            tracker.confirm_short_clip(self.frames);
        }
        if let Some(tracker) = &self.tracker {
            for r in &mut rest {
                label(tracker, r);
            }
        }
        rest
    }
}

/// Gives a held frame's people the IDs their tracks got since; true when nothing is left to wait
/// for (every track is confirmed or has ended).
fn label(tracker: &Tracker, result: &mut FrameResult) -> bool {
    let mut settled = true;
    for t in result.tracked.iter_mut().filter(|t| t.id.is_none()) {
        t.id = tracker.id_of(t.track);
        settled &= t.id.is_some() || !tracker.is_alive(t.track);
    }
    settled
}
