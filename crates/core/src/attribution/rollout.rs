//! Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in
//! Transformers"): per layer, the mean over heads plus the identity for the
//! residual connection, rows renormalised; then the product through the
//! layers, first layer rightmost.

/// The rolled-out attention of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// `(t, t)` row-major: how much token `i` at the top draws on input token `j`.
    pub matrix: Vec<f32>,
    pub tokens: usize,
    /// The `[CLS]` row: the usual per-token rollout score for classification.
    pub cls: Vec<f32>,
    /// The mean of all rows.
    pub mean: Vec<f32>,
}

/// `attentions`: `[layer][head][query][key]`, bottom layer first.
pub fn attention_rollout(attentions: &[f32], layers: usize, heads: usize, t: usize) -> Rollout {
    // In f64: a product of many row-stochastic matrices.
    let mut rolled: Vec<f64> = (0..t * t)
        .map(|i| if i / t == i % t { 1.0 } else { 0.0 })
        .collect();
    for l in 0..layers {
        // Â = (mean_heads(A) + I), each row divided by its sum
        let mut a = vec![0f64; t * t];
        for h in 0..heads {
            let m = &attentions[(l * heads + h) * t * t..(l * heads + h + 1) * t * t];
            a.iter_mut().zip(m).for_each(|(x, &v)| *x += v as f64);
        }
        for (i, row) in a.chunks_exact_mut(t).enumerate() {
            row.iter_mut().for_each(|v| *v /= heads as f64);
            row[i] += 1.0;
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        // rollout_l = Â_l · rollout_{l−1}
        let mut next = vec![0f64; t * t];
        for i in 0..t {
            for k in 0..t {
                let aik = a[i * t + k];
                for j in 0..t {
                    next[i * t + j] += aik * rolled[k * t + j];
                }
            }
        }
        rolled = next;
    }
    let cls = rolled[..t].iter().map(|&v| v as f32).collect();
    let mean = (0..t)
        .map(|j| ((0..t).map(|i| rolled[i * t + j]).sum::<f64>() / t as f64) as f32)
        .collect();
    Rollout {
        matrix: rolled.iter().map(|&v| v as f32).collect(),
        tokens: t,
        cls,
        mean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_of_two_layers_by_hand() {
        // One head, two tokens. Layer 1 attends fully to token 1; layer 2 is uniform.
        let att = [0.0f32, 1.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let r = attention_rollout(&att, 2, 1, 2);
        // Â1 = [[.5,.5],[0,1]], Â2 = [[.75,.25],[.25,.75]]; Â2·Â1 = [[.375,.625],[.125,.875]]
        let want = [0.375f32, 0.625, 0.125, 0.875];
        for (a, b) in r.matrix.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", r.matrix);
        }
        assert_eq!(r.cls.len(), 2);
        assert!((r.mean[0] - 0.25).abs() < 1e-6 && (r.mean[1] - 0.75).abs() < 1e-6);
    }
}
