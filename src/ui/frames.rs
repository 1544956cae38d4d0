//! What the window does with what the pipeline sends: results (kept in the timeline for files, shown
//! unless paused on another frame), events (the banner, the end of a file), and settings changes
//! (re-association of the frame on screen, and what the kept frames must forget).

use crate::capture::Analysis;
use crate::pipeline::{Control, FrameResult, PipelineEvent, PipelineSettings};
use crate::pose::Person;
use crate::track::{carry_tracks, TrackedPerson};

use super::state::{Hint, StatSample};
use super::timeline::FramePlace;
use super::{ModelStatus, PosecamApp};

impl PosecamApp {
    /// Takes what the pipeline produced since the last frame.
    pub fn poll(&mut self) {
        let Some(pipeline) = &self.runtime.pipeline else {
            return;
        };
        let events: Vec<PipelineEvent> = pipeline.events().collect();
        let results: Vec<FrameResult> = pipeline.results().collect();
        for e in events {
            self.on_event(e);
        }
        for r in results {
            self.on_result(r);
        }
    }

    fn place(r: &FrameResult) -> FramePlace {
        FramePlace {
            pts: r.frame.pts,
            index: r.frame.index,
            time_s: r.frame.time_s,
        }
    }

    /// The people of a result: as found (and kept), as kept, or found again with the kept tracks.
    fn people_of(&mut self, r: &FrameResult) -> (Vec<Person>, Vec<TrackedPerson>) {
        let keeps = self.keeps_timeline();
        let trail = self.settings.tracker.trail_length;
        let Ok(mut timeline) = self.view.timeline.write() else {
            return (r.people.clone(), r.tracked.clone());
        };
        match r.frame.analysis {
            Analysis::Full => {
                if keeps {
                    timeline.record(Self::place(r), &r.people, &r.tracked);
                }
                (r.people.clone(), r.tracked.clone())
            }
            Analysis::Kept => timeline
                .people(r.frame.pts, r.skeleton, trail)
                .unwrap_or_default(),
            Analysis::Associate => {
                // The tracks kept for this frame, or for the nearest kept one (a frame revisited that
                // was never analysed: dropped while playing, or skipped by a seek).
                let (old, old_tracked) = timeline
                    .people(r.frame.pts, r.skeleton, trail)
                    .or_else(|| {
                        let near = timeline.nearest(r.frame.pts)?;
                        timeline.people(near, r.skeleton, trail)
                    })
                    .unwrap_or_default();
                let tracked = if self.settings.tracking {
                    carry_tracks(r.skeleton, &old, &old_tracked, &r.people)
                } else {
                    Vec::new()
                };
                timeline.record(Self::place(r), &r.people, &tracked);
                (r.people.clone(), tracked)
            }
        }
    }

    fn on_result(&mut self, r: FrameResult) {
        // Every result is kept, also one not shown (in flight when the user paused).
        let (people, tracked) = self.people_of(&r);
        let v = &mut self.view;
        if !v.playing {
            if r.frame.request < v.awaiting {
                return;
            }
            match v.held {
                Some(shown) if shown != r.frame.index => return,
                _ => v.held = Some(r.frame.index),
            }
        }
        v.stats.dropped = r.dropped;
        // The statistics describe playback; a paused window's steps do not move them.
        if r.frame.analysis != Analysis::Kept && v.playing {
            let at_s = self.runtime.started.elapsed().as_secs_f64();
            v.stats.push(StatSample {
                at_s,
                inference_ms: r.timings.inference_ms,
                association_ms: r.timings.association_ms,
                latency_ms: r.timings.latency_ms,
                people: people.len(),
            });
        }
        if tracked.iter().all(|t| t.id.is_some()) {
            v.messages.clear(Hint::NoId);
        }
        v.people = people;
        v.tracked = tracked;
        self.record_angles(&r);
        // `ended` stays: the last frames' results come after the end was announced.
        self.view.last = Some(r);
    }

    /// Live sources: adds the followed person's angles to the plot. Files read them from the
    /// timeline.
    fn record_angles(&mut self, r: &FrameResult) {
        let Some(id) = self.view.followed.filter(|_| !self.keeps_timeline()) else {
            return;
        };
        let Some(values) = self.view.live_angles(r.skeleton, id) else {
            return;
        };
        let at = self.now_s();
        self.view.angles.push(at, values);
    }

    fn on_event(&mut self, event: PipelineEvent) {
        match event {
            PipelineEvent::SourceOpened(info) => {
                let rate = info
                    .frame_rate
                    .map(|f| format!(" at {f:.1} fps"))
                    .unwrap_or_default();
                self.say(format!(
                    "{}: {}x{}{rate}",
                    info.name, info.width, info.height
                ));
                self.view.banner = None;
                self.view.info = Some(info);
            }
            PipelineEvent::ModelLoaded {
                model,
                provider,
                skeleton,
                workers,
            } => {
                let first = self.view.model.provider.is_none();
                self.view.model = ModelStatus {
                    provider: Some(provider),
                    skeleton: skeleton.name,
                    workers,
                };
                self.say(format!("model {} on {provider}", model.display()));
                if !first {
                    self.forget_kept("the model changed");
                }
                if !self.view.playing {
                    self.control(Control::Refresh);
                }
            }
            PipelineEvent::Ended => {
                self.view.ended = true;
                self.view.playing = false;
                self.view.frozen_at_s = Some(self.now_s());
            }
            PipelineEvent::Reconnecting {
                reason,
                attempt,
                wait_s,
            } => {
                self.say(format!(
                    "stream lost ({reason}): reconnecting in {wait_s:.1} s (attempt {attempt})"
                ));
            }
            PipelineEvent::SourceFailed(msg) => {
                // Nothing plays until the user reopens: the window goes idle.
                self.view.playing = false;
                self.view.frozen_at_s.get_or_insert(self.now_s());
                self.fail(msg, true);
            }
            PipelineEvent::Error(msg) => self.fail(msg, false),
        }
    }

    /// Forgets the kept frames, but the one on screen (whose tracks carry over), and says so.
    fn forget_kept(&mut self, why: &str) {
        let pts = self.view.last.as_ref().map(|l| l.frame.pts);
        let Ok(mut timeline) = self.view.timeline.write() else {
            return;
        };
        let before = timeline.len();
        timeline.keep_only(pts);
        let forgot = before - timeline.len();
        drop(timeline);
        if forgot > 0 {
            self.hint(
                Hint::Rerun,
                format!(
                    "{why}: {forgot} kept frames were forgotten and are analysed again as they play"
                ),
            );
        }
    }

    /// Sends changed settings to the pipeline; re-associates the frame on screen from its network
    /// output so a slider's effect shows at once, even while paused. A kept frame shown again has no
    /// network output: it runs once more.
    pub fn apply_settings(&mut self) {
        let settings = self.pipeline_settings();
        let Some(before) = self.runtime.applied.clone() else {
            return;
        };
        if before == settings {
            return;
        }
        if let Some(p) = &self.runtime.pipeline {
            if let Err(e) = p.set_settings(settings.clone()) {
                self.fail(e.to_string(), false);
            }
        }
        self.forget_kept(what_changed(&before, &settings));
        self.runtime.applied = Some(settings.clone());
        let Some(last) = &self.view.last else {
            return;
        };
        if last.maps.is_empty() {
            if before.net == settings.net {
                self.control(Control::Refresh);
            }
            return;
        }
        let people = self
            .runtime
            .associator
            .run(&last.maps, last.skeleton, &settings.thresholds);
        let tracked = match settings.tracking {
            Some(_) => carry_tracks(
                last.skeleton,
                &self.view.people,
                &self.view.tracked,
                &people,
            ),
            None => Vec::new(),
        };
        if self.keeps_timeline() {
            if let Ok(mut t) = self.view.timeline.write() {
                t.record(Self::place(last), &people, &tracked);
            }
        }
        self.view.people = people;
        self.view.tracked = tracked;
    }
}

/// Which settings changed, in words.
fn what_changed(before: &PipelineSettings, after: &PipelineSettings) -> &'static str {
    if before.net != after.net {
        "the network size changed"
    } else if before.thresholds != after.thresholds {
        "the detection thresholds changed"
    } else {
        "the tracking settings changed"
    }
}
