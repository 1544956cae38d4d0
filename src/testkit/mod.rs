//! Helpers for tests and `posecam bench` only: network-like maps rendered from known skeletons,
//! hostile fuzz cases, COCO keypoint AP, and the previous-frame greedy tracker that tracking is
//! measured against. Nothing on the pipeline's path uses this module (a test checks it).

pub mod coco_eval;
pub mod greedy_tracker;
pub mod maps;
