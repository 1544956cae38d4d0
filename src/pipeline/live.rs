//! The pipeline behind the window: the shared stages with the newest-frame-wins policy, controls for
//! the source, a model that can change while running, and results and events for the window to take.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};

use super::engines::{EngineHub, EngineSpec, WorkerEngine};
use super::stage::{EventSink, StageContext};
use super::{
    start_stages, Control, Delivery, FrameResult, KeptFrames, PipelineError, PipelineEvent,
    PipelineSettings, SharedSettings, SourceOpener, Stages, StagesSpec,
};
use crate::capture::{PictureKind, SourceSpec};

/// Results waiting for the window: it shows the newest and counts the rest in its statistics.
const RESULTS_WAITING: usize = 4;

/// How a live pipeline runs.
#[derive(Clone, Default)]
pub struct LiveOptions {
    /// Inference workers (`None`: as many as suit the provider, see [`crate::infer::WorkerPlan`]).
    pub workers: Option<usize>,
    /// Keep every frame of a live source (analysis) instead of the newest (watching): nothing is
    /// dropped, and latency grows when inference is slower than the source.
    pub every_frame: bool,
    /// Frames of a file the caller already knows the people of: shown again without the network.
    pub kept: Option<KeptFrames>,
}

impl std::fmt::Debug for LiveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveOptions")
            .field("workers", &self.workers)
            .field("every_frame", &self.every_frame)
            .field("kept", &self.kept.is_some())
            .finish()
    }
}

/// A running live pipeline. Dropping it stops its threads (without waiting for them).
pub struct LivePipeline {
    /// Taken when dropped, to stop and join the threads.
    stages: Option<Stages>,
    control: Sender<super::source_stage::Request>,
    /// The number the next control gets.
    next_request: AtomicU64,
    hub: Arc<EngineHub>,
    events: Receiver<PipelineEvent>,
    results: Receiver<FrameResult>,
    settings: SharedSettings,
    ctx: StageContext,
}

impl LivePipeline {
    /// Starts reading `source` and running `engine` on it. `notify` is called whenever a result or an
    /// event is ready (the window asks for a repaint).
    pub fn start(
        source: SourceSpec,
        engine: EngineSpec,
        settings: PipelineSettings,
        options: LiveOptions,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, PipelineError> {
        let opener: SourceOpener = Box::new(move || source.open(PictureKind::Rgb));
        Self::start_with(opener, engine, settings, options, notify)
    }

    /// [`LivePipeline::start`] for any [`crate::capture::FrameSource`], opened by `opener` on the
    /// source thread.
    pub fn start_with(
        opener: SourceOpener,
        engine: EngineSpec,
        settings: PipelineSettings,
        options: LiveOptions,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, PipelineError> {
        let (control, controls) = bounded(16);
        let (events_sink, events) = EventSink::new(notify);
        let settings = SharedSettings::new(settings);
        let ctx = StageContext::new(settings.clone(), events_sink);
        let hub = Arc::new(EngineHub::new(options.workers));
        hub.load(engine);
        let seats = hub.seats();
        let spec = StagesSpec {
            opener,
            controls: Some(controls),
            engines: (0..seats).map(|i| WorkerEngine::seat(&hub, i)).collect(),
            delivery: if options.every_frame {
                Delivery::Lossless
            } else {
                Delivery::Newest
            },
            cancel: Arc::default(),
            results_capacity: RESULTS_WAITING,
            kept: options.kept.clone(),
        };
        let stages = start_stages(spec, ctx.clone())?;
        Ok(Self {
            results: stages.results.clone(),
            stages: Some(stages),
            control,
            next_request: AtomicU64::new(1),
            hub,
            events,
            settings,
            ctx,
        })
    }

    /// Sends a control to the source; returns its number, which the frames read after it carry
    /// ([`crate::capture::Frame::request`]).
    pub fn control(&self, c: Control) -> u64 {
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        // Up to 16 wait; a flood of clicks beyond that is dropped, never blocks the window.
        let _ = self.control.try_send((request, c));
        request
    }

    /// Loads another model or device; the current one keeps running until the new one is ready, then
    /// a [`PipelineEvent::ModelLoaded`] follows.
    pub fn load_engine(&self, spec: EngineSpec) {
        self.hub.load(spec);
    }

    /// Applies to the next frame. A change of net size runs the current frame again.
    pub fn set_settings(&self, new: PipelineSettings) -> Result<(), PipelineError> {
        let net = new.net.clone();
        let old = self.settings.set(new)?;
        if old.net != net {
            self.control(Control::Refresh);
        }
        Ok(())
    }

    /// State events since the last call.
    pub fn events(&self) -> impl Iterator<Item = PipelineEvent> + '_ {
        self.events.try_iter()
    }

    /// Results since the last call, oldest first.
    pub fn results(&self) -> impl Iterator<Item = FrameResult> + '_ {
        self.results.try_iter()
    }

    /// Frames dropped so far (newest-wins replacements and late results).
    pub fn dropped(&self) -> u64 {
        self.ctx.dropped.load(Ordering::Relaxed)
    }
}

/// How long dropping a live pipeline waits for its threads (one inference, at most).
const STOP_PATIENCE: Duration = Duration::from_secs(3);

impl LivePipeline {
    /// Stops every thread; true when all of them ended in time (none was left blocked in a read).
    pub fn stop(mut self) -> bool {
        self.stop_threads()
    }

    fn stop_threads(&mut self) -> bool {
        self.ctx.abort.store(true, Ordering::Relaxed);
        self.hub.close();
        self.stages
            .take()
            .is_none_or(|stages| stages.stop(STOP_PATIENCE))
    }
}

impl Drop for LivePipeline {
    fn drop(&mut self) {
        self.stop_threads();
    }
}
