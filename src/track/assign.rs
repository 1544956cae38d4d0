//! Optimal assignment of tracks to detections (Kuhn-Munkres, maximum total similarity), with a gate.

use pathfinding::matrix::Matrix;

/// Similarities are scaled to integers for the solver.
const SCALE: f32 = 1_000_000.0;

/// Pairs (row, column) of `similarity` (rows: tracks, columns: detections) that maximise the total
/// similarity, keeping only pairs at or above `gate`.
///
/// Pairs below the gate cannot be chosen, so the problem falls apart into groups of tracks and
/// detections linked by allowed pairs (people far apart never compete); each group is solved on its
/// own, which keeps a crowd cheap.
pub fn assign(similarity: &[Vec<f32>], gate: f32) -> Vec<(usize, usize)> {
    let rows = similarity.len();
    let cols = similarity.first().map_or(0, Vec::len);
    let allowed = |r: usize, c: usize| {
        let s = similarity[r][c];
        s.is_finite() && s >= gate
    };
    // Union-find over rows (0..rows) and columns (rows..rows+cols).
    let mut parent: Vec<usize> = (0..rows + cols).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for r in 0..rows {
        for c in (0..cols).filter(|&c| allowed(r, c)) {
            let (a, b) = (root(&mut parent, r), root(&mut parent, rows + c));
            parent[a] = b;
        }
    }
    let mut groups: std::collections::BTreeMap<usize, (Vec<usize>, Vec<usize>)> =
        Default::default();
    for r in (0..rows).filter(|&r| (0..cols).any(|c| allowed(r, c))) {
        groups.entry(root(&mut parent, r)).or_default().0.push(r);
    }
    for c in (0..cols).filter(|&c| (0..rows).any(|r| allowed(r, c))) {
        groups
            .entry(root(&mut parent, rows + c))
            .or_default()
            .1
            .push(c);
    }
    let mut pairs = Vec::new();
    for (group_rows, group_cols) in groups.into_values() {
        pairs.extend(solve(similarity, &group_rows, &group_cols, gate));
    }
    pairs
}

/// The optimal pairs among `rows` × `cols`.
fn solve(
    similarity: &[Vec<f32>],
    rows: &[usize],
    cols: &[usize],
    gate: f32,
) -> Vec<(usize, usize)> {
    if let ([r], [c]) = (rows, cols) {
        return vec![(*r, *c)];
    }
    // Gated pairs weigh nothing, so they never win over an allowed pair.
    let weight = |r: usize, c: usize| {
        let s = similarity[r][c];
        if s.is_finite() && s >= gate {
            (s * SCALE) as i64
        } else {
            0
        }
    };
    // The solver wants no more rows than columns.
    let transpose = rows.len() > cols.len();
    let (n, m) = if transpose {
        (cols.len(), rows.len())
    } else {
        (rows.len(), cols.len())
    };
    let matrix = Matrix::from_fn(n, m, |(i, j)| {
        if transpose {
            weight(rows[j], cols[i])
        } else {
            weight(rows[i], cols[j])
        }
    });
    let (_, assigned) = pathfinding::kuhn_munkres::kuhn_munkres(&matrix);
    assigned
        .into_iter()
        .enumerate()
        .map(|(i, j)| {
            if transpose {
                (rows[j], cols[i])
            } else {
                (rows[i], cols[j])
            }
        })
        .filter(|&(r, c)| similarity[r][c].is_finite() && similarity[r][c] >= gate)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_wins_over_the_greedy_first_pick() {
        // Greedy would give track 0 detection 0 (0.9) and leave track 1 with 0.1.
        let sim = vec![vec![0.9, 0.8], vec![0.85, 0.1]];
        let mut pairs = assign(&sim, 0.2);
        pairs.sort_unstable();
        assert_eq!(pairs, [(0, 1), (1, 0)]);
    }

    #[test]
    fn separate_groups_are_solved_alone_and_together_give_the_optimum() {
        // Two groups: {track 0, 1} x {det 0, 1} (a crossing) and {track 2} x {det 3}.
        let sim = vec![
            vec![0.9, 0.8, 0.0, 0.0],
            vec![0.85, 0.1, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.6],
        ];
        let mut pairs = assign(&sim, 0.2);
        pairs.sort_unstable();
        assert_eq!(pairs, [(0, 1), (1, 0), (2, 3)]);
    }

    #[test]
    fn gated_pairs_are_left_unmatched_in_any_shape() {
        let sim = vec![vec![0.05, 0.9, 0.0]];
        assert_eq!(assign(&sim, 0.2), [(0, 1)]);
        let tall = vec![vec![0.1], vec![0.7], vec![0.3]];
        assert_eq!(assign(&tall, 0.2), [(1, 0)]);
        assert!(assign(&[vec![0.1, 0.1]], 0.2).is_empty());
        assert!(assign(&[], 0.2).is_empty());
        assert!(assign(&[vec![f32::NAN]], 0.2).is_empty());
    }
}
