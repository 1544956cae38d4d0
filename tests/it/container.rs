//! The container image's file tree, built by the project's own script (`deploy/container/build-tree.sh`,
//! which the Dockerfile runs) into a folder: `posecam doctor` and one export run from it with a clean
//! environment, an empty HOME, from another directory, and the checkout out of sight (a tmpfs mounted
//! over it, in a mount namespace of its own, where the test may do that).

use std::path::Path;
use std::process::Command;

use crate::common::fixture::s;
use crate::common::{shared_model, test_clip};

/// Runs `program args` as a container would: nothing inherited but PATH, HOME empty, in `cwd`, and
/// when possible with the checkout hidden.
fn in_image(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    home: &Path,
    hide: bool,
) -> std::process::Output {
    let checkout = env!("CARGO_MANIFEST_DIR");
    let mut c = if hide {
        let mut c = Command::new("unshare");
        c.args([
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs none \"$0\" && exec \"$@\"",
            checkout,
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    };
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Whether this test may hide the checkout (root, with unshare).
fn can_hide() -> bool {
    Command::new("unshare")
        .args(["--mount", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_image_tree_runs_doctor_and_an_export_with_nothing_of_the_checkout() {
    let Some(model) = shared_model() else { return };
    let root = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let home = elsewhere.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/container/build-tree.sh");
    let o = Command::new(&script)
        .args([s(root.path()), "--model", s(&model)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let posecam = root.path().join("usr/local/bin/posecam");
    assert!(posecam.exists());
    let hide = can_hide();
    if !hide {
        eprintln!(
            "NOTE: cannot hide the checkout here (needs root and unshare); checking paths instead"
        );
    }
    let o = in_image(&posecam, &["doctor"], elsewhere.path(), &home, hide);
    let report = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let tree = root.path().join("opt/posecam");
    let runtime = report
        .lines()
        .find(|l| l.contains("ok   ONNX Runtime"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(runtime.contains(s(&tree)), "{runtime}");
    let default_model = report
        .lines()
        .find(|l| l.contains("default model"))
        .unwrap();
    assert!(default_model.contains(s(&tree.join("models"))), "{report}");
    assert!(
        !report.contains(env!("CARGO_MANIFEST_DIR")),
        "the tree reaches into the checkout: {report}"
    );

    test_clip(
        &elsewhere.path().join("clip.mp4"),
        "320x240",
        10,
        2,
        true,
        &[],
    );
    let o = in_image(
        &posecam,
        &[
            "export",
            "clip.mp4",
            "-o",
            "clip_pose.mp4",
            "--json",
            "clip.jsonl",
        ],
        elsewhere.path(),
        &home,
        hide,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let jsonl = std::fs::read_to_string(elsewhere.path().join("clip.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 20);
}
