//! Work that must not hold up drawing: file dialogs and webcam queries run on threads of their own
//! and answer with a [`Command`]; snapshots and the angle CSV are written from here.

use std::path::Path;

use crossbeam_channel::{bounded, Receiver, Sender};
use eframe::egui;

use super::jobs;
use super::motion_view::{self, AngleRows};
use super::state::{snapshot_name, Answer, Command, Dialog};
use super::PosecamApp;
use crate::capture::{camera_formats, list_cameras, SourceSpec};

/// File types offered by the open dialog.
const OPENABLE: &[&str] = &[
    "mp4", "mkv", "avi", "mov", "webm", "gif", "ts", "jpg", "jpeg", "png", "bmp", "webp",
];
/// Of those, the videos (a scene's views).
const VIDEOS: &[&str] = &["mp4", "mkv", "avi", "mov", "webm", "gif", "ts"];

/// Answers from background threads, taken at the start of each frame.
pub struct Background {
    ctx: egui::Context,
    tx: Sender<Command>,
    rx: Receiver<Command>,
}

impl Background {
    pub fn new(ctx: &egui::Context) -> Self {
        // Answers come one per dialog or query the user started: a handful at most.
        let (tx, rx) = bounded(64);
        Self {
            ctx: ctx.clone(),
            tx,
            rx,
        }
    }

    /// Commands that came back since the last frame.
    pub fn answers(&self) -> Vec<Command> {
        self.rx.try_iter().collect()
    }

    /// Runs `work` on a thread of its own; its command (if any) comes back with a repaint.
    fn spawn(&self, name: &str, work: impl FnOnce() -> Option<Command> + Send + 'static) {
        let (tx, ctx) = (self.tx.clone(), self.ctx.clone());
        let started = std::thread::Builder::new()
            .name(format!("posecam-{name}"))
            .spawn(move || {
                if let Some(command) = work() {
                    let _ = tx.send(command);
                    ctx.request_repaint();
                }
            });
        if let Err(e) = started {
            let _ = self
                .tx
                .send(Command::Say(format!("cannot start the {name} thread: {e}")));
        }
    }

    pub fn ask(&self, dialog: Dialog) {
        self.spawn("dialog", move || answer(dialog));
    }

    pub fn rescan_cameras(&self) {
        self.spawn("cameras", || {
            Some(Command::Answer(Answer::Cameras(list_cameras())))
        });
    }

    pub fn query_formats(&self, index: u32) {
        self.spawn("camera-formats", move || {
            let formats = camera_formats(index).unwrap_or_default();
            Some(Command::Answer(Answer::Formats(index, formats)))
        });
    }
}

/// Shows `dialog` (blocking this background thread only) and turns the choice into a command.
fn answer(dialog: Dialog) -> Option<Command> {
    match dialog {
        Dialog::OpenSource => rfd::FileDialog::new()
            .add_filter("videos and images", OPENABLE)
            .pick_file()
            .map(|p| open_path(&p.display().to_string())),
        Dialog::OpenScene => scene_dialog(),
        Dialog::ExportTo(name) => rfd::FileDialog::new()
            .set_file_name(name)
            .add_filter("MP4 video", &["mp4"])
            .save_file()
            .map(Command::ExportTo),
        Dialog::SnapshotFolder => rfd::FileDialog::new()
            .pick_folder()
            .map(|p| Command::Answer(Answer::SnapshotFolder(p))),
        Dialog::Model => rfd::FileDialog::new()
            .add_filter("ONNX model", &["onnx"])
            .pick_file()
            .map(|p| Command::Answer(Answer::Model(p))),
        Dialog::SaveAngles(name) => rfd::FileDialog::new()
            .set_file_name(name)
            .add_filter("CSV", &["csv"])
            .save_file()
            .map(Command::SaveAngles),
        Dialog::SaveMotion => rfd::FileDialog::new()
            .pick_folder()
            .map(Command::SaveMotion),
    }
}

/// The views (one per camera, two or more), then their calibration.
fn scene_dialog() -> Option<Command> {
    let views = rfd::FileDialog::new()
        .set_title("The views: one video per camera")
        .add_filter("videos", VIDEOS)
        .pick_files()?;
    if views.len() < 2 {
        return Some(Command::Say(
            "a scene needs two views or more: pick one video per camera".into(),
        ));
    }
    let calib = rfd::FileDialog::new()
        .set_title("Their calibration")
        .add_filter(
            "calibrations (Pose2Sim, aniposelib, Qualisys)",
            &["toml", "txt"],
        )
        .pick_file()?;
    Some(Command::OpenScene { views, calib })
}

/// A command to open what the user named (a dropped or picked file).
pub fn open_path(text: &str) -> Command {
    match SourceSpec::parse(text) {
        Ok(spec) => Command::Open(spec),
        Err(e) => Command::Say(e.to_string()),
    }
}

impl PosecamApp {
    /// Saves the frame on screen with its skeletons, named from the source and the frame's time, in
    /// the folder chosen (remembered).
    pub(super) fn snapshot(&mut self) {
        let Some(last) = &self.view.last else {
            self.say("nothing to snapshot yet");
            return;
        };
        let folder = self.settings.snapshot_folder();
        let label = self
            .view
            .source
            .as_ref()
            .map_or("posecam".into(), SourceSpec::label);
        let name = snapshot_name(&label, last.frame.time_s);
        let style = &self.settings.overlay;
        let (people, tracked) = (&self.view.people, &self.view.tracked);
        match jobs::snapshot(last, people, tracked, style, &folder, &name) {
            Ok(png) => self.say(format!("snapshot saved: {} (and .json)", png.display())),
            Err(e) => self.fail(
                format!("snapshot failed: {}", crate::pipeline::error_chain(&e)),
                false,
            ),
        }
    }

    /// The followed person's angles (of the kind shown), one row per frame: from the timeline for
    /// files, from the last seconds for live sources.
    pub(super) fn angle_rows(&self) -> AngleRows {
        let skeleton = self.view.last.as_ref().map(|l| l.skeleton);
        let (Some(id), Some(skeleton)) = (self.view.followed, skeleton) else {
            return AngleRows::default();
        };
        let options = self.view.angle_options;
        match self.keeps_timeline() {
            true => self
                .view
                .timeline
                .read()
                .ok()
                .and_then(|t| t.track_of(id))
                .map(|(track, times)| motion_view::from_track(skeleton, track, &times, &options))
                .unwrap_or_default(),
            false => AngleRows {
                names: motion_view::names(skeleton, options.kind),
                rows: self.view.angles.samples.iter().cloned().collect(),
                speed: Vec::new(),
            },
        }
    }

    pub fn save_angles(&mut self, path: &Path) {
        let data = self.angle_rows();
        let mut csv = String::from("time_s");
        for name in &data.names {
            csv.push(',');
            csv.push_str(&name.replace(' ', "_"));
        }
        csv.push('\n');
        for (t, values) in &data.rows {
            csv.push_str(&format!("{t:.4}"));
            for v in values {
                csv.push(',');
                if let Some(v) = v {
                    csv.push_str(&format!("{v:.2}"));
                }
            }
            csv.push('\n');
        }
        match jobs::write_text(path, &csv) {
            Ok(()) => self.say(format!(
                "{} rows of angles saved to {}",
                data.rows.len(),
                path.display()
            )),
            Err(e) => self.fail(
                format!(
                    "cannot save the angles: {}",
                    crate::pipeline::error_chain(&e)
                ),
                false,
            ),
        }
    }

    /// Everyone's motion files from the timeline, as `export --motion` writes them.
    pub fn save_motion(&mut self, dir: &Path) {
        let Some(skeleton) = self.view.last.as_ref().map(|l| l.skeleton) else {
            return self.say("nothing to save yet");
        };
        let kept = self
            .view
            .timeline
            .read()
            .map(|t| t.tracks())
            .unwrap_or_default();
        let times: Vec<f64> = kept.iter().flat_map(|(_, t)| t.iter().copied()).collect();
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        let tracks: Vec<_> = kept.into_iter().map(|(t, _)| t).collect();
        let stem = suggested_name(self.view.source.as_ref(), "");
        let settings = self.view.angle_options.settings(self.view.followed);
        let rate = motion_view::rate_of(&sorted);
        match crate::pipeline::save_motion_files(dir, &stem, skeleton, &tracks, rate, settings) {
            Ok(s) => self.say(format!(
                "motion files of {} people saved in {}",
                s.people,
                dir.display()
            )),
            Err(e) => self.fail(
                format!(
                    "cannot save the motion files: {}",
                    crate::pipeline::error_chain(&e)
                ),
                false,
            ),
        }
    }
}

/// Where a dialog starts for a file named after the source.
pub fn suggested_name(source: Option<&SourceSpec>, suffix: &str) -> String {
    let stem = match source {
        Some(SourceSpec::Video(p) | SourceSpec::Image(p)) => p
            .file_stem()
            .map_or("posecam".into(), |s| s.to_string_lossy().into_owned()),
        _ => "posecam".into(),
    };
    format!("{stem}{suffix}")
}
