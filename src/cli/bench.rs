//! `posecam bench`: where the time goes, as figures (median over runs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::Args;
use posecam::imageio;
use posecam::paths::find_in_project;
use posecam::pose::{Associator, Thresholds};

use super::ModelArgs;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Image to run on (default: ../shared/data/images/ski.jpg, 5 people).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Timed runs after 3 warm-up runs.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    #[command(flatten)]
    pub model: ModelArgs,
}

const SAMPLE_IMAGE: &str = "../shared/data/images/ski.jpg";
/// Association takes well under a millisecond: repeat it for a stable median.
const ASSOCIATION_REPEATS: usize = 300;

fn median(mut v: Vec<Duration>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

pub fn run(args: BenchArgs) -> Result<()> {
    let net = args.model.net()?;
    let image_path = match &args.image {
        Some(p) => p.clone(),
        None => match find_in_project(&PathBuf::from(SAMPLE_IMAGE)) {
            Some(p) => p,
            None => bail!("no --image given and {SAMPLE_IMAGE} not found"),
        },
    };
    let runs = args.runs.max(1);
    let image = imageio::load_rgb(&image_path)?;
    let t = Instant::now();
    let mut engine = args.model.load_engine()?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let skeleton = engine.skeleton();
    let thresholds = Thresholds::default();
    let mut associator = Associator::new();

    for _ in 0..3 {
        engine.infer(&image, &net)?;
    }
    let (mut pre, mut inf, mut copy, mut assoc) = (vec![], vec![], vec![], vec![]);
    let mut last_maps = None;
    for _ in 0..runs {
        let maps = engine.infer(&image, &net)?;
        let timings = engine.last_timings();
        pre.push(timings.preprocess);
        inf.push(timings.inference);
        copy.push(timings.postprocess);
        last_maps = Some(maps);
    }
    let maps = last_maps.expect("at least one run");
    let mut people = 0;
    for _ in 0..ASSOCIATION_REPEATS {
        let t = Instant::now();
        people = associator.run(&maps, skeleton, &thresholds).len();
        assoc.push(t.elapsed());
    }
    let geometry = engine.geometry(
        (image.width() as usize, image.height() as usize),
        net.net_height,
    )?;
    let (preprocess_ms, inference_ms, copy_ms, associate_ms) =
        (median(pre), median(inf), median(copy), median(assoc));
    let association_ms = copy_ms + associate_ms;
    let total_ms = preprocess_ms + inference_ms + association_ms;
    println!(
        "{} on {} ({}x{} net, {} provider, {} people): preprocess {preprocess_ms:.2} ms, \
         inference {inference_ms:.2} ms, association {association_ms:.3} ms \
         (output copy {copy_ms:.3} + peaks/limbs/people {associate_ms:.3})",
        engine.model_path().display(),
        image_path.display(),
        geometry.net_width,
        geometry.net_height,
        engine.provider(),
        people,
    );
    let figures = serde_json::json!({
        "model": engine.model_path().display().to_string(),
        "skeleton": skeleton.name,
        "provider": engine.provider(),
        "image": image_path.display().to_string(),
        "image_size": [image.width(), image.height()],
        "net_size": [geometry.net_width, geometry.net_height],
        "scales": net.scales,
        "people": people,
        "runs": runs,
        "load_ms": round(load_ms),
        "preprocess_ms": round(preprocess_ms),
        "inference_ms": round(inference_ms),
        "association_ms": round(association_ms),
        "output_copy_ms": round(copy_ms),
        "associate_ms": round(associate_ms),
        "total_ms": round(total_ms),
        "fps": round(1e3 / total_ms),
    });
    println!("{figures}");
    Ok(())
}

fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}
