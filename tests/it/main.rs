//! The integration tests, one binary (each test binary links FFmpeg, ONNX Runtime and eframe, so one
//! link instead of twelve), one module per concern. Run one concern with `cargo test --release --test
//! it cli::`, one test by name with `cargo test --release --test it NAME`.

mod common;

mod architecture;
mod association;
mod batch;
#[allow(clippy::too_many_lines)]
mod batch_hostile;
mod calibrate;
mod calibrate_rig;
mod cameras;
mod cli;
mod container;
#[allow(clippy::too_many_lines)]
mod export;
#[allow(clippy::too_many_lines)]
mod export_results;
#[allow(clippy::too_many_lines)]
mod hostile;
mod install;
mod live;
mod model_contract;
#[allow(clippy::too_many_lines)]
mod motion;
#[allow(clippy::too_many_lines)]
mod multiview;
mod no_silent_loss;
mod output_clashes;
mod real_model;
mod slurm;
mod streams;
mod tracking;
mod ui;
mod ui_scene;
