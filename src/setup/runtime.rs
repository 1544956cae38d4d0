//! Installing ONNX Runtime, and for GPUs the CUDA 13 and cuDNN 9 libraries it needs, from PyPI wheels
//! into a runtime folder: no Python, no CUDA toolkit, no root. Each wheel's SHA-256 comes from the
//! index; downloads resume; the install is put in place whole or not at all, and running it again
//! when it is complete does nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::download::{self as fetch, Expected, FetchError};
use super::pypi;

/// The ONNX Runtime posecam is built against (`ort`'s API 1.31).
pub const ORT_VERSION: &str = "1.31.1";

/// What PyPI resolves for `onnxruntime-gpu[cuda,cudnn]==1.31.1` (its `~=13.0`/`~=12.0`/`~=10.0`/`~=9.0`
/// requirements and theirs: cuBLAS for cuDNN, nvJitLink for cuFFT), pinned so every install is alike.
pub const CUDA_WHEELS: &[(&str, &str)] = &[
    ("nvidia-cuda-runtime", "13.5.37"),
    ("nvidia-cuda-nvrtc", "13.5.37"),
    ("nvidia-nvjitlink", "13.5.37"),
    ("nvidia-cublas", "13.10.0.20"),
    ("nvidia-cufft", "12.5.0.14"),
    ("nvidia-curand", "10.4.5.25"),
    ("nvidia-cudnn-cu13", "9.28.1.4"),
];

/// The file install records beside the libraries.
pub const MANIFEST: &str = "posecam-runtime.json";

/// Which build of ONNX Runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cpu,
    /// The CUDA build, with the CUDA and cuDNN libraries beside it.
    Gpu,
}

impl Flavor {
    pub fn package(self) -> &'static str {
        match self {
            Flavor::Cpu => "onnxruntime",
            Flavor::Gpu => "onnxruntime-gpu",
        }
    }

    /// Its folder in a runtime folder.
    pub fn folder(self) -> &'static str {
        self.package()
    }

    /// Every wheel it takes.
    pub fn wheels(self) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![(self.package(), ORT_VERSION)];
        if self == Flavor::Gpu {
            v.extend_from_slice(CUDA_WHEELS);
        }
        v
    }
}

/// One wheel an install came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledWheel {
    pub package: String,
    pub version: String,
    pub filename: String,
    pub sha256: String,
}

/// What an install folder holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallManifest {
    pub flavor: String,
    pub wheels: Vec<InstalledWheel>,
    /// The shared libraries unpacked, by file name.
    pub libraries: Vec<String>,
}

impl InstallManifest {
    pub fn read(folder: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(folder.join(MANIFEST)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether it holds exactly `wheels` and every library is still there.
    fn complete(&self, folder: &Path, wheels: &[(&str, &str)]) -> bool {
        self.wheels.len() == wheels.len()
            && wheels.iter().all(|(p, v)| {
                self.wheels
                    .iter()
                    .any(|w| w.package == *p && w.version == *v)
            })
            && self.libraries.iter().all(|l| folder.join(l).exists())
    }
}

/// Where and what to install.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// The runtime folder (`<dir>/onnxruntime/`, `<dir>/onnxruntime-gpu/` go in it).
    pub dir: PathBuf,
    pub flavor: Flavor,
    /// The package index (PyPI unless told otherwise).
    pub index: String,
}

/// How an install went.
#[derive(Debug, Clone)]
pub struct InstallReport {
    pub folder: PathBuf,
    pub already_installed: bool,
    pub manifest: InstallManifest,
}

/// Progress of one wheel's download.
#[derive(Debug, Clone)]
pub struct InstallProgress<'a> {
    pub wheel: usize,
    pub wheels: usize,
    pub filename: &'a str,
    pub done: u64,
    pub total: Option<u64>,
}

fn io(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Installs `request.flavor` into its runtime folder (unless it is complete already).
pub fn install(
    request: &InstallRequest,
    mut progress: impl FnMut(InstallProgress<'_>),
) -> Result<InstallReport, FetchError> {
    let folder = request.dir.join(request.flavor.folder());
    let wanted = request.flavor.wheels();
    if let Some(manifest) = InstallManifest::read(&folder).filter(|m| m.complete(&folder, &wanted))
    {
        return Ok(InstallReport {
            folder,
            already_installed: true,
            manifest,
        });
    }
    let downloads = request.dir.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(|e| io(&downloads, e))?;
    let fetched = fetch_wheels(request, &wanted, &downloads, &mut progress);
    // A failed run leaves what it downloaded for the next to resume, and no empty folder.
    let _ = std::fs::remove_dir(&downloads);
    let fetched = fetched?;
    let manifest = unpack(request, &folder, &fetched)?;
    for (.., path) in &fetched {
        let _ = std::fs::remove_file(path);
    }
    let _ = std::fs::remove_dir(&downloads);
    Ok(InstallReport {
        folder,
        already_installed: false,
        manifest,
    })
}

/// A downloaded wheel: package, version, the index's entry and the file.
type Fetched = (String, String, pypi::Wheel, PathBuf);

/// Every wanted wheel into `downloads`, each checked against the index's SHA-256.
fn fetch_wheels(
    request: &InstallRequest,
    wanted: &[(&str, &str)],
    downloads: &Path,
    progress: &mut impl FnMut(InstallProgress<'_>),
) -> Result<Vec<Fetched>, FetchError> {
    let mut fetched = Vec::new();
    for (i, (package, version)) in wanted.iter().enumerate() {
        let wheel = pypi::find_wheel(&request.index, package, version)?;
        let path = downloads.join(&wheel.filename);
        let have = fetch::digests_of(&path).ok();
        if have.is_none_or(|d| !d.sha256.eq_ignore_ascii_case(&wheel.sha256)) {
            let expected = Expected {
                sha256: Some(wheel.sha256.clone()),
                md5: None,
                size: wheel.size,
            };
            fetch::download(&wheel.url, &path, &expected, |done, total| {
                progress(InstallProgress {
                    wheel: i + 1,
                    wheels: wanted.len(),
                    filename: &wheel.filename,
                    done,
                    total,
                })
            })?;
        }
        fetched.push((package.to_string(), version.to_string(), wheel, path));
    }
    Ok(fetched)
}

/// Unpacks the wheels' shared libraries into a staging folder beside `folder`, then swaps it in.
fn unpack(
    request: &InstallRequest,
    folder: &Path,
    fetched: &[(String, String, pypi::Wheel, PathBuf)],
) -> Result<InstallManifest, FetchError> {
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.", request.flavor.folder()))
        .tempdir_in(&request.dir)
        .map_err(|e| io(&request.dir, e))?;
    let mut libraries = Vec::new();
    let mut wheels = Vec::new();
    for (package, version, wheel, path) in fetched {
        libraries.extend(unpack_libraries(path, staging.path())?);
        wheels.push(InstalledWheel {
            package: package.clone(),
            version: version.clone(),
            filename: wheel.filename.clone(),
            sha256: wheel.sha256.clone(),
        });
    }
    let versioned = format!("libonnxruntime.so.{ORT_VERSION}");
    if !libraries.contains(&versioned) {
        return Err(FetchError::Index(format!(
            "the {} wheel holds no {versioned}",
            request.flavor.package()
        )));
    }
    let link = staging.path().join("libonnxruntime.so");
    std::os::unix::fs::symlink(&versioned, &link).map_err(|e| io(&link, e))?;
    libraries.push("libonnxruntime.so".into());
    let manifest = InstallManifest {
        flavor: request.flavor.package().into(),
        wheels,
        libraries,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| FetchError::Index(e.to_string()))?;
    std::fs::write(staging.path().join(MANIFEST), text).map_err(|e| io(staging.path(), e))?;
    replace_folder(staging, folder)?;
    Ok(manifest)
}

/// The shared libraries of a wheel (`*.so*` under `capi/` or `lib/`), unpacked flat into `into`.
fn unpack_libraries(wheel: &Path, into: &Path) -> Result<Vec<String>, FetchError> {
    let file = std::fs::File::open(wheel).map_err(|e| io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| FetchError::Index(format!("{}: not a wheel: {e}", wheel.display())))?;
    let mut names = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| FetchError::Index(format!("{}: {e}", wheel.display())))?;
        let Ok(path) = entry.name().map(|n| n.to_string()) else {
            continue;
        };
        let Some(name) = path.rsplit('/').next().filter(|n| n.contains(".so")) else {
            continue;
        };
        let in_lib = path.contains("/capi/") || path.contains("/lib/");
        // The Python bindings are not needed.
        if !in_lib || name.contains("pybind") || !name.starts_with("lib") {
            continue;
        }
        let target = into.join(name);
        let mut out = std::fs::File::create(&target).map_err(|e| io(&target, e))?;
        std::io::copy(&mut entry, &mut out).map_err(|e| io(&target, e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io(&target, e))?;
        names.push(name.to_string());
    }
    Ok(names)
}

/// Puts `staging` at `folder`, replacing an older install only once the new one is whole.
fn replace_folder(staging: tempfile::TempDir, folder: &Path) -> Result<(), FetchError> {
    let old = folder.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if folder.exists() {
        std::fs::rename(folder, &old).map_err(|e| io(folder, e))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, folder) {
        let _ = std::fs::remove_dir_all(&staged);
        if old.exists() {
            let _ = std::fs::rename(&old, folder);
        }
        return Err(io(folder, e));
    }
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
