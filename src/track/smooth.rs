//! The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012): a low-pass filter whose cutoff rises
//! with speed, so a joint at rest stops jittering while a fast one does not lag.

use std::f32::consts::PI;

/// Cutoff of the speed estimate itself, as the paper recommends.
const DERIVATIVE_CUTOFF_HZ: f32 = 1.0;

/// Smoothing factor of a first-order low-pass at `cutoff_hz` for a step of `dt` seconds.
fn alpha(cutoff_hz: f32, dt: f32) -> f32 {
    let tau = 1.0 / (2.0 * PI * cutoff_hz.max(1e-6));
    1.0 / (1.0 + tau / dt.max(1e-6))
}

/// One coordinate's filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct OneEuro {
    value: Option<f32>,
    speed: f32,
}

impl OneEuro {
    /// Filters `x` seen `dt` seconds after the previous value. `min_cutoff_hz` is the smoothing at rest,
    /// `beta` how fast the cutoff rises with speed, and `scale` the size that speeds are measured in
    /// (the person's size in pixels, so the filter behaves alike at any resolution).
    pub fn filter(&mut self, x: f32, dt: f32, min_cutoff_hz: f32, beta: f32, scale: f32) -> f32 {
        let Some(previous) = self.value.filter(|_| dt > 0.0 && x.is_finite()) else {
            self.value = Some(x);
            self.speed = 0.0;
            return x;
        };
        let speed = (x - previous) / dt;
        self.speed += alpha(DERIVATIVE_CUTOFF_HZ, dt) * (speed - self.speed);
        let cutoff = min_cutoff_hz + beta * self.speed.abs() / scale.max(1.0);
        let smoothed = previous + alpha(cutoff, dt) * (x - previous);
        self.value = Some(smoothed);
        smoothed
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::maps::SplitMix64;

    /// Standard deviation of frame-to-frame changes.
    fn jitter(xs: &[f32]) -> f32 {
        let d: Vec<f32> = xs.windows(2).map(|w| w[1] - w[0]).collect();
        let m = d.iter().sum::<f32>() / d.len() as f32;
        (d.iter().map(|v| (v - m).powi(2)).sum::<f32>() / d.len() as f32).sqrt()
    }

    #[test]
    fn a_still_joint_stops_jittering_and_a_fast_one_does_not_lag() {
        let (min_cutoff, beta, size) = (1.0, 4.0, 200.0);
        for fps in [10.0f32, 30.0] {
            let dt = 1.0 / fps;
            let mut rng = SplitMix64(7);
            let mut f = OneEuro::default();
            let noisy: Vec<f32> = (0..300).map(|_| 100.0 + (rng.unit() - 0.5) * 6.0).collect();
            let smooth: Vec<f32> = noisy
                .iter()
                .map(|&x| f.filter(x, dt, min_cutoff, beta, size))
                .collect();
            let (before, after) = (jitter(&noisy[50..]), jitter(&smooth[50..]));
            assert!(
                after < 0.5 * before,
                "{fps} fps: jitter {before} -> {after}"
            );
            // A wrist sweeping at two body sizes a second.
            let mut f = OneEuro::default();
            let speed = 2.0 * size;
            let mut lag = 0.0f32;
            for i in 0..(2.0 * fps) as usize {
                let x = speed * i as f32 * dt;
                lag = x - f.filter(x, dt, min_cutoff, beta, size);
            }
            assert!(
                lag <= speed * dt,
                "{fps} fps: lag {lag} px is over one frame"
            );
        }
    }
}
