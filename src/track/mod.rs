//! People over time, as pure code (no I/O, no threads): each frame's people are assigned to tracks so
//! a person keeps one ID from first frame to last.
//!
//! - **Cost**: similarity between each track's *predicted* pose (constant velocity from its recent
//!   motion, by real timestamps, so dropped frames and variable frame rates work) and each detection:
//!   OKS with COCO's per-part falloffs, or box overlap when few parts are shared ([`similarity`]).
//! - **Assignment**: optimal (Kuhn-Munkres, [`assign`]) with a gate; confirmed tracks choose first, so
//!   a flickering false detection cannot take a person's place.
//! - **Lifecycle**: a track gets its ID once seen in `confirm_frames` frames, survives gaps of up to
//!   `max_gap_s` seconds (a person hidden for a moment gets the same ID back), then ends. IDs are never
//!   reused within a run.
//! - **Smoothing** ([`smooth`]): One-Euro per keypoint, a view beside the raw keypoints.

pub mod assign;
pub mod similarity;
pub mod smooth;

use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::pose::{check_range, Keypoint, Person, RangeError, Skeleton};
use smooth::OneEuro;

/// Every knob of the tracker, with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackerSettings {
    /// Frames a new track must be seen in before it gets an ID (3: a detection that flickers up for a
    /// frame or two never does).
    pub confirm_frames: u32,
    /// Seconds a track survives unseen (2.0: people hidden or missed for a moment come back).
    pub max_gap_s: f32,
    /// Least similarity (0..1) for a detection to continue a track (0.2).
    pub min_similarity: f32,
    /// Shared parts below which box overlap is used instead of OKS (3).
    pub min_shared_parts: usize,
    /// Motion is extrapolated at most this long (0.5 s); beyond, a track waits where it was heading.
    pub prediction_horizon_s: f32,
    /// Smooth keypoints (a view: raw keypoints are kept).
    pub smoothing: bool,
    /// One-Euro smoothing at rest, in Hz (1.0: still joints stop jittering).
    pub min_cutoff_hz: f32,
    /// How fast the cutoff rises with speed, per body size per second (4.0: fast joints do not lag).
    pub beta: f32,
    /// Positions kept for trails, in frames (30).
    pub trail_length: usize,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        Self {
            confirm_frames: 3,
            max_gap_s: 2.0,
            min_similarity: 0.2,
            min_shared_parts: 3,
            prediction_horizon_s: 0.5,
            smoothing: true,
            min_cutoff_hz: 1.0,
            beta: 4.0,
            trail_length: 30,
        }
    }
}

impl TrackerSettings {
    pub const CONFIRM_FRAMES: RangeInclusive<u32> = 1..=30;
    pub const MAX_GAP_S: RangeInclusive<f32> = 0.0..=30.0;
    pub const MIN_SIMILARITY: RangeInclusive<f32> = 0.0..=1.0;
    pub const MIN_SHARED_PARTS: RangeInclusive<usize> = 1..=25;
    pub const HORIZON_S: RangeInclusive<f32> = 0.0..=5.0;
    pub const MIN_CUTOFF_HZ: RangeInclusive<f32> = 0.01..=30.0;
    pub const BETA: RangeInclusive<f32> = 0.0..=100.0;
    pub const TRAIL_LENGTH: RangeInclusive<usize> = 0..=600;

    /// Checks every field against its range; the error names the field and the range.
    pub fn validate(&self) -> Result<(), RangeError> {
        check_range("confirm frames", self.confirm_frames, Self::CONFIRM_FRAMES)?;
        check_range("max gap", self.max_gap_s, Self::MAX_GAP_S)?;
        check_range("min similarity", self.min_similarity, Self::MIN_SIMILARITY)?;
        check_range(
            "min shared parts",
            self.min_shared_parts,
            Self::MIN_SHARED_PARTS,
        )?;
        check_range(
            "prediction horizon",
            self.prediction_horizon_s,
            Self::HORIZON_S,
        )?;
        check_range("min cutoff", self.min_cutoff_hz, Self::MIN_CUTOFF_HZ)?;
        check_range("beta", self.beta, Self::BETA)?;
        check_range("trail length", self.trail_length, Self::TRAIL_LENGTH)
    }
}

/// One person of a frame as the tracker sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedPerson {
    /// The track this person belongs to: stable across frames, also before the track has an ID.
    pub track: u64,
    /// The ID users see, once the track is confirmed; never reused within a run.
    pub id: Option<u64>,
    /// The keypoints smoothed (the raw ones stay in the person); the raw ones when smoothing is off.
    pub smoothed: Vec<Option<Keypoint>>,
    /// Recent positions of the trail part, oldest first.
    pub trail: Vec<(f32, f32)>,
}

/// A person followed over time.
#[derive(Debug, Clone)]
struct Track {
    key: u64,
    id: Option<u64>,
    hits: u32,
    last_seen: f64,
    /// Each part's last position and when it was seen.
    parts: Vec<Option<(Keypoint, f64)>>,
    /// Whole-body velocity, pixels per second.
    velocity: (f32, f32),
    /// x and y filters per part, and when each part was last filtered.
    filters: Vec<([OneEuro; 2], f64)>,
    trail: VecDeque<(f32, f32)>,
}

/// Assigns each frame's people to tracks.
#[derive(Debug)]
pub struct Tracker {
    settings: TrackerSettings,
    sigmas: Vec<f32>,
    /// Each part's left/right mirror image.
    mirror: Vec<usize>,
    /// The part whose path trails draw (the neck, else the first part).
    trail_part: usize,
    tracks: Vec<Track>,
    next_key: u64,
    next_id: u64,
    /// IDs of every track confirmed so far, also after it ended (for late labelling).
    ids: HashMap<u64, u64>,
    last_time: Option<f64>,
}

impl Track {
    /// Where each part should be at `t`, moving on with the body's velocity for at most `horizon` s.
    fn predicted(&self, t: f64, horizon: f32) -> Vec<Option<Keypoint>> {
        self.parts
            .iter()
            .map(|p| {
                p.map(|(k, seen)| {
                    let dt = ((t - seen) as f32).clamp(0.0, horizon);
                    Keypoint {
                        x: k.x + self.velocity.0 * dt,
                        y: k.y + self.velocity.1 * dt,
                        ..k
                    }
                })
            })
            .collect()
    }

    /// Takes in this frame's detection of the person (`keypoints` in the track's left/right
    /// orientation); returns the smoothed keypoints, same orientation.
    fn observe(
        &mut self,
        t: f64,
        keypoints: &[Option<Keypoint>],
        s: &TrackerSettings,
        trail_part: usize,
    ) -> Vec<Option<Keypoint>> {
        let dt = (t - self.last_seen) as f32;
        let moved: Vec<(f32, f32)> = self
            .parts
            .iter()
            .zip(keypoints)
            .filter_map(|(old, new)| {
                Some(((*new)?.x - old.as_ref()?.0.x, (*new)?.y - old.as_ref()?.0.y))
            })
            .collect();
        if dt > 0.0 && !moved.is_empty() {
            let n = moved.len() as f32;
            let v = (
                moved.iter().map(|m| m.0).sum::<f32>() / n / dt,
                moved.iter().map(|m| m.1).sum::<f32>() / n / dt,
            );
            self.velocity = (0.5 * (self.velocity.0 + v.0), 0.5 * (self.velocity.1 + v.1));
        }
        for (slot, k) in self.parts.iter_mut().zip(keypoints) {
            match k {
                Some(k) => *slot = Some((*k, t)),
                None => {
                    if slot.is_some_and(|(_, seen)| t - seen > s.max_gap_s as f64) {
                        *slot = None;
                    }
                }
            }
        }
        self.hits += 1;
        self.last_seen = t;
        let smoothed = self.smooth(t, keypoints, s);
        if let Some(Some(k)) = smoothed.get(trail_part) {
            self.trail.push_back((k.x, k.y));
        }
        while self.trail.len() > s.trail_length {
            self.trail.pop_front();
        }
        smoothed
    }

    fn smooth(
        &mut self,
        t: f64,
        keypoints: &[Option<Keypoint>],
        s: &TrackerSettings,
    ) -> Vec<Option<Keypoint>> {
        if !s.smoothing {
            return keypoints.to_vec();
        }
        let size = similarity::bounds(keypoints).map_or(1.0, |b| {
            ((b[2] - b[0]).powi(2) + (b[3] - b[1]).powi(2)).sqrt()
        });
        keypoints
            .iter()
            .zip(self.filters.iter_mut())
            .map(|(k, (filters, last))| {
                let k = (*k)?;
                let dt = (t - *last) as f32;
                *last = t;
                let [fx, fy] = filters;
                Some(Keypoint {
                    x: fx.filter(k.x, dt, s.min_cutoff_hz, s.beta, size),
                    y: fy.filter(k.y, dt, s.min_cutoff_hz, s.beta, size),
                    score: k.score,
                })
            })
            .collect()
    }
}

/// The part whose path trails draw: the neck, else the first part.
pub fn trail_part(skeleton: &Skeleton) -> usize {
    skeleton
        .parts
        .iter()
        .position(|p| p.name == "neck")
        .unwrap_or(0)
}

impl Tracker {
    pub fn new(skeleton: &Skeleton, settings: TrackerSettings) -> Self {
        Self {
            settings,
            sigmas: skeleton.oks_sigmas(),
            mirror: skeleton.mirror(),
            trail_part: trail_part(skeleton),
            tracks: Vec::new(),
            next_key: 0,
            next_id: 0,
            ids: HashMap::new(),
            last_time: None,
        }
    }

    pub fn settings(&self) -> &TrackerSettings {
        &self.settings
    }

    /// Applies to the next frame.
    pub fn set_settings(&mut self, settings: TrackerSettings) {
        self.settings = settings;
    }

    /// A clip that ended after `frames` frames, too few to confirm anyone (a still, a one-frame
    /// clip): the people seen in all its frames get their IDs now, as a photo's people do.
    pub fn confirm_short_clip(&mut self, frames: u32) {
        if frames == 0 || frames >= self.settings.confirm_frames {
            return;
        }
        for track in self.tracks.iter_mut().filter(|t| t.id.is_none()) {
            if track.hits >= frames {
                self.next_id += 1;
                track.id = Some(self.next_id);
                self.ids.insert(track.key, self.next_id);
            }
        }
    }

    /// The ID track `key` got, if it was confirmed (also after it ended).
    pub fn id_of(&self, key: u64) -> Option<u64> {
        self.ids.get(&key).copied()
    }

    /// Whether track `key` is still followed (it may still get an ID).
    pub fn is_alive(&self, key: u64) -> bool {
        self.tracks.iter().any(|t| t.key == key)
    }

    /// IDs handed out so far.
    pub fn ids_given(&self) -> u64 {
        self.next_id
    }

    /// Assigns this frame's `people` (seen at `time_s`) to tracks; one entry per person, in order.
    pub fn update(&mut self, time_s: f64, people: &[Person]) -> Vec<TrackedPerson> {
        if self.last_time.is_some_and(|last| time_s < last) {
            // Time went backwards (a seek): a new scene; tracks end, IDs are not reused.
            self.tracks.clear();
        }
        self.last_time = Some(time_s);
        let max_gap = self.settings.max_gap_s as f64;
        self.tracks.retain(|t| time_s - t.last_seen <= max_gap);
        // (track index, seen mirrored) for each person.
        let mut owner: Vec<Option<(usize, bool)>> = vec![None; people.len()];
        // Confirmed tracks choose first; then tentative ones take what is left.
        for confirmed in [true, false] {
            let candidates: Vec<usize> = (0..self.tracks.len())
                .filter(|&i| self.tracks[i].id.is_some() == confirmed)
                .collect();
            let free: Vec<usize> = (0..people.len()).filter(|&d| owner[d].is_none()).collect();
            for (r, c, mirrored) in self.match_tracks(time_s, &candidates, &free, people) {
                owner[free[c]] = Some((candidates[r], mirrored));
            }
        }
        let mut out = Vec::with_capacity(people.len());
        for (d, person) in people.iter().enumerate() {
            let (index, mirrored) = owner[d]
                .unwrap_or_else(|| (self.start_track(time_s, person.keypoints.len()), false));
            out.push(self.observe(index, time_s, person, mirrored));
        }
        out
    }

    /// `keypoints` with left and right swapped.
    fn mirrored(&self, keypoints: &[Option<Keypoint>]) -> Vec<Option<Keypoint>> {
        self.mirror
            .iter()
            .map(|&m| keypoints.get(m).copied().flatten())
            .collect()
    }

    /// The best pairs (index into `tracks`, index into `detections`, matched mirrored) above the gate.
    /// A detection whose left and right are swapped (a person seen from behind) matches too.
    fn match_tracks(
        &self,
        time_s: f64,
        tracks: &[usize],
        detections: &[usize],
        people: &[Person],
    ) -> Vec<(usize, usize, bool)> {
        let s = &self.settings;
        // Each detection as seen, and mirrored, with its box (mirroring keeps the box).
        let seen: Vec<_> = detections
            .iter()
            .map(|&d| {
                let k = &people[d].keypoints;
                (similarity::bounds(k), self.mirrored(k))
            })
            .collect();
        let mut mirrored = vec![vec![false; detections.len()]; tracks.len()];
        let matrix: Vec<Vec<f32>> = tracks
            .iter()
            .enumerate()
            .map(|(r, &t)| {
                let track = &self.tracks[t];
                let predicted = track.predicted(time_s, s.prediction_horizon_s);
                let Some(pb) = similarity::bounds(&predicted) else {
                    return vec![0.0; detections.len()];
                };
                let gap = (time_s - track.last_seen) as f32;
                let slack = 1.0 + gap / s.max_gap_s.max(1e-3);
                let sim = |k: &[Option<Keypoint>], db| {
                    let (p, min) = ((predicted.as_slice(), pb), s.min_shared_parts);
                    similarity::similarity_in_boxes(p, (k, db), &self.sigmas, min, slack)
                };
                detections
                    .iter()
                    .zip(&seen)
                    .enumerate()
                    .map(|(c, (&d, (db, flipped)))| {
                        let Some(db) = *db else { return 0.0 };
                        if similarity::far_apart(pb, db, slack) {
                            return 0.0;
                        }
                        let (direct, flip) = (sim(&people[d].keypoints, db), sim(flipped, db));
                        mirrored[r][c] = flip > direct;
                        direct.max(flip)
                    })
                    .collect()
            })
            .collect();
        assign::assign(&matrix, s.min_similarity.max(1e-6))
            .into_iter()
            .map(|(r, c)| (r, c, mirrored[r][c]))
            .collect()
    }

    fn start_track(&mut self, time_s: f64, parts: usize) -> usize {
        self.tracks.push(Track {
            key: self.next_key,
            id: None,
            hits: 0,
            last_seen: time_s,
            parts: vec![None; parts],
            velocity: (0.0, 0.0),
            filters: vec![Default::default(); parts],
            trail: VecDeque::new(),
        });
        self.next_key += 1;
        self.tracks.len() - 1
    }

    /// Updates track `index` with `person` (seen `mirrored`: its left and right swapped relative to
    /// the track). The smoothed keypoints come back in the person's own labelling.
    fn observe(
        &mut self,
        index: usize,
        time_s: f64,
        person: &Person,
        mirrored: bool,
    ) -> TrackedPerson {
        let (settings, trail_part) = (self.settings, self.trail_part);
        let oriented = if mirrored {
            self.mirrored(&person.keypoints)
        } else {
            person.keypoints.clone()
        };
        let track = &mut self.tracks[index];
        let smoothed = track.observe(time_s, &oriented, &settings, trail_part);
        if track.id.is_none() && track.hits >= settings.confirm_frames {
            self.next_id += 1;
            track.id = Some(self.next_id);
            self.ids.insert(track.key, self.next_id);
        }
        let track = &self.tracks[index];
        TrackedPerson {
            track: track.key,
            id: track.id,
            trail: track.trail.iter().copied().collect(),
            smoothed: if mirrored {
                self.mirrored(&smoothed)
            } else {
                smoothed
            },
        }
    }
}

/// Labels `new` people (the same frame associated again, e.g. with other thresholds) with the tracks
/// of the `old` people they match best (OKS); their smoothed keypoints are their own.
pub fn carry_tracks(
    skeleton: &Skeleton,
    old: &[Person],
    old_tracked: &[TrackedPerson],
    new: &[Person],
) -> Vec<TrackedPerson> {
    let sigmas = skeleton.oks_sigmas();
    let matrix: Vec<Vec<f32>> = old
        .iter()
        .map(|o| {
            new.iter()
                .map(|n| similarity::similarity(&o.keypoints, &n.keypoints, &sigmas, 3, 1.0))
                .collect()
        })
        .collect();
    let mut out: Vec<TrackedPerson> = new
        .iter()
        .map(|n| TrackedPerson {
            track: u64::MAX,
            id: None,
            smoothed: n.keypoints.clone(),
            trail: Vec::new(),
        })
        .collect();
    for (o, n) in assign::assign(&matrix, 0.1) {
        if let Some(t) = old_tracked.get(o) {
            out[n].track = t.track;
            out[n].id = t.id;
            out[n].trail = t.trail.clone();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::COCO18;
    use crate::testkit::maps::standing_person_coco18;

    fn person_at(x: f32, y: f32) -> Person {
        Person {
            keypoints: standing_person_coco18(x, y, 160.0)
                .into_iter()
                .map(|p| p.map(|(x, y)| Keypoint { x, y, score: 0.9 }))
                .collect(),
            score: 20.0,
        }
    }

    #[test]
    fn ids_come_after_confirmation_and_are_never_reused() {
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        let frame = |t: &mut Tracker, i: u32, xs: &[f32]| {
            let people: Vec<Person> = xs.iter().map(|&x| person_at(x, 100.0)).collect();
            t.update(i as f64 / 10.0, &people)
        };
        assert_eq!(frame(&mut t, 0, &[100.0])[0].id, None);
        assert_eq!(frame(&mut t, 1, &[102.0])[0].id, None);
        assert_eq!(
            frame(&mut t, 2, &[104.0])[0].id,
            Some(1),
            "confirmed on the third frame"
        );
        // Gone for 1 s: same ID back.
        let back = frame(&mut t, 12, &[120.0]);
        assert_eq!(back[0].id, Some(1));
        // Gone for 3 s: the track ended; a new one gets a new ID, never 1 again.
        for i in 0..3 {
            frame(&mut t, 42 + i, &[120.0]);
        }
        assert_eq!(frame(&mut t, 45, &[120.0])[0].id, Some(2));
        assert_eq!(t.id_of(0), Some(1), "the first track's ID is remembered");
    }

    #[test]
    fn a_clip_too_short_to_confirm_gives_the_people_in_all_its_frames_ids() {
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        let one = t.update(0.0, &[person_at(100.0, 100.0), person_at(400.0, 100.0)]);
        t.confirm_short_clip(1);
        let ids: Vec<_> = one.iter().map(|p| t.id_of(p.track)).collect();
        assert_eq!(ids, [Some(1), Some(2)]);
        // Two frames: only a person seen in both is confirmed.
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        let first = t.update(0.0, &[person_at(100.0, 100.0)]);
        let second = t.update(0.1, &[person_at(101.0, 100.0), person_at(400.0, 100.0)]);
        t.confirm_short_clip(2);
        assert_eq!(t.id_of(first[0].track), Some(1));
        let late = second.iter().find(|p| p.track != first[0].track).unwrap();
        assert_eq!(t.id_of(late.track), None, "seen in one frame of two");
        // A clip long enough to confirm is left as its frames decided.
        t.confirm_short_clip(3);
        assert_eq!(t.id_of(late.track), None);
    }

    #[test]
    fn a_person_whose_left_and_right_swap_keeps_their_track() {
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        let front = person_at(200.0, 100.0);
        let mirror = COCO18.mirror();
        let back = Person {
            keypoints: mirror.iter().map(|&m| front.keypoints[m]).collect(),
            score: front.score,
        };
        let mut tracks = Vec::new();
        for i in 0..8 {
            let p = if i % 3 == 2 { &back } else { &front };
            let seen = t.update(i as f64 * 0.1, std::slice::from_ref(p));
            tracks.push(seen[0].track);
            // Smoothed keypoints keep the detection's own labels.
            let right_shoulder = seen[0].smoothed[2].unwrap();
            assert!((right_shoulder.x - p.keypoints[2].unwrap().x).abs() < 1.0);
        }
        assert!(tracks.iter().all(|&k| k == tracks[0]), "{tracks:?}");
    }

    #[test]
    fn re_associated_people_keep_their_tracks() {
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        let people = [person_at(100.0, 100.0), person_at(400.0, 100.0)];
        let mut tracked = Vec::new();
        for i in 0..3 {
            tracked = t.update(i as f64 * 0.1, &people);
        }
        // The same frame with stricter thresholds: one person lost a part, the order changed.
        let mut second = people[1].clone();
        second.keypoints[4] = None;
        let again = carry_tracks(&COCO18, &people, &tracked, &[second, people[0].clone()]);
        assert_eq!(again[0].id, tracked[1].id);
        assert_eq!(again[1].id, tracked[0].id);
        assert!(again[0].id.is_some());
    }

    #[test]
    fn motion_is_predicted_from_real_time_so_dropped_frames_do_not_break_tracks() {
        let mut t = Tracker::new(&COCO18, TrackerSettings::default());
        // Two people 150 px apart walking towards each other at 300 px/s, seen at irregular times.
        let times = [0.0, 0.033, 0.066, 0.1, 0.2, 0.233, 0.4, 0.433];
        let mut ids = Vec::new();
        for &time in &times {
            let d = 300.0 * time as f32;
            let seen = t.update(
                time,
                &[person_at(100.0 + d, 100.0), person_at(250.0 - d, 100.0)],
            );
            ids.push((seen[0].track, seen[1].track));
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    }
}
