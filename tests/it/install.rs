//! posecam outside its checkout: a copied binary with an empty HOME installs ONNX Runtime into the
//! user's data folder from a package index (resuming a broken download, checking the index's SHA-256,
//! doing nothing the second time), then runs; a libonnxruntime.so in the current folder is never
//! loaded; `posecam doctor` says where everything is.

use crate::common;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::http::{Route, Server};
use sha2::Digest;

const ORT: &str = "1.31.1";

/// The checkout's installed CPU build (set-up puts it there).
fn installed_runtime() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/onnxruntime")
}

/// A wheel holding the runtime libraries where PyPI's onnxruntime wheel has them.
fn wheel() -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut bytes);
    let options = zip::write::SimpleFileOptions::default();
    for name in [
        format!("libonnxruntime.so.{ORT}"),
        "libonnxruntime_providers_shared.so".into(),
    ] {
        let path = installed_runtime().join(&name);
        zip.start_file(format!("onnxruntime/capi/{name}"), options)
            .unwrap();
        zip.write_all(
            &std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (run ./posecam.sh setup)", path.display())),
        )
        .unwrap();
    }
    zip.start_file("onnxruntime/__init__.py", options).unwrap();
    zip.finish().unwrap();
    bytes.into_inner()
}

/// A package index serving that wheel, whose first download breaks off half-way.
fn index() -> (Server, usize) {
    let wheel = wheel();
    let filename = format!(
        "onnxruntime-{ORT}-cp311-cp311-manylinux_2_28_{}.whl",
        std::env::consts::ARCH
    );
    let listing = serde_json::json!({
        "files": [
            {
                "filename": format!("onnxruntime-{ORT}-cp311-cp311-win_amd64.whl"),
                "url": "/files/nope.whl", "hashes": {"sha256": "00"}, "size": 1
            },
            {
                "filename": filename,
                "url": format!("/files/{filename}"),
                "hashes": {"sha256": common::hex(&sha2::Sha256::digest(&wheel))},
                "size": wheel.len()
            }
        ]
    });
    let size = wheel.len();
    let routes = HashMap::from([
        (
            "/simple/onnxruntime/".to_string(),
            Route {
                body: listing.to_string().into_bytes(),
                content_type: "application/vnd.pypi.simple.v1+json",
                cut_first_at: None,
            },
        ),
        (
            format!("/files/{filename}"),
            Route {
                body: wheel,
                content_type: "application/octet-stream",
                cut_first_at: Some(size / 2),
            },
        ),
    ]);
    (Server::start(routes), size)
}

/// A copied binary, an empty HOME and a working folder holding a photo and a tiny model.
struct Sandbox {
    _root: tempfile::TempDir,
    bin: PathBuf,
    home: PathBuf,
    work: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let (home, bin_dir, work) = (
            root.path().join("home"),
            root.path().join("bin"),
            root.path().join("work"),
        );
        for d in [&home, &bin_dir, &work] {
            std::fs::create_dir_all(d).unwrap();
        }
        let bin = bin_dir.join("posecam");
        std::fs::copy(common::posecam_bin(), &bin).unwrap();
        image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8, y as u8, 90]))
            .save(work.join("photo.jpg"))
            .unwrap();
        common::onnx::write_tiny_cmu_model(&work.join("tiny.onnx"));
        Self {
            _root: root,
            bin,
            home,
            work,
        }
    }

    /// Runs the copied binary in the working folder with nothing else of ours in the environment.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    fn find_people(&self) -> Output {
        self.run(&[
            "image",
            "photo.jpg",
            "--model",
            "tiny.onnx",
            "--json",
            "out.json",
            "--overwrite",
        ])
    }
}

fn wheel_downloads(server: &Server) -> Vec<common::http::Seen> {
    let seen = server.seen.lock().unwrap();
    seen.iter()
        .filter(|s| s.path.ends_with(".whl"))
        .cloned()
        .collect()
}

#[test]
fn a_copied_binary_installs_its_runtime_into_the_data_folder_and_runs() {
    let sandbox = Sandbox::new();
    let (server, size) = index();
    let index_url = format!("{}/simple/", server.base);

    // Before: nothing to run with.
    let before = sandbox.find_people();
    assert!(!before.status.success());
    assert!(String::from_utf8_lossy(&before.stderr).contains("ONNX Runtime library not found"));

    let fetch = sandbox.run(&["runtime", "fetch", "--index", &index_url]);
    assert!(
        fetch.status.success(),
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    let installed = sandbox
        .home
        .join(".local/share/posecam/runtime/onnxruntime");
    assert!(installed.join("libonnxruntime.so").exists());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(installed.join("posecam-runtime.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["wheels"][0]["version"], ORT);
    // The broken first transfer was resumed where it stopped.
    let downloads = wheel_downloads(&server);
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert_eq!(downloads[1].range, Some(format!("bytes={}-", size / 2)));
    // Again: nothing to do, nothing downloaded.
    let again = sandbox.run(&["runtime", "fetch", "--index", &index_url]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already installed"));
    assert_eq!(wheel_downloads(&server).len(), 2);

    // A library planted in the current folder is never loaded (it would fail to load).
    let planted = sandbox.work.join("libonnxruntime.so");
    std::fs::write(&planted, b"not a library").unwrap();
    let o = sandbox.find_people();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.work.join("out.json")).unwrap()).unwrap();
    assert_eq!(json["version"], 1.3);

    let doctor = sandbox.run(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout);
    let found = format!(
        "{} (1.31.1, CPU build)",
        installed.join("libonnxruntime.so").display()
    );
    assert!(text.contains(&found), "{text}");
    assert!(!text.contains(&planted.display().to_string()), "{text}");
}

#[test]
fn a_wheel_that_does_not_match_the_index_checksum_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let wheel = wheel();
    let filename = format!(
        "onnxruntime-{ORT}-cp312-cp312-manylinux_2_28_{}.whl",
        std::env::consts::ARCH
    );
    let listing = serde_json::json!({"files": [{
        "filename": filename, "url": format!("/files/{filename}"),
        "hashes": {"sha256": "0".repeat(64)}, "size": wheel.len()
    }]});
    let server = Server::start(HashMap::from([
        (
            "/simple/onnxruntime/".to_string(),
            Route {
                body: listing.to_string().into_bytes(),
                content_type: "application/json",
                cut_first_at: None,
            },
        ),
        (
            format!("/files/{filename}"),
            Route {
                body: wheel,
                content_type: "application/octet-stream",
                cut_first_at: None,
            },
        ),
    ]));
    let dir = root.path().join("runtime");
    let o = common::posecam(&[
        "runtime",
        "fetch",
        "--dir",
        dir.to_str().unwrap(),
        "--index",
        &format!("{}/simple/", server.base),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("SHA-256") && err.contains("discarded"),
        "{err}"
    );
    assert!(!dir.join("onnxruntime").exists(), "nothing installed");
}

/// A stand-in for the CMU model (3 MB) served so its first transfer breaks off half-way.
fn model_server() -> (Server, String, Vec<u8>) {
    let body: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let route = Route {
        body: body.clone(),
        content_type: "application/octet-stream",
        cut_first_at: Some(body.len() / 2),
    };
    let server = Server::start(HashMap::from([(
        "/body_pose_model.onnx".to_string(),
        route,
    )]));
    let url = format!("{}/body_pose_model.onnx", server.base);
    (server, url, body)
}

#[test]
fn model_fetch_states_the_licence_asks_first_then_resumes_and_verifies() {
    let (server, url, body) = model_server();
    let md5 = common::hex(&md5::Md5::digest(&body));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("models/body_pose_model.onnx");
    let fetch = |extra: &[&str]| {
        let mut args = vec![
            "model",
            "fetch",
            "--url",
            &url,
            "--md5",
            &md5,
            "-o",
            dest.to_str().unwrap(),
        ];
        args.extend(extra);
        common::posecam(&args)
    };
    let gets = || {
        let seen = server.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.method == "GET")
            .cloned()
            .collect::<Vec<_>>()
    };

    // Not a terminal and no --yes: the size and licence are stated, nothing is downloaded.
    let o = fetch(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--yes"), "{err}");
    assert!(
        err.contains("3 MB") && err.contains("non-commercial"),
        "{err}"
    );
    assert!(gets().is_empty() && !dest.exists());

    let o = fetch(&["--yes"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let downloads = gets();
    assert_eq!(downloads.len(), 2, "{downloads:?}");
    assert_eq!(
        downloads[1].range,
        Some(format!("bytes={}-", body.len() / 2))
    );

    // Present and verified: nothing downloaded again.
    assert!(fetch(&["--yes"]).status.success());
    assert_eq!(gets().len(), 2);
}

#[test]
fn a_model_with_the_wrong_checksum_is_refused_and_nothing_is_left() {
    let (_server, url, _) = model_server();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("body_pose_model.onnx");
    let wrong = "0".repeat(32);
    let o = common::posecam(&[
        "model",
        "fetch",
        "--url",
        &url,
        "--md5",
        &wrong,
        "-o",
        dest.to_str().unwrap(),
        "--yes",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("MD5"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
