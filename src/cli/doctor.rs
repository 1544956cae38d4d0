//! What posecam will use and why, on one screen: ONNX Runtime, its providers, every CUDA library and
//! the driver, cameras, models, display, folders; with the fix for each missing piece.

use std::path::PathBuf;

use posecam::infer::runtime::{self, LibraryCheck, DRIVER_LIBRARY};
use posecam::infer::{Device, Engine, EngineOptions};
use posecam::pipeline::error_chain;

/// How one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works without it, but something is lost.
    Warn,
    Missing,
    /// Just information.
    Info,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub label: String,
    pub status: Status,
    pub detail: String,
    /// What to do about it.
    pub fix: Option<String>,
}

fn item(label: impl Into<String>, status: Status, detail: impl Into<String>) -> Item {
    Item {
        label: label.into(),
        status,
        detail: detail.into(),
        fix: None,
    }
}

impl Item {
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A titled group of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    pub items: Vec<Item>,
}

/// The whole report.
pub fn report() -> Vec<Section> {
    let library = runtime::find_library();
    vec![
        runtime_section(library.as_ref()),
        cuda_section(library.as_ref()),
        Section {
            title: "Cameras",
            items: cameras(),
        },
        Section {
            title: "Models",
            items: models(),
        },
        Section {
            title: "Display and folders",
            items: places(),
        },
    ]
}

/// The version an ONNX Runtime install holds (`libonnxruntime.so -> libonnxruntime.so.1.31.1`).
fn version_of(library: &std::path::Path) -> String {
    std::fs::read_link(library)
        .ok()
        .or_else(|| library.canonicalize().ok())
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .and_then(|n| n.strip_prefix("libonnxruntime.so.").map(str::to_string))
        .unwrap_or_else(|| "unknown version".into())
}

fn runtime_section(library: Option<&PathBuf>) -> Section {
    let mut items = Vec::new();
    match library {
        // Loaded, as the commands would: a file that is there but does not load is no runtime.
        Some(path) => match runtime::init_runtime(Some(path)) {
            Ok(_) => {
                let gpu = path
                    .parent()
                    .is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").exists());
                items.push(item(
                    "ONNX Runtime",
                    Status::Ok,
                    format!(
                        "{} ({}, {} build)",
                        path.display(),
                        version_of(path),
                        if gpu { "GPU" } else { "CPU" }
                    ),
                ));
            }
            Err(e) => items.push(item("ONNX Runtime", Status::Missing, error_chain(&e)).fix(
                "run `posecam runtime fetch` (or ./posecam.sh setup), or point ORT_DYLIB_PATH \
                     at a working libonnxruntime",
            )),
        },
        None => items.push(
            item("ONNX Runtime", Status::Missing, "not found")
                .fix("run `posecam runtime fetch` (or ./posecam.sh setup), or set ORT_DYLIB_PATH"),
        ),
    }
    let searched: Vec<String> = runtime::library_candidates()
        .iter()
        .map(|p| {
            format!(
                "{}{}",
                p.display(),
                if p.is_file() { " (found)" } else { "" }
            )
        })
        .collect();
    items.push(item("searched", Status::Info, searched.join("\n")));
    items.push(item(
        "providers",
        Status::Info,
        "compiled in: CPU, CUDA (loaded from the runtime's folder when the GPU build is installed)",
    ));
    Section {
        title: "ONNX Runtime",
        items,
    }
}

fn library_item(check: &LibraryCheck) -> Item {
    let place = check
        .path
        .as_ref()
        .map_or_else(|| "system search path".into(), |p| p.display().to_string());
    match &check.loaded {
        Ok(()) => item(check.name, Status::Ok, place),
        Err(why) if check.name == DRIVER_LIBRARY => {
            item(check.name, Status::Missing, why.to_string())
                .fix("install the NVIDIA driver (580 or newer, for CUDA 13)")
        }
        Err(why) if check.path.is_none() => {
            item(check.name, Status::Missing, "not in the runtime's folder")
                .fix(format!("run `posecam runtime fetch --cuda` ({why})"))
        }
        Err(why) if why.to_string().contains(DRIVER_LIBRARY) => item(
            check.name,
            Status::Warn,
            format!("{place} (needs the driver's {DRIVER_LIBRARY})"),
        ),
        Err(why) => item(check.name, Status::Warn, format!("{place}: {why}")),
    }
}

fn cuda_section(library: Option<&PathBuf>) -> Section {
    let Some(library) = library else {
        return Section {
            title: "CUDA",
            items: vec![item("CUDA", Status::Missing, "no ONNX Runtime to run it")],
        };
    };
    let checks = runtime::cuda_checks(library);
    let gpu_build = checks
        .iter()
        .any(|c| c.name == runtime::CUDA_PROVIDER && c.path.is_some());
    let mut items: Vec<Item> = if gpu_build {
        checks.iter().map(library_item).collect()
    } else {
        // The CPU build: its CUDA libraries are not expected; only the driver says anything.
        let mut v: Vec<Item> = checks
            .iter()
            .filter(|c| c.name == DRIVER_LIBRARY)
            .map(library_item)
            .collect();
        v.push(
            item(
                "GPU build",
                Status::Missing,
                "the ONNX Runtime in use is the CPU build",
            )
            .fix("run `posecam runtime fetch --cuda` (or ./posecam.sh setup --cuda)"),
        );
        v
    };
    if let Ok(version) = std::fs::read_to_string("/proc/driver/nvidia/version") {
        items.push(item(
            "driver",
            Status::Info,
            version
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        ));
    }
    let verdict = match runtime::cuda_problem(checks) {
        None => item("--device cuda", Status::Ok, "will run on the GPU"),
        Some(problem) => item("--device cuda", Status::Missing, problem)
            .fix("--device auto runs on the CPU meanwhile"),
    };
    items.push(verdict);
    Section {
        title: "CUDA",
        items,
    }
}

fn cameras() -> Vec<Item> {
    let found = posecam::capture::list_cameras();
    if found.is_empty() {
        return vec![item("webcams", Status::Warn, "none found")
            .fix("plug one in, or open a file or a stream URL (rtsp://, http://, udp://)")];
    }
    found
        .iter()
        .map(|c| item(format!("camera:{}", c.index), Status::Ok, c.name.clone()))
        .collect()
}

fn models() -> Vec<Item> {
    let mut items: Vec<Item> = posecam::setup::paths::model_dirs()
        .iter()
        .map(|dir| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(".onnx"))
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            let listed = if names.is_empty() {
                "no models".into()
            } else {
                names.join(", ")
            };
            item(dir.display().to_string(), Status::Info, listed)
        })
        .collect();
    items.push(match posecam::setup::paths::default_model() {
        Some(m) => model_item(&m),
        None => item("default model", Status::Missing, "none")
            .fix("run `posecam model fetch`, or pass --model PATH / set POSECAM_MODEL"),
    });
    items
}

/// The default model, loaded as the commands would load it (on the CPU: whether the file is a model
/// posecam can run, not which device runs it).
fn model_item(model: &std::path::Path) -> Item {
    let options = EngineOptions {
        device: Device::Cpu,
        threads: Some(1),
        ..Default::default()
    };
    match Engine::load(model, &options) {
        Ok(engine) => item(
            "default model",
            Status::Ok,
            format!("{} ({})", model.display(), engine.skeleton().name),
        ),
        Err(e) => item("default model", Status::Missing, error_chain(&e))
            .fix("run `posecam model fetch`, or pass --model PATH / set POSECAM_MODEL"),
    }
}

/// Whether a display server answers at `DISPLAY` (X11) or `WAYLAND_DISPLAY`: a variable naming a
/// server that is not running opens no window.
fn display_answers(variable: &str, value: &str) -> bool {
    use std::os::unix::net::UnixStream;
    if variable == "WAYLAND_DISPLAY" {
        let socket = if value.starts_with('/') {
            PathBuf::from(value)
        } else {
            let runtime = std::env::var_os("XDG_RUNTIME_DIR").unwrap_or_default();
            PathBuf::from(runtime).join(value)
        };
        return UnixStream::connect(socket).is_ok();
    }
    // DISPLAY=[host]:N[.screen]
    let Some((host, rest)) = value.rsplit_once(':') else {
        return false;
    };
    let Ok(number) = rest.split('.').next().unwrap_or_default().parse::<u16>() else {
        return false;
    };
    if host.is_empty() || host == "unix" {
        return UnixStream::connect(format!("/tmp/.X11-unix/X{number}")).is_ok();
    }
    let timeout = std::time::Duration::from_secs(2);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, 6000 + number))
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| std::net::TcpStream::connect_timeout(&addr, timeout).is_ok())
}

fn places() -> Vec<Item> {
    let displays: Vec<(&str, String)> = ["WAYLAND_DISPLAY", "DISPLAY"]
        .iter()
        .filter_map(|v| {
            std::env::var(v)
                .ok()
                .filter(|s| !s.is_empty())
                .map(|s| (*v, s))
        })
        .collect();
    let answering = displays.iter().find(|(v, s)| display_answers(v, s));
    let no_window =
        "./posecam.sh run uses Xvfb; `posecam image` and `posecam export` need no display";
    let mut items = vec![match (answering, displays.first()) {
        (Some((v, s)), _) => item("display", Status::Ok, format!("{v}={s}")),
        (None, Some((v, s))) => item(
            "display",
            Status::Missing,
            format!("{v}={s}, but no display server answers there: the window cannot open"),
        )
        .fix(no_window),
        (None, None) => {
            item("display", Status::Warn, "none: the window cannot open").fix(no_window)
        }
    }];
    let folder = |label: &str, p: Option<PathBuf>| {
        item(
            label,
            Status::Info,
            p.map_or("-".into(), |p| p.display().to_string()),
        )
    };
    items.push(folder("data folder", posecam::setup::paths::data_dir()));
    items.push(folder("config folder", posecam::setup::paths::config_dir()));
    items.push(folder("checkout", posecam::setup::paths::checkout()));
    items
}

/// The report as text: sections, aligned labels, a mark per status, fixes indented below.
pub fn render(sections: &[Section]) -> String {
    let mut out = String::new();
    for s in sections {
        out.push_str(&format!("{}\n", s.title));
        for i in &s.items {
            let mark = match i.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Missing => "MISS",
                Status::Info => "    ",
            };
            for (n, line) in i.detail.lines().enumerate() {
                let label = if n == 0 { i.label.as_str() } else { "" };
                out.push_str(&format!("  {mark} {label:<38} {line}\n"));
            }
            if let Some(fix) = &i.fix {
                out.push_str(&format!("       fix: {fix}\n"));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use posecam::infer::runtime::LoadFailure;

    #[test]
    fn fixes_are_given_for_what_is_missing() {
        let missing = LibraryCheck {
            name: "libcudnn.so.9",
            path: None,
            loaded: Err(LoadFailure::Dlopen(
                "libcudnn.so.9: cannot open shared object file".into(),
            )),
        };
        let i = library_item(&missing);
        assert_eq!(i.status, Status::Missing);
        assert!(i.fix.unwrap().contains("runtime fetch --cuda"));
        let driver = LibraryCheck {
            name: DRIVER_LIBRARY,
            path: None,
            loaded: Err(LoadFailure::Dlopen(
                "libcuda.so.1: cannot open shared object file".into(),
            )),
        };
        assert!(library_item(&driver).fix.unwrap().contains("driver"));
        let text = render(&[Section {
            title: "CUDA",
            items: vec![library_item(&driver)],
        }]);
        assert!(text.starts_with("CUDA\n  MISS libcuda.so.1"), "{text}");
    }
}
