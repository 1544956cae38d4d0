//! Network cameras against real servers on 127.0.0.1: RTSP over TCP and UDP (with and without a
//! password), RTMP from nginx fed as OBS would, SRT in listener mode, HTTP MPEG-TS and MJPEG from a
//! single-client server, and files served over HTTP. Passwords never appear in anything posecam
//! writes; a camera that never answers fails at the timeout, and a stop ends a hanging connect.

use std::path::Path;
use std::process::Output;

use crate::common::fixture::{s, Fixture};
use crate::common::servers::{self, Server};

/// `posecam export URL --duration 3` (plus `extra`) into the fixture; the output and its JSON lines.
/// A fixture, or `None` (said on stderr) where the server a test needs is missing: `why` says so.
fn fixture_unless(why: Option<String>) -> Option<Fixture> {
    if let Some(why) = why {
        eprintln!("SKIPPED: {why}");
        return None;
    }
    Some(Fixture::new())
}

fn record(f: &Fixture, url: &str, extra: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let (video, jsonl) = (f.path("rec.mp4"), f.path("rec.jsonl"));
    let mut args = vec![
        "export",
        url,
        "-o",
        s(&video),
        "--json",
        s(&jsonl),
        "--model",
        "{tiny}",
        "--overwrite",
    ];
    args.extend(extra);
    let o = f.run(&args);
    let lines = std::fs::read_to_string(&jsonl)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o, lines)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// About 3 s of a 10 fps stream, from t = 0, and a video that long.
fn assert_three_seconds(f: &Fixture, o: &Output, lines: &[serde_json::Value], what: &str) {
    assert!(o.status.success(), "{what}: {}", text(o));
    assert!(
        (20..=45).contains(&lines.len()),
        "{what}: {} frames in 3 s of a 10 fps stream: {}",
        lines.len(),
        text(o)
    );
    assert_eq!(
        lines[0]["time"], 0.0,
        "{what}: the recording starts at t = 0"
    );
    let last = lines.last().unwrap()["time"].as_f64().unwrap();
    assert!(
        (2.0..=3.2).contains(&last),
        "{what}: last frame at {last} s"
    );
    let seconds = servers::duration_s(&f.path("rec.mp4"));
    assert!(
        (2.0..=3.6).contains(&seconds),
        "{what}: {seconds} s of video"
    );
}

/// The recording's audio (AAC from the camera) is there, and runs with the video.
fn assert_audio_in_step(f: &Fixture, what: &str) {
    let o = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,start_time,duration",
            "-of",
            "csv=p=0",
        ])
        .arg(f.path("rec.mp4"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let stream = |kind: &str| -> (f64, f64) {
        let line = text
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("{what}: no {kind} in {text}"));
        let v: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        (v[0], v[1])
    };
    let ((vs, vd), (a_s, ad)) = (stream("video"), stream("audio"));
    assert!(
        (a_s - vs).abs() <= 0.3,
        "{what}: audio starts at {a_s} s, video at {vs} s"
    );
    assert!(
        (ad - vd).abs() <= 0.5,
        "{what}: {ad} s of audio for {vd} s of video"
    );
}

#[test]
fn rtsp_over_tcp_and_udp_records_three_seconds_from_zero() {
    let Some(f) = fixture_unless(servers::rtsp_unavailable()) else {
        return;
    };
    let server = servers::rtsp(None);
    let url = format!("rtsp://127.0.0.1:{}/stream", server.port);
    let (o, lines) = record(&f, &url, &["--duration", "3"]);
    assert_three_seconds(&f, &o, &lines, "RTSP over TCP");
    assert_audio_in_step(&f, "RTSP over TCP");
    let (o, lines) = record(&f, &url, &["--duration", "3", "--rtsp-transport", "udp"]);
    assert_three_seconds(&f, &o, &lines, "RTSP over UDP");
    assert_live_frames(&f, &url, "RTSP");
}

#[test]
fn rtsp_passwords_work_wrong_ones_are_refused_in_one_line_and_none_is_ever_shown() {
    let Some(f) = fixture_unless(servers::rtsp_unavailable()) else {
        return;
    };
    let secret = "s3cretPa55";
    let server = servers::rtsp(Some(("admin", secret)));
    let url = format!("rtsp://admin:{secret}@127.0.0.1:{}/stream", server.port);
    let (o, lines) = record(&f, &url, &["--duration", "3", "-vv"]);
    assert_three_seconds(&f, &o, &lines, "RTSP with a password");
    // Nothing posecam wrote holds the password: stderr at -vv, stdout, every file.
    let everything = format!("{}{}", text(&o), String::from_utf8_lossy(&o.stdout));
    assert!(!everything.contains(secret), "{everything}");
    assert!(everything.contains("admin:***@"), "{everything}");
    for (path, bytes) in crate::common::fixture::tree(f.dir.path()) {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(!found, "{} holds the password", path.display());
    }
    // From the environment: the URL names the variable.
    let by_name = format!(
        "rtsp://admin:${{CAM_PASS}}@127.0.0.1:{}/stream",
        server.port
    );
    let o = f
        .command(&[
            "export",
            &by_name,
            "-o",
            "env.mp4",
            "--model",
            "{tiny}",
            "--duration",
            "1",
        ])
        .env("CAM_PASS", secret)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Wrong or missing credentials: one line that says so, at once.
    let wrong = format!("rtsp://admin:nope@127.0.0.1:{}/stream", server.port);
    let (o, _) = record(&f, &wrong, &["--duration", "3"]);
    crate::common::assert_refused(&o, "refused the user name or password");
    assert!(!text(&o).contains("nope"));
    let none = format!("rtsp://127.0.0.1:{}/stream", server.port);
    let (o, _) = record(&f, &none, &["--duration", "3"]);
    crate::common::assert_refused(&o, "asks for a user name and password");
}

#[test]
fn rtmp_from_nginx_fed_as_obs_would() {
    let Some(f) = fixture_unless(servers::rtmp_unavailable()) else {
        return;
    };
    let server = servers::rtmp();
    let url = format!("rtmp://127.0.0.1:{}/live/cam", server.port);
    // The publisher connects a moment after nginx listens: the first tries may find no stream yet.
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    loop {
        let (o, lines) = record(&f, &url, &["--duration", "3", "--stream-timeout", "3"]);
        if o.status.success() || std::time::Instant::now() > deadline {
            assert_three_seconds(&f, &o, &lines, "RTMP");
            assert_audio_in_step(&f, "RTMP");
            assert_live_frames(&f, &url, "RTMP");
            break;
        }
    }
}

#[test]
fn srt_and_single_client_http_mpegts_and_mjpeg_record_three_seconds() {
    let f = Fixture::new();
    let h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "10"];
    let srt = srt_listener(&h264);
    let (o, lines) = record(
        &f,
        &format!("srt://127.0.0.1:{}", srt.port),
        &["--duration", "3"],
    );
    assert_three_seconds(&f, &o, &lines, "SRT");
    let srt = srt_listener(&h264);
    assert_live_frames(&f, &format!("srt://127.0.0.1:{}", srt.port), "SRT");
    // `-listen 1` serves one client: probing and reading must share the one connection.
    let http = single_client(&h264, "mpegts", "s.ts");
    let url = format!("http://127.0.0.1:{}/s.ts", http.port);
    let (o, lines) = record(&f, &url, &["--duration", "3"]);
    assert_three_seconds(&f, &o, &lines, "HTTP MPEG-TS (one client)");
    let mjpeg = single_client(&["-c:v", "mjpeg", "-q:v", "5"], "mpjpeg", "cam.mjpg");
    let url = format!("http://127.0.0.1:{}/cam.mjpg", mjpeg.port);
    let (o, lines) = record(&f, &url, &["--duration", "3"]);
    assert_three_seconds(&f, &o, &lines, "HTTP MJPEG");
    // Each single-client server took its one client: new ones for the window's pipeline.
    let http = single_client(&h264, "mpegts", "s.ts");
    assert_live_frames(
        &f,
        &format!("http://127.0.0.1:{}/s.ts", http.port),
        "HTTP MPEG-TS",
    );
    let mjpeg = single_client(&["-c:v", "mjpeg", "-q:v", "5"], "mpjpeg", "cam.mjpg");
    assert_live_frames(
        &f,
        &format!("http://127.0.0.1:{}/cam.mjpg", mjpeg.port),
        "HTTP MJPEG",
    );
}

/// FFmpeg as an SRT listener (one caller, then it ends).
fn srt_listener(encode: &[&str]) -> Server {
    let server = servers::ffmpeg_server(
        |p| {
            vec![
                "-f".into(),
                "mpegts".into(),
                format!("srt://127.0.0.1:{p}?mode=listener"),
            ]
        },
        encode,
    );
    server
}

/// The window's pipeline on a stream, with the tiny model.
fn live_on(f: &Fixture, url: String) -> posecam::pipeline::LivePipeline {
    posecam::pipeline::LivePipeline::start(
        posecam::capture::SourceSpec::Stream(url),
        posecam::pipeline::EngineSpec {
            model: f.tiny.clone(),
            device: posecam::infer::Device::Cpu,
        },
        crate::live::settings(96, vec![1.0]),
        posecam::pipeline::LiveOptions::default(),
        std::sync::Arc::new(|| {}),
    )
    .unwrap()
}

/// The window's pipeline on `url` shows frames (waits for three results).
fn assert_live_frames(f: &Fixture, url: &str, what: &str) {
    let live = live_on(f, url.to_string());
    let deadline = std::time::Instant::now() + crate::common::DEADLINE;
    let mut results = 0;
    while results < 3 && std::time::Instant::now() < deadline {
        results += live.results().count();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        results >= 3,
        "{what}: the live pipeline showed {results} frames"
    );
}

fn single_client(encode: &[&str], format: &str, name: &str) -> Server {
    let server = servers::ffmpeg_server(
        |p| {
            vec![
                "-f".into(),
                format.into(),
                "-listen".into(),
                "1".into(),
                format!("http://127.0.0.1:{p}/{name}"),
            ]
        },
        encode,
    );
    servers::wait_for_listening(server.port);
    server
}

#[test]
fn files_served_over_http_export_every_frame_or_say_why_not() {
    let f = Fixture::new();
    let dir = f.path("served");
    std::fs::create_dir(&dir).unwrap();
    let clip = |name: &str, seconds: u32, extra: &[&str]| {
        crate::common::test_clip(&dir.join(name), "160x120", 10, seconds, false, extra);
    };
    clip("long.ts", 20, &["-f", "mpegts"]);
    clip("short.ts", 5, &["-f", "mpegts"]);
    clip("tiny.ts", 1, &["-f", "mpegts"]);
    clip("fast.mp4", 5, &["-movflags", "+faststart"]);
    crate::common::test_clip(&dir.join("slow.mp4"), "320x240", 10, 5, false, &[]);
    let server = servers::http_files(&dir);
    for name in ["long.ts", "short.ts", "tiny.ts", "fast.mp4"] {
        let url = format!("http://127.0.0.1:{}/{name}", server.port);
        let expected = servers::ffprobe_frames(&url).unwrap();
        let (o, lines) = record(&f, &url, &[]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert_eq!(
            lines.len() as u64,
            expected,
            "{name}: every frame ffmpeg decodes"
        );
        assert_eq!(lines[0]["frame"], 0, "{name}: from the first frame");
    }
    // An MP4 with its index at the end, from a server without range requests: every frame FFmpeg
    // decodes, or (what FFmpeg cannot do either past its buffer) said plainly.
    let url = format!("http://127.0.0.1:{}/slow.mp4", server.port);
    let (o, lines) = record(&f, &url, &[]);
    match servers::ffprobe_frames(&url) {
        Some(n) if n > 0 => assert_eq!(lines.len() as u64, n, "{}", text(&o)),
        _ => crate::common::assert_refused(&o, "range requests"),
    }
}

#[test]
fn a_camera_that_never_answers_fails_at_the_timeout_and_a_stop_ends_the_connect_at_once() {
    let f = Fixture::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts every connection and never says a word.
    let _silent = std::thread::Builder::new()
        .name("silent-camera".into())
        .spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming().flatten() {
                held.push(c);
            }
        })
        .unwrap();
    let url = format!("rtsp://127.0.0.1:{port}/stream");
    let (o, _) = record(&f, &url, &["--stream-timeout", "1"]);
    crate::common::assert_refused(&o, "did not answer within 1 s");
    // The window's pipeline on it: stopping it must not wait for FFmpeg's connect to time out.
    let live = live_on(&f, url);
    // The connect is under way once the silent server has the connection.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = std::time::Instant::now();
    let all_stopped = live.stop();
    eprintln!("stopping during a hanging connect took {:?}", t.elapsed());
    // Without the interrupt the source thread would sit in FFmpeg until the 5 s timeout, past the
    // 3 s the pipeline waits for its threads.
    assert!(all_stopped, "the source thread was left blocked in FFmpeg");
}

/// Streams that stop: an export ends with what it recorded.
#[test]
fn an_export_of_a_camera_that_goes_away_keeps_what_it_recorded() {
    let Some(f) = fixture_unless(servers::rtsp_unavailable()) else {
        return;
    };
    let server = servers::rtsp(None);
    let url = format!("rtsp://127.0.0.1:{}/stream", server.port);
    let mut child = f
        .command(&[
            "export",
            &url,
            "-o",
            "gone.mp4",
            "--json",
            "gone.jsonl",
            "--model",
            "{tiny}",
            "--stream-timeout",
            "2",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::common::StderrLines::follow(child.stderr.take().unwrap());
    assert!(lines.wait_for(crate::common::DEADLINE, |l| l.contains("export: ")));
    drop(server);
    let status = child.wait().unwrap();
    let err = lines.finish();
    assert!(status.success(), "{err}");
    let frames = std::fs::read_to_string(f.path("gone.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert!(frames > 0, "{err}");
    assert!(Path::new(&f.path("gone.mp4")).is_file());
}

/// The window's pipeline on an RTSP camera that goes away and comes back: it says so, reconnects,
/// and frames flow again; the time to reconnect is printed for the figures.
#[test]
fn the_live_pipeline_reconnects_to_an_rtsp_camera_that_comes_back() {
    use posecam::pipeline::PipelineEvent;
    use std::time::{Duration, Instant};
    let Some(f) = fixture_unless(servers::rtsp_unavailable()) else {
        return;
    };
    let port = servers::free_port();
    let server = servers::rtsp_on(port, None);
    let live = live_on(&f, format!("rtsp://127.0.0.1:{port}/stream"));
    let (mut results, mut reconnecting) = (0usize, false);
    let mut wait = |until: &dyn Fn(usize, bool) -> bool| {
        let deadline = Instant::now() + crate::common::DEADLINE;
        while Instant::now() < deadline && !until(results, reconnecting) {
            results += live.results().count();
            reconnecting |= live
                .events()
                .any(|e| matches!(e, PipelineEvent::Reconnecting { .. }));
            std::thread::sleep(Duration::from_millis(20));
        }
        (results, reconnecting)
    };
    let started = Instant::now();
    let (first, _) = wait(&|n, _| n >= 5);
    assert!(first >= 5, "frames from the camera: {first}");
    eprintln!("RTSP live: first 5 results after {:?}", started.elapsed());
    drop(server);
    let (_, said) = wait(&|_, r| r);
    assert!(said, "the window says it is reconnecting");
    let before = wait(&|_, _| true).0;
    let back = Instant::now();
    let _server = servers::rtsp_on(port, None);
    let (after, _) = wait(&|n, _| n >= before + 5);
    assert!(
        after >= before + 5,
        "frames again after the camera came back"
    );
    eprintln!(
        "RTSP live: frames again {:?} after the server came back",
        back.elapsed()
    );
}
