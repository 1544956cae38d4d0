//! Calibrating cameras. Lenses from a checkerboard: the corners found by calib-targets
//! ([`board`]), the views worth keeping ([`select`]), and the lens solved by vision-calibration
//! ([`lens`]); the rig solved from the people in view ([`people`]); and a calibration checked against the people its cameras filmed ([`check`]) or against another ([`compare`]). Pure: pictures come in as grey images, files are the command line's business.

pub mod board;
pub mod check;
pub mod compare;
pub mod lens;
pub mod people;
pub mod select;
pub mod synthetic;

pub use board::{Board, BoardView, Miss};
pub use lens::{LensError, LensFit, LensOptions};
pub use select::{Candidate, Selection, Verdict};
