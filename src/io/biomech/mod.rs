//! Files that biomechanics tools open: OpenSim's `.trc` (marker positions) and `.mot` (angles), and
//! `.c3d`. Each writer takes the data and any `Write`, so it is tested without a disk and the export
//! decides where files go.

pub mod c3d;
pub mod mot;
pub mod trc;

/// Markers over time, for `.trc` and `.c3d`: a row per frame, a point per marker (`None` missing).
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerTable<'a> {
    pub names: &'a [&'a str],
    pub rate_hz: f64,
    /// The first row's frame number (1 for the first frame of a file).
    pub first_frame: u64,
    pub times: &'a [f64],
    /// Metres, `[x, y, z]`.
    pub rows: &'a [Vec<Option<[f64; 3]>>],
}

/// Named values over time, for `.mot`: a column per name, a row per time.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTable<'a> {
    pub names: &'a [&'a str],
    pub times: &'a [f64],
    pub columns: &'a [Vec<Option<f64>>],
}
