//! Which engine each inference worker runs.
//!
//! Export loads its engines before it starts (a bad model fails before any output exists). The window
//! can change model or device while running: an [`EngineHub`] announces a new generation, worker 0
//! loads it first (and learns whether it landed on CUDA or the CPU), then as many other workers as the
//! [`WorkerPlan`] wants load their own copy; the rest wait idle, taking no frames.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::stage::StageContext;
use super::PipelineEvent;
use crate::infer::{Device, Engine, EngineOptions, Provider, WorkerPlan};

/// Which model to run, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSpec {
    pub model: PathBuf,
    pub device: Device,
}

#[derive(Debug, Default)]
struct HubState {
    generation: u64,
    spec: Option<EngineSpec>,
    /// Workers wanted for a generation, once its first engine loaded (0 when it failed).
    wanted: Option<(u64, usize)>,
    closed: bool,
}

/// Announces model changes to the workers of a live pipeline.
#[derive(Debug, Default)]
pub(crate) struct EngineHub {
    state: Mutex<HubState>,
    changed: Condvar,
    /// Workers asked for (`None`: as the [`WorkerPlan`] suggests for the provider).
    workers: Option<usize>,
}

impl EngineHub {
    pub(crate) fn new(workers: Option<usize>) -> Self {
        Self {
            workers,
            ..Self::default()
        }
    }

    /// Seats to create: the most workers any provider may want (the extra ones idle on CUDA).
    pub(crate) fn seats(&self) -> usize {
        WorkerPlan::new(Provider::Cpu, self.workers, None).workers
    }

    fn plan(&self, provider: Provider) -> WorkerPlan {
        WorkerPlan::new(provider, self.workers, None)
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks every worker to (re)load `spec`.
    pub(crate) fn load(&self, spec: EngineSpec) {
        let mut s = self.lock();
        s.generation += 1;
        s.spec = Some(spec);
        s.wanted = None;
        self.changed.notify_all();
    }

    /// Lets idle workers go.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    fn publish(&self, generation: u64, workers: usize) {
        let mut s = self.lock();
        if s.generation == generation {
            s.wanted = Some((generation, workers));
        }
        self.changed.notify_all();
    }

    fn wait<'a>(&'a self, guard: MutexGuard<'a, HubState>) -> MutexGuard<'a, HubState> {
        match self.changed.wait_timeout(guard, Duration::from_millis(200)) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        }
    }
}

/// One worker's engine.
pub(crate) enum WorkerEngine {
    /// Loaded before the pipeline started (export).
    Fixed(Box<Engine>),
    /// Follows the hub (the window).
    Hub {
        hub: Arc<EngineHub>,
        worker: usize,
        generation: u64,
        engine: Option<Box<Engine>>,
    },
}

impl WorkerEngine {
    pub(crate) fn seat(hub: &Arc<EngineHub>, worker: usize) -> Self {
        WorkerEngine::Hub {
            hub: hub.clone(),
            worker,
            generation: 0,
            engine: None,
        }
    }

    pub(crate) fn engine(&mut self) -> Option<&mut Engine> {
        match self {
            WorkerEngine::Fixed(e) => Some(e),
            WorkerEngine::Hub { engine, .. } => engine.as_deref_mut(),
        }
    }

    /// Blocks while this worker has nothing to do (an idle extra worker), loading a new model when
    /// one is asked for. False when the pipeline closes.
    pub(crate) fn ready(&mut self, ctx: &StageContext) -> bool {
        let WorkerEngine::Hub {
            hub,
            worker,
            generation,
            engine,
        } = self
        else {
            return true;
        };
        loop {
            let state = hub.lock();
            if state.closed || ctx.stopped() {
                return false;
            }
            if state.generation != *generation {
                let (wanted_gen, spec) = (state.generation, state.spec.clone());
                drop(state);
                *engine = None;
                *engine = match spec {
                    Some(spec) if *worker == 0 => load_first(hub, wanted_gen, &spec, ctx),
                    Some(spec) => load_more(hub, wanted_gen, *worker, &spec, ctx),
                    None => None,
                };
                *generation = wanted_gen;
                continue;
            }
            if *worker == 0 || engine.is_some() {
                return true;
            }
            drop(hub.wait(state));
        }
    }
}

fn options(hub: &EngineHub, spec: &EngineSpec) -> EngineOptions {
    EngineOptions {
        device: spec.device,
        threads: hub.plan(Provider::Cpu).threads_per_worker,
        spin: true,
        ..EngineOptions::default()
    }
}

/// Worker 0 loads first, tells the others how many of them are wanted, and reports the outcome.
fn load_first(
    hub: &EngineHub,
    generation: u64,
    spec: &EngineSpec,
    ctx: &StageContext,
) -> Option<Box<Engine>> {
    match Engine::load(&spec.model, &options(hub, spec)) {
        Ok(engine) => {
            let workers = hub.plan(engine.provider()).workers;
            hub.publish(generation, workers);
            tracing::info!(
                "model {} on {} ({workers} inference worker{})",
                spec.model.display(),
                engine.provider(),
                if workers == 1 { "" } else { "s" }
            );
            ctx.events.emit(PipelineEvent::ModelLoaded {
                model: spec.model.clone(),
                provider: engine.provider(),
                skeleton: engine.skeleton(),
                workers,
            });
            Some(Box::new(engine))
        }
        Err(e) => {
            hub.publish(generation, 0);
            ctx.events
                .emit(PipelineEvent::Error(super::error_chain(&e)));
            None
        }
    }
}

/// Other workers wait for worker 0's verdict, then load their own copy if wanted.
fn load_more(
    hub: &EngineHub,
    generation: u64,
    worker: usize,
    spec: &EngineSpec,
    ctx: &StageContext,
) -> Option<Box<Engine>> {
    let mut state = hub.lock();
    let wanted = loop {
        if state.closed || ctx.stopped() || state.generation != generation {
            return None;
        }
        if let Some((_, n)) = state.wanted.filter(|(g, _)| *g == generation) {
            break n;
        }
        state = hub.wait(state);
    };
    drop(state);
    if worker >= wanted {
        return None;
    }
    match Engine::load(&spec.model, &options(hub, spec)) {
        Ok(e) => Some(Box::new(e)),
        Err(e) => {
            tracing::warn!("inference worker {worker} could not load the model: {e}");
            None
        }
    }
}
