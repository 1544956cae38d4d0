//! Finding and loading the ONNX Runtime shared library, and choosing the execution provider.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use super::EngineError;
use crate::setup::runtime as install;

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
    type Err = UnknownDevice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<i32>) {
                Some(Ok(id)) if id >= 0 => Ok(Device::Cuda(id)),
                _ => Err(UnknownDevice(s)),
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

/// Where the library is looked for, in order: `ORT_DYLIB_PATH`, beside the executable, the data
/// folder, the checkout's `.deps/` (in each, the GPU build first, when it was installed). Never the
/// current directory.
pub fn library_candidates() -> Vec<PathBuf> {
    let name = library_file_name();
    let mut out: Vec<PathBuf> = std::env::var_os("ORT_DYLIB_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(exe) = crate::setup::paths::exe_dir() {
        out.push(exe.join(&name));
    }
    for dir in crate::setup::paths::runtime_dirs() {
        for flavor in [install::Flavor::Gpu, install::Flavor::Cpu] {
            out.push(dir.join(flavor.folder()).join(&name));
        }
    }
    let mut unique = Vec::new();
    for p in out {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

/// The library that would be loaded, if any.
pub fn find_library() -> Option<PathBuf> {
    library_candidates().into_iter().find(|p| p.is_file())
}

/// The libraries the CUDA execution provider needs, by soname, in the order they can be loaded (each
/// after what it links against). The driver's `libcuda.so.1` comes from the system.
pub const CUDA_LIBRARIES: &[&str] = &[
    "libcudart.so.13",
    "libnvJitLink.so.13",
    "libnvrtc.so.13",
    "libcublasLt.so.13",
    "libcublas.so.13",
    "libcufft.so.12",
    "libcurand.so.10",
    "libcudnn_graph.so.9",
    "libcudnn_engines_precompiled.so.9",
    "libcudnn_engines_runtime_compiled.so.9",
    "libcudnn_heuristic.so.9",
    "libcudnn_ops.so.9",
    "libcudnn_cnn.so.9",
    "libcudnn_adv.so.9",
    "libcudnn.so.9",
    "libonnxruntime_providers_shared.so",
    "libonnxruntime_providers_cuda.so",
];

/// ONNX Runtime's CUDA execution provider, only in the GPU build.
pub const CUDA_PROVIDER: &str = "libonnxruntime_providers_cuda.so";

/// The NVIDIA driver's library, which no install can bring.
pub const DRIVER_LIBRARY: &str = "libcuda.so.1";

/// Why a library did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadFailure {
    #[error("needs {0}, which is missing")]
    MissingDependency(String),
    /// The loader's own message (it names the file).
    #[error("{0}")]
    Dlopen(String),
}

/// A device name that is none of auto, cpu, cuda, cuda:N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown device '{0}': use auto, cpu, cuda or cuda:N")]
pub struct UnknownDevice(pub String);

/// How one library fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryCheck {
    pub name: &'static str,
    /// Where it was found (`None`: to be found by the system's loader, or missing).
    pub path: Option<PathBuf>,
    /// Loading it: `Err` says why not (a missing file, or a library it needs).
    pub loaded: Result<(), LoadFailure>,
}

/// Loads `name` from `folder` (or the system's search path when it is not there) and keeps it
/// loaded, so ONNX Runtime's CUDA provider finds it by its soname.
fn load(folder: Option<&Path>, name: &'static str) -> LibraryCheck {
    let path = folder.map(|f| f.join(name)).filter(|p| p.exists());
    let target: std::ffi::OsString = path
        .as_ref()
        .map_or_else(|| name.into(), |p| p.as_os_str().to_owned());
    let loaded = ort::util::preload_dylib(&target).map_err(|e| {
        // libloading's message is "dlopen failed"; dlerror()'s, in its source, names the file.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message = s.to_string();
            source = s.source();
        }
        // "<dependency>: cannot open shared object file" names what is missing.
        match message
            .split(": ")
            .find(|part| part.contains(".so") && !part.contains(name))
        {
            Some(dep) => LoadFailure::MissingDependency(dep.to_string()),
            None => LoadFailure::Dlopen(message),
        }
    });
    LibraryCheck { name, path, loaded }
}

/// Loads the driver and every CUDA library from `folder` (the GPU build's), in order, stopping at
/// nothing: each library's outcome is reported. Loading them first lets the CUDA execution provider
/// run with only the NVIDIA driver installed.
pub fn preload_cuda(folder: &Path) -> Vec<LibraryCheck> {
    let mut checks = vec![load(None, DRIVER_LIBRARY)];
    checks.extend(CUDA_LIBRARIES.iter().map(|name| load(Some(folder), name)));
    checks
}

/// The first missing piece for CUDA, as one line with its fix: a library the install should hold,
/// then the driver, then anything else that would not load.
pub fn cuda_problem(checks: &[LibraryCheck]) -> Option<String> {
    let failed = |c: &&LibraryCheck| c.loaded.is_err();
    if checks
        .iter()
        .any(|c| c.name == CUDA_PROVIDER && c.path.is_none())
    {
        return Some(
            "the ONNX Runtime in use is the CPU build (no CUDA provider): run `posecam runtime \
             fetch --cuda` (or ./posecam.sh setup --cuda)"
                .into(),
        );
    }
    if let Some(missing) = checks
        .iter()
        .filter(failed)
        .find(|c| c.path.is_none() && c.name != DRIVER_LIBRARY)
    {
        return Some(format!(
            "{} is missing: run `posecam runtime fetch --cuda` (or ./posecam.sh setup --cuda)",
            missing.name
        ));
    }
    let first = checks.iter().find(failed)?;
    if let Some(driver) = checks
        .iter()
        .filter(failed)
        .find(|c| c.name == DRIVER_LIBRARY)
    {
        let _ = driver;
        return Some(
            "the NVIDIA driver (libcuda.so.1) is not installed: install an NVIDIA driver for CUDA 13 \
             (version 580 or newer); every other CUDA library is in place"
                .into(),
        );
    }
    let why = first
        .loaded
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    Some(format!("{} cannot be loaded: {why}", first.name))
}

/// What [`cuda_problem`] would say, judged from the files' presence and the driver alone: loading
/// the CUDA libraries maps ~400 MB into the process, which `--device auto` should not pay on a
/// machine that has no driver.
pub fn cuda_problem_unloaded(runtime_library: &Path) -> Option<String> {
    let folder = runtime_library.parent().unwrap_or(Path::new("."));
    let mut checks = vec![load(None, DRIVER_LIBRARY)];
    checks.extend(CUDA_LIBRARIES.iter().map(|name| {
        let path = Some(folder.join(name)).filter(|p| p.exists());
        let loaded = path
            .as_ref()
            .map(|_| ())
            .ok_or_else(|| LoadFailure::Dlopen("missing".to_string()));
        LibraryCheck { name, path, loaded }
    }));
    cuda_problem(&checks)
}

static CUDA_CHECKS: OnceLock<Vec<LibraryCheck>> = OnceLock::new();

/// [`preload_cuda`] from the folder of the ONNX Runtime in use, once per process.
pub fn cuda_checks(runtime_library: &Path) -> &'static [LibraryCheck] {
    CUDA_CHECKS.get_or_init(|| {
        let folder = runtime_library.parent().unwrap_or(Path::new("."));
        preload_cuda(folder)
    })
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
                source: std::sync::Arc::new(e),
            })?;
            let env = builder
                .with_name("posecam")
                .with_telemetry(false)
                .build()
                .map_err(|e| EngineError::RuntimeLoad {
                    path: path.clone(),
                    source: std::sync::Arc::new(e),
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

    #[test]
    fn the_quick_cuda_verdict_names_the_first_missing_piece_without_loading_anything() {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("libonnxruntime.so");
        // No provider beside the runtime: the CPU build.
        assert!(cuda_problem_unloaded(&library).is_some_and(|p| p.contains("CPU build")));
        // Files that are not libraries: only their presence is judged, so nothing fails to load.
        for name in CUDA_LIBRARIES {
            std::fs::write(dir.path().join(name), b"not loaded").unwrap();
        }
        std::fs::remove_file(dir.path().join("libcufft.so.12")).unwrap();
        let missing = cuda_problem_unloaded(&library).unwrap();
        assert!(
            missing.starts_with("libcufft.so.12 is missing"),
            "{missing}"
        );
        std::fs::write(dir.path().join("libcufft.so.12"), b"not loaded").unwrap();
        // SAFETY: loading the NVIDIA driver's library runs only its own initialisers.
        let driver = unsafe { libloading::Library::new(DRIVER_LIBRARY) }.is_ok();
        let verdict = cuda_problem_unloaded(&library);
        if driver {
            assert_eq!(verdict, None);
        } else {
            assert!(verdict.is_some_and(|p| p.contains("NVIDIA driver")));
        }
    }
}
