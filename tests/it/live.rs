//! The live path (source → parallel inference → association, newest frame wins) driven by synthetic
//! sources through the same trait as a webcam: results flow in order, stale frames are dropped and
//! counted, settings apply to the next frame, and failures arrive as events.

use crate::common::{self, DEADLINE};

use std::sync::Arc;
use std::time::{Duration, Instant};

use posecam::capture::{
    Analysis, CaptureError, Frame, FrameSource, SourceInfo, SourceSpec, SyntheticSource,
};
use posecam::infer::{Device, NetConfig};
use posecam::pipeline::{
    Control, EngineSpec, FrameResult, LiveOptions, LivePipeline, PipelineEvent, PipelineSettings,
};
use posecam::pose::Thresholds;
use posecam::track::TrackerSettings;

pub(crate) fn settings(net_height: usize, scales: Vec<f32>) -> PipelineSettings {
    PipelineSettings {
        net: NetConfig {
            net_height,
            scales,
            short_side: false,
        },
        thresholds: Thresholds::default(),
        tracking: Some(TrackerSettings::default()),
    }
}

fn start(source: SourceSpec, model: std::path::PathBuf, s: PipelineSettings) -> LivePipeline {
    LivePipeline::start(
        source,
        EngineSpec {
            model,
            device: Device::Cpu,
        },
        s,
        LiveOptions::default(),
        Arc::new(|| {}),
    )
    .expect("pipeline threads start")
}

/// What a pipeline produced until `done` said so (or the deadline passed).
#[derive(Default)]
struct Seen {
    events: Vec<PipelineEvent>,
    results: Vec<FrameResult>,
}

impl Seen {
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PipelineEvent::Error(m) | PipelineEvent::SourceFailed(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }
}

fn collect(p: &LivePipeline, limit: Duration, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + limit;
    let mut seen = Seen::default();
    while Instant::now() < deadline && !done(&seen) {
        seen.events.extend(p.events());
        seen.results.extend(p.results());
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

#[test]
fn a_fast_live_source_keeps_only_the_newest_frames_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    // A 200 fps camera and four scales at a large net size: inference is the slow stage, so frames
    // must be dropped rather than queued.
    let source = SourceSpec::Synthetic {
        width: 320,
        height: 240,
        fps: 200,
        frames: 0,
    };
    let p = start(source, model, settings(1024, vec![1.0, 1.0, 1.0, 1.0]));
    let seen = collect(&p, DEADLINE, |s| s.results.len() >= 15);
    let r = &seen.results;
    assert!(r.len() >= 15, "results keep coming: {:?}", seen.events);
    assert!(seen
        .events
        .iter()
        .any(|e| matches!(e, PipelineEvent::SourceOpened(i) if i.live)));
    let workers = seen.events.iter().find_map(|e| match e {
        PipelineEvent::ModelLoaded { workers, .. } => Some(*workers),
        _ => None,
    });
    assert!(workers.is_some_and(|w| w >= 1), "{:?}", seen.events);
    let seqs: Vec<u64> = r.iter().map(|x| x.frame.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in capture order: {seqs:?}"
    );
    let last = r.last().unwrap();
    assert!(last.dropped > 0, "stale frames dropped and counted");
    assert!(last.frame.index > r.len() as u64, "newest wins: {seqs:?}");
    // Latency stays near one frame's processing, not a growing queue.
    let worst = r
        .iter()
        .skip(5)
        .map(|x| x.timings.latency_ms)
        .fold(0.0, f32::max);
    let slowest = r
        .iter()
        .map(|x| x.timings.inference_ms + x.timings.association_ms)
        .fold(0.0, f32::max);
    assert!(
        worst < 3.0 * slowest + 50.0,
        "latency {worst} ms vs processing {slowest} ms: {:?}",
        r.iter()
            .map(|x| (x.timings.latency_ms, x.timings.inference_ms))
            .collect::<Vec<_>>()
    );
}

#[test]
fn one_or_several_workers_hand_results_on_in_capture_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    for workers in [1, 2] {
        let p = LivePipeline::start(
            SourceSpec::Synthetic {
                width: 320,
                height: 240,
                fps: 500,
                frames: 0,
            },
            EngineSpec {
                model: model.clone(),
                device: Device::Cpu,
            },
            settings(1024, vec![1.0, 1.0]),
            LiveOptions {
                workers: Some(workers),
                ..LiveOptions::default()
            },
            Arc::new(|| {}),
        )
        .unwrap();
        let seen = collect(&p, DEADLINE, |s| s.results.len() >= 20);
        let loaded = seen.events.iter().find_map(|e| match e {
            PipelineEvent::ModelLoaded { workers, .. } => Some(*workers),
            _ => None,
        });
        let expected = workers.min(posecam::infer::WorkerPlan::cores());
        assert_eq!(loaded, Some(expected), "{:?}", seen.events);
        let seqs: Vec<u64> = seen.results.iter().map(|x| x.frame.seq).collect();
        assert!(seqs.len() >= 20, "{workers} worker(s): {seqs:?}");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    }
}

#[test]
fn settings_apply_to_the_next_frame_and_paused_frames_can_be_refreshed() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    let p = start(SourceSpec::Video(clip), model, settings(368, vec![1.0]));
    p.control(Control::RealTime(false));
    let seen = collect(&p, DEADLINE, |s| !s.results.is_empty());
    assert!(
        seen.results.iter().any(|r| r.people.len() >= 3),
        "people in the street"
    );
    p.control(Control::Pause);
    let mut strict = settings(368, vec![1.0]);
    strict.thresholds.peak = 1.0;
    p.set_settings(strict).unwrap();
    p.control(Control::Seek(0.0));
    let seen = collect(&p, DEADLINE, |s| !s.results.is_empty());
    assert!(!seen.results.is_empty());
    assert!(
        seen.results.iter().all(|r| r.people.is_empty()),
        "a peak threshold above every peak leaves nobody"
    );
    // A new net size re-runs the network on the paused frame.
    let mut small = settings(184, vec![1.0]);
    small.thresholds.peak = 1.0;
    p.set_settings(small).unwrap();
    let refreshed = |s: &Seen| s.results.iter().any(|r| r.maps.heatmaps.height() == 23);
    let seen = collect(&p, DEADLINE, refreshed);
    assert!(
        refreshed(&seen),
        "the paused frame is run again at net height 184 (grid 23)"
    );
}

#[test]
fn failures_are_events_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    // A webcam that is not there, and a model that is not there either.
    let p = start(
        SourceSpec::Camera {
            index: 57,
            format: None,
        },
        dir.path().join("none.onnx"),
        settings(368, vec![1.0]),
    );
    let seen = collect(&p, DEADLINE, |s| s.errors().len() >= 2);
    let errors = seen.errors();
    assert!(
        errors
            .iter()
            .any(|m| m.contains("camera:57") || m.contains("webcam")),
        "{errors:?} in {:?}",
        seen.events
    );
    assert!(
        errors.iter().any(|m| m.contains("does not exist")),
        "{errors:?}"
    );
}

/// A camera that breaks its own thread after a few frames.
struct PanickingCamera(SyntheticSource);

impl FrameSource for PanickingCamera {
    fn info(&self) -> &SourceInfo {
        self.0.info()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let frame = self.0.next_frame()?;
        if frame.as_ref().is_some_and(|f| f.index == 5) {
            panic!("driver bug");
        }
        Ok(frame)
    }
}

#[test]
fn a_stage_that_panics_is_reported_and_stops_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let p = LivePipeline::start_with(
        Box::new(|| Ok(Box::new(PanickingCamera(SyntheticSource::new(64, 48, 100, 0))) as _)),
        EngineSpec {
            model,
            device: Device::Cpu,
        },
        settings(64, vec![1.0]),
        LiveOptions::default(),
        Arc::new(|| {}),
    )
    .unwrap();
    let seen = collect(&p, DEADLINE, |s| !s.errors().is_empty());
    let errors = seen.errors();
    assert!(
        errors
            .iter()
            .any(|m| m.contains("'source' crashed") && m.contains("driver bug")),
        "{errors:?}"
    );
    // Nothing stalls: the other stages stop and the results simply end.
    let after = collect(&p, Duration::from_secs(2), |_| false);
    assert!(
        after.results.len() <= 4,
        "{} results after the crash",
        after.results.len()
    );
}

/// A pipeline on `source` with a tiny test model at a small net size (fast on any machine); the
/// folder holding the model lives as long as the pipeline needs it.
fn start_tiny(source: SourceSpec, options: LiveOptions) -> (tempfile::TempDir, LivePipeline) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let engine = EngineSpec {
        model,
        device: Device::Cpu,
    };
    let s = settings(128, vec![1.0]);
    let p = LivePipeline::start(source, engine, s, options, Arc::new(|| {}))
        .expect("pipeline threads start");
    (dir, p)
}

#[test]
fn a_gif_plays_again_from_its_first_frame_as_browsers_play_it() {
    let Some(gif) = common::shared("data/video/two-walking-480x270.gif") else {
        return;
    };
    let (_dir, p) = start_tiny(SourceSpec::Video(gif), LiveOptions::default());
    p.control(Control::RealTime(false));
    let looped = |s: &Seen| {
        s.results
            .windows(2)
            .any(|w| w[1].frame.index < w[0].frame.index)
    };
    let seen = collect(&p, DEADLINE, looped);
    assert!(
        looped(&seen),
        "no second round: {} results",
        seen.results.len()
    );
    assert!(
        !seen
            .events
            .iter()
            .any(|e| matches!(e, PipelineEvent::Ended)),
        "a GIF does not end: {:?}",
        seen.events
    );
}

#[test]
fn kept_frames_skip_the_network_and_a_refresh_runs_it_again() {
    let Some(clip) = common::shared("data/video/street-960x540-5f.mp4") else {
        return;
    };
    // The window keeps every frame but the first.
    let options = LiveOptions {
        kept: Some(Arc::new(|pts| pts > 0)),
        every_frame: true,
        ..LiveOptions::default()
    };
    let (_dir, p) = start_tiny(SourceSpec::Video(clip), options);
    p.control(Control::RealTime(false));
    // The end is an event, apart from the frames: wait for both.
    let ended = |s: &Seen| {
        s.results.len() >= 5 && s.events.iter().any(|e| matches!(e, PipelineEvent::Ended))
    };
    let seen = collect(&p, DEADLINE, ended);
    let r = &seen.results;
    assert_eq!(r.len(), 5, "{:?}", seen.events);
    assert_eq!(r[0].frame.analysis, Analysis::Full);
    assert!(!r[0].maps.is_empty());
    for kept in &r[1..] {
        assert_eq!(kept.frame.analysis, Analysis::Kept);
        assert!(kept.maps.is_empty() && kept.people.is_empty() && kept.tracked.is_empty());
        assert_eq!(kept.timings.inference_ms, 0.0);
    }
    // Looked at again (a setting changed on a paused kept frame): the network runs, the tracker not.
    let request = p.control(Control::Refresh);
    let answered = |s: &Seen| s.results.iter().any(|r| r.frame.request == request);
    let again = collect(&p, DEADLINE, answered);
    let refreshed = again
        .results
        .iter()
        .find(|r| r.frame.request == request)
        .expect("the refresh is answered");
    assert_eq!(refreshed.frame.analysis, Analysis::Associate);
    assert_eq!(refreshed.frame.request, request);
    assert_eq!(refreshed.frame.index, 4);
    assert!(!refreshed.maps.is_empty() && refreshed.tracked.is_empty());
}
