//! Example-based explanation: the rows nearest to a sentence by the
//! model's own pooled representation ([`crate::Model::pooled`], the vector
//! its head reads), by cosine similarity, found by brute force.

use serde::{Deserialize, Serialize};

/// A row of the set and its cosine similarity to the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    /// The row's 0-based index in the set.
    pub row: usize,
    pub similarity: f32,
}

/// `v / ‖v‖₂` in f64 (zero vectors stay zero).
fn unit(v: &[f32]) -> Vec<f64> {
    let norm = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    v.iter()
        .map(|&x| if norm == 0.0 { 0.0 } else { x as f64 / norm })
        .collect()
}

/// The `k` rows of `set` ((row index, vector) pairs) most similar to
/// `query`, most similar first (ties: the lower row first), leaving out
/// the row `skip` (the query's own row, if it is one of the set).
pub fn nearest(
    query: &[f32],
    set: &[(usize, &[f32])],
    k: usize,
    skip: Option<usize>,
) -> Vec<Neighbour> {
    let q = unit(query);
    let mut scored: Vec<(f64, usize)> = set
        .iter()
        .filter(|(row, _)| Some(*row) != skip)
        .map(|(row, v)| {
            let u = unit(v);
            (q.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>(), *row)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(k)
        .map(|(s, row)| Neighbour {
            row,
            similarity: s as f32,
        })
        .collect()
}

/// The `k` nearest other rows of every row of `set`, in the order of `set`.
pub fn all_nearest(set: &[(usize, &[f32])], k: usize) -> Vec<Vec<Neighbour>> {
    // Normalised once: n² dot products, not n² normalisations.
    let units: Vec<Vec<f64>> = set.iter().map(|(_, v)| unit(v)).collect();
    let one = |i: usize| {
        let mut scored: Vec<(f64, usize)> = (0..set.len())
            .filter(|&j| j != i)
            .map(|j| {
                let s = units[i].iter().zip(&units[j]).map(|(a, b)| a * b).sum();
                (s, set[j].0)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(k)
            .map(|(s, row)| Neighbour {
                row,
                similarity: s as f32,
            })
            .collect()
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..set.len()).into_par_iter().map(one).collect()
    }
    #[cfg(target_arch = "wasm32")]
    (0..set.len()).map(one).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_order_and_the_query_row_left_out() {
        let (a, b, c) = ([1.0f32, 0.0], [1.0f32, 1.0], [0.0f32, 2.0]);
        let set = [(10, &a[..]), (11, &b[..]), (12, &c[..])];
        let n = nearest(&[1.0, 0.1], &set, 2, Some(10));
        assert_eq!(n.iter().map(|x| x.row).collect::<Vec<_>>(), vec![11, 12]);
        assert!((n[0].similarity - 0.7739573).abs() < 1e-6);
        let all = all_nearest(&set, 1);
        assert_eq!(all[0][0].row, 11);
        assert_eq!(all[2][0].row, 11);
    }
}
