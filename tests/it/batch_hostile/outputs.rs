//! Outputs whose changes are seen, outputs an earlier plan left, and every input file planned once
//! or named as skipped.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::Command;

use crate::common::fixture::Fixture;
use crate::common::test_clip;

use super::{exits, planned, run, text};

#[test]
fn a_changed_output_makes_its_item_stale_and_the_next_run_redoes_it() {
    let f = Fixture::new();
    planned(&f, &["a.mp4", "b.mp4"]);
    exits(&run(&f, &["run", "out"]), 0, "first run");
    let jsonl = f.path("out/a.jsonl");
    let whole = std::fs::read(&jsonl).unwrap();
    // Truncated: seen by size and time.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&jsonl)
        .unwrap()
        .set_len(10)
        .unwrap();
    let status = text(&run(&f, &["status", "out"]));
    assert!(
        status.contains("1 done") && status.contains("1 stale"),
        "{status}"
    );
    assert!(
        status.contains("a.jsonl changed since it was written"),
        "{status}"
    );
    let all = exits(&run(&f, &["run", "out"]), 0, "rerun");
    assert!(all.contains("1 of 2 items to run"), "{all}");
    assert_eq!(std::fs::read(&jsonl).unwrap(), whole);
    // One byte changed with its size and time kept: only --verify sees it.
    let modified = std::fs::metadata(&jsonl).unwrap().modified().unwrap();
    let mut bytes = whole.clone();
    bytes[0] ^= 0x20;
    std::fs::write(&jsonl, &bytes).unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&jsonl)
        .unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    assert!(text(&run(&f, &["status", "out"])).contains("2 done"));
    let verified = text(&run(&f, &["status", "out", "--verify"]));
    assert!(verified.contains("1 stale"), "{verified}");
}

#[test]
fn planning_again_with_fewer_outputs_names_the_old_ones_and_overwrite_removes_them() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("in")).unwrap();
    test_clip(&f.path("in/a.mp4"), "96x64", 5, 1, false, &[]);
    let plan = |write: &str, overwrite: bool| {
        let mut args = vec![
            "plan", "in", "--out", "out", "--model", "{tiny}", "--write", write,
        ];
        if overwrite {
            args.push("--overwrite");
        }
        run(&f, &args)
    };
    assert!(plan("video,jsonl", false).status.success());
    exits(&run(&f, &["run", "out"]), 0, "run");
    std::fs::write(f.path("out/notes.txt"), b"mine").unwrap();
    // The plan files lost, planned again with other outputs: the old ones are named.
    std::fs::remove_file(f.path("out/plan.json")).unwrap();
    std::fs::remove_file(f.path("out/manifest.jsonl")).unwrap();
    assert!(plan("csv", false).status.success());
    let status = text(&run(&f, &["status", "out"]));
    assert!(
        status.contains("no longer part of this one")
            && status.contains("a_pose.mp4")
            && status.contains("a.jsonl"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&f, &["status", "out", "--json"]).stdout).unwrap();
    assert_eq!(
        json["leftovers"].as_array().map(Vec::len),
        Some(2),
        "{json}"
    );
    let o = plan("csv", true);
    assert!(text(&o).contains("removed"), "{}", text(&o));
    assert!(!f.path("out/a_pose.mp4").exists() && !f.path("out/a.jsonl").exists());
    assert!(f.path("out/notes.txt").exists(), "a user's file stays");
    // Replanned straight away with fewer outputs and --overwrite: the same.
    exits(&run(&f, &["run", "out"]), 0, "csv run");
    let o = plan("jsonl", true);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!f.path("out/a.csv").exists());
}

#[test]
fn every_file_is_planned_once_by_its_real_path_and_what_is_left_out_is_named() {
    let f = Fixture::new();
    let dir = f.path("in");
    std::fs::create_dir_all(&dir).unwrap();
    test_clip(&dir.join("a.mp4"), "96x64", 5, 1, false, &[]);
    let latin1 = dir.join(OsString::from_vec(b"caf\xe9 \xff.mp4".to_vec()));
    std::fs::copy(dir.join("a.mp4"), &latin1).unwrap();
    std::os::unix::fs::symlink("a.mp4", dir.join("link.mp4")).unwrap();
    std::os::unix::fs::symlink("nowhere.mp4", dir.join("broken.mp4")).unwrap();
    std::fs::rename(f.path("fifo"), dir.join("pipe.mp4")).unwrap();
    // A file deeper than the system opens: 17 folders of 250 bytes, made one step at a time.
    let o = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg("import os, sys\nos.chdir(sys.argv[1])\nfor _ in range(17):\n    os.mkdir('d' * 250)\n    os.chdir('d' * 250)\nopen('deep.mp4', 'wb').close()")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&f, &["plan", "in", "--out", "out", "--model", "{tiny}"]);
    let all = text(&o);
    assert!(o.status.success(), "{all}");
    assert!(all.contains("planned 2 items"), "{all}");
    for (named, why) in [
        ("link.mp4", "the same file as"),
        ("broken.mp4", "a link to nothing"),
        ("pipe.mp4", "FIFO"),
        (&"d".repeat(250), "longer than the system opens"),
    ] {
        assert!(
            all.lines().any(|l| l.contains(named) && l.contains(why)),
            "{named} is named with '{why}': {all}"
        );
    }
    // A FIFO named on its own says what it is.
    let o = run(
        &f,
        &["plan", "in/pipe.mp4", "--out", "p", "--model", "{tiny}"],
    );
    assert!(
        !o.status.success() && text(&o).contains("FIFO"),
        "{}",
        text(&o)
    );
    // The name that is not UTF-8 goes through run, status and merge whole.
    exits(&run(&f, &["run", "out"]), 0, "run");
    let out = f.path("out");
    assert!(out
        .join(OsString::from_vec(b"caf\xe9 \xff_pose.mp4".to_vec()))
        .is_file());
    assert!(text(&run(&f, &["status", "out", "--json"])).contains("\"done\":2"));
    exits(&run(&f, &["merge", "out"]), 0, "merge");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 3, "{summary}");
}
