//! Several calibrated views: calibrations read, converted and refused; the shared 4-camera demo in
//! 3D, its files opened by OpenSim's and the `c3d` package's readers.

use std::path::{Path, PathBuf};
use std::process::Command;

use nalgebra::{Rotation3, Vector3};
use posecam::multiview::calib::{read, to_pose2sim_toml, Metadata};
use posecam::multiview::Lens;

use crate::common::{self, assert_refused, fixture::s};

const DEMO: &str = "data/multiview/pose2sim-demo-multiperson";

fn demo(name: &str) -> Option<PathBuf> {
    common::shared(&format!("{DEMO}/{name}"))
}

#[test]
fn qualisys_converts_as_pose2sim_does_except_the_distortion_and_round_trips() {
    let (Some(qca), Some(theirs)) = (demo("Calib.qca.txt"), demo("Calib_pose2sim.toml")) else {
        return;
    };
    let (ours, _) = read(&qca).expect("qca");
    let (p2s, _) = read(&theirs).expect("Pose2Sim's toml");
    assert_eq!(ours.len(), 4);
    for (a, b) in ours.cameras.iter().zip(&p2s.cameras) {
        assert_eq!((a.name.as_str(), a.size), (b.name.as_str(), b.size));
        assert!((a.matrix - b.matrix).abs().max() < 1e-6, "{}: K", a.name);
        assert!(a.rotation.angle_to(&b.rotation) < 1e-7, "{}: R", a.name);
        assert!(
            (a.translation - b.translation).norm() < 1e-7,
            "{}: t",
            a.name
        );
        // Pose2Sim divides the distortion by 64 as well; posecam keeps it as written.
        let (da, db) = (a.lens.coefficients(), b.lens.coefficients());
        for (x, y) in da.iter().zip(&db) {
            assert!(
                (x - 64.0 * y).abs() < 1e-6,
                "{}: {da:?} vs 64 × {db:?}",
                a.name
            );
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (one, two) = (dir.path().join("Calib.toml"), dir.path().join("again.toml"));
    let o = common::posecam(&["calib", "convert", s(&qca), s(&one)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_refused(
        &common::posecam(&["calib", "convert", s(&qca), s(&one)]),
        "exists",
    );
    let o = common::posecam(&["calib", "convert", s(&one), s(&two)]);
    assert!(o.status.success());
    // Rodrigues vectors printed in full: every value comes back to the last bits or so.
    let (back, again) = (read(&one).expect("written").0, read(&two).expect("again").0);
    for (a, b, c) in itertools3(&back.cameras, &ours.cameras, &again.cameras) {
        for other in [b, c] {
            let dr = (a.rotation.matrix() - other.rotation.matrix()).abs().max();
            let dt = (a.translation - other.translation).abs().max();
            assert!(dr < 1e-12 && dt < 1e-12, "{}: {dr} {dt}", a.name);
            assert_eq!(
                (a.matrix, a.lens, a.size),
                (other.matrix, other.lens, other.size)
            );
        }
    }
}

fn itertools3<'a, T>(
    a: &'a [T],
    b: &'a [T],
    c: &'a [T],
) -> impl Iterator<Item = (&'a T, &'a T, &'a T)> {
    assert!(a.len() == b.len() && b.len() == c.len());
    a.iter().zip(b).zip(c).map(|((x, y), z)| (x, y, z))
}

#[test]
fn aniposelib_files_with_five_terms_and_integer_sizes_are_read() {
    let Some(theirs) = demo("Calib_pose2sim.toml") else {
        return;
    };
    let (mut rig, _) = read(&theirs).expect("toml");
    rig.cameras[0].lens = Lens::Standard {
        k: [-0.05, 0.14, 0.02],
        p: [0.001, -0.001],
    };
    let text = to_pose2sim_toml(&rig.cameras, &Metadata::default())
        .replace("size = [ 1088.0, 1920.0]", "size = [ 1088, 1920,]")
        .replace("fisheye = false\n", "");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("calibration.toml");
    std::fs::write(&path, text).expect("write");
    let (back, _) = read(&path).expect("aniposelib layout");
    assert_eq!(
        back.cameras[0].lens.coefficients(),
        vec![-0.05, 0.14, 0.001, -0.001, 0.02]
    );
    assert_eq!(back.cameras[3].size, [1088, 1920]);
}

#[test]
fn calib_show_lists_cameras_and_baselines_and_draws_the_rig() {
    let Some(qca) = demo("Calib.qca.txt") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("rig.png");
    let o = common::posecam(&["calib", "show", s(&qca), "--picture", s(&png)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("4 cameras (Qualisys .qca.txt)"), "{out}");
    // cam01 at (1.460, -1.909), cam02 at (2.582, 0.707): 2.854 m apart (the file's mm, in 3D).
    assert!(out.contains("cam01 – cam02: 2.854 m"), "{out}");
    assert!(out.contains("at (1.460, -1.909, 1.897) m"), "{out}");
    let bytes = std::fs::read(&png).expect("picture");
    assert_eq!(&bytes[1..4], b"PNG");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "no temporary left"
    );
}

fn write_rig(dir: &Path, name: &str, edit: impl FnOnce(&mut posecam::multiview::Rig)) -> PathBuf {
    let qca = demo("Calib.qca.txt").expect("shared");
    let (mut rig, _) = read(&qca).expect("qca");
    edit(&mut rig);
    let path = dir.join(name);
    std::fs::write(&path, to_pose2sim_toml(&rig.cameras, &Metadata::default())).expect("write");
    path
}

#[test]
fn each_bad_calibration_gets_its_one_line_error() {
    let (Some(_), Some(model), Some(cam1)) = (
        demo("Calib.qca.txt"),
        common::shared_model(),
        demo("cam01.mp4"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    // A camera turned round: its pose read the wrong way.
    let away = write_rig(dir.path(), "away.toml", |rig| {
        let flip = Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::PI);
        rig.cameras[2].rotation = flip * rig.cameras[2].rotation;
        rig.cameras[2].translation = flip * rig.cameras[2].translation;
    });
    assert_refused(
        &common::posecam(&["calib", "show", s(&away)]),
        "camera cam03 faces away from the scene",
    );
    let good = write_rig(dir.path(), "good.toml", |_| {});
    let text = std::fs::read_to_string(&good).expect("read");
    let start = text.find("rotation = [").expect("rotation");
    let end = start + text[start..].find('\n').expect("line");
    let scaled = format!(
        "{}rotation = [ [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]{}",
        &text[..start],
        &text[end..]
    );
    let bad = dir.path().join("scaled.toml");
    std::fs::write(&bad, scaled).expect("write");
    assert_refused(
        &common::posecam(&["calib", "show", s(&bad)]),
        "is not a rotation",
    );
    let out = dir.path().join("out");
    let export = |views: &[&Path], calib: &Path| {
        let mut args = vec!["export"];
        args.extend(views.iter().map(|v| s(v)));
        args.extend(["--calib", s(calib), "-o", s(&out), "--model", s(&model)]);
        common::posecam(&args)
    };
    assert_refused(
        &export(&[&cam1, &cam1, &cam1], &good),
        "4 cameras but 3 views were given",
    );
    let small = dir.path().join("small.mp4");
    common::ffmpeg(&[
        "-i",
        s(&cam1),
        "-vf",
        "scale=544:960",
        "-frames:v",
        "5",
        s(&small),
    ]);
    assert_refused(
        &export(&[&cam1, &cam1, &small, &cam1], &good),
        "view 3 is 544×960 but camera cam03 was calibrated at 1088×1920",
    );
    assert_refused(
        &common::posecam(&[
            "export",
            s(&cam1),
            s(&cam1),
            "-o",
            s(&out),
            "--model",
            s(&model),
        ]),
        "needs their calibration (--calib FILE)",
    );
    let o = common::posecam(&[
        "export",
        s(&cam1),
        s(&cam1),
        s(&cam1),
        s(&cam1),
        "--calib",
        s(&good),
        "--offsets",
        "0,1",
        "-o",
        s(&out),
        "--model",
        s(&model),
    ]);
    assert_refused(&o, "--offsets has 2 values for 4 views");
    // A single view's outputs are refused, not ignored.
    let four = [s(&cam1); 4];
    for (flag, value) in [("--csv", "t.csv"), ("--json", "t.jsonl"), ("--motion", "m")] {
        let mut args = vec!["export"];
        args.extend(four);
        args.extend(["--calib", s(&good), "-o", s(&out), flag, value]);
        assert_refused(&common::posecam(&args), &format!("{flag} is for one view"));
    }
    // Two views of one name would write one video (and one OpenPose folder) for both.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    let twin = other.join("cam01.mp4");
    std::fs::copy(&cam1, &twin).expect("copy");
    assert_refused(
        &export(&[&cam1, &twin, &cam1, &cam1], &good),
        "views 1 and 2 are both named \"cam01\"",
    );
    let mut args = vec!["export"];
    args.extend(four);
    args.extend(["--calib", s(&good), "-o", s(&out), "--json-dir", s(&good)]);
    assert_refused(&common::posecam(&args), "is a file, not a folder");
    assert!(!out.exists(), "nothing written");
}

/// The test command's Python with OpenSim and c3d.
fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/pytools/bin/python")
}

#[test]
fn the_demo_in_3d_every_joint_from_two_agreeing_views_and_files_opensim_reads() {
    let (Some(calib), Some(model)) = (demo("Calib.qca.txt"), common::shared_model()) else {
        return;
    };
    let mut views: Vec<PathBuf> = (1..=4)
        .filter_map(|i| demo(&format!("cam0{i}.mp4")))
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    // cam02 starts 6 frames late: --sync epipolar has to find it.
    let late = dir.path().join("cam02.mp4");
    let trim = "trim=start_frame=6,setpts=PTS-STARTPTS";
    common::ffmpeg(&["-i", s(&views[1]), "-vf", trim, "-an", s(&late)]);
    views[1] = late;
    let out = dir.path().join("out");
    let mut args = vec!["export"];
    args.extend(views.iter().map(|v| s(v)));
    args.extend([
        "--calib",
        s(&calib),
        "-o",
        s(&out),
        "--model",
        s(&model),
        "--net-height",
        "656",
        "--stats",
        "--fill-3d-gaps",
        "3",
        "--sync",
        "epipolar",
    ]);
    let o = common::posecam(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let stats: serde_json::Value =
        serde_json::from_slice(o.stdout.trim_ascii()).expect("stats JSON");
    assert_eq!(
        stats["frames_per_view"],
        serde_json::json!([100, 94, 100, 100])
    );
    let found = stats["found_offsets"][1]["frames"]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!(
        (found - 6.0).abs() <= 1.0,
        "cam02 found {found} frames late: {err}"
    );
    let people = stats["summary"]["people"]
        .as_array()
        .expect("people")
        .clone();
    let steady = people
        .iter()
        .find(|p| p["frames"].as_u64() >= Some(95))
        .unwrap_or_else(|| panic!("someone followed throughout: {err}"));
    assert!(
        steady["limbs_within_20pct"].as_f64() > Some(0.8),
        "{steady}"
    );
    assert!(
        steady["bones_within_20pct"].as_f64() > Some(0.85),
        "{steady}"
    );
    assert!(
        stats["summary"]["median_reprojection_px"].as_f64() < Some(8.0),
        "{err}"
    );
    // Every joint measured comes from two views or more that agree within the limit; filled ones
    // are flagged and have no views.
    let jsonl = std::fs::read_to_string(out.join("scene_3d.jsonl")).expect("jsonl");
    assert_eq!(jsonl.lines().count(), 100);
    let (mut measured, mut filled) = (0, 0);
    for line in jsonl.lines() {
        let set: serde_json::Value = serde_json::from_str(line).expect("line");
        for p in set["people"].as_array().expect("people") {
            for j in p["joints"].as_object().expect("joints").values() {
                if j["filled"] == true {
                    filled += 1;
                    assert!(j["views"].as_array().is_some_and(Vec::is_empty));
                    continue;
                }
                measured += 1;
                assert!(j["views"].as_array().is_some_and(|v| v.len() >= 2), "{j}");
                assert!(j["error_px"].as_f64() <= Some(15.0), "{j}");
            }
        }
    }
    assert!(measured > 1000, "{measured} joints");
    assert_eq!(
        Some(filled),
        stats["filled_joints"].as_u64().map(|f| f as i32)
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for cam in ["cam01", "cam02", "cam03", "cam04"] {
        assert!(files.contains(&format!("scene_{cam}.mp4")), "{files:?}");
    }
    assert!(
        files.iter().all(|f| f.starts_with("scene_")),
        "no temporary left: {files:?}"
    );
    let readable: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".trc") || f.ends_with(".c3d"))
        .map(|f| s(&out.join(f)).to_string())
        .collect();
    assert_eq!(readable.len(), 2 * people.len());
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_motion_files.py");
    let o = Command::new(python())
        .arg(script)
        .args(&readable)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let seen: serde_json::Value = serde_json::from_str(line).expect("reader JSON");
        assert_eq!(seen["units"], "m", "{seen}");
        assert_eq!(
            seen["columns"][0], "RHip",
            "Pose2Sim's COCO-17 markers: {seen}"
        );
        assert!(
            (seen["rate"].as_f64().unwrap_or(0.0) - 60.0).abs() < 0.1,
            "{seen}"
        );
    }
}

/// Pose2Sim's own association and triangulation, run on the 2D posecam wrote with `--json-dir` (at
/// the default net size): the same people within 5 cm, and posecam's reprojection no worse.
#[test]
fn beside_pose2sim_on_the_same_2d_the_same_people_within_5_cm_and_closer_to_the_views() {
    let (Some(calib), Some(model)) = (demo("Calib.qca.txt"), common::shared_model()) else {
        return;
    };
    let views: Vec<PathBuf> = (1..=4)
        .filter_map(|i| demo(&format!("cam0{i}.mp4")))
        .collect();
    let dir = tempfile::tempdir().expect("tmp");
    let project = dir.path().join("trial");
    for sub in ["pose", "calibration"] {
        std::fs::create_dir_all(project.join(sub)).expect("mkdir");
    }
    let converted = project.join("calibration/Calib_posecam.toml");
    let o = common::posecam(&["calib", "convert", s(&calib), s(&converted)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    let mut args = vec!["export"];
    args.extend(views.iter().map(|v| s(v)));
    let pose = project.join("pose");
    args.extend(["--calib", s(&calib), "-o", s(&out), "--model", s(&model)]);
    args.extend(["--json-dir", s(&pose), "--no-view-videos"]);
    let o = common::posecam(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for cam in ["cam01", "cam02", "cam03", "cam04"] {
        let files = std::fs::read_dir(pose.join(format!("{cam}_json")))
            .expect("a folder per view")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with("_keypoints.json"))
            .count();
        assert_eq!(files, 100, "{cam}");
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/pose2sim_triangulate.py");
    let o = Command::new(python())
        .arg(script)
        .arg(&project)
        .arg(&out)
        .output()
        .expect("python");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let r: serde_json::Value = serde_json::from_slice(o.stdout.trim_ascii()).expect("JSON");
    eprintln!("beside Pose2Sim: {r}");
    let (ours, theirs) = (
        r["posecam"]["median_px"].as_f64().unwrap_or(f64::NAN),
        r["pose2sim"]["median_px"].as_f64().unwrap_or(f64::NAN),
    );
    assert!(
        ours <= theirs,
        "median reprojection {ours:.2} px, Pose2Sim's {theirs:.2} px"
    );
    let main: Vec<&serde_json::Value> = r["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter(|m| m["joints"].as_u64() >= Some(400))
        .collect();
    assert!(main.len() >= 2, "both main people in both: {r}");
    for m in main {
        assert!(m["median_m"].as_f64() <= Some(0.05), "{m}");
    }
}

/// `bench --scene` on two small calibrated views: the pipeline figures, and the 3D stages on five
/// synthetic people, who must all be found.
#[test]
fn bench_scene_compares_views_together_and_alone_and_times_the_3d_stages() {
    let f = common::fixture::Fixture::new();
    let rig = posecam::multiview::synthetic::ring(2, Lens::NONE);
    let mut cameras = rig.cameras.clone();
    for c in &mut cameras {
        c.size = [160, 288];
    }
    let rig = posecam::multiview::Rig::new(cameras).expect("rig");
    let calib = f.path("rig.toml");
    std::fs::write(&calib, to_pose2sim_toml(&rig.cameras, &Metadata::default())).expect("write");
    let (a, b) = (f.path("a.mp4"), f.path("b.mp4"));
    for (v, hue) in [(&a, "0"), (&b, "90")] {
        let src = "testsrc2=size=160x288:rate=10:duration=1";
        common::ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            src,
            "-vf",
            &format!("hue=h={hue}"),
            s(v),
        ]);
    }
    let mut c = f.command(&[
        "bench",
        "--scene",
        "--model",
        "{tiny}",
        "--net-height",
        "64",
    ]);
    c.arg("--scene-views")
        .arg(&a)
        .arg(&b)
        .arg("--calib")
        .arg(&calib);
    let o = c.output().expect("run");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = out.lines().last().expect("figures");
    let r: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert_eq!(r["views"], 2);
    assert_eq!(r["frames"], 20);
    assert!(r["together_to_alone"].as_f64() > Some(0.0), "{r}");
    let synthetic = &r["stages_synthetic_5_people"];
    assert_eq!(synthetic["ids"], 5, "{r}");
    assert_eq!(synthetic["frame_sets"], 100, "{r}");
    assert!(out.contains("all views in one pipeline"), "{out}");
}
