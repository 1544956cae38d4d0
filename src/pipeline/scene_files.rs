//! A 3D scene's files: each view's 2D as OpenPose JSON on request, a `.trc` and a `.c3d` per person (metres, Y up, Pose2Sim's marker names), a
//! JSON line per frame set (every joint with its reprojection error and views), and the summary.
//! Missing joints stay missing (empty in `.trc`, invalid in `.c3d`, `null` in JSON); gaps filled on
//! request are flagged `filled` in the JSON lines and counted in the summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use nalgebra::Point3;
use serde::Serialize;

use super::ViewPeople;
use crate::io::biomech::{c3d, trc, MarkerTable};
use crate::io::openpose::OpenPoseFrame;
use crate::motion::filter::gaps::fill_gaps;
use crate::motion::filter::Interpolation;
use crate::motion::markers::{file_markers, MarkerSource};
use crate::multiview::scene::Scene;
use crate::pose::Skeleton;

/// A joint as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JointOut {
    /// Metres, the calibration's world frame.
    pub xyz: [f64; 3],
    /// `None` for a filled joint.
    pub error_px: Option<f64>,
    pub views: Vec<usize>,
    pub filled: bool,
}

/// One person over every frame set (`None` before, after and between their appearances).
#[derive(Debug, Clone)]
pub struct Series {
    pub id: u64,
    pub rows: Vec<Option<Vec<Option<JointOut>>>>,
}

impl Series {
    pub fn filled(&self) -> usize {
        self.rows
            .iter()
            .flatten()
            .flatten()
            .flatten()
            .filter(|j| j.filled)
            .count()
    }
}

/// Every person's series, with gaps of at most `max_gap` frame sets filled (cubic) and flagged.
pub fn series(scene: &Scene, parts: usize, max_gap: usize) -> Vec<Series> {
    scene
        .ids()
        .into_iter()
        .map(|id| {
            let mut rows: Vec<Option<Vec<Option<JointOut>>>> = scene
                .people
                .iter()
                .map(|frame| {
                    let p = frame.iter().find(|p| p.id == id)?;
                    Some(
                        p.person
                            .joints
                            .iter()
                            .map(|j| {
                                j.as_ref().map(|j| JointOut {
                                    xyz: [j.point.x, j.point.y, j.point.z],
                                    error_px: Some(j.error_px),
                                    views: j.views.clone(),
                                    filled: false,
                                })
                            })
                            .collect(),
                    )
                })
                .collect();
            if max_gap > 0 {
                fill(&mut rows, parts, max_gap);
            }
            Series { id, rows }
        })
        .collect()
}

fn fill(rows: &mut [Option<Vec<Option<JointOut>>>], parts: usize, max_gap: usize) {
    for part in 0..parts {
        let mut axes: Vec<Vec<Option<f64>>> = (0..3)
            .map(|a| {
                rows.iter()
                    .map(|r| r.as_ref()?.get(part)?.as_ref().map(|j| j.xyz[a]))
                    .collect()
            })
            .collect();
        let filled = fill_gaps(&mut axes[0], max_gap, Interpolation::Cubic);
        fill_gaps(&mut axes[1], max_gap, Interpolation::Cubic);
        fill_gaps(&mut axes[2], max_gap, Interpolation::Cubic);
        for (k, row) in rows.iter_mut().enumerate().filter(|(k, _)| filled[*k]) {
            let (Some(x), Some(y), Some(z)) = (axes[0][k], axes[1][k], axes[2][k]) else {
                continue;
            };
            let row = row.get_or_insert_with(|| vec![None; parts]);
            row[part] = Some(JointOut {
                xyz: [x, y, z],
                error_px: None,
                views: Vec::new(),
                filled: true,
            });
        }
    }
}

/// Z up (the calibration's world, as Pose2Sim's) to OpenSim's Y up: x→z, y→x, z→y (Pose2Sim's
/// `zup2yup`), so the files match Pose2Sim's own.
pub fn y_up([x, y, z]: [f64; 3]) -> [f64; 3] {
    [y, z, x]
}

/// The `.trc` and `.c3d` of one person, rows from their first to their last frame set.
pub fn write_marker_files(
    dir: &Path,
    stem: &str,
    s: &Series,
    skeleton: &Skeleton,
    times: &[f64],
    rate_hz: f64,
) -> std::io::Result<()> {
    let names = file_markers(skeleton);
    let sources: Vec<Option<MarkerSource>> = names
        .iter()
        .map(|n| MarkerSource::find(skeleton, n))
        .collect();
    let first = s.rows.iter().position(Option::is_some).unwrap_or(0);
    let last = s.rows.iter().rposition(Option::is_some).unwrap_or(0);
    let mid = |a: [f64; 3], b: [f64; 3]| {
        [
            0.5 * (a[0] + b[0]),
            0.5 * (a[1] + b[1]),
            0.5 * (a[2] + b[2]),
        ]
    };
    let rows: Vec<Vec<Option<[f64; 3]>>> = s.rows[first..=last]
        .iter()
        .map(|row| {
            let points: Vec<Option<[f64; 3]>> = row.as_ref().map_or_else(Vec::new, |r| {
                r.iter().map(|j| j.as_ref().map(|j| j.xyz)).collect()
            });
            sources
                .iter()
                .map(|src| src.and_then(|src| src.locate(&points, mid)).map(y_up))
                .collect()
        })
        .collect();
    let table = MarkerTable {
        names,
        rate_hz,
        first_frame: first as u64 + 1,
        times: &times[first..=last],
        rows: &rows,
    };
    let trc_name = format!("{stem}.trc");
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(&trc_name))?);
    trc::write(&mut out, &table, &trc_name)?;
    out.flush()?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{stem}.c3d")))?);
    c3d::write(&mut out, &table)?;
    out.flush()
}

#[derive(Serialize)]
struct SetLine<'a> {
    set: usize,
    time: f64,
    /// Each view's frame index (`null`: no frame of that view near this time).
    frames: &'a [Option<usize>],
    people: Vec<PersonLine<'a>>,
}

#[derive(Serialize)]
struct PersonLine<'a> {
    id: u64,
    joints: BTreeMap<&'static str, &'a JointOut>,
}

/// One JSON line per frame set.
pub fn write_jsonl(
    path: &Path,
    scene: &Scene,
    series: &[Series],
    skeleton: &Skeleton,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (k, set) in scene.sets.iter().enumerate() {
        let people = series
            .iter()
            .filter_map(|s| {
                let row = s.rows[k].as_ref()?;
                let joints = row
                    .iter()
                    .enumerate()
                    .filter_map(|(p, j)| Some((skeleton.parts.get(p)?.name, j.as_ref()?)))
                    .collect();
                Some(PersonLine { id: s.id, joints })
            })
            .collect();
        let line = SetLine {
            set: k,
            time: set.time_s,
            frames: &set.frames,
            people,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Each person's points per frame set, for drawing and tracks (`None` where missing).
pub fn points_of(s: &Series, k: usize) -> Option<Vec<Option<Point3<f64>>>> {
    let row = s.rows.get(k)?.as_ref()?;
    Some(
        row.iter()
            .map(|j| j.as_ref().map(|j| Point3::from(j.xyz)))
            .collect(),
    )
}

/// A view's people as OpenPose's per-frame files (`<stem>_<12-digit frame>_keypoints.json`), untracked
/// (`person_id` -1), as Pose2Sim's person association expects them.
pub fn write_openpose_frames(dir: &Path, stem: &str, view: &ViewPeople) -> std::io::Result<()> {
    for (frame, people) in view.people.iter().enumerate() {
        let body = serde_json::to_vec(&OpenPoseFrame::new(people))?;
        std::fs::write(dir.join(format!("{stem}_{frame:012}_keypoints.json")), body)?;
    }
    Ok(())
}
