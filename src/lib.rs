//! posecam: multi-person 2D pose estimation with Part Affinity Fields (Cao et al., CVPR 2017).
//!
//! The pipeline's stages, each a module: [`capture`] (webcams, files, streams) → [`infer`] (the
//! network on ONNX Runtime) → [`pose`] (pure association: maps → people) → [`track`] (people over
//! time) → [`render`] (skeleton overlays) → [`video`] (decode/encode) and [`io`] (JSON, output
//! transactions, input checks). [`pipeline`] joins the stages on threads, [`ui`] is the window,
//! [`setup`] installs the runtime and models, [`testkit`] serves tests and benchmarks only.

pub mod batch;
pub mod calibrate;
pub mod capture;
pub mod infer;
pub mod io;
pub mod motion;
pub mod multiview;
pub mod pipeline;
pub mod pose;
pub mod render;
pub mod setup;
pub mod testkit;
pub mod track;
pub mod ui;
pub mod video;
