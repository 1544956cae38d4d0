//! Calibration files in and out: Pose2Sim's `Calib.toml` and aniposelib's `calibration.toml` (one
//! reader: the same fields, 4 or 5 distortion terms), Qualisys' `.qca.txt`, and Pose2Sim's format
//! written, which this ecosystem reads.

mod qualisys;
mod toml_file;

use std::path::{Path, PathBuf};

use super::camera::Camera;
use super::rig::{Rig, RigError};

pub use toml_file::{to_pose2sim_toml, Metadata};

/// A calibration file that cannot be read as a rig.
#[derive(Debug, thiserror::Error)]
pub enum CalibError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Rig { path: PathBuf, source: RigError },
}

/// What is wrong inside a calibration file (its field or line), before it is a rig.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

impl From<String> for FormatError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for FormatError {
    fn from(message: &str) -> Self {
        Self(message.to_string())
    }
}

/// The formats posecam reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalibFormat {
    /// Pose2Sim's `Calib.toml` or aniposelib's `calibration.toml`.
    Toml,
    /// Qualisys Track Manager's `.qca.txt` export.
    Qualisys,
}

impl CalibFormat {
    /// By content: Qualisys writes XML, the others TOML.
    fn sniff(text: &str) -> Self {
        if text.trim_start().starts_with('<') {
            Self::Qualisys
        } else {
            Self::Toml
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Toml => "Pose2Sim/aniposelib TOML",
            Self::Qualisys => "Qualisys .qca.txt",
        }
    }
}

/// Reads any calibration posecam knows, and checks it is a rig.
pub fn read(path: &Path) -> Result<(Rig, CalibFormat), CalibError> {
    let (cameras, format) = read_cameras(path)?;
    let rig = Rig::new(cameras).map_err(|source| CalibError::Rig {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((rig, format))
}

/// The cameras of a calibration file, not yet checked as a rig: a file of lenses only (every camera
/// at the origin, as `calib intrinsics` writes) reads too.
pub fn read_cameras(path: &Path) -> Result<(Vec<Camera>, CalibFormat), CalibError> {
    let text = std::fs::read_to_string(path).map_err(|source| CalibError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let format = CalibFormat::sniff(&text);
    let invalid = |e: FormatError| CalibError::Invalid {
        path: path.to_path_buf(),
        message: e.0,
    };
    let cameras = match format {
        CalibFormat::Toml => toml_file::parse(&text).map_err(invalid)?,
        CalibFormat::Qualisys => qualisys::parse(&text).map_err(invalid)?,
    };
    Ok((cameras, format))
}
