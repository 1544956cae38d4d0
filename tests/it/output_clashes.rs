//! The third hostile round, outputs: no output may replace a frame of a sequence input, two images
//! of a batch never share a result file, no file output lies inside a per-frame folder, `--duration`
//! cuts the audio too, a file that grows while read is reported, and a stop after the last frame is
//! no partial export.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::no_silent_loss::no_panic;
use crate::common;
use crate::common::fixture::{s, tree, Fixture};

/// Ten PNG frames `seq/img_0001.png`... for sequence inputs.
fn sequence(f: &Fixture) -> PathBuf {
    std::fs::create_dir(f.path("seq")).unwrap();
    for i in 1..=10 {
        image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([x as u8, y as u8, (i * 20) as u8])
        })
        .save(f.path(&format!("seq/img_{i:04}.png")))
        .unwrap();
    }
    f.path("seq/img_%04d.png")
}

#[test]
fn no_output_may_replace_a_frame_of_a_sequence_input() {
    let f = Fixture::new();
    let pattern = sequence(&f);
    let before = tree(f.dir.path());
    for (flag, frame) in [
        ("--json", "seq/img_0007.png"),
        ("--csv", "seq/img_0002.png"),
    ] {
        let o = f.run(&[
            "export",
            s(&pattern),
            "--model",
            "{tiny}",
            "-o",
            "m.mp4",
            flag,
            frame,
            "--overwrite",
        ]);
        common::assert_refused(&o, "would overwrite the input");
        assert_eq!(tree(f.dir.path()), before, "{flag}: frames intact");
    }
    // The per-frame files of a sequence are named after it, without its placeholder.
    let o = f.run(&[
        "export",
        s(&pattern),
        "--model",
        "{tiny}",
        "-o",
        "m.mp4",
        "--json-dir",
        "frames",
    ]);
    assert!(o.status.success(), "{}", no_panic(&o));
    assert!(f.path("frames/img_000000000000_keypoints.json").is_file());
    assert_eq!(std::fs::read_dir(f.path("frames")).unwrap().count(), 10);
}

#[test]
fn batch_names_that_would_collide_are_refused_before_any_work() {
    let f = Fixture::new();
    for dir in ["a", "b", "mixed"] {
        std::fs::create_dir(f.path(dir)).unwrap();
    }
    for p in ["a/same.jpg", "b/same.jpg", "mixed/shot.jpg"] {
        std::fs::copy(f.path("photo.jpg"), f.path(p)).unwrap();
    }
    image::RgbImage::new(40, 30)
        .save(f.path("mixed/shot.png"))
        .unwrap();
    let before = tree(f.dir.path());
    let cases: &[&[&str]] = &[
        &[
            "image",
            "a/same.jpg",
            "b/same.jpg",
            "--model",
            "{tiny}",
            "-o",
            "r",
            "--json",
            "j",
        ],
        &["image", "mixed", "--model", "{tiny}", "--json", "j"],
    ];
    for args in cases {
        let o = f.run(args);
        common::assert_refused(&o, "would both write");
        assert_eq!(tree(f.dir.path()), before, "{args:?}: nothing written");
    }
}

#[test]
fn a_file_output_inside_a_per_frame_folder_is_refused() {
    let f = Fixture::new();
    let video = f.video();
    std::fs::create_dir(f.path("jd")).unwrap();
    let before = tree(f.dir.path());
    for overwrite in [false, true] {
        let mut args = vec![
            "export",
            s(&video),
            "--model",
            "{tiny}",
            "-o",
            "k.mp4",
            "--json-dir",
            "jd",
            "--csv",
            "jd/in_000000000003_keypoints.json",
        ];
        if overwrite {
            args.push("--overwrite");
        }
        let o = f.run(&args);
        common::assert_refused(&o, "writes too");
        assert_eq!(tree(f.dir.path()), before, "--overwrite {overwrite}");
    }
}

fn duration(path: &Path, stream: &str) -> f64 {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream])
        .args(["-show_entries", "stream=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn duration_cuts_the_audio_with_the_video() {
    let f = Fixture::new();
    let clip = f.path("av.mp4");
    common::test_clip(&clip, "160x120", 10, 6, true, &[]);
    let o = f.run(&[
        "export",
        "av.mp4",
        "--model",
        "{tiny}",
        "-o",
        "cut.mp4",
        "--duration",
        "1.5",
    ]);
    assert!(o.status.success(), "{}", no_panic(&o));
    let (video, audio) = (
        duration(&f.path("cut.mp4"), "v:0"),
        duration(&f.path("cut.mp4"), "a:0"),
    );
    assert!((video - 1.5).abs() < 0.15, "video {video} s");
    assert!(
        (audio - video).abs() < 0.1,
        "audio {audio} s against video {video} s"
    );
}

#[test]
fn a_file_that_grows_while_it_is_read_is_reported() {
    let f = Fixture::new();
    let whole = f.path("whole.ts");
    common::test_clip(&whole, "160x120", 10, 4, false, &["-f", "mpegts"]);
    let bytes = std::fs::read(&whole).unwrap();
    let growing = f.path("growing.ts");
    let cut = bytes.len() / 2 / 188 * 188;
    std::fs::write(&growing, &bytes[..cut]).unwrap();
    let mut reader = posecam::video::VideoReader::open(&growing).unwrap();
    // The recording goes on after the reader opened it.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&growing)
        .unwrap()
        .write_all(&bytes[cut..])
        .unwrap();
    while reader.next_frame().unwrap().is_some() {}
    assert!(reader.grew_while_read(), "the growth is noticed");
    // A file that stays as it is says nothing.
    let mut steady = posecam::video::VideoReader::open(&whole).unwrap();
    while steady.next_frame().unwrap().is_some() {}
    assert!(!steady.grew_while_read());
}

#[test]
fn a_stop_after_the_last_frame_is_no_partial_export() {
    let f = Fixture::new();
    let video = f.video();
    let frames = 20u64;
    let engine = posecam::infer::Engine::load(&f.tiny, &Default::default()).unwrap();
    let settings = posecam::pipeline::ExportSettings {
        net: posecam::infer::NetConfig {
            net_height: 64,
            scales: vec![1.0],
            short_side: false,
        },
        thresholds: Default::default(),
        tracking: None,
        style: Default::default(),
        encode: posecam::video::EncodeOptions::for_this_machine(),
        fps_overlay: false,
        max_duration_s: None,
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let stop = cancel.clone();
    let report = posecam::pipeline::export(
        &video,
        &posecam::pipeline::ExportOutputs::video_only(&f.path("whole.mp4")),
        vec![engine],
        &settings,
        cancel,
        move |p| {
            if p.frames_done == frames {
                stop.store(true, Ordering::Relaxed);
            }
        },
    )
    .unwrap();
    assert_eq!(report.frames, frames);
    assert!(!report.partial, "every frame was done before the stop");
}
