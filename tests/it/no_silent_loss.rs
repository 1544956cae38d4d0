//! The third hostile round: no panic (odd file names, closed or full stdout and stderr), no false
//! "ok" (`doctor` loads what it reports, reports name every output, `-q` is quiet), nothing left by
//! a failed download, memory judged before running, and messages that say what is true. Each case
//! uses its own files, not the issue's. The output cases are in `output_clashes`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::fixture::{s, tree, Fixture};
use crate::common::{self, ffmpeg};

pub(crate) fn no_panic(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_ne!(o.status.code(), Some(101), "panic exit: {err}");
    err
}

/// `name` in `dir` as raw bytes (any bytes but `/` and NUL).
fn raw(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(OsString::from_vec(name.to_vec()))
}

/// Names people's files really have: not UTF-8, very long, spaces and shell characters, a leading
/// dash, a percent sign that is no sequence pattern.
fn odd_names() -> Vec<Vec<u8>> {
    vec![
        b"caf\xe9 latin-1".to_vec(),
        b"bad\xff\xfe".to_vec(),
        "é".repeat(100).into_bytes(),
        b"with space; $HOME 'q' \"dq\" & (x)".to_vec(),
        b"-starts-with-dash".to_vec(),
        b"100% done".to_vec(),
    ]
}

#[test]
fn odd_file_names_go_through_every_command() {
    let f = Fixture::new();
    let video = f.video();
    for (i, name) in odd_names().into_iter().enumerate() {
        let with = |ext: &str| {
            let mut n = name.clone();
            n.extend_from_slice(ext.as_bytes());
            raw(f.dir.path(), &n)
        };
        let (input, out, json, photo) = (
            with(".mp4"),
            with("_pose.mp4"),
            with(".jsonl"),
            with(".jpg"),
        );
        std::fs::copy(&video, &input).unwrap();
        std::fs::copy(f.path("photo.jpg"), &photo).unwrap();
        let mut export = f.command(&["export", "--model", "{tiny}", "-o"]);
        export.arg(&out).arg("--json").arg(&json).arg(&input);
        let o = export.output().unwrap();
        assert!(o.status.success(), "{i}: export: {}", no_panic(&o));
        assert!(out.is_file() && json.is_file(), "{i}: outputs");
        let mut bench = f.command(&[
            "bench",
            "--model",
            "{tiny}",
            "--net-height",
            "64",
            "--video",
        ]);
        let o = bench.arg(&input).output().unwrap();
        assert!(o.status.success(), "{i}: bench --video: {}", no_panic(&o));
        let mut track = f.command(&["bench", "--track", "--model", "{tiny}", "--video"]);
        let o = track.arg(&input).output().unwrap();
        assert!(o.status.success(), "{i}: bench --track: {}", no_panic(&o));
        let mut image = f.command(&["image", "--model", "{tiny}", "-o"]);
        let o = image.arg(with("_pose.png")).arg(&photo).output().unwrap();
        assert!(o.status.success(), "{i}: image: {}", no_panic(&o));
        let mut info = f.command(&["model", "info", "--model"]);
        let o = info.arg(&input).output().unwrap();
        assert!(!o.status.success(), "{i}: a video is no model");
        common::assert_refused(&o, "not a loadable ONNX model");
    }
    let leftovers: Vec<_> = tree(f.dir.path())
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(".posecam"))
        .collect();
    assert!(leftovers.is_empty(), "temporaries left: {leftovers:?}");
}

/// Runs `c` with stdout already closed by its reader.
fn with_closed_stdout(mut c: Command) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

fn to_dev_full(mut c: Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    c.stdout(full).stderr(Stdio::piped()).output().unwrap()
}

#[test]
fn stdout_closed_ends_quietly_and_stdout_full_is_an_error() {
    let f = Fixture::new();
    let commands: &[&[&str]] = &[
        &["doctor"],
        &["image", "photo.jpg", "--model", "{tiny}"],
        &["model", "info", "--model", "{tiny}"],
        &["bench", "--fuzz", "50"],
        &["completions", "zsh"],
    ];
    for args in commands {
        let o = with_closed_stdout(f.command(args));
        let err = no_panic(&o);
        assert!(o.status.success(), "{args:?} into a closed pipe: {err}");
        let o = to_dev_full(f.command(args));
        let err = no_panic(&o);
        assert!(!o.status.success(), "{args:?} into a full disk must fail");
        assert!(err.contains("standard output"), "{args:?}: {err}");
    }
    // Figures that cannot be written: the export fails and commits nothing.
    let video = f.video();
    let before = tree(f.dir.path());
    let export = ["export", s(&video), "--model", "{tiny}", "-o", "stats.mp4"];
    let o = to_dev_full(f.command(&[&export[..], &["--stats"]].concat()));
    no_panic(&o);
    assert!(!o.status.success());
    assert_eq!(tree(f.dir.path()), before, "nothing committed");
}

#[test]
fn a_full_stderr_never_stops_the_work() {
    let f = Fixture::new();
    let video = f.video();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = f
        .command(&[
            "-v",
            "export",
            s(&video),
            "--model",
            "{tiny}",
            "-o",
            "kept.mp4",
        ])
        .stderr(full)
        .output()
        .unwrap();
    assert!(o.status.success(), "exit {:?}", o.status.code());
    assert!(f.path("kept.mp4").is_file());
}

#[test]
fn doctor_loads_what_it_reports() {
    let f = Fixture::new();
    std::fs::write(f.path("junk.so"), b"not a library").unwrap();
    std::fs::write(f.path("junk.onnx"), b"not a model").unwrap();
    let line = |o: &Output, label: &str| -> String {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_default()
            .to_string()
    };
    let doctor = |env: &[(&str, &str)]| {
        let mut c = f.command(&["doctor"]);
        c.envs(env.iter().copied());
        c.output().unwrap()
    };
    let o = doctor(&[("ORT_DYLIB_PATH", s(&f.path("junk.so")))]);
    no_panic(&o);
    let runtime = line(&o, "ONNX Runtime ");
    assert!(
        runtime.contains("MISS") && !runtime.contains(" ok "),
        "{runtime}"
    );
    for model in ["/nonexistent/model.onnx", s(&f.path("junk.onnx"))] {
        let o = doctor(&[("POSECAM_MODEL", model)]);
        let m = line(&o, "default model");
        assert!(m.contains("MISS"), "{model}: {m}");
    }
    let o = doctor(&[("POSECAM_MODEL", s(&f.tiny))]);
    assert!(
        line(&o, "default model").contains("ok"),
        "a good model is ok"
    );
    // A display number no one uses (a developer's Xvfb is often on a low one).
    let o = doctor(&[("DISPLAY", ":9317"), ("WAYLAND_DISPLAY", "")]);
    let display = line(&o, "display");
    assert!(
        display.contains("MISS") && display.contains("no display server"),
        "{display}"
    );
}

#[test]
fn reports_say_what_was_written_and_quiet_is_quiet() {
    let f = Fixture::new();
    let video = f.video();
    let o = f.run(&[
        "export",
        s(&video),
        "--model",
        "{tiny}",
        "-o",
        "v.mp4",
        "--csv",
        "t.csv",
        "--json-dir",
        "pf",
        "--json",
        "k.jsonl",
    ]);
    let err = no_panic(&o);
    let summary = err
        .lines()
        .find(|l| l.starts_with("exported"))
        .unwrap_or_default();
    for name in ["v.mp4", "t.csv", "pf", "k.jsonl"] {
        assert!(summary.contains(name), "summary names {name}: {summary}");
    }
    let o = f.run(&[
        "-q",
        "export",
        s(&video),
        "--model",
        "{tiny}",
        "-o",
        "q.mp4",
    ]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "-q prints nothing");
    for ext in ["avi", "flv", "xyz"] {
        let o = f.run(&[
            "export",
            s(&video),
            "--model",
            "{tiny}",
            "-o",
            &format!("o.{ext}"),
        ]);
        common::assert_refused(&o, ".mp4, .mkv or .mov");
    }
}

#[test]
fn runtime_fetch_without_network_leaves_nothing_and_claims_nothing() {
    let f = Fixture::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let index = format!("http://127.0.0.1:{port}/simple/");
    let o = f.run(&["runtime", "fetch", "--dir", "rt", "--index", &index]);
    let err = no_panic(&o);
    assert!(!o.status.success());
    assert!(!err.contains("kept"), "nothing was downloaded: {err}");
    assert!(!f.path("rt").exists(), "no empty folder left");
    std::fs::create_dir(f.path("mine")).unwrap();
    let o = f.run(&["runtime", "fetch", "--dir", "mine", "--index", &index]);
    assert!(!o.status.success());
    let left: Vec<_> = std::fs::read_dir(f.path("mine")).unwrap().collect();
    assert!(left.is_empty(), "the user's folder stays, empty: {left:?}");
}

#[test]
fn a_net_size_beyond_the_memory_available_is_refused_unless_forced() {
    let f = Fixture::new();
    let big = f.path("big.jpg");
    image::RgbImage::from_fn(400, 300, |x, y| image::Rgb([x as u8, y as u8, 9]))
        .save(&big)
        .unwrap();
    let args = [
        "image",
        "big.jpg",
        "--model",
        "{tiny}",
        "--net-height",
        "1024",
    ];
    let o = f
        .command(&args)
        .env("POSECAM_MEMORY_LIMIT", "100M")
        .output()
        .unwrap();
    common::assert_refused(&o, "--force");
    let err = no_panic(&o);
    assert!(
        err.contains("1368x1024") && err.contains("GB"),
        "names size and memory: {err}"
    );
    let forced = [&args[..], &["--force"]].concat();
    let o = f
        .command(&forced)
        .env("POSECAM_MEMORY_LIMIT", "100M")
        .output()
        .unwrap();
    assert!(o.status.success(), "--force runs it: {}", no_panic(&o));
    let o = f
        .command(&args)
        .env("POSECAM_MEMORY_LIMIT", "64G")
        .output()
        .unwrap();
    assert!(o.status.success(), "within the limit: {}", no_panic(&o));
}

#[test]
fn messages_say_what_is_true() {
    let f = Fixture::new();
    let video = f.video();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "export",
                s(&video),
                "-o",
                "a.mp4",
                "--confirm-frames",
                "123456789012",
            ],
            "whole number between",
        ),
        (
            &[
                "image",
                "photo.jpg",
                "--model",
                "{tiny}",
                "--max-pixels",
                "1",
            ],
            "limit of 1 pixel",
        ),
        (&["image", "photo.jpg", "--model", "fifo"], "FIFO"),
        (
            &["image", "photo.jpg", "--model", "/dev/zero"],
            "character device",
        ),
        (
            &["model", "fetch", "--url", "file:///etc/hostname", "--yes"],
            "only http",
        ),
        (
            &["export", "-", "--model", "{tiny}", "-o", "b.mp4"],
            "standard input",
        ),
        (
            &["export", "pipe:0", "--model", "{tiny}", "-o", "b.mp4"],
            "standard input",
        ),
    ];
    for (args, says) in cases {
        let o = f.run(args);
        no_panic(&o);
        common::assert_refused(&o, says);
    }
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=gray:s=16000x8",
        "-frames:v",
        "1",
        s(&f.path("strip.png")),
    ]);
    let o = f.run(&["image", "strip.png", "--model", "{tiny}"]);
    common::assert_refused(&o, "crop");
}

/// Frames in a video, as ffprobe counts them.
fn frame_count(path: &Path) -> u64 {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn a_local_file_whose_name_starts_like_a_protocol_is_that_file() {
    let f = Fixture::new();
    let clip = |name: &str, frames: &str| {
        // An absolute path: ffmpeg itself would take a bare name for a protocol.
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=10",
            "-frames:v",
            frames,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-f",
            "matroska",
            s(&f.path(name)),
        ]);
    };
    let run_in = |args: &[&str]| {
        let mut c = f.command(args);
        c.current_dir(f.dir.path());
        c.output().unwrap()
    };
    clip("a.mp4", "1");
    for name in [
        "concat:a.mp4",
        "file:b.mp4",
        "http:c.mp4",
        "subfile:d.mp4",
        "pipe:e.mp4",
        "data:f.mp4",
        "cache:g.mp4",
        "async:h.mp4",
        "crypto:i.mp4",
        "tcp:j.mp4",
    ] {
        clip(name, "5");
        let o = run_in(&[
            "export",
            name,
            "-o",
            "out.mp4",
            "--json",
            "out.jsonl",
            "--model",
            "{tiny}",
            "--overwrite",
        ]);
        assert!(o.status.success(), "{name}: {}", no_panic(&o));
        let lines = std::fs::read_to_string(f.path("out.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(
            lines, 5,
            "{name}: the file itself, not what FFmpeg's protocol names"
        );
    }
    // A protocol-like name that is no file here is no file, never FFmpeg's protocol.
    for name in ["concat:a.mp4|a.mp4", "subfile:,,start,0,end,0,:a.mp4"] {
        let o = run_in(&["export", name, "-o", "none.mp4", "--model", "{tiny}"]);
        common::assert_refused(&o, "no such file");
    }
    // Outputs too: a local file of that name.
    let o = run_in(&["export", "a.mp4", "-o", "concat:o.mp4", "--model", "{tiny}"]);
    assert!(o.status.success(), "{}", no_panic(&o));
    assert_eq!(frame_count(&f.path("concat:o.mp4")), 1);
}

#[test]
fn secrets_in_urls_are_masked_in_every_line_also_at_vv() {
    let f = Fixture::new();
    // Nothing listens on port 9 here: each fails at once (or at the timeout), printing the URL.
    for (url, secrets) in [
        ("srt://127.0.0.1:9?mode=caller&passphrase=Sup3rSecretPass", &["Sup3rSecretPass"][..]),
        (
            "https://127.0.0.1:9/v.mp4?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAEXAMPLE%2F1&X-Amz-Signature=deadbeef99",
            &["AKIAEXAMPLE", "deadbeef99"][..],
        ),
        ("https://127.0.0.1:9/x.m3u8?Expires=9&Signature=cfsig42&Key-Pair-Id=K", &["cfsig42"][..]),
        ("https://127.0.0.1:9/v.mp4?sv=1&sig=azsig77", &["azsig77"][..]),
        ("rtsp://TOKEN123@127.0.0.1:9/stream", &["TOKEN123"][..]),
        ("rtmp://127.0.0.1:9/live/streamkey987", &["streamkey987"][..]),
        ("rtmps://127.0.0.1:9/app/rtmpskey5", &["rtmpskey5"][..]),
        ("http://127.0.0.1:9/cam#token=frag555", &["frag555"][..]),
    ] {
        let o = f.run(&["-vv", "export", url, "-o", "x.mp4", "--model", "{tiny}", "--stream-timeout", "2"]);
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), no_panic(&o));
        assert!(!o.status.success(), "{url}: {all}");
        for secret in secrets {
            assert!(!all.contains(secret), "{url}: {secret} shown: {all}");
        }
        assert!(all.contains("***"), "{url}: the URL is shown, masked: {all}");
        assert!(!all.contains("no such file"), "{url} is a URL, not a file: {all}");
        let o = f.run(&["batch", "plan", url, "--out", "b", "--model", "{tiny}"]);
        let all = no_panic(&o);
        for secret in secrets {
            assert!(!all.contains(secret), "batch plan {url}: {secret} shown: {all}");
        }
    }
}
