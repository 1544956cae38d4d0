//! The motion analysis options of `export` (and the window's defaults): filters, units, sides.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use posecam::motion::filter::{Hampel, Interpolation, LowPass, SavGol};
use posecam::motion::{Facing, FilterSettings, MotionSettings, ScaleSource};

use super::number_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GapFill {
    Linear,
    Cubic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Side {
    Auto,
    Right,
    Left,
    Front,
    Back,
    None,
}

/// `export --motion DIR` and how the files are made.
#[derive(Debug, Clone, Args)]
pub struct MotionArgs {
    /// Write motion files into this folder, after the last frame: per person <stem>_p<ID>.trc,
    /// .c3d, _angles.mot and _angles.png; for everyone <stem>_motion.csv (raw and filtered pixels,
    /// metres, speeds) and <stem>_angles.csv (joint and segment angles, raw and filtered).
    #[arg(long, value_name = "DIR", conflicts_with = "no_track")]
    pub motion: Option<PathBuf>,
    #[command(flatten)]
    pub how: MotionSettingsArgs,
}

/// How motion files are made: filtered tracks, angles, metres and speeds; `.trc`, `.mot`, `.c3d`
/// and plots (export and batch plan alike).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Motion analysis")]
pub struct MotionSettingsArgs {
    /// The height of the person the scale is measured on, in metres (pixels become metres from
    /// their median limb lengths).
    #[arg(long, value_name = "METRES", default_value_t = 1.70, value_parser = number_in(0.3..=3.0))]
    pub person_height: f64,
    /// Whose height --person-height is (default: the person seen in the most frames).
    #[arg(long, value_name = "ID")]
    pub height_of: Option<u64>,
    /// A known scale instead of a height (e.g. from a calibration).
    #[arg(long, value_name = "M", conflicts_with_all = ["height_of"], value_parser = number_in(1e-6..=10.0))]
    pub metres_per_pixel: Option<f64>,
    /// The floor's tilt in the picture in degrees (default: from where the feet rest).
    #[arg(long, value_name = "DEGREES", value_parser = number_in(-45.0..=45.0), allow_hyphen_values = true)]
    pub floor_angle: Option<f64>,
    /// The floor point that becomes (0, 0), in pixels: X,Y (default: under the resting feet).
    #[arg(long, value_name = "X,Y", value_parser = parse_point, allow_hyphen_values = true)]
    pub origin: Option<(f64, f64)>,
    /// The side people are seen from; angles are computed as if they faced right.
    #[arg(long, value_enum, default_value_t = Side::Auto)]
    pub facing: Side,
    /// Longest gap filled by interpolation, in frames (0: none). Filled points are marked.
    #[arg(long, value_name = "FRAMES", default_value_t = 10, value_parser = number_in(0usize..=10_000))]
    pub fill_gaps: usize,
    #[arg(long, value_enum, default_value_t = GapFill::Cubic)]
    pub gap_fill: GapFill,
    /// No Hampel outlier rejection (7 frames, 2 sigmas).
    #[arg(long)]
    pub no_hampel: bool,
    /// Zero-lag Butterworth low-pass cutoff, in Hz (0: no low-pass).
    #[arg(long, value_name = "HZ", default_value_t = 6.0, value_parser = number_in(0.0..=1000.0))]
    pub cutoff: f64,
    /// Butterworth order, counting both passes as Pose2Sim does (even).
    #[arg(long, default_value_t = 4, value_parser = number_in(2usize..=12))]
    pub butterworth_order: usize,
    /// Also smooth with Savitzky–Golay: WINDOW,ORDER in frames (odd window above the order).
    #[arg(long, value_name = "WINDOW,ORDER", value_parser = parse_savgol)]
    pub savgol: Option<SavGol>,
}

fn parse_point(s: &str) -> Result<(f64, f64), String> {
    let (x, y) = s.split_once(',').ok_or("expected X,Y")?;
    let n = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or(format!("'{v}' is not a number"))
    };
    Ok((n(x)?, n(y)?))
}

fn parse_savgol(s: &str) -> Result<SavGol, String> {
    let (w, o) = s
        .split_once(',')
        .ok_or("expected WINDOW,ORDER (e.g. 9,2)")?;
    let n = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{v}' is not a whole number"))
    };
    let (window, order) = (n(w)?, n(o)?);
    if window % 2 == 0 || order >= window || window > 1001 {
        return Err(format!(
            "the window must be odd, at most 1001, and above the order: got {window},{order}"
        ));
    }
    Ok(SavGol { window, order })
}

impl MotionSettingsArgs {
    pub fn settings(&self) -> Result<MotionSettings> {
        if self.butterworth_order % 2 == 1 {
            bail!("--butterworth-order must be even: it counts the forward and the backward pass");
        }
        let scale = match self.metres_per_pixel {
            Some(m) => ScaleSource::MetresPerPixel(m),
            None => ScaleSource::PersonHeight {
                metres: self.person_height,
                person: self.height_of,
            },
        };
        let facing = match self.facing {
            Side::Auto => Facing::Auto,
            Side::Right => Facing::Right,
            Side::Left => Facing::Left,
            Side::Front => Facing::Front,
            Side::Back => Facing::Back,
            Side::None => Facing::None,
        };
        Ok(MotionSettings {
            filter: FilterSettings {
                max_gap: self.fill_gaps,
                interpolation: match self.gap_fill {
                    GapFill::Linear => Interpolation::Linear,
                    GapFill::Cubic => Interpolation::Cubic,
                },
                hampel: (!self.no_hampel).then(Hampel::default),
                low_pass: (self.cutoff > 0.0).then_some(LowPass {
                    order: self.butterworth_order,
                    cutoff_hz: self.cutoff,
                }),
                savgol: self.savgol,
            },
            scale,
            facing,
            floor_angle_deg: self.floor_angle,
            origin_px: self.origin,
        })
    }
}

impl MotionArgs {
    /// The folder and settings, when motion files are asked for.
    pub fn request(&self) -> Result<Option<(PathBuf, MotionSettings)>> {
        self.motion
            .clone()
            .map(|dir| Ok((dir, self.how.settings()?)))
            .transpose()
    }
}
