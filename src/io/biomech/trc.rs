//! OpenSim's marker file (`.trc`, "PathFileType 4"), as Pose2Sim and Sports2D write it: tab-separated,
//! a five-line header, frames numbered from 1, missing markers as `NaN` (OpenSim's reader drops
//! empty fields at the end of a line and then miscounts the columns).

use std::io::{self, Write};

use super::MarkerTable;

/// Writes `t` in metres; `file_name` goes in the first header line, as OpenSim's own files carry it.
pub fn write(out: &mut impl Write, t: &MarkerTable, file_name: &str) -> io::Result<()> {
    let frames = t.rows.len();
    let markers = t.names.len();
    let rate = format_rate(t.rate_hz);
    writeln!(out, "PathFileType\t4\t(X/Y/Z)\t{file_name}")?;
    writeln!(
        out,
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames"
    )?;
    writeln!(
        out,
        "{rate}\t{rate}\t{frames}\t{markers}\tm\t{rate}\t{}\t{frames}",
        t.first_frame
    )?;
    let names: Vec<String> = t.names.iter().map(|n| format!("{n}\t\t")).collect();
    writeln!(out, "Frame#\tTime\t{}", names.join("\t"))?;
    let axes: Vec<String> = (1..=markers).map(|i| format!("X{i}\tY{i}\tZ{i}")).collect();
    writeln!(out, "\t\t{}", axes.join("\t"))?;
    writeln!(out)?;
    for (i, (row, time)) in t.rows.iter().zip(t.times).enumerate() {
        write!(out, "{}\t{time:.6}", t.first_frame + i as u64)?;
        for p in row {
            match p {
                Some([x, y, z]) => write!(out, "\t{x:.6}\t{y:.6}\t{z:.6}")?,
                None => write!(out, "\tNaN\tNaN\tNaN")?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// A rate as a plain number (`30`, `29.97`).
pub fn format_rate(rate_hz: f64) -> String {
    let s = format!("{rate_hz:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows() {
        let rows = vec![
            vec![Some([1.0, 2.0, 0.0]), None],
            vec![Some([1.5, 2.0, 0.0]), Some([0.0, 1.0, 0.0])],
        ];
        let t = MarkerTable {
            names: &["RHip", "LHip"],
            rate_hz: 29.97,
            first_frame: 1,
            times: &[0.0, 1.0 / 29.97],
            rows: &rows,
        };
        let mut out = Vec::new();
        write(&mut out, &t, "a.trc").unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "29.97\t29.97\t2\t2\tm\t29.97\t1\t2");
        assert_eq!(lines[3], "Frame#\tTime\tRHip\t\t\tLHip\t\t");
        assert_eq!(lines[6].split('\t').count(), 2 + 6);
        assert!(
            lines[6].ends_with("1.000000\t2.000000\t0.000000\tNaN\tNaN\tNaN"),
            "{}",
            lines[6]
        );
    }
}
