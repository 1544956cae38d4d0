//! A person's angles over time as one PNG: a panel per angle, the raw curve in grey under the
//! filtered one, so a reader sees at a glance what the filter did.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// One curve pair to draw.
pub struct AnglePanel<'a> {
    pub name: &'a str,
    pub raw: &'a [Option<f64>],
    pub filtered: &'a [Option<f64>],
}

const PANEL: (u32, u32) = (420, 220);
const COLUMNS: usize = 3;

pub(crate) fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The same font the window uses; registering twice is harmless but needless.
        let _ = register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// The plot as PNG bytes; `title` heads it, `times` (seconds) is the x axis.
pub fn angles_png(title: &str, times: &[f64], panels: &[AnglePanel]) -> Result<Vec<u8>, String> {
    fonts();
    let rows = panels.len().div_ceil(COLUMNS).max(1);
    let (w, h) = (PANEL.0 * COLUMNS as u32, PANEL.1 * rows as u32 + 40);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 24))
            .map_err(|e| e.to_string())?;
        let areas = root.split_evenly((rows, COLUMNS));
        for (panel, area) in panels.iter().zip(areas) {
            draw_panel(&area, times, panel).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(w, h, rgb)
}

/// An RGB buffer as a PNG, compressed hard (plots are mostly flat colour).
pub(crate) fn encode_png(w: u32, h: u32, rgb: Vec<u8>) -> Result<Vec<u8>, String> {
    let image = image::RgbImage::from_raw(w, h, rgb).ok_or("plot buffer size")?;
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    image
        .write_with_encoder(encoder)
        .map_err(|e| e.to_string())?;
    Ok(png)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(
    area: &Area,
    times: &[f64],
    p: &AnglePanel,
) -> Result<(), Box<dyn std::error::Error>> {
    let known = p.raw.iter().chain(p.filtered).flatten().copied();
    let (lo, hi) = known.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi {
        (-1.0, 1.0)
    } else {
        (lo - 5.0, hi + 5.0)
    };
    let (t0, t1) = (
        times.first().copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(1.0),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(p.name, ("sans-serif", 16))
        .margin(6)
        .x_label_area_size(34)
        .y_label_area_size(44)
        .build_cartesian_2d(t0..t1.max(t0 + 1e-3), lo..hi)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("time (s)")
        .y_desc("degrees")
        .label_style(("sans-serif", 12))
        .draw()?;
    for (values, style) in [
        (p.raw, RGBColor(170, 170, 170).stroke_width(1)),
        (p.filtered, BLUE.stroke_width(2)),
    ] {
        for run in runs(times, values) {
            chart.draw_series(LineSeries::new(run, style))?;
        }
    }
    Ok(())
}

/// The curve split where values are missing, so gaps show as gaps.
fn runs(times: &[f64], values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (t, v) in times.iter().zip(values) {
        match v {
            Some(v) => out.last_mut().map_or((), |r| r.push((*t, *v))),
            None if out.last().is_some_and(|r| !r.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plot_is_a_png_of_the_panels() {
        let times: Vec<f64> = (0..50).map(|i| i as f64 / 25.0).collect();
        let raw: Vec<Option<f64>> = times
            .iter()
            .map(|t| (t.sin() * 40.0 != 0.0).then_some(t.sin() * 40.0))
            .collect();
        let panels = [AnglePanel {
            name: "right knee",
            raw: &raw,
            filtered: &raw,
        }];
        let png = angles_png("person 1", &times, &panels).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        assert_eq!((image.width(), image.height()), (PANEL.0 * 3, PANEL.1 + 40));
        let blue = image
            .to_rgb8()
            .pixels()
            .filter(|p| p.0 == [0, 0, 255])
            .count();
        assert!(blue > 100, "the filtered curve is drawn ({blue} px)");
        assert_eq!(
            runs(&[0.0, 1.0, 2.0], &[Some(1.0), None, Some(2.0)]).len(),
            2
        );
    }
}
