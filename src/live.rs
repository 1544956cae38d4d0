//! The live pipeline behind the window: capture → inference → association, each on a named thread,
//! joined by bounded channels where the newest frame wins (stale frames are dropped and counted), so
//! latency stays near one inference time. Settings are shared: a slider change applies to the next
//! frame without a restart. Failures become events; nothing here panics the window.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, Receiver, Sender, TrySendError};

use crate::capture::{SourceFrame, SourceInfo, SourceSpec};
use crate::infer::{Device, Engine, EngineOptions, NetConfig, Provider};
use crate::pose::{Associator, Person, PoseMaps, Skeleton, Thresholds};

/// What the window asks of the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Play,
    Pause,
    /// While paused: one frame forward (+1) or back (-1).
    Step(i64),
    Seek(f64),
    /// Files: play at their own rate (true) or as fast as inference goes (false).
    RealTime(bool),
    /// Run the current frame through the network again (net size or model changed).
    Refresh,
}

/// Which model to run, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSpec {
    pub model: PathBuf,
    pub device: Device,
}

/// Settings read by the stages for every frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSettings {
    pub net: NetConfig,
    pub thresholds: Thresholds,
}

/// Time spent on one frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimings {
    pub inference_ms: f32,
    pub association_ms: f32,
    /// Capture to result.
    pub latency_ms: f32,
}

/// A frame with its people, and the network output kept for re-association.
#[derive(Debug, Clone)]
pub struct LiveResult {
    pub frame: SourceFrame,
    pub maps: Arc<PoseMaps>,
    pub people: Vec<Person>,
    pub skeleton: &'static Skeleton,
    pub timings: FrameTimings,
    /// Frames dropped so far because a newer one arrived first.
    pub dropped: u64,
}

#[derive(Debug, Clone)]
pub enum LiveEvent {
    SourceOpened(SourceInfo),
    ModelLoaded {
        model: PathBuf,
        provider: Provider,
        skeleton: &'static Skeleton,
    },
    Result(Box<LiveResult>),
    /// The source ended (end of file); it can be sought or replayed.
    Ended,
    /// Something failed; the window shows it and stays up.
    Error(String),
}

enum EngineRequest {
    Load(EngineSpec),
}

/// A running live pipeline. Dropping it stops its threads (without waiting for them).
pub struct LivePipeline {
    control: Sender<Control>,
    engine: Sender<EngineRequest>,
    events: Receiver<LiveEvent>,
    settings: Arc<Mutex<LiveSettings>>,
    stop: Arc<AtomicBool>,
}

/// Sends `item`, replacing what waits in the channel if it is full. Returns whether an item was
/// dropped, or `None` when the receiver is gone.
fn send_newest<T>(tx: &Sender<T>, drain: &Receiver<T>, mut item: T) -> Option<bool> {
    let mut dropped = false;
    loop {
        match tx.try_send(item) {
            Ok(()) => return Some(dropped),
            Err(TrySendError::Full(back)) => {
                dropped |= drain.try_recv().is_ok();
                item = back;
            }
            Err(TrySendError::Disconnected(_)) => return None,
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = thread::Builder::new()
        .name(format!("posecam-live-{name}"))
        .spawn(f)
    {
        tracing::error!("cannot start thread {name}: {e}");
    }
}

impl LivePipeline {
    /// Starts reading `source` and running `engine` on it. `notify` is called whenever an event is
    /// ready (the window asks for a repaint).
    pub fn start(
        source: SourceSpec,
        engine: EngineSpec,
        settings: LiveSettings,
        notify: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let (tx_control, rx_control) = bounded::<Control>(16);
        let (tx_engine, rx_engine) = bounded::<EngineRequest>(4);
        let (tx_events, rx_events) = bounded::<LiveEvent>(8);
        let (tx_frames, rx_frames) = bounded::<SourceFrame>(1);
        let (tx_maps, rx_maps) = bounded::<(SourceFrame, Arc<PoseMaps>, &'static Skeleton, f32)>(1);
        let settings = Arc::new(Mutex::new(settings));
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let _ = tx_engine.try_send(EngineRequest::Load(engine));

        let emit = {
            let (tx, rx, notify) = (tx_events.clone(), rx_events.clone(), notify.clone());
            move |e: LiveEvent| {
                // Results may be dropped if the window lags; errors and state changes are kept by
                // making room for them.
                let _ = send_newest(&tx, &rx, e);
                notify();
            }
        };

        spawn("capture", {
            let (emit, stop, dropped, drain) = (
                emit.clone(),
                stop.clone(),
                dropped.clone(),
                rx_frames.clone(),
            );
            move || capture_loop(source, rx_control, tx_frames, drain, emit, stop, dropped)
        });
        spawn("infer", {
            let (emit, stop, settings, drain) = (
                emit.clone(),
                stop.clone(),
                settings.clone(),
                rx_maps.clone(),
            );
            move || infer_loop(rx_engine, rx_frames, tx_maps, drain, settings, emit, stop)
        });
        spawn("associate", {
            let (emit, stop, settings) = (emit, stop.clone(), settings.clone());
            move || associate_loop(rx_maps, settings, emit, stop, dropped)
        });
        Self {
            control: tx_control,
            engine: tx_engine,
            events: rx_events,
            settings,
            stop,
        }
    }

    pub fn control(&self, c: Control) {
        let _ = self.control.try_send(c);
    }

    /// Loads another model or device; the current one keeps running until the new one is ready.
    pub fn load_engine(&self, spec: EngineSpec) {
        let _ = self.engine.try_send(EngineRequest::Load(spec));
        self.control(Control::Refresh);
    }

    /// Applies to the next frame. A change of net size refreshes the current frame.
    pub fn set_settings(&self, new: LiveSettings) {
        let net_changed = match self.settings.lock() {
            Ok(mut s) => {
                let changed = s.net != new.net;
                *s = new;
                changed
            }
            Err(_) => false,
        };
        if net_changed {
            self.control(Control::Refresh);
        }
    }

    /// Events ready now.
    pub fn events(&self) -> impl Iterator<Item = LiveEvent> + '_ {
        self.events.try_iter()
    }
}

impl Drop for LivePipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn capture_loop(
    spec: SourceSpec,
    control: Receiver<Control>,
    tx: Sender<SourceFrame>,
    drain: Receiver<SourceFrame>,
    emit: impl Fn(LiveEvent),
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut source = match spec.open() {
        Ok(s) => s,
        Err(e) => return emit(LiveEvent::Error(format!("{}: {e}", spec.label()))),
    };
    let info = source.info().clone();
    emit(LiveEvent::SourceOpened(info.clone()));
    let (mut playing, mut real_time, mut ended) = (true, true, false);
    let mut last: Option<SourceFrame> = None;
    // Wall-clock anchor for playing files at their own rate: (instant, media time).
    let mut anchor: Option<(Instant, f64)> = None;
    let frame_step = 1.0 / info.frame_rate.unwrap_or(25.0);

    // Live sources and real-time playback drop stale frames; as-fast-as-possible playback waits.
    let deliver = |frame: SourceFrame, keep_all: bool| -> bool {
        if keep_all {
            return tx.send(frame).is_ok();
        }
        match send_newest(&tx, &drain, frame) {
            Some(d) => {
                if d {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                true
            }
            None => false,
        }
    };

    while !stop.load(Ordering::Relaxed) {
        let command = if playing && !ended {
            control.try_recv().ok()
        } else {
            match control.recv_timeout(Duration::from_millis(100)) {
                Ok(c) => Some(c),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(_) => return,
            }
        };
        let mut step_frame = None;
        match command {
            Some(Control::Play) => {
                playing = true;
                anchor = None;
                if ended && info.seekable && source.seek(0.0).is_ok() {
                    ended = false;
                }
            }
            Some(Control::Pause) => playing = false,
            Some(Control::RealTime(on)) => {
                real_time = on;
                anchor = None;
            }
            Some(Control::Refresh) => {
                if let Some(f) = last.clone() {
                    let f = SourceFrame {
                        captured_at: Instant::now(),
                        ..f
                    };
                    if !deliver(f, true) {
                        return;
                    }
                }
                continue;
            }
            Some(Control::Seek(t)) => match source.seek(t) {
                Ok(()) => {
                    ended = false;
                    anchor = None;
                    step_frame = Some(());
                }
                Err(e) => emit(LiveEvent::Error(e.to_string())),
            },
            Some(Control::Step(n)) => {
                playing = false;
                if n < 0 {
                    let t = last.as_ref().map_or(0.0, |f| f.time_s) - frame_step;
                    match source.seek(t.max(0.0)) {
                        Ok(()) => ended = false,
                        Err(e) => {
                            emit(LiveEvent::Error(e.to_string()));
                            continue;
                        }
                    }
                }
                step_frame = Some(());
            }
            None => {}
        }
        if (ended || !playing) && step_frame.is_none() {
            continue;
        }
        let frame = match source.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => {
                ended = true;
                emit(LiveEvent::Ended);
                continue;
            }
            Err(e) => {
                emit(LiveEvent::Error(e.to_string()));
                if info.live {
                    return; // a camera that stopped: the window offers to reopen it
                }
                ended = true;
                continue;
            }
        };
        if playing && !info.live && real_time && step_frame.is_none() {
            let (start, t0) = *anchor.get_or_insert((Instant::now(), frame.time_s));
            let due = start + Duration::from_secs_f64((frame.time_s - t0).max(0.0));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait.min(Duration::from_secs(2)));
            }
        }
        // Latency counts from when the frame is due, not from decoding ahead of its time.
        let frame = SourceFrame {
            captured_at: Instant::now(),
            ..frame
        };
        last = Some(frame.clone());
        let keep_all = step_frame.is_some() || (!info.live && !real_time);
        if !deliver(frame, keep_all) {
            return;
        }
    }
}

type Inferred = (SourceFrame, Arc<PoseMaps>, &'static Skeleton, f32);

fn infer_loop(
    requests: Receiver<EngineRequest>,
    frames: Receiver<SourceFrame>,
    tx: Sender<Inferred>,
    drain: Receiver<Inferred>,
    settings: Arc<Mutex<LiveSettings>>,
    emit: impl Fn(LiveEvent),
    stop: Arc<AtomicBool>,
) {
    let mut engine: Option<Engine> = None;
    let mut complained = false;
    let load = |spec: EngineSpec, engine: &mut Option<Engine>| {
        let options = EngineOptions {
            device: spec.device,
            spin: true,
            ..EngineOptions::default()
        };
        match Engine::load(&spec.model, &options) {
            Ok(e) => {
                emit(LiveEvent::ModelLoaded {
                    model: spec.model.clone(),
                    provider: e.provider(),
                    skeleton: e.skeleton(),
                });
                *engine = Some(e);
            }
            Err(e) => emit(LiveEvent::Error(e.to_string())),
        }
    };
    while !stop.load(Ordering::Relaxed) {
        select! {
            recv(requests) -> r => {
                let Ok(EngineRequest::Load(spec)) = r else { return };
                load(spec, &mut engine);
                complained = false;
            }
            recv(frames) -> f => {
                let Ok(frame) = f else {
                    // The source is gone; still answer model requests made before, so their
                    // errors are not lost.
                    while let Ok(EngineRequest::Load(spec)) = requests.try_recv() {
                        load(spec, &mut engine);
                    }
                    return;
                };
                let Some(engine_now) = engine.as_mut() else {
                    if !complained {
                        emit(LiveEvent::Error("no model loaded: choose one in the side panel".into()));
                        complained = true;
                    }
                    continue;
                };
                let net = settings.lock().map(|s| s.net.clone()).unwrap_or_default();
                let t = Instant::now();
                match engine_now.infer(&frame.image, &net) {
                    Ok(maps) => {
                        let ms = t.elapsed().as_secs_f32() * 1e3;
                        if send_newest(&tx, &drain, (frame, Arc::new(maps), engine_now.skeleton(), ms)).is_none() {
                            return;
                        }
                    }
                    Err(e) => emit(LiveEvent::Error(e.to_string())),
                }
            }
            default(Duration::from_millis(200)) => {}
        }
    }
}

fn associate_loop(
    rx: Receiver<Inferred>,
    settings: Arc<Mutex<LiveSettings>>,
    emit: impl Fn(LiveEvent),
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
) {
    let mut associator = Associator::new();
    while !stop.load(Ordering::Relaxed) {
        let (frame, maps, skeleton, inference_ms) =
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(item) => item,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            };
        let thresholds = settings.lock().map(|s| s.thresholds).unwrap_or_default();
        let t = Instant::now();
        let people = associator.run(&maps, skeleton, &thresholds);
        let association_ms = t.elapsed().as_secs_f32() * 1e3;
        let latency_ms = frame.captured_at.elapsed().as_secs_f32() * 1e3;
        emit(LiveEvent::Result(Box::new(LiveResult {
            frame,
            maps,
            people,
            skeleton,
            timings: FrameTimings {
                inference_ms,
                association_ms,
                latency_ms,
            },
            dropped: dropped.load(Ordering::Relaxed),
        })));
    }
}
