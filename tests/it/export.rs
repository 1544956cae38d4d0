//! `posecam export` as users meet it, checked with FFmpeg's own probe: frame counts, timestamps,
//! audio, keypoint files, odd inputs, and one clear line (and no file left behind) for bad ones.

// Each scenario reads top to bottom, however long.

use crate::common;

use crate::common::posecam;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::ffmpeg;

/// ffprobe's JSON for streams (with decoded frame counts) and format.
pub(crate) fn probe(path: &Path) -> serde_json::Value {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(
        o.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

pub(crate) fn stream<'a>(p: &'a serde_json::Value, kind: &str) -> Option<&'a serde_json::Value> {
    p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
}

pub(crate) fn frames(p: &serde_json::Value) -> u64 {
    stream(p, "video").unwrap()["nb_read_frames"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub(crate) fn duration(p: &serde_json::Value) -> f64 {
    p["format"]["duration"].as_str().unwrap().parse().unwrap()
}

/// Presentation times of every video frame.
pub(crate) fn frame_times(path: &Path) -> Vec<f64> {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub tiny: PathBuf,
}

pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tiny = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&tiny);
    Fixture { dir, tiny }
}

impl Fixture {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".posecam"))
            .collect()
    }
}

pub(crate) fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

pub(crate) fn assert_clean_failure(f: &Fixture, o: &Output, mentions: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "should fail: {err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("INFO")).collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(
        lines[0].starts_with("error:") && lines[0].contains(mentions),
        "should mention '{mentions}': {err}"
    );
    assert!(
        f.leftovers().is_empty(),
        "temporary files left: {:?}",
        f.leftovers()
    );
}

#[test]
fn shared_clip_exports_every_frame_with_audio_and_keypoints() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-with-audio-50f.mp4"),
    ) else {
        return;
    };
    let f = fixture();
    let (out, jsonl, dir) = (f.path("out.mp4"), f.path("out.jsonl"), f.path("openpose"));
    let o = posecam(&[
        "export",
        s(&clip),
        "-o",
        s(&out),
        "--json",
        s(&jsonl),
        "--json-dir",
        s(&dir),
        "--model",
        s(&model),
        "--stats",
    ]);
    assert_ok(&o);
    let (pin, pout) = (probe(&clip), probe(&out));
    assert_eq!(frames(&pout), 50);
    assert_eq!(frames(&pin), frames(&pout));
    assert!(
        (duration(&pin) - duration(&pout)).abs() < 0.1,
        "{} vs {}",
        duration(&pin),
        duration(&pout)
    );
    let audio = stream(&pout, "audio").expect("audio kept");
    assert_eq!(
        audio["codec_name"],
        stream(&pin, "audio").unwrap()["codec_name"],
        "copied unchanged"
    );
    assert_eq!(stream(&pout, "video").unwrap()["width"], 960);
    assert_eq!(frame_times(&clip), frame_times(&out), "same timestamps");

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50);
    let times = frame_times(&clip);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["frame"], i as u64);
        assert!((l["time"].as_f64().unwrap() - (times[i] - times[0])).abs() < 1e-3);
        assert!(l["people"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["pose_keypoints_2d"].as_array().unwrap().len() == 54));
    }
    let people: usize = lines
        .iter()
        .map(|l| l["people"].as_array().unwrap().len())
        .sum();
    assert!(
        people >= 150,
        "a street full of people: {people} in 50 frames"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 50);
    let first: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("street-with-audio-50f_000000000000_keypoints.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(first["version"], 1.3);
    let stats: serde_json::Value = serde_json::from_slice(o.stdout.trim_ascii()).unwrap();
    let names: Vec<&str> = stats["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["source", "infer", "associate", "encode"]);
}

#[test]
fn other_containers_codecs_and_sizes_work() {
    let f = fixture();
    let src = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=10",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        "1.5",
    ];
    /// (input, extra ffmpeg args, output name, expected size, expected audio codec)
    type Case<'a> = (&'a str, &'a [&'a str], &'a str, (u64, u64), Option<&'a str>);
    let cases: &[Case] = &[
        (
            "a.webm",
            &["-c:v", "libvpx", "-c:a", "libvorbis"],
            "webm.mp4",
            (320, 240),
            Some("aac"),
        ),
        (
            "b.avi",
            &["-vf", "scale=853:480", "-c:v", "mpeg4", "-c:a", "pcm_s16le"],
            "avi.mp4",
            (854, 480),
            Some("aac"),
        ),
        (
            "c.mov",
            &["-c:v", "mjpeg", "-c:a", "aac"],
            "mov.mp4",
            (320, 240),
            Some("aac"),
        ),
        (
            "d.mkv",
            &["-c:v", "libx264", "-c:a", "libvorbis"],
            "mkv.mkv",
            (320, 240),
            Some("vorbis"),
        ),
        ("e.gif", &["-an"], "gif.mp4", (320, 240), None),
    ];
    for (input, extra, output, size, audio) in cases {
        let (inp, out) = (f.path(input), f.path(output));
        let mut args: Vec<&str> = src.to_vec();
        args.extend_from_slice(extra);
        args.push(s(&inp));
        ffmpeg(&args);
        assert_ok(&posecam(&[
            "export",
            s(&inp),
            "-o",
            s(&out),
            "--model",
            s(&f.tiny),
        ]));
        let (pin, pout) = (probe(&inp), probe(&out));
        assert_eq!(frames(&pin), frames(&pout), "{input}");
        let v = stream(&pout, "video").unwrap();
        assert_eq!(
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            *size,
            "{input}"
        );
        assert_eq!(
            stream(&pout, "audio").map(|a| a["codec_name"].as_str().unwrap()),
            *audio,
            "{input}"
        );
    }
    // An image sequence.
    std::fs::create_dir(f.path("seq")).unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=5",
        "-t",
        "1",
        s(&f.path("seq/img_%03d.png")),
    ]);
    let out = f.path("seq.mp4");
    assert_ok(&posecam(&[
        "export",
        s(&f.path("seq/img_%03d.png")),
        "-o",
        s(&out),
        "--model",
        s(&f.tiny),
    ]));
    assert_eq!(frames(&probe(&out)), 5);
}

#[test]
fn variable_frame_rate_timestamps_survive() {
    let f = fixture();
    let vfr = f.path("vfr.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=10",
        "-t",
        "3",
        "-vf",
        "select='not(between(n\\,8\\,14))*not(eq(n\\,20))'",
        "-vsync",
        "vfr",
        "-c:v",
        "libx264",
        s(&vfr),
    ]);
    let out = f.path("out.mp4");
    assert_ok(&posecam(&[
        "export",
        s(&vfr),
        "-o",
        s(&out),
        "--model",
        s(&f.tiny),
    ]));
    let (tin, tout) = (frame_times(&vfr), frame_times(&out));
    assert_eq!(tin.len(), 22);
    assert_eq!(tin, tout);
}

#[test]
fn rotated_phone_videos_come_out_upright() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    let f = fixture();
    // Stored sideways (as a phone held upright records) with a display matrix that turns it upright
    // (FFmpeg's autorotate shows this file upright; the tag needs a stream copy to be written).
    let (stored_raw, sideways) = (f.path("stored.mp4"), f.path("sideways.mp4"));
    ffmpeg(&[
        "-i",
        s(&clip),
        "-vf",
        "transpose=1",
        "-c:v",
        "libx264",
        s(&stored_raw),
    ]);
    ffmpeg(&[
        "-i",
        s(&stored_raw),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        s(&sideways),
    ]);
    let stored = probe(&sideways);
    assert_eq!(
        stream(&stored, "video").unwrap()["width"],
        540,
        "stored sideways"
    );
    let (out, jsonl) = (f.path("upright.mp4"), f.path("upright.jsonl"));
    assert_ok(&posecam(&[
        "export",
        s(&sideways),
        "-o",
        s(&out),
        "--json",
        s(&jsonl),
        "--model",
        s(&model),
    ]));
    let v = probe(&out);
    let video = stream(&v, "video").unwrap();
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(960), Some(540)),
        "upright"
    );
    assert!(
        video.get("side_data_list").is_none(),
        "no rotation tag left: {video}"
    );
    let people: usize = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["people"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert!(
        people >= 15,
        "upright people are found: {people} in 5 frames"
    );
}

#[test]
fn bad_inputs_and_outputs_fail_cleanly() {
    let f = fixture();
    let tiny = s(&f.tiny).to_string();
    let out = f.path("out.mp4");
    let run =
        |input: &Path, out: &Path| posecam(&["export", s(input), "-o", s(out), "--model", &tiny]);

    assert_clean_failure(&f, &run(&f.path("missing.mp4"), &out), "no such file");
    std::fs::write(f.path("empty.mp4"), b"").unwrap();
    assert_clean_failure(
        &f,
        &run(&f.path("empty.mp4"), &out),
        "cannot open as a video",
    );
    std::fs::write(f.path("notes.mp4"), b"not a video at all").unwrap();
    assert_clean_failure(
        &f,
        &run(&f.path("notes.mp4"), &out),
        "cannot open as a video",
    );
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-t",
        "1",
        s(&f.path("sound.wav")),
    ]);
    assert_clean_failure(&f, &run(&f.path("sound.wav"), &out), "no video stream");

    // Cut in the middle of its data (index at the front, as streaming files have it).
    let whole = f.path("whole.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=25",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-movflags",
        "+faststart",
        s(&whole),
    ]);
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(f.path("cut.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    assert_clean_failure(&f, &run(&f.path("cut.mp4"), &out), "truncated");
    assert!(!out.exists(), "no output for failed exports");

    assert_clean_failure(
        &f,
        &run(&whole, &f.path("no/such/dir/out.mp4")),
        "does not exist",
    );
    assert_clean_failure(&f, &run(&whole, &f.path("out.xyz")), "out.xyz");
    std::fs::write(f.path("broken.onnx"), b"garbage").unwrap();
    assert_clean_failure(
        &f,
        &posecam(&[
            "export",
            s(&whole),
            "-o",
            s(&out),
            "--model",
            s(&f.path("broken.onnx")),
        ]),
        "not a loadable ONNX model",
    );

    // Existing outputs and the input itself are never written.
    std::fs::write(&out, b"precious").unwrap();
    assert_clean_failure(&f, &run(&whole, &out), "already exists");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    assert_clean_failure(
        &f,
        &posecam(&[
            "export",
            s(&whole),
            "-o",
            s(&whole),
            "--overwrite",
            "--model",
            &tiny,
        ]),
        "input",
    );
    assert_eq!(std::fs::read(&whole).unwrap(), bytes);
    assert_ok(&posecam(&[
        "export",
        s(&whole),
        "-o",
        s(&out),
        "--overwrite",
        "--model",
        &tiny,
    ]));
    assert_eq!(frames(&probe(&out)), 100);
}

#[test]
fn ctrl_c_keeps_a_playable_partial_file() {
    let f = fixture();
    let long = f.path("long.mp4");
    common::long_clip(&long);
    let out = f.path("partial.mp4");
    let child = Command::new(common::posecam_bin())
        .args(["export", s(&long), "-o", s(&out), "--model", s(&f.tiny)])
        .args(["--net-height", "1024", "--scales", "1,1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_for_progress(f.dir.path(), 100_000);
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("PARTIAL"), "{err}");
    let p = probe(&out);
    let n = frames(&p);
    assert!(n > 0 && n < 1800, "{n} frames");
    assert!(stream(&p, "audio").is_some());
    assert!(
        (duration(&p) - n as f64 / 30.0).abs() < 0.5,
        "audio cut with the video: {} s for {n} frames",
        duration(&p)
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}
