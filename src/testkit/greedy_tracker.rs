//! The tracker of lightweight-openpose, for comparison: each person takes the ID of the most similar
//! person of the previous frame only (similarity: how many parts lie within an OKS of 0.5), most
//! confident first, if at least 3 parts agree; otherwise a new ID.

use crate::pose::{Keypoint, Person, Skeleton};
use crate::track::similarity::bounds;

/// Parts that must agree for an ID to carry over.
const MIN_SIMILAR_PARTS: usize = 3;

/// Previous-frame greedy tracking.
#[derive(Debug)]
pub struct GreedyTracker {
    sigmas: Vec<f32>,
    previous: Vec<(u64, Vec<Option<Keypoint>>)>,
    next_id: u64,
}

fn box_area(k: &[Option<Keypoint>]) -> f32 {
    bounds(k).map_or(0.0, |b| (b[2] - b[0] + 1.0) * (b[3] - b[1] + 1.0))
}

impl GreedyTracker {
    pub fn new(skeleton: &Skeleton) -> Self {
        Self {
            sigmas: skeleton.oks_sigmas(),
            previous: Vec::new(),
            next_id: 0,
        }
    }

    /// Parts of `a` and `b` that lie within an OKS of 0.5 of each other.
    fn similar_parts(&self, a: &[Option<Keypoint>], b: &[Option<Keypoint>]) -> usize {
        let area = box_area(a).max(box_area(b)) + f32::EPSILON;
        a.iter()
            .zip(b)
            .zip(&self.sigmas)
            .filter(|((p, q), sigma)| match (p, q) {
                (Some(p), Some(q)) => {
                    let d2 = (p.x - q.x).powi(2) + (p.y - q.y).powi(2);
                    (-d2 / (2.0 * area * (2.0 * **sigma).powi(2))).exp() > 0.5
                }
                _ => false,
            })
            .count()
    }

    /// IDs for this frame's `people`, in their order.
    pub fn update(&mut self, people: &[Person]) -> Vec<u64> {
        let mut order: Vec<usize> = (0..people.len()).collect();
        order.sort_by(|&a, &b| people[b].score.total_cmp(&people[a].score));
        let mut free = vec![true; self.previous.len()];
        let mut ids = vec![0; people.len()];
        for i in order {
            let best = self
                .previous
                .iter()
                .enumerate()
                .filter(|(j, _)| free[*j])
                .map(|(j, (_, k))| (j, self.similar_parts(&people[i].keypoints, k)))
                .max_by_key(|&(j, n)| (n, std::cmp::Reverse(j)));
            ids[i] = match best {
                Some((j, n)) if n >= MIN_SIMILAR_PARTS => {
                    free[j] = false;
                    self.previous[j].0
                }
                _ => {
                    self.next_id += 1;
                    self.next_id
                }
            };
        }
        self.previous = ids
            .iter()
            .zip(people)
            .map(|(&id, p)| (id, p.keypoints.clone()))
            .collect();
        ids
    }
}
