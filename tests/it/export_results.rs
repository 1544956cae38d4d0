//! Export results checked against other paths: the same people as `posecam image` on the same
//! frame, a spliced MPEG-TS, the same IDs in every output, colours that survive.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::export::{assert_ok, fixture, frames, probe, s, stream};
use crate::common::{self, ffmpeg, posecam};

/// Keypoints (x, y) present in an OpenPose person.
fn keypoints(p: &serde_json::Value) -> Vec<Option<(f64, f64)>> {
    p["pose_keypoints_2d"]
        .as_array()
        .unwrap()
        .chunks(3)
        .map(|k| {
            let (x, y, c) = (
                k[0].as_f64().unwrap(),
                k[1].as_f64().unwrap(),
                k[2].as_f64().unwrap(),
            );
            (c > 0.0).then_some((x, y))
        })
        .collect()
}

/// Mean distance between the parts of two people (infinite unless they have the same parts).
fn distance(a: &[Option<(f64, f64)>], b: &[Option<(f64, f64)>]) -> f64 {
    if a.iter().zip(b).any(|(p, q)| p.is_some() != q.is_some()) {
        return f64::INFINITY;
    }
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(p, q)| {
            let ((px, py), (qx, qy)) = ((*p)?, (*q)?);
            Some(((px - qx).powi(2) + (py - qy).powi(2)).sqrt())
        })
        .collect();
    if d.is_empty() {
        f64::INFINITY
    } else {
        d.iter().sum::<f64>() / d.len() as f64
    }
}

#[test]
fn image_and_export_find_the_same_people_on_the_same_frame() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    let f = fixture();
    // The frame as posecam decodes it, saved as a picture.
    let png = f.path("frame2.png");
    let mut reader = posecam::video::VideoReader::open(&clip).unwrap();
    let frame = (0..3)
        .map(|_| reader.next_frame().unwrap().unwrap())
        .last()
        .unwrap();
    frame.picture.to_rgb().save(&png).unwrap();
    let image = posecam(&["image", s(&png), "--model", s(&model)]);
    assert_ok(&image);
    let from_image: serde_json::Value = serde_json::from_slice(&image.stdout).unwrap();
    let jsonl = f.path("clip.jsonl");
    let export = posecam(&[
        "export",
        s(&clip),
        "-o",
        s(&f.path("clip.mp4")),
        "--json",
        s(&jsonl),
        "--model",
        s(&model),
    ]);
    assert_ok(&export);
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .nth(2)
            .unwrap(),
    )
    .unwrap();
    let (a, b) = (
        from_image["people"].as_array().unwrap(),
        line["people"].as_array().unwrap(),
    );
    assert!(a.len() >= 3, "a street full of people: {}", a.len());
    assert_eq!(a.len(), b.len(), "same people count");
    for p in a {
        let best = b
            .iter()
            .map(|q| distance(&keypoints(p), &keypoints(q)))
            .fold(f64::INFINITY, f64::min);
        assert!(
            best < 0.01,
            "a person found by `image` is {best:.3} px from any found by `export`"
        );
    }
}

#[test]
fn a_spliced_mpeg_ts_with_an_audio_stream_that_appears_late_exports() {
    let f = fixture();
    let (a, b, spliced) = (f.path("a.ts"), f.path("b.ts"), f.path("spliced.ts"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
        "-f",
        "mpegts",
        s(&a),
    ]);
    // The second half carries a second audio track: a stream the first half never announced.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-f",
        "lavfi",
        "-i",
        "sine",
        "-f",
        "lavfi",
        "-i",
        "sine=f=880",
        "-t",
        "2",
        "-map",
        "0",
        "-map",
        "1",
        "-map",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "aac",
        "-f",
        "mpegts",
        "-output_ts_offset",
        "4",
        s(&b),
    ]);
    let mut bytes = std::fs::read(&a).unwrap();
    bytes.extend(std::fs::read(&b).unwrap());
    std::fs::write(&spliced, bytes).unwrap();
    let out = f.path("spliced.mp4");
    assert_ok(&posecam(&[
        "export",
        s(&spliced),
        "-o",
        s(&out),
        "--model",
        s(&f.tiny),
    ]));
    let p = probe(&out);
    assert_eq!(frames(&p), 60);
    assert!(
        stream(&p, "audio").is_some(),
        "the complete audio track is kept"
    );
}

/// Person IDs per frame in a JSON lines file.
fn jsonl_ids(path: &Path) -> Vec<Vec<i64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["people"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["person_id"][0].as_i64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn ids_are_the_same_in_every_output_and_no_track_gives_openposes() {
    let (Some(model), Some(gif)) = (
        common::shared_model(),
        common::shared("data/video/two-walking-480x270.gif"),
    ) else {
        return;
    };
    let f = fixture();
    let (jsonl, dir, csv) = (f.path("t.jsonl"), f.path("frames"), f.path("t.csv"));
    let o = posecam(&[
        "export",
        s(&gif),
        "-o",
        s(&f.path("t.mp4")),
        "--json",
        s(&jsonl),
        "--json-dir",
        s(&dir),
        "--csv",
        s(&csv),
        "--numbers",
        "--trails",
        "--model",
        s(&model),
    ]);
    assert_ok(&o);
    let ids = jsonl_ids(&jsonl);
    assert_eq!(ids.len(), 35);
    assert!(
        ids.iter().all(|f| {
            let mut v = f.clone();
            v.sort();
            v == [1, 2]
        }),
        "{ids:?}"
    );
    // The per-frame files say the same.
    for (i, frame_ids) in ids.iter().enumerate() {
        let file = dir.join(format!("two-walking-480x270_{i:012}_keypoints.json"));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let here: Vec<i64> = v["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["person_id"][0].as_i64().unwrap())
            .collect();
        assert_eq!(&here, frame_ids, "frame {i}");
    }
    // So does the CSV, in long format with raw and smoothed positions.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("frame,time,person,part,x,y,score,x_smooth,y_smooth")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows
        .iter()
        .all(|r| r.len() == 9 && (r[2] == "1" || r[2] == "2")));
    let frames: BTreeSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(frames.len(), 35);
    assert!(
        rows.iter().any(|r| r[4] != r[7]),
        "smoothed positions differ from raw somewhere"
    );
    // --no-track: OpenPose's -1 everywhere, the same keypoints.
    let plain = f.path("plain.jsonl");
    assert_ok(&posecam(&[
        "export",
        s(&gif),
        "-o",
        s(&f.path("p.mp4")),
        "--json",
        s(&plain),
        "--no-track",
        "--model",
        s(&model),
    ]));
    assert!(jsonl_ids(&plain).iter().flatten().all(|&id| id == -1));
    let keypoints = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["people"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["pose_keypoints_2d"].clone())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        keypoints(&jsonl),
        keypoints(&plain),
        "tracking never changes the raw keypoints"
    );
    let refused = posecam(&[
        "export",
        s(&gif),
        "-o",
        s(&f.path("x.mp4")),
        "--csv",
        s(&f.path("x.csv")),
        "--no-track",
        "--model",
        s(&model),
    ]);
    assert!(!refused.status.success());
}

/// The first frame of `path` as FFmpeg converts it to RGB (by the file's own colour tags).
fn ffmpeg_rgb(path: &Path) -> Vec<u8> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i", s(path)])
        .args("-frames:v 1 -f rawvideo -pix_fmt rgb24 -".split(' '))
        .output()
        .expect("ffmpeg");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn hd_full_range_and_high_bit_depth_colours_survive_export() {
    let f = fixture();
    const BT709: &str = "-colorspace bt709 -color_primaries bt709 -color_trc bt709";
    // (name, size, scale filter, tags, the allowed mean difference in RGB levels)
    let cases = [
        (
            "hd709.mp4",
            "1280x720",
            "out_color_matrix=bt709:out_range=tv,format=yuv420p",
            BT709,
            1.0,
        ),
        (
            "full601.mp4",
            "640x360",
            "out_color_matrix=bt601:out_range=pc,format=yuvj420p",
            "-colorspace smpte170m -color_range pc",
            1.0,
        ),
        // 4:4:4 10-bit is encoded as 4:2:0 8-bit: sharp colour edges lose chroma detail, hue stays.
        (
            "hi709.mp4",
            "640x360",
            "out_color_matrix=bt709:out_range=tv,format=yuv444p10le",
            BT709,
            3.0,
        ),
    ];
    for (name, size, scale, tag_args, allowed) in cases {
        let (input, output) = (f.path(name), f.path(&format!("out-{name}")));
        let (src, vf) = (
            format!("testsrc2=size={size}:rate=10"),
            format!("scale={scale}"),
        );
        let mut args = vec!["-f", "lavfi", "-i", &src];
        args.extend(["-t", "0.5", "-vf", &vf]);
        args.extend(tag_args.split(' '));
        args.extend(["-c:v", "libx264", "-crf", "10", s(&input)]);
        common::ffmpeg(&args);
        let json = f.path("keypoints.json");
        assert_ok(&posecam(&[
            "export",
            s(&input),
            "-o",
            s(&output),
            "--json",
            s(&json),
            "--model",
            s(&f.tiny),
            "--overwrite",
        ]));
        let first = std::fs::read_to_string(&json).unwrap();
        assert!(
            first.lines().next().unwrap().contains("\"people\":[]"),
            "nothing drawn on frame 0"
        );

        let tags_of = |p: &Path| {
            let video = stream(&probe(p), "video").unwrap().clone();
            [
                "color_space",
                "color_range",
                "color_primaries",
                "color_transfer",
            ]
            .map(|k| video[k].clone())
        };
        assert_eq!(
            tags_of(&input),
            tags_of(&output),
            "{name}: colour tags carried"
        );

        let (rgb_in, rgb_out) = (ffmpeg_rgb(&input), ffmpeg_rgb(&output));
        let drift = mean_abs_diff(&rgb_in, &rgb_out);
        assert!(
            drift < allowed,
            "{name}: exported colours drift by {drift:.2} levels"
        );

        // What the network sees: posecam's own YUV to RGB agrees with FFmpeg's.
        let mut reader = posecam::video::VideoReader::open(&input).unwrap();
        let ours = reader
            .next_frame()
            .unwrap()
            .unwrap()
            .picture
            .to_rgb()
            .into_raw();
        let drift = mean_abs_diff(&ours, &rgb_in);
        assert!(
            drift < allowed,
            "{name}: decoded colours differ from FFmpeg's by {drift:.2} levels"
        );
    }
}
