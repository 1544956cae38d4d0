//! The keypoint files of an export: JSON lines, OpenPose's per-frame files, and tracks as CSV.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::motion_files::{write_motion, MotionOutput, TrackBook};
use super::{FrameResult, PipelineError};
use crate::io::openpose::{OpenPoseFrame, OpenPosePerson};
use crate::io::transaction::OutputError;

/// A file (or folder) an export writes: where, and the name users know it by. The two differ while
/// the output is staged in a temporary beside its target; messages name the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    pub path: PathBuf,
    pub shown: PathBuf,
}

impl StagedFile {
    /// A file written in place, under its own name.
    pub fn direct(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            shown: path.to_path_buf(),
        }
    }
}

/// Everything an export writes.
#[derive(Debug, Clone)]
pub struct ExportOutputs {
    pub video: StagedFile,
    /// One JSON line per frame (`frame`, `time`, `people`).
    pub jsonl: Option<StagedFile>,
    /// OpenPose's per-frame files `<stem>_<12-digit frame>_keypoints.json`.
    pub json_dir: Option<StagedFile>,
    pub json_stem: String,
    /// Tracks in long format (`frame,time,person,part,x,y,score,x_smooth,y_smooth`).
    pub csv: Option<StagedFile>,
    /// Motion files (filtered tracks, angles, `.trc`, `.mot`, `.c3d`, plots), written after the last
    /// frame.
    pub motion: Option<MotionOutput>,
}

impl ExportOutputs {
    /// The video alone, written in place.
    pub fn video_only(path: &Path) -> Self {
        Self {
            video: StagedFile::direct(path),
            jsonl: None,
            json_dir: None,
            json_stem: String::new(),
            csv: None,
            motion: None,
        }
    }
}

/// A write to `shown` failed (messages name the target, not its temporary).
fn output_error(shown: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Outputs(OutputError::Write {
        path: shown.to_path_buf(),
        source: e,
    })
}

#[derive(Serialize)]
struct JsonLine<'a> {
    frame: u64,
    time: f64,
    people: &'a [OpenPosePerson],
}

/// The CSV's columns (long format: one row per person, part and frame; pandas and R read it as is).
pub const CSV_HEADER: &str = "frame,time,person,part,x,y,score,x_smooth,y_smooth";

/// A keypoint file being written, and the name messages give it.
type Output = (PathBuf, std::io::BufWriter<std::fs::File>);

pub(crate) struct KeypointWriters {
    jsonl: Option<Output>,
    json_dir: Option<(StagedFile, String)>,
    csv: Option<Output>,
    motion: Option<(MotionOutput, TrackBook)>,
}

fn create(file: &Option<StagedFile>) -> Result<Option<Output>, PipelineError> {
    file.as_ref()
        .map(|f| {
            let out = std::fs::File::create(&f.path).map_err(|e| output_error(&f.shown, e))?;
            Ok((f.shown.clone(), std::io::BufWriter::new(out)))
        })
        .transpose()
}

/// Microsecond precision for times.
fn seconds(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

impl KeypointWriters {
    pub(crate) fn create(outputs: &ExportOutputs) -> Result<Self, PipelineError> {
        let json_dir = outputs
            .json_dir
            .clone()
            .map(|d| (d, outputs.json_stem.clone()));
        Ok(Self::new(&outputs.jsonl, json_dir, &outputs.csv)?.with_motion(outputs.motion.clone()))
    }

    /// Also keeps every person's keypoints, for motion files written at [`finish`](Self::finish).
    pub(crate) fn with_motion(mut self, motion: Option<MotionOutput>) -> Self {
        self.motion = motion.map(|m| (m, TrackBook::default()));
        self
    }

    /// JSON lines, OpenPose's per-frame files (folder and stem), tracks as CSV: each if asked for.
    pub(crate) fn new(
        jsonl: &Option<StagedFile>,
        json_dir: Option<(StagedFile, String)>,
        csv: &Option<StagedFile>,
    ) -> Result<Self, PipelineError> {
        let mut csv = create(csv)?;
        if let Some((path, out)) = csv.as_mut() {
            writeln!(out, "{CSV_HEADER}").map_err(|e| output_error(path, e))?;
        }
        Ok(Self {
            jsonl: create(jsonl)?,
            json_dir,
            csv,
            motion: None,
        })
    }

    pub(crate) fn write(&mut self, result: &FrameResult) -> Result<(), PipelineError> {
        let frame = result.frame.index;
        let persons: Vec<OpenPosePerson> = result
            .people
            .iter()
            .zip(result.ids())
            .map(|(p, id)| OpenPosePerson::with_id(p, id))
            .collect();
        if let Some((path, out)) = self.jsonl.as_mut() {
            let line = JsonLine {
                frame,
                time: seconds(result.frame.time_s),
                people: &persons,
            };
            serde_json::to_writer(&mut *out, &line)
                .map_err(std::io::Error::from)
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| output_error(path, e))?;
        }
        if let Some((dir, stem)) = &self.json_dir {
            let name = format!("{stem}_{frame:012}_keypoints.json");
            let shown = dir.shown.join(&name);
            let body = serde_json::to_vec(&OpenPoseFrame {
                version: 1.3,
                people: persons,
            })
            .map_err(|e| output_error(&shown, e.into()))?;
            std::fs::write(dir.path.join(&name), body).map_err(|e| output_error(&shown, e))?;
        }
        if let Some((path, out)) = self.csv.as_mut() {
            csv_rows(out, result).map_err(|e| output_error(path, e))?;
        }
        if let Some((_, book)) = self.motion.as_mut() {
            book.record(result);
        }
        Ok(())
    }

    /// Flushes the files, then filters the whole tracks and writes the motion files.
    pub(crate) fn finish(self) -> Result<(), PipelineError> {
        for (path, mut out) in [self.jsonl, self.csv].into_iter().flatten() {
            out.flush().map_err(|e| output_error(&path, e))?;
        }
        if let Some((motion, book)) = self.motion {
            let summary = write_motion(&motion, book)?;
            tracing::info!(
                "motion files for {} people in {:.3} s ({})",
                summary.people,
                summary.seconds,
                summary.metres_per_px.map_or("no scale".into(), |m| format!(
                    "{:.2} mm per pixel",
                    m * 1e3
                ))
            );
        }
        Ok(())
    }
}

/// One row per part of every person with a track ID (detections never confirmed as tracks are left to
/// the JSON).
fn csv_rows(out: &mut impl Write, r: &FrameResult) -> std::io::Result<()> {
    let time = seconds(r.frame.time_s);
    for (person, tracked) in r.people.iter().zip(&r.tracked) {
        let Some(id) = tracked.id else { continue };
        for (part, (raw, smooth)) in person.keypoints.iter().zip(&tracked.smoothed).enumerate() {
            let Some(k) = raw else { continue };
            let (sx, sy) = smooth.map_or((k.x, k.y), |s| (s.x, s.y));
            writeln!(
                out,
                "{},{time},{id},{},{:.3},{:.3},{:.3},{sx:.3},{sy:.3}",
                r.frame.index,
                r.skeleton.parts.get(part).map_or("?", |p| p.name),
                k.x,
                k.y,
                k.score
            )?;
        }
    }
    Ok(())
}
