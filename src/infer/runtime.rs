//! Finding and loading the ONNX Runtime shared library, and choosing the execution provider.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use crate::paths::{project_roots, DEPS_DIR};

use super::EngineError;

/// Which hardware runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA when it can be registered, else CPU (the reason is logged).
    #[default]
    Auto,
    Cpu,
    /// CUDA on this device ordinal; failure is an error.
    Cuda(i32),
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<i32>) {
                Some(Ok(id)) if id >= 0 => Ok(Device::Cuda(id)),
                _ => Err(format!(
                    "unknown device '{s}': use auto, cpu, cuda or cuda:N"
                )),
            },
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Auto => f.write_str("auto"),
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(id) => write!(f, "cuda:{id}"),
        }
    }
}

/// The execution provider a session really runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Provider {
    #[serde(rename = "CPU")]
    Cpu,
    #[serde(rename = "CUDA")]
    Cuda,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Cpu => "CPU",
            Provider::Cuda => "CUDA",
        })
    }
}

fn library_file_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Where the library is looked for, in order: the project-local copies made by set-up (the GPU build
/// first, when it was installed), then `ORT_DYLIB_PATH`.
pub fn library_candidates() -> Vec<PathBuf> {
    let name = library_file_name();
    let mut out = Vec::new();
    for root in project_roots() {
        for variant in ["onnxruntime-gpu", "onnxruntime"] {
            out.push(root.join(DEPS_DIR).join(variant).join(&name));
        }
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
    }
    out
}

static RUNTIME: OnceLock<Result<(PathBuf, ort::environment::Environment), EngineError>> =
    OnceLock::new();

/// Loads ONNX Runtime once per process, from `explicit` if given, else from the first candidate that
/// exists. Returns the library's path and the process-wide environment.
pub fn init_runtime(
    explicit: Option<&Path>,
) -> Result<&'static (PathBuf, ort::environment::Environment), EngineError> {
    RUNTIME
        .get_or_init(|| {
            let path = match explicit {
                Some(p) if p.is_file() => p.to_path_buf(),
                Some(p) => {
                    return Err(EngineError::RuntimeMissing {
                        searched: p.display().to_string(),
                    })
                }
                None => library_candidates()
                    .into_iter()
                    .find(|p| p.is_file())
                    .ok_or_else(|| EngineError::RuntimeMissing {
                        searched: library_candidates()
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?,
            };
            let builder = ort::init_from(&path).map_err(|e| EngineError::RuntimeLoad {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let env = builder
                .with_name("posecam")
                .with_telemetry(false)
                .build()
                .map_err(|e| EngineError::RuntimeLoad {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            tracing::debug!(library = %path.display(), "ONNX Runtime loaded");
            Ok((path, env))
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse() {
        assert_eq!("auto".parse::<Device>(), Ok(Device::Auto));
        assert_eq!("CPU".parse::<Device>(), Ok(Device::Cpu));
        assert_eq!("cuda".parse::<Device>(), Ok(Device::Cuda(0)));
        assert_eq!("cuda:2".parse::<Device>(), Ok(Device::Cuda(2)));
        assert!("cuda:-1".parse::<Device>().is_err());
        assert!("tpu".parse::<Device>().is_err());
    }
}
