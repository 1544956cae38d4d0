//! Motion as data, against the field's own tools: SciPy's `filtfilt`, Pose2Sim's angle functions,
//! OpenSim's and the `c3d` package's readers (installed by the test command into .deps/pytools).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use posecam::motion::filter::butterworth;

use crate::common::{self, fixture::s};

/// The test command's Python with OpenSim, c3d, SciPy and Pose2Sim.
fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/pytools/bin/python");
    assert!(
        python.exists(),
        "{} is missing: ./posecam.sh test installs it (tests/python/requirements.txt)",
        python.display()
    );
    python
}

/// Runs a script of tests/python; its JSON lines.
fn script(name: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name);
    let o = Command::new(python())
        .arg(path)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

#[test]
fn the_butterworth_matches_scipys_filtfilt() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = posecam::testkit::maps::SplitMix64(5);
    let x: Vec<f64> = (0..400)
        .map(|i| 300.0 + 80.0 * (i as f64 / 9.0).sin() + 10.0 * f64::from(rng.unit()))
        .collect();
    let samples = dir.path().join("x.txt");
    std::fs::write(
        &samples,
        x.iter().map(|v| format!("{v:.17}\n")).collect::<String>(),
    )
    .unwrap();
    for (order, cutoff, rate) in [
        (4, 6.0, 30.0),
        (4, 3.0, 10.0),
        (2, 12.0, 60.0),
        (8, 5.0, 25.0),
    ] {
        let c = butterworth::design(order / 2, cutoff, rate).unwrap();
        let ours = butterworth::filtfilt(&c, &x).unwrap();
        let o = Command::new(python())
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/filtfilt.py"))
            .args([
                s(&samples),
                &order.to_string(),
                &cutoff.to_string(),
                &rate.to_string(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let theirs: Vec<f64> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        let range = theirs.iter().fold(f64::MIN, |a, b| a.max(*b))
            - theirs.iter().fold(f64::MAX, |a, b| a.min(*b));
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        eprintln!("order {order}, {cutoff} Hz at {rate} Hz: largest difference {worst:.2e} of a range of {range:.1}");
        assert!(
            worst <= 1e-6 * range,
            "order {order}: {worst} vs range {range}"
        );
    }
}

/// One export with motion files, of 28 s of the one-by-one clip where a person walks in whole.
struct Exported {
    _dir: tempfile::TempDir,
    motion: PathBuf,
    stem: &'static str,
}

fn exported() -> Option<&'static Exported> {
    static ONCE: OnceLock<Option<Exported>> = OnceLock::new();
    ONCE.get_or_init(|| {
        let model = common::shared_model()?;
        let clip = common::shared("data/video/one-by-one-person-768x432-10fps.mp4")?;
        let dir = tempfile::tempdir().unwrap();
        let slice = dir.path().join("walk.mp4");
        common::ffmpeg(&[
            "-ss",
            "92",
            "-t",
            "28",
            "-i",
            s(&clip),
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            s(&slice),
        ]);
        let motion = dir.path().join("motion");
        std::fs::create_dir(&motion).unwrap();
        let o = common::posecam(&[
            "export",
            s(&slice),
            "-o",
            s(&dir.path().join("out.mp4")),
            "--model",
            s(&model),
            "--motion",
            s(&motion),
            "--person-height",
            "1.75",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(Exported {
            _dir: dir,
            motion,
            stem: "walk",
        })
    })
    .as_ref()
}

impl Exported {
    fn file(&self, suffix: &str) -> PathBuf {
        self.motion.join(format!("{}{suffix}", self.stem))
    }

    /// Person IDs with a `.trc`, and how many rows (frames) each has in the motion table.
    fn people(&self) -> BTreeMap<u64, usize> {
        let mut frames: BTreeMap<u64, std::collections::BTreeSet<u64>> = BTreeMap::new();
        for row in csv_rows(&self.file("_motion.csv")) {
            frames
                .entry(row["person"].parse().unwrap())
                .or_default()
                .insert(row["frame"].parse().unwrap());
        }
        frames
            .into_iter()
            .map(|(id, f)| (id, (f.last().unwrap() - f.first().unwrap() + 1) as usize))
            .collect()
    }
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn every_angle_agrees_with_pose2sims_own_functions() {
    let Some(e) = exported() else { return };
    let out = &script(
        "pose2sim_angles.py",
        &[s(&e.file("_motion.csv")), s(&e.file("_angles.csv"))],
    )[0];
    eprintln!("Pose2Sim's fixed_angles on the same keypoints: {out}");
    assert!(out["compared"].as_u64().unwrap() > 1000, "{out}");
    assert!(out["max_diff_deg"].as_f64().unwrap() < 0.5, "{out}");
}

#[test]
fn opensim_and_a_c3d_reader_open_every_persons_files() {
    let Some(e) = exported() else { return };
    let people = e.people();
    assert!(!people.is_empty());
    let mut files = Vec::new();
    for id in people.keys() {
        for suffix in [".trc", "_angles.mot", ".c3d"] {
            files.push(e.file(&format!("_p{id}{suffix}")));
        }
        assert!(e.file(&format!("_p{id}_angles.png")).exists());
    }
    let args: Vec<&str> = files.iter().map(|f| s(f)).collect();
    let seen = script("read_motion_files.py", &args);
    assert_eq!(seen.len(), files.len());
    let markers = [
        "RHip",
        "RKnee",
        "RAnkle",
        "LHip",
        "LKnee",
        "LAnkle",
        "Nose",
        "RShoulder",
        "RElbow",
        "RWrist",
        "LShoulder",
        "LElbow",
        "LWrist",
    ];
    for (v, (id, frames)) in seen.chunks(3).zip(&people) {
        let (trc, mot, c3d) = (&v[0], &v[1], &v[2]);
        for table in [trc, mot, c3d] {
            assert_eq!(
                table["rows"].as_u64(),
                Some(*frames as u64),
                "person {id}: {table}"
            );
        }
        for table in [trc, c3d] {
            assert_eq!(table["columns"], serde_json::json!(markers), "person {id}");
            assert_eq!(table["units"], "m");
            assert!((table["rate"].as_f64().unwrap() - 10.0).abs() < 1e-3);
        }
        assert_eq!(trc["known_in_first_row"], c3d["known_in_first_row"]);
        assert_eq!(mot["in_degrees"], "yes");
        let columns: Vec<&str> = mot["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            columns.contains(&"right knee") && columns.contains(&"trunk"),
            "{columns:?}"
        );
    }
}

/// One person's points in metres, by frame and part.
type PointsOf = BTreeMap<(u64, String), (f64, f64)>;

/// The median of both thighs in metres, for the person seen most (the one the scale is measured on).
fn thigh_of_the_longest_seen(rows: &[BTreeMap<String, String>]) -> (u64, f64) {
    let mut by_person: BTreeMap<u64, PointsOf> = BTreeMap::new();
    for r in rows.iter().filter(|r| !r["x_m"].is_empty()) {
        let p = (r["x_m"].parse().unwrap(), r["y_m"].parse().unwrap());
        by_person
            .entry(r["person"].parse().unwrap())
            .or_default()
            .insert((r["frame"].parse().unwrap(), r["part"].clone()), p);
    }
    let (id, points) = by_person.into_iter().max_by_key(|(_, p)| p.len()).unwrap();
    let frames: std::collections::BTreeSet<u64> = points.keys().map(|k| k.0).collect();
    let mut thighs: Vec<f64> = frames
        .iter()
        .flat_map(|f| ["right", "left"].map(|side| (*f, side)))
        .filter_map(|(f, side)| {
            let a = points.get(&(f, format!("{side}_knee")))?;
            let b = points.get(&(f, format!("{side}_hip")))?;
            Some((a.0 - b.0).hypot(a.1 - b.1))
        })
        .collect();
    thighs.sort_by(f64::total_cmp);
    (id, thighs[thighs.len() / 2])
}

#[test]
fn a_persons_thigh_in_metres_is_a_quarter_of_their_height() {
    let Some(e) = exported() else { return };
    let (id, thigh) = thigh_of_the_longest_seen(&csv_rows(&e.file("_motion.csv")));
    let expected = 0.245 * 1.75;
    eprintln!("person {id}: median thigh {thigh:.3} m, Winter's ratio gives {expected:.3} m");
    assert!((thigh - expected).abs() <= 0.1 * expected, "{thigh}");
}

#[test]
fn bad_motion_options_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("in.mp4");
    std::fs::write(&video, b"not read").unwrap();
    let out = dir.path().join("o.mp4");
    let m = dir.path().join("m");
    for (extra, mentions) in [
        (vec!["--butterworth-order", "3"], "even"),
        (vec!["--savgol", "8,2"], "odd"),
        (vec!["--no-track"], "--no-track"),
        (vec!["--person-height", "17"], "person-height"),
    ] {
        let mut args = vec!["export", s(&video), "-o", s(&out), "--motion", s(&m)];
        args.extend(extra);
        let o = common::posecam(&args);
        common::assert_refused(&o, mentions);
        assert!(!m.exists() && !out.exists(), "nothing written");
    }
}

fn batch(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(common::posecam_bin())
        .arg("batch")
        .args(args)
        .current_dir(dir)
        .env_remove("POSECAM_MODEL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_batch_writes_motion_files_per_item_and_merge_joins_their_angles() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/two-walking-480x270.gif"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for folder in ["in/a", "in/b"] {
        std::fs::create_dir_all(tmp.path().join(folder)).unwrap();
        std::fs::copy(&clip, tmp.path().join(folder).join("walk.gif")).unwrap();
    }
    let ok = |o: &std::process::Output| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{text}");
        text
    };
    ok(&batch(
        tmp.path(),
        &[
            "plan",
            "in",
            "--out",
            "out",
            "--write",
            "csv,motion",
            "--model",
            s(&model),
            "--person-height",
            "1.8",
        ],
    ));
    ok(&batch(tmp.path(), &["run", "out"]));
    let folder = tmp.path().join("out/a/walk_motion");
    let names = names_in(&folder);
    for name in [
        "walk_angles.csv",
        "walk_motion.csv",
        "walk_p1.trc",
        "walk_p1.c3d",
        "walk_p1_angles.mot",
        "walk_p1_angles.png",
    ] {
        assert!(names.contains(&name.to_string()), "{name} in {names:?}");
    }
    ok(&batch(tmp.path(), &["merge", "out"]));
    let joined = csv_rows(&tmp.path().join("out/angles.csv"));
    let items: std::collections::BTreeSet<&str> =
        joined.iter().map(|r| r["item"].as_str()).collect();
    assert_eq!(items.len(), 2, "both items' angles");
    let one = csv_rows(&folder.join("walk_angles.csv"));
    assert_eq!(joined.len(), 2 * one.len(), "every row of each item, once");
    assert!(joined.iter().any(|r| r["angle"] == "right knee"));

    // A changed motion folder makes its item stale; the rerun replaces the folder whole, so a
    // file of an earlier run (here a stray one) does not linger beside the new files.
    std::fs::write(folder.join("walk_p99.trc"), b"old").unwrap();
    let status = batch(tmp.path(), &["status", "out", "--json"]);
    let counts: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(counts["counts"]["stale"], 1, "{counts}");
    ok(&batch(tmp.path(), &["run", "out"]));
    assert_eq!(names_in(&folder), names, "the folder as the run wrote it");
    let status = batch(tmp.path(), &["status", "out", "--json"]);
    let counts: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(counts["counts"]["done"], 2, "{counts}");
}
