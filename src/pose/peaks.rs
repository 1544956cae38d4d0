//! Part candidates: local maxima of each heatmap, refined to sub-cell precision.

use super::maps::MapStack;

/// Keeps pathological maps (noise everywhere) from making association quadratic in thousands of peaks;
/// OpenPose caps at 64 per part for the same reason.
pub const MAX_PEAKS_PER_PART: usize = 96;

/// A heatmap peak in grid coordinates (columns, rows of the output grid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    pub col: f32,
    pub row: f32,
    pub score: f32,
}

/// Appends the peaks of heatmap `channel` above `threshold` to `out`, searching cells
/// `0..valid_cols × 0..valid_rows` (cells beyond lie in the padding).
///
/// A peak is a cell strictly greater than its 8 neighbours that precede it in scan order and not
/// smaller than those that follow, so a plateau yields exactly one peak.
pub fn find_peaks(
    maps: &MapStack,
    channel: usize,
    threshold: f32,
    (valid_cols, valid_rows): (usize, usize),
    out: &mut Vec<Peak>,
) {
    let start = out.len();
    let (w, h) = (valid_cols.min(maps.width()), valid_rows.min(maps.height()));
    for r in 0..h {
        for c in 0..w {
            let v = maps.at(channel, r, c);
            // NaN and infinities (a broken model, or a half-precision overflow) are never peaks.
            if !v.is_finite() || v <= threshold || !is_local_max(maps, channel, r, c, w, h, v) {
                continue;
            }
            out.push(refine(maps, channel, r, c, w, h, v));
        }
    }
    let found = &mut out[start..];
    if found.len() > MAX_PEAKS_PER_PART {
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(start + MAX_PEAKS_PER_PART);
    }
}

#[inline]
fn is_local_max(m: &MapStack, ch: usize, r: usize, c: usize, w: usize, h: usize, v: f32) -> bool {
    for dr in -1isize..=1 {
        for dc in -1isize..=1 {
            if dr == 0 && dc == 0 {
                continue;
            }
            let (rr, cc) = (r as isize + dr, c as isize + dc);
            if rr < 0 || cc < 0 || rr >= h as isize || cc >= w as isize {
                continue;
            }
            let n = m.at(ch, rr as usize, cc as usize);
            let before = dr < 0 || (dr == 0 && dc < 0);
            if n > v || (before && n == v) {
                return false;
            }
        }
    }
    true
}

/// Sub-cell refinement per axis. Heatmaps are trained as Gaussians, and a parabola through the logs of
/// three samples of a Gaussian peaks exactly at its centre, with exactly its height; where a neighbour
/// is not positive we fall back to a parabola through the values.
fn refine(m: &MapStack, ch: usize, r: usize, c: usize, w: usize, h: usize, v: f32) -> Peak {
    let (dc, fc) = if c > 0 && c + 1 < w {
        vertex(m.at(ch, r, c - 1), v, m.at(ch, r, c + 1))
    } else {
        (0.0, Rise::None)
    };
    let (dr, fr) = if r > 0 && r + 1 < h {
        vertex(m.at(ch, r - 1, c), v, m.at(ch, r + 1, c))
    } else {
        (0.0, Rise::None)
    };
    // The axes of a Gaussian are separable: log rises add up; value rises add up.
    let score = match (fc, fr) {
        (Rise::Log(a), Rise::Log(b)) => v * (a + b).exp(),
        (Rise::Log(a), Rise::None) | (Rise::None, Rise::Log(a)) => v * a.exp(),
        (a, b) => v + a.linear(v) + b.linear(v),
    };
    let refined = Peak {
        col: c as f32 + dc,
        row: r as f32 + dr,
        score,
    };
    // Non-finite neighbours make the fit meaningless: keep the cell itself.
    if refined.col.is_finite() && refined.row.is_finite() && refined.score.is_finite() {
        refined
    } else {
        Peak {
            col: c as f32,
            row: r as f32,
            score: v,
        }
    }
}

/// How much the fitted curve rises from the centre sample to its vertex.
#[derive(Clone, Copy)]
enum Rise {
    None,
    /// In log space (Gaussian fit).
    Log(f32),
    /// In value space (parabola fit).
    Value(f32),
}

impl Rise {
    fn linear(self, centre: f32) -> f32 {
        match self {
            Rise::None => 0.0,
            Rise::Log(l) => centre * (l.exp() - 1.0),
            Rise::Value(d) => d,
        }
    }
}

/// Vertex offset (clamped to -0.5..=0.5) of the curve through three samples, and its rise there.
#[inline]
fn vertex(left: f32, centre: f32, right: f32) -> (f32, Rise) {
    let fit = |l: f32, c: f32, r: f32| {
        let g = 0.5 * (r - l);
        let curvature = l - 2.0 * c + r;
        if curvature >= 0.0 {
            return (0.0, 0.0);
        }
        let t = (-g / curvature).clamp(-0.5, 0.5);
        (t, g * t + 0.5 * curvature * t * t)
    };
    if left > 0.0 && right > 0.0 {
        let (t, rise) = fit(left.ln(), centre.ln(), right.ln());
        (t, Rise::Log(rise))
    } else {
        let (t, rise) = fit(left, centre, right);
        (t, Rise::Value(rise))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian_map(w: usize, h: usize, centres: &[(f32, f32, f32)], sigma: f32) -> MapStack {
        let mut data = vec![0.0; w * h];
        for r in 0..h {
            for c in 0..w {
                for &(cx, cy, a) in centres {
                    let d2 = (c as f32 - cx).powi(2) + (r as f32 - cy).powi(2);
                    data[r * w + c] =
                        f32::max(data[r * w + c], a * (-d2 / (2.0 * sigma * sigma)).exp());
                }
            }
        }
        MapStack::from_chw(data, 1, h, w).unwrap()
    }

    #[test]
    fn gaussian_peaks_are_found_at_sub_cell_precision() {
        let m = gaussian_map(40, 30, &[(10.3, 7.8, 0.9), (25.6, 20.2, 0.5)], 1.0);
        let mut peaks = vec![];
        find_peaks(&m, 0, 0.1, (40, 30), &mut peaks);
        assert_eq!(peaks.len(), 2);
        assert!((peaks[0].col - 10.3).abs() < 1e-3 && (peaks[0].row - 7.8).abs() < 1e-3);
        assert!((peaks[1].col - 25.6).abs() < 1e-3 && (peaks[1].row - 20.2).abs() < 1e-3);
        assert!((peaks[0].score - 0.9).abs() < 1e-3, "{}", peaks[0].score);
        assert!((peaks[1].score - 0.5).abs() < 1e-3, "{}", peaks[1].score);
    }

    #[test]
    fn threshold_and_valid_region_are_honoured() {
        let m = gaussian_map(
            40,
            30,
            &[(10.0, 7.0, 0.9), (35.0, 20.0, 0.9), (20.0, 20.0, 0.05)],
            1.0,
        );
        let mut peaks = vec![];
        find_peaks(&m, 0, 0.1, (30, 30), &mut peaks);
        assert_eq!(peaks.len(), 1, "{peaks:?}");
    }

    #[test]
    fn a_plateau_gives_one_peak() {
        let mut data = vec![0.0; 25];
        for i in [6, 7, 8, 11, 12, 13] {
            data[i] = 0.5;
        }
        let m = MapStack::from_chw(data, 1, 5, 5).unwrap();
        let mut peaks = vec![];
        find_peaks(&m, 0, 0.1, (5, 5), &mut peaks);
        assert_eq!(peaks.len(), 1);
    }

    #[test]
    fn peaks_on_the_border_are_kept() {
        let m = gaussian_map(20, 20, &[(0.0, 5.0, 0.8)], 1.0);
        let mut peaks = vec![];
        find_peaks(&m, 0, 0.1, (20, 20), &mut peaks);
        assert_eq!(peaks.len(), 1);
        assert_eq!(peaks[0].col, 0.0);
    }
}
