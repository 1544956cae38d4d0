//! The fourth hostile round, on `posecam batch`: numbers and shards that must not panic or be
//! retried forever, a batch folder that is a boundary (an edited manifest or plan is refused, no
//! output leads out of it, files that appeared after planning stay), outputs whose changes are seen,
//! every input file planned once or named as skipped, item locks between runs, and stills that get
//! their IDs. Each case builds its own files; the tiny model keeps the runs short.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::Digest;

use crate::common::fixture::{s, Fixture};
use crate::common::{test_clip, StderrLines, DEADLINE};
use posecam::batch::{EXIT_BAD_INPUT, EXIT_USAGE};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `posecam batch ARGS` in the fixture's folder, without the array engines' variables of the
/// machine running the tests.
fn batch(f: &Fixture, args: &[&str]) -> Command {
    let mut all = vec!["batch"];
    all.extend_from_slice(args);
    let mut c = f.command(&all);
    for v in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_STEP",
        "SLURM_ARRAY_TASK_COUNT",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
        "AWS_BATCH_JOB_ARRAY_SIZE",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(f: &Fixture, args: &[&str]) -> Output {
    batch(f, args).output().unwrap()
}

/// Fails unless `o` exited with `code`, with no panic.
fn exits(o: &Output, code: i32, case: &str) -> String {
    let all = text(o);
    assert!(!all.contains("panicked"), "{case}: panic: {all}");
    assert_eq!(o.status.code(), Some(code), "{case}: {all}");
    all
}

/// Short clips `names` in `in/` and a plan of them into `out/`.
fn planned(f: &Fixture, names: &[&str]) {
    std::fs::create_dir_all(f.path("in")).unwrap();
    for name in names {
        test_clip(&f.path(&format!("in/{name}")), "96x64", 5, 1, false, &[]);
    }
    let o = run(f, &["plan", "in", "--out", "out", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::common::hex(&sha2::Sha256::digest(bytes))
}

/// Rewrites the manifest with `edit`, and plan.json's record of it to match (as someone who knows
/// the format would).
fn edit_manifest(f: &Fixture, edit: impl Fn(&mut Vec<serde_json::Value>)) {
    let path = f.path("out/manifest.jsonl");
    let mut items: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    edit(&mut items);
    let text: String = items.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    let plan_path = f.path("out/plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    plan["manifest_sha256"] = sha256_hex(text.as_bytes()).into();
    std::fs::write(&plan_path, plan.to_string()).unwrap();
}

#[test]
fn numbers_shards_and_broken_plans_end_with_a_permanent_code_never_a_panic() {
    let f = Fixture::new();
    // No plan needed: the command line is wrong.
    for (case, args) in [
        ("merge --shards 0", vec!["merge", "out", "--shards", "0"]),
        (
            "run --shards 0",
            vec!["run", "out", "--shard", "auto", "--shards", "0"],
        ),
        ("run --threads 0", vec!["run", "out", "--threads", "0"]),
        (
            "run --infer-workers 0",
            vec!["run", "out", "--infer-workers", "0"],
        ),
        (
            "run --infer-workers 99999",
            vec!["run", "out", "--infer-workers", "99999"],
        ),
        ("--shard 5/3", vec!["run", "out", "--shard", "5/3"]),
        ("--shard -1/2", vec!["run", "out", "--shard", "-1/2"]),
        ("--shard 0/0", vec!["run", "out", "--shard", "0/0"]),
        ("--shard abc", vec!["run", "out", "--shard", "abc"]),
        (
            "--shards without auto",
            vec!["run", "out", "--shard", "0/3", "--shards", "3"],
        ),
        ("no plan", vec!["run", "out"]),
        ("no plan (status)", vec!["status", "out"]),
        ("no plan (merge)", vec!["merge", "out"]),
    ] {
        exits(&run(&f, &args), EXIT_USAGE, case);
    }
    for (case, vars, shards) in [
        (
            "SLURM_ARRAY_TASK_ID=abc",
            vec![("SLURM_ARRAY_TASK_ID", "abc")],
            None,
        ),
        (
            "a Slurm task off the array's step",
            vec![
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "6"),
            ],
            None,
        ),
        (
            "AWS_BATCH_JOB_ARRAY_INDEX=x",
            vec![
                ("AWS_BATCH_JOB_ARRAY_INDEX", "x"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
            ],
            None,
        ),
        (
            "JOB_COMPLETION_INDEX=7 of 2",
            vec![("JOB_COMPLETION_INDEX", "7")],
            Some("2"),
        ),
        (
            "JOB_COMPLETION_INDEX=-1",
            vec![("JOB_COMPLETION_INDEX", "-1")],
            Some("2"),
        ),
    ] {
        let mut args = vec!["run", "out", "--shard", "auto"];
        if let Some(n) = shards {
            args.extend(["--shards", n]);
        }
        let o = batch(&f, &args).envs(vars).output().unwrap();
        exits(&o, EXIT_USAGE, case);
    }
    // A damaged manifest: the line is named, and every command refuses it for good.
    planned(&f, &["a.mp4", "b.mp4", "c.mp4"]);
    let manifest = f.path("out/manifest.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    std::fs::write(
        &manifest,
        format!("{}\n{}\n{{garbage\n", lines[0], lines[1]),
    )
    .unwrap();
    for command in ["run", "status", "merge"] {
        let all = exits(&run(&f, &[command, "out"]), EXIT_USAGE, command);
        assert!(all.contains("line 3"), "{command}: the damaged line: {all}");
    }
    // Planning again over it needs --overwrite, and then works.
    let o = run(&f, &["plan", "in", "--out", "out", "--model", "{tiny}"]);
    assert!(
        !o.status.success() && text(&o).contains("--overwrite"),
        "{}",
        text(&o)
    );
    let o = run(
        &f,
        &[
            "plan",
            "in",
            "--out",
            "out",
            "--model",
            "{tiny}",
            "--overwrite",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // A model that is not ONNX.
    std::fs::write(f.path("fake.onnx"), b"not a model").unwrap();
    let o = run(&f, &["plan", "in", "--out", "fake", "--model", "fake.onnx"]);
    assert!(o.status.success(), "{}", text(&o));
    exits(
        &run(&f, &["run", "fake"]),
        EXIT_USAGE,
        "a model that is not ONNX",
    );
}

#[test]
fn slurm_array_steps_give_each_task_its_own_shard() {
    let f = Fixture::new();
    planned(&f, &["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4", "f.mp4"]);
    // --array=0-10:2: six tasks, each runs one item.
    for (task, shard) in [("0", 0), ("2", 1), ("4", 2), ("6", 3), ("8", 4), ("10", 5)] {
        let o = batch(&f, &["run", "out", "--shard", "auto"])
            .envs([
                ("SLURM_ARRAY_TASK_ID", task),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "6"),
            ])
            .output()
            .unwrap();
        let all = exits(&o, 0, task);
        assert!(
            all.contains(&format!("batch {shard}/6: 1 of 1 items")),
            "task {task}: {all}"
        );
    }
    let status = run(&f, &["status", "out"]);
    assert!(
        text(&status).contains("6 items: 6 done"),
        "{}",
        text(&status)
    );
}

#[test]
fn a_deleted_input_is_a_bad_input_to_run_status_and_merge_alike() {
    let f = Fixture::new();
    planned(&f, &["a.mp4", "b.mp4"]);
    std::fs::remove_file(f.path("in/b.mp4")).unwrap();
    exits(&run(&f, &["run", "out"]), EXIT_BAD_INPUT, "run");
    let all = exits(
        &run(&f, &["merge", "out"]),
        EXIT_BAD_INPUT,
        "merge after run",
    );
    assert!(all.contains("1 done, 1 failed"), "{all}");
    let status = text(&run(&f, &["status", "out"]));
    assert!(status.contains("b.mp4: the input is missing"), "{status}");
    // Gone before any run: merge says what run would.
    let o = run(
        &f,
        &["plan", "in/a.mp4", "--out", "alone", "--model", "{tiny}"],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::remove_file(f.path("in/a.mp4")).unwrap();
    exits(
        &run(&f, &["merge", "alone"]),
        EXIT_BAD_INPUT,
        "merge before run",
    );
    exits(
        &run(&f, &["run", "alone"]),
        EXIT_BAD_INPUT,
        "run after merge",
    );
}

#[test]
fn an_edited_manifest_or_plan_is_refused_and_nothing_leads_out_of_the_folder() {
    let f = Fixture::new();
    planned(&f, &["a.mp4", "b.mp4"]);
    // Edited by hand without its hash: refused.
    let manifest = f.path("out/manifest.jsonl");
    let original = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        original.replace("a_pose.mp4", "../../escape_pose.mp4"),
    )
    .unwrap();
    let all = exits(&run(&f, &["run", "out"]), EXIT_USAGE, "edited manifest");
    assert!(all.contains("sha256"), "{all}");
    std::fs::write(&manifest, &original).unwrap();
    // Edited with its hash: every path must still stay inside, every id be one.
    let outside = f.dir.path().parent().unwrap().join("escape_pose.mp4");
    for (case, output) in [
        ("parent", "../../escape_pose.mp4".to_string()),
        ("absolute", s(&outside).to_string()),
        ("down and up", "a/../../escape_pose.mp4".to_string()),
        ("into the records", ".posecam/records/x.json".to_string()),
        ("over the plan", "plan.json".to_string()),
        ("empty", String::new()),
    ] {
        edit_manifest(&f, |items| {
            items[0]["outputs"]["video"] = output.clone().into()
        });
        let all = exits(&run(&f, &["run", "out"]), EXIT_USAGE, case);
        assert!(all.contains("not inside the batch folder"), "{case}: {all}");
        std::fs::write(&manifest, &original).unwrap();
    }
    type Edit = fn(&mut Vec<serde_json::Value>);
    let cases: [(&str, Edit, &str); 3] = [
        (
            "same id",
            |items| items[1]["id"] = items[0]["id"].clone(),
            "twice",
        ),
        (
            "bad id",
            |items| items[1]["id"] = "../../../x".into(),
            "not an item id",
        ),
        (
            "one output twice",
            |items| items[1]["outputs"]["jsonl"] = items[0]["outputs"]["jsonl"].clone(),
            "named twice",
        ),
    ];
    for (case, edit, says) in cases {
        edit_manifest(&f, edit);
        let all = exits(&run(&f, &["run", "out"]), EXIT_USAGE, case);
        assert!(all.contains(says), "{case}: {all}");
        std::fs::write(&manifest, &original).unwrap();
    }
    edit_manifest(&f, |_| {});
    // plan.json: its options against its hash.
    let plan_path = f.path("out/plan.json");
    let plan_text = std::fs::read_to_string(&plan_path).unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&plan_text).unwrap();
    plan["options"]["crf"] = 40.into();
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    assert!(exits(&run(&f, &["run", "out"]), EXIT_USAGE, "crf").contains("options_hash"));
    plan["options_hash"] = "0123456789abcdef".into();
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    exits(&run(&f, &["run", "out"]), EXIT_USAGE, "crf and hash");
    std::fs::write(&plan_path, &plan_text).unwrap();
    assert!(!outside.exists() && !f.path("escape_pose.mp4").exists());
    // A folder inside the batch folder that links out: the item is refused, nothing is written.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(f.path("in2/sub")).unwrap();
    test_clip(&f.path("in2/sub/c.mp4"), "96x64", 5, 1, false, &[]);
    let o = run(&f, &["plan", "in2", "--out", "out2", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
    std::os::unix::fs::symlink(elsewhere.path(), f.path("out2/sub")).unwrap();
    let all = exits(
        &run(&f, &["run", "out2"]),
        EXIT_BAD_INPUT,
        "a linked folder",
    );
    assert!(all.contains("leads out of the batch folder"), "{all}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn files_that_appear_after_planning_are_left_alone_unless_planned_with_overwrite() {
    let f = Fixture::new();
    planned(&f, &["a.mp4"]);
    std::fs::write(f.path("out/a.jsonl"), b"mine").unwrap();
    let all = exits(
        &run(&f, &["run", "out"]),
        EXIT_BAD_INPUT,
        "a file in the way",
    );
    assert!(all.contains("this batch did not write it"), "{all}");
    assert_eq!(std::fs::read(f.path("out/a.jsonl")).unwrap(), b"mine");
    assert!(
        !f.path("out/a_pose.mp4").exists(),
        "all of the item or none"
    );
    let o = run(
        &f,
        &[
            "plan",
            "in",
            "--out",
            "out",
            "--model",
            "{tiny}",
            "--overwrite",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    exits(&run(&f, &["run", "out"]), 0, "planned with --overwrite");
    assert_ne!(std::fs::read(f.path("out/a.jsonl")).unwrap(), b"mine");
    // posecam's own outputs are replaced by a forced run without --overwrite.
    let o = run(&f, &["plan", "in", "--out", "fresh", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
    exits(&run(&f, &["run", "fresh"]), 0, "first run");
    exits(&run(&f, &["run", "fresh", "--force"]), 0, "forced run");
}

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
