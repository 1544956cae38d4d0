//! The fourth hostile round, on `posecam batch`: numbers and shards that must not panic or be
//! retried forever, a batch folder that is a boundary (an edited manifest or plan is refused, no
//! output leads out of it, files that appeared after planning stay), outputs whose changes are seen,
//! every input file planned once or named as skipped, item locks between runs, and stills that get
//! their IDs. Each case builds its own files; the tiny model keeps the runs short.

mod codes;
mod folder;
mod outputs;
mod runs;

use std::process::{Command, Output};

use sha2::Digest;

use crate::common::fixture::Fixture;
use crate::common::test_clip;

pub(super) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `posecam batch ARGS` in the fixture's folder, without the array engines' variables of the
/// machine running the tests.
pub(super) fn batch(f: &Fixture, args: &[&str]) -> Command {
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

pub(super) fn run(f: &Fixture, args: &[&str]) -> Output {
    batch(f, args).output().unwrap()
}

/// Fails unless `o` exited with `code`, with no panic.
pub(super) fn exits(o: &Output, code: i32, case: &str) -> String {
    let all = text(o);
    assert!(!all.contains("panicked"), "{case}: panic: {all}");
    assert_eq!(o.status.code(), Some(code), "{case}: {all}");
    all
}

/// Short clips `names` in `in/` and a plan of them into `out/`.
pub(super) fn planned(f: &Fixture, names: &[&str]) {
    std::fs::create_dir_all(f.path("in")).unwrap();
    for name in names {
        test_clip(&f.path(&format!("in/{name}")), "96x64", 5, 1, false, &[]);
    }
    let o = run(f, &["plan", "in", "--out", "out", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `posecam batch plan in --out out --overwrite`, which must succeed.
pub(super) fn plan_again_with_overwrite(f: &Fixture) {
    let args = [
        "plan",
        "in",
        "--out",
        "out",
        "--model",
        "{tiny}",
        "--overwrite",
    ];
    let o = run(f, &args);
    assert!(o.status.success(), "{}", text(&o));
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    crate::common::hex(&sha2::Sha256::digest(bytes))
}

/// Rewrites the manifest with `edit`, and plan.json's record of it to match (as someone who knows
/// the format would).
pub(super) fn edit_manifest(f: &Fixture, edit: impl Fn(&mut Vec<serde_json::Value>)) {
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
