//! Downloads that survive a bad network: a `.part` file continues where the last try stopped (HTTP
//! ranges), a stalled transfer times out instead of hanging, the result is checked against its
//! digests, and the file is put in place only when complete and verified.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest, Sha256};

/// The CMU COCO body model (VGG-19, 6 stages) as exported to ONNX by the ControlNet project.
pub const CMU_COCO_URL: &str =
    "https://huggingface.co/divamgupta/controlnet_tensorflow/resolve/main/body_pose_model.onnx";
pub const CMU_COCO_MD5: &str = "51499a50aff296971a99605f32c7e8e7";
pub const CMU_COCO_FILE: &str = "body_pose_model.onnx";

/// No byte for this long: the transfer stalled (it resumes on the next try).
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries per download, each resuming the last.
const TRIES: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("could not download {url} (no network?{})", kept_note(*kept))]
    Network {
        url: String,
        /// Bytes of a partial download kept for the next try to resume.
        kept: u64,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0}: only http:// and https:// URLs can be downloaded")]
    NotHttp(String),
    #[error("{url}: {what} is {actual}, expected {expected}: discarded")]
    Checksum {
        url: String,
        what: &'static str,
        actual: String,
        expected: String,
    },
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Index(String),
}

fn kept_note(kept: u64) -> String {
    if kept == 0 {
        String::new()
    } else {
        format!(
            " {:.1} MB downloaded so far are kept; the next try resumes them",
            kept as f64 / 1e6
        )
    }
}

/// Refuses anything but http(s) before any try: `file://` or a typo is no network failure to retry.
pub fn check_http(url: &str) -> Result<(), FetchError> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(())
    } else {
        Err(FetchError::NotHttp(url.to_string()))
    }
}

/// What a download must turn out to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub size: Option<u64>,
}

/// The digests of a completed download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: String,
    pub md5: String,
    pub size: u64,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digests of a file on disk.
pub fn digests_of(path: &Path) -> std::io::Result<Digests> {
    let mut file = std::fs::File::open(path)?;
    let (mut sha, mut md5) = (Sha256::new(), Md5::new());
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Digests {
        sha256: hex(&sha.finalize()),
        md5: hex(&md5.finalize()),
        size,
    })
}

/// An HTTP agent with the timeouts downloads need: connect in 20 s, no silence over 30 s.
pub fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let config = ureq::config::Config::builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(STALL_TIMEOUT))
        .build();
    ureq::Agent::new_with_config(config)
}

/// The `.part` file a download of `dest` grows in.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// Downloads `url` to `dest`, resuming a `.part` left by an earlier try, retrying a stalled or broken
/// transfer, then checking `expected`. `progress` sees (bytes so far, total if known).
pub fn download(
    url: &str,
    dest: &Path,
    expected: &Expected,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Digests, FetchError> {
    check_http(url)?;
    let part = part_path(dest);
    let mut last = None;
    for attempt in 0..TRIES {
        if attempt > 0 {
            std::thread::sleep(Duration::from_secs(1 << attempt.min(3)));
            tracing::info!("resuming {url} (try {} of {TRIES})", attempt + 1);
        }
        match transfer(url, &part, &mut progress) {
            Ok(()) => {
                last = None;
                break;
            }
            Err(e @ FetchError::Network { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(mut e) = last {
        // Say what is kept for the next try; an empty part is not worth keeping.
        let size = std::fs::metadata(&part).map_or(0, |m| m.len());
        if size == 0 {
            let _ = std::fs::remove_file(&part);
        }
        if let FetchError::Network { kept, .. } = &mut e {
            *kept = size;
        }
        return Err(e);
    }
    let digests = digests_of(&part).map_err(|e| io(&part, e))?;
    if let Err(e) = verify(url, &digests, expected) {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, dest).map_err(|e| io(dest, e))?;
    Ok(digests)
}

fn io(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn verify(url: &str, got: &Digests, expected: &Expected) -> Result<(), FetchError> {
    let mismatch = |what, actual: String, expected: &str| FetchError::Checksum {
        url: url.to_string(),
        what,
        actual,
        expected: expected.to_string(),
    };
    if let Some(size) = expected.size.filter(|s| *s != got.size) {
        return Err(mismatch(
            "the size",
            got.size.to_string(),
            &size.to_string(),
        ));
    }
    if let Some(e) = expected
        .sha256
        .as_deref()
        .filter(|e| !e.eq_ignore_ascii_case(&got.sha256))
    {
        return Err(mismatch("the SHA-256", got.sha256.clone(), e));
    }
    if let Some(e) = expected
        .md5
        .as_deref()
        .filter(|e| !e.eq_ignore_ascii_case(&got.md5))
    {
        return Err(mismatch("the MD5", got.md5.clone(), e));
    }
    Ok(())
}

/// One try: appends to `part` from where it ends (or starts over when the server cannot resume).
fn transfer(
    url: &str,
    part: &Path,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let net = |e: Box<dyn std::error::Error + Send + Sync>| FetchError::Network {
        url: url.to_string(),
        kept: 0,
        source: e,
    };
    let have = std::fs::metadata(part).map_or(0, |m| m.len());
    let mut request = agent().get(url);
    if have > 0 {
        request = request.header("Range", format!("bytes={have}-"));
    }
    let response = match request.call() {
        // Nothing left to send: the part is whole already.
        Err(ureq::Error::StatusCode(416)) if have > 0 => return Ok(()),
        other => other.map_err(|e| net(e.into()))?,
    };
    let resumed = response.status().as_u16() == 206;
    let mut body = response.into_body();
    let total = body
        .content_length()
        .map(|n| if resumed { n + have } else { n });
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(resumed)
        .write(true)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| io(part, e))?;
    let mut done = if resumed { have } else { 0 };
    if resumed {
        file.seek(std::io::SeekFrom::End(0))
            .map_err(|e| io(part, e))?;
    }
    let mut reader = body.as_reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| net(e.into()))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| io(part, e))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all().map_err(|e| io(part, e))?;
    match total {
        Some(t) if done < t => Err(net(
            format!("connection closed after {done} of {t} bytes").into()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_checks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"abc").unwrap();
        let d = digests_of(&p).unwrap();
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        let ok = Expected {
            sha256: Some(d.sha256.to_uppercase()),
            md5: None,
            size: Some(3),
        };
        assert!(verify("u", &d, &ok).is_ok());
        let bad = Expected {
            size: Some(4),
            ..ok
        };
        assert!(verify("u", &d, &bad)
            .unwrap_err()
            .to_string()
            .contains("size"));
        assert_eq!(part_path(&p), dir.path().join("x.part"));
    }
}
