//! The frozen plan of a batch: the export options (once, with their hash) in `plan.json`, and one
//! line per item in `manifest.jsonl`, sorted, each with a stable id, its input's size and mtime and
//! the outputs it will produce (relative to the batch folder).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::inputs::{is_image, FoundInput};
use super::{write_file, BatchError, MANIFEST, PLAN, RESERVED};
use crate::infer::NetConfig;
use crate::pose::Thresholds;
use crate::render::OverlayStyle;
use crate::track::TrackerSettings;

/// Which files each item gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputKinds {
    /// The annotated video (a picture for an image input).
    pub video: bool,
    pub jsonl: bool,
    /// Tracks as CSV (needs tracking).
    pub csv: bool,
}

/// Everything that decides what an item's outputs hold; hashed, so a change makes done items stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOptions {
    pub model: PathBuf,
    pub net: NetConfig,
    pub thresholds: Thresholds,
    pub tracking: Option<TrackerSettings>,
    pub style: OverlayStyle,
    pub crf: u8,
    pub preset: String,
    pub outputs: OutputKinds,
    pub max_pixels: u64,
}

impl BatchOptions {
    /// sha256 of the options as stored (16 hex digits are plenty to tell plans apart).
    pub fn hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&bytes))[..16].to_string()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    pub posecam: String,
    pub options: BatchOptions,
    pub options_hash: String,
    pub items: usize,
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// 12 hex digits of the sha256 of the mirrored path: the same input keeps its id across plans.
    pub id: String,
    pub input: PathBuf,
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Relative to the batch folder.
    pub outputs: ItemOutputs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutputs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jsonl: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
}

impl ItemOutputs {
    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.video, &self.jsonl, &self.csv].into_iter().flatten()
    }
}

/// A plan read back from its folder.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    pub file: PlanFile,
    pub items: Vec<ManifestItem>,
}

/// The size and modification time of a file, as the manifest and records keep them.
pub fn file_stamp(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Ok((meta.len(), mtime))
}

/// The outputs of an input at `relative`: `a/b/clip.mp4` gives `a/b/clip_pose.mp4`, `a/b/clip.jsonl`
/// and `a/b/clip.csv` (a picture, `_pose.png`, for an image).
pub fn outputs_for(relative: &Path, kinds: OutputKinds) -> ItemOutputs {
    let stem = relative.file_stem().unwrap_or_default().to_string_lossy();
    let beside = |name: String| relative.with_file_name(name);
    let video = if is_image(relative) {
        format!("{stem}_pose.png")
    } else {
        format!("{stem}_pose.mp4")
    };
    ItemOutputs {
        video: kinds.video.then(|| beside(video)),
        jsonl: kinds.jsonl.then(|| beside(format!("{stem}.jsonl"))),
        csv: kinds.csv.then(|| beside(format!("{stem}.csv"))),
    }
}

/// The manifest's items for `inputs`; two inputs that would write one file are refused.
pub fn items_for(
    inputs: &[FoundInput],
    kinds: OutputKinds,
) -> Result<Vec<ManifestItem>, BatchError> {
    let mut claimed: HashMap<PathBuf, &Path> = RESERVED
        .iter()
        .map(|r| (PathBuf::from(r), Path::new("posecam batch")))
        .collect();
    let mut items = Vec::with_capacity(inputs.len());
    for input in inputs {
        let outputs = outputs_for(&input.relative, kinds);
        for out in outputs.all() {
            if let Some(other) = claimed.insert(out.clone(), &input.path) {
                return Err(BatchError::SameOutput {
                    first: other.to_path_buf(),
                    second: input.path.clone(),
                    output: out.clone(),
                });
            }
        }
        let (size, mtime_ns) = file_stamp(&input.path).map_err(|e| BatchError::Read {
            path: input.path.clone(),
            source: e,
        })?;
        items.push(ManifestItem {
            id: hex(&Sha256::digest(input.relative.to_string_lossy().as_bytes()))[..12].into(),
            input: input.path.clone(),
            size,
            mtime_ns,
            outputs,
        });
    }
    Ok(items)
}

impl Plan {
    pub fn new(dir: &Path, options: BatchOptions, items: Vec<ManifestItem>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            file: PlanFile {
                posecam: env!("CARGO_PKG_VERSION").into(),
                options_hash: options.hash(),
                items: items.len(),
                options,
            },
            items,
        }
    }

    /// Reads the plan of the batch folder `dir`.
    pub fn read(dir: &Path) -> Result<Self, BatchError> {
        let path = dir.join(PLAN);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BatchError::NoPlan(dir.to_path_buf()),
            _ => BatchError::Read {
                path: path.clone(),
                source: e,
            },
        })?;
        let corrupt = |path: &Path, e: serde_json::Error| BatchError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let file: PlanFile = serde_json::from_str(&text).map_err(|e| corrupt(&path, e))?;
        let manifest = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest).map_err(|e| BatchError::Read {
            path: manifest.clone(),
            source: e,
        })?;
        let items = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| corrupt(&manifest, e)))
            .collect::<Result<Vec<ManifestItem>, _>>()?;
        if items.len() != file.items {
            return Err(BatchError::Corrupt {
                path: manifest,
                reason: format!("{} items, but {PLAN} says {}", items.len(), file.items),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            items,
        })
    }

    /// Writes `plan.json` and `manifest.jsonl`, each complete or not at all.
    pub fn write(&self) -> Result<(), BatchError> {
        let mut plan = serde_json::to_vec_pretty(&self.file).unwrap_or_default();
        plan.push(b'\n');
        let mut manifest = Vec::new();
        for item in &self.items {
            manifest.extend(serde_json::to_vec(item).unwrap_or_default());
            manifest.push(b'\n');
        }
        write_file(&self.dir.join(MANIFEST), &manifest)?;
        write_file(&self.dir.join(PLAN), &plan)
    }

    /// Same items with the same options: planning again changes nothing.
    pub fn same_as(&self, other: &Plan) -> bool {
        self.file.options_hash == other.file.options_hash && self.items == other.items
    }

    /// Where an item's output `relative` is.
    pub fn output_path(&self, relative: &Path) -> PathBuf {
        self.dir.join(relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: OutputKinds = OutputKinds {
        video: true,
        jsonl: true,
        csv: true,
    };

    #[test]
    fn outputs_mirror_the_input_tree() {
        let o = outputs_for(Path::new("a/b/clip.mp4"), ALL);
        assert_eq!(o.video, Some(PathBuf::from("a/b/clip_pose.mp4")));
        assert_eq!(o.jsonl, Some(PathBuf::from("a/b/clip.jsonl")));
        assert_eq!(o.csv, Some(PathBuf::from("a/b/clip.csv")));
        let picture = outputs_for(Path::new("photo.JPG"), ALL);
        assert_eq!(picture.video, Some(PathBuf::from("photo_pose.png")));
        let some = outputs_for(
            Path::new("x.mkv"),
            OutputKinds {
                video: false,
                jsonl: true,
                csv: false,
            },
        );
        assert_eq!(some.all().count(), 1);
    }

    #[test]
    fn two_inputs_that_would_write_one_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, b"x").unwrap();
            FoundInput {
                path,
                relative: PathBuf::from(name),
            }
        };
        let err = items_for(&[make("clip.mp4"), make("clip.mkv")], ALL).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("clip.mp4") && text.contains("clip.mkv"),
            "{text}"
        );
        // A merge file is never an item's output either.
        let err = items_for(&[make("tracks.mp4")], ALL).unwrap_err();
        assert!(err.to_string().contains("tracks.csv"), "{err}");
    }

    #[test]
    fn ids_are_stable_and_the_hash_follows_the_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.mp4");
        std::fs::write(&path, b"x").unwrap();
        let input = FoundInput {
            path,
            relative: PathBuf::from("a/c.mp4"),
        };
        let a = items_for(std::slice::from_ref(&input), ALL).unwrap();
        let b = items_for(&[input], ALL).unwrap();
        assert_eq!(a[0].id, b[0].id);
        assert_eq!(a[0].id.len(), 12);
        let options = BatchOptions {
            model: "m.onnx".into(),
            net: NetConfig::default(),
            thresholds: Thresholds::default(),
            tracking: Some(TrackerSettings::default()),
            style: OverlayStyle::default(),
            crf: 20,
            preset: "ultrafast".into(),
            outputs: ALL,
            max_pixels: 1,
        };
        let mut other = options.clone();
        other.thresholds.peak += 0.05;
        assert_eq!(options.hash(), options.clone().hash());
        assert_ne!(options.hash(), other.hash());
    }
}
