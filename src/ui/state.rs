//! The window's state that needs no window: persisted settings, the commands panels return, geometry
//! of the picture on screen, rolling statistics, and key bindings. Tested without egui running.

use std::collections::VecDeque;
use std::path::PathBuf;

use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::capture::SourceSpec;
use crate::infer::NetConfig;
use crate::pipeline::{Control, PipelineSettings};
use crate::pose::{check_range, Skeleton, Thresholds};
use crate::render::OverlayStyle;
use crate::track::TrackerSettings;

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
}

/// Everything remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    pub thresholds: Thresholds,
    pub net_height: usize,
    /// As typed, e.g. "1.0, 0.75".
    pub scales: String,
    pub model: String,
    pub device: String,
    pub overlay: OverlayStyle,
    pub debug: DebugOverlay,
    /// Follow people over time (IDs, smoothing, trails, angles).
    pub tracking: bool,
    pub tracker: TrackerSettings,
    pub real_time: bool,
    /// Live sources (cameras, streams): keep every frame for analysis (latency grows when inference
    /// is slower than the source) instead of the newest for watching.
    pub every_frame: bool,
    pub last_source: Option<String>,
    /// Streams opened lately, newest first, without their passwords.
    pub recent_streams: Vec<String>,
    pub snapshot_dir: String,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            net_height: 368,
            scales: "1.0".into(),
            model: String::new(),
            device: "auto".into(),
            overlay: OverlayStyle::default(),
            debug: DebugOverlay::default(),
            tracking: true,
            tracker: TrackerSettings::default(),
            real_time: true,
            every_frame: false,
            last_source: None,
            recent_streams: Vec::new(),
            snapshot_dir: ".".into(),
        }
    }
}

/// Recent streams remembered.
const RECENT_STREAMS: usize = 8;

impl AppSettings {
    /// Remembers a stream (without its password) at the top of the recent list.
    pub fn remember_stream(&mut self, url: &str) {
        let shown = crate::io::redact::without_password(url);
        self.recent_streams.retain(|u| *u != shown);
        self.recent_streams.insert(0, shown);
        self.recent_streams.truncate(RECENT_STREAMS);
    }

    /// Scales as numbers; what cannot be read falls back to 1.0.
    pub fn parsed_scales(&self) -> Vec<f32> {
        let v: Vec<f32> = self
            .scales
            .split([',', ' '])
            .filter_map(|t| t.trim().parse::<f32>().ok())
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 4.0)
            .collect();
        if v.is_empty() {
            vec![1.0]
        } else {
            v
        }
    }

    /// Saved settings brought back into the ranges the flags accept, with a note for each reset.
    pub fn checked(mut self) -> (Self, Vec<String>) {
        let mut notes = Vec::new();
        if let Err(e) = self.thresholds.validate() {
            notes.push(format!(
                "saved detection settings reset to the CMU defaults ({e})"
            ));
            self.thresholds = Thresholds::default();
        }
        if let Err(e) = check_range("net input height", self.net_height, NetConfig::NET_HEIGHT) {
            notes.push(format!("saved {e}: reset to 368"));
            self.net_height = 368;
        }
        if let Err(e) = self.tracker.validate() {
            notes.push(format!(
                "saved tracking settings reset to the defaults ({e})"
            ));
            self.tracker = TrackerSettings::default();
        }
        if let Err(e) = check_range("debug opacity", self.debug.opacity, 0.0..=1.0) {
            notes.push(format!("saved {e}: reset"));
            self.debug.opacity = DebugOverlay::default().opacity;
        }
        (self, notes)
    }

    pub fn pipeline(&self) -> PipelineSettings {
        PipelineSettings {
            net: NetConfig {
                net_height: self.net_height.clamp(64, 2048) / 8 * 8,
                scales: self.parsed_scales(),
            },
            thresholds: self.thresholds.sanitized(),
            tracking: self.tracking.then_some(self.tracker),
        }
    }
}

/// The network output blended over the picture, for looking inside the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DebugOverlay {
    pub view: DebugView,
    /// Index of the heatmap or PAF channel shown.
    pub channel: usize,
    pub opacity: f32,
}

impl Default for DebugOverlay {
    fn default() -> Self {
        Self {
            view: DebugView::Off,
            channel: 0,
            opacity: 0.6,
        }
    }
}

/// What a debug channel shows: a part's heatmap, or the x/y field of a limb.
pub fn debug_channel_name(skeleton: &Skeleton, view: DebugView, channel: usize) -> String {
    match view {
        DebugView::Off => String::new(),
        DebugView::Heatmap => skeleton
            .parts
            .get(channel)
            .map_or("background", |p| p.name)
            .to_string(),
        DebugView::Paf => skeleton
            .limbs
            .iter()
            .find(|l| l.paf_x == channel || l.paf_y == channel)
            .map_or(String::new(), |l| {
                let axis = if l.paf_x == channel { "x" } else { "y" };
                format!(
                    "{}→{} {axis}",
                    skeleton.parts[l.from].name, skeleton.parts[l.to].name
                )
            }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DebugView {
    Off,
    Heatmap,
    Paf,
}

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
    /// (seconds since the window opened, one value per [`crate::track::angles::JOINT_ANGLES`]).
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
    fn streams_are_remembered_without_their_passwords() {
        let mut settings = AppSettings::default();
        settings.remember_stream("rtsp://admin:s3cret@cam/1");
        settings.remember_stream("rtsp://admin:${CAM_PASS}@cam/2");
        settings.remember_stream("rtsp://admin:other@cam/1");
        assert_eq!(
            settings.recent_streams,
            ["rtsp://admin@cam/1", "rtsp://admin:${CAM_PASS}@cam/2"]
        );
        let saved = serde_json::to_string(&settings).unwrap();
        assert!(
            !saved.contains("s3cret") && !saved.contains("other"),
            "{saved}"
        );
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
    fn settings_become_pipeline_settings_safely() {
        let s = AppSettings {
            scales: "1.0, 0.75,bogus,-2".into(),
            net_height: 371,
            ..AppSettings::default()
        };
        let live = s.pipeline();
        assert_eq!(live.net.scales, vec![1.0, 0.75]);
        assert_eq!(live.net.net_height, 368);
        let empty = AppSettings {
            scales: "".into(),
            ..AppSettings::default()
        };
        assert_eq!(empty.pipeline().net.scales, vec![1.0]);
        let json = serde_json::to_string(&s).unwrap();
        let back: AppSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let partial: AppSettings = serde_json::from_str(r#"{"net_height": 256}"#).unwrap();
        assert_eq!(partial.net_height, 256);
        assert_eq!(partial.thresholds, Thresholds::default());
    }

    #[test]
    fn saved_settings_out_of_range_are_reset_and_said() {
        let json =
            r#"{"thresholds": {"peak": 7.0}, "net_height": 100000, "debug": {"opacity": 3}}"#;
        let stored: AppSettings = serde_json::from_str(json).unwrap();
        let (s, notes) = stored.checked();
        assert_eq!(s.thresholds, Thresholds::default());
        assert_eq!(s.net_height, 368);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(
            notes[0].contains("peak threshold must be between 0 and 1"),
            "{notes:?}"
        );
        let (_, none) = AppSettings::default().checked();
        assert!(none.is_empty());
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

    #[test]
    fn debug_channels_are_named_by_part_or_limb() {
        use crate::pose::COCO18;
        assert_eq!(debug_channel_name(&COCO18, DebugView::Heatmap, 1), "neck");
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Heatmap, 18),
            "background"
        );
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Paf, 12),
            "neck→right_shoulder x"
        );
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Paf, 13),
            "neck→right_shoulder y"
        );
    }
}
