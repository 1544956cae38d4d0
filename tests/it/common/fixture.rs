//! A scratch folder with the files hostile cases need: a tiny model, a photo, a folder, a FIFO and a
//! short video; commands run inside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Every file under `dir` with its contents (folders as empty entries), to compare before and after.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else if t.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            } else {
                out.insert(p.clone(), b"<special>".to_vec());
            }
        }
    }
    out
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub tiny: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tiny = dir.path().join("tiny.onnx");
        super::onnx::write_tiny_cmu_model(&tiny);
        let f = Self { dir, tiny };
        image::RgbImage::from_fn(96, 64, |x, y| image::Rgb([x as u8, y as u8, 90]))
            .save(f.path("photo.jpg"))
            .unwrap();
        std::fs::create_dir(f.path("folder")).unwrap();
        let fifo = std::ffi::CString::new(s(&f.path("fifo"))).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        f
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn video(&self) -> PathBuf {
        let p = self.path("in.mp4");
        if !p.exists() {
            super::test_clip(&p, "160x120", 10, 2, false, &[]);
        }
        p
    }

    /// Runs posecam with `args` (`{tiny}` stands for the model) in the fixture's folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(super::posecam_bin());
        c.args(args.iter().map(|a| a.replace("{tiny}", s(&self.tiny))))
            .current_dir(self.dir.path())
            .env_remove("POSECAM_MODEL")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }
}
