//! A tiny bitmap font for labels burnt into video frames (person numbers, fps).

use super::canvas::Canvas;

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

/// Glyph rows (with a row of margin above and below), in font pixels.
pub const TEXT_ROWS: usize = 9;

/// Draws a person's label centred above `at` (the bottom middle of its box): the text in `color`,
/// outlined in black, on a faint dark box, so it reads over any picture.
pub fn draw_label(
    canvas: &mut impl Canvas,
    text: &str,
    at: (f32, f32),
    scale: usize,
    color: [u8; 3],
) {
    let scale = scale.max(1);
    let glyphs: Vec<[u8; 7]> = text.chars().filter_map(glyph).collect();
    if glyphs.is_empty() || !at.0.is_finite() || !at.1.is_finite() {
        return;
    }
    let (w, h) = (glyphs.len() * 6 * scale + scale, TEXT_ROWS * scale);
    let x = (at.0 - w as f32 / 2.0).max(0.0) as usize;
    let y = (at.1 - h as f32).max(0.0) as usize;
    canvas.fill_rect(x, y, x + w, y + h, [0, 0, 0], 0.35);
    light_glyphs(canvas, &glyphs, (x, y), scale, scale.div_ceil(2), [0, 0, 0]);
    light_glyphs(canvas, &glyphs, (x, y), scale, 0, color);
}

/// Lights the font pixels of `glyphs` in a box whose top-left corner is `at`, each grown by `grow`
/// pixels on every side (an outline when drawn first, in a dark colour).
fn light_glyphs(
    canvas: &mut impl Canvas,
    glyphs: &[[u8; 7]],
    (x, y): (usize, usize),
    scale: usize,
    grow: usize,
    color: [u8; 3],
) {
    for (i, rows) in glyphs.iter().enumerate() {
        for (r, bits) in rows.iter().enumerate() {
            for col in (0..5).filter(|col| bits & (0x10 >> col) != 0) {
                let px = x + scale + (i * 6 + col) * scale;
                let py = y + scale + r * scale;
                let (x0, y0) = (px.saturating_sub(grow), py.saturating_sub(grow));
                canvas.fill_rect(x0, y0, px + scale + grow, py + scale + grow, color, 1.0);
            }
        }
    }
}

/// Draws `text` with its top-left corner at (`x`, `y`), `scale` pixels per font pixel, in white on a
/// translucent dark box so it reads on any background. Characters outside the font are skipped.
pub fn draw_text(canvas: &mut impl Canvas, text: &str, x: usize, y: usize, scale: usize) {
    let scale = scale.max(1);
    let glyphs: Vec<[u8; 7]> = text.chars().filter_map(glyph).collect();
    if glyphs.is_empty() {
        return;
    }
    let (w, h) = (glyphs.len() * 6 * scale + scale, TEXT_ROWS * scale);
    canvas.fill_rect(x, y, x + w, y + h, [0, 0, 0], 0.55);
    light_glyphs(canvas, &glyphs, (x, y), scale, 0, [255, 255, 255]);
}
