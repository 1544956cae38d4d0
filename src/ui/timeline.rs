//! What the window learnt of a file, frame by frame: each processed frame's people, their smoothed
//! keypoints and their tracks, packed small. Stepping back, seeking and replaying show the same IDs
//! and colours without running the network again; the presence strip and the angle history are read
//! from here. Pure data: no egui, no threads.

use std::collections::{BTreeMap, HashMap};

use crate::motion::PersonTrack;
use crate::pose::{Keypoint, Person, Skeleton};
use crate::track::TrackedPerson;

/// Keypoint coordinates are kept in quarter pixels (±8191 px).
const SUBPIXELS: f32 = 4.0;

/// A keypoint in 5 bytes: position in quarter pixels (two little-endian i16) and score in 1/254
/// steps (0: absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct PackedKeypoint {
    xy: [u8; 4],
    score: u8,
}

impl PackedKeypoint {
    fn pack(k: Option<&Keypoint>) -> Self {
        let Some(k) = k else {
            return Self::default();
        };
        let q = |v: f32| {
            (v * SUBPIXELS)
                .round()
                .clamp(i16::MIN as f32, i16::MAX as f32) as i16
        };
        let (x, y) = (q(k.x).to_le_bytes(), q(k.y).to_le_bytes());
        Self {
            xy: [x[0], x[1], y[0], y[1]],
            score: 1 + (k.score.clamp(0.0, 1.0) * 254.0).round() as u8,
        }
    }

    fn unpack(self) -> Option<Keypoint> {
        let [a, b, c, d] = self.xy;
        (self.score > 0).then(|| Keypoint {
            x: i16::from_le_bytes([a, b]) as f32 / SUBPIXELS,
            y: i16::from_le_bytes([c, d]) as f32 / SUBPIXELS,
            score: (self.score - 1) as f32 / 254.0,
        })
    }
}

/// No track: tracking was off.
const UNTRACKED: u64 = u64::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
struct KeptPerson {
    track: u64,
    score: f32,
}

/// One frame's people: per person its raw keypoints, then its smoothed ones.
#[derive(Debug, Clone)]
struct KeptFrame {
    index: u64,
    time_s: f64,
    people: Box<[KeptPerson]>,
    points: Box<[PackedKeypoint]>,
}

impl KeptFrame {
    /// Bytes its people and points take on the heap.
    fn payload_bytes(&self) -> usize {
        self.people.len() * std::mem::size_of::<KeptPerson>()
            + self.points.len() * std::mem::size_of::<PackedKeypoint>()
    }

    fn parts(&self) -> usize {
        self.points.len() / (2 * self.people.len()).max(1)
    }

    fn raw(&self, person: usize) -> &[PackedKeypoint] {
        let p = self.parts();
        &self.points[2 * person * p..(2 * person + 1) * p]
    }

    fn smoothed(&self, person: usize) -> &[PackedKeypoint] {
        let p = self.parts();
        &self.points[(2 * person + 1) * p..(2 * person + 2) * p]
    }
}

/// Where a frame lies in its file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramePlace {
    /// Presentation timestamp: the key (exact, whatever the frame rate).
    pub pts: i64,
    pub index: u64,
    pub time_s: f64,
}

/// When one person is in view: the times (seconds) of the frames they are in, as runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Presence {
    pub id: u64,
    /// (first, last) frame time of each run of frames.
    pub runs: Vec<(f64, f64)>,
}

/// Every processed frame of one file, keyed by presentation timestamp.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    frames: BTreeMap<i64, KeptFrame>,
    /// The ID each track got once confirmed: frames kept before then show it too.
    ids: HashMap<u64, u64>,
    /// Bumped at every change, so views computed from the timeline know when to recompute.
    version: u64,
    /// Bytes of the frames' people and points, kept up to date (the stats show it every redraw).
    payload_bytes: usize,
}

impl Timeline {
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn contains(&self, pts: i64) -> bool {
        self.frames.contains_key(&pts)
    }

    /// Forgets everything (another file, or settings that change what was found).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.ids.clear();
        self.payload_bytes = 0;
        self.version += 1;
    }

    /// Forgets every frame but `pts` (settings changed: the frame on screen keeps its tracks, the
    /// others are analysed again).
    pub fn keep_only(&mut self, pts: Option<i64>) {
        let kept = pts.and_then(|p| self.frames.remove_entry(&p));
        self.frames.clear();
        self.payload_bytes = kept.as_ref().map_or(0, |(_, f)| f.payload_bytes());
        self.frames.extend(kept);
        self.version += 1;
    }

    /// Keeps a frame's people (`tracked`: one per person, or empty when tracking is off), replacing
    /// what was kept for that frame.
    pub fn record(&mut self, at: FramePlace, people: &[Person], tracked: &[TrackedPerson]) {
        let parts = people.first().map_or(0, |p| p.keypoints.len());
        let mut points = Vec::with_capacity(people.len() * parts * 2);
        let mut kept = Vec::with_capacity(people.len());
        for (i, person) in people.iter().enumerate() {
            let t = tracked.get(i);
            let smoothed = t.map_or(&person.keypoints, |t| &t.smoothed);
            for k in (0..parts).map(|j| person.keypoints.get(j).and_then(Option::as_ref)) {
                points.push(PackedKeypoint::pack(k));
            }
            for k in (0..parts).map(|j| smoothed.get(j).and_then(Option::as_ref)) {
                points.push(PackedKeypoint::pack(k));
            }
            let track = t.map_or(UNTRACKED, |t| t.track);
            if let (Some(id), true) = (t.and_then(|t| t.id), track != UNTRACKED) {
                self.ids.insert(track, id);
            }
            kept.push(KeptPerson {
                track,
                score: person.score,
            });
        }
        let frame = KeptFrame {
            index: at.index,
            time_s: at.time_s,
            people: kept.into_boxed_slice(),
            points: points.into_boxed_slice(),
        };
        self.payload_bytes += frame.payload_bytes();
        if let Some(old) = self.frames.insert(at.pts, frame) {
            self.payload_bytes -= old.payload_bytes();
        }
        self.version += 1;
    }

    /// The people kept for frame `pts`, with their tracks (IDs as confirmed since) and trails
    /// rebuilt from the frames before; `None` when the frame is not kept.
    pub fn people(
        &self,
        pts: i64,
        skeleton: &Skeleton,
        trail_length: usize,
    ) -> Option<(Vec<Person>, Vec<TrackedPerson>)> {
        let frame = self.frames.get(&pts)?;
        let tracked_at_all = frame.people.iter().any(|p| p.track != UNTRACKED);
        let mut people = Vec::with_capacity(frame.people.len());
        let mut tracked = Vec::new();
        let trail_part = crate::track::trail_part(skeleton);
        for (i, p) in frame.people.iter().enumerate() {
            people.push(Person {
                keypoints: frame.raw(i).iter().map(|k| k.unpack()).collect(),
                score: p.score,
            });
            if tracked_at_all {
                tracked.push(TrackedPerson {
                    track: p.track,
                    id: self.ids.get(&p.track).copied(),
                    smoothed: frame.smoothed(i).iter().map(|k| k.unpack()).collect(),
                    trail: self.trail(pts, p.track, trail_part, trail_length),
                });
            }
        }
        Some((people, tracked))
    }

    /// The kept frame nearest to `pts` (before or after), to carry tracks to a frame never kept.
    pub fn nearest(&self, pts: i64) -> Option<i64> {
        let before = self.frames.range(..pts).next_back().map(|(k, _)| *k);
        let after = self.frames.range(pts..).next().map(|(k, _)| *k);
        match (before, after) {
            (Some(b), Some(a)) => Some(if pts - b <= a - pts { b } else { a }),
            (b, a) => b.or(a),
        }
    }

    /// The path of `track`'s trail part over the frames before `pts` (and at it), oldest first.
    fn trail(&self, pts: i64, track: u64, part: usize, length: usize) -> Vec<(f32, f32)> {
        let mut trail: Vec<(f32, f32)> = Vec::new();
        for frame in self.frames.range(..=pts).rev().map(|(_, f)| f).take(length) {
            let Some(i) = frame.people.iter().position(|p| p.track == track) else {
                break;
            };
            if let Some(k) = frame.smoothed(i).get(part).and_then(|k| k.unpack()) {
                trail.push((k.x, k.y));
            }
        }
        trail.reverse();
        trail
    }

    /// Where frame `pts` lies, if kept.
    pub fn place(&self, pts: i64) -> Option<FramePlace> {
        self.frames.get(&pts).map(|f| FramePlace {
            pts,
            index: f.index,
            time_s: f.time_s,
        })
    }

    /// When each ID is in view, by ID; frames further apart than `gap_s` split a run.
    pub fn presence(&self, gap_s: f64) -> Vec<Presence> {
        let mut runs: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
        for frame in self.frames.values() {
            for p in frame.people.iter() {
                let Some(&id) = self.ids.get(&p.track) else {
                    continue;
                };
                let list = runs.entry(id).or_default();
                match list.last_mut() {
                    Some(run) if frame.time_s - run.1 <= gap_s => run.1 = frame.time_s,
                    _ => list.push((frame.time_s, frame.time_s)),
                }
            }
        }
        runs.into_iter()
            .map(|(id, runs)| Presence { id, runs })
            .collect()
    }

    /// Every ID's raw keypoints over the kept frames, for the motion analysis: a row per kept frame
    /// from their first to their last (empty where they are not in it), with each row's time.
    pub fn tracks(&self) -> Vec<(PersonTrack, Vec<f64>)> {
        self.tracks_of(None)
    }

    /// `id`'s track, as [`tracks`](Self::tracks) gives it (only theirs is built: the angle panel
    /// asks for it as the timeline grows).
    pub fn track_of(&self, id: u64) -> Option<(PersonTrack, Vec<f64>)> {
        self.tracks_of(Some(id)).pop()
    }

    fn tracks_of(&self, only: Option<u64>) -> Vec<(PersonTrack, Vec<f64>)> {
        let frames: Vec<&KeptFrame> = self.frames.values().collect();
        let mut out: BTreeMap<u64, PersonTrack> = BTreeMap::new();
        for (row, frame) in frames.iter().enumerate() {
            for (i, p) in frame.people.iter().enumerate() {
                let Some(&id) = self
                    .ids
                    .get(&p.track)
                    .filter(|id| only.is_none_or(|o| o == **id))
                else {
                    continue;
                };
                let track = out.entry(id).or_insert_with(|| PersonTrack {
                    id,
                    first_frame: row as u64,
                    start_s: frame.time_s,
                    points: Vec::new(),
                });
                let at = row - track.first_frame as usize;
                track.points.resize(at + 1, vec![None; frame.parts()]);
                track.points[at] = frame
                    .raw(i)
                    .iter()
                    .map(|k| k.unpack().map(|k| (f64::from(k.x), f64::from(k.y))))
                    .collect();
            }
        }
        out.into_values()
            .map(|t| {
                let first = t.first_frame as usize;
                let times = frames[first..first + t.points.len()]
                    .iter()
                    .map(|f| f.time_s)
                    .collect();
                (t, times)
            })
            .collect()
    }

    /// Bytes this timeline holds on the heap (allocations themselves, without the allocator's own
    /// bookkeeping), for the memory figure the window shows.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        // A B-tree keeps up to 11 entries per node; nodes run about two-thirds full.
        let entry = size_of::<i64>() + size_of::<KeptFrame>();
        let tree = self.frames.len() * entry * 3 / 2;
        tree + self.payload_bytes + self.ids.capacity() * 2 * size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::COCO18;

    fn person(x: f32) -> Person {
        Person {
            keypoints: (0..18)
                .map(|i| {
                    (i % 5 != 4).then_some(Keypoint {
                        x: x + i as f32 * 3.3,
                        y: 100.0 + i as f32 * 10.1,
                        score: 0.8,
                    })
                })
                .collect(),
            score: 12.5,
        }
    }

    fn tracked(p: &Person, track: u64, id: Option<u64>) -> TrackedPerson {
        TrackedPerson {
            track,
            id,
            smoothed: p
                .keypoints
                .iter()
                .map(|k| k.map(|k| Keypoint { x: k.x + 1.0, ..k }))
                .collect(),
            trail: Vec::new(),
        }
    }

    fn place(i: u64) -> FramePlace {
        FramePlace {
            pts: i as i64 * 512,
            index: i,
            time_s: i as f64 * 0.1,
        }
    }

    #[test]
    fn kept_people_come_back_within_a_quarter_pixel_with_ids_confirmed_later() {
        let mut t = Timeline::default();
        for i in 0..5u64 {
            let a = person(10.0 + i as f32);
            let b = person(300.0);
            // Track 7 is confirmed (ID 1) only from frame 2 on; track 8 never is.
            let id = (i >= 2).then_some(1);
            let tr = [tracked(&a, 7, id), tracked(&b, 8, None)];
            t.record(place(i), &[a, b], &tr);
        }
        let (people, tr) = t.people(place(0).pts, &COCO18, 30).expect("kept");
        assert_eq!(people.len(), 2);
        assert_eq!(tr[0].id, Some(1), "the ID confirmed later shows on frame 0");
        assert_eq!(tr[1].id, None);
        let original = person(10.0);
        for (k, o) in people[0].keypoints.iter().zip(&original.keypoints) {
            match (k, o) {
                (Some(k), Some(o)) => {
                    assert!((k.x - o.x).abs() <= 0.125 && (k.y - o.y).abs() <= 0.125);
                    assert!((k.score - o.score).abs() < 0.01);
                }
                (None, None) => {}
                other => panic!("presence changed: {other:?}"),
            }
        }
        let neck = tr[0].smoothed[1].unwrap();
        assert!((neck.x - (original.keypoints[1].unwrap().x + 1.0)).abs() <= 0.125);
        let (_, later) = t.people(place(4).pts, &COCO18, 30).unwrap();
        assert_eq!(
            later[0].trail.len(),
            5,
            "the trail is rebuilt from the frames before"
        );
        let (_, short) = t.people(place(4).pts, &COCO18, 2).unwrap();
        assert_eq!(short[0].trail.len(), 2);
        assert!(t.people(12345, &COCO18, 30).is_none());
        assert_eq!(t.nearest(700), Some(512), "the frame before is nearer");
        assert_eq!(t.nearest(900), Some(1024));
        assert_eq!(t.nearest(99_999), Some(2048));
    }

    #[test]
    fn presence_runs_split_at_gaps_and_angles_follow_the_id() {
        let mut t = Timeline::default();
        for i in (0..10u64).chain(20..25) {
            let a = person(50.0);
            t.record(
                place(i),
                std::slice::from_ref(&a),
                &[tracked(&a, 3, Some(9))],
            );
        }
        let presence = t.presence(0.25);
        assert_eq!(presence.len(), 1);
        assert_eq!(presence[0].id, 9);
        assert_eq!(presence[0].runs.len(), 2, "{:?}", presence[0].runs);
        assert!((presence[0].runs[1].0 - 2.0).abs() < 1e-9);
        let (track, times) = t.track_of(9).unwrap();
        assert_eq!(
            (track.points.len(), times.len()),
            (15, 15),
            "a row per kept frame"
        );
        assert!((times[10] - 2.0).abs() < 1e-9);
        assert!(t.track_of(4).is_none());
    }

    #[test]
    fn untracked_frames_are_kept_without_tracks_and_clearing_forgets() {
        let mut t = Timeline::default();
        t.record(place(0), &[person(1.0)], &[]);
        let (people, tr) = t.people(0, &COCO18, 30).unwrap();
        assert_eq!(people.len(), 1);
        assert!(tr.is_empty());
        let once = t.heap_bytes();
        t.record(place(0), &[person(1.0)], &[]);
        assert_eq!(
            t.heap_bytes(),
            once,
            "a frame recorded again replaces itself"
        );
        t.record(place(1), &[person(1.0), person(9.0)], &[]);
        t.keep_only(Some(0));
        assert_eq!(
            (t.len(), t.heap_bytes()),
            (1, once),
            "the other frame's bytes are gone"
        );
        let v = t.version();
        t.clear();
        assert!(t.is_empty() && t.version() > v && !t.contains(0));
    }

    #[test]
    fn a_person_frame_costs_under_240_bytes() {
        let mut t = Timeline::default();
        for i in 0..1000u64 {
            let people = [person(1.0), person(200.0), person(400.0)];
            let tr: Vec<TrackedPerson> = people
                .iter()
                .enumerate()
                .map(|(k, p)| tracked(p, k as u64, Some(k as u64 + 1)))
                .collect();
            t.record(place(i), &people, &tr);
        }
        let per_person_frame = t.heap_bytes() as f64 / 3000.0;
        let mut one = Timeline::default();
        for i in 0..1000u64 {
            let p = person(1.0);
            one.record(
                place(i),
                std::slice::from_ref(&p),
                &[tracked(&p, 0, Some(1))],
            );
        }
        let mut empty = Timeline::default();
        for i in 0..1000u64 {
            empty.record(place(i), &[], &[]);
        }
        // The figures the README quotes (run with --nocapture).
        println!(
            "timeline: {per_person_frame:.0} B per person-frame with 3 people; {:.0} B per frame with \
             1 person, {:.0} B per empty frame",
            one.heap_bytes() as f64 / 1000.0,
            empty.heap_bytes() as f64 / 1000.0
        );
        assert!(per_person_frame < 250.0, "{per_person_frame} bytes");
        assert!(
            per_person_frame > 200.0,
            "18 parts raw and smoothed: {per_person_frame}"
        );
    }
}
