//! The source stage: reads frames from a [`FrameSource`] and hands them on, stamped with a sequence
//! number. Export reads to the end; live mode also obeys play/pause/step/seek and paces files at their
//! own rate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::stage::{Outlet, StageContext, StageStats};
use super::{PipelineError, PipelineEvent, SourceOpener};
use crate::capture::{CaptureError, Frame, FrameSource, SourceInfo};

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

pub(crate) struct SourceStage {
    pub opener: SourceOpener,
    pub controls: Option<Receiver<Control>>,
    pub out: Outlet<Frame>,
    pub cancel: Arc<AtomicBool>,
    pub ctx: StageContext,
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
    /// Send this frame again.
    Resend(Frame),
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
    frame_step: f64,
    next_seq: u64,
}

impl SourceStage {
    pub(crate) fn run(self) -> Result<StageStats, PipelineError> {
        let mut stats = StageStats::new("source");
        let SourceStage {
            opener,
            controls,
            out,
            cancel,
            ctx,
        } = self;
        let failed = |e: CaptureError| source_failed(e, controls.is_some(), &ctx);
        let mut source = match opener() {
            Ok(s) => s,
            Err(e) => return failed(e),
        };
        let info = source.info().clone();
        ctx.events.emit(PipelineEvent::SourceOpened(info.clone()));
        let mut transport = Transport::new(&info, controls.is_some());
        loop {
            if ctx.stopped() || cancel.load(Ordering::Relaxed) {
                return Ok(stats);
            }
            let step = transport.next_step(controls.as_ref(), &mut *source, &ctx);
            let (frame, stepped) = match step {
                Step::Stop => return Ok(stats),
                Step::Idle => continue,
                Step::Resend(frame) => (frame, true),
                Step::Read { stepped } => {
                    let t = Instant::now();
                    match source.next_frame() {
                        Ok(Some(frame)) => {
                            stats.busy(t);
                            (frame, stepped)
                        }
                        Ok(None) if transport.controlled => {
                            transport.end(&ctx);
                            continue;
                        }
                        Ok(None) => return Ok(stats),
                        Err(e) if transport.controlled && !info.live => {
                            ctx.events.emit(PipelineEvent::Error(e.to_string()));
                            transport.ended = true;
                            continue;
                        }
                        Err(e) => return failed(e),
                    }
                }
            };
            let frame = transport.stamp(frame, stepped, &info, &ctx);
            let keep = stepped || !transport.controlled || (!info.live && !transport.real_time);
            let sent = if keep {
                out.send_waiting(frame)
            } else {
                out.send(frame)
            };
            if !sent {
                return Ok(stats);
            }
        }
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
        ctx.events.emit(PipelineEvent::Error(e.to_string()));
        return Ok(StageStats::new("source"));
    }
    ctx.fail(e.to_string());
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
            frame_step: 1.0 / info.frame_rate.filter(|f| *f > 0.0).unwrap_or(25.0),
            next_seq: 0,
        }
    }

    fn end(&mut self, ctx: &StageContext) {
        self.ended = true;
        ctx.events.emit(PipelineEvent::Ended);
    }

    /// Waits for a control when paused or ended, takes one without waiting while playing.
    fn next_step(
        &mut self,
        controls: Option<&Receiver<Control>>,
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
            Some(c) => self.apply(c, source, ctx),
            None if self.playing && !self.ended => Step::Read { stepped: false },
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
            Control::RealTime(on) => {
                self.real_time = on;
                self.anchor = None;
                Step::Idle
            }
            Control::Refresh => self.last.clone().map_or(Step::Idle, Step::Resend),
            Control::Seek(t) => self.seek(source, t, ctx),
            Control::Step(n) => {
                self.playing = false;
                if n < 0 {
                    let t = self.last.as_ref().map_or(0.0, |f| f.time_s) - self.frame_step;
                    return self.seek(source, t.max(0.0), ctx);
                }
                Step::Read { stepped: true }
            }
        }
    }

    fn seek(&mut self, source: &mut dyn FrameSource, t: f64, ctx: &StageContext) -> Step {
        match source.seek(t) {
            Ok(()) => {
                self.ended = false;
                self.anchor = None;
                Step::Read { stepped: true }
            }
            Err(e) => {
                ctx.events.emit(PipelineEvent::Error(e.to_string()));
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
        }
        frame
    }
}
