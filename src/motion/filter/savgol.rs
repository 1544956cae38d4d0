//! Savitzky–Golay smoothing: a least-squares polynomial through each window, evaluated at its centre
//! (at the ends, the first and last windows' polynomials: SciPy's `mode="interp"`). It keeps peaks'
//! heights better than a low-pass of the same strength.

use super::linalg::solve;

/// The window (odd, in samples) and the polynomial's order (below the window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavGol {
    pub window: usize,
    pub order: usize,
}

/// Weights over samples at `positions` that give the least-squares polynomial's value at `at`.
fn weights(positions: &[f64], order: usize, at: f64) -> Option<Vec<f64>> {
    let k = order + 1;
    let mut normal = vec![vec![0.0; k]; k];
    for &t in positions {
        for (r, row) in normal.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v += t.powi((r + c) as i32);
            }
        }
    }
    let powers: Vec<f64> = (0..k).map(|p| at.powi(p as i32)).collect();
    let u = solve(normal, powers)?;
    Some(
        positions
            .iter()
            .map(|&t| (0..k).map(|p| u[p] * t.powi(p as i32)).sum())
            .collect(),
    )
}

/// Smooths one run without missing samples; `None` when the run is shorter than the window or the
/// settings are not a valid filter.
pub fn smooth(x: &[f64], s: SavGol) -> Option<Vec<f64>> {
    if s.window.is_multiple_of(2) || s.order >= s.window || x.len() < s.window {
        return None;
    }
    let half = s.window / 2;
    let positions: Vec<f64> = (0..s.window).map(|j| j as f64 - half as f64).collect();
    let centre = weights(&positions, s.order, 0.0)?;
    let dot = |w: &[f64], from: usize| w.iter().zip(&x[from..]).map(|(a, b)| a * b).sum::<f64>();
    let mut y = vec![0.0; x.len()];
    for (i, v) in y.iter_mut().enumerate().take(x.len() - half).skip(half) {
        *v = dot(&centre, i - half);
    }
    let last = x.len() - s.window;
    for i in 0..half {
        y[i] = dot(&weights(&positions, s.order, i as f64 - half as f64)?, 0);
        let end = x.len() - half + i;
        y[end] = dot(&weights(&positions, s.order, (i + 1) as f64)?, last);
    }
    Some(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polynomial_of_the_filters_order_passes_unchanged() {
        let x: Vec<f64> = (0..40)
            .map(|i| 0.5 * (i * i) as f64 - 3.0 * i as f64 + 7.0)
            .collect();
        let y = smooth(
            &x,
            SavGol {
                window: 9,
                order: 2,
            },
        )
        .unwrap();
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
        assert!(
            smooth(
                &x,
                SavGol {
                    window: 8,
                    order: 2
                }
            )
            .is_none(),
            "even window"
        );
        assert!(smooth(
            &x[..5],
            SavGol {
                window: 9,
                order: 2
            }
        )
        .is_none());
    }
}
