//! `posecam batch`: plan, shards side by side, resume, failures with their exit codes, signals, merge,
//! and the deploy recipes' use of posecam's own constants.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::fixture::s;
use crate::common::{posecam_bin, shared, shared_model, test_clip, StderrLines, DEADLINE};
use posecam::batch::{EXIT_BAD_INPUT, EXIT_RETRY, EXIT_USAGE};

fn batch(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(posecam_bin());
    c.arg("batch")
        .args(args)
        .current_dir(dir)
        .env_remove("POSECAM_MODEL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    batch(dir, args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir` (files that vanish while it looks are left out).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` with its modification time (what a rerun must leave alone).
fn stamps(dir: &Path) -> BTreeMap<PathBuf, std::time::SystemTime> {
    files(dir)
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, t)
        })
        .collect()
}

/// Files a transaction left behind (staged temporaries carry `.posecam` in their names).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(".posecam")
        })
        .collect()
}

/// Three street clips (people in them) in a tree, a shorter clip with audio, and a broken "video".
fn street_inputs(root: &Path) -> Option<Vec<PathBuf>> {
    let street = shared("data/video/street-960x540-5f.mp4")?;
    let audio = shared("data/video/street-with-audio-50f.mp4")?;
    let mut made = Vec::new();
    for (i, rel) in ["a/one.mp4", "a/b/two.mp4", "three.mp4"].iter().enumerate() {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if i == 1 {
            crate::common::ffmpeg(&[
                "-i",
                s(&audio),
                "-frames:v",
                "12",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-c:a",
                "aac",
                s(&path),
            ]);
        } else {
            std::fs::copy(&street, &path).unwrap();
        }
        made.push(path);
    }
    std::fs::write(root.join("a/broken.mp4"), b"this is not a video at all").unwrap();
    Some(made)
}

#[test]
fn two_shards_side_by_side_give_what_export_gives_each_clip_and_reruns_redo_nothing() {
    let Some(model) = shared_model() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("videos");
    let Some(clips) = street_inputs(&root) else {
        return;
    };
    let out = tmp.path().join("poses");
    let o = run(
        tmp.path(),
        &["plan", "videos", "--out", "poses", "--model", s(&model)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    assert_eq!(manifest.lines().count(), 4, "{manifest}");
    // Planning again is idempotent.
    let again = run(
        tmp.path(),
        &["plan", "videos", "--out", "poses", "--model", s(&model)],
    );
    assert!(
        again.status.success() && text(&again).contains("unchanged"),
        "{}",
        text(&again)
    );

    let shards: Vec<_> = ["0/2", "1/2"]
        .iter()
        .map(|k| {
            batch(tmp.path(), &["run", "poses", "--shard", k])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<(Option<i32>, String)> = shards
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            (o.status.code(), text(&o))
        })
        .collect();
    // Sorted by path: a/b/two, a/broken, a/one, three; the broken one is item 1, shard 1.
    assert_eq!(codes[0].0, Some(0), "{}", codes[0].1);
    assert_eq!(codes[1].0, Some(EXIT_BAD_INPUT), "{}", codes[1].1);
    assert!(
        codes[1].1.contains("broken.mp4") && codes[1].1.contains("bad input"),
        "{}",
        codes[1].1
    );
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));
    each_clip_is_as_exported_alone(tmp.path(), &clips, &model);
    reruns_redo_only_what_is_not_done(tmp.path());
    merge_names_every_item_once(tmp.path());
}

/// Each clip's JSON lines are those of `posecam export` of that clip alone.
fn each_clip_is_as_exported_alone(tmp: &Path, clips: &[PathBuf], model: &Path) {
    let (root, out) = (tmp.join("videos"), tmp.join("poses"));
    for clip in clips {
        let rel = clip.strip_prefix(&root).unwrap();
        let alone = tmp.join("alone.jsonl");
        let o = crate::common::posecam(&[
            "export",
            s(clip),
            "-o",
            s(&tmp.join("alone.mp4")),
            "--json",
            s(&alone),
            "--model",
            s(model),
            "--overwrite",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let batch_jsonl = out.join(rel.with_extension("jsonl"));
        assert_eq!(
            std::fs::read_to_string(&batch_jsonl).unwrap(),
            std::fs::read_to_string(&alone).unwrap(),
            "{} differs from its export alone",
            rel.display()
        );
        assert!(out
            .join(rel.with_file_name(format!(
                "{}_pose.mp4",
                rel.file_stem().unwrap().to_string_lossy()
            )))
            .is_file());
    }
    // The clip with audio keeps it.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
            s(&out.join("a/b/two_pose.mp4")),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&probe.stdout).contains("audio"));
}

/// A second run of the clean shard redoes nothing; deleting one output redoes that item only.
fn reruns_redo_only_what_is_not_done(tmp: &Path) {
    let out = tmp.join("poses");
    let before = stamps(&out);
    let o = run(tmp, &["run", "poses", "--shard", "0/2"]);
    assert!(
        o.status.success() && text(&o).contains("nothing to do"),
        "{}",
        text(&o)
    );
    assert_eq!(stamps(&out), before);
    std::fs::remove_file(out.join("three.jsonl")).unwrap();
    let status = run(tmp, &["status", "poses", "--json"]);
    let counts: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(counts["counts"]["done"], 2, "{counts}");
    assert_eq!(counts["counts"]["stale"], 1, "{counts}");
    assert_eq!(counts["counts"]["failed"], 1, "{counts}");
    let o = run(tmp, &["run", "poses", "--shard", "1/2"]);
    assert_eq!(o.status.code(), Some(EXIT_BAD_INPUT), "{}", text(&o));
    let after = stamps(&out);
    for (path, time) in &before {
        let name = path.to_string_lossy();
        let redone = name.contains("three")
            || name.contains(&item_id(&out, "three.mp4"))
            || name.contains(&item_id(&out, "a/broken.mp4"));
        if !redone && after.contains_key(path) {
            assert_eq!(after[path], *time, "{name} was redone");
        }
    }
    assert!(out.join("three.jsonl").is_file());
}

/// Merge: every item once, the broken one named; non-zero while it is failed; idempotent.
fn merge_names_every_item_once(tmp: &Path) {
    let out = tmp.join("poses");
    let o = run(tmp, &["merge", "poses"]);
    assert_eq!(o.status.code(), Some(EXIT_BAD_INPUT), "{}", text(&o));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 5, "{summary}");
    let broken = summary.lines().find(|l| l.contains("broken.mp4")).unwrap();
    assert!(broken.contains(",failed,"), "{summary}");
    assert_eq!(summary.matches(",done,").count(), 3, "{summary}");
    let tracks = std::fs::read_to_string(out.join("tracks.csv")).unwrap();
    assert!(
        tracks.starts_with("item,frame,time,person,part"),
        "{tracks}"
    );
    assert!(
        tracks.lines().count() > 10,
        "the street clips have tracked people"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("resubmit.txt"))
            .unwrap()
            .trim(),
        "1"
    );
    // Idempotent: a second merge writes the same files.
    let first = std::fs::read(out.join("tracks.csv")).unwrap();
    let _ = run(tmp, &["merge", "poses"]);
    assert_eq!(std::fs::read(out.join("tracks.csv")).unwrap(), first);
}

fn item_id(out: &Path, relative_input_ending: &str) -> String {
    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.contains(relative_input_ending))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn plans_refuse_streams_collisions_outputs_in_the_way_and_other_plans() {
    let f = crate::common::fixture::Fixture::new();
    let dir = f.dir.path();
    std::fs::create_dir_all(dir.join("in")).unwrap();
    test_clip(&dir.join("in/c.mp4"), "96x64", 5, 1, false, &[]);
    let tiny = s(&f.tiny);
    let o = run(
        dir,
        &["plan", "rtsp://cam/1", "--out", "o", "--model", tiny],
    );
    crate::common::assert_refused(&o, "stream");
    std::fs::copy(dir.join("in/c.mp4"), dir.join("in/c.mkv")).unwrap();
    let o = run(dir, &["plan", "in", "--out", "o", "--model", tiny]);
    crate::common::assert_refused(&o, "would both write");
    assert!(!dir.join("o/plan.json").exists());
    std::fs::remove_file(dir.join("in/c.mkv")).unwrap();
    std::fs::create_dir_all(dir.join("o")).unwrap();
    std::fs::write(dir.join("o/c.jsonl"), b"mine").unwrap();
    let o = run(dir, &["plan", "in", "--out", "o", "--model", tiny]);
    crate::common::assert_refused(&o, "already exists");
    std::fs::remove_file(dir.join("o/c.jsonl")).unwrap();
    let o = run(
        dir,
        &[
            "plan",
            "in/*.mp4",
            "--out",
            "o",
            "--model",
            tiny,
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(dir, &["plan", "in", "--out", "o", "--model", tiny]);
    crate::common::assert_refused(&o, "different plan");
    let o = run(
        dir,
        &["plan", "in", "--out", "o", "--model", tiny, "--overwrite"],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(dir.join("list.txt"), "# inputs\nin/c.mp4\n\nmissing.mp4\n").unwrap();
    let o = run(dir, &["plan", "@list.txt", "--out", "p", "--model", tiny]);
    crate::common::assert_refused(&o, "missing.mp4");
    let o = run(dir, &["run", "nowhere"]);
    crate::common::assert_refused(&o, "batch plan");
    assert_eq!(
        o.status.code(),
        Some(EXIT_USAGE),
        "no plan: retrying will not help"
    );
}

#[test]
fn shard_auto_reads_the_array_task_and_says_what_it_looked_for() {
    let f = crate::common::fixture::Fixture::new();
    let dir = f.dir.path();
    std::fs::create_dir_all(dir.join("in")).unwrap();
    for name in ["a", "b", "c"] {
        test_clip(
            &dir.join(format!("in/{name}.mp4")),
            "96x64",
            5,
            1,
            false,
            &[],
        );
    }
    let o = run(dir, &["plan", "in", "--out", "o", "--model", s(&f.tiny)]);
    assert!(o.status.success(), "{}", text(&o));
    let vars = [
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
    ];
    let mut bare = batch(dir, &["run", "o", "--shard", "auto"]);
    for v in vars {
        bare.env_remove(v);
    }
    let o = bare.output().unwrap();
    for v in vars {
        assert!(text(&o).contains(v), "{}", text(&o));
    }
    // Kubernetes: index 1 of 2 runs item 1 (b) only.
    let o = batch(dir, &["run", "o", "--shard", "auto", "--shards", "2"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("o/b_pose.mp4").is_file());
    assert!(!dir.join("o/a_pose.mp4").exists() && !dir.join("o/c_pose.mp4").exists());
    // An item that cannot write its outputs is not a bad input: retrying may help.
    std::fs::write(dir.join("o/blocker"), b"").unwrap();
    std::fs::create_dir_all(dir.join("in/blocker")).unwrap();
    test_clip(&dir.join("in/blocker/d.mp4"), "96x64", 5, 1, false, &[]);
    let o = run(
        dir,
        &[
            "plan",
            "in",
            "--out",
            "o",
            "--model",
            s(&f.tiny),
            "--overwrite",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(dir, &["run", "o"]);
    assert_eq!(o.status.code(), Some(EXIT_RETRY), "{}", text(&o));
    assert!(text(&o).contains("may pass on a retry"), "{}", text(&o));
    assert!(dir.join("o/a_pose.mp4").is_file() && dir.join("o/c_pose.mp4").is_file());
}

#[test]
fn a_signal_in_the_middle_leaves_no_partial_file_and_the_rerun_completes_only_that_item() {
    let f = crate::common::fixture::Fixture::new();
    let dir = f.dir.path();
    std::fs::create_dir_all(dir.join("in")).unwrap();
    test_clip(&dir.join("in/a_short.mp4"), "96x64", 5, 1, false, &[]);
    test_clip(&dir.join("in/b_long.mp4"), "640x360", 30, 40, true, &[]);
    let o = run(dir, &["plan", "in", "--out", "o", "--model", s(&f.tiny)]);
    assert!(o.status.success(), "{}", text(&o));
    let mut child = batch(dir, &["run", "o"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = StderrLines::follow(child.stderr.take().unwrap());
    assert!(lines.wait_for(DEADLINE, |l| l.contains("a_short.mp4: done")));
    wait_for_staged(&dir.join("o"), 50_000);
    // SAFETY: kill sends a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let err = lines.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        leftovers(&dir.join("o")).is_empty(),
        "{:?}",
        leftovers(&dir.join("o"))
    );
    assert!(!dir.join("o/b_long_pose.mp4").exists() && !dir.join("o/b_long.jsonl").exists());
    let short = std::fs::metadata(dir.join("o/a_short_pose.mp4"))
        .unwrap()
        .modified()
        .unwrap();
    let o = run(dir, &["run", "o"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 of 2 items to run"), "{}", text(&o));
    assert!(dir.join("o/b_long_pose.mp4").is_file());
    let again = std::fs::metadata(dir.join("o/a_short_pose.mp4"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(short, again, "the finished item was redone");
}

/// Waits until a staged output under `dir` holds `bytes` (the item is well under way).
fn wait_for_staged(dir: &Path, bytes: u64) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while std::time::Instant::now() < deadline {
        let grown = leftovers(dir)
            .iter()
            .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() >= bytes));
        if grown {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the item never got going");
}

#[test]
fn deploy_recipes_use_posecams_exit_codes_and_the_fields_it_relies_on() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let job = std::fs::read_to_string(deploy.join("kubernetes/posecam-job.yaml")).unwrap();
    for field in [
        "completionMode: Indexed",
        "backoffLimitPerIndex:",
        "action: FailIndex",
        "restartPolicy: Never",
        "nvidia.com/gpu: 1",
        "persistentVolumeClaim:",
        "\"--shard\", \"auto\"",
    ] {
        assert!(job.contains(field), "posecam-job.yaml lacks {field}");
    }
    let values = job
        .split("action: FailIndex")
        .nth(1)
        .and_then(|rest| rest.split("values:").nth(1))
        .and_then(|v| v.lines().next())
        .unwrap();
    assert_eq!(
        values.trim(),
        format!("[{EXIT_USAGE}, {EXIT_BAD_INPUT}]"),
        "FailIndex must match EXIT_USAGE and EXIT_BAD_INPUT"
    );
    let number_after = |key: &str| -> usize {
        let line = job
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap();
        line.split(':').nth(1).unwrap().trim().parse().unwrap()
    };
    let shards: usize = job
        .split("\"--shards\", \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        number_after("completions:"),
        shards,
        "completions must equal --shards"
    );
    let aws: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("aws-batch/job-definition.json")).unwrap(),
    )
    .unwrap();
    let rules = aws["retryStrategy"]["evaluateOnExit"].as_array().unwrap();
    let action = |code: i32| {
        rules
            .iter()
            .find(|r| r["onExitCode"].as_str() == Some(code.to_string().as_str()))
            .map(|r| r["action"].as_str().unwrap().to_string())
    };
    assert_eq!(action(EXIT_BAD_INPUT).as_deref(), Some("EXIT"));
    assert_eq!(action(EXIT_USAGE).as_deref(), Some("EXIT"));
    assert_eq!(action(EXIT_RETRY).as_deref(), Some("RETRY"));
    let sbatch = std::fs::read_to_string(deploy.join("slurm/posecam-array.sbatch")).unwrap();
    for field in [
        "#SBATCH --array=",
        "#SBATCH --gres=gpu:1",
        "%A_%a",
        "#SBATCH --signal=B:TERM@",
        "exec ",
        "--shard auto",
    ] {
        assert!(sbatch.contains(field), "posecam-array.sbatch lacks {field}");
    }
    assert!(
        sbatch.contains(&format!("{EXIT_BAD_INPUT}"))
            && sbatch.contains(&format!("{EXIT_RETRY}"))
            && sbatch.contains(&format!("{EXIT_USAGE}:"))
    );
    let submit = std::fs::read_to_string(deploy.join("slurm/submit.sh")).unwrap();
    assert!(submit.contains("--dependency=\"afterany:"));
    assert!(submit.contains("%${parallel}"), "the array is throttled");
}
