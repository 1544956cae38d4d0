//! Rasterising overlays into pixel buffers: RGB images, and YUV 4:2:0 video frames drawn in place
//! (luma at full resolution, chroma at half), anti-aliased, in the frame's own colours.

use crate::video::Yuv420Image;

/// Where overlays are drawn: anything that can blend a colour into a pixel grid.
pub trait Canvas {
    fn size(&self) -> (usize, usize);
    /// A segment of `thickness` pixels with round caps, anti-aliased over one pixel at its edge.
    fn line(&mut self, a: (f32, f32), b: (f32, f32), thickness: f32, color: [u8; 3], opacity: f32);

    fn disc(&mut self, c: (f32, f32), radius: f32, color: [u8; 3], opacity: f32) {
        self.line(c, c, radius * 2.0, color, opacity);
    }

    /// Fills the pixels `x0..x1 × y0..y1` (clipped to the canvas).
    fn fill_rect(
        &mut self,
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        color: [u8; 3],
        opacity: f32,
    );
}

/// Calls `plot(x, y, coverage)` for every pixel of a `width × height` grid that the capsule from `a` to
/// `b` (radius `thickness / 2`) covers. The capsule is convex, so each row meets it in one span, found
/// from the band around the axis and the end caps: long diagonal limbs cost their area, not their box.
pub fn rasterize_capsule(
    (width, height): (usize, usize),
    a: (f32, f32),
    b: (f32, f32),
    thickness: f32,
    mut plot: impl FnMut(usize, usize, f32),
) {
    if !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite())
        || width == 0
        || height == 0
    {
        return;
    }
    let r = thickness * 0.5;
    let reach = r + 1.0;
    let x0 = (a.0.min(b.0) - reach).floor().max(0.0) as usize;
    let y0 = (a.1.min(b.1) - reach).floor().max(0.0) as usize;
    let x1 = ((a.0.max(b.0) + reach).ceil() as isize).min(width as isize - 1);
    let y1 = ((a.1.max(b.1) + reach).ceil() as isize).min(height as isize - 1);
    if x1 < 0 || y1 < 0 {
        return;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = (dx * dx + dy * dy).max(1e-12);
    for y in y0..=y1 as usize {
        let yf = y as f32;
        let mut span = (f32::INFINITY, f32::NEG_INFINITY);
        for c in [a, b] {
            if (yf - c.1).abs() <= reach {
                span = (span.0.min(c.0 - reach), span.1.max(c.0 + reach));
            }
        }
        if dy.abs() > 1e-6 {
            let xc = a.0 + (yf - a.1) * dx / dy;
            let half = reach * len2.sqrt() / dy.abs();
            span = (span.0.min(xc - half), span.1.max(xc + half));
        } else if (yf - a.1).abs() <= reach {
            span = (span.0.min(a.0.min(b.0)), span.1.max(a.0.max(b.0)));
        }
        if span.0 > span.1 {
            continue;
        }
        let sx0 = span.0.floor().max(x0 as f32) as usize;
        let sx1 = (span.1.ceil() as isize).min(x1);
        if sx1 < sx0 as isize {
            continue;
        }
        for x in sx0..=sx1 as usize {
            let (px, py) = (x as f32 - a.0, yf - a.1);
            let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
            let (ex, ey) = (px - t * dx, py - t * dy);
            let coverage = (r + 0.5 - (ex * ex + ey * ey).sqrt()).clamp(0.0, 1.0);
            if coverage > 0.0 {
                plot(x, y, coverage);
            }
        }
    }
}

#[inline]
fn blend(p: &mut u8, c: u8, alpha: f32) {
    *p = (*p as f32 + (c as f32 - *p as f32) * alpha).round() as u8;
}

/// A mutable view of packed RGB8 pixels with a row stride.
pub struct RgbCanvas<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes per row (≥ 3 × width).
    pub stride: usize,
}

impl<'a> RgbCanvas<'a> {
    pub fn from_image(image: &'a mut image::RgbImage) -> Self {
        let (width, height) = (image.width() as usize, image.height() as usize);
        Self {
            data: image.as_mut(),
            width,
            height,
            stride: width * 3,
        }
    }
}

impl Canvas for RgbCanvas<'_> {
    fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn fill_rect(
        &mut self,
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        color: [u8; 3],
        opacity: f32,
    ) {
        for y in y0..y1.min(self.height) {
            for x in x0..x1.min(self.width) {
                let i = y * self.stride + x * 3;
                for (p, c) in self.data[i..i + 3].iter_mut().zip(color) {
                    blend(p, c, opacity);
                }
            }
        }
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), thickness: f32, color: [u8; 3], opacity: f32) {
        let (stride, data) = (self.stride, &mut *self.data);
        rasterize_capsule((self.width, self.height), a, b, thickness, |x, y, cov| {
            let i = y * stride + x * 3;
            if let Some(px) = data.get_mut(i..i + 3) {
                for (p, c) in px.iter_mut().zip(color) {
                    blend(p, c, cov * opacity);
                }
            }
        });
    }
}

/// Draws into a YUV 4:2:0 picture: luma at full resolution, chroma at half, each anti-aliased on its
/// own grid, so video frames are annotated without an RGB round trip.
pub struct YuvCanvas<'a> {
    pub image: &'a mut Yuv420Image,
}

impl Canvas for YuvCanvas<'_> {
    fn size(&self) -> (usize, usize) {
        (self.image.width, self.image.height)
    }

    fn fill_rect(
        &mut self,
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
        color: [u8; 3],
        opacity: f32,
    ) {
        let img = &mut *self.image;
        let [cy, cu, cv] = img.colors.rgb_to_yuv(color);
        let (w, h) = (img.width, img.height);
        for y in y0..y1.min(h) {
            for x in x0..x1.min(w) {
                blend(&mut img.y[y * w + x], cy, opacity);
            }
        }
        let (cw, ch) = Yuv420Image::chroma_size(w, h);
        for y in y0 / 2..y1.div_ceil(2).min(ch) {
            for x in x0 / 2..x1.div_ceil(2).min(cw) {
                blend(&mut img.u[y * cw + x], cu, opacity);
                blend(&mut img.v[y * cw + x], cv, opacity);
            }
        }
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), thickness: f32, color: [u8; 3], opacity: f32) {
        let img = &mut *self.image;
        let [cy, cu, cv] = img.colors.rgb_to_yuv(color);
        let (w, h) = (img.width, img.height);
        let luma = &mut img.y;
        rasterize_capsule((w, h), a, b, thickness, |x, y, cov| {
            blend(&mut luma[y * w + x], cy, cov * opacity)
        });
        let (cw, ch) = Yuv420Image::chroma_size(w, h);
        // Chroma sample (i, j) sits at the centre of luma pixels (2i..2i+1, 2j..2j+1).
        let half = |p: (f32, f32)| ((p.0 - 0.5) * 0.5, (p.1 - 0.5) * 0.5);
        let (u, v) = (&mut img.u, &mut img.v);
        rasterize_capsule((cw, ch), half(a), half(b), thickness * 0.5, |x, y, cov| {
            blend(&mut u[y * cw + x], cu, cov * opacity);
            blend(&mut v[y * cw + x], cv, cov * opacity);
        });
    }
}
