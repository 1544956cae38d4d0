//! posecam: multi-person 2D pose estimation with Part Affinity Fields (Cao et al., CVPR 2017).
//!
//! Layout: [`pose`] is the pure algorithm (maps → people); [`infer`] runs the network; [`render`]
//! draws skeletons; [`output`] writes OpenPose-compatible JSON; [`eval`] scores against COCO ground
//! truth; [`synthetic`] renders network-like maps from known skeletons for tests and benchmarks.

pub mod capture;
pub mod doctor;
pub mod eval;
pub mod fetch;
pub mod imageio;
pub mod infer;
pub mod inputs;
pub mod interrupt;
pub mod output;
pub mod outputs;
pub mod paths;
pub mod pipeline;
pub mod pose;
pub mod render;
pub mod synthetic;
pub mod track;
pub mod ui;
pub mod video;
