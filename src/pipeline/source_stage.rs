//! The source stage: reads frames from a [`FrameSource`] and hands them on, stamped with a sequence
//! number. Export reads to the end; live mode also obeys play/pause/step/seek and paces files at their
//! own rate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::stage::{Outlet, StageContext, StageStats};
use super::{PipelineError, PipelineEvent, SourceOpener};
use crate::capture::{Analysis, CaptureError, Frame, FrameSource, SourceInfo};

/// A control with the number the window gave it.
pub type Request = (u64, Control);

/// Which frames of a file the window has kept (by presentation timestamp): they skip the network.
pub type KeptFrames = Arc<dyn Fn(i64) -> bool + Send + Sync>;

/// Frames remembered after they left, so a pause can go back to the one on screen.
const RECENT_FRAMES: usize = 8;

/// What the window asks of the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    Play,
    Pause,
    /// Pause on the frame with this sequence number, the one on screen: frames read past it are
    /// handed on again by the next step or play, so none is skipped.
    PauseAt(u64),
    /// While paused: one frame forward (+1) or back (-1).
    Step(i64),
    Seek(f64),
    /// Files: play at their own rate (true) or as fast as inference goes (false).
    RealTime(bool),
    /// Run the current frame through the network again (net size or model changed).
    Refresh,
}

pub(crate) struct SourceStage {
    pub opener: SourceOpener,
    pub controls: Option<Receiver<Request>>,
    pub out: Outlet<Frame>,
    pub cancel: Arc<AtomicBool>,
    pub ctx: StageContext,
    pub kept: Option<KeptFrames>,
}

/// What the source does next.
enum Step {
    Stop,
    /// Nothing to do now (paused, ended).
    Idle,
    /// Read the next frame; `stepped` frames are never dropped.
    Read {
        stepped: bool,
    },
    /// Send this frame again: looked at again (`stepped`), or replayed in turn.
    Resend {
        frame: Frame,
        stepped: bool,
    },
}

/// Play state of a source.
struct Transport {
    controlled: bool,
    playing: bool,
    real_time: bool,
    ended: bool,
    /// Wall-clock anchor for playing files at their own rate: (instant, media time).
    anchor: Option<(Instant, f64)>,
    last: Option<Frame>,
    /// The last frames handed on, newest last.
    recent: VecDeque<Frame>,
    /// Frames read past the one paused on, handed on again before reading on.
    ahead: VecDeque<Frame>,
    frame_step: f64,
    next_seq: u64,
    loops: bool,
    /// The frame being sent is a refresh (the network runs again, even for a kept frame).
    refreshing: bool,
    /// The last control applied, stamped on the frames read after it.
    request: u64,
    /// The latest time read (files): the tracker has seen everything up to here.
    frontier_s: f64,
}

/// Why reading stopped.
enum Stopped {
    /// Done: the pipeline stopped, the file ended (export), downstream is gone.
    Done,
    /// A network stream dropped: open it again.
    Lost(String),
}

/// Waits between reconnection attempts, seconds (the last repeats).
const RECONNECT_BACKOFF_S: [f64; 6] = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0];

impl SourceStage {
    pub(crate) fn run(self) -> Result<StageStats, PipelineError> {
        // A connect or read that hangs inside FFmpeg ends as soon as the pipeline stops.
        crate::video::network::set_thread_stop_flags(vec![
            self.ctx.abort.clone(),
            self.cancel.clone(),
        ]);
        let mut stats = StageStats::new("source");
        let controlled = self.controls.is_some();
        let mut source = match (self.opener)() {
            Ok(s) => s,
            Err(e) => return source_failed(e, controlled, &self.ctx),
        };
        let mut transport = Transport::new(source.info(), controlled);
        loop {
            self.ctx
                .events
                .emit(PipelineEvent::SourceOpened(source.info().clone()));
            match self.pump(&mut *source, &mut transport, &mut stats)? {
                Stopped::Done => return Ok(stats),
                Stopped::Lost(why) => {
                    // Closed first: a UDP port or a single-client server takes one reader.
                    drop(source);
                    match self.reconnect(why) {
                        Some(s) => source = s,
                        None => return Ok(stats),
                    }
                }
            }
        }
    }

    /// Reads and hands on frames until something stops it.
    fn pump(
        &self,
        source: &mut dyn FrameSource,
        transport: &mut Transport,
        stats: &mut StageStats,
    ) -> Result<Stopped, PipelineError> {
        let (ctx, info) = (&self.ctx, source.info().clone());
        loop {
            if ctx.stopped() || self.cancel.load(Ordering::Relaxed) {
                return Ok(Stopped::Done);
            }
            let (frame, stepped) = match transport.next_step(self.controls.as_ref(), source, ctx) {
                Step::Stop => return Ok(Stopped::Done),
                Step::Idle => continue,
                Step::Resend { frame, stepped } => (frame, stepped),
                Step::Read { stepped } => {
                    let t = Instant::now();
                    match source.next_frame() {
                        Ok(Some(frame)) => {
                            stats.busy(t);
                            (frame, stepped)
                        }
                        // A GIF plays again from its first frame, as browsers play it.
                        Ok(None) if transport.loops_now() && source.seek(0.0).is_ok() => {
                            transport.anchor = None;
                            continue;
                        }
                        end_or_error => match self.after_read(end_or_error, &info, transport)? {
                            Some(stopped) => return Ok(stopped),
                            None => continue,
                        },
                    }
                }
            };
            let mut frame = transport.stamp(frame, stepped, &info, ctx);
            if let Some(kept) = self.kept.as_ref().filter(|_| !info.live) {
                // A frame before the furthest one read is a revisit: the tracker has gone past it.
                let revisit = frame.time_s < transport.frontier_s;
                frame.analysis = match (kept(frame.pts), transport.refreshing) {
                    (true, true) => Analysis::Associate,
                    (true, false) => Analysis::Kept,
                    (false, _) if revisit => Analysis::Associate,
                    (false, _) => Analysis::Full,
                };
                transport.frontier_s = transport.frontier_s.max(frame.time_s);
            }
            transport.refreshing = false;
            let keep = stepped || !transport.controlled || (!info.live && !transport.real_time);
            let sent = if keep {
                self.out.send_waiting(frame)
            } else {
                self.out.send(frame)
            };
            if !sent {
                return Ok(Stopped::Done);
            }
        }
    }

    /// What a read that gave no frame means: streams are reconnected (live) or finished (export),
    /// files end, a stopped camera is reported. `None`: carry on.
    fn after_read(
        &self,
        read: Result<Option<Frame>, CaptureError>,
        info: &SourceInfo,
        transport: &mut Transport,
    ) -> Result<Option<Stopped>, PipelineError> {
        let ctx = &self.ctx;
        match read {
            Ok(Some(_)) => Ok(None),
            // Cancelled while a read waited (a stream between keyframes): what was read is kept.
            _ if self.cancel.load(Ordering::Relaxed) => Ok(Some(Stopped::Done)),
            Ok(None) | Err(_) if info.reconnects && transport.controlled => {
                let why = match read {
                    Err(e) => super::error_chain(&e),
                    _ => "the stream ended".into(),
                };
                Ok(Some(Stopped::Lost(why)))
            }
            Err(e) if info.reconnects => {
                // Recording a stream: it stopped; what was recorded is kept.
                tracing::warn!("{e}: the stream stopped; finishing what was recorded");
                Ok(Some(Stopped::Done))
            }
            Ok(None) if transport.controlled => {
                transport.end(ctx);
                Ok(None)
            }
            Ok(None) => {
                ctx.source_finished.store(true, Ordering::Relaxed);
                Ok(Some(Stopped::Done))
            }
            Err(e) if transport.controlled && !info.live => {
                ctx.events
                    .emit(PipelineEvent::SourceFailed(super::error_chain(&e)));
                transport.end(ctx);
                Ok(None)
            }
            Err(e) => source_failed(e, transport.controlled, ctx).map(|_| Some(Stopped::Done)),
        }
    }

    /// Opens a dropped stream again, waiting longer after each failure; `None` when the pipeline
    /// stops first. Never fatal: the window shows each attempt.
    fn reconnect(&self, mut why: String) -> Option<Box<dyn FrameSource>> {
        for attempt in 1u32.. {
            let wait =
                RECONNECT_BACKOFF_S[(attempt as usize - 1).min(RECONNECT_BACKOFF_S.len() - 1)];
            self.ctx.events.emit(PipelineEvent::Reconnecting {
                reason: why.clone(),
                attempt,
                wait_s: wait,
            });
            let until = Instant::now() + Duration::from_secs_f64(wait);
            while Instant::now() < until {
                if self.ctx.stopped() {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            match (self.opener)() {
                Ok(source) => return Some(source),
                // Wrong credentials stay wrong: no retry storm against the camera.
                Err(
                    e @ CaptureError::Video(
                        crate::video::VideoError::Unauthorized(_)
                        | crate::video::VideoError::NeedsCredentials(_),
                    ),
                ) => {
                    self.ctx
                        .events
                        .emit(PipelineEvent::SourceFailed(super::error_chain(&e)));
                    return None;
                }
                Err(e) => why = super::error_chain(&e),
            }
        }
        None
    }
}

/// A source that cannot open or read: export fails, live mode reports it (a camera that stopped can be
/// reopened from the window).
fn source_failed(
    e: CaptureError,
    controlled: bool,
    ctx: &StageContext,
) -> Result<StageStats, PipelineError> {
    if controlled {
        ctx.events
            .emit(PipelineEvent::SourceFailed(super::error_chain(&e)));
        return Ok(StageStats::new("source"));
    }
    ctx.fail(super::error_chain(&e));
    Err(e.into())
}

impl Transport {
    fn new(info: &SourceInfo, controlled: bool) -> Self {
        Self {
            controlled,
            playing: true,
            real_time: controlled,
            ended: false,
            anchor: None,
            last: None,
            recent: VecDeque::new(),
            ahead: VecDeque::new(),
            loops: info.loops,
            refreshing: false,
            request: 0,
            frontier_s: f64::NEG_INFINITY,
            frame_step: 1.0 / info.frame_rate.filter(|f| *f > 0.0).unwrap_or(25.0),
            next_seq: 0,
        }
    }

    fn loops_now(&self) -> bool {
        self.controlled && self.loops && self.playing
    }

    fn end(&mut self, ctx: &StageContext) {
        self.ended = true;
        ctx.events.emit(PipelineEvent::Ended);
    }

    /// Waits for a control when paused or ended, takes one without waiting while playing.
    fn next_step(
        &mut self,
        controls: Option<&Receiver<Request>>,
        source: &mut dyn FrameSource,
        ctx: &StageContext,
    ) -> Step {
        let Some(controls) = controls else {
            return Step::Read { stepped: false };
        };
        let command = if self.playing && !self.ended {
            controls.try_recv().ok()
        } else {
            match controls.recv_timeout(Duration::from_millis(100)) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => return Step::Idle,
                Err(RecvTimeoutError::Disconnected) => return Step::Stop,
            }
        };
        match command {
            Some((request, c)) => {
                self.request = request;
                self.apply(c, source, ctx)
            }
            None if self.playing => match self.ahead.pop_front() {
                Some(frame) => Step::Resend {
                    frame,
                    stepped: false,
                },
                None if !self.ended => Step::Read { stepped: false },
                None => Step::Idle,
            },
            None => Step::Idle,
        }
    }

    fn apply(
        &mut self,
        control: Control,
        source: &mut dyn FrameSource,
        ctx: &StageContext,
    ) -> Step {
        match control {
            Control::Play => {
                self.playing = true;
                self.anchor = None;
                if self.ended && source.info().seekable && source.seek(0.0).is_ok() {
                    self.ended = false;
                }
                Step::Idle
            }
            Control::Pause => {
                self.playing = false;
                Step::Idle
            }
            Control::PauseAt(seq) => {
                self.playing = false;
                if let Some(at) = self.recent.iter().position(|f| f.seq == seq) {
                    let mut later = self.recent.split_off(at + 1);
                    later.extend(self.ahead.drain(..));
                    self.ahead = later;
                    self.last = self.recent.back().cloned();
                }
                Step::Idle
            }
            Control::RealTime(on) => {
                self.real_time = on;
                self.anchor = None;
                Step::Idle
            }
            Control::Refresh => match self.last.clone() {
                Some(frame) => {
                    self.refreshing = true;
                    Step::Resend {
                        frame,
                        stepped: true,
                    }
                }
                None => Step::Idle,
            },
            Control::Seek(t) => self.seek(source, t, ctx),
            Control::Step(n) => {
                self.playing = false;
                if n < 0 {
                    let t = self.last.as_ref().map_or(0.0, |f| f.time_s) - self.frame_step;
                    return self.seek(source, t.max(0.0), ctx);
                }
                match self.ahead.pop_front() {
                    Some(frame) => Step::Resend {
                        frame,
                        stepped: true,
                    },
                    None => Step::Read { stepped: true },
                }
            }
        }
    }

    fn seek(&mut self, source: &mut dyn FrameSource, t: f64, ctx: &StageContext) -> Step {
        self.ahead.clear();
        match source.seek(t) {
            Ok(()) => {
                self.ended = false;
                self.anchor = None;
                Step::Read { stepped: true }
            }
            Err(e) => {
                ctx.events
                    .emit(PipelineEvent::SourceFailed(super::error_chain(&e)));
                Step::Idle
            }
        }
    }

    /// Waits until a file's frame is due (real-time playback), then stamps its sequence number and the
    /// time latency counts from.
    fn stamp(
        &mut self,
        frame: Frame,
        stepped: bool,
        info: &SourceInfo,
        ctx: &StageContext,
    ) -> Frame {
        let paced = self.controlled && self.playing && !info.live && self.real_time && !stepped;
        if paced {
            let (start, t0) = *self.anchor.get_or_insert((Instant::now(), frame.time_s));
            let due = start + Duration::from_secs_f64((frame.time_s - t0).max(0.0));
            let due = due.min(Instant::now() + Duration::from_secs(2));
            while let Some(wait) = due.checked_duration_since(Instant::now()) {
                if ctx.stopped() {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(50)));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let frame = Frame {
            seq,
            request: self.request,
            // Latency counts from when a file's frame is due, not from decoding ahead of its time.
            captured_at: if info.live {
                frame.captured_at
            } else {
                Instant::now()
            },
            ..frame
        };
        if self.controlled {
            self.last = Some(frame.clone());
            self.recent.push_back(frame.clone());
            if self.recent.len() > RECENT_FRAMES {
                self.recent.pop_front();
            }
        }
        frame
    }
}
