//! Skeleton overlays drawn straight into RGB pixel buffers: anti-aliased thick limbs and joints in
//! OpenPose's colours, sized to the frame.

use crate::pose::{Person, Skeleton};

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

/// A 5×7 bitmap font for the few characters overlays need (digits, `.`, `#`, `fps`, space).
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'p' => [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        's' => [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E],
        ' ' => [0; 7],
        _ => return None,
    })
}

/// Draws `text` with its top-left corner at (`x`, `y`), `scale` pixels per font pixel, in white on a
/// translucent dark box so it reads on any background. Characters outside the font are skipped.
pub fn draw_text(canvas: &mut impl Canvas, text: &str, x: usize, y: usize, scale: usize) {
    let scale = scale.max(1);
    let glyphs: Vec<[u8; 7]> = text.chars().filter_map(glyph).collect();
    if glyphs.is_empty() {
        return;
    }
    let (w, h) = (glyphs.len() * 6 * scale + scale, 9 * scale);
    canvas.fill_rect(x, y, x + w, y + h, [0, 0, 0], 0.55);
    for (i, rows) in glyphs.iter().enumerate() {
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let px = x + scale + (i * 6 + col) * scale;
                    let py = y + scale + r * scale;
                    canvas.fill_rect(px, py, px + scale, py + scale, [255, 255, 255], 1.0);
                }
            }
        }
    }
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
    pub image: &'a mut crate::video::Yuv420Image,
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
        let [cy, cu, cv] = crate::video::rgb_to_yuv(color);
        let img = &mut *self.image;
        let (w, h) = (img.width, img.height);
        for y in y0..y1.min(h) {
            for x in x0..x1.min(w) {
                blend(&mut img.y[y * w + x], cy, opacity);
            }
        }
        let (cw, ch) = crate::video::Yuv420Image::chroma_size(w, h);
        for y in y0 / 2..y1.div_ceil(2).min(ch) {
            for x in x0 / 2..x1.div_ceil(2).min(cw) {
                blend(&mut img.u[y * cw + x], cu, opacity);
                blend(&mut img.v[y * cw + x], cv, opacity);
            }
        }
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), thickness: f32, color: [u8; 3], opacity: f32) {
        let [cy, cu, cv] = crate::video::rgb_to_yuv(color);
        let img = &mut *self.image;
        let (w, h) = (img.width, img.height);
        let luma = &mut img.y;
        rasterize_capsule((w, h), a, b, thickness, |x, y, cov| {
            blend(&mut luma[y * w + x], cy, cov * opacity)
        });
        let (cw, ch) = crate::video::Yuv420Image::chroma_size(w, h);
        // Chroma sample (i, j) sits at the centre of luma pixels (2i..2i+1, 2j..2j+1).
        let half = |p: (f32, f32)| ((p.0 - 0.5) * 0.5, (p.1 - 0.5) * 0.5);
        let (u, v) = (&mut img.u, &mut img.v);
        rasterize_capsule((cw, ch), half(a), half(b), thickness * 0.5, |x, y, cov| {
            blend(&mut u[y * cw + x], cu, cov * opacity);
            blend(&mut v[y * cw + x], cv, cov * opacity);
        });
    }
}

/// How overlays look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayStyle {
    pub limbs: bool,
    pub joints: bool,
    /// Fade keypoints and limbs with low confidence.
    pub confidence_shading: bool,
    /// Line thickness in pixels; `None` scales with the frame.
    pub thickness: Option<f32>,
    /// Number each person (#1, #2, ...) above their skeleton.
    pub numbers: bool,
}

impl Default for OverlayStyle {
    fn default() -> Self {
        Self {
            limbs: true,
            joints: true,
            confidence_shading: false,
            thickness: None,
            numbers: false,
        }
    }
}

impl OverlayStyle {
    /// OpenPose-like sizing: about 1/120 of the shorter side, never thinner than 2 pixels.
    pub fn line_thickness(&self, width: usize, height: usize) -> f32 {
        self.thickness
            .unwrap_or_else(|| (width.min(height) as f32 / 120.0).max(2.0))
    }

    /// Font pixel size for labels on a frame of this size.
    pub fn text_scale(width: usize, height: usize) -> usize {
        (width.min(height) / 270).max(1)
    }
}

/// Draws every person's skeleton onto `canvas`.
pub fn draw_people(
    canvas: &mut impl Canvas,
    skeleton: &Skeleton,
    people: &[Person],
    style: &OverlayStyle,
) {
    let (width, height) = canvas.size();
    let thickness = style.line_thickness(width, height);
    let shade = |score: f32| {
        if style.confidence_shading {
            score.clamp(0.2, 1.0)
        } else {
            1.0
        }
    };
    for person in people {
        if style.limbs {
            for limb in skeleton.drawn_limbs() {
                let (Some(Some(a)), Some(Some(b))) = (
                    person.keypoints.get(limb.from),
                    person.keypoints.get(limb.to),
                ) else {
                    continue;
                };
                let color = skeleton.parts[limb.to].color;
                canvas.line(
                    (a.x, a.y),
                    (b.x, b.y),
                    thickness,
                    color,
                    0.75 * shade(a.score.min(b.score)),
                );
            }
        }
        if style.joints {
            for (part, k) in person.keypoints.iter().enumerate() {
                if let (Some(k), Some(def)) = (k, skeleton.parts.get(part)) {
                    canvas.disc((k.x, k.y), thickness * 0.9, def.color, shade(k.score));
                }
            }
        }
    }
    if style.numbers {
        let scale = OverlayStyle::text_scale(width, height);
        for (i, person) in people.iter().enumerate() {
            if let Some([x0, y0, _, _]) = person.bounds() {
                let y = (y0 - 12.0 * scale as f32).max(0.0) as usize;
                draw_text(
                    canvas,
                    &format!("#{}", i + 1),
                    x0.max(0.0) as usize,
                    y,
                    scale,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{Keypoint, COCO18};
    use crate::video::Yuv420Image;

    #[test]
    fn lines_cover_their_axis_and_spare_the_rest() {
        let mut img = image::RgbImage::new(40, 20);
        let mut canvas = RgbCanvas::from_image(&mut img);
        canvas.line((5.0, 10.0), (35.0, 10.0), 4.0, [255, 0, 0], 1.0);
        assert_eq!(img.get_pixel(20, 10).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(20, 2).0, [0, 0, 0]);
        let edge = img.get_pixel(20, 12).0[0];
        assert!(edge > 0, "anti-aliased edge is partly covered");
    }

    #[test]
    fn yuv_drawing_matches_rgb_drawing() {
        let mut yuv = Yuv420Image::filled(40, 20, [0, 0, 0]);
        YuvCanvas { image: &mut yuv }.line((5.0, 10.0), (35.0, 10.0), 6.0, [255, 0, 0], 1.0);
        let rgb = yuv.to_rgb();
        let centre = rgb.get_pixel(20, 10).0;
        assert!(
            centre[0] > 240 && centre[1] < 15 && centre[2] < 15,
            "{centre:?}"
        );
        assert_eq!(rgb.get_pixel(20, 1).0, [0, 0, 0]);
    }

    #[test]
    fn text_lights_pixels_inside_its_box_only() {
        let mut img = image::RgbImage::new(80, 30);
        draw_text(&mut RgbCanvas::from_image(&mut img), "12.5 fps", 2, 2, 1);
        let lit = img.pixels().filter(|p| p.0 == [255, 255, 255]).count();
        assert!(lit > 40, "{lit}");
        assert_eq!(img.get_pixel(79, 29).0, [0, 0, 0]);
        let mut yuv = Yuv420Image::filled(80, 30, [0, 0, 0]);
        draw_text(&mut YuvCanvas { image: &mut yuv }, "#7", 70, 25, 2);
    }

    #[test]
    fn drawing_off_canvas_is_safe() {
        let mut img = image::RgbImage::new(10, 10);
        let mut canvas = RgbCanvas::from_image(&mut img);
        canvas.line((-50.0, -50.0), (-20.0, -10.0), 5.0, [1, 2, 3], 1.0);
        canvas.line((5.0, 5.0), (500.0, 5000.0), 5.0, [9, 9, 9], 1.0);
        let mut kps = vec![None; 18];
        kps[1] = Some(Keypoint {
            x: 5.0,
            y: 5.0,
            score: 1.0,
        });
        kps[2] = Some(Keypoint {
            x: f32::NAN,
            y: 1e9,
            score: 1.0,
        });
        draw_people(
            &mut canvas,
            &COCO18,
            &[Person {
                keypoints: kps,
                score: 1.0,
            }],
            &OverlayStyle::default(),
        );
        assert_ne!(img.get_pixel(5, 5).0, [0, 0, 0]);
    }
}
