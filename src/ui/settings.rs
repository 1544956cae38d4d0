//! What the window remembers between runs, typed: thresholds, the network, the model and device,
//! the overlay, tracking, and where snapshots go. The ranges are the flags' own
//! ([`NetConfig::NET_HEIGHT`], [`NetConfig::SCALE`], [`Thresholds`], [`TrackerSettings`]).

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::infer::{Device, NetConfig};
use crate::pipeline::PipelineSettings;
use crate::pose::{check_range, Skeleton, Thresholds};
use crate::render::OverlayStyle;
use crate::track::TrackerSettings;

/// Everything remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    pub thresholds: Thresholds,
    pub net_height: usize,
    /// Fractions of the net height to average; earlier versions saved them as text ("1.0, 0.75").
    #[serde(deserialize_with = "scales_from_list_or_text")]
    pub scales: Vec<f32>,
    pub model: String,
    #[serde(
        serialize_with = "device_as_text",
        deserialize_with = "device_from_text"
    )]
    pub device: Device,
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
    /// Where snapshots go (chosen once, remembered); `None`: the Pictures folder, else home.
    #[serde(deserialize_with = "folder_or_none")]
    pub snapshot_dir: Option<PathBuf>,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            net_height: NetConfig::default().net_height,
            scales: NetConfig::default().scales,
            model: String::new(),
            device: Device::Auto,
            overlay: OverlayStyle {
                numbers: true,
                ..OverlayStyle::default()
            },
            debug: DebugOverlay::default(),
            tracking: true,
            tracker: TrackerSettings::default(),
            real_time: true,
            every_frame: false,
            last_source: None,
            recent_streams: Vec::new(),
            snapshot_dir: None,
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
            self.net_height = NetConfig::default().net_height;
        }
        if let Err(e) = parse_scales(&scales_text(&self.scales)) {
            notes.push(format!("saved scales reset to 1.0 ({e})"));
            self.scales = NetConfig::default().scales;
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

    /// What the pipeline runs with. A still image has nothing to confirm over frames: its people
    /// get IDs at once.
    pub fn pipeline(&self, still: bool) -> PipelineSettings {
        let mut tracker = self.tracker;
        if still {
            tracker.confirm_frames = 1;
        }
        PipelineSettings {
            net: NetConfig {
                net_height: self.net_height / 8 * 8,
                scales: self.scales.clone(),
                short_side: true,
            },
            thresholds: self.thresholds.sanitized(),
            tracking: self.tracking.then_some(tracker),
        }
    }

    /// The folder snapshots go to now.
    pub fn snapshot_folder(&self) -> PathBuf {
        self.snapshot_dir
            .clone()
            .or_else(|| {
                directories::UserDirs::new()?
                    .picture_dir()
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

/// Scales as the user types them ("1.0, 0.75"): every one must be a number in
/// [`NetConfig::SCALE`].
pub fn parse_scales(text: &str) -> Result<Vec<f32>, BadScale> {
    let mut scales = Vec::new();
    for token in text
        .split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        match token.parse::<f32>() {
            Ok(v) if NetConfig::SCALE.contains(&v) => scales.push(v),
            _ => {
                return Err(BadScale {
                    text: token.to_string(),
                })
            }
        }
    }
    if scales.is_empty() {
        return Err(BadScale {
            text: text.to_string(),
        });
    }
    Ok(scales)
}

/// A scale that is not a number in [`NetConfig::SCALE`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "'{text}' is not a scale: give numbers from {min} to {max}, e.g. 1.0, 0.75",
    min = NetConfig::SCALE.start(),
    max = NetConfig::SCALE.end()
)]
pub struct BadScale {
    pub text: String,
}

/// Scales as text, for the field that edits them.
pub fn scales_text(scales: &[f32]) -> String {
    scales
        .iter()
        .map(|s| format!("{s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scales_from_list_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        List(Vec<f32>),
        Text(String),
    }
    Ok(match Saved::deserialize(d)? {
        Saved::List(v) => v,
        Saved::Text(t) => parse_scales(&t).unwrap_or_else(|_| NetConfig::default().scales),
    })
}

fn device_as_text<S: Serializer>(device: &Device, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&device.to_string())
}

/// A saved device that is not one any more falls back to auto, and says so on stderr.
fn device_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Device, D::Error> {
    let text = String::deserialize(d)?;
    Ok(text.parse().unwrap_or_else(|e| {
        tracing::warn!("saved settings: {e}; using auto");
        Device::Auto
    }))
}

/// Earlier versions saved "." for the current folder: that now means the Pictures folder.
fn folder_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let saved = Option::<PathBuf>::deserialize(d)?;
    Ok(saved.filter(|p| !p.as_os_str().is_empty() && p.as_os_str() != "."))
}

/// The network output blended over the picture, for looking inside the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DebugOverlay {
    pub view: DebugView,
    /// The heatmap or PAF channel shown; `None`: all of them at once (the strongest at each place).
    pub channel: Option<usize>,
    pub opacity: f32,
}

impl Default for DebugOverlay {
    fn default() -> Self {
        Self {
            view: DebugView::Off,
            channel: None,
            opacity: 0.6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DebugView {
    Off,
    Heatmap,
    Paf,
}

impl DebugView {
    pub const ALL: [DebugView; 3] = [DebugView::Off, DebugView::Heatmap, DebugView::Paf];

    /// The one spelling used wherever the view is named.
    pub fn label(self) -> &'static str {
        match self {
            DebugView::Off => "Off",
            DebugView::Heatmap => "Heatmaps",
            DebugView::Paf => "PAFs (part affinity fields)",
        }
    }
}

/// A part's name as people read it ("right_hip" → "right hip").
pub fn part_label(skeleton: &Skeleton, part: usize) -> String {
    skeleton
        .parts
        .get(part)
        .map_or("background".into(), |p| p.name.replace('_', " "))
}

/// What a debug channel shows: every part, a part's heatmap, or the x/y field of a limb. Plain
/// characters only, so every font has them.
pub fn debug_channel_name(skeleton: &Skeleton, view: DebugView, channel: Option<usize>) -> String {
    match (view, channel) {
        (DebugView::Off, _) => String::new(),
        (DebugView::Heatmap, None) => "all parts (strongest)".into(),
        (DebugView::Paf, None) => "all limbs (strongest)".into(),
        (DebugView::Heatmap, Some(c)) => part_label(skeleton, c),
        (DebugView::Paf, Some(c)) => skeleton
            .limbs
            .iter()
            .find(|l| l.paf_x == c || l.paf_y == c)
            .map_or(String::new(), |l| {
                let axis = if l.paf_x == c { "x" } else { "y" };
                format!(
                    "{} to {}, {axis}",
                    part_label(skeleton, l.from),
                    part_label(skeleton, l.to)
                )
            }),
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
    fn settings_become_pipeline_settings_in_the_flags_ranges() {
        let s = AppSettings {
            net_height: 371,
            ..AppSettings::default()
        };
        assert_eq!(s.pipeline(false).net.net_height, 368);
        assert_eq!(
            AppSettings {
                net_height: 8,
                ..AppSettings::default()
            }
            .pipeline(false)
            .net
            .net_height,
            8,
            "the flag's smallest height is the window's too"
        );
        assert_eq!(parse_scales("1.0, 0.75").unwrap(), vec![1.0, 0.75]);
        for bad in ["", "1.0,bogus", "-2", "5"] {
            assert!(parse_scales(bad).is_err(), "{bad:?}");
        }
        let still = s.pipeline(true).tracking.unwrap();
        assert_eq!(still.confirm_frames, 1, "a photo's people get IDs at once");
        assert_eq!(s.pipeline(false).tracking.unwrap().confirm_frames, 3);
        let json = serde_json::to_string(&s).unwrap();
        let back: AppSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn settings_of_earlier_versions_still_load() {
        let old = r#"{"net_height": 256, "scales": "1.0, 0.5", "device": "cuda:1",
                      "snapshot_dir": ".", "debug": {"view": "Heatmap", "channel": 3}}"#;
        let s: AppSettings = serde_json::from_str(old).unwrap();
        assert_eq!(s.net_height, 256);
        assert_eq!(s.scales, vec![1.0, 0.5]);
        assert_eq!(s.device, Device::Cuda(1));
        assert_eq!(s.snapshot_dir, None);
        assert_eq!(s.debug.channel, Some(3));
        assert_eq!(s.thresholds, Thresholds::default());
        let unknown: AppSettings = serde_json::from_str(r#"{"device": "tpu"}"#).unwrap();
        assert_eq!(unknown.device, Device::Auto);
    }

    #[test]
    fn saved_settings_out_of_range_are_reset_and_said() {
        let json = r#"{"thresholds": {"peak": 7.0}, "net_height": 100000, "debug": {"opacity": 3},
                       "scales": [9.0]}"#;
        let stored: AppSettings = serde_json::from_str(json).unwrap();
        let (s, notes) = stored.checked();
        assert_eq!(s.thresholds, Thresholds::default());
        assert_eq!(s.net_height, 368);
        assert_eq!(s.scales, vec![1.0]);
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(
            notes[0].contains("peak threshold must be between 0 and 1"),
            "{notes:?}"
        );
        let (_, none) = AppSettings::default().checked();
        assert!(none.is_empty());
    }

    #[test]
    fn debug_channels_are_named_in_plain_words() {
        use crate::pose::COCO18;
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Heatmap, Some(1)),
            "neck"
        );
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Heatmap, Some(18)),
            "background"
        );
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Paf, Some(12)),
            "neck to right shoulder, x"
        );
        assert_eq!(
            debug_channel_name(&COCO18, DebugView::Paf, Some(13)),
            "neck to right shoulder, y"
        );
        assert!(debug_channel_name(&COCO18, DebugView::Heatmap, None).contains("all parts"));
        for view in DebugView::ALL {
            assert!(view.label().is_ascii());
        }
    }
}
