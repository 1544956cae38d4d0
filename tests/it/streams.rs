//! Network streams, served locally by an ffmpeg sender over UDP (MPEG-TS, as IP cameras and OBS send
//! it): export records a stream for a set time or until it stops, and the live pipeline reconnects
//! when the sender goes away and resumes when it comes back.

use crate::common::{self, DEADLINE};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use posecam::capture::SourceSpec;
use posecam::infer::{Device, NetConfig};
use posecam::pipeline::{EngineSpec, LiveOptions, LivePipeline, PipelineEvent, PipelineSettings};
use posecam::pose::Thresholds;

/// Frames recorded so far, from an export's progress line (`export: 12 frames, 9.8 fps`).
fn progress_frames(line: &str) -> Option<u64> {
    let rest = line.strip_prefix("export: ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// An ffmpeg process sending a 10 fps test picture to a UDP port in real time; killed when dropped.
struct Sender(Child);

/// ffmpeg sending for `seconds` with a keyframe every `gop` frames, up to its output (the URL).
fn sender_command(seconds: u32, gop: &str) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg("testsrc=size=320x240:rate=10")
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-tune", "zerolatency", "-g", gop, "-f", "mpegts"])
        .stdin(Stdio::null());
    c
}

impl Sender {
    fn start(url: &str, seconds: u32) -> Self {
        let child = sender_command(seconds, "10")
            .arg(format!("{url}?pkt_size=1316"))
            .spawn()
            .expect("ffmpeg is installed by set-up");
        Self(child)
    }
}

/// `posecam export URL -o OUT --json JSON ARGS...`, its stderr piped.
fn recording(url: &str, out: &Path, json: &Path, args: &[&str]) -> Child {
    Command::new(common::posecam_bin())
        .args(["export", url, "-o", out.to_str().unwrap()])
        .args(["--json", json.to_str().unwrap()])
        .args(args)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

impl Drop for Sender {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A local UDP address nothing listens on now.
fn free_udp_url() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    format!("udp://127.0.0.1:{}", socket.local_addr().unwrap().port())
}

fn probe(path: &std::path::Path, entries: &str) -> String {
    let o = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", entries, "-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn export_records_a_stream_for_the_duration_asked_starting_at_zero() {
    let Some(model) = common::shared_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, out) = (free_udp_url(), dir.path().join("recording.mp4"));
    // Sends far longer than any machine needs to load the model and record 2 s.
    let _sender = Sender::start(&url, 600);
    let o = common::posecam(&[
        "export",
        &url,
        "-o",
        out.to_str().unwrap(),
        "--duration",
        "2",
        "--model",
        model.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // Two seconds at 10 fps, whenever the recording joined the stream.
    let frames: u64 = probe(&out, "stream=nb_read_frames").parse().unwrap();
    assert!((19..=21).contains(&frames), "{frames} frames: {err}");
    let start: f64 = probe(&out, "stream=start_time").parse().unwrap();
    assert!(start.abs() < 0.05, "recording starts at {start} s");
}

#[test]
fn export_of_a_stream_that_stops_keeps_what_was_recorded() {
    let Some(model) = common::shared_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, out) = (free_udp_url(), dir.path().join("recording.mp4"));
    let json = dir.path().join("recording.json");
    let sender = Sender::start(&url, 600);
    let mut export = recording(&url, &out, &json, &["--model", model.to_str().unwrap()]);
    // Once it has recorded at least 10 frames (its progress line says so), the sender goes away
    // for good.
    let log = common::StderrLines::follow(export.stderr.take().unwrap());
    let recorded = log.wait_for(DEADLINE, |line| progress_frames(line) >= Some(10));
    drop(sender);
    let status = export.wait().unwrap();
    let err = log.finish();
    assert!(recorded, "no progress line with 10 frames: {err}");
    assert!(status.success(), "{err}");
    assert!(err.contains("stopped sending"), "says why it ended: {err}");
    let frames: u64 = probe(&out, "stream=nb_read_frames").parse().unwrap();
    assert!(frames >= 10, "{frames} frames recorded: {err}");
    let lines = std::fs::read_to_string(&json).unwrap().lines().count() as u64;
    assert!(
        lines >= frames,
        "one keypoint record per frame: {lines} < {frames}"
    );
}

#[test]
fn the_live_pipeline_reconnects_when_a_stream_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let url = free_udp_url();
    let sender = Sender::start(&url, 600);
    let pipeline = LivePipeline::start(
        SourceSpec::parse(&url).unwrap(),
        EngineSpec {
            model,
            device: Device::Cpu,
        },
        PipelineSettings {
            net: NetConfig {
                net_height: 96,
                scales: vec![1.0],
                short_side: false,
            },
            thresholds: Thresholds::default(),
            tracking: None,
        },
        LiveOptions::default(),
        Arc::new(|| {}),
    )
    .unwrap();
    let (mut results, mut events) = (0, Vec::new());
    let mut take = |until: &dyn Fn(usize, &[PipelineEvent]) -> bool, limit: Duration| {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !until(results, &events) {
            results += pipeline.results().count();
            events.extend(pipeline.events());
            std::thread::sleep(Duration::from_millis(20));
        }
        (results, events.clone())
    };
    let (before, _) = take(&|n, _| n >= 10, DEADLINE);
    assert!(before >= 10, "frames from the stream: {before}");

    drop(sender);
    let reconnecting = |e: &PipelineEvent| matches!(e, PipelineEvent::Reconnecting { .. });
    let (stalled_at, seen) = take(&|_, ev| ev.iter().any(reconnecting), DEADLINE);
    assert!(seen.iter().any(reconnecting), "no reconnection: {seen:?}");
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, PipelineEvent::Error(_) | PipelineEvent::SourceFailed(_))),
        "a dropped stream is not an error: {seen:?}"
    );

    let _back = Sender::start(&url, 600);
    let (after, seen) = take(&|n, _| n >= stalled_at + 10, DEADLINE);
    assert!(
        after >= stalled_at + 10,
        "no frames after the sender came back: {seen:?}"
    );
}

/// Waits for `child` to end, at most [`DEADLINE`]; `None` (and the child killed) if it did not.
fn ended_within_deadline(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn the_first_signal_ends_a_read_that_waits_for_data_and_keeps_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let (url, out) = (free_udp_url(), dir.path().join("recording.mp4"));
    let json = dir.path().join("recording.jsonl");
    let sender = Sender::start(&url, 600);
    // A stream that goes quiet for longer than this test waits: only the signal can end the read.
    let model = model.to_str().unwrap();
    let mut export = recording(
        &url,
        &out,
        &json,
        &[
            "--stream-timeout",
            "600",
            "--model",
            model,
            "--net-height",
            "96",
        ],
    );
    let log = common::StderrLines::follow(export.stderr.take().unwrap());
    let recorded = log.wait_for(DEADLINE, |line| progress_frames(line) >= Some(10));
    // Quiet now, as a sender between two far-apart keyframes is to a decoder.
    drop(sender);
    // SAFETY: kill sends a signal to our own child.
    unsafe { libc::kill(export.id() as i32, libc::SIGINT) };
    let status = ended_within_deadline(&mut export);
    let err = log.finish();
    assert!(recorded, "no progress line with 10 frames: {err}");
    let status =
        status.unwrap_or_else(|| panic!("still reading {DEADLINE:?} after the signal: {err}"));
    assert_eq!(status.code(), Some(130), "{err}");
    let frames: u64 = probe(&out, "stream=nb_read_frames").parse().unwrap();
    assert!(frames >= 10, "{frames} frames kept: {err}");
    let lines = std::fs::read_to_string(&json).unwrap().lines().count() as u64;
    assert_eq!(lines, frames, "one keypoint record per frame kept");
}

#[test]
fn a_stream_joined_between_keyframes_says_that_no_keyframe_came() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    common::onnx::write_tiny_cmu_model(&model);
    let url = free_udp_url();
    // One keyframe at the start and none for a minute after (no scene-cut keyframes either).
    let mut sender = sender_command(600, "600")
        .args([
            "-sc_threshold",
            "0",
            "-progress",
            "pipe:1",
            "-stats_period",
            "0.1",
        ])
        .arg(format!("{url}?pkt_size=1316"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Joins once the sender is past its keyframe (its progress says frame=5 or more); the rest of
    // its progress is read on, so the sender never blocks on it.
    let progress = std::io::BufReader::new(sender.stdout.take().unwrap());
    let (tx, rx) = crossbeam_channel::bounded(1);
    let _reader = std::thread::Builder::new()
        .name("sender-progress".into())
        .spawn(move || {
            for line in std::io::BufRead::lines(progress).map_while(Result::ok) {
                let frame = line
                    .strip_prefix("frame=")
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if frame.is_some_and(|n| n >= 5) {
                    let _ = tx.try_send(());
                }
            }
        })
        .unwrap();
    let past_keyframe = rx.recv_timeout(DEADLINE).is_ok();
    let o = common::posecam(&[
        "export",
        &url,
        "-o",
        dir.path().join("r.mp4").to_str().unwrap(),
        "--stream-timeout",
        "4",
        "--model",
        model.to_str().unwrap(),
    ]);
    let _ = sender.kill();
    let _ = sender.wait();
    assert!(past_keyframe);
    common::assert_refused(&o, "no keyframe arrived");
    assert!(!dir.path().join("r.mp4").exists());
}
