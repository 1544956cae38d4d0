//! Reading images safely: regular files only, the pixel limit checked from the header before
//! decoding, a truncated JPEG refused (a complete one accepted whatever follows it), EXIF rotation
//! honoured. Writing encodes by extension into a file an [`crate::io::transaction::OutputSet`] staged.

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{ImageDecoder, ImageReader, RgbImage};

use crate::io::inputs::{self, InputError};

#[derive(Debug, thiserror::Error)]
pub enum ImageIoError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}: not a supported image (JPEG, PNG, BMP, WebP)")]
    NotAnImage {
        path: PathBuf,
        source: Option<image::ImageError>,
    },
    #[error("{path}: image is corrupt or truncated")]
    Corrupt { path: PathBuf, source: ImageFault },
    #[error("{path}: cannot write")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: cannot encode the image")]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("{0}: output images must end in .png, .jpg or .jpeg")]
    UnsupportedOutput(PathBuf),
}

/// File extensions treated as images when a folder is given.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp"];

pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What is wrong inside a damaged image.
#[derive(Debug, thiserror::Error)]
pub enum ImageFault {
    #[error("JPEG data ends before its end-of-image marker")]
    JpegCut,
    #[error("image has no pixels")]
    NoPixels,
    #[error(transparent)]
    Decode(image::ImageError),
}

/// Decodes `path` to RGB, upright according to its EXIF orientation, refusing pictures of more than
/// `max_pixels` before decoding them.
pub fn load_rgb(path: &Path, max_pixels: u64) -> Result<RgbImage, ImageIoError> {
    inputs::regular_file(path)?;
    let bytes = std::fs::read(path).map_err(|e| InputError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    decode_rgb(&bytes, path, max_pixels)
}

fn decode_rgb(bytes: &[u8], path: &Path, max_pixels: u64) -> Result<RgbImage, ImageIoError> {
    let not_image = |source: Option<image::ImageError>| ImageIoError::NotAnImage {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |source: ImageFault| ImageIoError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| not_image(Some(image::ImageError::IoError(e))))?;
    let format = reader.format().ok_or_else(|| not_image(None))?;
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // JPEG decoders fill missing scanlines with grey and succeed; a truncated photo would
        // silently produce wrong detections.
        return Err(corrupt(ImageFault::JpegCut));
    }
    let mut decoder = reader.into_decoder().map_err(|e| classify(e, path))?;
    inputs::within_pixels(path, decoder.dimensions(), max_pixels)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    decoder.set_limits(limits).map_err(|e| classify(e, path))?;
    let orientation = decoder.orientation().ok();
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(|e| classify(e, path))?;
    if let Some(o) = orientation {
        image.apply_orientation(o);
    }
    if image.width() == 0 || image.height() == 0 {
        return Err(corrupt(ImageFault::NoPixels));
    }
    Ok(image.into_rgb8())
}

fn classify(e: image::ImageError, path: &Path) -> ImageIoError {
    match e {
        image::ImageError::Unsupported(_) => ImageIoError::NotAnImage {
            path: path.to_path_buf(),
            source: Some(e),
        },
        _ => ImageIoError::Corrupt {
            path: path.to_path_buf(),
            source: ImageFault::Decode(e),
        },
    }
}

/// Whether a JPEG's image is complete: its segments (whose lengths skip embedded thumbnails) and scans
/// lead to the end-of-image marker. Whatever follows it (phone "motion photos" append a video) does
/// not matter.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    loop {
        if bytes.get(i) != Some(&0xFF) {
            return false;
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            // Restart markers and TEM stand alone.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {
                let Some(len) = bytes
                    .get(i..i + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                else {
                    return false;
                };
                if len < 2 {
                    return false;
                }
                i += len as usize;
                if marker == 0xDA {
                    match end_of_scan(bytes, i) {
                        Some(next) => i = next,
                        None => return false,
                    }
                }
            }
        }
    }
}

/// Where the entropy-coded data starting at `from` ends: the next marker that is not stuffing or a
/// restart marker.
fn end_of_scan(bytes: &[u8], mut i: usize) -> Option<usize> {
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 => i += 2,
            0xFF => i += 1,
            _ => return Some(i),
        }
    }
}

/// The encoding an output image gets from its extension.
pub fn output_format(path: &Path) -> Result<image::ImageFormat, ImageIoError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => Ok(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(image::ImageFormat::Jpeg),
        _ => Err(ImageIoError::UnsupportedOutput(path.to_path_buf())),
    }
}

/// Encodes `image` as `target`'s extension says into `staged` (a temporary file of an output set).
pub fn write_image(staged: &Path, target: &Path, image: &RgbImage) -> Result<(), ImageIoError> {
    let format = output_format(target)?;
    let err = |e: std::io::Error| ImageIoError::Write {
        path: target.to_path_buf(),
        source: e,
    };
    let file = std::fs::File::create(staged).map_err(err)?;
    let mut buffered = std::io::BufWriter::new(file);
    image
        .write_to(&mut buffered, format)
        .map_err(|e| ImageIoError::Encode {
            path: target.to_path_buf(),
            source: e,
        })?;
    let file = buffered.into_inner().map_err(|e| err(e.into_error()))?;
    file.sync_all().map_err(err)
}

/// Writes `bytes` into `staged` (a temporary file of an output set), reporting errors as `target`'s.
pub fn write_bytes(staged: &Path, target: &Path, bytes: &[u8]) -> Result<(), ImageIoError> {
    let err = |e: std::io::Error| ImageIoError::Write {
        path: target.to_path_buf(),
        source: e,
    };
    let mut file = std::fs::File::create(staged).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
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

    fn decode(bytes: &[u8]) -> Result<RgbImage, ImageIoError> {
        decode_rgb(bytes, Path::new("x"), crate::io::inputs::DEFAULT_MAX_PIXELS)
    }

    #[test]
    fn good_images_decode() {
        for f in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
            let img = decode(&encoded(f)).ok().unwrap();
            assert_eq!(img.dimensions(), (32, 24));
        }
    }

    #[test]
    fn truncated_and_foreign_files_are_errors() {
        for f in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
            let bytes = encoded(f);
            let cut = &bytes[..bytes.len() * 2 / 3];
            assert!(
                matches!(decode(cut), Err(ImageIoError::Corrupt { .. })),
                "{f:?}"
            );
        }
        assert!(matches!(
            decode(b"hello, world"),
            Err(ImageIoError::NotAnImage { .. })
        ));
        assert!(matches!(decode(b""), Err(ImageIoError::NotAnImage { .. })));
    }

    #[test]
    fn a_complete_jpeg_with_data_after_it_is_accepted() {
        let mut bytes = encoded(image::ImageFormat::Jpeg);
        // A motion photo: a video (with its own 0xFFD9 pairs nowhere near the end) after the image.
        bytes.extend((0..20_000).map(|i| (i * 7 % 251) as u8));
        assert!(jpeg_is_complete(&bytes));
        assert_eq!(decode(&bytes).unwrap().dimensions(), (32, 24));
        // Cut inside the scan: truncated.
        let mut cut = encoded(image::ImageFormat::Jpeg);
        cut.truncate(cut.len() - 40);
        assert!(!jpeg_is_complete(&cut));
    }

    #[test]
    fn headers_over_the_pixel_limit_are_refused_before_decoding() {
        let png = encoded(image::ImageFormat::Png);
        let e = decode_rgb(&png, Path::new("x.png"), 100).unwrap_err();
        assert!(e.to_string().contains("--max-pixels"), "{e}");
    }

    #[test]
    fn output_formats_follow_the_extension() {
        assert!(output_format(Path::new("a.PNG")).is_ok());
        assert!(output_format(Path::new("a.jpeg")).is_ok());
        let e = output_format(Path::new("a.gif")).unwrap_err();
        assert!(e.to_string().contains(".png, .jpg"), "{e}");
    }
}
