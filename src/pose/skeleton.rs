//! Skeleton topologies as data: which parts a network predicts, which limbs join them, which PAF
//! channels encode each limb and how OpenPose colours them. Adding a model family means adding a table.

/// One body part (keypoint type) of a skeleton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartDef {
    pub name: &'static str,
    /// OpenPose's rendering colour (RGB).
    pub color: [u8; 3],
}

/// A limb joins two parts; its direction field lives in two PAF channels (x then y).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimbDef {
    pub from: usize,
    pub to: usize,
    pub paf_x: usize,
    pub paf_y: usize,
    /// Auxiliary limbs (shoulder–ear in OpenPose) help join parts to people but never start a new person
    /// and are not drawn.
    pub auxiliary: bool,
}

/// COCO's per-keypoint OKS falloff constants, in COCO-17 order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
pub const COCO17_SIGMAS: [f64; 17] = [
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
    0.087, 0.087, 0.089, 0.089,
];

/// Falloff of parts COCO does not annotate (the neck like the shoulders, a mid hip like the hips,
/// feet like the ankles).
fn extra_sigma(name: &str) -> f32 {
    match name {
        "neck" => 0.079,
        "mid_hip" => 0.107,
        _ => 0.089,
    }
}

/// A skeleton topology. Heatmap channel `i` is part `i`; the network adds one background channel.
#[derive(Debug, PartialEq, Eq)]
pub struct Skeleton {
    pub name: &'static str,
    pub parts: &'static [PartDef],
    pub limbs: &'static [LimbDef],
    /// For each COCO-17 keypoint (the order of COCO annotations), the part index in this skeleton.
    pub coco17: [usize; 17],
}

impl Skeleton {
    /// Each part's OKS falloff constant (COCO's where COCO annotates the part), in part order.
    pub fn oks_sigmas(&self) -> Vec<f32> {
        (0..self.parts.len())
            .map(|p| match self.coco17.iter().position(|&q| q == p) {
                Some(k) => COCO17_SIGMAS[k] as f32,
                None => extra_sigma(self.parts[p].name),
            })
            .collect()
    }

    /// Heatmap channels the network emits, background included.
    pub fn heatmap_channels(&self) -> usize {
        self.parts.len() + 1
    }

    pub fn paf_channels(&self) -> usize {
        self.limbs.len() * 2
    }

    /// The skeleton whose network emits this many heatmap and PAF channels.
    pub fn for_channels(heatmaps: usize, pafs: usize) -> Option<&'static Skeleton> {
        ALL_SKELETONS
            .iter()
            .copied()
            .find(|s| s.heatmap_channels() == heatmaps && s.paf_channels() == pafs)
    }

    /// The skeleton whose network emits heatmaps and PAFs concatenated in one tensor of this many channels.
    pub fn for_combined_channels(channels: usize) -> Option<&'static Skeleton> {
        ALL_SKELETONS
            .iter()
            .copied()
            .find(|s| s.heatmap_channels() + s.paf_channels() == channels)
    }

    pub fn by_name(name: &str) -> Option<&'static Skeleton> {
        ALL_SKELETONS
            .iter()
            .copied()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// Limbs that are drawn (OpenPose's render pairs).
    pub fn drawn_limbs(&self) -> impl Iterator<Item = &LimbDef> {
        self.limbs.iter().filter(|l| !l.auxiliary)
    }

    /// For each part, its mirror image (`left_x` ↔ `right_x`; itself for the middle parts). Networks
    /// swap left and right on people seen from behind; tracking looks at both.
    pub fn mirror(&self) -> Vec<usize> {
        (0..self.parts.len())
            .map(|p| {
                let name = self.parts[p].name;
                let other = if let Some(rest) = name.strip_prefix("left_") {
                    format!("right_{rest}")
                } else if let Some(rest) = name.strip_prefix("right_") {
                    format!("left_{rest}")
                } else {
                    return p;
                };
                self.parts.iter().position(|q| q.name == other).unwrap_or(p)
            })
            .collect()
    }
}

pub const ALL_SKELETONS: &[&Skeleton] = &[&COCO18, &BODY25];

const fn part(name: &'static str, color: [u8; 3]) -> PartDef {
    PartDef { name, color }
}

const fn limb(from: usize, to: usize, paf_x: usize, auxiliary: bool) -> LimbDef {
    LimbDef {
        from,
        to,
        paf_x,
        paf_y: paf_x + 1,
        auxiliary,
    }
}

/// The CMU / OpenPose COCO body model: 18 parts, 19 limbs (Cao et al. 2017).
/// Limb order and PAF channels follow the CMU demo's `limbSeq` / `mapIdx` (minus the 19 heatmaps).
pub static COCO18: Skeleton = Skeleton {
    name: "COCO-18",
    parts: &[
        part("nose", [255, 0, 85]),
        part("neck", [255, 0, 0]),
        part("right_shoulder", [255, 85, 0]),
        part("right_elbow", [255, 170, 0]),
        part("right_wrist", [255, 255, 0]),
        part("left_shoulder", [170, 255, 0]),
        part("left_elbow", [85, 255, 0]),
        part("left_wrist", [0, 255, 0]),
        part("right_hip", [0, 255, 85]),
        part("right_knee", [0, 255, 170]),
        part("right_ankle", [0, 255, 255]),
        part("left_hip", [0, 170, 255]),
        part("left_knee", [0, 85, 255]),
        part("left_ankle", [0, 0, 255]),
        part("right_eye", [255, 0, 170]),
        part("left_eye", [170, 0, 255]),
        part("right_ear", [255, 0, 255]),
        part("left_ear", [85, 0, 255]),
    ],
    limbs: &[
        limb(1, 2, 12, false),
        limb(1, 5, 20, false),
        limb(2, 3, 14, false),
        limb(3, 4, 16, false),
        limb(5, 6, 22, false),
        limb(6, 7, 24, false),
        limb(1, 8, 0, false),
        limb(8, 9, 2, false),
        limb(9, 10, 4, false),
        limb(1, 11, 6, false),
        limb(11, 12, 8, false),
        limb(12, 13, 10, false),
        limb(1, 0, 28, false),
        limb(0, 14, 30, false),
        limb(14, 16, 34, false),
        limb(0, 15, 32, false),
        limb(15, 17, 36, false),
        limb(2, 16, 18, true),
        limb(5, 17, 26, true),
    ],
    coco17: [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10],
};

/// OpenPose's BODY_25 model: COCO-18 plus mid-hip and six foot points (poseParameters.cpp).
pub static BODY25: Skeleton = Skeleton {
    name: "BODY-25",
    parts: &[
        part("nose", [255, 0, 85]),
        part("neck", [255, 0, 0]),
        part("right_shoulder", [255, 85, 0]),
        part("right_elbow", [255, 170, 0]),
        part("right_wrist", [255, 255, 0]),
        part("left_shoulder", [170, 255, 0]),
        part("left_elbow", [85, 255, 0]),
        part("left_wrist", [0, 255, 0]),
        part("mid_hip", [255, 0, 0]),
        part("right_hip", [0, 255, 85]),
        part("right_knee", [0, 255, 170]),
        part("right_ankle", [0, 255, 255]),
        part("left_hip", [0, 170, 255]),
        part("left_knee", [0, 85, 255]),
        part("left_ankle", [0, 0, 255]),
        part("right_eye", [255, 0, 170]),
        part("left_eye", [170, 0, 255]),
        part("right_ear", [255, 0, 255]),
        part("left_ear", [85, 0, 255]),
        part("left_big_toe", [0, 0, 255]),
        part("left_small_toe", [0, 0, 255]),
        part("left_heel", [0, 0, 255]),
        part("right_big_toe", [0, 255, 255]),
        part("right_small_toe", [0, 255, 255]),
        part("right_heel", [0, 255, 255]),
    ],
    limbs: &[
        limb(1, 8, 0, false),
        limb(1, 2, 14, false),
        limb(1, 5, 22, false),
        limb(2, 3, 16, false),
        limb(3, 4, 18, false),
        limb(5, 6, 24, false),
        limb(6, 7, 26, false),
        limb(8, 9, 6, false),
        limb(9, 10, 2, false),
        limb(10, 11, 4, false),
        limb(8, 12, 8, false),
        limb(12, 13, 10, false),
        limb(13, 14, 12, false),
        limb(1, 0, 30, false),
        limb(0, 15, 32, false),
        limb(15, 17, 36, false),
        limb(0, 16, 34, false),
        limb(16, 18, 38, false),
        limb(2, 17, 20, true),
        limb(5, 18, 28, true),
        limb(14, 19, 40, false),
        limb(19, 20, 42, false),
        limb(14, 21, 44, false),
        limb(11, 22, 46, false),
        limb(22, 23, 48, false),
        limb(11, 24, 50, false),
    ],
    coco17: [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn check_table(s: &Skeleton) {
        let mut used = vec![false; s.paf_channels()];
        for l in s.limbs {
            assert!(l.from < s.parts.len() && l.to < s.parts.len(), "{}", s.name);
            assert_eq!(l.paf_x % 2, 0, "{}: x channels are even", s.name);
            for c in [l.paf_x, l.paf_y] {
                assert!(!used[c], "{}: PAF channel {c} used twice", s.name);
                used[c] = true;
            }
        }
        assert!(
            used.iter().all(|&u| u),
            "{}: every PAF channel is used",
            s.name
        );
        let mut coco = s.coco17.to_vec();
        coco.sort_unstable();
        coco.dedup();
        assert_eq!(coco.len(), 17, "{}: COCO mapping is one-to-one", s.name);
    }

    #[test]
    fn tables_are_consistent() {
        for s in ALL_SKELETONS {
            check_table(s);
        }
    }

    #[test]
    fn skeletons_are_found_by_channel_counts() {
        assert_eq!(Skeleton::for_channels(19, 38), Some(&COCO18));
        assert_eq!(Skeleton::for_combined_channels(57), Some(&COCO18));
        assert_eq!(Skeleton::for_channels(26, 52), Some(&BODY25));
        assert_eq!(Skeleton::for_combined_channels(78), Some(&BODY25));
        assert_eq!(Skeleton::for_channels(19, 40), None);
    }

    #[test]
    fn mirrors_swap_sides_and_keep_the_middle() {
        for s in ALL_SKELETONS {
            let m = s.mirror();
            for (p, &q) in m.iter().enumerate() {
                assert_eq!(m[q], p, "{}: a mirror of a mirror is the part", s.name);
                let (a, b) = (s.parts[p].name, s.parts[q].name);
                assert_eq!(
                    a.replace("left", "right"),
                    b.replace("left", "right"),
                    "{a} {b}"
                );
            }
        }
        assert_eq!(COCO18.mirror()[2], 5, "right shoulder <-> left shoulder");
        assert_eq!(COCO18.mirror()[1], 1, "the neck stays");
    }

    #[test]
    fn every_part_is_reachable_by_a_non_auxiliary_limb() {
        for s in ALL_SKELETONS {
            for p in 0..s.parts.len() {
                assert!(
                    s.drawn_limbs().any(|l| l.from == p || l.to == p),
                    "{}: part {p}",
                    s.name
                );
            }
        }
    }
}
