//! The head on the fast path: pooling (or a choice of token rows), then
//! linear layers, activations, layer norms and L2 normalisation, forward
//! and backward. Tiny next to the encoder (a few rows per sequence), so it
//! allocates freely.

use super::kernels::{self, Threads};
use super::{LayerNorm, Linear};
use crate::types::{Activation, Output, Pool};

/// Which rows of the hidden states the head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    /// A sequence-level head: one row per sequence, by its pooling.
    Pooled,
    /// A per-token head at one token.
    Token(usize),
    /// A per-token head at every token.
    All,
}

impl Rows {
    /// The outputs of one sequence of `t` tokens, for a head of `classes`.
    pub fn outputs(self, classes: usize, t: usize) -> usize {
        match self {
            Rows::All => classes * t,
            _ => classes,
        }
    }
}

/// One step of a head.
#[derive(Debug, Clone)]
pub enum Step {
    Linear(Linear),
    Activation(Activation),
    LayerNorm(LayerNorm),
    /// `F.normalize(x, p=2, dim=-1)`.
    Normalize,
}

#[derive(Debug, Clone)]
pub struct Head {
    /// How a sequence-level head pools; [`Pool::None`] for per-token heads.
    pub pool: Pool,
    pub steps: Vec<Step>,
}

/// What the head's forward pass keeps for its backward pass: per step, the
/// activation's derivative, the layer norm's x̂ and 1/σ, or the normalised
/// output and the norm.
#[derive(Debug, Default)]
pub struct HeadTape {
    saved: Vec<Vec<f32>>,
    norms: Vec<Vec<f32>>,
    widths: Vec<usize>,
}

const NORM_EPS: f32 = 1e-12;

impl Head {
    /// The width of the output.
    pub fn classes(&self) -> usize {
        self.steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Linear(l) => Some(l.out_dim()),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// Whether the head runs per token.
    pub fn per_token(&self) -> bool {
        self.pool == Pool::None
    }

    /// The rows `rows` selects in one sequence of `t` tokens.
    fn picked(&self, rows: Rows, t: usize) -> Vec<usize> {
        match rows {
            Rows::Token(i) => vec![i],
            Rows::All => (0..t).collect(),
            Rows::Pooled => vec![0],
        }
    }

    /// Logits `(n·r, classes)` from the last hidden states `(n·t, h)`:
    /// `r` = 1 for pooled rows and one token, `t` for all tokens.
    pub fn forward(
        &self,
        hidden: &[f32],
        n: usize,
        t: usize,
        rows: Rows,
        mut tape: Option<&mut HeadTape>,
    ) -> Vec<f32> {
        let h = hidden.len() / (n * t);
        let picked = self.picked(rows, t);
        let mut x = Vec::with_capacity(n * picked.len() * h);
        for seq in hidden.chunks_exact(t * h) {
            match (self.pool, rows) {
                (Pool::Mean, Rows::Pooled) => {
                    let mut out = vec![0f32; h];
                    for row in seq.chunks_exact(h) {
                        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                    }
                    out.iter_mut().for_each(|o| *o /= t as f32);
                    x.extend(out);
                }
                // [CLS] for Pool::Cls; the chosen tokens for per-token heads.
                _ => picked
                    .iter()
                    .for_each(|&i| x.extend_from_slice(&seq[i * h..(i + 1) * h])),
            }
        }
        let m = n * picked.len();
        if let Some(tape) = tape.as_deref_mut() {
            tape.saved.clear();
            tape.norms.clear();
            tape.widths.clear();
        }
        let mut width = h;
        for step in &self.steps {
            let mut saved = Vec::new();
            let mut norms = Vec::new();
            x = match step {
                Step::Linear(l) => {
                    let mut y = vec![0.0; m * l.out_dim()];
                    kernels::linear(&mut y, &x, &l.weight, &l.bias, m, Threads::One);
                    width = l.out_dim();
                    y
                }
                Step::Activation(a) => {
                    let mut grad = vec![0.0; x.len()];
                    kernels::activate(*a, &mut x, &mut grad);
                    saved = grad;
                    x
                }
                Step::LayerNorm(ln) => {
                    let mut xhat = vec![0.0; x.len()];
                    norms = vec![0.0; m];
                    kernels::layer_norm(&mut x, &mut xhat, &mut norms, &ln.gamma, &ln.beta, ln.eps);
                    saved = xhat;
                    x
                }
                Step::Normalize => {
                    for row in x.chunks_exact_mut(width) {
                        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(NORM_EPS);
                        row.iter_mut().for_each(|v| *v /= norm);
                        norms.push(norm);
                    }
                    saved = x.clone();
                    x
                }
            };
            if let Some(tape) = tape.as_deref_mut() {
                tape.saved.push(saved);
                tape.norms.push(norms);
                tape.widths.push(width);
            }
        }
        x
    }

    /// ∂F/∂(last hidden states) `(n·t, h)` into `g`, from ∂F/∂logits `(n·r, classes)`.
    pub fn backward(
        &self,
        dlogits: &[f32],
        tape: &HeadTape,
        n: usize,
        t: usize,
        rows: Rows,
        g: &mut [f32],
    ) {
        let h = g.len() / (n * t);
        let picked = self.picked(rows, t);
        let m = n * picked.len();
        let mut dy = dlogits.to_vec();
        for (i, step) in self.steps.iter().enumerate().rev() {
            dy = match step {
                Step::Linear(l) => {
                    let mut dx = vec![0.0; m * l.in_dim()];
                    kernels::linear_backward(
                        &mut dx,
                        &dy,
                        &l.weight,
                        m,
                        l.out_dim(),
                        false,
                        Threads::One,
                    );
                    dx
                }
                Step::Activation(_) => {
                    dy.iter_mut().zip(&tape.saved[i]).for_each(|(d, s)| *d *= s);
                    dy
                }
                Step::LayerNorm(ln) => {
                    kernels::layer_norm_backward(
                        &mut dy,
                        &tape.saved[i],
                        &tape.norms[i],
                        &ln.gamma,
                    );
                    dy
                }
                Step::Normalize => {
                    // y = x/‖x‖: dx = (dy − y (y·dy)) / ‖x‖ (just dy/ε where ‖x‖ is clamped)
                    let w = tape.widths[i];
                    for ((d, y), &norm) in dy
                        .chunks_exact_mut(w)
                        .zip(tape.saved[i].chunks_exact(w))
                        .zip(&tape.norms[i])
                    {
                        let dot: f32 = if norm > NORM_EPS {
                            d.iter().zip(y).map(|(a, b)| a * b).sum()
                        } else {
                            0.0
                        };
                        d.iter_mut()
                            .zip(y)
                            .for_each(|(dv, yv)| *dv = (*dv - yv * dot) / norm);
                    }
                    dy
                }
            };
        }
        // Through the pooling or the choice of rows.
        for (b, seq) in g.chunks_exact_mut(t * h).enumerate() {
            seq.fill(0.0);
            let dp = &dy[b * picked.len() * h..(b + 1) * picked.len() * h];
            match (self.pool, rows) {
                (Pool::Mean, Rows::Pooled) => {
                    for row in seq.chunks_exact_mut(h) {
                        row.iter_mut().zip(dp).for_each(|(r, v)| *r = v / t as f32);
                    }
                }
                _ => {
                    for (k, &i) in picked.iter().enumerate() {
                        seq[i * h..(i + 1) * h].copy_from_slice(&dp[k * h..(k + 1) * h]);
                    }
                }
            }
        }
    }
}

/// The attributed score of each row of logits `(n, classes)`, and its
/// gradient with respect to the logits: the target's logit, or its
/// probability under the model's output function; with a `contrast`, the
/// target's minus the contrast's (inseq's contrastive attribution).
pub fn score(
    logits: &[f32],
    classes: usize,
    target: usize,
    contrast: Option<usize>,
    probability: Option<Output>,
) -> (Vec<f32>, Vec<f32>) {
    let mut scores = Vec::with_capacity(logits.len() / classes);
    let mut grad = vec![0.0; logits.len()];
    for (z, g) in logits
        .chunks_exact(classes)
        .zip(grad.chunks_exact_mut(classes))
    {
        let s = one_score(z, g, target, probability, 1.0);
        let c = contrast.map_or(0.0, |c| one_score(z, g, c, probability, -1.0));
        scores.push(s - c);
    }
    (scores, grad)
}

/// Class `k`'s score in one row of logits `z`, its gradient times `sign`
/// added to `g`.
fn one_score(z: &[f32], g: &mut [f32], k: usize, probability: Option<Output>, sign: f32) -> f32 {
    match probability {
        None => {
            g[k] += sign;
            z[k]
        }
        Some(Output::Softmax) => {
            let p = softmax(z);
            // ∂p_k/∂z_j = p_k (δ_kj − p_j)
            for (j, gj) in g.iter_mut().enumerate() {
                *gj += sign * p[k] * (if j == k { 1.0 } else { 0.0 } - p[j]);
            }
            p[k]
        }
        Some(Output::Sigmoid) => {
            let s = 1.0 / (1.0 + (-z[k]).exp());
            g[k] += sign * s * (1.0 - s);
            s
        }
    }
}

/// Softmax of one row, in f64 for probabilities that sum to one.
pub fn softmax(z: &[f32]) -> Vec<f32> {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let e: Vec<f64> = z.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| (v / sum) as f32).collect()
}
