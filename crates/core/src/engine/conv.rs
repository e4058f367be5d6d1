//! DeBERTa-v2's convolution (`ConvLayer`, the xlarge and xxlarge models):
//! after the first layer, a 1-D convolution over the tokens of the
//! encoder's input, an activation, and a layer norm with the first layer's
//! output as the residual:
//!
//! ```text
//! x1 = LayerNorm(layer₀(x₀) + act(conv1d(x₀)))      (same-length padding)
//! ```
//!
//! No mask: bertlens never pads.

use super::kernels::{self, matmul, Mat, Threads};
use super::{LayerNorm, Param};
use crate::types::Activation;

/// `ConvLayer`'s weights.
#[derive(Debug, Clone)]
pub struct Conv {
    /// `(hidden, hidden / groups, kernel)`, as `nn.Conv1d` stores it.
    pub weight: Param,
    pub bias: Param,
    pub kernel: usize,
    pub groups: usize,
    pub act: Activation,
    pub norm: LayerNorm,
}

/// What the convolution keeps for its backward pass.
#[derive(Debug, Default)]
pub struct ConvTape {
    /// The encoder's input, `(rows, h)`.
    pub input: Vec<f32>,
    act_grad: Vec<f32>,
    xhat: Vec<f32>,
    rstd: Vec<f32>,
}

impl Conv {
    /// Tap `j`'s matrix for one group: `W[o, c, j]` for the group's outputs and inputs, `(out, in)`.
    fn tap(&self, j: usize, group: usize) -> Mat<'_> {
        let per = self.norm.size() / self.groups;
        let k = self.kernel;
        Mat {
            data: &self.weight[group * per * per * k + j..],
            rows: per,
            cols: per,
            rs: per * k,
            cs: k,
        }
    }

    /// For each tap `j` and sequence: the rows `[a, b)` of the input that
    /// feed the output rows `[a − s, b − s)`, `s = j − (kernel − 1)/2`.
    fn spans(&self, t: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
        let pad = (self.kernel - 1) / 2;
        (0..self.kernel).filter_map(move |j| {
            let (from, to) = (j.saturating_sub(pad), (t + j).saturating_sub(pad).min(t));
            (to > from).then_some((j, from, to, from + pad - j))
        })
    }

    /// `x` (the first layer's output, `(n·t, h)`) becomes
    /// `LayerNorm(x + act(conv1d(input)))`; `tape.input` holds the encoder's input.
    pub fn forward(
        &self,
        x: &mut [f32],
        n: usize,
        t: usize,
        tape: &mut ConvTape,
        threads: Threads,
    ) {
        let h = self.norm.size();
        let per = h / self.groups;
        let mut out = vec![0f32; n * t * h];
        for row in out.chunks_exact_mut(h) {
            row.copy_from_slice(&self.bias);
        }
        // out = self.conv(hidden_states.permute(0, 2, 1)).permute(0, 2, 1)
        for b in 0..n {
            for (j, from, to, at) in self.spans(t) {
                for g in 0..self.groups {
                    let input = Mat::strided(
                        &tape.input[(b * t + from) * h + g * per..],
                        to - from,
                        per,
                        h,
                    );
                    let dst = &mut out[(b * t + at) * h + g * per..];
                    matmul(dst, h, input, self.tap(j, g).t(), true, threads);
                }
            }
        }
        // out = ACT2FN[self.conv_act](out); layer_norm_input = residual_states + out
        tape.act_grad.resize(out.len(), 0.0);
        kernels::activate(self.act, &mut out, &mut tape.act_grad);
        x.iter_mut().zip(&out).for_each(|(a, b)| *a += b);
        tape.xhat.resize(x.len(), 0.0);
        tape.rstd.resize(n * t, 0.0);
        let ln = &self.norm;
        kernels::layer_norm(
            x,
            &mut tape.xhat,
            &mut tape.rstd,
            &ln.gamma,
            &ln.beta,
            ln.eps,
        );
    }

    /// `g` holds ∂F/∂(the convolution's output) on entry and ∂F/∂(the first
    /// layer's output) on return; ∂F/∂(the encoder's input) through the
    /// convolution is returned.
    pub fn backward(
        &self,
        g: &mut [f32],
        n: usize,
        t: usize,
        tape: &ConvTape,
        threads: Threads,
    ) -> Vec<f32> {
        let h = self.norm.size();
        let per = h / self.groups;
        kernels::layer_norm_backward(g, &tape.xhat, &tape.rstd, &self.norm.gamma);
        let dout: Vec<f32> = g.iter().zip(&tape.act_grad).map(|(a, b)| a * b).collect();
        let mut dinput = vec![0f32; n * t * h];
        for b in 0..n {
            for (j, from, to, at) in self.spans(t) {
                for grp in 0..self.groups {
                    let d = Mat::strided(&dout[(b * t + at) * h + grp * per..], to - from, per, h);
                    let dst = &mut dinput[(b * t + from) * h + grp * per..];
                    matmul(dst, h, d, self.tap(j, grp), true, threads);
                }
            }
        }
        dinput
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A direct, loop-by-loop convolution to hold the matrix form to.
    #[test]
    fn equals_the_definition() {
        let (h, k, t, groups) = (4, 3, 5, 2);
        let per = h / groups;
        let w: Vec<f32> = (0..h * per * k)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let conv = Conv {
            weight: Arc::new(w.clone()),
            bias: Arc::new(vec![0.0; h]),
            kernel: k,
            groups,
            act: Activation::Relu,
            norm: LayerNorm {
                gamma: Arc::new(vec![1.0; h]),
                beta: Arc::new(vec![0.0; h]),
                eps: 1e-5,
            },
        };
        let input: Vec<f32> = (0..t * h)
            .map(|i| ((i * 5 % 7) as f32 - 3.0) * 0.3)
            .collect();
        let mut tape = ConvTape {
            input: input.clone(),
            ..Default::default()
        };
        let mut x = vec![0f32; t * h];
        conv.forward(&mut x, 1, t, &mut tape, Threads::One);
        // The same by the definition, then relu and the norm.
        let mut want = vec![0f32; t * h];
        for i in 0..t {
            for o in 0..h {
                let g = o / per;
                let mut s = 0.0;
                for c in 0..per {
                    for j in 0..k {
                        let src = i as isize + j as isize - 1;
                        if (0..t as isize).contains(&src) {
                            s += w[o * per * k + c * k + j] * input[src as usize * h + g * per + c];
                        }
                    }
                }
                want[i * h + o] = s.max(0.0);
            }
        }
        kernels::layer_norm_inplace(&mut want, &[1.0; 4], &[0.0; 4], 1e-5);
        for (a, b) in x.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{x:?} vs {want:?}");
        }
    }
}
