//! From the network's output tensors to pose maps: each output checked against the model's contract
//! (channels, grid), and several scales averaged on one grid.

use std::path::Path;
use std::sync::Arc;

use super::model::{self, ContractError, MapSource, ModelSpec};
use super::preprocess::NetGeometry;
use super::EngineError;
use crate::pose::{MapStack, PoseMaps};

/// Reads the maps out of a run's outputs, checking them against the model's contract.
pub(super) struct OutputContract<'a> {
    pub spec: &'a ModelSpec,
    pub names: &'a [String],
    pub model: &'a Path,
}

impl OutputContract<'_> {
    /// One output tensor's data, checked against the contract: 4-D, `channels` channels, on `grid`.
    fn output_data(
        &self,
        outputs: &ort::session::SessionOutputs<'_>,
        slot: model::OutputSlot,
        channels: usize,
        geometry: &NetGeometry,
    ) -> Result<Arc<[f32]>, EngineError> {
        let name = &self.names[slot.index];
        let (shape, data) = outputs[slot.index]
            .try_extract_tensor::<f32>()
            .map_err(|e| EngineError::Inference(Arc::new(e)))?;
        let grid = geometry.grid();
        let fits = shape.len() == 4 && {
            let (c, oh, ow) = match slot.layout {
                model::TensorLayout::Nchw => (shape[1], shape[2], shape[3]),
                model::TensorLayout::Nhwc => (shape[3], shape[1], shape[2]),
            };
            c as usize == channels && (ow as usize, oh as usize) == grid
        };
        if !fits {
            return Err(EngineError::ModelContract {
                path: self.model.to_path_buf(),
                source: Arc::new(ContractError::OutputShape {
                    name: name.clone(),
                    shape: shape.to_vec(),
                    channels,
                    grid,
                    net: (geometry.net_width, geometry.net_height),
                    stride: geometry.stride,
                }),
                inputs: String::new(),
                outputs: String::new(),
            });
        }
        Ok(Arc::from(data))
    }

    pub(super) fn extract_maps(
        &self,
        outputs: &ort::session::SessionOutputs<'_>,
        geometry: &NetGeometry,
    ) -> Result<PoseMaps, EngineError> {
        let skeleton = self.spec.skeleton;
        let (gw, gh) = geometry.grid();
        let bad = || EngineError::OutputTooSmall(self.names.join(", "));
        let (hc, pc) = (skeleton.heatmap_channels(), skeleton.paf_channels());
        let (heatmaps, pafs) = match self.spec.maps {
            MapSource::Separate { heatmaps, pafs } => {
                let hd = self.output_data(outputs, heatmaps, hc, geometry)?;
                let pd = self.output_data(outputs, pafs, pc, geometry)?;
                (
                    MapStack::new(hd, heatmaps.layout.maps(), hc, gh, gw, 0, hc).ok_or_else(bad)?,
                    MapStack::new(pd, pafs.layout.maps(), pc, gh, gw, 0, pc).ok_or_else(bad)?,
                )
            }
            MapSource::Combined(slot) => {
                let data = self.output_data(outputs, slot, hc + pc, geometry)?;
                let layout = slot.layout.maps();
                (
                    MapStack::new(data.clone(), layout, hc + pc, gh, gw, 0, hc).ok_or_else(bad)?,
                    MapStack::new(data, layout, hc + pc, gh, gw, hc, pc).ok_or_else(bad)?,
                )
            }
        };
        Ok(PoseMaps {
            heatmaps,
            pafs,
            grid_to_image: geometry.grid_to_image(),
            image_size: (geometry.image_width as u32, geometry.image_height as u32),
        })
    }
}

/// Averages maps of several scales on the grid of the first, sampling the others bilinearly through
/// image coordinates (the CMU demo averages after resizing every scale to the image).
pub(super) fn average_scales(all: &[PoseMaps]) -> Option<PoseMaps> {
    let reference = all.first()?;
    let (gw, gh) = (reference.heatmaps.width(), reference.heatmaps.height());
    let average = |pick: &dyn Fn(&PoseMaps) -> &MapStack| {
        let channels = pick(reference).channels();
        let mut out = vec![0.0f32; channels * gh * gw];
        for maps in all {
            let stack = pick(maps);
            for r in 0..gh {
                for c in 0..gw {
                    let (x, y) = reference.grid_to_image.apply(c as f32, r as f32);
                    let (sc, sr) = maps.grid_to_image.invert(x, y);
                    for ch in 0..channels {
                        out[(ch * gh + r) * gw + c] += stack.bilinear(ch, sr, sc);
                    }
                }
            }
        }
        let n = all.len() as f32;
        out.iter_mut().for_each(|v| *v /= n);
        MapStack::from_chw(out, channels, gh, gw)
    };
    Some(PoseMaps {
        heatmaps: average(&|m| &m.heatmaps)?,
        pafs: average(&|m| &m.pafs)?,
        grid_to_image: reference.grid_to_image,
        image_size: reference.image_size,
    })
}
