//! Calibrating cameras. Lenses from a checkerboard: the corners found by calib-targets
//! ([`board`]), the views worth keeping ([`select`]), and the lens solved by vision-calibration
//! ([`lens`]); and a calibration checked against the people its cameras filmed ([`check`]). Pure: pictures come in as grey images, files are the command line's business.

pub mod board;
pub mod check;
pub mod lens;
pub mod select;
pub mod synthetic;

pub use board::{Board, BoardView, Miss};
pub use lens::{LensError, LensFit, LensOptions};
pub use select::{Candidate, Selection, Verdict};
