//! Offline filtering of a whole track, one coordinate at a time: short gaps filled (and marked),
//! outliers rejected, then a zero-lag low-pass. Live views keep their causal One-Euro filter; these
//! need every sample of a clip, so exports run them after the last frame.

pub mod butterworth;
pub mod gaps;
pub mod hampel;
mod linalg;
pub mod savgol;

pub use gaps::Interpolation;
pub use hampel::Hampel;
pub use savgol::SavGol;

/// A Butterworth low-pass run forward then backward. `order` counts both passes, as Pose2Sim and
/// Sports2D do: order 4 is a second-order filter run twice, with no lag.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LowPass {
    pub order: usize,
    pub cutoff_hz: f64,
}

impl Default for LowPass {
    fn default() -> Self {
        Self {
            order: 4,
            cutoff_hz: 6.0,
        }
    }
}

/// What runs, in this order: gap filling, Hampel, Butterworth, Savitzky–Golay.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilterSettings {
    /// Longest gap filled, in samples (0: none).
    pub max_gap: usize,
    pub interpolation: Interpolation,
    pub hampel: Option<Hampel>,
    pub low_pass: Option<LowPass>,
    pub savgol: Option<SavGol>,
}

impl Default for FilterSettings {
    /// Sports2D's defaults: gaps up to 10 samples, Hampel, Butterworth order 4 at 6 Hz.
    fn default() -> Self {
        Self {
            max_gap: 10,
            interpolation: Interpolation::Cubic,
            hampel: Some(Hampel::default()),
            low_pass: Some(LowPass::default()),
            savgol: None,
        }
    }
}

/// A filtered coordinate: the values (`None` where still missing) and which were filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtered {
    pub values: Vec<Option<f64>>,
    pub filled: Vec<bool>,
    pub outliers: usize,
}

/// Runs `s` over samples taken `rate_hz` times a second.
pub fn filter(x: &[Option<f64>], rate_hz: f64, s: &FilterSettings) -> Filtered {
    let mut values = x.to_vec();
    let filled = gaps::fill_gaps(&mut values, s.max_gap, s.interpolation);
    let outliers = s
        .hampel
        .map_or(0, |h| hampel::reject_outliers(&mut values, h));
    if let Some(lp) = s.low_pass {
        // Half the order each way; an odd order rounds up, as a filter cannot be half a pole.
        if let Some(c) = butterworth::design(lp.order.div_ceil(2), lp.cutoff_hz, rate_hz) {
            for_each_run(&mut values, |run| butterworth::filtfilt(&c, run));
        }
    }
    if let Some(sg) = s.savgol {
        for_each_run(&mut values, |run| savgol::smooth(run, sg));
    }
    Filtered {
        values,
        filled,
        outliers,
    }
}

/// Applies `f` to each run of known samples (runs it cannot take are left as they are).
fn for_each_run(x: &mut [Option<f64>], f: impl Fn(&[f64]) -> Option<Vec<f64>>) {
    let mut i = 0;
    while i < x.len() {
        if x[i].is_none() {
            i += 1;
            continue;
        }
        let end = (i..x.len()).find(|&j| x[j].is_none()).unwrap_or(x.len());
        let run: Vec<f64> = x[i..end].iter().flatten().copied().collect();
        if let Some(out) = f(&run) {
            for (slot, v) in x[i..end].iter_mut().zip(out) {
                *slot = Some(v);
            }
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::maps::SplitMix64;

    /// A 1 Hz sine at 30 fps (amplitude 50 px) with noise, three spikes and two gaps (3 and 20 frames).
    fn synthetic() -> (Vec<f64>, Vec<Option<f64>>) {
        let mut rng = SplitMix64(11);
        let clean: Vec<f64> = (0..300)
            .map(|i| 200.0 + 50.0 * (2.0 * std::f64::consts::PI * i as f64 / 30.0).sin())
            .collect();
        let mut x: Vec<Option<f64>> = clean
            .iter()
            .map(|v| Some(v + 4.0 * (f64::from(rng.unit()) - 0.5)))
            .collect();
        for i in [40, 130, 222] {
            x[i] = Some(clean[i] + 120.0);
        }
        for i in (100..103).chain(250..270) {
            x[i] = None;
        }
        (clean, x)
    }

    #[test]
    fn a_noisy_sine_keeps_its_peaks_in_time_and_loses_its_spikes_and_short_gaps() {
        let (clean, x) = synthetic();
        let out = filter(&x, 30.0, &FilterSettings::default());
        assert!(out.outliers >= 3, "{} outliers", out.outliers);
        for i in [40, 130, 222] {
            let v = out.values[i].unwrap();
            assert!(
                (v - clean[i]).abs() < 6.0,
                "spike at {i} left {v} vs {}",
                clean[i]
            );
        }
        // The 3-frame gap is filled and marked; the 20-frame one stays missing, unmarked.
        assert!((100..103).all(|i| out.filled[i] && out.values[i].is_some()));
        assert!((250..270).all(|i| !out.filled[i] && out.values[i].is_none()));
        assert_eq!(out.filled.iter().filter(|f| **f).count(), 3);
        // Zero lag: each peak of the filtered curve is within one frame of the true peak.
        for peak in [7.5f64, 37.5, 67.5, 157.5, 187.5] {
            let (from, to) = ((peak - 10.0) as usize, (peak + 10.0) as usize);
            let best = (from..to)
                .max_by(|&a, &b| out.values[a].unwrap().total_cmp(&out.values[b].unwrap()))
                .unwrap();
            assert!(
                (best as f64 - peak).abs() <= 1.0,
                "peak at {best}, truth {peak}"
            );
        }
        // And the noise is gone: residuals well under the noise's amplitude.
        let rms = (0..240)
            .filter(|i| !(95..110).contains(i))
            .map(|i| (out.values[i].unwrap() - clean[i]).powi(2))
            .sum::<f64>()
            / 225.0;
        assert!(rms.sqrt() < 1.5, "rms {}", rms.sqrt());
    }

    #[test]
    fn savitzky_golay_and_no_filters_at_all() {
        let (_, x) = synthetic();
        let none = FilterSettings {
            max_gap: 0,
            hampel: None,
            low_pass: None,
            savgol: None,
            ..Default::default()
        };
        assert_eq!(
            filter(&x, 30.0, &none).values,
            x,
            "nothing asked, nothing changed"
        );
        let sg = FilterSettings {
            savgol: Some(SavGol {
                window: 9,
                order: 2,
            }),
            low_pass: None,
            ..Default::default()
        };
        let out = filter(&x, 30.0, &sg);
        assert_eq!(out.values.iter().filter(|v| v.is_none()).count(), 20);
    }
}
