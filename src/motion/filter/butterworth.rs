//! A zero-lag Butterworth low-pass: the design of SciPy's `butter` (bilinear transform of the analog
//! prototype, with pre-warping) and the forward-backward run of its `filtfilt` (odd extension of
//! three filter lengths at each end, steady-state start), so results match SciPy's to rounding.

use super::linalg::{solve, Complex};

/// Numerator and denominator of a digital filter, `a[0] == 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficients {
    pub b: Vec<f64>,
    pub a: Vec<f64>,
}

/// A low-pass Butterworth of `order` with its cutoff at `cutoff_hz` for samples `rate_hz` apart
/// (SciPy's `butter(order, cutoff_hz / (rate_hz / 2))`). `None` when the cutoff is not below Nyquist.
pub fn design(order: usize, cutoff_hz: f64, rate_hz: f64) -> Option<Coefficients> {
    let wn = cutoff_hz / (rate_hz / 2.0);
    if order == 0 || !(wn > 0.0 && wn < 1.0) {
        return None;
    }
    // Analog prototype poles on the unit circle's left half, scaled to the pre-warped cutoff.
    let warped = 4.0 * (std::f64::consts::PI * wn / 2.0).tan();
    let n = order as f64;
    let poles: Vec<Complex> = (0..order)
        .map(|i| {
            let m = -(n - 1.0) + 2.0 * i as f64;
            let theta = std::f64::consts::PI * m / (2.0 * n);
            Complex::new(-theta.cos(), -theta.sin()).scale(warped)
        })
        .collect();
    // Bilinear transform at fs = 2 (SciPy's normalised frequency): s -> 4 (z - 1) / (z + 1).
    let four = Complex::new(4.0, 0.0);
    let digital: Vec<Complex> = poles.iter().map(|&p| (four + p) / (four - p)).collect();
    let gain_den = poles
        .iter()
        .fold(Complex::new(1.0, 0.0), |acc, &p| acc * (four - p));
    let gain = warped.powi(order as i32) / gain_den.re;
    let b: Vec<f64> = binomial(order).iter().map(|c| c * gain).collect();
    let a = poly(&digital);
    Some(Coefficients { b, a })
}

/// Coefficients of (z + 1)^n.
fn binomial(n: usize) -> Vec<f64> {
    let mut c = vec![1.0];
    for _ in 0..n {
        let mut next = vec![0.0; c.len() + 1];
        for (i, v) in c.iter().enumerate() {
            next[i] += v;
            next[i + 1] += v;
        }
        c = next;
    }
    c
}

/// The monic polynomial with these roots (real parts: the roots come in conjugate pairs).
fn poly(roots: &[Complex]) -> Vec<f64> {
    let mut c = vec![Complex::new(1.0, 0.0)];
    for &r in roots {
        let mut next = vec![Complex::new(0.0, 0.0); c.len() + 1];
        for (i, &v) in c.iter().enumerate() {
            next[i] = next[i] + v;
            next[i + 1] = next[i + 1] - v * r;
        }
        c = next;
    }
    c.into_iter().map(|v| v.re).collect()
}

/// Direct form II transposed, from the state `zi` (SciPy's `lfilter`).
pub fn lfilter(c: &Coefficients, x: &[f64], zi: &[f64]) -> Vec<f64> {
    let n = c.a.len().max(c.b.len());
    let coef = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0) / c.a[0];
    let mut z = zi.to_vec();
    z.resize(n - 1, 0.0);
    x.iter()
        .map(|&xi| {
            let y = coef(&c.b, 0) * xi + z.first().copied().unwrap_or(0.0);
            for i in 0..n - 1 {
                let next = z.get(i + 1).copied().unwrap_or(0.0);
                z[i] = coef(&c.b, i + 1) * xi - coef(&c.a, i + 1) * y + next;
            }
            y
        })
        .collect()
}

/// The state of a filter that has seen a constant 1 forever (SciPy's `lfilter_zi`).
pub fn steady_state(c: &Coefficients) -> Vec<f64> {
    let n = c.a.len().max(c.b.len());
    let pad = |v: &[f64]| {
        let mut v: Vec<f64> = v.iter().map(|x| x / c.a[0]).collect();
        v.resize(n, 0.0);
        v
    };
    let (a, b) = (pad(&c.a), pad(&c.b));
    // (I - companion(a)^T) zi = b[1:] - a[1:] b[0]
    let m = n - 1;
    let mut matrix = vec![vec![0.0; m]; m];
    for (i, row) in matrix.iter_mut().enumerate() {
        row[i] += 1.0;
        row[0] += a[i + 1];
        if i + 1 < m {
            row[i + 1] -= 1.0;
        }
    }
    let rhs: Vec<f64> = (0..m).map(|i| b[i + 1] - a[i + 1] * b[0]).collect();
    solve(matrix, rhs).unwrap_or_else(|| vec![0.0; m])
}

/// Samples each end is extended by (SciPy's default `padlen`).
pub fn pad_length(c: &Coefficients) -> usize {
    3 * c.a.len().max(c.b.len())
}

/// Forward then backward, so the phase shifts cancel (SciPy's `filtfilt`, odd padding). `None` when
/// the run is not longer than the padding.
pub fn filtfilt(c: &Coefficients, x: &[f64]) -> Option<Vec<f64>> {
    let pad = pad_length(c);
    if x.len() <= pad {
        return None;
    }
    let (first, last) = (x[0], x[x.len() - 1]);
    let mut ext = Vec::with_capacity(x.len() + 2 * pad);
    ext.extend((1..=pad).rev().map(|i| 2.0 * first - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=pad).map(|i| 2.0 * last - x[x.len() - 1 - i]));
    let zi = steady_state(c);
    let scaled = |k: f64| zi.iter().map(|z| z * k).collect::<Vec<_>>();
    let forward = lfilter(c, &ext, &scaled(ext[0]));
    let mut reversed: Vec<f64> = forward.into_iter().rev().collect();
    let start = reversed[0];
    reversed = lfilter(c, &reversed, &scaled(start));
    reversed.reverse();
    Some(reversed[pad..pad + x.len()].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_matches_scipy() {
        // scipy.signal.butter(2, 6 / 15): b, a
        let c = design(2, 6.0, 30.0).unwrap();
        let b = [0.20657208, 0.41314417, 0.20657208];
        let a = [1.0, -0.36952738, 0.19581571];
        for (x, y) in c.b.iter().zip(b).chain(c.a.iter().zip(a)) {
            assert!((x - y).abs() < 1e-7, "{c:?}");
        }
        assert!(design(2, 15.0, 30.0).is_none(), "cutoff at Nyquist");
        assert!(design(0, 6.0, 30.0).is_none());
    }

    #[test]
    fn a_constant_passes_unchanged() {
        for order in 1..=5 {
            let c = design(order, 3.0, 50.0).unwrap();
            let y = filtfilt(&c, &[2.5; 100]).unwrap();
            assert!(y.iter().all(|v| (v - 2.5).abs() < 1e-9), "order {order}");
        }
    }
}
