//! Exit codes engines can trust: usage errors are permanent (2), a deleted input is a bad input
//! (65) to run and merge alike, and Slurm array steps map to shards.

use crate::common::fixture::Fixture;
use posecam::batch::{EXIT_BAD_INPUT, EXIT_USAGE};

use super::{batch, exits, plan_again_with_overwrite, planned, run, text};

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
    plan_again_with_overwrite(&f);
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
