//! The frozen plan of a batch: the export options (once, with their hash) in `plan.json`, and one
//! line per item in `manifest.jsonl`, sorted, each with a stable id, its input's size and mtime and
//! the outputs it will produce (relative to the batch folder).

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::inputs::{is_image, FoundInput};
use super::{write_file, BatchError, MANIFEST, PLAN, RESERVED};
use crate::infer::NetConfig;
use crate::io::os_path;
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
    /// Motion files in a folder per item (needs tracking). Left out of plans without it, so their
    /// options hash as before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub motion: bool,
}

/// Everything that decides what an item's outputs hold; hashed, so a change makes done items stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOptions {
    #[serde(with = "os_path")]
    pub model: PathBuf,
    pub net: NetConfig,
    pub thresholds: Thresholds,
    pub tracking: Option<TrackerSettings>,
    pub style: OverlayStyle,
    pub crf: u8,
    pub preset: String,
    pub outputs: OutputKinds,
    pub max_pixels: u64,
    /// How motion files are made, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<crate::motion::MotionSettings>,
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
    /// sha256 of `manifest.jsonl` as written: an edited manifest is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// Planned with `--overwrite`: runs may replace files that were at the outputs' places before
    /// posecam wrote there. Without it they refuse to.
    #[serde(default)]
    pub overwrite: bool,
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestItem {
    /// 12 hex digits of the sha256 of the mirrored path: the same input keeps its id across plans.
    pub id: String,
    #[serde(with = "os_path")]
    pub input: PathBuf,
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Relative to the batch folder.
    pub outputs: ItemOutputs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutputs {
    #[serde(
        default,
        with = "os_path::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub video: Option<PathBuf>,
    #[serde(
        default,
        with = "os_path::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub jsonl: Option<PathBuf>,
    #[serde(
        default,
        with = "os_path::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub csv: Option<PathBuf>,
    /// A folder: `<stem>_motion/` holds the item's motion files.
    #[serde(
        default,
        with = "os_path::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub motion: Option<PathBuf>,
}

impl ItemOutputs {
    pub fn all(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.video, &self.jsonl, &self.csv, &self.motion]
            .into_iter()
            .flatten()
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
    // Byte for byte: a name that is not UTF-8 keeps its bytes (two such names never merge).
    let stem = relative.file_stem().unwrap_or_default();
    let beside = |suffix: &str| {
        let mut name = stem.to_os_string();
        name.push(suffix);
        relative.with_file_name(name)
    };
    let video = if is_image(relative) {
        "_pose.png"
    } else {
        "_pose.mp4"
    };
    ItemOutputs {
        video: kinds.video.then(|| beside(video)),
        jsonl: kinds.jsonl.then(|| beside(".jsonl")),
        csv: kinds.csv.then(|| beside(".csv")),
        motion: kinds.motion.then(|| beside("_motion")),
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
            id: hex(&Sha256::digest(input.relative.as_os_str().as_bytes()))[..12].into(),
            input: input.path.clone(),
            size,
            mtime_ns,
            outputs,
        });
    }
    // A motion folder is its item's alone: no other output may lie inside it.
    for item in &items {
        let Some(folder) = &item.outputs.motion else {
            continue;
        };
        if let Some((out, owner)) = claimed
            .iter()
            .find(|(out, _)| out.starts_with(folder) && *out != folder)
        {
            return Err(BatchError::SameOutput {
                first: item.input.clone(),
                second: owner.to_path_buf(),
                output: out.clone(),
            });
        }
    }
    Ok(items)
}

impl Plan {
    pub fn new(
        dir: &Path,
        options: BatchOptions,
        items: Vec<ManifestItem>,
        overwrite: bool,
    ) -> Self {
        let manifest_sha256 = manifest_bytes(&items)
            .map(|b| hex(&Sha256::digest(&b)))
            .ok();
        Self {
            dir: dir.to_path_buf(),
            file: PlanFile {
                posecam: env!("CARGO_PKG_VERSION").into(),
                options_hash: options.hash(),
                items: items.len(),
                options,
                manifest_sha256,
                overwrite,
            },
            items,
        }
    }

    /// Reads the plan of the batch folder `dir`, and refuses one that was edited or damaged: a hash
    /// that does not match, an output outside the folder, an id twice.
    pub fn read(dir: &Path) -> Result<Self, BatchError> {
        let path = dir.join(PLAN);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => BatchError::NoPlan(dir.to_path_buf()),
            _ => BatchError::Read {
                path: path.clone(),
                source: e,
            },
        })?;
        let file: PlanFile =
            serde_json::from_str(&text).map_err(|e| corrupt(&path, e.to_string()))?;
        if file.options.hash() != file.options_hash {
            return Err(corrupt(
                &path,
                "its options do not match its options_hash (edited by hand?): plan again with `posecam batch plan ... --overwrite`".into(),
            ));
        }
        let manifest = dir.join(MANIFEST);
        let bytes = std::fs::read(&manifest).map_err(|e| BatchError::Read {
            path: manifest.clone(),
            source: e,
        })?;
        let items = parse_manifest(&manifest, &bytes)?;
        if let Some(expected) = &file.manifest_sha256 {
            if *expected != hex(&Sha256::digest(&bytes)) {
                return Err(corrupt(
                    &manifest,
                    format!("it does not match the sha256 {PLAN} holds (edited by hand?): plan again with `posecam batch plan ... --overwrite`"),
                ));
            }
        }
        if items.len() != file.items {
            return Err(corrupt(
                &manifest,
                format!("{} items, but {PLAN} says {}", items.len(), file.items),
            ));
        }
        check_items(&manifest, &items)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            items,
        })
    }

    /// Writes `plan.json` and `manifest.jsonl`, each complete or not at all.
    pub fn write(&self) -> Result<(), BatchError> {
        let unwritable = |path: &Path, e: serde_json::Error| BatchError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        };
        let plan_path = self.dir.join(PLAN);
        let manifest_path = self.dir.join(MANIFEST);
        let mut plan =
            serde_json::to_vec_pretty(&self.file).map_err(|e| unwritable(&plan_path, e))?;
        plan.push(b'\n');
        let manifest = manifest_bytes(&self.items).map_err(|e| unwritable(&manifest_path, e))?;
        write_file(&manifest_path, &manifest)?;
        write_file(&plan_path, &plan)
    }

    /// Same items with the same options: planning again changes nothing.
    pub fn same_as(&self, other: &Plan) -> bool {
        self.file.options_hash == other.file.options_hash
            && self.items == other.items
            && self.file.overwrite == other.file.overwrite
    }

    /// Where an item's output `relative` is.
    pub fn output_path(&self, relative: &Path) -> PathBuf {
        self.dir.join(relative)
    }
}

fn corrupt(path: &Path, reason: String) -> BatchError {
    BatchError::Corrupt {
        path: path.to_path_buf(),
        reason,
    }
}

/// One JSON object a line.
fn manifest_bytes(items: &[ManifestItem]) -> Result<Vec<u8>, serde_json::Error> {
    let mut manifest = Vec::new();
    for item in items {
        manifest.extend(serde_json::to_vec(item)?);
        manifest.push(b'\n');
    }
    Ok(manifest)
}

/// The manifest's items; a line that is not one names its line number.
fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Vec<ManifestItem>, BatchError> {
    let mut items = Vec::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item = serde_json::from_slice(line).map_err(|e| {
            let text = e.to_string();
            let what = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(w, _)| w);
            corrupt(
                path,
                format!("line {}, column {}: {what}", n + 1, e.column()),
            )
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Every id once (it names the item's record file), every output once and inside the batch folder.
fn check_items(path: &Path, items: &[ManifestItem]) -> Result<(), BatchError> {
    let mut ids = HashSet::new();
    let mut outputs = HashSet::new();
    for (n, item) in items.iter().enumerate() {
        let line = n + 1;
        let is_id = item.id.len() == 12
            && item
                .id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_id {
            return Err(corrupt(
                path,
                format!("item {line}: '{}' is not an item id", item.id),
            ));
        }
        if !ids.insert(item.id.as_str()) {
            return Err(corrupt(
                path,
                format!("item {line}: the id {} is there twice", item.id),
            ));
        }
        for out in item.outputs.all() {
            if !inside_batch(out) {
                return Err(corrupt(
                    path,
                    format!(
                        "item {line}: the output {} is not inside the batch folder: refused",
                        out.display()
                    ),
                ));
            }
            if !outputs.insert(out.as_path()) {
                return Err(corrupt(
                    path,
                    format!("item {line}: the output {} is named twice", out.display()),
                ));
            }
        }
    }
    Ok(())
}

/// A relative path of plain names, below the batch folder and none of its own files.
pub fn inside_batch(relative: &Path) -> bool {
    let mut names = relative.components().map(|c| match c {
        Component::Normal(name) => Some(name),
        _ => None,
    });
    let Some(Some(first)) = names.next() else {
        return false;
    };
    let rest: Option<Vec<_>> = names.collect();
    let own = first == ".posecam"
        || rest.as_ref().is_some_and(Vec::is_empty) && RESERVED.iter().any(|r| first == *r);
    // A file's name, not a folder's (`a/`).
    let file_name = !relative.as_os_str().as_bytes().ends_with(b"/");
    rest.is_some() && !own && file_name
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: OutputKinds = OutputKinds {
        video: true,
        jsonl: true,
        csv: true,
        motion: true,
    };

    #[test]
    fn outputs_mirror_the_input_tree() {
        let o = outputs_for(Path::new("a/b/clip.mp4"), ALL);
        assert_eq!(o.video, Some(PathBuf::from("a/b/clip_pose.mp4")));
        assert_eq!(o.jsonl, Some(PathBuf::from("a/b/clip.jsonl")));
        assert_eq!(o.csv, Some(PathBuf::from("a/b/clip.csv")));
        assert_eq!(o.motion, Some(PathBuf::from("a/b/clip_motion")));
        let picture = outputs_for(Path::new("photo.JPG"), ALL);
        assert_eq!(picture.video, Some(PathBuf::from("photo_pose.png")));
        let some = outputs_for(
            Path::new("x.mkv"),
            OutputKinds {
                video: false,
                jsonl: true,
                csv: false,
                motion: false,
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
            motion: None,
        };
        let mut other = options.clone();
        other.thresholds.peak += 0.05;
        assert!(inside_batch(Path::new("a/b_pose.mp4")));
        for outside in [
            "a/",
            "../x.mp4",
            "/tmp/x.mp4",
            "a/../../x.mp4",
            "",
            ".posecam/records/x.json",
            "plan.json",
        ] {
            assert!(!inside_batch(Path::new(outside)), "{outside}");
        }
        assert_eq!(options.hash(), options.clone().hash());
        assert_ne!(options.hash(), other.hash());
    }
}
