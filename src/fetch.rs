//! Downloading a model with a progress bar and a checksum, into place only when complete and verified.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use md5::{Digest, Md5};

/// The CMU COCO body model (VGG-19, 6 stages) as exported to ONNX by the ControlNet project.
pub const CMU_COCO_URL: &str =
    "https://huggingface.co/divamgupta/controlnet_tensorflow/resolve/main/body_pose_model.onnx";
pub const CMU_COCO_MD5: &str = "51499a50aff296971a99605f32c7e8e7";
pub const CMU_COCO_FILE: &str = "body_pose_model.onnx";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("could not download {url}: {reason} (no network? download it elsewhere and pass --model PATH)")]
    Network { url: String, reason: String },
    #[error("downloaded file has MD5 {actual}, expected {expected}: discarded")]
    Checksum { actual: String, expected: String },
    #[error("cannot write {path}: {reason}")]
    Io { path: String, reason: String },
}

/// MD5 of a file, as lowercase hex.
pub fn md5_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads `url` to `dest` (through `dest.part`), checking `expected_md5`. `progress` sees
/// (bytes so far, total if known).
pub fn download(
    url: &str,
    dest: &Path,
    expected_md5: Option<&str>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<(), FetchError> {
    let net = |reason: String| FetchError::Network {
        url: url.to_string(),
        reason,
    };
    let io = |e: std::io::Error| FetchError::Io {
        path: dest.display().to_string(),
        reason: e.to_string(),
    };
    let config = ureq::config::Config::builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let response = agent.get(url).call().map_err(|e| net(e.to_string()))?;
    let mut body = response.into_body();
    let total = body.content_length();
    let mut reader = body.as_reader();

    let part = dest.with_extension("onnx.part");
    let result = (|| {
        let mut file = std::fs::File::create(&part).map_err(io)?;
        let mut hasher = Md5::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut done = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| net(e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io)?;
            done += n as u64;
            progress(done, total);
        }
        file.sync_all().map_err(io)?;
        if let Some(t) = total {
            if done != t {
                return Err(net(format!("connection closed after {done} of {t} bytes")));
            }
        }
        let actual = hex(&hasher.finalize());
        if let Some(expected) = expected_md5 {
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(FetchError::Checksum {
                    actual,
                    expected: expected.to_string(),
                });
            }
        }
        std::fs::rename(&part, dest).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}
