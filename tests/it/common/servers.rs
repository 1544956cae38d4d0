//! Real streaming servers for the camera tests, each started on 127.0.0.1 by the test and stopped by
//! PID: GStreamer's RTSP server (a few lines of Python), nginx with its RTMP module, and FFmpeg as an
//! SRT listener or a single-client HTTP server.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A server process, killed (and waited for) when dropped.
pub struct Server {
    children: Vec<Child>,
    pub port: u16,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            // SAFETY: kill signals a process this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `None` when `what` can run here; otherwise why not (a failure in CI, a skip elsewhere).
fn missing(what: &str, available: bool, enable: &str) -> Option<String> {
    if available {
        return None;
    }
    let reason = format!("{what} is not installed: {enable}");
    assert!(!ci(), "CI: {reason}");
    Some(reason)
}

const RTSP_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/servers/rtsp_server.py"
);

/// Why the RTSP server cannot run here, if it cannot.
pub fn rtsp_unavailable() -> Option<String> {
    let ok = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); \
             from gi.repository import GstRtspServer",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    missing(
        "GStreamer's RTSP server",
        ok,
        "./posecam.sh test installs gir1.2-gst-rtsp-server-1.0 and the GStreamer plugins",
    )
}

const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

pub fn rtmp_unavailable() -> Option<String> {
    missing(
        "nginx with its RTMP module",
        Path::new("/usr/sbin/nginx").exists() && Path::new(RTMP_MODULE).exists(),
        "`sudo apt-get install nginx-light libnginx-mod-rtmp` enables this test (CI=true \
         ./posecam.sh test installs them; elsewhere nothing is installed unasked, since with \
         systemd nginx starts a system service)",
    )
}

/// GStreamer's RTSP server on a free port, serving `/stream` (to `credentials` only, if given).
pub fn rtsp(credentials: Option<(&str, &str)>) -> Server {
    rtsp_on(free_port(), credentials)
}

pub fn rtsp_on(port: u16, credentials: Option<(&str, &str)>) -> Server {
    let mut c = Command::new("/usr/bin/python3");
    c.arg(RTSP_SCRIPT).arg(port.to_string());
    if let Some((user, password)) = credentials {
        c.args([user, password]);
    }
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the RTSP server");
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the RTSP server did not start");
    Server {
        children: vec![child],
        port,
        _dir: None,
    }
}

/// nginx serving RTMP, fed by FFmpeg as OBS would (H.264 + AAC over RTMP) at `/live/cam`.
pub fn rtmp() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = format!(
        "load_module {RTMP_MODULE};\ndaemon off;\nmaster_process off;\npid {0}/nginx.pid;\n\
         error_log {0}/error.log;\nevents {{}}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; }} }} }}\n",
        dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let nginx = Command::new("/usr/sbin/nginx")
        .args(["-p", &dir.path().to_string_lossy(), "-c", "nginx.conf"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    wait_for_port(port);
    let url = format!("rtmp://127.0.0.1:{port}/live/cam");
    let publisher = ffmpeg_live(&["-c:a", "aac", "-f", "flv", &url], true);
    Server {
        children: vec![nginx, publisher],
        port,
        _dir: Some(dir),
    }
}

/// FFmpeg sending a live test picture (320x240, 10 fps, key frame every second) to `output_args`.
pub fn ffmpeg_live(output_args: &[&str], audio: bool) -> Child {
    let h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "10"];
    spawn_ffmpeg(audio, &h264, output_args)
}

/// FFmpeg as a server (an SRT listener, a single-client HTTP server): `make(port)` gives its output
/// arguments.
pub fn ffmpeg_server(make: impl Fn(u16) -> Vec<String>, encode: &[&str]) -> Server {
    let port = free_port();
    let out = make(port);
    let out: Vec<&str> = out.iter().map(String::as_str).collect();
    Server {
        children: vec![spawn_ffmpeg(false, encode, &out)],
        port,
        _dir: None,
    }
}

/// FFmpeg's live test picture (and a tone with `audio`) for ten minutes, encoded with `encode`.
fn spawn_ffmpeg(audio: bool, encode: &[&str], output_args: &[&str]) -> Child {
    let mut args = vec![
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=10",
    ];
    if audio {
        args.extend(["-f", "lavfi", "-i", "sine"]);
    }
    args.extend(["-t", "600"]);
    args.extend(encode);
    args.extend(output_args);
    Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ffmpeg")
}

/// Python's HTTP file server over `dir` (no range requests, as many simple servers).
pub fn http_files(dir: &Path) -> Server {
    let port = free_port();
    let child = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3 -m http.server");
    wait_for_port(port);
    Server {
        children: vec![child],
        port,
        _dir: None,
    }
}

/// Waits until a process listens on `port` (TCP), without connecting to it (a single-client server
/// would take the test's connection for its one client).
pub fn wait_for_listening(port: u16) {
    let hex = format!(":{port:04X} ");
    let deadline = std::time::Instant::now() + super::DEADLINE;
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        // Local address ends with the port; state 0A is LISTEN.
        if table
            .lines()
            .any(|l| l.contains(&hex) && l.split_whitespace().nth(3) == Some("0A"))
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until something listens on `port` (TCP).
pub fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + super::DEADLINE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Frames FFmpeg decodes from `url` (or a file).
pub fn ffprobe_frames(url: &str) -> Option<u64> {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .ok()?;
    // MPEG-TS prints the stream's count and its program's: the first is the stream's.
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.trim().parse().ok())
}

/// Seconds of a file's video, as FFmpeg reads them.
pub fn duration_s(path: &Path) -> f64 {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
            &path.to_string_lossy(),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}
