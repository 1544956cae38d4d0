//! Network-like maps rendered from known skeletons, the way PAF training targets are made (Gaussian
//! part peaks, unit vectors along each limb averaged where limbs overlap). Tests and benchmarks use
//! them to check that association returns exactly the people drawn.

use crate::infer::preprocess::NetGeometry;
use crate::pose::{GridToImage, MapStack, PoseMaps, Skeleton};

/// A known person: a position per skeleton part (image pixels), `None` where the part is absent.
pub type KnownPose = Vec<Option<(f32, f32)>>;

/// Renders heatmaps and PAFs for `people` in an image of `image_size`, on the stride-8 grid of a
/// network fed at `net_height`.
pub fn render_maps(
    skeleton: &Skeleton,
    people: &[KnownPose],
    image_size: (u32, u32),
    net_height: usize,
) -> PoseMaps {
    let geometry = NetGeometry::new(
        (image_size.0 as usize, image_size.1 as usize),
        net_height,
        8,
        None,
    )
    .expect("valid synthetic geometry");
    let grid = Grid {
        to_image: geometry.grid_to_image(),
        size: geometry.grid(),
    };
    let (gw, gh) = grid.size;
    let parts = skeleton.parts.len();
    let limbs = skeleton.limbs.len();
    PoseMaps {
        heatmaps: MapStack::from_chw(render_heatmaps(skeleton, people, &grid), parts + 1, gh, gw)
            .expect("sized by render_heatmaps"),
        pafs: MapStack::from_chw(render_pafs(skeleton, people, &grid), limbs * 2, gh, gw)
            .expect("sized by render_pafs"),
        grid_to_image: grid.to_image,
        image_size,
    }
}

/// The output grid: its size and where it lies in the image.
struct Grid {
    to_image: GridToImage,
    size: (usize, usize),
}

/// Gaussian peaks (σ = 1 cell, CMU's 7 px at stride 8 rounded up), background = 1 − max.
fn render_heatmaps(skeleton: &Skeleton, people: &[KnownPose], grid: &Grid) -> Vec<f32> {
    let (gw, gh) = grid.size;
    let parts = skeleton.parts.len();
    let sigma = 1.0f32;
    let mut heat = vec![0.0f32; (parts + 1) * gh * gw];
    for person in people {
        for (p, pos) in person.iter().enumerate().take(parts) {
            let Some(&(x, y)) = pos.as_ref() else {
                continue;
            };
            let (pc, pr) = grid.to_image.invert(x, y);
            for r in 0..gh {
                for c in 0..gw {
                    let d2 = (c as f32 - pc).powi(2) + (r as f32 - pr).powi(2);
                    let v = (-d2 / (2.0 * sigma * sigma)).exp();
                    let cell = &mut heat[(p * gh + r) * gw + c];
                    *cell = cell.max(v);
                }
            }
        }
    }
    for i in 0..gh * gw {
        let max = (0..parts)
            .map(|p| heat[p * gh * gw + i])
            .fold(0.0, f32::max);
        heat[parts * gh * gw + i] = 1.0 - max;
    }
    heat
}

/// Unit vectors along each limb within one cell of its axis, averaged where limbs overlap.
fn render_pafs(skeleton: &Skeleton, people: &[KnownPose], grid: &Grid) -> Vec<f32> {
    let (gw, gh) = grid.size;
    let limbs = skeleton.limbs.len();
    let mut paf = vec![0.0f32; limbs * 2 * gh * gw];
    let mut count = vec![0u32; limbs * gh * gw];
    let width = 1.0f32; // grid cells either side of the limb axis
    for person in people {
        for (k, limb) in skeleton.limbs.iter().enumerate() {
            let (Some(Some(a)), Some(Some(b))) = (person.get(limb.from), person.get(limb.to))
            else {
                continue;
            };
            let (ac, ar) = grid.to_image.invert(a.0, a.1);
            let (bc, br) = grid.to_image.invert(b.0, b.1);
            let (dc, dr) = (bc - ac, br - ar);
            let len = (dc * dc + dr * dr).sqrt();
            if len < 1e-6 {
                continue;
            }
            let (ux, uy) = (dc / len, dr / len);
            for r in 0..gh {
                for c in 0..gw {
                    let (pc, pr) = (c as f32 - ac, r as f32 - ar);
                    let along = pc * ux + pr * uy;
                    let across = (pc * uy - pr * ux).abs();
                    if along < -width * 0.5 || along > len + width * 0.5 || across > width {
                        continue;
                    }
                    let i = r * gw + c;
                    paf[limb.paf_x * gh * gw + i] += ux;
                    paf[limb.paf_y * gh * gw + i] += uy;
                    count[k * gh * gw + i] += 1;
                }
            }
        }
    }
    for (k, limb) in skeleton.limbs.iter().enumerate() {
        for i in 0..gh * gw {
            let n = count[k * gh * gw + i];
            if n > 1 {
                paf[limb.paf_x * gh * gw + i] /= n as f32;
                paf[limb.paf_y * gh * gw + i] /= n as f32;
            }
        }
    }
    paf
}

/// A plausible standing person (COCO-18 parts) of height `h` pixels with the neck at (`x`, `y`).
pub fn standing_person_coco18(x: f32, y: f32, h: f32) -> KnownPose {
    let u = h / 8.0;
    let pts: [(f32, f32); 18] = [
        (0.0, -0.8 * u), // nose
        (0.0, 0.0),      // neck
        (-u, 0.0),       // right shoulder (image left)
        (-1.3 * u, 1.4 * u),
        (-1.4 * u, 2.7 * u),
        (1.0 * u, 0.0),
        (1.3 * u, 1.4 * u),
        (1.4 * u, 2.7 * u),
        (-0.6 * u, 3.0 * u), // right hip
        (-0.7 * u, 4.8 * u),
        (-0.7 * u, 6.6 * u),
        (0.6 * u, 3.0 * u),
        (0.7 * u, 4.8 * u),
        (0.7 * u, 6.6 * u),
        (-0.25 * u, -1.05 * u), // right eye
        (0.25 * u, -1.05 * u),
        (-0.55 * u, -0.9 * u), // right ear
        (0.55 * u, -0.9 * u),
    ];
    pts.iter().map(|&(dx, dy)| Some((x + dx, y + dy))).collect()
}

/// Writes `frames` frames of the synthetic camera's picture (`width × height`, 30 fps) as an H.264
/// clip: what benchmarks export when they compare against a live source.
pub fn write_clip(
    path: &std::path::Path,
    width: u32,
    height: u32,
    frames: u64,
) -> Result<(), crate::video::VideoError> {
    use crate::video::{ColorSpec, EncodeOptions, VideoFormat, VideoWriter, Yuv420Image};
    let format = VideoFormat {
        width,
        height,
        time_base: ffmpeg_next::Rational::new(1, 30),
        frame_rate: Some(ffmpeg_next::Rational::new(30, 1)),
        colors: ColorSpec::BT601,
        primaries: ffmpeg_next::color::Primaries::BT470BG,
        transfer: ffmpeg_next::color::TransferCharacteristic::SMPTE170M,
    };
    let mut writer = VideoWriter::create(
        path,
        path,
        &format,
        None,
        &EncodeOptions::for_this_machine(),
    )?;
    let mut source = crate::capture::SyntheticSource::new(width, height, 0, frames);
    for i in 0..frames {
        let picture = Yuv420Image::from_rgb(&source.picture(i), ColorSpec::BT601);
        writer.write(&picture, i as i64)?;
    }
    writer.finish(false).map(|_| ())
}

/// SplitMix64: a tiny deterministic generator, so every fuzz case is reproducible from its seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// One map value as a broken or hostile model might produce it.
fn hostile_value(rng: &mut SplitMix64, style: usize) -> f32 {
    let roll = rng.unit();
    match style {
        0 => rng.unit(),
        1 if roll < 0.1 => f32::NAN,
        2 if roll < 0.05 => [f32::INFINITY, f32::NEG_INFINITY][rng.below(2)],
        3 if roll < 0.2 => (rng.unit() - 0.5) * 1e38,
        4 => -rng.unit(),
        5 => 0.5,
        6 if roll < 0.02 => 1.0,
        6 => 0.0,
        _ => rng.unit() * 1.2 - 0.1,
    }
}

/// Network output of random size and layout holding noise, plateaus, NaN, ±∞ and huge values, with
/// random thresholds (some out of range): association must survive every one of them.
pub fn fuzz_case(seed: u64, skeleton: &Skeleton) -> (PoseMaps, crate::pose::Thresholds) {
    use crate::pose::{MapLayout, Thresholds};
    let mut rng = SplitMix64(seed);
    let image_size = (1 + rng.below(2000) as u32, 1 + rng.below(2000) as u32);
    let net_height = 8 + rng.below(128);
    let geometry = NetGeometry::new(
        (image_size.0 as usize, image_size.1 as usize),
        net_height,
        8,
        None,
    )
    .or_else(|_| NetGeometry::new((64, 64), 64, 8, None))
    .expect("a 64x64 geometry is valid");
    let (gw, gh) = geometry.grid();
    let (hc, pc) = (skeleton.heatmap_channels(), skeleton.paf_channels());
    let layout = [MapLayout::Chw, MapLayout::Hwc][rng.below(2)];
    let style = rng.below(8);
    let data: Vec<f32> = (0..(hc + pc) * gh * gw)
        .map(|_| hostile_value(&mut rng, style))
        .collect();
    let data: std::sync::Arc<[f32]> = data.into();
    let stack =
        |first, channels| MapStack::new(data.clone(), layout, hc + pc, gh, gw, first, channels);
    let maps = PoseMaps {
        heatmaps: stack(0, hc).expect("sized above"),
        pafs: stack(hc, pc).expect("sized above"),
        grid_to_image: geometry.grid_to_image(),
        image_size: (geometry.image_width as u32, geometry.image_height as u32),
    };
    // Mostly sensible, sometimes NaN, negative or far out of range.
    let mut odd = |scale: f32| {
        let normal = rng.unit() * scale;
        match rng.below(10) {
            0 => f32::NAN,
            1 => -normal - 1.0,
            2 => normal * 100.0,
            _ => normal,
        }
    };
    let (peak, paf, fraction, score) = (odd(1.0), odd(0.5), odd(1.0), odd(1.0));
    let thresholds = Thresholds {
        peak,
        paf,
        paf_samples: rng.below(30),
        paf_sample_fraction: fraction,
        min_parts: rng.below(30),
        min_person_score: score,
    };
    (maps, thresholds)
}
