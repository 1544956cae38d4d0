//! Runs side by side and runs that were killed: item locks, temporaries swept only once their run
//! is gone; and stills that get their IDs.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::fixture::{s, Fixture};
use crate::common::test_clip;

use super::{batch, exits, run, text};
use crate::common::{StderrLines, DEADLINE};

/// Staged temporaries in `dir` (posecam's `.NAME.XXXXXX.posecam…`).
fn staged(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with('.') && name.contains(".posecam") && name != ".posecam"
        })
        .collect();
    found.sort();
    found
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

#[test]
fn two_runs_of_a_shard_share_it_and_a_killed_runs_lock_and_files_do_not_outlive_it() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("in")).unwrap();
    test_clip(&f.path("in/long.mp4"), "320x240", 25, 20, true, &[]);
    let o = run(&f, &["plan", "in", "--out", "out", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = f.path("out");
    let mut first = batch(&f, &["run", "out"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the first run stages its outputs", || {
        staged(&out).len() == 3
    });
    // Held still, so the second run surely finds the item taken.
    signal(first.id(), libc::SIGSTOP);
    let held = staged(&out);
    let second = run(&f, &["run", "out"]);
    let all = exits(&second, 0, "the second run");
    assert!(
        all.contains("another `posecam batch run` is running it"),
        "{all}"
    );
    assert_eq!(staged(&out), held, "a live run's files are not swept");
    // Killed: its lock goes with it, and its files go with the next run into that folder.
    signal(first.id(), libc::SIGKILL);
    let _ = first.wait();
    assert_eq!(staged(&out), held, "kill -9 leaves the temporaries");
    std::fs::write(out.join(".notes.AbC123.txt"), b"mine").unwrap();
    let mut third = batch(&f, &["run", "out"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = StderrLines::follow(third.stderr.take().unwrap());
    let done = lines.wait_for(DEADLINE, |l| l.contains("long.mp4: done"));
    let status = third.wait().unwrap();
    let err = lines.finish();
    assert!(done && status.success(), "{err}");
    for path in &held {
        assert!(!path.exists(), "{} outlived its run: {err}", path.display());
    }
    assert!(
        err.contains("left by a posecam run that was killed"),
        "{err}"
    );
    assert!(staged(&out).is_empty(), "{:?}", staged(&out));
    assert!(out.join(".notes.AbC123.txt").exists() && out.join("long_pose.mp4").is_file());
}

#[test]
fn an_export_killed_with_sigkill_leaves_files_that_the_next_export_there_removes() {
    let f = Fixture::new();
    test_clip(&f.path("long.mp4"), "320x240", 25, 20, false, &[]);
    let mut export = f
        .command(&[
            "export",
            "long.mp4",
            "-o",
            "long_pose.mp4",
            "--json-dir",
            "frames",
            "--model",
            "{tiny}",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dir = f.dir.path().to_path_buf();
    let staged_folder = |d: &Path| {
        staged(d)
            .into_iter()
            .find(|p| p.is_dir() && std::fs::read_dir(p).is_ok_and(|mut e| e.next().is_some()))
    };
    wait_for("per-frame files are written", || {
        staged_folder(&dir).is_some()
    });
    signal(export.id(), libc::SIGKILL);
    let _ = export.wait();
    let left = staged(&dir);
    assert_eq!(left.len(), 2, "the video and the folder: {left:?}");
    let video = f.video();
    let o = f.run(&[
        "export",
        s(&video),
        "-o",
        "short_pose.mp4",
        "--model",
        "{tiny}",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(staged(&dir).is_empty(), "{:?}", staged(&dir));
    assert!(!f.path("frames").exists() && !f.path("long_pose.mp4").exists());
}

#[test]
fn people_in_stills_and_one_frame_clips_get_ids_in_tracks() {
    let Some(model) = crate::common::shared_model() else {
        return;
    };
    let Some(photo) = crate::common::shared("data/images/apink1.jpg") else {
        return;
    };
    let Some(street) = crate::common::shared("data/video/street-960x540-5f.mp4") else {
        return;
    };
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("in")).unwrap();
    std::fs::copy(&photo, f.path("in/photo.jpg")).unwrap();
    crate::common::ffmpeg(&[
        "-i",
        s(&street),
        "-frames:v",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        s(&f.path("in/one.mp4")),
    ]);
    let o = run(&f, &["plan", "in", "--out", "out", "--model", s(&model)]);
    assert!(o.status.success(), "{}", text(&o));
    exits(&run(&f, &["run", "out"]), 0, "run");
    for csv in ["out/photo.csv", "out/one.csv"] {
        let rows = std::fs::read_to_string(f.path(csv)).unwrap();
        let people: std::collections::BTreeSet<&str> = rows
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(2))
            .collect();
        assert!(!people.is_empty(), "{csv} has no tracked person: {rows}");
        assert!(
            people
                .iter()
                .all(|p| p.parse::<u64>().is_ok_and(|id| id >= 1)),
            "{people:?}"
        );
    }
    // Export alone, the same.
    let o = f.run(&[
        "export",
        "in/photo.jpg",
        "-o",
        "p.mp4",
        "--csv",
        "p.csv",
        "--model",
        s(&model),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read_to_string(f.path("p.csv"))
            .unwrap()
            .lines()
            .count()
            > 1
    );
}
