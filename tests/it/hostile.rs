//! posecam as a hostile user meets it: every case gets one clear line and a non-zero exit and leaves
//! the file system exactly as it was, or (for valid input) the complete result. Outputs are one
//! transaction under signals (SIGINT, SIGTERM, SIGHUP) and a full disk.

// The table of cases reads top to bottom.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::fixture::{s, tree, Fixture};

fn assert_refused(o: &Output, mentions: &str, case: &str) {
    eprintln!("case: {case}");
    common::assert_refused(o, mentions);
}

/// CRC-32 (PNG's), for a header that claims what we want.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid PNG header (correct checksum) claiming 60000x60000 pixels, with a tiny body.
fn huge_png_header() -> Vec<u8> {
    let mut png = Vec::new();
    image::RgbImage::new(1, 1)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png[16..20].copy_from_slice(&60000u32.to_be_bytes());
    png[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

#[test]
fn every_hostile_case_is_one_clear_line_and_leaves_files_alone() {
    let f = Fixture::new();
    let video = f.video();
    let v = s(&video);
    std::fs::write(f.path("huge.png"), huge_png_header()).unwrap();
    std::fs::create_dir(f.path("frames")).unwrap();
    std::fs::write(f.path("frames/in_000000000000_keypoints.json"), b"mine").unwrap();
    let m = "{tiny}";
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "json onto image",
            vec![
                "image",
                "photo.jpg",
                "--model",
                m,
                "-o",
                "same.png",
                "--json",
                "same.png",
            ],
            "named twice",
        ),
        (
            "json onto image, overwrite",
            vec![
                "image",
                "photo.jpg",
                "--model",
                m,
                "-o",
                "same.png",
                "--json",
                "same.png",
                "--overwrite",
            ],
            "named twice",
        ),
        (
            "json onto video",
            vec![
                "export",
                v,
                "--model",
                m,
                "-o",
                "same.mp4",
                "--json",
                "./same.mp4",
            ],
            "named twice",
        ),
        (
            "json onto video, overwrite",
            vec![
                "export",
                v,
                "--model",
                m,
                "-o",
                "same.mp4",
                "--json",
                "./same.mp4",
                "--overwrite",
            ],
            "named twice",
        ),
        (
            "json is a folder (image)",
            vec!["image", "photo.jpg", "--model", m, "--json", "folder"],
            "is a folder",
        ),
        (
            "json is a folder (export)",
            vec![
                "export", v, "--model", m, "-o", "out.mp4", "--json", "folder",
            ],
            "is a folder",
        ),
        (
            "json-dir frames exist",
            vec![
                "export",
                v,
                "--model",
                m,
                "-o",
                "out.mp4",
                "--json-dir",
                "frames",
            ],
            "already holds",
        ),
        (
            "gif image",
            vec!["image", "photo.jpg", "--model", m, "-o", "out.gif"],
            ".png, .jpg",
        ),
        (
            "gif video",
            vec!["export", v, "--model", m, "-o", "out.gif"],
            "cannot hold H.264",
        ),
        (
            "unknown container",
            vec!["export", v, "--model", m, "-o", "out.xyz"],
            "unknown video container",
        ),
        (
            "huge png",
            vec!["image", "huge.png", "--model", m],
            "--max-pixels",
        ),
        (
            "dev zero",
            vec!["image", "/dev/zero", "--model", m],
            "character device",
        ),
        ("fifo image", vec!["image", "fifo", "--model", m], "FIFO"),
        (
            "folder video",
            vec!["export", "folder", "--model", m, "-o", "out.mp4"],
            "is a folder",
        ),
        (
            "fifo video",
            vec!["export", "fifo", "--model", m, "-o", "out.mp4"],
            "FIFO",
        ),
        (
            "urandom video",
            vec!["export", "/dev/urandom", "--model", m, "-o", "out.mp4"],
            "character device",
        ),
        (
            "nan peak",
            vec![
                "image",
                "photo.jpg",
                "--model",
                m,
                "--peak-threshold",
                "nan",
            ],
            "--peak-threshold",
        ),
        (
            "fraction 2",
            vec!["image", "photo.jpg", "--model", m, "--paf-fraction", "2"],
            "between 0 and 1",
        ),
        (
            "samples 0",
            vec!["image", "photo.jpg", "--model", m, "--paf-samples", "0"],
            "--paf-samples",
        ),
        (
            "min score inf",
            vec!["image", "photo.jpg", "--model", m, "--min-score", "inf"],
            "--min-score",
        ),
        (
            "scale 0",
            vec!["image", "photo.jpg", "--model", m, "--scales", "1,0"],
            "--scales",
        ),
        (
            "64 workers",
            vec![
                "export",
                v,
                "--model",
                m,
                "-o",
                "out.mp4",
                "--infer-workers",
                "64",
            ],
            "--infer-workers",
        ),
        (
            "runs 0",
            vec!["bench", "--model", m, "--image", "photo.jpg", "--runs", "0"],
            "--runs",
        ),
        (
            "model folder",
            vec!["image", "photo.jpg", "--model", "folder"],
            "is a folder",
        ),
        (
            "max pixels 0",
            vec!["image", "photo.jpg", "--model", m, "--max-pixels", "0"],
            "--max-pixels",
        ),
    ];
    for (case, args, mentions) in &cases {
        let before = tree(f.dir.path());
        let o = f.run(args);
        assert_refused(&o, mentions, case);
        assert_eq!(tree(f.dir.path()), before, "{case}: files changed");
    }
    let before = tree(f.dir.path());
    let o = f
        .command(&["image", "photo.jpg"])
        .env("POSECAM_MODEL", "")
        .output()
        .unwrap();
    assert_refused(&o, "POSECAM_MODEL is set but empty", "empty POSECAM_MODEL");
    assert_eq!(tree(f.dir.path()), before);
}

#[test]
fn valid_but_unusual_inputs_give_complete_results() {
    let f = Fixture::new();
    // A motion photo: a complete JPEG followed by 5 KB of something else.
    let mut bytes = std::fs::read(f.path("photo.jpg")).unwrap();
    bytes.extend((0..5000).map(|i| (i % 251) as u8));
    std::fs::write(f.path("motion.jpg"), bytes).unwrap();
    let o = f.run(&[
        "image",
        "motion.jpg",
        "--model",
        "{tiny}",
        "--json",
        "motion.json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(f.path("motion.json")).unwrap()).unwrap();
    assert_eq!(v["version"], 1.3);
    // Per-frame files go into an existing folder beside the user's own files, which stay.
    let video = f.video();
    std::fs::write(f.path("folder/notes.txt"), b"mine").unwrap();
    let o = f.run(&[
        "export",
        s(&video),
        "--model",
        "{tiny}",
        "-o",
        "out.mp4",
        "--json-dir",
        "folder",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = std::fs::read_dir(f.path("folder")).unwrap().count();
    assert_eq!(files, 21, "20 frames + the user's file");
    assert_eq!(std::fs::read(f.path("folder/notes.txt")).unwrap(), b"mine");
    // Outputs get the permissions the umask allows, not a temporary file's 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(f.path("out.mp4"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode & 0o644, 0o644, "{mode:o}");
}

/// Files left in the fixture that posecam staged (temporaries) or wrote as outputs.
fn leftovers(dir: &Path, outputs: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".posecam") || outputs.contains(&n.as_str()))
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Starts an export of `clip` (slowed down, so a signal arrives mid-way) and waits until it is under
/// way.
fn interruptible_export(f: &Fixture, clip: &Path, outputs: &[&str]) -> std::process::Child {
    let mut args = vec![
        "export",
        s(clip),
        "--model",
        "{tiny}",
        "--net-height",
        "1024",
        "--scales",
        "1,1",
    ];
    args.extend_from_slice(outputs);
    let child = f
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_progress(f.dir.path(), 100_000);
    child
}

#[test]
fn term_and_hup_finish_a_playable_partial_export_and_a_second_signal_leaves_nothing() {
    let f = Fixture::new();
    let clip = f.path("long.mp4");
    common::long_clip(&clip);
    for sig in ["TERM", "HUP"] {
        let out = format!("partial-{sig}.mp4");
        let jsonl = format!("partial-{sig}.jsonl");
        let child = interruptible_export(&f, &clip, &["-o", &out, "--json", &jsonl]);
        signal(child.id(), sig);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{sig}: {err}");
        assert!(err.contains("PARTIAL"), "{sig}: {err}");
        let lines = std::fs::read_to_string(f.path(&jsonl))
            .unwrap()
            .lines()
            .count();
        assert!(lines > 0 && lines < 1800, "{sig}: {lines} keypoint lines");
        assert!(
            leftovers(f.dir.path(), &[]).is_empty(),
            "{sig}: temporaries left"
        );
    }
    let child = interruptible_export(&f, &clip, &["-o", "gone.mp4", "--json-dir", "gone"]);
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(30));
    signal(child.id(), "INT");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        leftovers(f.dir.path(), &["gone.mp4", "gone"]).is_empty(),
        "nothing after two signals: {:?}",
        leftovers(f.dir.path(), &["gone.mp4", "gone"])
    );
    let foreign: Vec<&str> = err
        .lines()
        .filter(|l| {
            let ours = ["stopping", "aborted", "INFO", "export: "];
            !l.trim().is_empty() && !ours.iter().any(|o| l.contains(o))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "no library errors after an abort: {foreign:?}"
    );
}

#[test]
fn an_interrupted_image_run_writes_nothing() {
    let (Some(model), Some(ski)) = (
        common::shared_model(),
        common::shared("data/images/ski.jpg"),
    ) else {
        return;
    };
    let f = Fixture::new();
    std::fs::create_dir(f.path("many")).unwrap();
    for i in 0..200 {
        std::fs::copy(&ski, f.path(&format!("many/ski{i:03}.jpg"))).unwrap();
    }
    let child = f
        .command(&[
            "image",
            "many",
            "-o",
            "rendered",
            "--json",
            "keypoints",
            "--model",
            s(&model),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted in the middle: once the first rendered image is staged.
    common::wait_for_progress(f.dir.path(), 1);
    signal(child.id(), "INT");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        leftovers(f.dir.path(), &["rendered", "keypoints"]).is_empty(),
        "{:?}",
        leftovers(f.dir.path(), &["rendered", "keypoints"])
    );
}

/// Runs posecam with files limited to `bytes` (writes past it fail as on a full disk).
fn with_file_limit(mut c: Command, bytes: u64) -> Output {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    c.output().unwrap()
}

#[test]
fn a_full_disk_leaves_no_output_behind() {
    let f = Fixture::new();
    // The JSON is small and written first; the PNG (over 4 KB) hits the limit.
    let big = f.path("big.jpg");
    image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([(x * y) as u8, x as u8, y as u8])
    })
    .save(&big)
    .unwrap();
    let before = tree(f.dir.path());
    let o = with_file_limit(
        f.command(&[
            "image", "big.jpg", "--model", "{tiny}", "-o", "out.png", "--json", "out.json",
        ]),
        4096,
    );
    assert_refused(&o, "out.png", "image on a full disk");
    assert_eq!(tree(f.dir.path()), before, "no out.json, no temporary");
    let video = f.video();
    let before = tree(f.dir.path());
    let o = with_file_limit(
        f.command(&[
            "export",
            s(&video),
            "--model",
            "{tiny}",
            "-o",
            "out.mp4",
            "--json",
            "out.jsonl",
        ]),
        20_000,
    );
    assert_refused(&o, "out.mp4", "export on a full disk");
    assert_eq!(tree(f.dir.path()), before, "no output, no temporary");
}
