//! The model contract: how to feed a network and where its heatmaps and PAFs come out.
//!
//! The output side is recognised from the output shapes (channel counts name the skeleton, their
//! position the layout; where both positions fit, the outputs follow the input's layout, or the
//! manifest's `output_layout`). The input side cannot be seen in the graph, so it comes from a manifest
//! (`<model stem>.json` beside the model) or, failing that, from a built-in preset chosen by the input's
//! layout: NCHW means the CMU convention, NHWC the tf-pose one. A layout is never guessed silently:
//! where the graph cannot tell, the error says to set it in the manifest.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pose::{check_range, MapLayout, RangeError, Skeleton};

/// Memory layout of a 4-D tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorLayout {
    Nchw,
    Nhwc,
}

impl TensorLayout {
    pub fn maps(self) -> MapLayout {
        match self {
            TensorLayout::Nchw => MapLayout::Chw,
            TensorLayout::Nhwc => MapLayout::Hwc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    Bgr,
    Rgb,
}

/// How pixels become input values: `value = pixel · scale + offset`, per channel in `channels` order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InputConvention {
    pub layout: TensorLayout,
    pub channels: ChannelOrder,
    pub scale: f32,
    pub offset: f32,
    /// Grey level of the padding that fills the net input beyond the resized image.
    pub pad_value: u8,
    /// Output stride; the net input size is a multiple of it.
    pub stride: usize,
}

/// Built-in input conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// CMU's Caffe COCO / BODY_25 models and their ONNX exports: NCHW BGR, `x/256 − 0.5`.
    Cmu,
    /// ildoonet/tf-pose-estimation graphs: NHWC BGR, raw 0..255.
    TfPose,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Cmu => "cmu",
            Preset::TfPose => "tf-pose",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "cmu" | "openpose" | "caffe" => Some(Preset::Cmu),
            "tf-pose" | "tfpose" | "tensorflow" => Some(Preset::TfPose),
            _ => None,
        }
    }

    pub fn convention(self) -> InputConvention {
        match self {
            Preset::Cmu => InputConvention {
                layout: TensorLayout::Nchw,
                channels: ChannelOrder::Bgr,
                scale: 1.0 / 256.0,
                offset: -0.5,
                pad_value: 128,
                stride: 8,
            },
            Preset::TfPose => InputConvention {
                layout: TensorLayout::Nhwc,
                channels: ChannelOrder::Bgr,
                scale: 1.0,
                offset: 0.0,
                pad_value: 128,
                stride: 8,
            },
        }
    }
}

/// The optional manifest beside a model. Every field overrides the preset it starts from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub preset: Option<String>,
    /// The input's layout (and the outputs', unless `output_layout` says otherwise).
    pub layout: Option<TensorLayout>,
    pub output_layout: Option<TensorLayout>,
    pub channels: Option<ChannelOrder>,
    pub scale: Option<f32>,
    pub offset: Option<f32>,
    pub pad_value: Option<u8>,
    pub stride: Option<usize>,
    pub description: Option<String>,
}

impl Manifest {
    /// `<dir>/<stem>.json` for `<dir>/<stem>.onnx`.
    pub fn path_for(model: &Path) -> PathBuf {
        model.with_extension("json")
    }

    /// Reads the manifest beside `model`, if there is one.
    pub fn load_for(model: &Path) -> Result<Option<(PathBuf, Manifest)>, ContractError> {
        let path = Self::path_for(model);
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| ContractError::ManifestRead {
            path: path.clone(),
            source: e,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| ContractError::ManifestParse {
                path: path.clone(),
                source: e,
            })?;
        Ok(Some((path, manifest)))
    }
}

/// How a model breaks the contract posecam reads models by, each one line.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("expected one image input, found {0}")]
    InputCount(usize),
    #[error("input {0} is not a 4-D float image tensor")]
    NotAnImage(String),
    #[error(
        "input {0} could be NCHW or NHWC: set \"layout\": \"nchw\" or \"nhwc\" in the manifest"
    )]
    AmbiguousLayout(String),
    #[error("input {0} has no 3-channel axis (NCHW or NHWC)")]
    NoChannelAxis(String),
    #[error("manifest says layout {declared:?} but input {input} is {actual:?}")]
    LayoutMismatch {
        declared: TensorLayout,
        input: String,
        actual: TensorLayout,
    },
    #[error("input {input} has a fixed batch of {batch}")]
    FixedBatch { input: String, batch: i64 },
    #[error(
        "no output holds heatmaps and PAFs of a known skeleton (COCO-18: 19 + 38 channels, \
         BODY-25: 26 + 52; as two tensors or one concatenated, NCHW or NHWC)"
    )]
    NoPoseOutputs,
    #[error(
        "output {name} has shape {shape:?}, expected 4-D with {channels} channels on a {}x{} grid \
         (input {}x{}, stride {})",
        grid.0, grid.1, net.0, net.1, stride
    )]
    OutputShape {
        name: String,
        shape: Vec<i64>,
        channels: usize,
        grid: (usize, usize),
        net: (usize, usize),
        stride: usize,
    },
    #[error("unknown preset '{0}' in manifest (known: cmu, tf-pose)")]
    UnknownPreset(String),
    #[error("manifest: {0}")]
    ManifestValue(RangeError),
    #[error("cannot read the manifest {path}")]
    ManifestRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the manifest {path} is not valid")]
    ManifestParse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// Name, element type and shape (`-1` for dynamic) of one model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<i64>,
    pub is_f32: bool,
}

impl std::fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| if *d < 0 { "?".into() } else { d.to_string() })
            .collect();
        let ty = if self.is_f32 { "f32" } else { "non-f32" };
        write!(f, "{} {}[{}]", self.name, ty, dims.join(","))
    }
}

/// One output tensor and where its channels are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSlot {
    pub index: usize,
    pub layout: TensorLayout,
}

/// Where heatmaps and PAFs come out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapSource {
    /// Two tensors (the CMU models: PAFs "L1" and heatmaps "L2").
    Separate {
        heatmaps: OutputSlot,
        pafs: OutputSlot,
    },
    /// One tensor, heatmaps then PAFs (tf-pose, OpenPose's `net_output`).
    Combined(OutputSlot),
}

/// Everything needed to run a model, recognised from its graph and manifest.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub input_index: usize,
    pub input: InputConvention,
    /// (width, height) when the graph fixes the input size.
    pub fixed_input_size: Option<(usize, usize)>,
    pub maps: MapSource,
    pub skeleton: &'static Skeleton,
    /// Where the input convention came from, for logs.
    pub convention_source: String,
}

/// Recognises the contract of a model from its inputs, outputs and optional manifest.
pub fn detect(
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
    manifest: Option<&Manifest>,
) -> Result<ModelSpec, ContractError> {
    let (input_index, input_layout, fixed_input_size) =
        detect_input(inputs, manifest.and_then(|m| m.layout))?;
    let output_layout = manifest
        .and_then(|m| m.output_layout.or(m.layout))
        .unwrap_or(input_layout);
    let (maps, skeleton) = detect_outputs(outputs, output_layout)?;
    let manifest_preset = match manifest.and_then(|m| m.preset.as_deref()) {
        Some(name) => Some(
            Preset::from_name(name)
                .ok_or_else(|| ContractError::UnknownPreset(name.to_string()))?,
        ),
        None => None,
    };
    let preset = manifest_preset.unwrap_or(match input_layout {
        TensorLayout::Nchw => Preset::Cmu,
        TensorLayout::Nhwc => Preset::TfPose,
    });
    let mut input = preset.convention();
    input.layout = input_layout;
    let mut convention_source = format!("built-in preset '{}'", preset.name());
    if let Some(m) = manifest {
        convention_source = format!("manifest (preset '{}')", preset.name());
        apply_manifest(&mut input, m)?;
    }
    Ok(ModelSpec {
        input_index,
        input,
        fixed_input_size,
        maps,
        skeleton,
        convention_source,
    })
}

/// Manifest values override the preset; each is checked like a flag.
fn apply_manifest(input: &mut InputConvention, m: &Manifest) -> Result<(), ContractError> {
    input.channels = m.channels.unwrap_or(input.channels);
    input.scale = m.scale.unwrap_or(input.scale);
    input.offset = m.offset.unwrap_or(input.offset);
    input.pad_value = m.pad_value.unwrap_or(input.pad_value);
    input.stride = m.stride.unwrap_or(input.stride);
    let with = ContractError::ManifestValue;
    check_range("scale", input.scale.abs(), 1e-9..=1e9).map_err(with)?;
    check_range("offset", input.offset, -1e9..=1e9).map_err(with)?;
    check_range("stride", input.stride, 1..=64).map_err(with)?;
    Ok(())
}

/// (input index, layout, fixed (width, height) if the graph fixes it).
type InputShape = (usize, TensorLayout, Option<(usize, usize)>);

fn detect_input(
    inputs: &[TensorInfo],
    declared: Option<TensorLayout>,
) -> Result<InputShape, ContractError> {
    if inputs.len() != 1 {
        return Err(ContractError::InputCount(inputs.len()));
    }
    let t = &inputs[0];
    if !t.is_f32 || t.shape.len() != 4 {
        return Err(ContractError::NotAnImage(t.to_string()));
    }
    let layout = match (t.shape[1] == 3, t.shape[3] == 3, declared) {
        (true, true, None) => return Err(ContractError::AmbiguousLayout(t.to_string())),
        (true, true, Some(l)) => l,
        (true, false, _) => TensorLayout::Nchw,
        (false, true, _) => TensorLayout::Nhwc,
        (false, false, _) => return Err(ContractError::NoChannelAxis(t.to_string())),
    };
    if let Some(l) = declared.filter(|l| *l != layout) {
        return Err(ContractError::LayoutMismatch {
            declared: l,
            input: t.to_string(),
            actual: layout,
        });
    }
    let (h, w) = match layout {
        TensorLayout::Nchw => (t.shape[2], t.shape[3]),
        TensorLayout::Nhwc => (t.shape[1], t.shape[2]),
    };
    if t.shape[0] > 1 {
        return Err(ContractError::FixedBatch {
            input: t.to_string(),
            batch: t.shape[0],
        });
    }
    let fixed = (h > 0 && w > 0).then_some((w as usize, h as usize));
    Ok((0, layout, fixed))
}

/// Where `channels` lie in output `t`, if they do: a shape that fits both NCHW and NHWC (a square
/// grid as wide as the channel count) takes `prefer`.
fn channel_layout(t: &TensorInfo, channels: usize, prefer: TensorLayout) -> Option<TensorLayout> {
    if !t.is_f32 || t.shape.len() != 4 {
        return None;
    }
    let c = channels as i64;
    match (t.shape[1] == c, t.shape[3] == c) {
        (true, true) => Some(prefer),
        (true, false) => Some(TensorLayout::Nchw),
        (false, true) => Some(TensorLayout::Nhwc),
        (false, false) => None,
    }
}

fn detect_outputs(
    outputs: &[TensorInfo],
    prefer: TensorLayout,
) -> Result<(MapSource, &'static Skeleton), ContractError> {
    // Later outputs win: exports that keep every stage list the final stage last.
    for skeleton in crate::pose::skeleton::ALL_SKELETONS {
        let find = |channels: usize| {
            outputs.iter().enumerate().rev().find_map(|(index, t)| {
                channel_layout(t, channels, prefer).map(|layout| OutputSlot { index, layout })
            })
        };
        if let (Some(heatmaps), Some(pafs)) = (
            find(skeleton.heatmap_channels()),
            find(skeleton.paf_channels()),
        ) {
            if heatmaps.index != pafs.index {
                return Ok((MapSource::Separate { heatmaps, pafs }, skeleton));
            }
        }
        if let Some(slot) = find(skeleton.heatmap_channels() + skeleton.paf_channels()) {
            return Ok((MapSource::Combined(slot), skeleton));
        }
    }
    Err(ContractError::NoPoseOutputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pose::{BODY25, COCO18};

    fn t(name: &str, shape: &[i64]) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            shape: shape.to_vec(),
            is_f32: true,
        }
    }

    #[test]
    fn cmu_layout_is_recognised_in_either_output_order() {
        let inputs = [t("input", &[1, 3, -1, -1])];
        for outputs in [
            vec![t("paf", &[1, 38, -1, -1]), t("heat", &[1, 19, -1, -1])],
            vec![t("heat", &[1, 19, -1, -1]), t("paf", &[1, 38, -1, -1])],
        ] {
            let spec = detect(&inputs, &outputs, None).unwrap();
            assert_eq!(spec.skeleton, &COCO18);
            assert_eq!(spec.input, Preset::Cmu.convention());
            let MapSource::Separate { heatmaps, pafs } = spec.maps else {
                panic!()
            };
            assert_eq!(outputs[heatmaps.index].name, "heat");
            assert_eq!(outputs[pafs.index].name, "paf");
            assert_eq!(heatmaps.layout, TensorLayout::Nchw);
        }
    }

    #[test]
    fn tf_pose_layout_is_recognised() {
        let spec = detect(
            &[t("image:0", &[-1, -1, -1, 3])],
            &[t("Openpose/concat_stage7:0", &[-1, -1, -1, 57])],
            None,
        )
        .unwrap();
        assert_eq!(
            spec.maps,
            MapSource::Combined(OutputSlot {
                index: 0,
                layout: TensorLayout::Nhwc
            })
        );
        assert_eq!(spec.input, Preset::TfPose.convention());
        assert_eq!(spec.fixed_input_size, None);
    }

    #[test]
    fn body25_and_fixed_sizes_are_recognised() {
        let spec = detect(
            &[t("x", &[1, 3, 368, 656])],
            &[t("out", &[1, 78, 46, 82])],
            None,
        )
        .unwrap();
        assert_eq!(spec.skeleton, &BODY25);
        assert_eq!(spec.fixed_input_size, Some((656, 368)));
    }

    #[test]
    fn manifest_overrides_the_preset() {
        let m: Manifest =
            serde_json::from_str(r#"{"channels":"rgb","scale":0.00392156,"offset":0}"#).unwrap();
        let spec = detect(
            &[t("x", &[1, 3, -1, -1])],
            &[t("a", &[1, 38, -1, -1]), t("b", &[1, 19, -1, -1])],
            Some(&m),
        )
        .unwrap();
        assert_eq!(spec.input.channels, ChannelOrder::Rgb);
        assert_eq!(spec.input.offset, 0.0);
        assert!(serde_json::from_str::<Manifest>(r#"{"colour":"rgb"}"#).is_err());
        let bad: Manifest = serde_json::from_str(r#"{"layout":"nhwc"}"#).unwrap();
        assert!(detect(
            &[t("x", &[1, 3, -1, -1])],
            &[t("a", &[1, 57, -1, -1])],
            Some(&bad)
        )
        .is_err());
    }

    #[test]
    fn a_square_grid_as_wide_as_the_channels_follows_the_input_layout() {
        // 456x456 NHWC input: the output grid is 57x57 and has 57 channels.
        let spec = detect(
            &[t("image:0", &[1, 456, 456, 3])],
            &[t("out", &[1, 57, 57, 57])],
            None,
        )
        .unwrap();
        assert_eq!(
            spec.maps,
            MapSource::Combined(OutputSlot {
                index: 0,
                layout: TensorLayout::Nhwc
            })
        );
        let m: Manifest = serde_json::from_str(r#"{"output_layout":"nchw"}"#).unwrap();
        let spec = detect(
            &[t("image:0", &[1, 456, 456, 3])],
            &[t("out", &[1, 57, 57, 57])],
            Some(&m),
        )
        .unwrap();
        assert!(matches!(spec.maps, MapSource::Combined(s) if s.layout == TensorLayout::Nchw));
    }

    #[test]
    fn an_input_that_could_be_either_layout_needs_the_manifest() {
        let inputs = [t("x", &[1, 3, 64, 3])];
        let outputs = [t("a", &[1, 57, 8, 8])];
        let err = detect(&inputs, &outputs, None).unwrap_err();
        assert!(matches!(err, ContractError::AmbiguousLayout(_)), "{err}");
        assert!(err.to_string().contains("\"layout\""), "{err}");
        let m: Manifest = serde_json::from_str(r#"{"layout":"nchw"}"#).unwrap();
        assert_eq!(
            detect(&inputs, &outputs, Some(&m)).unwrap().input.layout,
            TensorLayout::Nchw
        );
    }

    #[test]
    fn manifest_values_are_checked_like_flags() {
        for bad in [r#"{"stride":0}"#, r#"{"scale":0}"#, r#"{"offset":1e30}"#] {
            let m: Manifest = serde_json::from_str(bad).unwrap();
            let err = detect(
                &[t("x", &[1, 3, -1, -1])],
                &[t("a", &[1, 57, -1, -1])],
                Some(&m),
            )
            .unwrap_err();
            assert!(err.to_string().starts_with("manifest: "), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_models_are_rejected() {
        let err = detect(&[t("x", &[1, 3, -1, -1])], &[t("logits", &[1, 1000])], None).unwrap_err();
        assert!(err.to_string().contains("known skeleton"), "{err}");
        assert!(detect(&[t("x", &[1, 4, 8, 8])], &[t("a", &[1, 57, 1, 1])], None).is_err());
        assert!(detect(&[], &[t("a", &[1, 57, 1, 1])], None).is_err());
    }
}
