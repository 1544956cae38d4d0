//! `posecam calib intrinsics`: each camera's lens from pictures or a video of a checkerboard, written
//! in Pose2Sim's `Calib.toml` layout with every picture's fate reported.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use image::GrayImage;
use posecam::calibrate::lens::{self, LensFit, LensOptions, MIN_VIEWS};
use posecam::calibrate::select::{self, sharpness, Candidate, Selection, Verdict};
use posecam::calibrate::{board, Board, Miss};
use posecam::io::image::has_image_extension;
use posecam::io::transaction::OutputSet;
use posecam::multiview::calib::{to_pose2sim_toml, Metadata};
use posecam::video::VideoReader;
use serde_json::{json, Value};

use crate::cli::console::outln;

#[derive(Debug, Args)]
pub struct IntrinsicsArgs {
    /// One per camera: a folder of pictures or a video of the board. The camera takes its name.
    #[arg(required = true, value_name = "FOLDER|VIDEO")]
    pub inputs: Vec<PathBuf>,
    /// The board's inner corners, COLSxROWS: a board of 5 by 8 squares has 4x7.
    #[arg(long, value_name = "COLSxROWS")]
    pub board: String,
    /// The side of one square: 60mm, 6cm or 0.06m.
    #[arg(long, value_name = "LENGTH")]
    pub square: String,
    /// The calibration to write (Pose2Sim's Calib.toml layout, every camera at the origin).
    #[arg(short, long, value_name = "TOML")]
    pub output: PathBuf,
    /// Solve k3 as well (wide-angle lenses); otherwise k1 k2 p1 p2.
    #[arg(long)]
    pub k3: bool,
    /// Most board views used per camera; beyond it, the most varied are kept.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub max_views: usize,
    /// Most frames of a video searched for the board, spread evenly over it.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub max_frames: u64,
    /// Every picture's corners, error and fate, as JSON.
    #[arg(long, value_name = "JSON")]
    pub report: Option<PathBuf>,
    #[arg(long)]
    pub overwrite: bool,
}

/// One picture or frame, as the board search saw it.
struct Shot {
    source: String,
    found: Result<usize, Miss>,
    sharpness: f64,
}

/// One camera's outcome.
struct Solved {
    fit: LensFit,
    input: PathBuf,
    shots: Vec<Shot>,
    verdicts: Vec<(usize, Verdict)>,
    find_s: f64,
    solve_s: f64,
}

pub fn run(a: &IntrinsicsArgs) -> Result<()> {
    let board = Board::parse(&a.board, &a.square)?;
    let mut outputs = OutputSet::new(&a.inputs, a.overwrite);
    let toml_id = outputs.add_file(&a.output, "--output")?;
    let report_id = match &a.report {
        Some(path) => Some(outputs.add_file(path, "--report")?),
        None => None,
    };
    let mut solved = Vec::new();
    for input in &a.inputs {
        let s = camera(input, &board, a)?;
        print_camera(&s, &board);
        solved.push(s);
    }
    let cameras: Vec<_> = solved.iter().map(|s| s.fit.camera.clone()).collect();
    let metadata = Metadata {
        rms_px: solved
            .iter()
            .map(|s| (s.fit.camera.name.clone(), s.fit.rms))
            .collect(),
    };
    outputs.stage()?;
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write(outputs.path(toml_id), to_pose2sim_toml(&cameras, &metadata))?;
    if let Some(id) = report_id {
        write(outputs.path(id), report(&board, &solved).to_string())?;
    }
    outputs.commit()?;
    outln!("lenses -> {}", a.output.display());
    Ok(())
}

/// One camera: search every picture, keep the views worth solving, solve.
fn camera(input: &Path, board: &Board, a: &IntrinsicsArgs) -> Result<Solved> {
    let name = camera_name(input)?;
    let started = Instant::now();
    let (shots, views, size) = search(input, board, a.max_frames)
        .with_context(|| format!("{name}: {}", input.display()))?;
    let find_s = started.elapsed().as_secs_f64();
    let candidates: Vec<Candidate> = views.iter().map(|(_, c)| c.clone()).collect();
    let diagonal = f64::from(size[0]).hypot(f64::from(size[1]));
    let opts = Selection {
        max_views: a.max_views.max(MIN_VIEWS),
        ..Selection::default()
    };
    let picked = select::select(&candidates, diagonal, &opts);
    let kept: Vec<usize> = (0..picked.len())
        .filter(|&i| picked[i] == Verdict::Kept)
        .collect();
    let used: Vec<_> = kept.iter().map(|&i| candidates[i].view.clone()).collect();
    if used.len() < MIN_VIEWS {
        bail!("{name}: {}", too_few(board, &shots, &picked));
    }
    let started = Instant::now();
    let mut fit = lens::calibrate(&name, size, &used, LensOptions { k3: a.k3 })
        .with_context(|| format!("{name}: {}", input.display()))?;
    let solve_s = started.elapsed().as_secs_f64();
    let verdicts: Vec<(usize, Verdict)> = views.iter().map(|(s, _)| *s).zip(picked).collect();
    // Report per-view errors against the kept views' order.
    fit.views = realign(&fit, &kept, candidates.len());
    Ok(Solved {
        fit,
        input: input.to_path_buf(),
        shots,
        verdicts,
        find_s,
        solve_s,
    })
}

/// The lens fit's per-view errors, placed at each candidate's index (unused ones marked outliers
/// with no error).
fn realign(fit: &LensFit, kept: &[usize], candidates: usize) -> Vec<lens::ViewFit> {
    let mut out = vec![
        lens::ViewFit {
            rms: f64::NAN,
            outlier: false
        };
        candidates
    ];
    for (&i, v) in kept.iter().zip(&fit.views) {
        out[i] = *v;
    }
    out
}

/// Why a camera has too few views, in one line.
fn too_few(board: &Board, shots: &[Shot], picked: &[Verdict]) -> String {
    let found = shots.iter().filter(|s| s.found.is_ok()).count();
    if found == 0 {
        let partial = shots
            .iter()
            .filter(|s| matches!(s.found, Err(Miss::Partial { .. })))
            .count();
        let partly = if partial > 0 {
            format!(" ({partial} showed too little of it)")
        } else {
            String::new()
        };
        return format!(
            "no {board} board found in any of the {} pictures{partly}",
            shots.len()
        );
    }
    let kept = picked.iter().filter(|v| **v == Verdict::Kept).count();
    let blurred = picked
        .iter()
        .filter(|v| matches!(v, Verdict::Blurred { .. }))
        .count();
    let same = picked
        .iter()
        .filter(|v| matches!(v, Verdict::SameAs(_)))
        .count();
    format!(
        "{kept} usable views of the {board} board ({MIN_VIEWS} needed): of {} pictures, {found} showed it, \
         {blurred} of those blurred and {same} repeating another's pose; film the board at more places and angles",
        shots.len()
    )
}

fn camera_name(input: &Path) -> Result<String> {
    let stem = if input.is_dir() {
        input.file_name()
    } else {
        input.file_stem()
    };
    match stem.and_then(|s| s.to_str()) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => bail!("{}: cannot name a camera after it", input.display()),
    }
}

/// Searches every picture of a folder, or frames spread over a video: each shot's outcome, the views
/// (with their shot's index) and the pictures' size.
type Found = (Vec<Shot>, Vec<(usize, Candidate)>, [u32; 2]);

fn search(input: &Path, board: &Board, max_frames: u64) -> Result<Found> {
    let mut search = Search {
        board,
        shots: Vec::new(),
        views: Vec::new(),
        size: None,
    };
    if input.is_dir() {
        for path in pictures(input)? {
            let gray = image::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .to_luma8();
            let source = path.file_name().unwrap_or_default().to_string_lossy();
            search.look(source.into_owned(), &gray)?;
        }
    } else if has_image_extension(input) {
        bail!("give a folder of the camera's pictures (or a video), not one picture");
    } else {
        frames(input, max_frames, |source, gray| search.look(source, gray))?;
    }
    let size = search.size.map(|(s, _)| s).context("no pictures in it")?;
    Ok((search.shots, search.views, size))
}

struct Search<'a> {
    board: &'a Board,
    shots: Vec<Shot>,
    views: Vec<(usize, Candidate)>,
    size: Option<([u32; 2], String)>,
}

impl Search<'_> {
    fn look(&mut self, source: String, gray: &GrayImage) -> Result<()> {
        let size = [gray.width(), gray.height()];
        match &self.size {
            Some((first, first_source)) if *first != size => bail!(
                "{source} is {}×{} but {first_source} is {}×{}: one camera's pictures share one size",
                size[0],
                size[1],
                first[0],
                first[1]
            ),
            Some(_) => {}
            None => self.size = Some((size, source.clone())),
        }
        let found = board::find(self.board, gray);
        let sharpness = found.as_ref().map_or(0.0, |view| sharpness(gray, view));
        if let Ok(view) = &found {
            let candidate = Candidate {
                view: view.clone(),
                sharpness,
            };
            self.views.push((self.shots.len(), candidate));
        }
        self.shots.push(Shot {
            source,
            found: found.map(|v| v.len()),
            sharpness,
        });
        Ok(())
    }
}

/// A folder's pictures, by name.
fn pictures(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_image_extension(p))
        .collect();
    paths.sort();
    Ok(paths)
}

/// At most `max` frames spread evenly over a video (its luma plane is the grey picture).
fn frames(
    path: &Path,
    max: u64,
    mut look: impl FnMut(String, &GrayImage) -> Result<()>,
) -> Result<()> {
    let mut reader = VideoReader::open(path)?;
    let stride = reader
        .info()
        .frames
        .map_or(1, |n| n.div_ceil(max.max(1)).max(1));
    let mut looked = 0;
    while let Some(frame) = reader.next_frame()? {
        if looked >= max {
            break;
        }
        if frame.index % stride != 0 {
            continue;
        }
        let p = frame.picture;
        let gray = GrayImage::from_raw(p.width as u32, p.height as u32, p.y)
            .context("a frame's picture is not whole")?;
        look(format!("frame {}", frame.index), &gray)?;
        looked += 1;
    }
    Ok(())
}

fn print_camera(s: &Solved, board: &Board) {
    let c = &s.fit.camera;
    let k = &c.matrix;
    let found = s.shots.iter().filter(|x| x.found.is_ok()).count();
    let used = s
        .fit
        .views
        .iter()
        .filter(|v| v.rms.is_finite() && !v.outlier)
        .count();
    outln!(
        "{}: {} pictures, {found} with the {board} board, {used} used; {:.1} s finding corners, {:.2} s solving",
        c.name,
        s.shots.len(),
        s.find_s,
        s.solve_s
    );
    outln!(
        "  f {:.1}×{:.1} px  centre ({:.1}, {:.1}) px  lens [{}]  RMS {:.3} px",
        k[(0, 0)],
        k[(1, 1)],
        k[(0, 2)],
        k[(1, 2)],
        c.lens.coefficients_text(),
        s.fit.rms
    );
    for (i, shot) in s.shots.iter().enumerate() {
        outln!("    {:<28} {}", shot.source, fate(s, i));
    }
}

/// What became of shot `i`, in words.
fn fate(s: &Solved, i: usize) -> String {
    let shot = &s.shots[i];
    let corners = match &shot.found {
        Err(miss) => return format!("dropped: {miss}"),
        Ok(n) => *n,
    };
    let Some(c) = s.verdicts.iter().position(|(shot, _)| *shot == i) else {
        return format!("{corners} corners");
    };
    let fit = s.fit.views[c];
    match &s.verdicts[c].1 {
        Verdict::Kept if fit.outlier => {
            format!(
                "{corners} corners, dropped: {:.2} px, far above the others",
                fit.rms
            )
        }
        Verdict::Kept => format!("{corners} corners, {:.3} px", fit.rms),
        Verdict::Blurred { sharpness, median } => {
            format!("dropped: blurred (sharpness {sharpness:.3}, the pictures' median {median:.3})")
        }
        Verdict::SameAs(k) => format!(
            "dropped: the board where it is in {}",
            s.shots[s.verdicts[*k].0].source
        ),
        Verdict::Surplus => "dropped: more views than --max-views, and a pose like others".into(),
    }
}

fn report(board: &Board, solved: &[Solved]) -> Value {
    let cameras: Vec<Value> = solved
        .iter()
        .map(|s| {
            let c = &s.fit.camera;
            let k = &c.matrix;
            let shots: Vec<Value> = (0..s.shots.len())
                .map(|i| {
                    let shot = &s.shots[i];
                    let c = s.verdicts.iter().position(|(j, _)| *j == i);
                    let rms = c.map(|c| s.fit.views[c].rms).filter(|e| e.is_finite());
                    json!({
                        "source": shot.source,
                        "corners": shot.found.as_ref().ok(),
                        "sharpness": shot.sharpness,
                        "rms_px": rms,
                        "used": c.is_some_and(|c| s.verdicts[c].1 == Verdict::Kept && !s.fit.views[c].outlier),
                        "fate": fate(s, i),
                    })
                })
                .collect();
            json!({
                "name": c.name,
                "input": s.input,
                "size": c.size,
                "matrix": [[k[(0, 0)], k[(0, 1)], k[(0, 2)]], [k[(1, 0)], k[(1, 1)], k[(1, 2)]], [0.0, 0.0, 1.0]],
                "distortions": c.lens.coefficients(),
                "rms_px": s.fit.rms,
                "seconds": { "finding_corners": s.find_s, "solving": s.solve_s },
                "pictures": shots,
            })
        })
        .collect();
    json!({
        "board": { "cols": board.cols, "rows": board.rows, "square_m": board.square_m },
        "cameras": cameras,
    })
}
