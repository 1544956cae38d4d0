//! Inference: runs a PAF network with ONNX Runtime and hands its maps to [`crate::pose`].
//!
//! An [`Engine`] is preprocess → session → maps: it owns the session, recognises the model's contract
//! once at load, and reuses its input buffers from frame to frame.

pub mod memory;
pub mod model;
mod output_maps;
pub mod preprocess;
pub mod runtime;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use crate::pose::{PoseMaps, Skeleton};
pub use model::ContractError;
use model::{Manifest, ModelSpec, TensorInfo};
use output_maps::{average_scales, OutputContract};
pub use preprocess::NetInput;
pub use preprocess::NetInputError;
use preprocess::{NetGeometry, Preprocessor};
pub use runtime::{Device, Provider};

/// Failures at the inference boundary. Each reads as one line.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The ONNX Runtime shared library is in none of the places we look.
    #[error(
        "ONNX Runtime library not found (looked in: {searched}); run `./posecam.sh setup` to install \
         it into .deps/, or set ORT_DYLIB_PATH to a libonnxruntime shared library"
    )]
    RuntimeMissing { searched: String },
    /// The library exists but could not be loaded.
    #[error("could not load ONNX Runtime from {path}")]
    RuntimeLoad {
        path: PathBuf,
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The model path does not exist.
    #[error("model file {0} does not exist (run `posecam model fetch`, or pass --model PATH)")]
    ModelMissing(PathBuf),
    /// ONNX Runtime refused the file (not ONNX, truncated, unsupported operators...).
    #[error("{path} is not a loadable ONNX model")]
    ModelLoad {
        path: PathBuf,
        source: Arc<ort::Error>,
    },
    #[error("{0} is a folder; name the .onnx file in it")]
    ModelIsFolder(PathBuf),
    /// The model path names something that is not a regular file (a FIFO, a device).
    #[error("model: {0}")]
    ModelFile(crate::io::inputs::InputError),
    /// A valid ONNX model that is not a PAF pose network we understand.
    #[error(
        "{path} does not fit a PAF pose model contract{}",
        shapes(inputs, outputs)
    )]
    ModelContract {
        path: PathBuf,
        source: Arc<ContractError>,
        inputs: String,
        outputs: String,
    },
    /// `--device cuda` was asked for and CUDA could not be used.
    #[error("CUDA unavailable: {0} (`posecam doctor` shows every piece; --device auto or cpu runs on the CPU)")]
    CudaUnavailable(String),
    /// The image cannot be fed to the network (empty, absurd size).
    #[error("cannot prepare the network input")]
    Input(#[source] Arc<NetInputError>),
    /// ONNX Runtime failed while running.
    #[error("inference failed")]
    Inference(#[source] Arc<ort::Error>),
    /// ONNX Runtime returned a tensor that holds less data than its shape says.
    #[error("inference failed: output {0} is smaller than its shape")]
    OutputTooSmall(String),
}

/// The model's inputs and outputs, for a contract error (left out where they are not known).
fn shapes(inputs: &str, outputs: &str) -> String {
    if inputs.is_empty() && outputs.is_empty() {
        String::new()
    } else {
        format!(" (inputs: {inputs}; outputs: {outputs})")
    }
}

impl From<NetInputError> for EngineError {
    fn from(e: NetInputError) -> Self {
        EngineError::Input(Arc::new(e))
    }
}

/// How to create an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub device: Device,
    /// Intra-op threads for ONNX Runtime (`None`: its default, one per core).
    pub threads: Option<usize>,
    /// Use this ONNX Runtime library instead of searching for one.
    pub runtime_library: Option<PathBuf>,
    /// Let idle ONNX Runtime threads spin (lowest latency when nothing else runs).
    pub spin: bool,
}

/// Network input size and the scales to average (OpenPose's `scale_number`/`scale_gap`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetConfig {
    pub net_height: usize,
    pub scales: Vec<f32>,
    /// `net_height` is for the shorter side: a portrait frame gets the pixels a landscape one of the
    /// same shape gets (368 on 1080×1920 is 368 wide, 654 high, not 208×368). The default; a height
    /// the user gives is a height.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub short_side: bool,
}

impl NetConfig {
    /// Network input heights accepted, for flags, sliders and saved settings alike.
    pub const NET_HEIGHT: std::ops::RangeInclusive<usize> = 8..=4096;
    /// Scales accepted, as fractions of the net height.
    pub const SCALE: std::ops::RangeInclusive<f32> = 0.01..=4.0;

    /// The network input height for a picture of `size` (width, height) at `scale`.
    pub fn height_for(&self, size: (usize, usize), scale: f32) -> usize {
        let (w, h) = (size.0.max(1) as f32, size.1.max(1) as f32);
        let base = self.net_height as f32 * scale;
        let base = if self.short_side && h > w {
            base * h / w
        } else {
            base
        };
        base.round().clamp(1.0, *Self::NET_HEIGHT.end() as f32) as usize
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            net_height: 368,
            scales: vec![1.0],
            short_side: true,
        }
    }
}

/// How many inference workers to run and how many threads each gets.
///
/// On a CPU, several single- or few-threaded sessions working on different frames outrun one session
/// using every core: ONNX Runtime's intra-op scaling is well below linear on the small convolutions of
/// pose networks (1.7× on 2 cores). On CUDA one session keeps the GPU busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPlan {
    pub workers: usize,
    /// Intra-op threads per session (`None`: ONNX Runtime's default).
    pub threads_per_worker: Option<usize>,
}

impl WorkerPlan {
    pub fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// The plan for `provider`, honouring an explicit worker count (capped at the core count) and
    /// thread count.
    pub fn new(provider: Provider, workers: Option<usize>, threads: Option<usize>) -> Self {
        let cores = Self::cores();
        let workers = match (workers, provider) {
            (Some(n), _) => n.clamp(1, cores),
            (None, Provider::Cuda) => 1,
            (None, Provider::Cpu) => (cores / 2).clamp(1, 4).max(usize::from(cores >= 2) * 2),
        };
        let threads_per_worker = match (threads, provider, workers) {
            (Some(t), ..) => Some(t),
            (None, Provider::Cpu, n) if n > 1 => Some((cores / n).max(1)),
            _ => None,
        };
        Self {
            workers,
            threads_per_worker,
        }
    }
}

/// Time spent in the last [`Engine::infer`] call.
#[derive(Debug, Clone, Copy, Default)]
pub struct InferTimings {
    pub preprocess: Duration,
    pub inference: Duration,
    /// Copying outputs (and averaging scales).
    pub postprocess: Duration,
}

/// A loaded PAF pose network.
pub struct Engine {
    session: Session,
    spec: ModelSpec,
    provider: Provider,
    model_path: PathBuf,
    input_name: String,
    output_names: Vec<String>,
    preprocessor: Preprocessor,
    tensor: Vec<f32>,
    last_timings: InferTimings,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.model_path)
            .field("provider", &self.provider)
            .field("skeleton", &self.spec.skeleton.name)
            .finish()
    }
}

impl Engine {
    /// Loads `model_path`, recognises its contract and registers the execution provider.
    pub fn load(model_path: &Path, options: &EngineOptions) -> Result<Self, EngineError> {
        if model_path.is_dir() {
            return Err(EngineError::ModelIsFolder(model_path.to_path_buf()));
        }
        match crate::io::inputs::regular_file(model_path) {
            Ok(()) => {}
            Err(crate::io::inputs::InputError::Missing(p)) => {
                return Err(EngineError::ModelMissing(p))
            }
            Err(e) => return Err(EngineError::ModelFile(e)),
        }
        let (session, provider) = open_session(model_path, options)?;
        let inputs = tensor_infos(session.inputs());
        let outputs = tensor_infos(session.outputs());
        let describe = |ts: &[TensorInfo]| {
            ts.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let contract_err = |e: ContractError| EngineError::ModelContract {
            path: model_path.to_path_buf(),
            source: Arc::new(e),
            inputs: describe(&inputs),
            outputs: describe(&outputs),
        };
        let manifest = Manifest::load_for(model_path).map_err(&contract_err)?;
        let spec = model::detect(&inputs, &outputs, manifest.as_ref().map(|(_, m)| m))
            .map_err(&contract_err)?;
        tracing::debug!(
            model = %model_path.display(),
            skeleton = spec.skeleton.name,
            input = %describe(&inputs),
            convention = %spec.convention_source,
            provider = %provider,
            "model loaded"
        );
        Ok(Self {
            input_name: inputs[spec.input_index].name.clone(),
            output_names: outputs.iter().map(|o| o.name.clone()).collect(),
            session,
            spec,
            provider,
            model_path: model_path.to_path_buf(),
            preprocessor: Preprocessor::new(),
            tensor: Vec::new(),
            last_timings: InferTimings::default(),
        })
    }

    /// Engines for parallel inference workers: `workers` of them (at most one per core), or as many
    /// as [`WorkerPlan`] suggests for the provider the first one lands on.
    pub fn load_workers(
        model: &Path,
        options: &EngineOptions,
        workers: Option<usize>,
    ) -> Result<Vec<Engine>, EngineError> {
        let first = Engine::load(model, options)?;
        let plan = WorkerPlan::new(first.provider(), workers, options.threads);
        if plan.workers == 1 && options.threads == plan.threads_per_worker {
            return Ok(vec![first]);
        }
        drop(first);
        let shared = EngineOptions {
            threads: plan.threads_per_worker,
            ..options.clone()
        };
        (0..plan.workers)
            .map(|_| Engine::load(model, &shared))
            .collect()
    }

    pub fn skeleton(&self) -> &'static Skeleton {
        self.spec.skeleton
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    pub fn last_timings(&self) -> InferTimings {
        self.last_timings
    }

    /// What running `workers` such engines on an image of `size` at `net` will need beyond the
    /// loaded model (see [`memory`]).
    pub fn memory_estimate(
        &self,
        size: (usize, usize),
        net: &NetConfig,
        workers: usize,
    ) -> Result<memory::MemoryEstimate, EngineError> {
        let geometries = net
            .scales
            .iter()
            .filter(|s| s.is_finite() && **s > 0.0)
            .map(|&s| self.geometry(size, net.height_for(size, s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(memory::MemoryEstimate::new(
            self.spec.input.layout,
            &geometries,
            workers,
        ))
    }

    /// Network input geometry for an image of `size` at `net_height`.
    pub fn geometry(
        &self,
        size: (usize, usize),
        net_height: usize,
    ) -> Result<NetGeometry, EngineError> {
        NetGeometry::new(
            size,
            net_height,
            self.spec.input.stride,
            self.spec.fixed_input_size,
        )
        .map_err(EngineError::from)
    }

    /// Runs the network on `image` at every scale of `net` and returns the (averaged) maps.
    pub fn infer(&mut self, image: &RgbImage, net: &NetConfig) -> Result<PoseMaps, EngineError> {
        self.infer_input(NetInput::Rgb(image), net)
    }

    /// [`Engine::infer`] for any picture; keypoints come back in its pixels.
    pub fn infer_input(
        &mut self,
        picture: NetInput<'_>,
        net: &NetConfig,
    ) -> Result<PoseMaps, EngineError> {
        let mut timings = InferTimings::default();
        let scales: Vec<f32> = net
            .scales
            .iter()
            .copied()
            .filter(|s| s.is_finite() && *s > 0.0)
            .collect();
        let scales = if scales.is_empty() { vec![1.0] } else { scales };
        let mut per_scale = Vec::with_capacity(scales.len());
        for &scale in &scales {
            let geometry = self.geometry(picture.size(), net.height_for(picture.size(), scale))?;
            per_scale.push(self.infer_at(picture, &geometry, &mut timings)?);
        }
        let t = Instant::now();
        let maps = match per_scale.len() {
            1 => per_scale.pop(),
            _ => average_scales(&per_scale),
        }
        .ok_or(NetInputError::NoScale)?;
        timings.postprocess += t.elapsed();
        self.last_timings = timings;
        Ok(maps)
    }

    fn infer_at(
        &mut self,
        picture: NetInput<'_>,
        geometry: &NetGeometry,
        timings: &mut InferTimings,
    ) -> Result<PoseMaps, EngineError> {
        let t = Instant::now();
        self.preprocessor
            .fill(picture, geometry, &self.spec.input, &mut self.tensor)?;
        let (w, h) = (geometry.net_width, geometry.net_height);
        let shape = match self.spec.input.layout {
            model::TensorLayout::Nchw => [1usize, 3, h, w],
            model::TensorLayout::Nhwc => [1usize, h, w, 3],
        };
        timings.preprocess += t.elapsed();

        let t = Instant::now();
        let input = TensorRef::from_array_view((shape, self.tensor.as_slice()))
            .map_err(|e| EngineError::Inference(Arc::new(e)))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => input])
            .map_err(|e| EngineError::Inference(Arc::new(e)))?;
        timings.inference += t.elapsed();

        let t = Instant::now();
        let contract = OutputContract {
            spec: &self.spec,
            names: &self.output_names,
            model: &self.model_path,
        };
        let maps = contract.extract_maps(&outputs, geometry)?;
        timings.postprocess += t.elapsed();
        Ok(maps)
    }
}

/// An ONNX Runtime session for `model_path` on the provider `options` ask for.
fn open_session(
    model_path: &Path,
    options: &EngineOptions,
) -> Result<(Session, Provider), EngineError> {
    let (library, environment) = runtime::init_runtime(options.runtime_library.as_deref())?;
    let mut builder = Session::builder(environment).map_err(load_error(model_path))?;
    // Idle intra-op threads spin by default, taking the CPU from decoding and encoding threads that
    // run beside inference in the pipeline; on few cores that costs more than it saves.
    builder = builder
        .with_config_entry(
            "session.intra_op.allow_spinning",
            if options.spin { "1" } else { "0" },
        )
        .map_err(load_error(model_path))?;
    if let Some(threads) = options.threads {
        builder = builder
            .with_intra_threads(threads)
            .map_err(load_error(model_path))?;
    }
    let (mut builder, provider) = register_provider(builder, options.device, library)?;
    let session = builder
        .commit_from_file(model_path)
        .map_err(load_error(model_path))?;
    Ok((session, provider))
}

/// Name, element type and shape of each input or output.
fn tensor_infos(outlets: &[ort::value::Outlet]) -> Vec<TensorInfo> {
    outlets
        .iter()
        .map(|o| TensorInfo {
            name: o.name().to_string(),
            shape: o
                .dtype()
                .tensor_shape()
                .map(|s| s.to_vec())
                .unwrap_or_default(),
            is_f32: o.dtype().tensor_type() == Some(ort::value::TensorElementType::Float32),
        })
        .collect()
}

/// Registers CUDA when asked for and possible. The CUDA libraries beside the runtime are loaded first
/// (so only the NVIDIA driver must be installed); a missing piece is named with its fix.
fn register_provider(
    builder: ort::session::builder::SessionBuilder,
    device: Device,
    library: &Path,
) -> Result<(ort::session::builder::SessionBuilder, Provider), EngineError> {
    let id = match device {
        Device::Cpu => return Ok((builder, Provider::Cpu)),
        Device::Cuda(id) => id,
        Device::Auto => 0,
    };
    let fall_back = |why: &str| {
        static LOGGED: std::sync::Once = std::sync::Once::new();
        LOGGED.call_once(|| tracing::info!("CUDA unavailable ({why}): running on CPU"));
    };
    // Auto on a machine without a driver (or with the CPU build) decides without loading CUDA.
    let quick = match device {
        Device::Auto => runtime::cuda_problem_unloaded(library),
        _ => None,
    };
    if let Some(why) = quick.or_else(|| runtime::cuda_problem(runtime::cuda_checks(library))) {
        if matches!(device, Device::Cuda(_)) {
            return Err(EngineError::CudaUnavailable(why));
        }
        fall_back(&why);
        return Ok((builder, Provider::Cpu));
    }
    let cuda = ort::ep::CUDA::default()
        .with_device_id(id)
        .build()
        .error_on_failure();
    match builder.with_execution_providers([cuda]) {
        Ok(b) => Ok((b, Provider::Cuda)),
        Err(e) if matches!(device, Device::Cuda(_)) => {
            Err(EngineError::CudaUnavailable(first_line(&e.to_string())))
        }
        Err(e) => {
            fall_back(&first_line(&e.to_string()));
            Ok((e.recover(), Provider::Cpu))
        }
    }
}

/// ONNX Runtime refused to load `model`. Session-builder errors lose the builder they hand back
/// (which would tie the error to this thread); the message and code stay.
fn load_error<R>(model: &Path) -> impl Fn(ort::Error<R>) -> EngineError + '_ {
    move |e| EngineError::ModelLoad {
        path: model.to_path_buf(),
        source: Arc::new(ort::Error::new_with_code(e.code(), e.message())),
    }
}

/// ONNX Runtime errors can span many lines; the first says what went wrong.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::NetConfig;

    #[test]
    fn the_default_net_size_gives_portrait_frames_a_landscape_frames_pixels() {
        let default = NetConfig::default();
        // Landscape, 16:9 and 4:3: the height, as before.
        assert_eq!(default.height_for((1920, 1080), 1.0), 368);
        assert_eq!(default.height_for((640, 480), 1.0), 368);
        // Portrait 1088×1920: 368 on the width, so 649 high (not 368 high and 208 wide).
        assert_eq!(default.height_for((1088, 1920), 1.0), 649);
        assert_eq!(default.height_for((1088, 1920), 0.5), 325);
        // A height given is a height.
        let given = NetConfig {
            short_side: false,
            ..default
        };
        assert_eq!(given.height_for((1088, 1920), 1.0), 368);
    }
}
