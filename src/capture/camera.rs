//! Webcams through nokhwa; MJPEG frames are decoded with the image crate.

use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use super::{CaptureError, Frame, FrameSource, Picture, SourceInfo};
use crate::video::ColorSpec;

/// A webcam, one per capture thread.
pub struct CameraSource {
    camera: nokhwa::Camera,
    info: SourceInfo,
    index: u32,
    next: u64,
    opened: Instant,
}

/// A webcam the system reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraDesc {
    pub index: u32,
    pub name: String,
}

/// Webcams present now (empty when there are none or the platform cannot tell).
pub fn list_cameras() -> Vec<CameraDesc> {
    match nokhwa::query(nokhwa::utils::ApiBackend::Auto) {
        Ok(list) => list
            .iter()
            .filter_map(|c| match c.index() {
                nokhwa::utils::CameraIndex::Index(i) => Some(CameraDesc {
                    index: *i,
                    name: c.human_name(),
                }),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::debug!("webcam query failed: {e}");
            Vec::new()
        }
    }
}

/// Resolutions and frame rates a webcam offers, as (width, height, fps), best first.
pub fn camera_formats(index: u32) -> Result<Vec<(u32, u32, u32)>, CaptureError> {
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
    let err = |e: nokhwa::NokhwaError| CaptureError::Camera {
        index,
        reason: e.to_string(),
    };
    let mut cam = nokhwa::Camera::new(
        CameraIndex::Index(index),
        RequestedFormat::new::<RgbFormat>(RequestedFormatType::None),
    )
    .map_err(err)?;
    let mut formats: Vec<(u32, u32, u32)> = cam
        .compatible_camera_formats()
        .map_err(err)?
        .iter()
        .map(|f| {
            (
                f.resolution().width(),
                f.resolution().height(),
                f.frame_rate(),
            )
        })
        .collect();
    formats.sort_by_key(|f| std::cmp::Reverse((f.0 * f.1, f.2)));
    formats.dedup();
    Ok(formats)
}

impl CameraSource {
    pub fn open(index: u32, format: Option<(u32, u32, u32)>) -> Result<Self, CaptureError> {
        use nokhwa::pixel_format::RgbFormat;
        use nokhwa::utils::{
            CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
            Resolution,
        };
        if list_cameras().is_empty() {
            return Err(CaptureError::NoCamera);
        }
        let err = |e: nokhwa::NokhwaError| CaptureError::Camera {
            index,
            reason: e.to_string(),
        };
        let requested = match format {
            Some((w, h, fps)) => RequestedFormatType::Closest(CameraFormat::new(
                Resolution::new(w, h),
                FrameFormat::MJPEG,
                fps,
            )),
            None => RequestedFormatType::AbsoluteHighestFrameRate,
        };
        let mut camera = nokhwa::Camera::new(
            CameraIndex::Index(index),
            RequestedFormat::new::<RgbFormat>(requested),
        )
        .map_err(err)?;
        camera.open_stream().map_err(err)?;
        let f = camera.camera_format();
        let info = SourceInfo {
            name: camera.info().human_name(),
            width: f.resolution().width(),
            height: f.resolution().height(),
            frame_rate: Some(f.frame_rate() as f64),
            duration_s: None,
            live: true,
            seekable: false,
            reconnects: false,
            loops: false,
        };
        Ok(Self {
            camera,
            info,
            index,
            next: 0,
            opened: Instant::now(),
        })
    }

    fn to_rgb(&self, buffer: &nokhwa::Buffer) -> Result<RgbImage, CaptureError> {
        use nokhwa::utils::FrameFormat;
        let res = buffer.resolution();
        let (w, h) = (res.width(), res.height());
        let data = buffer.buffer();
        let bad = |reason: String| CaptureError::Camera {
            index: self.index,
            reason,
        };
        let rgb = match buffer.source_frame_format() {
            FrameFormat::MJPEG => {
                image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
                    .map_err(|e| bad(format!("bad MJPEG frame: {e}")))?
                    .into_rgb8()
                    .into_raw()
            }
            FrameFormat::YUYV => {
                nokhwa::utils::yuyv422_to_rgb(data, false).map_err(|e| bad(e.to_string()))?
            }
            FrameFormat::RAWRGB => data.to_vec(),
            FrameFormat::RAWBGR => data
                .chunks_exact(3)
                .flat_map(|p| [p[2], p[1], p[0]])
                .collect(),
            FrameFormat::GRAY => data.iter().flat_map(|&g| [g, g, g]).collect(),
            FrameFormat::NV12 => {
                let (cw, y_len) = (w as usize, (w * h) as usize);
                let mut out = Vec::with_capacity(y_len * 3);
                for y in 0..h as usize {
                    for x in 0..w as usize {
                        let c = y_len + (y / 2) * cw + (x / 2) * 2;
                        let (u, v) = (
                            *data.get(c).unwrap_or(&128),
                            *data.get(c + 1).unwrap_or(&128),
                        );
                        out.extend(ColorSpec::BT601.yuv_to_rgb([
                            data.get(y * cw + x).copied().unwrap_or(16),
                            u,
                            v,
                        ]));
                    }
                }
                out
            }
        };
        RgbImage::from_raw(w, h, rgb)
            .ok_or_else(|| bad(format!("frame of {w}x{h} has the wrong size")))
    }
}

impl FrameSource for CameraSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let buffer = self.camera.frame().map_err(|e| CaptureError::Camera {
            index: self.index,
            reason: format!("stopped delivering frames ({e}); unplugged?"),
        })?;
        let image = self.to_rgb(&buffer)?;
        let index = self.next;
        self.next += 1;
        Ok(Some(Frame::new(
            index,
            self.opened.elapsed().as_secs_f64(),
            Picture::Rgb(Arc::new(image)),
        )))
    }
}
