//! `posecam bench --track`: tracking time per frame (20 synthetic people), and on a real clip
//! (`--video`), how many IDs posecam's tracker gives against the previous-frame greedy tracker of
//! lightweight-openpose on the same detections.

use crate::cli::console::outln;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use posecam::pose::{Associator, Keypoint, Person, Thresholds, COCO18};
use posecam::testkit::greedy_tracker::GreedyTracker;
use posecam::testkit::maps::{standing_person_coco18, SplitMix64};
use posecam::track::{Tracker, TrackerSettings};

use super::{median, round};
use crate::cli::ModelArgs;

/// People in the timing run.
const SYNTHETIC_PEOPLE: usize = 20;
const SYNTHETIC_FRAMES: usize = 600;

/// 20 people walking on a grid, keypoints jittered by ±2 px, at 30 fps.
fn synthetic_crowd() -> Vec<(f64, Vec<Person>)> {
    let mut rng = SplitMix64(42);
    (0..SYNTHETIC_FRAMES)
        .map(|f| {
            let t = f as f64 / 30.0;
            let people = (0..SYNTHETIC_PEOPLE)
                .map(|i| {
                    let (col, row) = ((i % 5) as f32, (i / 5) as f32);
                    let x = 100.0 + col * 360.0 + 60.0 * (t as f32 * 0.5 + i as f32).sin();
                    let keypoints = standing_person_coco18(x, 100.0 + row * 260.0, 200.0)
                        .into_iter()
                        .map(|p| {
                            p.map(|(x, y)| Keypoint {
                                x: x + (rng.unit() - 0.5) * 4.0,
                                y: y + (rng.unit() - 0.5) * 4.0,
                                score: 0.8,
                            })
                        })
                        .collect();
                    Person {
                        keypoints,
                        score: 20.0,
                    }
                })
                .collect();
            (t, people)
        })
        .collect()
}

/// Every frame's people in `video` (every `every`-th frame), with their times.
fn detections(video: &Path, model: &ModelArgs, every: usize) -> Result<Vec<(f64, Vec<Person>)>> {
    let net = model.net()?;
    let mut engine = model.load_engine()?;
    let mut reader = posecam::video::VideoReader::open(video)?;
    let mut associator = Associator::new();
    let mut out = Vec::new();
    let mut index = 0usize;
    while let Some(frame) = reader.next_frame()? {
        index += 1;
        if !(index - 1).is_multiple_of(every) {
            continue;
        }
        let maps = engine.infer_input(posecam::infer::NetInput::Yuv(&frame.picture), &net)?;
        let people = associator.run(&maps, engine.skeleton(), &Thresholds::default());
        out.push((frame.time_s, people));
    }
    Ok(out)
}

/// Distinct IDs and per-frame update times of posecam's tracker; distinct IDs of the greedy one.
fn compare(frames: &[(f64, Vec<Person>)]) -> (u64, Vec<Duration>, u64) {
    let mut tracker = Tracker::new(&COCO18, TrackerSettings::default());
    let mut greedy = GreedyTracker::new(&COCO18);
    let mut times = Vec::with_capacity(frames.len());
    let mut greedy_ids = std::collections::BTreeSet::new();
    for (t, people) in frames {
        let start = Instant::now();
        tracker.update(*t, people);
        times.push(start.elapsed());
        greedy_ids.extend(greedy.update(people));
    }
    (tracker.ids_given(), times, greedy_ids.len() as u64)
}

pub fn run(video: Option<&Path>, every: usize, model: &ModelArgs) -> Result<()> {
    if !(1..=1000).contains(&every) {
        bail!("--every must be between 1 and 1000, got {every}");
    }
    let crowd = synthetic_crowd();
    let (_, times, _) = compare(&crowd);
    let track_ms = median(times);
    outln!("tracking {SYNTHETIC_PEOPLE} people: {track_ms:.4} ms per frame (median of {SYNTHETIC_FRAMES})");
    let mut figures = serde_json::json!({
        "track_people": SYNTHETIC_PEOPLE,
        "track_ms": round(track_ms),
    });
    if let Some(video) = video {
        let frames = detections(video, model, every)?;
        let people: usize = frames.iter().map(|(_, p)| p.len()).sum();
        let (ids, times, greedy_ids) = compare(&frames);
        outln!(
            "{} (every {every} frame(s), {} frames, {people} detections): posecam's tracker {ids} IDs, \
             previous-frame greedy tracker {greedy_ids} IDs; {:.4} ms per frame",
            video.display(),
            frames.len(),
            median(times.clone())
        );
        figures["video"] = serde_json::json!(video.display().to_string());
        figures["every"] = serde_json::json!(every);
        figures["frames"] = serde_json::json!(frames.len());
        figures["detections"] = serde_json::json!(people);
        figures["ids"] = serde_json::json!(ids);
        figures["greedy_ids"] = serde_json::json!(greedy_ids);
        figures["video_track_ms"] = serde_json::json!(round(median(times)));
    }
    outln!("{figures}");
    Ok(())
}
