//! `posecam bench --fuzz N`: association on N hostile network outputs (random sizes and layouts,
//! noise, NaN, ±∞, huge values, out-of-range thresholds), counting panics and non-finite keypoints.

use crate::cli::console::outln;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{bail, Result};
use posecam::pose::{Associator, COCO18};
use posecam::testkit::maps::fuzz_case;

use super::round;

/// What the cases of one thread found.
#[derive(Default)]
struct Findings {
    panics: Vec<u64>,
    non_finite: Vec<u64>,
    people: u64,
}

fn run_cases(seeds: impl Iterator<Item = u64>, done: &AtomicU64) -> Findings {
    let mut found = Findings::default();
    let mut associator = Associator::new();
    for seed in seeds {
        let (maps, thresholds) = fuzz_case(seed, &COCO18);
        match catch_unwind(AssertUnwindSafe(|| {
            associator.run(&maps, &COCO18, &thresholds)
        })) {
            Ok(people) => {
                found.people += people.len() as u64;
                let finite = people
                    .iter()
                    .flat_map(|p| p.keypoints.iter().flatten())
                    .all(|k| k.x.is_finite() && k.y.is_finite() && k.score.is_finite());
                if !finite {
                    found.non_finite.push(seed);
                }
            }
            Err(_) => {
                found.panics.push(seed);
                associator = Associator::new();
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    found
}

pub fn run(cases: u64) -> Result<()> {
    if !(1..=100_000_000).contains(&cases) {
        bail!("--fuzz must be between 1 and 100000000 cases, got {cases}");
    }
    let threads = posecam::infer::WorkerPlan::cores() as u64;
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let findings: Vec<Findings> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                std::thread::Builder::new()
                    .name(format!("posecam-fuzz-{t}"))
                    .spawn_scoped(scope, move || {
                        run_cases((t..cases).step_by(threads as usize), done)
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok::<_, std::io::Error>(handles.into_iter().filter_map(|h| h.join().ok()).collect())
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let panics: Vec<u64> = findings.iter().flat_map(|f| f.panics.clone()).collect();
    let non_finite: Vec<u64> = findings.iter().flat_map(|f| f.non_finite.clone()).collect();
    let people: u64 = findings.iter().map(|f| f.people).sum();
    outln!(
        "fuzz: {cases} hostile network outputs in {seconds:.1} s ({:.0} cases/s): {} panics, {} with \
         non-finite keypoints, {people} people found",
        cases as f64 / seconds,
        panics.len(),
        non_finite.len()
    );
    let figures = serde_json::json!({
        "fuzz_cases": cases,
        "seconds": round(seconds),
        "cases_per_s": round(cases as f64 / seconds),
        "panics": panics.len(),
        "non_finite": non_finite.len(),
        "first_failing_seeds": panics.iter().chain(&non_finite).take(10).collect::<Vec<_>>(),
        "people": people,
    });
    outln!("{figures}");
    if !panics.is_empty() || !non_finite.is_empty() {
        bail!("association failed on some cases (seeds above)");
    }
    Ok(())
}
