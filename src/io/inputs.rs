//! Inputs checked before anything is decoded: regular files only (a folder, FIFO or device gets its
//! own message, and `/dev/zero` is never read), and a pixel limit read from the header, so a file that
//! claims 60000×60000 pixels is refused instead of eating 14 GB.

use std::path::{Path, PathBuf};

/// Largest picture accepted unless `--max-pixels` says otherwise (100 MP).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Why an input cannot be used, each one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{0}: no such file")]
    Missing(PathBuf),
    #[error(
        "{0}: reading from standard input is not supported: save it to a file, or send it as a \
         stream (udp://, http://, rtsp://)"
    )]
    Stdin(PathBuf),
    #[error("{0} is a folder, not a file")]
    Folder(PathBuf),
    #[error("{path} is a {kind}, not a regular file")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "{path}: {width}x{height} is {}, over the limit of {} (raise --max-pixels to allow it)",
        pixels(*width as u64 * *height as u64),
        pixels(*max_pixels)
    )]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max_pixels: u64,
    },
}

/// A pixel count for people: megapixels where that says it exactly enough, else the count.
fn pixels(n: u64) -> String {
    if n >= 10_000_000 {
        format!("{:.0} megapixels", n as f64 / 1e6)
    } else if n >= 1_000_000 {
        format!("{:.1} megapixels", n as f64 / 1e6)
    } else if n == 1 {
        "1 pixel".to_string()
    } else {
        format!("{n} pixels")
    }
}

/// What a special file is, for messages.
pub fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "character device"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// `path` must be an existing regular file (symbolic links followed).
pub fn regular_file(path: &Path) -> Result<(), InputError> {
    let stdin = path.to_str().is_some_and(|s| s.starts_with("pipe:"));
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) if stdin || path == Path::new("-") => {
            return Err(InputError::Stdin(path.to_path_buf()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(InputError::Missing(path.to_path_buf()))
        }
        Err(e) => {
            return Err(InputError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    };
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return Err(InputError::Folder(path.to_path_buf()));
    }
    if !file_type.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind: special_kind(&file_type),
        });
    }
    Ok(())
}

/// `width × height` must not exceed `max_pixels`.
pub fn within_pixels(
    path: &Path,
    (width, height): (u32, u32),
    max_pixels: u64,
) -> Result<(), InputError> {
    if width as u64 * height as u64 > max_pixels {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            max_pixels,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_pass() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.jpg");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(regular_file(&file), Ok(()));
        assert!(matches!(
            regular_file(dir.path()),
            Err(InputError::Folder(_))
        ));
        assert!(matches!(
            regular_file(&dir.path().join("none")),
            Err(InputError::Missing(_))
        ));
        let e = regular_file(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
    }

    #[test]
    fn the_pixel_limit_names_the_flag() {
        let e =
            within_pixels(Path::new("big.png"), (60000, 60000), DEFAULT_MAX_PIXELS).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("3600 megapixels") && msg.contains("--max-pixels"),
            "{msg}"
        );
        assert!(within_pixels(Path::new("ok.png"), (10000, 10000), DEFAULT_MAX_PIXELS).is_ok());
    }
}
