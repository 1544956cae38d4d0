//! OpenSim's motion file (`.mot`) of angles in degrees, with the header Sports2D writes: OpenSim reads
//! it as a table (`TimeSeriesTable`) and plots it beside a model's coordinates.

use std::io::{self, Write};

use super::ValueTable;

/// Writes `t`; a missing value is `NaN`, which OpenSim reads as missing.
pub fn write(out: &mut impl Write, t: &ValueTable) -> io::Result<()> {
    writeln!(out, "Coordinates")?;
    writeln!(out, "version=1")?;
    writeln!(out, "nRows={}", t.times.len())?;
    writeln!(out, "nColumns={}", t.names.len() + 1)?;
    writeln!(out, "inDegrees=yes")?;
    writeln!(out)?;
    writeln!(out, "Units are S.I. units (second, meters, Newtons, ...)")?;
    writeln!(
        out,
        "If the header above contains a line with 'inDegrees', this indicates whether rotational values are in degrees (yes) or radians (no)."
    )?;
    writeln!(out)?;
    writeln!(out, "endheader")?;
    writeln!(out, "time\t{}", t.names.join("\t"))?;
    for (i, time) in t.times.iter().enumerate() {
        write!(out, "{time:.6}")?;
        for column in t.columns {
            match column.get(i).copied().flatten() {
                Some(v) => write!(out, "\t{v:.6}")?,
                None => write!(out, "\tNaN")?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_a_row_per_time() {
        let columns = vec![vec![Some(10.0), None]];
        let t = ValueTable {
            names: &["right knee"],
            times: &[0.0, 0.1],
            columns: &columns,
        };
        let mut out = Vec::new();
        write(&mut out, &t).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("nRows=2\nnColumns=2\ninDegrees=yes\n"));
        assert!(
            text.ends_with("endheader\ntime\tright knee\n0.000000\t10.000000\n0.100000\tNaN\n"),
            "{text}"
        );
    }
}
