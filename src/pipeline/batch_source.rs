//! The source of a batch: its inputs one after another, as one stream of frames stamped with their
//! item, so the next input is decoded while the last one is still in inference and encoding.
//!
//! An input that cannot be opened or read fails alone: the source says so on the item channel and
//! goes on with the next. Each item's outputs are staged when it opens (at most a few at a time).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::capture::{CaptureError, Frame, FrameSource, PictureKind, SourceInfo, VideoSource};
use crate::io::transaction::{FolderFiles, OutputId, OutputSet};
use crate::video::VideoInfo;

/// One input of a batch and the files it gets (targets; the run stages them).
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub input: PathBuf,
    /// Annotated video (`.mp4`...) or picture (`.png`) for an image input.
    pub annotated: Option<PathBuf>,
    pub jsonl: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    /// A folder for the item's motion files, and how they are made.
    pub motion: Option<(PathBuf, crate::motion::MotionSettings)>,
    /// The caller's number for the item (a batch's manifest position), for its gate.
    pub tag: usize,
    /// Asked as the item opens, before anything is read or staged.
    pub gate: Option<Arc<dyn ItemGate>>,
}

/// A batch's rules for an item as it opens: it takes the item's lock (returned, held until the
/// item's record is written) and checks that its outputs may be written.
pub trait ItemGate: Send + Sync {
    fn enter(&self, item: &BatchItem) -> Result<Option<std::fs::File>, ItemFailure>;
}

impl std::fmt::Debug for dyn ItemGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemGate")
    }
}

/// Why an item failed: retrying cannot help a bad input or a refused output, and may help anything
/// else; a skipped item is not this run's to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemFailure {
    BadInput(String),
    /// Its outputs may not be written as planned (a file in the way, a path out of the folder).
    Refused(String),
    /// Another run holds it, or finished it meanwhile.
    Skipped(String),
    Other(String),
}

impl ItemFailure {
    pub fn message(&self) -> &str {
        match self {
            ItemFailure::BadInput(m)
            | ItemFailure::Refused(m)
            | ItemFailure::Skipped(m)
            | ItemFailure::Other(m) => m,
        }
    }
}

/// An item's outputs, staged: where each is written now.
pub(crate) struct StagedOutputs {
    pub input: PathBuf,
    pub set: OutputSet,
    /// The gate's lock on the item.
    pub lock: Option<std::fs::File>,
    pub annotated: Option<OutputId>,
    pub jsonl: Option<OutputId>,
    pub csv: Option<OutputId>,
    /// The motion folder, and how its files are made.
    pub motion: Option<(OutputId, crate::motion::MotionSettings)>,
}

/// What the source tells the encoder about items, in the order it happens; an item's `Started`
/// comes before its first frame, its end before the next item's first frame.
pub(crate) enum ItemEvent {
    Started {
        item: usize,
        info: Box<VideoInfo>,
        outputs: Box<StagedOutputs>,
        at: Instant,
    },
    /// Read to its end.
    Ended(usize),
    Failed(usize, ItemFailure),
}

/// The batch's inputs as one [`FrameSource`].
pub(crate) struct BatchSource {
    items: Vec<BatchItem>,
    next: usize,
    current: Option<(usize, VideoSource)>,
    events: Sender<ItemEvent>,
    info: SourceInfo,
    max_pixels: u64,
}

impl BatchSource {
    pub(crate) fn new(items: Vec<BatchItem>, events: Sender<ItemEvent>, max_pixels: u64) -> Self {
        Self {
            info: SourceInfo {
                name: format!("{} inputs", items.len()),
                width: 0,
                height: 0,
                frame_rate: None,
                duration_s: None,
                live: false,
                seekable: false,
                reconnects: false,
                loops: false,
            },
            items,
            next: 0,
            current: None,
            events,
            max_pixels,
        }
    }

    /// Opens the next item; false when there is none left.
    fn open_next(&mut self) -> bool {
        let Some(item) = self.items.get(self.next) else {
            return false;
        };
        let index = self.next;
        self.next += 1;
        let at = Instant::now();
        let event = match open_item(item, self.max_pixels) {
            Ok((source, info, outputs)) => {
                self.current = Some((index, source));
                ItemEvent::Started {
                    item: index,
                    info: Box::new(info),
                    outputs: Box::new(outputs),
                    at,
                }
            }
            Err(failure) => ItemEvent::Failed(index, failure),
        };
        let _ = self.events.send(event);
        true
    }
}

/// Checks and opens an input, and stages its outputs (a batch replaces what it wrote before).
fn open_item(
    item: &BatchItem,
    max_pixels: u64,
) -> Result<(VideoSource, VideoInfo, StagedOutputs), ItemFailure> {
    let bad = |e: &dyn std::error::Error| ItemFailure::BadInput(super::error_chain(e));
    let lock = match &item.gate {
        Some(gate) => gate.enter(item)?,
        None => None,
    };
    crate::io::inputs::regular_file(&item.input).map_err(|e| bad(&e))?;
    let reader = crate::video::VideoReader::open(&item.input).map_err(|e| bad(&e))?;
    let info = reader.info().clone();
    crate::io::inputs::within_pixels(&item.input, (info.width, info.height), max_pixels)
        .map_err(|e| bad(&e))?;
    let mut outputs =
        stage_outputs(item).map_err(|e| ItemFailure::Other(super::error_chain(&e)))?;
    outputs.lock = lock;
    let source = VideoSource::from_reader(&item.input, reader, PictureKind::Yuv);
    Ok((source, info, outputs))
}

fn stage_outputs(item: &BatchItem) -> Result<StagedOutputs, crate::io::transaction::OutputError> {
    // Files already there were judged by the gate (this batch's own, or planned with --overwrite);
    // with none there, a file that appears before the commit is not replaced.
    let folder = item.motion.as_ref().map(|(dir, _)| dir.clone());
    let targets = [&item.annotated, &item.jsonl, &item.csv, &folder];
    let replace = targets
        .into_iter()
        .flatten()
        .any(|p| p.symlink_metadata().is_ok());
    let mut set = OutputSet::new(&[item.input.as_path()], replace);
    let mut add = |path: &Option<PathBuf>, role: &str| -> Result<_, _> {
        path.as_deref()
            .map(|p| {
                create_parent(p)?;
                set.add_file(p, role)
            })
            .transpose()
    };
    let annotated = add(&item.annotated, "annotated output")?;
    let jsonl = add(&item.jsonl, "keypoints (JSON lines)")?;
    let csv = add(&item.csv, "tracks (CSV)")?;
    let motion = item
        .motion
        .as_ref()
        .map(|(dir, settings)| {
            create_parent(dir)?;
            let id = set.add_folder(dir, "motion files", FolderFiles::Whole)?;
            Ok::<_, crate::io::transaction::OutputError>((id, *settings))
        })
        .transpose()?;
    set.stage()?;
    Ok(StagedOutputs {
        input: item.input.clone(),
        set,
        lock: None,
        annotated,
        jsonl,
        csv,
        motion,
    })
}

/// Output folders mirror the input tree; they are made as items start.
fn create_parent(path: &Path) -> Result<(), crate::io::transaction::OutputError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| {
            crate::io::transaction::OutputError::Write {
                path: parent.to_path_buf(),
                source: e,
            }
        }),
        None => Ok(()),
    }
}

impl FrameSource for BatchSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        loop {
            let Some((item, source)) = self.current.as_mut() else {
                if self.open_next() {
                    continue;
                }
                return Ok(None);
            };
            let item = *item;
            match source.next_frame() {
                Ok(Some(frame)) => return Ok(Some(Frame { item, ..frame })),
                Ok(None) => {
                    let _ = self.events.send(ItemEvent::Ended(item));
                }
                Err(e) => {
                    let failure = ItemFailure::BadInput(super::error_chain(&e));
                    let _ = self.events.send(ItemEvent::Failed(item, failure));
                }
            }
            self.current = None;
        }
    }

    fn seek(&mut self, _time_s: f64) -> Result<(), CaptureError> {
        Err(CaptureError::NotSeekable)
    }
}
