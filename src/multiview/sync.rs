//! Views that started at different moments, put in step from the people's movement (as Pose2Sim's
//! synchronisation does): each view's keypoint speeds over time, correlated with the first view's at
//! every lag within reach; the best lag is the offset, its correlation the confidence.

use serde::Serialize;

use super::associate::{epipolar_px, median, ViewPerson};
use super::rig::Rig;
use super::scene::{Detection, ViewClip};

/// A view's offset found from movement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FoundOffset {
    /// How many seconds after the first view this one started.
    pub seconds: f64,
    /// The same in this view's frames.
    pub frames: f64,
    /// Pearson correlation of the speeds at that offset (1: identical movement).
    pub confidence: f64,
}

impl FoundOffset {
    /// The first view, against which the others are found.
    pub const REFERENCE: FoundOffset = FoundOffset {
        seconds: 0.0,
        frames: 0.0,
        confidence: 1.0,
    };
}

/// Each frame's movement: the mean speed of the keypoints of the person moving most (found in this
/// frame and the last, matched by nearest centre), in units of their height, over 5 frames. The one
/// moving most is what every view sees alike; standing people add only their detector's jitter.
pub fn motion_signal(clip: &ViewClip) -> Vec<f64> {
    let mut raw = vec![0.0];
    raw.extend(clip.people.windows(2).map(|w| {
        w[1].iter()
            .filter_map(|p| speed(p, &w[0]))
            .fold(0.0, f64::max)
    }));
    raw.truncate(clip.people.len());
    (0..raw.len())
        .map(|f| {
            let window = &raw[f.saturating_sub(2)..(f + 3).min(raw.len())];
            window.iter().sum::<f64>() / window.len() as f64
        })
        .collect()
}

fn centre_and_height(d: &Detection) -> Option<([f64; 2], f64)> {
    let pts: Vec<[f64; 2]> = d.iter().flatten().map(|(xy, _)| *xy).collect();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let c = [
        pts.iter().map(|p| p[0]).sum::<f64>() / n,
        pts.iter().map(|p| p[1]).sum::<f64>() / n,
    ];
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p[1]), hi.max(p[1]))
    });
    Some((c, (hi - lo).max(1.0)))
}

/// This person's keypoint speed against the nearest person of the frame before.
fn speed(p: &Detection, before: &[Detection]) -> Option<f64> {
    let (c, h) = centre_and_height(p)?;
    let prev = before
        .iter()
        .filter_map(|q| Some((q, centre_and_height(q)?.0)))
        .map(|(q, qc)| (q, ((qc[0] - c[0]).powi(2) + (qc[1] - c[1]).powi(2)).sqrt()))
        .filter(|(_, d)| *d < 0.5 * h)
        .min_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let steps: Vec<f64> = p
        .iter()
        .zip(prev)
        .filter_map(|(a, b)| {
            let ((a, _), (b, _)) = (a.as_ref()?, b.as_ref()?);
            Some(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() / h)
        })
        .collect();
    (!steps.is_empty()).then(|| steps.iter().sum::<f64>() / steps.len() as f64)
}

/// A signal sampled at `times`, read at time `t` (linear between samples; `None` outside).
fn sample(times: &[f64], values: &[f64], t: f64) -> Option<f64> {
    let i = times.partition_point(|&x| x < t);
    if i == 0 {
        return (times.first()? - t).abs().lt(&1e-9).then(|| values[0]);
    }
    let (t0, t1) = (times[i - 1], *times.get(i)?);
    let w = (t - t0) / (t1 - t0).max(1e-12);
    Some(values[i - 1] * (1.0 - w) + values[i] * w)
}

fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.len() < 10 {
        return None;
    }
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        ab += (a - ma) * (b - mb);
        aa += (a - ma).powi(2);
        bb += (b - mb).powi(2);
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa * bb).sqrt())
}

/// Each view's offset against the first (which gets 0), trying every lag of the first view's frame
/// period within `max_lag_s`; `None` for a view with too little movement in common.
pub fn find_offsets(clips: &[ViewClip], max_lag_s: f64) -> Vec<Option<FoundOffset>> {
    let Some(reference) = clips.first() else {
        return Vec::new();
    };
    let period = period_of(&reference.times);
    let ref_signal = motion_signal(reference);
    let steps = (max_lag_s / period).round() as i64;
    clips
        .iter()
        .enumerate()
        .map(|(v, clip)| {
            if v == 0 {
                return Some(FoundOffset::REFERENCE);
            }
            let signal = motion_signal(clip);
            let best = (-steps..=steps)
                .filter_map(|k| {
                    let lag = k as f64 * period;
                    // This view's frame at its time t shows the reference's moment t + lag.
                    let pairs: Vec<(f64, f64)> = clip
                        .times
                        .iter()
                        .zip(&signal)
                        .skip(1)
                        .filter_map(|(&t, &s)| {
                            Some((sample(&reference.times, &ref_signal, t + lag)?, s))
                        })
                        .collect();
                    Some((lag, pearson(&pairs)?))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            Some(FoundOffset {
                seconds: best.0,
                frames: best.0 / period_of(&clip.times),
                confidence: best.1,
            })
        })
        .collect()
}

/// With a calibration: the lag at which the views' people agree best geometrically (each of this
/// view's detections against the nearest epipolar match among the first view's, median pixels,
/// averaged over frames). Movement along an epipolar line hides a wrong lag from one pair of
/// views, but not from a whole clip of people moving in several directions. The confidence is how
/// much worse the median lag is than the best (0: no difference, 1: the best is perfect).
pub fn find_offsets_epipolar(
    rig: &Rig,
    clips: &[ViewClip],
    mirror: &[usize],
    max_lag_s: f64,
) -> Vec<Option<FoundOffset>> {
    let Some(reference) = clips.first() else {
        return Vec::new();
    };
    let period = period_of(&reference.times);
    let steps = (max_lag_s / period).round() as i64;
    let people = |v: usize, clip: &ViewClip| -> Vec<Vec<ViewPerson>> {
        clip.people
            .iter()
            .map(|frame| {
                frame
                    .iter()
                    .enumerate()
                    .map(|(i, d)| ViewPerson::new(rig, v, i, d))
                    .collect()
            })
            .collect()
    };
    let ref_people = people(0, reference);
    clips
        .iter()
        .enumerate()
        .map(|(v, clip)| {
            if v == 0 {
                return Some(FoundOffset::REFERENCE);
            }
            let mine = people(v, clip);
            let costs: Vec<(f64, f64)> = (-steps..=steps)
                .filter_map(|k| {
                    let lag = k as f64 * period;
                    let mut total = Vec::new();
                    for (f, &t) in clip.times.iter().enumerate() {
                        // The same frames for every lag: those the first view covers at all lags.
                        let (lo, hi) = (t - max_lag_s - 1e-9, t + max_lag_s + 1e-9);
                        let covered = reference.times.first().is_some_and(|&a| a <= lo + period)
                            && reference.times.last().is_some_and(|&b| b >= hi - period);
                        let start = reference.times.first().copied().unwrap_or(0.0);
                        let j = ((t + lag - start) / period).round();
                        let theirs = (j >= 0.0).then(|| ref_people.get(j as usize)).flatten();
                        let Some(theirs) = theirs.filter(|_| covered) else {
                            continue;
                        };
                        for p in &mine[f] {
                            let best = theirs
                                .iter()
                                .flat_map(|q| {
                                    [None, Some(mirror)].map(|m| epipolar_px(rig, q, p, m, 0.1))
                                })
                                .flatten()
                                .filter(|(_, n)| *n >= 3)
                                .map(|(d, _)| d.min(UNMATCHED_PX))
                                .fold(UNMATCHED_PX, f64::min);
                            total.push(best);
                        }
                    }
                    (total.len() >= 10)
                        .then(|| (lag, total.iter().sum::<f64>() / total.len() as f64))
                })
                .collect();
            let at = (0..costs.len()).min_by(|&a, &b| costs[a].1.total_cmp(&costs[b].1))?;
            let best = costs[at];
            let mut all: Vec<f64> = costs.iter().map(|c| c.1).collect();
            let typical = median(&mut all)?;
            Some(FoundOffset {
                seconds: best.0,
                frames: best.0 / period_of(&clip.times),
                confidence: 1.0 - best.1 / typical.max(1e-9),
            })
        })
        .collect()
}

/// An epipolar distance counted at most this much: a detection with no counterpart weighs the
/// same at every lag.
const UNMATCHED_PX: f64 = 40.0;

fn period_of(times: &[f64]) -> f64 {
    if times.len() < 2 {
        return 1.0 / 30.0;
    }
    ((times[times.len() - 1] - times[0]) / (times.len() - 1) as f64).max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One person whose joints jump about at irregular moments.
    fn clip(frames: usize, start: usize) -> ViewClip {
        let pos = |f: usize| {
            let f = (f + start) as f64;
            (f * 0.37).sin() * 30.0
                + (f * 0.11).cos() * 50.0
                + if (f as usize) % 17 < 3 { 40.0 } else { 0.0 }
        };
        ViewClip {
            times: (0..frames).map(|f| f as f64 / 60.0).collect(),
            people: (0..frames)
                .map(|f| {
                    let x = 300.0 + pos(f);
                    vec![(0..5)
                        .map(|j| Some(([x + j as f64, 200.0 + 40.0 * j as f64], 0.9)))
                        .collect()]
                })
                .collect(),
        }
    }

    #[test]
    fn a_view_that_started_late_is_found_late_by_as_much() {
        let found = find_offsets(&[clip(120, 0), clip(110, 7), clip(120, 0)], 0.5);
        let late = found[1].expect("found");
        assert!(
            (late.frames - 7.0).abs() < 0.01 && late.confidence > 0.95,
            "{late:?}"
        );
        assert!(found[2].expect("found").frames.abs() < 0.01);
    }
}
