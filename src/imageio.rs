//! Reading images safely (every failure a clear error, EXIF rotation honoured) and writing outputs
//! without ever clobbering an existing file by accident.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{ImageDecoder, ImageReader, RgbImage};

#[derive(Debug, thiserror::Error)]
pub enum ImageIoError {
    #[error("{0}: no such file")]
    Missing(PathBuf),
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: not a supported image (JPEG, PNG, BMP, WebP): {reason}")]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{path}: image is corrupt or truncated: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{0} already exists (pass --overwrite to replace it)")]
    Exists(PathBuf),
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// File extensions treated as images when a folder is given.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp"];

pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// True when both paths exist and name the same file (so an output would replace an input).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Decodes `path` to RGB, upright according to its EXIF orientation.
pub fn load_rgb(path: &Path) -> Result<RgbImage, ImageIoError> {
    if !path.exists() {
        return Err(ImageIoError::Missing(path.to_path_buf()));
    }
    let bytes = std::fs::read(path).map_err(|e| ImageIoError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    decode_rgb(&bytes).map_err(|e| match e {
        DecodeFailure::Format(reason) => ImageIoError::NotAnImage {
            path: path.to_path_buf(),
            reason,
        },
        DecodeFailure::Data(reason) => ImageIoError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
    })
}

enum DecodeFailure {
    Format(String),
    Data(String),
}

fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, DecodeFailure> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeFailure::Format(e.to_string()))?;
    let format = reader
        .format()
        .ok_or_else(|| DecodeFailure::Format("unrecognised file signature".into()))?;
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // JPEG decoders fill missing scanlines with grey and succeed; a truncated photo would
        // silently produce wrong detections.
        return Err(DecodeFailure::Data(
            "JPEG data ends before its end-of-image marker".into(),
        ));
    }
    let mut decoder = reader.into_decoder().map_err(|e| classify(&e))?;
    let orientation = decoder.orientation().ok();
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(|e| classify(&e))?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    if image.width() == 0 || image.height() == 0 {
        return Err(DecodeFailure::Data("image has no pixels".into()));
    }
    Ok(image.into_rgb8())
}

fn classify(e: &image::ImageError) -> DecodeFailure {
    match e {
        image::ImageError::Unsupported(_) => DecodeFailure::Format(e.to_string()),
        _ => DecodeFailure::Data(e.to_string()),
    }
}

/// A complete JPEG ends with the EOI marker (possibly followed by padding or trailing metadata).
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Writes `contents` to `path` through a temporary file in the same folder, so a reader never sees a
/// half-written file; refuses to replace an existing file unless `overwrite`.
pub fn write_file_atomic(
    path: &Path,
    overwrite: bool,
    contents: impl FnOnce(&mut std::fs::File) -> Result<(), String>,
) -> Result<(), ImageIoError> {
    let err = |reason: String| ImageIoError::Write {
        path: path.to_path_buf(),
        reason,
    };
    if path.exists() && !overwrite {
        return Err(ImageIoError::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(err(format!("folder {} does not exist", dir.display())));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".posecam-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| err(e.to_string()))?;
    contents(tmp.as_file_mut()).map_err(&err)?;
    tmp.as_file_mut().flush().map_err(|e| err(e.to_string()))?;
    if overwrite {
        tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    } else {
        tmp.persist_noclobber(path)
            .map_err(|e| match e.error.kind() {
                std::io::ErrorKind::AlreadyExists => ImageIoError::Exists(path.to_path_buf()),
                _ => err(e.error.to_string()),
            })?;
    }
    Ok(())
}

/// Encodes `image` as PNG or JPEG (by `path`'s extension) and writes it with [`write_file_atomic`].
pub fn save_rgb(path: &Path, image: &RgbImage, overwrite: bool) -> Result<(), ImageIoError> {
    let format = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => image::ImageFormat::Png,
        Some("jpg" | "jpeg") => image::ImageFormat::Jpeg,
        _ => {
            return Err(ImageIoError::Write {
                path: path.to_path_buf(),
                reason: "output image must end in .png, .jpg or .jpeg".into(),
            })
        }
    };
    write_file_atomic(path, overwrite, |file| {
        let mut buffered = std::io::BufWriter::new(file);
        image
            .write_to(&mut buffered, format)
            .map_err(|e| e.to_string())?;
        buffered.flush().map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 8, y as u8 * 10, 100]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn good_images_decode() {
        for f in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
            let img = decode_rgb(&encoded(f)).ok().unwrap();
            assert_eq!(img.dimensions(), (32, 24));
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        for f in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
            let bytes = encoded(f);
            let cut = &bytes[..bytes.len() * 2 / 3];
            assert!(
                matches!(decode_rgb(cut), Err(DecodeFailure::Data(_))),
                "{f:?}"
            );
        }
        assert!(matches!(
            decode_rgb(b"hello, world"),
            Err(DecodeFailure::Format(_))
        ));
        assert!(matches!(decode_rgb(b""), Err(DecodeFailure::Format(_))));
    }

    #[test]
    fn writes_never_clobber_without_permission() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_file_atomic(&p, false, |f| {
            f.write_all(b"one").map_err(|e| e.to_string())
        })
        .unwrap();
        let again = write_file_atomic(&p, false, |f| {
            f.write_all(b"two").map_err(|e| e.to_string())
        });
        assert!(matches!(again, Err(ImageIoError::Exists(_))));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_file_atomic(&p, true, |f| f.write_all(b"two").map_err(|e| e.to_string())).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let failed = write_file_atomic(&dir.path().join("b"), false, |_| Err("boom".into()));
        assert!(failed.is_err());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
