//! Pure pose estimation: from the network's heatmaps and Part Affinity Fields to people.
//!
//! No I/O, threads or ONNX Runtime here, so every step can be tested and benchmarked on synthetic maps.
//! The steps follow Cao et al. (CVPR 2017) and the CMU demo code:
//! 1. [`peaks`]: per-part local maxima of the heatmaps, refined to sub-cell precision;
//! 2. [`associate`]: for every limb, score candidate part pairs by the line integral of its PAF, keep the
//!    best pairs greedily, then grow people limb by limb, merging partial people that share no part.

pub mod associate;
pub mod maps;
pub mod peaks;
pub mod skeleton;

pub use associate::Associator;
pub use maps::{GridToImage, MapLayout, MapStack, PoseMaps};
pub use skeleton::{LimbDef, PartDef, Skeleton, BODY25, COCO17_SIGMAS, COCO18};

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// A detected body part in original-image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    /// Heatmap peak value, roughly 0..1.
    pub score: f32,
}

/// One person: a keypoint slot per skeleton part (`None` where the part was not found).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub keypoints: Vec<Option<Keypoint>>,
    /// Sum of part scores and limb scores (the CMU demo's subset score).
    pub score: f32,
}

impl Person {
    pub fn part_count(&self) -> usize {
        self.keypoints.iter().flatten().count()
    }

    /// Mean score per part, the quantity the CMU pruning rule thresholds.
    pub fn mean_score(&self) -> f32 {
        self.score / self.part_count().max(1) as f32
    }

    /// Bounding box (min x, min y, max x, max y) of the found keypoints.
    pub fn bounds(&self) -> Option<[f32; 4]> {
        let mut it = self.keypoints.iter().flatten();
        let first = it.next()?;
        Some(it.fold([first.x, first.y, first.x, first.y], |b, k| {
            [b[0].min(k.x), b[1].min(k.y), b[2].max(k.x), b[3].max(k.y)]
        }))
    }
}

/// Every knob of the association, in one value so that CLI flags and UI sliders drive the same thing.
/// Defaults are the CMU demo's (`thre1`, `thre2`, `mid_num`, the 0.8 criterion, `< 4` parts, `< 0.4`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Minimum heatmap value of a part peak.
    pub peak: f32,
    /// Minimum PAF alignment for a sample along a candidate limb to count.
    pub paf: f32,
    /// Samples taken along each candidate limb.
    pub paf_samples: usize,
    /// A limb needs strictly more than this fraction of its samples above `paf`.
    pub paf_sample_fraction: f32,
    /// People with fewer parts are dropped.
    pub min_parts: usize,
    /// People whose mean score per part is lower are dropped.
    pub min_person_score: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            peak: 0.1,
            paf: 0.05,
            paf_samples: 10,
            paf_sample_fraction: 0.8,
            min_parts: 4,
            min_person_score: 0.4,
        }
    }
}

impl Thresholds {
    /// Accepted ranges, the same for flags, sliders and saved settings.
    pub const PEAK: RangeInclusive<f32> = 0.0..=1.0;
    pub const PAF: RangeInclusive<f32> = 0.0..=1.0;
    pub const PAF_SAMPLES: RangeInclusive<usize> = 2..=100;
    pub const PAF_FRACTION: RangeInclusive<f32> = 0.0..=1.0;
    pub const MIN_PARTS: RangeInclusive<usize> = 1..=25;
    pub const MIN_SCORE: RangeInclusive<f32> = 0.0..=2.0;

    /// Checks every field against its range; the error names the field and the range.
    pub fn validate(&self) -> Result<(), RangeError> {
        check_range("peak threshold", self.peak, Self::PEAK)?;
        check_range("PAF threshold", self.paf, Self::PAF)?;
        check_range("PAF samples", self.paf_samples, Self::PAF_SAMPLES)?;
        check_range("PAF fraction", self.paf_sample_fraction, Self::PAF_FRACTION)?;
        check_range("minimum parts", self.min_parts, Self::MIN_PARTS)?;
        check_range("minimum score", self.min_person_score, Self::MIN_SCORE)
    }

    /// Brings out-of-range values (from a config file or a flag) back into the range the algorithm needs.
    pub fn sanitized(mut self) -> Self {
        self.peak = finite_or(self.peak, 0.1).max(0.0);
        self.paf = finite_or(self.paf, 0.05);
        self.paf_samples = self.paf_samples.clamp(2, 100);
        self.paf_sample_fraction = finite_or(self.paf_sample_fraction, 0.8).clamp(0.0, 1.0);
        self.min_parts = self.min_parts.max(1);
        self.min_person_score = finite_or(self.min_person_score, 0.4);
        self
    }
}

/// A setting outside its range; names the setting and the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be between {min} and {max}, got {value}")]
pub struct RangeError {
    pub name: String,
    pub value: String,
    pub min: String,
    pub max: String,
}

/// `value` must lie in `range` (NaN never does).
pub fn check_range<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), RangeError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(RangeError {
            name: name.to_string(),
            value: value.to_string(),
            min: range.start().to_string(),
            max: range.end().to_string(),
        })
    }
}

fn finite_or(v: f32, default: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        default
    }
}
