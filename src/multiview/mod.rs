//! Several calibrated cameras, one 3D scene: calibrations ([`calib`]), cameras and rigs, detections
//! matched across views ([`associate`]), joints triangulated ([`triangulate`]) and people followed in
//! 3D ([`track3d`]); [`scene`] runs them over a clip. Pure geometry: no files, threads or video
//! (except the calibration readers in [`calib`]).

pub mod associate;
pub mod calib;
pub mod camera;
pub mod rig;
pub mod scene;
pub mod summary;
pub mod sync;
pub mod synthetic;
pub mod track3d;
pub mod triangulate;

pub use camera::{Camera, Lens};
pub use rig::{Rig, RigError};

#[cfg(test)]
mod synthetic_tests;
