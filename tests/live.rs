//! The live path (capture → inference → association) driven by a synthetic source through the same
//! trait as a webcam: results flow, stale frames are dropped and counted, settings apply to the next
//! frame, and failures arrive as events.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use posecam::capture::SourceSpec;
use posecam::infer::{Device, NetConfig};
use posecam::live::{Control, EngineSpec, LiveEvent, LivePipeline, LiveResult, LiveSettings};
use posecam::pose::Thresholds;

fn settings(net_height: usize, scales: Vec<f32>) -> LiveSettings {
    LiveSettings {
        net: NetConfig { net_height, scales },
        thresholds: Thresholds::default(),
    }
}

/// Collects events until `done` says so (or the deadline passes).
fn collect(
    p: &LivePipeline,
    secs: u64,
    mut done: impl FnMut(&[LiveEvent]) -> bool,
) -> Vec<LiveEvent> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut events = Vec::new();
    while Instant::now() < deadline && !done(&events) {
        events.extend(p.events());
        std::thread::sleep(Duration::from_millis(5));
    }
    events
}

fn results(events: &[LiveEvent]) -> Vec<&LiveResult> {
    events
        .iter()
        .filter_map(|e| {
            if let LiveEvent::Result(r) = e {
                Some(&**r)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn a_fast_live_source_keeps_only_the_newest_frames() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    // The source makes frames as fast as it can; four scales at a large net size make inference the
    // slow stage, so frames must be dropped rather than queued.
    let source = SourceSpec::Synthetic {
        width: 320,
        height: 240,
        fps: 0,
        frames: 0,
    };
    let p = LivePipeline::start(
        source,
        EngineSpec {
            model,
            device: Device::Cpu,
        },
        settings(1024, vec![1.0, 1.0, 1.0, 1.0]),
        Arc::new(|| {}),
    );
    let events = collect(&p, 20, |e| results(e).len() >= 15);
    let r = results(&events);
    assert!(r.len() >= 15, "results keep coming: {events:?}");
    assert!(events
        .iter()
        .any(|e| matches!(e, LiveEvent::SourceOpened(i) if i.live)));
    assert!(events
        .iter()
        .any(|e| matches!(e, LiveEvent::ModelLoaded { .. })));
    let indices: Vec<u64> = r.iter().map(|x| x.frame.index).collect();
    assert!(
        indices.windows(2).all(|w| w[0] < w[1]),
        "in order: {indices:?}"
    );
    let last = r.last().unwrap();
    assert!(last.dropped > 0, "stale frames dropped and counted");
    assert!(
        last.frame.index > r.len() as u64,
        "skipped frames: newest wins ({indices:?})"
    );
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
        "latency {worst} ms vs processing {slowest} ms"
    );
}

#[test]
fn settings_apply_to_the_next_frame_and_paused_frames_can_be_refreshed() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    let p = LivePipeline::start(
        SourceSpec::Video(clip),
        EngineSpec {
            model,
            device: Device::Cpu,
        },
        settings(368, vec![1.0]),
        Arc::new(|| {}),
    );
    p.control(Control::RealTime(false));
    let events = collect(&p, 30, |e| !results(e).is_empty());
    assert!(
        results(&events).iter().any(|r| r.people.len() >= 3),
        "people in the street"
    );
    p.control(Control::Pause);
    let mut strict = settings(368, vec![1.0]);
    strict.thresholds.peak = 1.01;
    p.set_settings(strict);
    p.control(Control::Seek(0.0));
    let events = collect(&p, 30, |e| !results(e).is_empty());
    let r = results(&events);
    assert!(!r.is_empty());
    assert!(
        r.iter().all(|r| r.people.is_empty()),
        "a peak threshold above every peak leaves nobody"
    );
    // A new net size re-runs the network on the paused frame.
    let mut small = settings(184, vec![1.0]);
    small.thresholds.peak = 1.01;
    p.set_settings(small);
    let refreshed = |e: &[LiveEvent]| results(e).iter().any(|r| r.maps.heatmaps.height() == 23);
    let events = collect(&p, 30, refreshed);
    assert!(
        refreshed(&events),
        "the paused frame is run again at net height 184 (grid 23)"
    );
}

#[test]
fn failures_are_events_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    // A webcam that is not there.
    let p = LivePipeline::start(
        SourceSpec::Camera {
            index: 57,
            format: None,
        },
        EngineSpec {
            model: dir.path().join("none.onnx"),
            device: Device::Cpu,
        },
        settings(368, vec![1.0]),
        Arc::new(|| {}),
    );
    let events = collect(&p, 30, |e| {
        e.iter()
            .filter(|x| matches!(x, LiveEvent::Error(_)))
            .count()
            >= 2
    });
    let errors: Vec<String> = events
        .iter()
        .filter_map(|e| {
            if let LiveEvent::Error(m) = e {
                Some(m.clone())
            } else {
                None
            }
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|m| m.contains("camera:57") || m.contains("webcam")),
        "{errors:?} in {events:?}"
    );
    assert!(
        errors.iter().any(|m| m.contains("does not exist")),
        "{errors:?}"
    );
}
