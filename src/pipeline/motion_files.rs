//! An export's motion files: every tracked person's raw keypoints are kept as frames pass, then,
//! after the last frame (filtering needs the whole track), analysed and written into one folder:
//! `.trc`, `.c3d`, `.mot` and a PNG per person, and two tables for everyone.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{FrameResult, PipelineError};
use crate::io::biomech::{c3d, mot, trc, MarkerTable, ValueTable};
use crate::io::transaction::{FolderFiles, OutputError, OutputSet};
use crate::motion::markers::{file_markers, MarkerSource};
use crate::motion::{analyse, AngleKind, ClipMotion, MotionSettings, PersonMotion, PersonTrack};
use crate::pose::Skeleton;
use crate::render::plot::{angles_png, AnglePanel};

/// Where the motion files go and how they are made.
#[derive(Debug, Clone)]
pub struct MotionOutput {
    /// The staged folder written to.
    pub dir: PathBuf,
    /// The folder's real name, for messages.
    pub shown: PathBuf,
    /// Files are named `<stem>_…` (the input's stem).
    pub stem: String,
    pub settings: MotionSettings,
}

/// Every confirmed person's raw keypoints, a row per frame from their first to their last.
#[derive(Debug, Default)]
pub(crate) struct TrackBook {
    skeleton: Option<&'static Skeleton>,
    people: BTreeMap<u64, PersonTrack>,
    times: Vec<f64>,
}

impl TrackBook {
    pub(crate) fn record(&mut self, r: &FrameResult) {
        self.skeleton = Some(r.skeleton);
        self.times.push(r.frame.time_s);
        let parts = r.skeleton.parts.len();
        for (person, tracked) in r.people.iter().zip(&r.tracked) {
            let Some(id) = tracked.id else { continue };
            let track = self.people.entry(id).or_insert_with(|| PersonTrack {
                id,
                first_frame: r.frame.index,
                start_s: r.frame.time_s,
                points: Vec::new(),
            });
            let row = r.frame.index.saturating_sub(track.first_frame) as usize;
            if track.points.len() <= row {
                track.points.resize(row + 1, vec![None; parts]);
            }
            track.points[row] = person
                .keypoints
                .iter()
                .map(|k| k.map(|k| (f64::from(k.x), f64::from(k.y))))
                .collect();
        }
    }

    /// Frames per second, from the median step between frames (30 for a single frame).
    fn rate_hz(&self) -> f64 {
        let steps = self
            .times
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|d| *d > 0.0);
        crate::motion::units::median(steps).map_or(30.0, |d| 1.0 / d)
    }
}

/// What the motion files hold, for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MotionSummary {
    pub people: usize,
    pub metres_per_px: Option<f64>,
    pub seconds: f64,
}

fn failed(path: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Outputs(OutputError::Write {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Analyses the book and writes every file into the staged folder.
pub(crate) fn write_motion(
    out: &MotionOutput,
    book: TrackBook,
) -> Result<MotionSummary, PipelineError> {
    let Some(skeleton) = book.skeleton else {
        return Ok(MotionSummary::default());
    };
    let rate = book.rate_hz();
    let tracks: Vec<PersonTrack> = book.people.into_values().collect();
    write_clip(out, skeleton, &tracks, rate)
}

/// The window's *Save motion files…*: the same files as `export --motion`, from tracks it kept, into
/// `dir` as one transaction (files already there are not replaced).
pub fn save_motion_files(
    dir: &Path,
    stem: &str,
    skeleton: &'static Skeleton,
    tracks: &[PersonTrack],
    rate_hz: f64,
    settings: MotionSettings,
) -> Result<MotionSummary, PipelineError> {
    let mut set = OutputSet::new::<&Path>(&[], false);
    let files = FolderFiles::Pattern {
        prefix: format!("{stem}_"),
        suffix: String::new(),
    };
    let id = set.add_folder(dir, "motion folder", files)?;
    set.stage()?;
    let out = MotionOutput {
        dir: set.path(id).to_path_buf(),
        shown: set.target(id).to_path_buf(),
        stem: stem.to_string(),
        settings,
    };
    let summary = write_clip(&out, skeleton, tracks, rate_hz)?;
    set.commit()?;
    Ok(summary)
}

fn write_clip(
    out: &MotionOutput,
    skeleton: &Skeleton,
    tracks: &[PersonTrack],
    rate: f64,
) -> Result<MotionSummary, PipelineError> {
    let started = std::time::Instant::now();
    if let Some(lp) = out
        .settings
        .filter
        .low_pass
        .filter(|lp| lp.cutoff_hz >= rate / 2.0)
    {
        tracing::warn!(
            "no low-pass: its cutoff ({} Hz) is not below half the frame rate ({:.1} Hz); lower --cutoff",
            lp.cutoff_hz,
            rate / 2.0
        );
    }
    let clip = analyse(skeleton, tracks, rate, &out.settings);
    let file = |name: String| (out.dir.join(&name), out.shown.join(&name));
    let write = |name: String, body: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let (path, shown) = file(name);
        let mut bytes = Vec::new();
        body(&mut bytes)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| failed(&shown, e))
    };
    let stem = &out.stem;
    write(format!("{stem}_motion.csv"), &|o| {
        motion_csv(o, skeleton, &clip)
    })?;
    write(format!("{stem}_angles.csv"), &|o| angles_csv(o, &clip))?;
    if clip.scale.is_none() && !clip.people.is_empty() {
        tracing::warn!("no person was seen whole enough to measure: no .trc or .c3d files (give --metres-per-pixel)");
    }
    for p in &clip.people {
        let name = format!("{stem}_p{}", p.id);
        if clip.scale.is_some() {
            let markers = file_markers(skeleton);
            let rows = marker_rows(skeleton, markers, p);
            let table = MarkerTable {
                names: markers,
                rate_hz: clip.rate_hz,
                first_frame: 1,
                times: &p.times,
                rows: &rows,
            };
            let trc_name = format!("{name}.trc");
            write(trc_name.clone(), &|o| trc::write(o, &table, &trc_name))?;
            write(format!("{name}.c3d"), &|o| c3d::write(o, &table))?;
        }
        let names: Vec<&str> = p.angles.iter().map(|a| a.def.name).collect();
        let columns: Vec<Vec<Option<f64>>> = p.angles.iter().map(|a| a.filtered.clone()).collect();
        let table = ValueTable {
            names: &names,
            times: &p.times,
            columns: &columns,
        };
        write(format!("{name}_angles.mot"), &|o| mot::write(o, &table))?;
        let panels: Vec<AnglePanel> = p
            .angles
            .iter()
            .filter(|a| a.raw.iter().chain(&a.filtered).any(Option::is_some))
            .map(|a| AnglePanel {
                name: a.def.name,
                raw: &a.raw,
                filtered: &a.filtered,
            })
            .collect();
        let png =
            angles_png(&format!("{stem}: person {}", p.id), &p.times, &panels).map_err(|e| {
                failed(
                    &file(format!("{name}_angles.png")).1,
                    std::io::Error::other(e),
                )
            })?;
        write(format!("{name}_angles.png"), &|o| o.write_all(&png))?;
    }
    Ok(MotionSummary {
        people: clip.people.len(),
        metres_per_px: clip.scale.map(|s| s.metres_per_px),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The file markers of each frame, in metres with Z = 0.
fn marker_rows(
    skeleton: &Skeleton,
    markers: &[&str],
    p: &PersonMotion,
) -> Vec<Vec<Option<[f64; 3]>>> {
    let sources: Vec<Option<MarkerSource>> = markers
        .iter()
        .map(|m| MarkerSource::find(skeleton, m))
        .collect();
    p.metres
        .iter()
        .map(|f| {
            sources
                .iter()
                .map(|s| {
                    s.and_then(|s| s.locate(f, |a, b| ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)))
                        .map(|(x, y)| [x, y, 0.0])
                })
                .collect()
        })
        .collect()
}

/// The columns of `<stem>_motion.csv`: raw and filtered pixels side by side, metres and speeds.
pub const MOTION_CSV_HEADER: &str =
    "frame,time,person,part,x,y,x_filtered,y_filtered,filled,x_m,y_m,speed_m_s";

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or(String::new(), |v| format!("{v:.digits$}"))
}

fn motion_csv(o: &mut Vec<u8>, skeleton: &Skeleton, clip: &ClipMotion) -> std::io::Result<()> {
    writeln!(o, "{MOTION_CSV_HEADER}")?;
    for p in &clip.people {
        for (i, time) in p.times.iter().enumerate() {
            let frame = p.first_frame + i as u64;
            for (part, def) in skeleton.parts.iter().enumerate() {
                let (raw, filtered) = (p.raw[i][part], p.filtered[i][part]);
                if raw.is_none() && filtered.is_none() {
                    continue;
                }
                let m = p.metres[i][part];
                writeln!(
                    o,
                    "{frame},{time:.6},{},{},{},{},{},{},{},{},{},{}",
                    p.id,
                    def.name,
                    opt(raw.map(|r| r.0), 3),
                    opt(raw.map(|r| r.1), 3),
                    opt(filtered.map(|f| f.0), 3),
                    opt(filtered.map(|f| f.1), 3),
                    u8::from(p.filled[i][part]),
                    opt(m.map(|m| m.0), 5),
                    opt(m.map(|m| m.1), 5),
                    opt(p.speeds[i][part], 4),
                )?;
            }
            if let Some(speed) = p.hips_speed[i] {
                writeln!(o, "{frame},{time:.6},{},hips,,,,,0,,,{speed:.4}", p.id)?;
            }
        }
    }
    Ok(())
}

/// The columns of `<stem>_angles.csv`: every angle of every person, raw and filtered, in degrees.
pub const ANGLES_CSV_HEADER: &str = "frame,time,person,angle,kind,side,raw_deg,filtered_deg";

fn angles_csv(o: &mut Vec<u8>, clip: &ClipMotion) -> std::io::Result<()> {
    writeln!(o, "{ANGLES_CSV_HEADER}")?;
    for p in &clip.people {
        for (i, time) in p.times.iter().enumerate() {
            for a in &p.angles {
                if a.raw[i].is_none() && a.filtered[i].is_none() {
                    continue;
                }
                let kind = match a.def.kind {
                    AngleKind::Joint => "joint",
                    AngleKind::Segment => "segment",
                };
                writeln!(
                    o,
                    "{},{time:.6},{},{},{kind},{},{},{}",
                    p.first_frame + i as u64,
                    p.id,
                    a.def.name,
                    p.sides[i].name(),
                    opt(a.raw[i], 4),
                    opt(a.filtered[i], 4),
                )?;
            }
        }
    }
    Ok(())
}
