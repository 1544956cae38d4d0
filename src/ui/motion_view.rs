//! The followed person's angles as the window shows them: for a file, computed from the whole
//! track the timeline kept (filtered offline, as `export --motion` does); live, frame by frame from
//! the keypoints on screen (the One-Euro smoothed ones stand for "filtered"). Pure data, no egui.

use crate::motion::units::median;
use crate::motion::{
    analyse, AngleKind, AngleSet, Facing, MotionSettings, PersonTrack, ScaleSource,
};
use crate::pose::{Keypoint, Skeleton};

/// What the angle panel shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AngleOptions {
    pub kind: AngleKind,
    pub filtered: bool,
    /// The followed person's height in metres, for speeds and for saved files (0: not given).
    pub height_m: f64,
}

impl Default for AngleOptions {
    fn default() -> Self {
        Self {
            kind: AngleKind::Joint,
            filtered: true,
            height_m: 0.0,
        }
    }
}

impl AngleOptions {
    /// The analysis the window runs, and what *Save motion files…* writes (the person's own height
    /// when given, else Sports2D's 1.70 m for the person seen whole longest).
    pub fn settings(&self, person: Option<u64>) -> MotionSettings {
        let scale = match self.height_m > 0.0 {
            true => ScaleSource::PersonHeight {
                metres: self.height_m,
                person,
            },
            false => MotionSettings::default().scale,
        };
        MotionSettings {
            scale,
            ..MotionSettings::default()
        }
    }
}

/// The angles of one kind per frame, and the hips' speed (m/s) once a height is given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AngleRows {
    pub names: Vec<&'static str>,
    /// (time in seconds, one value per name).
    pub rows: Vec<(f64, Vec<Option<f32>>)>,
    /// Per row; empty without a height.
    pub speed: Vec<Option<f32>>,
}

/// The names of a kind's angles, in the order rows hold them.
pub fn names(skeleton: &Skeleton, kind: AngleKind) -> Vec<&'static str> {
    AngleSet::for_skeleton(skeleton)
        .defs
        .iter()
        .filter(|(d, _)| d.kind == kind)
        .map(|(d, _)| d.name)
        .collect()
}

/// Frames per second from the rows' times (30 when there is only one).
pub fn rate_of(times: &[f64]) -> f64 {
    median(times.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0.0)).map_or(30.0, |d| 1.0 / d)
}

/// A file's rows: the person's whole track analysed at once.
pub fn from_track(
    skeleton: &Skeleton,
    track: PersonTrack,
    times: &[f64],
    o: &AngleOptions,
) -> AngleRows {
    let id = track.id;
    let clip = analyse(skeleton, &[track], rate_of(times), &o.settings(Some(id)));
    let Some(p) = clip.people.first() else {
        return AngleRows::default();
    };
    let chosen: Vec<_> = p.angles.iter().filter(|a| a.def.kind == o.kind).collect();
    let rows = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let value = |a: &&crate::motion::clip::AngleSeries| {
                let v = if o.filtered { a.filtered[i] } else { a.raw[i] };
                v.map(|v| v as f32)
            };
            (*t, chosen.iter().map(value).collect())
        })
        .collect();
    let speed = match o.height_m > 0.0 && clip.scale.is_some() {
        true => p.hips_speed.iter().map(|s| s.map(|s| s as f32)).collect(),
        false => Vec::new(),
    };
    AngleRows {
        names: chosen.iter().map(|a| a.def.name).collect(),
        rows,
        speed,
    }
}

/// One live frame's angles of a kind, from the keypoints on screen.
pub fn live_frame(
    skeleton: &Skeleton,
    keypoints: &[Option<Keypoint>],
    kind: AngleKind,
) -> Vec<Option<f32>> {
    let set = AngleSet::for_skeleton(skeleton);
    let points: Vec<Option<(f64, f64)>> = keypoints
        .iter()
        .map(|k| k.map(|k| (f64::from(k.x), f64::from(k.y))))
        .collect();
    let side = set.side(&points, Facing::Auto);
    set.frame(skeleton, &points, side)
        .into_iter()
        .zip(&set.defs)
        .filter(|(_, (d, _))| d.kind == kind)
        .map(|(v, _)| v.map(|v| v as f32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::COCO18;

    #[test]
    fn a_track_gives_rows_of_the_chosen_kind() {
        let mut frame = vec![None; COCO18.parts.len()];
        for (name, x, y) in [
            ("right_hip", 100.0, 200.0),
            ("right_knee", 100.0, 250.0),
            ("right_ankle", 100.0, 300.0),
        ] {
            frame[COCO18.parts.iter().position(|p| p.name == name).unwrap()] = Some((x, y));
        }
        let track = PersonTrack {
            id: 3,
            first_frame: 0,
            start_s: 0.0,
            points: vec![frame; 40],
        };
        let times: Vec<f64> = (0..40).map(|i| f64::from(i) / 20.0).collect();
        let rows = from_track(&COCO18, track.clone(), &times, &AngleOptions::default());
        assert_eq!(rows.names, names(&COCO18, AngleKind::Joint));
        let knee = rows.names.iter().position(|n| *n == "right knee").unwrap();
        assert!(rows
            .rows
            .iter()
            .all(|(_, v)| v[knee].is_some_and(|k| k.abs() < 1e-3)));
        assert!(rows.speed.is_empty(), "no height, no speed");
        let segments = AngleOptions {
            kind: AngleKind::Segment,
            ..Default::default()
        };
        let rows = from_track(&COCO18, track, &times, &segments);
        assert!(rows.names.contains(&"right shank"));
    }
}
