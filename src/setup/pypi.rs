//! Finding wheels on a Python package index through its JSON simple API (PEP 691), without Python:
//! the index gives each file's URL and SHA-256.

use serde::Deserialize;

use super::download::{agent, FetchError};

/// The Python Package Index.
pub const PYPI: &str = "https://pypi.org/simple/";

/// One wheel file on the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    pub filename: String,
    pub url: String,
    pub sha256: String,
    pub size: Option<u64>,
}

#[derive(Deserialize)]
struct Project {
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
    size: Option<u64>,
    #[serde(default)]
    yanked: serde_json::Value,
}

/// Whether wheel `filename` is `version` and runs on Linux on this machine's processor.
pub fn fits_this_machine(filename: &str, version: &str) -> bool {
    let Some(stem) = filename.strip_suffix(".whl") else {
        return false;
    };
    let mut parts = stem.split('-');
    let (_, file_version) = (parts.next(), parts.next());
    let platform = stem.rsplit('-').next().unwrap_or_default();
    file_version == Some(version)
        && platform.contains("linux")
        && platform
            .split('.')
            .any(|p| p.ends_with(&format!("_{}", std::env::consts::ARCH)))
}

/// Resolves a file URL the index gave relative to itself.
fn absolute(index: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    let origin_end = index
        .find("://")
        .and_then(|s| index[s + 3..].find('/').map(|p| s + 3 + p))
        .unwrap_or(index.len());
    if url.starts_with('/') {
        format!("{}{url}", &index[..origin_end])
    } else {
        format!("{}/{url}", index.trim_end_matches('/'))
    }
}

/// The wheel of `package` at exactly `version` for this machine, with the index's SHA-256.
pub fn find_wheel(index: &str, package: &str, version: &str) -> Result<Wheel, FetchError> {
    let url = format!("{}/{package}/", index.trim_end_matches('/'));
    super::download::check_http(&url)?;
    let net = |e: ureq::Error| FetchError::Network {
        url: url.clone(),
        kept: 0,
        source: e.into(),
    };
    let text = agent()
        .get(&url)
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(net)?
        .body_mut()
        .read_to_string()
        .map_err(net)?;
    let project: Project = serde_json::from_str(&text)
        .map_err(|e| FetchError::Index(format!("{url}: not a package index page: {e}")))?;
    let file = project
        .files
        .into_iter()
        .filter(|f| {
            matches!(
                f.yanked,
                serde_json::Value::Null | serde_json::Value::Bool(false)
            )
        })
        .find(|f| fits_this_machine(&f.filename, version))
        .ok_or_else(|| {
            FetchError::Index(format!(
                "{package} {version} has no wheel for Linux {} on {index}",
                std::env::consts::ARCH
            ))
        })?;
    let sha256 = file.hashes.get("sha256").cloned().ok_or_else(|| {
        FetchError::Index(format!("{}: the index gives no SHA-256", file.filename))
    })?;
    Ok(Wheel {
        url: absolute(index, &file.url),
        filename: file.filename,
        sha256,
        size: file.size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_picked_for_this_machine() {
        let arch = std::env::consts::ARCH;
        assert!(fits_this_machine(
            &format!("onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_{arch}.whl"),
            "1.31.1"
        ));
        assert!(fits_this_machine(
            &format!(
                "nvidia_cublas-13.10.0.20-py3-none-manylinux1_{arch}.manylinux_2_5_{arch}.whl"
            ),
            "13.10.0.20"
        ));
        assert!(!fits_this_machine(
            "onnxruntime_gpu-1.31.1-cp312-cp312-win_amd64.whl",
            "1.31.1"
        ));
        assert!(!fits_this_machine(
            &format!("onnxruntime_gpu-1.30.0-cp312-cp312-manylinux_2_28_{arch}.whl"),
            "1.31.1"
        ));
        assert!(!fits_this_machine(
            "onnxruntime_gpu-1.31.1.tar.gz",
            "1.31.1"
        ));
    }

    #[test]
    fn relative_urls_are_resolved_against_the_index() {
        assert_eq!(
            absolute("https://x.org/simple/", "https://y/f.whl"),
            "https://y/f.whl"
        );
        assert_eq!(
            absolute("http://127.0.0.1:9/simple/", "/files/f.whl"),
            "http://127.0.0.1:9/files/f.whl"
        );
        assert_eq!(
            absolute("http://h/simple/p/", "f.whl"),
            "http://h/simple/p/f.whl"
        );
    }
}
