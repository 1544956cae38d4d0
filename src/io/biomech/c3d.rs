//! C3D (c3d.org), the motion-capture exchange format Vicon, Qualisys, Visual3D, Mokka and OpenSim's
//! tools read: a 512-byte header, parameter blocks, then each frame's points as floats.
//!
//! Written here rather than with the `c3dio` crate: its 0.8 writer panics on a file it did not read
//! first (a parameter group only a parsed file has), and it keeps frame numbers in 16 bits.

use std::io::{self, Write};

use super::MarkerTable;

const BLOCK: usize = 512;
/// Intel processor, little-endian (the parameter section's 4th byte).
const PROCESSOR_INTEL: u8 = 84;

/// A parameter's value.
enum Value<'a> {
    Int(Vec<i16>),
    Float(f32),
    /// Strings padded to one width: a 2-D character array.
    Text(&'a [String]),
}

/// The parameter section: groups, then parameters, each pointing to the next.
#[derive(Default)]
struct Parameters {
    bytes: Vec<u8>,
    /// Where the last item's "next" offset is: 0 there ends the section.
    last_offset: usize,
}

impl Parameters {
    fn group(&mut self, id: i8, name: &str) {
        self.bytes.push(name.len() as u8);
        self.bytes.push((-id) as u8);
        self.bytes.extend_from_slice(name.as_bytes());
        self.last_offset = self.bytes.len();
        self.bytes.extend_from_slice(&3i16.to_le_bytes()); // next: past this field and the empty description
        self.bytes.push(0);
    }

    fn param(&mut self, group: i8, name: &str, value: Value) {
        let mut body = Vec::new();
        match value {
            Value::Int(v) => {
                body.push(2u8);
                if v.len() == 1 {
                    body.push(0);
                } else {
                    body.extend_from_slice(&[1, v.len() as u8]);
                }
                v.iter()
                    .for_each(|x| body.extend_from_slice(&x.to_le_bytes()));
            }
            Value::Float(f) => {
                body.extend_from_slice(&[4, 0]);
                body.extend_from_slice(&f.to_le_bytes());
            }
            Value::Text(strings) => {
                let width = strings.iter().map(String::len).max().unwrap_or(0).max(1);
                body.push(0xff); // -1: characters
                body.extend_from_slice(&[2, width as u8, strings.len() as u8]);
                for s in strings {
                    body.extend_from_slice(s.as_bytes());
                    body.extend(std::iter::repeat_n(b' ', width - s.len()));
                }
            }
        }
        body.push(0); // no description
        self.bytes.push(name.len() as u8);
        self.bytes.push(group as u8);
        self.bytes.extend_from_slice(name.as_bytes());
        self.last_offset = self.bytes.len();
        self.bytes
            .extend_from_slice(&((body.len() + 2) as i16).to_le_bytes());
        self.bytes.extend_from_slice(&body);
    }

    /// The section in whole blocks, with its 4-byte preamble.
    fn blocks(mut self) -> Vec<u8> {
        self.bytes[self.last_offset..self.last_offset + 2].copy_from_slice(&[0, 0]);
        let count = (4 + self.bytes.len()).div_ceil(BLOCK);
        let mut out = vec![1, 0x50, count as u8, PROCESSOR_INTEL];
        out.extend_from_slice(&self.bytes);
        out.resize(count * BLOCK, 0);
        out
    }
}

/// Labels fit C3D's character arrays (ASCII, at most 255 wide).
fn label(name: &str) -> String {
    name.chars().filter(char::is_ascii).take(255).collect()
}

/// Writes `t` (metres, `POINT:UNITS = m`) with float data; a missing point has residual -1.
pub fn write(out: &mut impl Write, t: &MarkerTable) -> io::Result<()> {
    let frames = t.rows.len();
    if t.names.len() > 255 || frames == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a C3D file holds 1 frame and 255 markers or more",
        ));
    }
    let first = t.first_frame.max(1);
    let last = first + frames as u64 - 1;
    let labels: Vec<String> = t.names.iter().map(|n| label(n)).collect();
    let blank = vec![String::new(); labels.len()];
    let split = |v: u64| vec![(v & 0xffff) as u16 as i16, (v >> 16) as u16 as i16];
    let build = |data_start: i16| {
        let mut p = Parameters::default();
        p.group(1, "POINT");
        p.group(2, "ANALOG");
        p.group(3, "TRIAL");
        p.param(1, "USED", Value::Int(vec![labels.len() as i16]));
        p.param(1, "SCALE", Value::Float(-1.0));
        p.param(1, "RATE", Value::Float(t.rate_hz as f32));
        p.param(1, "DATA_START", Value::Int(vec![data_start]));
        p.param(
            1,
            "FRAMES",
            Value::Int(vec![frames.min(u16::MAX as usize) as u16 as i16]),
        );
        p.param(1, "LABELS", Value::Text(&labels));
        p.param(1, "DESCRIPTIONS", Value::Text(&blank));
        p.param(1, "UNITS", Value::Text(&["m".to_string()]));
        p.param(2, "USED", Value::Int(vec![0]));
        p.param(2, "RATE", Value::Float(0.0));
        // Clips longer than 16-bit frame numbers: the trial's 32-bit first and last frames.
        p.param(3, "ACTUAL_START_FIELD", Value::Int(split(first)));
        p.param(3, "ACTUAL_END_FIELD", Value::Int(split(last)));
        p.blocks()
    };
    let blocks = build(0).len() / BLOCK;
    let data_start = 2 + blocks;
    let parameters = build(data_start as i16);
    out.write_all(&header(t, data_start as u16, first, last))?;
    out.write_all(&parameters)?;
    let mut frame = Vec::with_capacity(16 * labels.len());
    for row in t.rows {
        frame.clear();
        for p in row {
            let (xyz, residual) = match p {
                Some(p) => (p.map(|v| v as f32), 0.0f32),
                None => ([0.0; 3], -1.0),
            };
            xyz.iter()
                .chain(std::iter::once(&residual))
                .for_each(|v| frame.extend_from_slice(&v.to_le_bytes()));
        }
        out.write_all(&frame)?;
    }
    // Data ends on a block boundary, as readers that read whole blocks expect.
    let written = frames * labels.len() * 16;
    out.write_all(&vec![0; (BLOCK - written % BLOCK) % BLOCK])
}

fn header(t: &MarkerTable, data_start: u16, first: u64, last: u64) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK];
    let mut put = |at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &[2, 0x50]);
    put(2, &(t.names.len() as u16).to_le_bytes());
    put(4, &0u16.to_le_bytes());
    put(6, &(first.min(u16::MAX as u64) as u16).to_le_bytes());
    put(8, &(last.min(u16::MAX as u64) as u16).to_le_bytes());
    put(10, &10u16.to_le_bytes());
    put(12, &(-1.0f32).to_le_bytes());
    put(16, &data_start.to_le_bytes());
    put(18, &0u16.to_le_bytes());
    put(20, &(t.rate_hz as f32).to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_line_up() {
        let rows = vec![vec![Some([1.0, 2.0, 0.0]), None]; 3];
        let t = MarkerTable {
            names: &["RHip", "LHip"],
            rate_hz: 30.0,
            first_frame: 1,
            times: &[0.0; 3],
            rows: &rows,
        };
        let mut out = Vec::new();
        write(&mut out, &t).unwrap();
        assert_eq!(out.len() % BLOCK, 0);
        assert_eq!(out[512..516], [1, 0x50, 1, PROCESSOR_INTEL]);
        let data = (u16::from_le_bytes([out[16], out[17]]) as usize - 1) * BLOCK;
        assert_eq!(
            f32::from_le_bytes(out[data..data + 4].try_into().unwrap()),
            1.0
        );
        assert_eq!(
            f32::from_le_bytes(out[data + 28..data + 32].try_into().unwrap()),
            -1.0
        );
    }
}
