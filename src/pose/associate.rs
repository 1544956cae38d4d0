//! Part Affinity Field association: part candidates → scored limbs → people.
//!
//! Faithful to the CMU demo (`demo.ipynb` of Realtime_Multi-Person_Pose_Estimation), including its
//! greedy per-limb matching, the distance prior `min(0.5·H/len − 1, 0)` in original-image pixels, the
//! subset-merging rule and the final pruning, but computed on the stride grid.

use std::ops::Range;

use super::maps::PoseMaps;
use super::peaks::{find_peaks, Peak};
use super::skeleton::Skeleton;
use super::{Keypoint, Person, Thresholds};

/// A part candidate: a heatmap peak with its position in the grid and in the image.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    peak: Peak,
    x: f32,
    y: f32,
}

/// A limb kept by the greedy matching: candidates `a` (from-part) and `b` (to-part).
#[derive(Debug, Clone, Copy)]
struct Connection {
    a: usize,
    b: usize,
    score: f32,
}

/// A person under construction (the CMU demo's `subset` row).
#[derive(Debug, Clone)]
struct Subset {
    parts: Vec<Option<usize>>,
    score: f32,
    count: usize,
}

/// Runs association, reusing its buffers from one frame to the next.
#[derive(Debug, Default)]
pub struct Associator {
    candidates: Vec<Candidate>,
    part_ranges: Vec<Range<usize>>,
    peaks: Vec<Peak>,
    scored: Vec<(usize, usize, f32)>,
    connections: Vec<Vec<Connection>>,
    used_a: Vec<bool>,
    used_b: Vec<bool>,
    subsets: Vec<Subset>,
}

impl Associator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds every person in `maps`. Keypoints come back in original-image pixels.
    pub fn run(&mut self, maps: &PoseMaps, skeleton: &Skeleton, t: &Thresholds) -> Vec<Person> {
        let t = t.sanitized();
        self.find_candidates(maps, skeleton, &t);
        self.connect_limbs(maps, skeleton, &t);
        self.assemble(skeleton);
        self.people(skeleton, &t)
    }

    /// Number of part candidates found by the last run, per part (for statistics and the debug view).
    pub fn candidate_counts(&self) -> Vec<usize> {
        self.part_ranges.iter().map(|r| r.len()).collect()
    }

    fn find_candidates(&mut self, maps: &PoseMaps, skeleton: &Skeleton, t: &Thresholds) {
        self.candidates.clear();
        self.part_ranges.clear();
        let valid = maps.valid_grid();
        let parts = skeleton.parts.len().min(maps.heatmaps.channels());
        for part in 0..parts {
            self.peaks.clear();
            find_peaks(&maps.heatmaps, part, t.peak, valid, &mut self.peaks);
            let start = self.candidates.len();
            self.candidates.extend(self.peaks.iter().map(|&peak| {
                let (x, y) = maps.grid_to_image.apply(peak.col, peak.row);
                Candidate { peak, x, y }
            }));
            self.part_ranges.push(start..self.candidates.len());
        }
        self.part_ranges.resize(
            skeleton.parts.len(),
            self.candidates.len()..self.candidates.len(),
        );
    }

    fn connect_limbs(&mut self, maps: &PoseMaps, skeleton: &Skeleton, t: &Thresholds) {
        self.connections.resize_with(skeleton.limbs.len(), Vec::new);
        let samples = t.paf_samples;
        let min_above = t.paf_sample_fraction * samples as f32;
        let image_height = maps.image_size.1 as f32;
        let (px_per_col, px_per_row) = (maps.grid_to_image.scale_x, maps.grid_to_image.scale_y);
        let pafs = &maps.pafs;

        for (k, limb) in skeleton.limbs.iter().enumerate() {
            self.connections[k].clear();
            let (ra, rb) = (
                self.part_ranges[limb.from].clone(),
                self.part_ranges[limb.to].clone(),
            );
            if ra.is_empty() || rb.is_empty() || limb.paf_y >= pafs.channels() {
                continue;
            }
            self.scored.clear();
            for ia in ra.clone() {
                let a = self.candidates[ia].peak;
                for ib in rb.clone() {
                    let b = self.candidates[ib].peak;
                    let (dc, dr) = (b.col - a.col, b.row - a.row);
                    let norm = (dc * dc + dr * dr).sqrt();
                    if norm < 1e-6 {
                        continue;
                    }
                    let (ux, uy) = (dc / norm, dr / norm);
                    let mut sum = 0.0;
                    let mut above = 0usize;
                    for s in 0..samples {
                        let f = s as f32 / (samples - 1) as f32;
                        let (col, row) = (a.col + f * dc, a.row + f * dr);
                        let v = pafs.bilinear(limb.paf_x, row, col) * ux
                            + pafs.bilinear(limb.paf_y, row, col) * uy;
                        // A non-finite field value supports nothing.
                        let v = if v.is_finite() { v } else { 0.0 };
                        sum += v;
                        above += usize::from(v > t.paf);
                    }
                    let length_px = ((dc * px_per_col).powi(2) + (dr * px_per_row).powi(2)).sqrt();
                    let prior = (0.5 * image_height / length_px - 1.0).min(0.0);
                    let score = sum / samples as f32 + prior;
                    if above as f32 > min_above && score > 0.0 {
                        self.scored.push((ia, ib, score));
                    }
                }
            }
            // Stable sort: ties keep scan order, as numpy's sort in the CMU demo effectively does.
            self.scored.sort_by(|x, y| y.2.total_cmp(&x.2));
            self.used_a.clear();
            self.used_a.resize(ra.len(), false);
            self.used_b.clear();
            self.used_b.resize(rb.len(), false);
            let max_connections = ra.len().min(rb.len());
            for &(ia, ib, score) in &self.scored {
                let (ua, ub) = (ia - ra.start, ib - rb.start);
                if self.used_a[ua] || self.used_b[ub] {
                    continue;
                }
                self.used_a[ua] = true;
                self.used_b[ub] = true;
                self.connections[k].push(Connection {
                    a: ia,
                    b: ib,
                    score,
                });
                if self.connections[k].len() >= max_connections {
                    break;
                }
            }
        }
    }

    fn assemble(&mut self, skeleton: &Skeleton) {
        self.subsets.clear();
        let parts = skeleton.parts.len();
        for (k, limb) in skeleton.limbs.iter().enumerate() {
            for ci in 0..self.connections[k].len() {
                let conn = self.connections[k][ci];
                let b_score = self.candidates[conn.b].peak.score;
                let mut found = [0usize; 2];
                let mut n_found = 0;
                for (j, s) in self.subsets.iter().enumerate() {
                    if s.parts[limb.from] == Some(conn.a) || s.parts[limb.to] == Some(conn.b) {
                        if n_found < 2 {
                            found[n_found] = j;
                        }
                        n_found += 1;
                    }
                }
                match n_found {
                    0 if !limb.auxiliary => {
                        let mut parts_of = vec![None; parts];
                        parts_of[limb.from] = Some(conn.a);
                        parts_of[limb.to] = Some(conn.b);
                        self.subsets.push(Subset {
                            parts: parts_of,
                            score: self.candidates[conn.a].peak.score + b_score + conn.score,
                            count: 2,
                        });
                    }
                    0 => {}
                    1 => {
                        let s = &mut self.subsets[found[0]];
                        if s.parts[limb.to] != Some(conn.b) {
                            s.parts[limb.to] = Some(conn.b);
                            s.count += 1;
                            s.score += b_score + conn.score;
                        }
                    }
                    _ => {
                        let (j1, j2) = (found[0], found[1]);
                        let overlap = self.subsets[j1]
                            .parts
                            .iter()
                            .zip(&self.subsets[j2].parts)
                            .any(|(p, q)| p.is_some() && q.is_some());
                        if overlap {
                            let s = &mut self.subsets[j1];
                            s.parts[limb.to] = Some(conn.b);
                            s.count += 1;
                            s.score += b_score + conn.score;
                        } else {
                            let other = self.subsets.remove(j2);
                            let s = &mut self.subsets[j1];
                            for (p, q) in s.parts.iter_mut().zip(other.parts) {
                                if q.is_some() {
                                    *p = q;
                                }
                            }
                            s.count += other.count;
                            s.score += other.score + conn.score;
                        }
                    }
                }
            }
        }
    }

    fn people(&self, skeleton: &Skeleton, t: &Thresholds) -> Vec<Person> {
        self.subsets
            .iter()
            .filter(|s| s.count >= t.min_parts && s.score / s.count as f32 >= t.min_person_score)
            .map(|s| Person {
                keypoints: s
                    .parts
                    .iter()
                    .take(skeleton.parts.len())
                    .map(|p| {
                        p.map(|id| {
                            let c = &self.candidates[id];
                            Keypoint {
                                x: c.x,
                                y: c.y,
                                score: c.peak.score,
                            }
                        })
                    })
                    .collect(),
                score: s.score,
            })
            .collect()
    }
}
