//! What every stage thread shares: its name and panic guard, the outlet it sends through (with the
//! pipeline's delivery policy), the event sink, and per-stage timing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};
use serde::Serialize;

use super::{Delivery, PipelineError, PipelineEvent, PipelineSettings, SharedSettings};

/// How long a blocked send waits before checking whether the pipeline stopped.
const POLL: Duration = Duration::from_millis(100);
/// A state event that cannot be delivered for this long is logged (the window stopped reading).
const EVENT_PATIENCE: Duration = Duration::from_secs(5);

/// Per-stage timing: how long the stage worked on frames and how long it waited for input/output.
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    pub name: &'static str,
    pub frames: u64,
    /// Milliseconds of work per frame.
    #[serde(skip)]
    pub busy_ms: Vec<f32>,
    pub busy_ms_mean: f64,
    pub busy_ms_p50: f64,
    pub busy_ms_p95: f64,
    /// Total seconds blocked waiting for input.
    pub wait_input_s: f64,
    /// Total seconds blocked because the next stage was full.
    pub wait_output_s: f64,
}

impl StageStats {
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name,
            frames: 0,
            busy_ms: Vec::new(),
            busy_ms_mean: 0.0,
            busy_ms_p50: 0.0,
            busy_ms_p95: 0.0,
            wait_input_s: 0.0,
            wait_output_s: 0.0,
        }
    }

    /// Fills in the summary figures.
    pub(crate) fn finish(mut self) -> Self {
        let mut v = self.busy_ms.clone();
        v.sort_by(f32::total_cmp);
        if !v.is_empty() {
            self.busy_ms_mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
            self.busy_ms_p50 = v[v.len() / 2] as f64;
            self.busy_ms_p95 = v[((v.len() as f64 * 0.95) as usize).min(v.len() - 1)] as f64;
        }
        self
    }

    /// Adds another worker's figures of the same stage.
    pub(crate) fn merge(&mut self, other: StageStats) {
        self.frames += other.frames;
        self.busy_ms.extend(other.busy_ms);
        self.wait_input_s += other.wait_input_s;
        self.wait_output_s += other.wait_output_s;
    }

    /// Receives the next item (`None` when upstream is done or the pipeline stopped), counting the wait.
    pub(crate) fn recv<T>(&mut self, rx: &Receiver<T>, ctx: &StageContext) -> Option<T> {
        let t = Instant::now();
        let item = loop {
            if ctx.stopped() {
                break None;
            }
            match rx.recv_timeout(POLL) {
                Ok(item) => break Some(item),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break None,
            }
        };
        self.wait_input_s += t.elapsed().as_secs_f64();
        item
    }

    /// Sends through `outlet`, counting back-pressure; false when downstream is gone.
    pub(crate) fn send<T>(&mut self, outlet: &Outlet<T>, item: T) -> bool {
        let t = Instant::now();
        let ok = outlet.send(item);
        self.wait_output_s += t.elapsed().as_secs_f64();
        ok
    }

    pub(crate) fn busy(&mut self, since: Instant) {
        self.busy_ms.push(since.elapsed().as_secs_f32() * 1e3);
        self.frames += 1;
    }
}

/// Delivers state events (source opened, model loaded, ended, errors) to whoever drives the pipeline.
/// They have their own channel, so no frame can push one out; a repeated error is sent once.
#[derive(Clone)]
pub(crate) struct EventSink {
    tx: Sender<PipelineEvent>,
    notify: Arc<dyn Fn() + Send + Sync>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl EventSink {
    pub(crate) fn new(notify: Arc<dyn Fn() + Send + Sync>) -> (Self, Receiver<PipelineEvent>) {
        let (tx, rx) = bounded(256);
        let sink = Self {
            tx,
            notify,
            last_error: Arc::new(Mutex::new(None)),
        };
        (sink, rx)
    }

    pub(crate) fn emit(&self, event: PipelineEvent) {
        if let PipelineEvent::Error(message) | PipelineEvent::SourceFailed(message) = &event {
            let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_deref() == Some(message) {
                return;
            }
            *last = Some(message.clone());
        }
        match self.tx.send_timeout(event, EVENT_PATIENCE) {
            Ok(()) => (self.notify)(),
            Err(SendTimeoutError::Timeout(e)) => {
                tracing::warn!("nobody reads the pipeline's events; kept waiting 5 s for: {e:?}");
            }
            Err(SendTimeoutError::Disconnected(_)) => {}
        }
    }

    /// Repaint request (a result is ready).
    pub(crate) fn notify(&self) {
        (self.notify)();
    }
}

/// Shared by every stage of one pipeline.
#[derive(Clone)]
pub(crate) struct StageContext {
    pub settings: SharedSettings,
    /// Raised when a stage fails or the pipeline is dropped: every stage stops.
    pub abort: Arc<AtomicBool>,
    pub events: EventSink,
    /// Frames dropped so far (newest-wins replacements and results that came too late).
    pub dropped: Arc<AtomicU64>,
    /// The first failure, for the caller's error.
    pub failure: Arc<Mutex<Option<String>>>,
    /// The source gave its last frame (its end, or the end asked for): a stop asked for after this
    /// cut nothing short.
    pub source_finished: Arc<AtomicBool>,
}

impl StageContext {
    pub(crate) fn new(settings: SharedSettings, events: EventSink) -> Self {
        Self {
            settings,
            abort: Arc::new(AtomicBool::new(false)),
            events,
            dropped: Arc::new(AtomicU64::new(0)),
            failure: Arc::new(Mutex::new(None)),
            source_finished: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    /// A stage failed for good: everyone stops and the failure is reported once.
    pub(crate) fn fail(&self, message: String) {
        {
            let mut first = self.failure.lock().unwrap_or_else(|p| p.into_inner());
            if first.is_none() {
                *first = Some(message.clone());
            }
        }
        self.abort.store(true, Ordering::Relaxed);
        self.events.emit(PipelineEvent::Error(message));
    }

    /// The settings for the next frame; a poisoned lock stops the pipeline with an error.
    pub(crate) fn current_settings(&self) -> Result<PipelineSettings, PipelineError> {
        self.settings
            .get()
            .inspect_err(|e| self.fail(super::error_chain(e)))
    }

    pub(crate) fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs `f` on a thread named `posecam-<name>`. A panic inside becomes a reported failure (the other
/// stages stop) and `None`, never a silent stall.
pub(crate) fn spawn_stage<T: Send + 'static>(
    name: &str,
    ctx: &StageContext,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<thread::JoinHandle<Option<T>>, PipelineError> {
    let guard = ctx.clone();
    let stage = name.to_string();
    thread::Builder::new()
        .name(format!("posecam-{name}"))
        .spawn(move || match catch_unwind(AssertUnwindSafe(f)) {
            Ok(v) => Some(v),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                guard.fail(format!(
                    "internal error: pipeline stage '{stage}' crashed: {why}"
                ));
                None
            }
        })
        .map_err(|e| PipelineError::Thread {
            name: name.to_string(),
            source: e,
        })
}

/// Where a stage sends its output, with the pipeline's [`Delivery`] policy.
pub(crate) struct Outlet<T> {
    tx: Sender<T>,
    /// Newest-wins needs to take the waiting item back out.
    drain: Option<Receiver<T>>,
    delivery: Delivery,
    ctx: StageContext,
}

impl<T> Outlet<T> {
    pub(crate) fn new(
        capacity: usize,
        delivery: Delivery,
        ctx: &StageContext,
    ) -> (Self, Receiver<T>) {
        let (tx, rx) = bounded(capacity.max(1));
        let drain = (delivery == Delivery::Newest).then(|| rx.clone());
        let outlet = Self {
            tx,
            drain,
            delivery,
            ctx: ctx.clone(),
        };
        (outlet, rx)
    }

    /// Sends by the outlet's policy; false when downstream is gone or the pipeline stopped.
    pub(crate) fn send(&self, item: T) -> bool {
        match self.delivery {
            Delivery::Lossless => self.send_waiting(item),
            Delivery::Newest => self.send_newest(item),
        }
    }

    /// Waits for room whatever the policy (a stepped frame, or a file played as fast as it goes).
    pub(crate) fn send_waiting(&self, mut item: T) -> bool {
        loop {
            if self.ctx.stopped() {
                return false;
            }
            match self.tx.send_timeout(item, POLL) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(back)) => item = back,
                Err(SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }

    /// Replaces what waits in the channel when it is full, counting what it replaced.
    fn send_newest(&self, mut item: T) -> bool {
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return true,
                Err(TrySendError::Full(back)) => {
                    if let Some(drain) = &self.drain {
                        if drain.try_recv().is_ok() {
                            self.ctx.count_dropped(1);
                        }
                    }
                    item = back;
                }
                Err(TrySendError::Disconnected(_)) => return false,
            }
        }
    }
}
