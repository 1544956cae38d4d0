//! A clip's people in motion: each person's track filtered, the clip's scale found once (from one
//! person's height and the floor under their feet), then metres, speeds and angles per person.

use super::angles::{unwrap, AngleDef, AngleSet, Facing};
use super::filter::{self, FilterSettings};
use super::markers::MarkerSource;
use super::units::{self, Frame, Limbs, Point, Scale};

/// A track's filtered points, and which were filled in.
type Filtered = (Vec<Frame>, Vec<Vec<bool>>);
use crate::pose::Skeleton;

/// One person's keypoints over a clip: a row per frame from their first to their last (all `None`
/// where they were not seen), each in the skeleton's part order.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonTrack {
    pub id: u64,
    pub first_frame: u64,
    /// The clip time of `first_frame`, seconds.
    pub start_s: f64,
    pub points: Vec<Vec<Option<Point>>>,
}

/// Where pixels-to-metres comes from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ScaleSource {
    /// This height, in metres, for the person seen longest (or `person`).
    PersonHeight { metres: f64, person: Option<u64> },
    /// A known scale (from a calibration).
    MetresPerPixel(f64),
}

/// Everything the analysis needs besides the tracks.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MotionSettings {
    pub filter: FilterSettings,
    pub scale: ScaleSource,
    pub facing: Facing,
    /// The floor's tilt in degrees (image y down), instead of the one under the feet.
    pub floor_angle_deg: Option<f64>,
    /// The floor point that becomes (0, 0), in pixels, instead of the one under the feet.
    pub origin_px: Option<Point>,
}

impl Default for MotionSettings {
    /// Sports2D's: filters on, a 1.70 m person, the side found each frame.
    fn default() -> Self {
        Self {
            filter: FilterSettings::default(),
            scale: ScaleSource::PersonHeight {
                metres: 1.70,
                person: None,
            },
            facing: Facing::Auto,
            floor_angle_deg: None,
            origin_px: None,
        }
    }
}

/// An angle over a person's frames, unwrapped: from the raw keypoints and from the filtered ones.
#[derive(Debug, Clone, PartialEq)]
pub struct AngleSeries {
    pub def: AngleDef,
    pub raw: Vec<Option<f64>>,
    pub filtered: Vec<Option<f64>>,
}

/// One person's motion, a row per frame as in their [`PersonTrack`].
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMotion {
    pub id: u64,
    pub first_frame: u64,
    pub times: Vec<f64>,
    pub raw: Vec<Vec<Option<Point>>>,
    pub filtered: Vec<Vec<Option<Point>>>,
    /// Which filtered points were filled in a gap rather than seen.
    pub filled: Vec<Vec<bool>>,
    /// The filtered points in metres (X along the floor, Y up).
    pub metres: Vec<Vec<Option<Point>>>,
    /// Each part's speed, m/s.
    pub speeds: Vec<Vec<Option<f64>>>,
    /// The speed of the point between the hips, m/s.
    pub hips_speed: Vec<Option<f64>>,
    /// The side each frame's angles were computed for.
    pub sides: Vec<Facing>,
    pub angles: Vec<AngleSeries>,
}

/// The clip's analysis: the scale shared by everyone, and each person's motion.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipMotion {
    pub rate_hz: f64,
    pub scale: Option<Scale>,
    /// The person the scale was measured on, and their median limb lengths (pixels).
    pub measured: Option<(u64, Limbs)>,
    pub people: Vec<PersonMotion>,
}

/// Filters every track, finds the scale, then each person's metres, speeds and angles.
pub fn analyse(
    skeleton: &Skeleton,
    tracks: &[PersonTrack],
    rate_hz: f64,
    s: &MotionSettings,
) -> ClipMotion {
    let filtered: Vec<_> = tracks
        .iter()
        .map(|t| filter_track(&t.points, rate_hz, &s.filter))
        .collect();
    let (scale, measured) = clip_scale(skeleton, tracks, &filtered, s);
    let angles = AngleSet::for_skeleton(skeleton);
    let people = tracks
        .iter()
        .zip(filtered)
        .map(|(t, (points, filled))| {
            person_motion(
                skeleton, &angles, t, points, filled, scale, rate_hz, s.facing,
            )
        })
        .collect();
    ClipMotion {
        rate_hz,
        scale,
        measured,
        people,
    }
}

/// Each coordinate of each part filtered over the whole track; which points were filled.
fn filter_track(
    points: &[Vec<Option<Point>>],
    rate_hz: f64,
    s: &FilterSettings,
) -> (Vec<Vec<Option<Point>>>, Vec<Vec<bool>>) {
    let parts = points.first().map_or(0, Vec::len);
    let mut out = vec![vec![None; parts]; points.len()];
    let mut filled = vec![vec![false; parts]; points.len()];
    for part in 0..parts {
        let coord = |c: usize| -> Vec<Option<f64>> {
            points
                .iter()
                .map(|f| f[part].map(|p| if c == 0 { p.0 } else { p.1 }))
                .collect()
        };
        let (x, y) = (
            filter::filter(&coord(0), rate_hz, s),
            filter::filter(&coord(1), rate_hz, s),
        );
        for i in 0..points.len() {
            out[i][part] = x.values[i].zip(y.values[i]);
            filled[i][part] = x.filled[i] || y.filled[i];
        }
    }
    (out, filled)
}

/// The scale for everyone: from the chosen (or longest-seen) person's height and feet.
fn clip_scale(
    skeleton: &Skeleton,
    tracks: &[PersonTrack],
    filtered: &[Filtered],
    s: &MotionSettings,
) -> (Option<Scale>, Option<(u64, Limbs)>) {
    let seen = |t: &PersonTrack| {
        t.points
            .iter()
            .filter(|f| f.iter().any(Option::is_some))
            .count()
    };
    let pick = match s.scale {
        ScaleSource::PersonHeight {
            person: Some(id), ..
        } => tracks.iter().position(|t| t.id == id),
        _ => (0..tracks.len()).max_by_key(|&i| (seen(&tracks[i]), std::cmp::Reverse(tracks[i].id))),
    };
    let Some(i) = pick else { return (None, None) };
    let points = &filtered[i].0;
    // A person drawn as a point (a degenerate model output) has no height to scale by.
    let limbs = Limbs::measure(skeleton, points).filter(|l| l.height() > 1.0);
    let metres_per_px = match s.scale {
        ScaleSource::MetresPerPixel(m) => Some(m),
        ScaleSource::PersonHeight { metres, .. } => limbs.map(|l| metres / l.height()),
    };
    let Some(metres_per_px) = metres_per_px else {
        return (None, None);
    };
    let feet: Vec<Vec<Point>> = ["RAnkle", "LAnkle"]
        .iter()
        .filter_map(|m| MarkerSource::find(skeleton, m))
        .map(|src| {
            points
                .iter()
                .filter_map(|f| src.locate(f, |a, _| a))
                .collect()
        })
        .collect();
    // Still: moving under 1% of the person's height per frame.
    let still = limbs.map_or(2.0, |l| 0.01 * l.height());
    let floor = units::floor_from_feet(&feet, still);
    let scale = Scale {
        metres_per_px,
        floor_angle: s
            .floor_angle_deg
            .map(f64::to_radians)
            .or(floor.map(|f| f.0))
            .unwrap_or(0.0),
        origin_px: s.origin_px.or(floor.map(|f| f.1)).unwrap_or((0.0, 0.0)),
    };
    (Some(scale), limbs.map(|l| (tracks[i].id, l)))
}

#[allow(clippy::too_many_arguments)]
fn person_motion(
    skeleton: &Skeleton,
    angles: &AngleSet,
    track: &PersonTrack,
    filtered: Vec<Vec<Option<Point>>>,
    filled: Vec<Vec<bool>>,
    scale: Option<Scale>,
    rate_hz: f64,
    facing: Facing,
) -> PersonMotion {
    let frames = track.points.len();
    let times = (0..frames)
        .map(|i| track.start_s + i as f64 / rate_hz)
        .collect();
    let metres: Vec<Vec<Option<Point>>> = filtered
        .iter()
        .map(|f| {
            f.iter()
                .map(|p| scale.and_then(|s| p.map(|p| s.to_metres(p))))
                .collect()
        })
        .collect();
    let parts = skeleton.parts.len();
    let per_part: Vec<Vec<Option<f64>>> = (0..parts)
        .map(|part| units::speeds(&metres.iter().map(|f| f[part]).collect::<Vec<_>>(), rate_hz))
        .collect();
    let speeds = (0..frames)
        .map(|i| per_part.iter().map(|s| s[i]).collect())
        .collect();
    let hips = MarkerSource::find(skeleton, "Hip");
    let hips_points: Vec<Option<Point>> = metres
        .iter()
        .map(|f| hips.and_then(|h| h.locate(f, |a, b| ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0))))
        .collect();
    // One side per frame for both curves, so raw and filtered differ only by the filtering.
    let sides: Vec<Facing> = (0..frames)
        .map(|i| {
            let source = if filtered[i].iter().any(Option::is_some) {
                &filtered[i]
            } else {
                &track.points[i]
            };
            angles.side(source, facing)
        })
        .collect();
    let series = |points: &[Vec<Option<Point>>]| -> Vec<Vec<Option<f64>>> {
        let per_frame: Vec<Vec<Option<f64>>> = (0..frames)
            .map(|i| angles.frame(skeleton, &points[i], sides[i]))
            .collect();
        (0..angles.defs.len())
            .map(|a| {
                let mut v: Vec<Option<f64>> = per_frame.iter().map(|f| f[a]).collect();
                unwrap(&mut v, angles.defs[a].0.period_deg());
                v
            })
            .collect()
    };
    let (raw_angles, filtered_angles) = (series(&track.points), series(&filtered));
    let angles = angles
        .defs
        .iter()
        .zip(raw_angles.into_iter().zip(filtered_angles))
        .map(|((def, _), (raw, filtered))| AngleSeries {
            def: *def,
            raw,
            filtered,
        })
        .collect();
    PersonMotion {
        id: track.id,
        first_frame: track.first_frame,
        times,
        raw: track.points.clone(),
        filtered,
        filled,
        metres,
        speeds,
        hips_speed: units::speeds(&hips_points, rate_hz),
        sides,
        angles,
    }
}
