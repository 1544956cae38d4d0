//! Motion as data: whole tracks filtered without lag, joint and segment angles in clinical
//! conventions, metres and speeds. Pure functions over a clip's tracks (no I/O, no threads): the
//! export runs them after the last frame, the window on the frames it keeps, and the files in
//! [`crate::io::biomech`] write what they return.

pub mod angles;
pub mod clip;
pub mod filter;
pub mod markers;
pub mod units;

pub use angles::{AngleDef, AngleKind, AngleSet, Facing, ANGLES};
pub use clip::{analyse, ClipMotion, MotionSettings, PersonMotion, PersonTrack, ScaleSource};
pub use filter::FilterSettings;
