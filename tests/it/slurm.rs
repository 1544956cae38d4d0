//! `posecam batch` on a real one-node Slurm cluster, submitted with the README's recipe
//! (`deploy/slurm/submit.sh`): a 4-task array over generated clips with one broken on purpose, the
//! merge as an `afterany` job, a resubmission of the failed index only, and a `scancel` in the middle
//! of an item.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::common::fixture::s;
use crate::common::slurm::{unavailable, Cluster};
use crate::common::{posecam_bin, test_clip};

fn submit(cluster: &Cluster, cwd: &Path, args: &[&str]) -> (String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/submit.sh");
    let o = cluster
        .command(script)
        .args(args)
        .current_dir(cwd)
        .env("POSECAM", posecam_bin())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "submit.sh: {text}{}\n{}",
        String::from_utf8_lossy(&o.stderr),
        cluster.logs()
    );
    // "array job 12 (shards 0-3 of 4), merge job 13"
    let words: Vec<&str> = text.split_whitespace().collect();
    let array = words[2].to_string();
    let merge = words.last().unwrap().to_string();
    (array, merge)
}

/// A task's log: (CUDA_VISIBLE_DEVICES, started, ended) and its text.
struct TaskLog {
    gpu: String,
    start: f64,
    end: f64,
    text: String,
}

fn task_logs(cwd: &Path, array: &str) -> Vec<TaskLog> {
    let mut logs = Vec::new();
    for e in std::fs::read_dir(cwd).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with(&format!("posecam-{array}_")) {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        let first = text.lines().next().unwrap_or_default().to_string();
        let gpu = first
            .split("CUDA_VISIBLE_DEVICES=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string();
        let start: f64 = first
            .split("started ")
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let end = e
            .metadata()
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        logs.push(TaskLog {
            gpu,
            start,
            end,
            text,
        });
    }
    logs
}

/// `posecam batch plan WORK/inputs --out WORK/out` with the tiny model.
fn plan(work: &Path, inputs: &str, out: &str, model: &Path) {
    let o = crate::common::posecam(&[
        "batch",
        "plan",
        s(&work.join(inputs)),
        "--out",
        s(&work.join(out)),
        "--model",
        s(model),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_default()
}

fn records(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(out.join(".posecam/records"))
        .unwrap()
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    all.sort();
    all
}

#[test]
fn a_slurm_array_runs_every_item_once_resubmits_only_the_failed_index_and_survives_scancel() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let fixture = crate::common::fixture::Fixture::new();
    let work = fixture.dir.path();
    std::fs::create_dir_all(work.join("videos/sub")).unwrap();
    for i in 0..8 {
        let folder = if i % 2 == 0 { "videos" } else { "videos/sub" };
        test_clip(
            &work.join(format!("{folder}/a{i}.mp4")),
            "160x120",
            10,
            5,
            false,
            &[],
        );
    }
    std::fs::write(work.join("videos/b_broken.mp4"), b"not a video").unwrap();
    plan(work, "videos", "poses", &fixture.tiny);
    let out = work.join("poses");

    let cluster = Cluster::start();
    let (array, merge) = submit(&cluster, work, &[s(&out), "4", "2"]);
    let tasks = cluster.wait_for_job(&array);
    let merged = cluster.wait_for_job(&merge);
    first_array_checks(&cluster, work, &array, &tasks, &merged);
    resubmit_runs_only_the_failed_index(&cluster, work);
    scancel_mid_item_leaves_nothing_and_the_rerun_completes(&cluster, work, &fixture.tiny);
    a_stepped_array_runs_each_shard_once(&cluster, work, &fixture.tiny);
}

/// Every good item done exactly once; exit codes; GPUs of tasks that ran at once.
fn first_array_checks(
    cluster: &Cluster,
    work: &Path,
    array: &str,
    tasks: &[String],
    merged: &[String],
) {
    let out = work.join("poses");
    let logs = task_logs(work, array);
    let all_logs: String = logs.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(logs.len(), 4, "{all_logs}\n{}", cluster.logs());
    // Every good item done exactly once, by the shard that owns it.
    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    for line in manifest.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let input = v["input"].as_str().unwrap();
        let done = all_logs
            .lines()
            .filter(|l| l.contains(&format!("{input}: done")))
            .count();
        let failed = all_logs
            .lines()
            .filter(|l| l.contains(&format!("{input}: FAILED")))
            .count();
        if input.ends_with("b_broken.mp4") {
            assert_eq!((done, failed), (0, 1), "{all_logs}");
        } else {
            assert_eq!((done, failed), (1, 0), "{input}: {all_logs}");
            assert!(out.join(v["outputs"]["video"].as_str().unwrap()).is_file());
        }
    }
    // The task with the broken clip exited 65, the others 0; the merge (afterany) ran and failed.
    let codes: Vec<&str> = tasks.iter().map(|l| field(l, "ExitCode=")).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "65:0").count(),
        1,
        "{tasks:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == "0:0").count(),
        3,
        "{tasks:?}"
    );
    assert_eq!(field(&merged[0], "ExitCode="), "65:0", "{merged:?}");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary
            .lines()
            .any(|l| l.contains("b_broken.mp4") && l.contains(",failed,")),
        "{summary}"
    );
    // Tasks that ran at the same time had different GPUs, and some did.
    let mut overlapping = 0;
    for (i, a) in logs.iter().enumerate() {
        for b in &logs[i + 1..] {
            if a.start < b.end && b.start < a.end {
                overlapping += 1;
                assert_ne!(a.gpu, b.gpu, "two tasks at once on one GPU: {all_logs}");
            }
        }
    }
    assert!(
        overlapping > 0,
        "the throttled array never ran two tasks at once: {all_logs}"
    );
}

/// Resubmit only the failed index: nothing else is redone.
fn resubmit_runs_only_the_failed_index(cluster: &Cluster, work: &Path) {
    let out = work.join("poses");
    let resubmit = std::fs::read_to_string(out.join("resubmit.txt")).unwrap();
    assert_eq!(resubmit.trim().split(',').count(), 1, "{resubmit}");
    let before = records(&out);
    let (again, merge_again) = submit(cluster, work, &[s(&out), "4", "2", "--resubmit"]);
    let again_tasks = cluster.wait_for_job(&again);
    cluster.wait_for_job(&merge_again);
    assert_eq!(again_tasks.len(), 1, "{again_tasks:?}");
    assert_eq!(field(&again_tasks[0], "ArrayTaskId="), resubmit.trim());
    let after = records(&out);
    let changed: Vec<&PathBuf> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "only the broken item's record is rewritten: {changed:?}"
    );
    let log = task_logs(work, &again).pop().unwrap().text;
    assert!(
        log.contains("1 of 3 items to run (2 done already)"),
        "{log}"
    );
}

/// scancel in the middle of an item: no partial output; the rerun completes it.
fn scancel_mid_item_leaves_nothing_and_the_rerun_completes(
    cluster: &Cluster,
    work: &Path,
    tiny: &Path,
) {
    std::fs::create_dir_all(work.join("long")).unwrap();
    test_clip(&work.join("long/long.mp4"), "640x360", 25, 20, true, &[]);
    plan(work, "long", "poses2", tiny);
    let out2 = work.join("poses2");
    let (long_job, long_merge) = submit(cluster, work, &[s(&out2), "1", "1"]);
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    while !staged(&out2)
        .iter()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 50_000))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the long item never started: {}",
            cluster.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = cluster.command("scancel").arg(&long_job).output().unwrap();
    assert!(o.status.success());
    let cancelled = cluster.wait_for_job(&long_job);
    assert!(cancelled[0].contains("JobState=CANCELLED"), "{cancelled:?}");
    cluster.wait_for_job(&long_merge);
    assert!(staged(&out2).is_empty(), "{:?}", staged(&out2));
    assert!(!out2.join("long_pose.mp4").exists() && !out2.join("long.jsonl").exists());
    let (rerun, rerun_merge) = submit(cluster, work, &[s(&out2), "1", "1"]);
    cluster.wait_for_job(&rerun);
    let merged = cluster.wait_for_job(&rerun_merge);
    assert_eq!(
        field(&merged[0], "ExitCode="),
        "0:0",
        "{merged:?}\n{}",
        task_logs(work, &rerun)
            .pop()
            .map(|l| l.text)
            .unwrap_or_default()
    );
    assert!(out2.join("long_pose.mp4").is_file());
}

/// `--array=0-10:2` without a shard count: Slurm's six tasks are the six shards, each item is done
/// once (shards count in the array's step).
fn a_stepped_array_runs_each_shard_once(cluster: &Cluster, work: &Path, tiny: &Path) {
    std::fs::create_dir_all(work.join("stepped")).unwrap();
    for i in 0..6 {
        let clip = work.join(format!("stepped/s{i}.mp4"));
        test_clip(&clip, "96x64", 5, 1, false, &[]);
    }
    plan(work, "stepped", "poses3", tiny);
    let out = work.join("poses3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/posecam-array.sbatch");
    let o = cluster
        .command("sbatch")
        .args(["--parsable", "--array=0-10:2"])
        .env("BATCH_DIR", &out)
        .env("POSECAM", posecam_bin())
        .env("NO_COLOR", "1")
        .env_remove("POSECAM_SHARDS")
        .arg(script)
        .current_dir(work)
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&o.stdout);
    let id = id.trim().split(';').next().unwrap_or_default().to_string();
    assert!(
        o.status.success() && !id.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let tasks = cluster.wait_for_job(&id);
    let logs: String = task_logs(work, &id)
        .iter()
        .map(|l| l.text.clone())
        .collect();
    assert_eq!(tasks.len(), 6, "{tasks:?}");
    for task in &tasks {
        assert_eq!(field(task, "ExitCode="), "0:0", "{task}\n{logs}");
    }
    for shard in 0..6 {
        assert!(
            logs.contains(&format!("batch {shard}/6: 1 of 1 items")),
            "{logs}"
        );
    }
    let status = crate::common::posecam(&["batch", "status", s(&out)]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("6 items: 6 done"), "{text}");
}

/// Staged temporaries under `dir` (their names carry `.posecam`).
fn staged(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if e.file_name().to_string_lossy().contains(".posecam") {
                found.push(path);
            }
        }
    }
    found
}
