//! The `posecam` binary as users meet it: outputs, and one clear line for every bad input.

use crate::common;

use crate::common::posecam;

use std::path::{Path, PathBuf};
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

use crate::common::assert_refused as assert_clean_failure;

struct Fixture {
    dir: tempfile::TempDir,
    model: PathBuf,
    photo: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let photo = dir.path().join("photo.jpg");
    image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8, y as u8, 90]))
        .save(&photo)
        .unwrap();
    Fixture { dir, model, photo }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn bad_inputs_fail_with_one_clear_line() {
    let f = fixture();
    let m = s(&f.model);
    let missing = f.dir.path().join("missing.jpg");
    assert_clean_failure(
        &posecam(&["image", s(&missing), "--model", m]),
        "no such file",
    );

    let text = f.dir.path().join("notes.jpg");
    std::fs::write(&text, "just some text").unwrap();
    assert_clean_failure(
        &posecam(&["image", s(&text), "--model", m]),
        "not a supported image",
    );

    let bytes = std::fs::read(&f.photo).unwrap();
    let truncated = f.dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_clean_failure(
        &posecam(&["image", s(&truncated), "--model", m]),
        "truncated",
    );

    let empty = f.dir.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    assert_clean_failure(&posecam(&["image", s(&empty), "--model", m]), "empty.png");

    let not_onnx = f.dir.path().join("model.onnx");
    std::fs::write(&not_onnx, b"\x00\x01garbage").unwrap();
    assert_clean_failure(
        &posecam(&["image", s(&f.photo), "--model", s(&not_onnx)]),
        "not a loadable ONNX model",
    );
    assert_clean_failure(
        &posecam(&["image", s(&f.photo), "--model", s(&missing)]),
        "does not exist",
    );
    assert_clean_failure(
        &posecam(&["image", s(&f.photo), "--model", m, "--net-height", "0"]),
        "--net-height",
    );
    assert_clean_failure(
        &posecam(&["image", s(&f.photo), "--model", m, "--device", "cuda"]),
        "CUDA",
    );
}

#[test]
fn outputs_are_never_clobbered_by_accident() {
    let f = fixture();
    let m = s(&f.model);
    let json = f.dir.path().join("out.json");
    std::fs::write(&json, "precious").unwrap();
    assert_clean_failure(
        &posecam(&["image", s(&f.photo), "--model", m, "--json", s(&json)]),
        "already exists",
    );
    assert_eq!(std::fs::read_to_string(&json).unwrap(), "precious");

    let o = posecam(&[
        "image",
        s(&f.photo),
        "--model",
        m,
        "--json",
        s(&json),
        "--overwrite",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["version"], 1.3);

    let before = std::fs::read(&f.photo).unwrap();
    assert_clean_failure(
        &posecam(&[
            "image",
            s(&f.photo),
            "--model",
            m,
            "-o",
            s(&f.photo),
            "--overwrite",
        ]),
        "would overwrite the input",
    );
    assert_eq!(std::fs::read(&f.photo).unwrap(), before, "input untouched");
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".posecam"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn several_inputs_write_one_file_each_into_folders() {
    let f = fixture();
    let inputs = f.dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for name in ["a.jpg", "b.png"] {
        image::RgbImage::from_pixel(64, 48, image::Rgb([10, 20, 30]))
            .save(inputs.join(name))
            .unwrap();
    }
    std::fs::write(inputs.join("readme.txt"), "not an image").unwrap();
    let (out, json) = (f.dir.path().join("rendered"), f.dir.path().join("json"));
    let o = posecam(&[
        "image",
        s(&inputs),
        "--model",
        s(&f.model),
        "-o",
        s(&out),
        "--json",
        s(&json),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for p in ["a_rendered.jpg", "b_rendered.png"] {
        assert!(image::open(out.join(p)).is_ok(), "{p}");
    }
    for p in ["a_keypoints.json", "b_keypoints.json"] {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(json.join(p)).unwrap()).unwrap();
        assert!(v["people"].is_array(), "{p}");
    }
    assert_clean_failure(
        &posecam(&["image", s(&inputs), "--model", s(&f.model)]),
        "several inputs",
    );
}

#[test]
fn ski_json_on_stdout_has_five_openpose_people() {
    let (Some(model), Some(ski)) = (
        common::shared_model(),
        common::shared("data/images/ski.jpg"),
    ) else {
        return;
    };
    let o = posecam(&["image", s(&ski), "--model", s(&model)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let people = v["people"].as_array().unwrap();
    assert_eq!(people.len(), 5);
    for p in people {
        assert_eq!(p["person_id"], serde_json::json!([-1]));
        assert_eq!(p["pose_keypoints_2d"].as_array().unwrap().len(), 18 * 3);
    }
}

#[test]
fn bench_ends_with_one_json_line_of_figures() {
    let (Some(model), Some(ski)) = (
        common::shared_model(),
        common::shared("data/images/ski.jpg"),
    ) else {
        return;
    };
    let o = posecam(&[
        "bench",
        "--model",
        s(&model),
        "--image",
        s(&ski),
        "--runs",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let v: serde_json::Value = serde_json::from_str(last).unwrap();
    for key in ["inference_ms", "association_ms", "preprocess_ms"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {last}");
    }
    assert_eq!(v["people"], 5);
}

#[test]
fn logging_follows_the_flags_and_writes_no_escape_codes_to_a_pipe() {
    let f = fixture();
    let out = f.dir.path().join("out.jpg");
    let run = |before: &[&str], env: Option<&str>| {
        let mut c = std::process::Command::new(common::posecam_bin());
        c.args(before)
            .args([
                "image",
                s(&f.photo),
                "--model",
                s(&f.model),
                "-o",
                s(&out),
                "--overwrite",
            ])
            .env_remove("RUST_LOG")
            .env_remove("POSECAM_LOG");
        if let Some(filter) = env {
            c.env("POSECAM_LOG", filter);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let normal = run(&[], None);
    assert!(
        normal.contains("INFO") && !normal.contains("DEBUG"),
        "{normal}"
    );
    // Global flags go before or after the command.
    for verbose in [run(&["-v"], None), run(&[], Some("posecam=debug"))] {
        assert!(verbose.contains("DEBUG"), "{verbose}");
    }
    let quiet = run(&["-q"], None);
    assert!(!quiet.contains("INFO"), "{quiet}");
    for text in [normal, quiet] {
        assert!(
            !text.contains('\u{1b}'),
            "escape codes in piped logs: {text:?}"
        );
    }
    // Window options before a command are a mistake, not silently ignored.
    let o = posecam(&["--model", s(&f.model), "doctor"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("for the window"), "{}", stderr(&o));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef posecam"),
        ("fish", "complete -c posecam"),
    ] {
        let o = posecam(&["completions", shell]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains(mark) && text.contains("export"),
            "{shell}: {text}"
        );
    }
}
