//! Hampel outlier rejection (as Pose2Sim and Sports2D run it before low-passing): a sample further
//! from its window's median than `n_sigma` robust standard deviations is replaced by that median.

/// The window (odd, in samples) and the threshold, in robust standard deviations.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hampel {
    pub window: usize,
    pub n_sigma: f64,
}

impl Default for Hampel {
    /// Pose2Sim's and Sports2D's: seven samples, two sigmas.
    fn default() -> Self {
        Self {
            window: 7,
            n_sigma: 2.0,
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Replaces outliers in place; returns how many. Missing samples are skipped and never counted in
/// a window; windows that would reach past either end are left alone, as Pose2Sim does.
pub fn reject_outliers(x: &mut [Option<f64>], h: Hampel) -> usize {
    let half = h.window / 2;
    if x.len() <= 2 * half || half == 0 {
        return 0;
    }
    let source = x.to_vec();
    let mut replaced = 0;
    for i in half..x.len() - half {
        let Some(value) = source[i] else { continue };
        let mut window: Vec<f64> = source[i - half..=i + half]
            .iter()
            .flatten()
            .copied()
            .collect();
        let m = median(&mut window);
        let mut deviations: Vec<f64> = window.iter().map(|v| (v - m).abs()).collect();
        let mad = median(&mut deviations);
        // 0.6745: the normal distribution's 75th percentile, so MAD / 0.6745 estimates sigma.
        if mad > 0.0 && (0.6745 * (value - m) / mad).abs() > h.n_sigma {
            x[i] = Some(m);
            replaced += 1;
        }
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_is_replaced_and_a_smooth_ramp_is_not() {
        let mut x: Vec<Option<f64>> = (0..30)
            .map(|i| Some(i as f64 + 0.1 * (i % 3) as f64))
            .collect();
        let clean = x.clone();
        assert_eq!(reject_outliers(&mut x, Hampel::default()), 0);
        assert_eq!(x, clean);
        x[12] = Some(80.0);
        x[20] = None;
        assert_eq!(reject_outliers(&mut x, Hampel::default()), 1);
        assert!((x[12].unwrap() - 12.0).abs() < 2.0, "{:?}", x[12]);
        assert_eq!(x[20], None, "a gap stays a gap");
    }
}
