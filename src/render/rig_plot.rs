//! A camera rig seen from above: each camera where it stands, a line the way it looks, and the
//! point the cameras look at, on a one-metre grid. What `posecam calib show --picture` draws.

use plotters::prelude::*;

use super::plot::{encode_png, fonts};

/// A camera as drawn: its name, its place (x, y) and the way it looks (x, y), world metres.
pub struct RigCamera<'a> {
    pub name: &'a str,
    pub at: (f64, f64),
    pub looks: (f64, f64),
}

const SIZE: u32 = 640;

/// The picture as PNG bytes.
pub fn rig_png(
    title: &str,
    cameras: &[RigCamera],
    target: Option<(f64, f64)>,
) -> Result<Vec<u8>, String> {
    fonts();
    let mut xs: Vec<f64> = cameras
        .iter()
        .map(|c| c.at.0)
        .chain(target.map(|t| t.0))
        .collect();
    let mut ys: Vec<f64> = cameras
        .iter()
        .map(|c| c.at.1)
        .chain(target.map(|t| t.1))
        .collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    let (Some(&x0), Some(&x1), Some(&y0), Some(&y1)) =
        (xs.first(), xs.last(), ys.first(), ys.last())
    else {
        return Err("no camera to draw".into());
    };
    // A square view with a metre of margin: distances look as they are.
    let half = 0.5 * (x1 - x0).max(y1 - y0) + 1.0;
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let mut rgb = vec![0u8; (SIZE * SIZE * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (SIZE, SIZE)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(cx - half..cx + half, cy - half..cy + half)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("x (m)")
            .y_desc("y (m)")
            .draw()
            .map_err(|e| e.to_string())?;
        let arrow = 0.12 * half;
        for c in cameras {
            let norm = (c.looks.0.powi(2) + c.looks.1.powi(2)).sqrt().max(1e-9);
            let tip = (
                c.at.0 + arrow * c.looks.0 / norm,
                c.at.1 + arrow * c.looks.1 / norm,
            );
            chart
                .draw_series(LineSeries::new([c.at, tip], BLUE.stroke_width(3)))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series([Circle::new(c.at, 6, BLUE.filled())])
                .map_err(|e| e.to_string())?;
            chart
                .draw_series([Text::new(
                    c.name.to_string(),
                    (c.at.0, c.at.1 - 0.05 * half),
                    ("sans-serif", 16),
                )])
                .map_err(|e| e.to_string())?;
        }
        if let Some(t) = target {
            chart
                .draw_series([Cross::new(t, 8, RED.stroke_width(2))])
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(SIZE, SIZE, rgb)
}
