//! The batch folder is a boundary: an edited manifest or plan is refused, no output leads out of
//! the folder, and files that appeared after planning are left alone.

use crate::common::fixture::{s, Fixture};
use crate::common::test_clip;
use posecam::batch::{EXIT_BAD_INPUT, EXIT_RETRY, EXIT_USAGE};

use super::edit_manifest;
use super::{exits, plan_again_with_overwrite, planned, run, text};

#[test]
fn an_edited_manifest_or_plan_is_refused_and_nothing_leads_out_of_the_folder() {
    let f = Fixture::new();
    planned(&f, &["a.mp4", "b.mp4"]);
    // Edited by hand without its hash: refused.
    let manifest = f.path("out/manifest.jsonl");
    let original = std::fs::read_to_string(&manifest).unwrap();
    // A name of this fixture's own beside it (`/tmp/escape-.tmpXXXX_pose.mp4`): nothing there before.
    let name = format!(
        "escape-{}_pose.mp4",
        f.dir.path().file_name().unwrap().to_string_lossy()
    );
    let outside = f.dir.path().parent().unwrap().join(&name);
    std::fs::write(
        &manifest,
        original.replace("a_pose.mp4", &format!("../../{name}")),
    )
    .unwrap();
    let all = exits(&run(&f, &["run", "out"]), EXIT_USAGE, "edited manifest");
    assert!(all.contains("sha256"), "{all}");
    std::fs::write(&manifest, &original).unwrap();
    // Edited with its hash: every path must still stay inside, every id be one.
    for (case, output) in [
        ("parent", format!("../../{name}")),
        ("absolute", s(&outside).to_string()),
        ("down and up", format!("a/../../{name}")),
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
    assert!(!outside.exists() && !f.path(&name).exists());
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
    plan_again_with_overwrite(&f);
    exits(&run(&f, &["run", "out"]), 0, "planned with --overwrite");
    assert_ne!(std::fs::read(f.path("out/a.jsonl")).unwrap(), b"mine");
    // posecam's own outputs are replaced by a forced run without --overwrite, also after a run of
    // the item failed in between (a folder it needs was a file for a while).
    std::fs::create_dir_all(f.path("in2/sub")).unwrap();
    std::fs::copy(f.path("in/a.mp4"), f.path("in2/sub/a.mp4")).unwrap();
    let o = run(&f, &["plan", "in2", "--out", "fresh", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", text(&o));
    exits(&run(&f, &["run", "fresh"]), 0, "first run");
    exits(&run(&f, &["run", "fresh", "--force"]), 0, "forced run");
    std::fs::rename(f.path("fresh/sub"), f.path("fresh/kept")).unwrap();
    std::fs::write(f.path("fresh/sub"), b"in the way").unwrap();
    exits(
        &run(&f, &["run", "fresh", "--force"]),
        EXIT_RETRY,
        "a failed run",
    );
    std::fs::remove_file(f.path("fresh/sub")).unwrap();
    std::fs::rename(f.path("fresh/kept"), f.path("fresh/sub")).unwrap();
    exits(&run(&f, &["run", "fresh"]), 0, "the run after it");
}
