//! The window's state that needs no window: the commands panels return, the messages and the error
//! banner, geometry of the picture on screen, rolling statistics, and key bindings. Tested without
//! egui running.

use std::collections::VecDeque;
use std::path::PathBuf;

use eframe::egui;

use crate::capture::{CameraDesc, SourceSpec};
use crate::infer::Device;
use crate::pipeline::Control;

/// What a panel asks for; applied after the whole window is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open(SourceSpec),
    /// Open the current source again (after it failed).
    Reopen,
    Control(Control),
    /// Load the model and device chosen in the settings.
    LoadModel,
    Snapshot,
    ExportTo(PathBuf),
    CancelExport,
    ToggleFullscreen,
    RescanCameras,
    /// Follow this track ID in the joint-angle plot (`None`: nobody).
    Follow(Option<u64>),
    /// Show a message.
    Say(String),
    /// Show a hint that goes away once it no longer applies.
    Hint(Hint, String),
    /// Ask the user something in a dialog, without blocking the window; the answer comes back as
    /// another command.
    Ask(Dialog),
    /// The answer to a dialog or a query that ran in the background.
    Answer(Answer),
    /// Ask a webcam for its formats (in the background).
    QueryFormats(u32),
    /// Write the followed person's joint angles as CSV (live sources).
    SaveAngles(PathBuf),
    /// Write the motion files of a file's people into this folder, as `export --motion` does.
    SaveMotion(PathBuf),
    /// Show other angles (joint or segment, filtered or raw), or take a height.
    AngleOptions(super::motion_view::AngleOptions),
    DismissBanner,
    /// Show the whole error under the banner, or hide it.
    ToggleDetails,
    /// Open these views, with this calibration, as one 3D scene.
    OpenScene {
        views: Vec<PathBuf>,
        calib: PathBuf,
    },
    /// Back from the scene to the single source.
    CloseScene,
}

/// A dialog a panel asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    OpenSource,
    /// Several videos, then their calibration.
    OpenScene,
    /// Where to export the open video (a suggested file name).
    ExportTo(String),
    SnapshotFolder,
    Model,
    /// Where to save the followed person's angles (a suggested file name).
    SaveAngles(String),
    /// A folder for the motion files.
    SaveMotion,
}

/// What came back from the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    SnapshotFolder(PathBuf),
    Model(PathBuf),
    Cameras(Vec<CameraDesc>),
    Formats(u32, Vec<(u32, u32, u32)>),
}

/// Hints: one of each kind at most, gone once it no longer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// A click on someone who has no ID.
    NoId,
    /// What a settings change did to the kept frames.
    Rerun,
}

/// Messages kept in the side panel.
const MESSAGES_KEPT: usize = 5;

/// One message, with the wall-clock time it was said.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub at: String,
    pub text: String,
    pub hint: Option<Hint>,
}

/// The last few messages, newest last.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    list: VecDeque<Message>,
}

impl Messages {
    pub fn push(&mut self, text: String, hint: Option<Hint>) {
        if let Some(h) = hint {
            self.clear(h);
        }
        self.list.push_back(Message {
            at: clock(),
            text,
            hint,
        });
        while self.list.len() > MESSAGES_KEPT {
            self.list.pop_front();
        }
    }

    /// Takes back a hint that no longer applies.
    pub fn clear(&mut self, hint: Hint) {
        self.list.retain(|m| m.hint != Some(hint));
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Message> {
        self.list.iter()
    }

    pub fn last(&self) -> Option<&Message> {
        self.list.back()
    }
}

/// The local time of day, HH:MM:SS.
fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r only writes the `tm` it is given; both live on this stack frame.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if !ok {
        let s = now as u64 % 86_400;
        return format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    }
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// A failure to open or read the source, shown over the picture until dismissed or replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    /// The error's first part (what failed), for the banner's line.
    pub headline: String,
    /// The whole chain, shown under Details.
    pub details: String,
    pub show_details: bool,
}

impl Banner {
    pub fn new(error: &str) -> Self {
        let first = error.lines().next().unwrap_or(error);
        // The chain reads "what: why: deeper why"; the banner's line keeps what and why.
        let headline = match first.match_indices(": ").nth(1) {
            Some((i, _)) if first.len() > 110 => first[..i].to_string(),
            _ => first.to_string(),
        };
        Self {
            headline,
            details: error.to_string(),
            show_details: false,
        }
    }
}

/// A snapshot's file name (without extension): the source's name and the frame's time,
/// `clip_00m12.48s`, in characters every file system takes.
pub fn snapshot_name(source_label: &str, time_s: f64) -> String {
    let path = std::path::Path::new(source_label);
    let stem = path.file_stem().map_or_else(
        || source_label.to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_matches('_');
    let t = time_s.max(0.0);
    let minutes = (t / 60.0).floor();
    let seconds = t - minutes * 60.0;
    format!(
        "{}_{:02}m{:05.2}s",
        if stem.is_empty() { "posecam" } else { stem },
        minutes as u64,
        seconds.min(59.995)
    )
}

/// The device choices the window offers (CUDA devices beyond the first are typed on the command line).
pub const DEVICES: [Device; 3] = [Device::Auto, Device::Cpu, Device::Cuda(0)];

/// The largest rectangle of the picture's aspect ratio centred in `avail` (x, y, w, h).
pub fn fit_rect(avail: [f32; 4], picture: (u32, u32)) -> [f32; 4] {
    let [x, y, w, h] = avail;
    let (pw, ph) = (picture.0.max(1) as f32, picture.1.max(1) as f32);
    let scale = (w / pw).min(h / ph).max(0.0);
    let (fw, fh) = (pw * scale, ph * scale);
    [x + (w - fw) / 2.0, y + (h - fh) / 2.0, fw, fh]
}

/// Maps image pixel coordinates (pixel centres at integers) into a screen rectangle.
pub fn image_to_screen(rect: [f32; 4], picture: (u32, u32), (x, y): (f32, f32)) -> (f32, f32) {
    let [rx, ry, rw, rh] = rect;
    (
        rx + (x + 0.5) / picture.0.max(1) as f32 * rw,
        ry + (y + 0.5) / picture.1.max(1) as f32 * rh,
    )
}

/// One frame's figures, kept for the rolling statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatSample {
    /// Seconds since the window opened.
    pub at_s: f64,
    pub inference_ms: f32,
    pub association_ms: f32,
    pub latency_ms: f32,
    pub people: usize,
}

/// The last few seconds of frames.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub samples: VecDeque<StatSample>,
    pub dropped: u64,
}

impl Stats {
    pub const WINDOW_S: f64 = 10.0;

    pub fn push(&mut self, s: StatSample) {
        self.samples.push_back(s);
        while self
            .samples
            .front()
            .is_some_and(|f| s.at_s - f.at_s > Self::WINDOW_S)
        {
            self.samples.pop_front();
        }
    }

    /// Results per second over the last two seconds.
    pub fn fps(&self, now_s: f64) -> f64 {
        let recent = self
            .samples
            .iter()
            .filter(|s| now_s - s.at_s <= 2.0)
            .count();
        recent as f64 / 2.0f64.min(now_s.max(1e-3))
    }

    fn mean(&self, f: impl Fn(&StatSample) -> f32) -> f32 {
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples.iter().map(f).sum::<f32>() / self.samples.len() as f32
    }

    pub fn mean_latency_ms(&self) -> f32 {
        self.mean(|s| s.latency_ms)
    }

    pub fn mean_inference_ms(&self) -> f32 {
        self.mean(|s| s.inference_ms)
    }

    pub fn mean_association_ms(&self) -> f32 {
        self.mean(|s| s.association_ms)
    }
}

/// The joint angles of the followed person over the last seconds.
#[derive(Debug, Clone, Default)]
pub struct AngleHistory {
    pub id: Option<u64>,
    /// (seconds since the window opened, one value per angle the panel shows).
    pub samples: VecDeque<(f64, Vec<Option<f32>>)>,
}

impl AngleHistory {
    pub const WINDOW_S: f64 = 10.0;

    /// Starts following `id` (forgetting the previous person's angles).
    pub fn follow(&mut self, id: Option<u64>) {
        if self.id != id {
            self.id = id;
            self.samples.clear();
        }
    }

    pub fn push(&mut self, at_s: f64, angles: Vec<Option<f32>>) {
        self.samples.push_back((at_s, angles));
        while self
            .samples
            .front()
            .is_some_and(|f| at_s - f.0 > Self::WINDOW_S)
        {
            self.samples.pop_front();
        }
    }

    /// Angle `index` over time, as plot points relative to `now_s` (gaps where it was not seen).
    pub fn series(&self, index: usize, now_s: f64) -> Vec<[f64; 2]> {
        self.samples
            .iter()
            .filter_map(|(t, a)| Some([t - now_s, (*a.get(index)?)? as f64]))
            .collect()
    }
}

/// The person under an image point: the one whose keypoints' box (grown by a third) holds it, the
/// smallest such box first (someone in front of someone else).
pub fn person_at(boxes: &[Option<[f32; 4]>], (x, y): (f32, f32)) -> Option<usize> {
    boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let [x0, y0, x1, y1] = (*b)?;
            let (mx, my) = ((x1 - x0) / 3.0 + 10.0, (y1 - y0) / 3.0 + 10.0);
            let inside = x >= x0 - mx && x <= x1 + mx && y >= y0 - my && y <= y1 + my;
            inside.then_some((i, (x1 - x0 + 2.0 * mx) * (y1 - y0 + 2.0 * my)))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// What a key press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    TogglePlay,
    Step(i64),
    ToggleFullscreen,
    Snapshot,
}

impl KeyAction {
    /// The command this key stands for, given whether the source is playing.
    pub fn command(self, playing: bool) -> Command {
        match self {
            KeyAction::TogglePlay if playing => Command::Control(Control::Pause),
            KeyAction::TogglePlay => Command::Control(Control::Play),
            KeyAction::Step(n) => Command::Control(Control::Step(n)),
            KeyAction::ToggleFullscreen => Command::ToggleFullscreen,
            KeyAction::Snapshot => Command::Snapshot,
        }
    }
}

pub fn key_action(key: egui::Key) -> Option<KeyAction> {
    match key {
        egui::Key::Space => Some(KeyAction::TogglePlay),
        egui::Key::ArrowRight => Some(KeyAction::Step(1)),
        egui::Key::ArrowLeft => Some(KeyAction::Step(-1)),
        egui::Key::F => Some(KeyAction::ToggleFullscreen),
        egui::Key::S => Some(KeyAction::Snapshot),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_named_after_the_source_and_the_time() {
        assert_eq!(snapshot_name("/videos/clip.mp4", 12.48), "clip_00m12.48s");
        assert_eq!(snapshot_name("clip.mp4", 754.5), "clip_12m34.50s");
        assert_eq!(snapshot_name("camera:0", 3.0), "camera_0_00m03.00s");
        assert_eq!(snapshot_name("", 0.0), "posecam_00m00.00s");
    }

    #[test]
    fn hints_go_away_and_messages_stay_few() {
        let mut m = Messages::default();
        m.push("no ID yet".into(), Some(Hint::NoId));
        m.push("no ID yet".into(), Some(Hint::NoId));
        assert_eq!(m.iter().count(), 1, "one hint of a kind");
        for i in 0..10 {
            m.push(format!("message {i}"), None);
        }
        assert_eq!(m.iter().count(), MESSAGES_KEPT);
        m.push("again".into(), Some(Hint::NoId));
        m.clear(Hint::NoId);
        assert!(m.iter().all(|x| x.hint.is_none()));
        let at = &m.last().unwrap().at;
        assert_eq!(at.len(), 8, "HH:MM:SS: {at}");
    }

    #[test]
    fn banners_lead_with_what_failed() {
        let b = Banner::new("/v/broken.mp4: cannot open as a video: Invalid data found");
        assert_eq!(
            b.headline,
            "/v/broken.mp4: cannot open as a video: Invalid data found"
        );
        let long = format!("/v/{}.mp4: cannot read: {}", "x".repeat(60), "y".repeat(60));
        let b = Banner::new(&long);
        assert!(b.headline.len() < long.len() && b.details == long);
    }

    #[test]
    fn pictures_keep_their_aspect_ratio() {
        assert_eq!(
            fit_rect([0.0, 0.0, 200.0, 100.0], (100, 100)),
            [50.0, 0.0, 100.0, 100.0]
        );
        assert_eq!(
            fit_rect([10.0, 0.0, 100.0, 100.0], (200, 100)),
            [10.0, 25.0, 100.0, 50.0]
        );
        let r = fit_rect([0.0, 0.0, 100.0, 50.0], (960, 540));
        assert!((r[2] / r[3] - 960.0 / 540.0).abs() < 1e-4);
        assert_eq!(
            image_to_screen([0.0, 0.0, 200.0, 100.0], (100, 50), (49.5, 24.5)),
            (100.0, 50.0)
        );
    }

    #[test]
    fn angles_roll_over_and_restart_for_another_person() {
        let mut h = AngleHistory::default();
        h.follow(Some(3));
        for i in 0..200 {
            h.push(
                i as f64 * 0.1,
                vec![Some(90.0), if i % 2 == 0 { None } else { Some(10.0) }],
            );
        }
        assert!(h.samples.len() <= 101);
        let now = h.samples.back().unwrap().0;
        assert_eq!(h.series(0, now).len(), h.samples.len());
        assert_eq!(
            h.series(1, now).len(),
            h.samples.len() / 2,
            "gaps where unseen"
        );
        assert!(h
            .series(0, now)
            .iter()
            .all(|p| p[0] <= 0.0 && p[0] >= -10.0 - 1e-9));
        h.follow(Some(3));
        assert!(!h.samples.is_empty(), "the same person keeps the history");
        h.follow(Some(4));
        assert!(h.samples.is_empty());
    }

    #[test]
    fn clicks_pick_the_person_under_them() {
        let boxes = [
            Some([0.0, 0.0, 100.0, 300.0]),
            None,
            Some([40.0, 50.0, 80.0, 150.0]),
        ];
        assert_eq!(
            person_at(&boxes, (60.0, 100.0)),
            Some(2),
            "the smaller, nearer figure"
        );
        assert_eq!(person_at(&boxes, (10.0, 250.0)), Some(0));
        assert_eq!(person_at(&boxes, (500.0, 500.0)), None);
    }

    #[test]
    fn stats_roll_over_their_window() {
        let mut st = Stats::default();
        for i in 0..300 {
            st.push(StatSample {
                at_s: i as f64 * 0.1,
                inference_ms: 40.0,
                association_ms: 0.2,
                latency_ms: 50.0,
                people: 2,
            });
        }
        assert!(st.samples.len() <= 101);
        assert!((st.fps(29.9) - 10.0).abs() < 0.6);
        assert_eq!(st.mean_latency_ms(), 50.0);
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(key_action(egui::Key::Space), Some(KeyAction::TogglePlay));
        assert_eq!(key_action(egui::Key::ArrowLeft), Some(KeyAction::Step(-1)));
        assert_eq!(key_action(egui::Key::Q), None);
        assert_eq!(
            KeyAction::TogglePlay.command(true),
            Command::Control(Control::Pause)
        );
        assert_eq!(KeyAction::Snapshot.command(false), Command::Snapshot);
    }
}
