//! Files in and out, shared by every command and the window: input checks before anything is
//! decoded, image reading and writing, the OpenPose JSON format, the all-or-nothing output
//! transaction, and the signal handling that keeps that transaction whole.

pub mod biomech;
pub mod image;
pub mod inputs;
pub mod interrupt;
mod journal;
pub mod openpose;
pub mod os_path;
pub mod redact;
mod staged;
pub mod transaction;
