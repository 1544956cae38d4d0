//! Getting posecam ready on a user's machine: where things live (data, config, checkout), resumable
//! verified downloads, and installing ONNX Runtime (CPU or GPU build) from PyPI's wheels.

pub mod download;
pub mod paths;
pub mod pypi;
pub mod runtime;
