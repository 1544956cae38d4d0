//! Filling short gaps in a track (a joint missed for a few frames), linear or cubic, and saying
//! which samples were filled so no one takes them for measurements.

/// How a gap is bridged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Interpolation {
    Linear,
    /// A cubic through the two samples on each side (Catmull-Rom tangents; linear where a side has
    /// only one).
    #[default]
    Cubic,
}

/// Fills every gap of at most `max_gap` samples between two known samples; returns which samples
/// were filled. Gaps at either end, and longer gaps, stay missing.
pub fn fill_gaps(x: &mut [Option<f64>], max_gap: usize, how: Interpolation) -> Vec<bool> {
    let mut filled = vec![false; x.len()];
    let known: Vec<usize> = (0..x.len()).filter(|&i| x[i].is_some()).collect();
    for pair in 0..known.len().saturating_sub(1) {
        let (i0, i1) = (known[pair], known[pair + 1]);
        let gap = i1 - i0 - 1;
        if gap == 0 || gap > max_gap {
            continue;
        }
        let before = pair.checked_sub(1).map(|p| known[p]);
        let after = known.get(pair + 2).copied();
        let value = |i: usize| x[i].unwrap_or(0.0);
        let (p0, p1) = (value(i0), value(i1));
        let span = (i1 - i0) as f64;
        // Tangents per sample, from the neighbours (the chord where a neighbour is missing).
        let chord = (p1 - p0) / span;
        let m0 = before.map_or(chord, |b| (p1 - value(b)) / (i1 - b) as f64);
        let m1 = after.map_or(chord, |a| (value(a) - p0) / (a - i0) as f64);
        for i in i0 + 1..i1 {
            let t = (i - i0) as f64 / span;
            x[i] = Some(match how {
                Interpolation::Linear => p0 + (p1 - p0) * t,
                Interpolation::Cubic => hermite(p0, p1, m0 * span, m1 * span, t),
            });
            filled[i] = true;
        }
    }
    filled
}

fn hermite(p0: f64, p1: f64, m0: f64, m1: f64, t: f64) -> f64 {
    let (t2, t3) = (t * t, t * t * t);
    (2.0 * t3 - 3.0 * t2 + 1.0) * p0
        + (t3 - 2.0 * t2 + t) * m0
        + (-2.0 * t3 + 3.0 * t2) * p1
        + (t3 - t2) * m1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_gaps_are_filled_and_marked_long_ones_and_ends_are_not() {
        let line = |i: usize| Some(2.0 * i as f64 + 1.0);
        let mut x: Vec<Option<f64>> = (0..30).map(line).collect();
        for i in [0, 1, 5, 6, 7, 15, 16, 17, 18, 19, 20, 29] {
            x[i] = None;
        }
        for how in [Interpolation::Linear, Interpolation::Cubic] {
            let mut y = x.clone();
            let filled = fill_gaps(&mut y, 4, how);
            for i in 5..=7 {
                assert!(filled[i]);
                assert!(
                    (y[i].unwrap() - line(i).unwrap()).abs() < 1e-9,
                    "{how:?} {i}"
                );
            }
            for i in [0, 1, 15, 20, 29] {
                assert!(!filled[i] && y[i].is_none(), "{how:?} {i}");
            }
            assert_eq!(filled.iter().filter(|f| **f).count(), 3);
        }
    }
}
