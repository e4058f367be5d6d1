//! The encoder: embeddings and post-norm layers, forward with a tape of
//! what the backward pass reads, and the backward pass with input gradients
//! only. One layer, in PyTorch's terms (BERT, RoBERTa and DistilBERT alike):
//!
//! ```text
//! q, k, v = x Wqᵀ + bq, …          (one product: W_qkv is the three stacked)
//! P = softmax(q kᵀ / √d)            (per sequence and head)
//! x1 = LN1(P v Woᵀ + bo + x)
//! x2 = LN2(act(x1 W1ᵀ + b1) W2ᵀ + b2 + x1)
//! ```

use super::kernels::{self, matmul, Mat, Threads};
use super::{Layer, LayerNorm};
use crate::models::bert::PositionIds;

/// What a forward pass of one sequence records for the attention views.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// `[layer][head][query][key]`, row-major.
    pub probabilities: Vec<f32>,
    /// `[layer][head][token][d]`.
    pub queries: Vec<f32>,
    pub keys: Vec<f32>,
}

impl Trace {
    /// Records a layer's attention of the first sequence of a batch.
    fn record(&mut self, probs: &[f32], qkv: &[f32], t: usize, heads: usize, d: usize) {
        let h = heads * d;
        self.probabilities
            .extend_from_slice(&probs[..heads * t * t]);
        for (out, offset) in [(&mut self.queries, 0), (&mut self.keys, h)] {
            for hd in 0..heads {
                for i in 0..t {
                    let at = i * 3 * h + offset + hd * d;
                    out.extend_from_slice(&qkv[at..at + d]);
                }
            }
        }
    }
}

/// Word, position and token-type embeddings and their layer norm.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub word: Vec<f32>,
    pub position: Vec<f32>,
    /// Absent for DistilBERT.
    pub token_type: Option<Vec<f32>>,
    pub norm: LayerNorm,
    pub positions: PositionIds,
}

/// The encoder of a classifier, weights laid out for the fast path.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub embeddings: Embeddings,
    pub layers: Vec<Layer>,
}

/// What one layer's forward pass keeps for its backward pass.
#[derive(Debug, Default)]
struct LayerTape {
    qkv: Vec<f32>,      // (rows, 3h)
    probs: Vec<f32>,    // (n, heads, t, t)
    xhat1: Vec<f32>,    // (rows, h)
    rstd1: Vec<f32>,    // (rows)
    act_grad: Vec<f32>, // (rows, intermediate): act′ at the pre-activation
    xhat2: Vec<f32>,
    rstd2: Vec<f32>,
}

/// Buffers for a batch of `n` sequences of `t` tokens, allocated once and
/// reused by every batch of the same size: the layers' tapes and the
/// working space of both passes.
#[derive(Debug, Default)]
pub struct Tape {
    n: usize,
    t: usize,
    layers: Vec<LayerTape>,
    /// The embeddings' layer norm, when gradients go back to the word embeddings.
    emb_xhat: Vec<f32>,
    emb_rstd: Vec<f32>,
    ctx: Vec<f32>,   // (rows, h)
    tmp: Vec<f32>,   // (rows, h)
    inner: Vec<f32>, // (rows, intermediate)
    dqkv: Vec<f32>,  // (rows, 3h)
    scratch: Vec<f32>,
}

fn resize(v: &mut Vec<f32>, len: usize) {
    v.clear();
    v.resize(len, 0.0);
}

impl Tape {
    /// Bytes a tape for `n` sequences of `t` tokens takes.
    pub fn bytes(enc: &Encoder, n: usize, t: usize) -> usize {
        let (h, i, heads) = (enc.hidden, enc.intermediate, enc.heads);
        let rows = n * t;
        let per_layer = rows * (3 * h + 2 * h + i + 2) + n * heads * t * t;
        let work = rows * (h * 3 + i + 3 * h + 2) + t * t;
        4 * (enc.layers.len() * per_layer + work)
    }

    fn ensure(&mut self, enc: &Encoder, n: usize, t: usize) {
        if self.n == n && self.t == t && self.layers.len() == enc.layers.len() {
            return;
        }
        let (h, i, heads) = (enc.hidden, enc.intermediate, enc.heads);
        let rows = n * t;
        self.layers
            .resize_with(enc.layers.len(), LayerTape::default);
        for lt in &mut self.layers {
            resize(&mut lt.qkv, rows * 3 * h);
            resize(&mut lt.probs, n * heads * t * t);
            resize(&mut lt.xhat1, rows * h);
            resize(&mut lt.rstd1, rows);
            resize(&mut lt.act_grad, rows * i);
            resize(&mut lt.xhat2, rows * h);
            resize(&mut lt.rstd2, rows);
        }
        resize(&mut self.emb_xhat, rows * h);
        resize(&mut self.emb_rstd, rows);
        resize(&mut self.ctx, rows * h);
        resize(&mut self.tmp, rows * h);
        resize(&mut self.inner, rows * i);
        resize(&mut self.dqkv, rows * 3 * h);
        resize(&mut self.scratch, t * t);
        self.n = n;
        self.t = t;
    }
}

impl Encoder {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    pub fn vocab_rows(&self) -> usize {
        self.embeddings.word.len() / self.hidden
    }

    /// The position ids the model derives from `ids`.
    pub fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        self.embeddings.positions.of(ids)
    }

    /// Rows of the word-embedding table, `(t, h)`.
    pub fn word_embeddings(&self, ids: &[u32]) -> Vec<f32> {
        let h = self.hidden;
        let mut out = Vec::with_capacity(ids.len() * h);
        for &id in ids {
            let id = id as usize;
            out.extend_from_slice(&self.embeddings.word[id * h..(id + 1) * h]);
        }
        out
    }

    /// The embeddings block on word embeddings, in place: `(n·t, h)` rows,
    /// every sequence with the same positions and token types. With a tape,
    /// keeps what the backward pass to the word embeddings needs.
    pub fn embed(&self, x: &mut [f32], positions: &[u32], types: &[u32], tape: Option<&mut Tape>) {
        let h = self.hidden;
        let t = positions.len();
        let e = &self.embeddings;
        for seq in x.chunks_exact_mut(t * h) {
            for (i, row) in seq.chunks_exact_mut(h).enumerate() {
                let p = positions[i] as usize;
                for (v, w) in row.iter_mut().zip(&e.position[p * h..(p + 1) * h]) {
                    *v += w;
                }
                if let Some(tt) = &e.token_type {
                    let ty = types[i] as usize;
                    for (v, w) in row.iter_mut().zip(&tt[ty * h..(ty + 1) * h]) {
                        *v += w;
                    }
                }
            }
        }
        match tape {
            Some(tape) => {
                let rows = x.len() / h;
                kernels::layer_norm(
                    x,
                    &mut tape.emb_xhat[..rows * h],
                    &mut tape.emb_rstd[..rows],
                    &e.norm.gamma,
                    &e.norm.beta,
                    e.norm.eps,
                );
            }
            None => kernels::layer_norm_inplace(x, &e.norm.gamma, &e.norm.beta, e.norm.eps),
        }
    }

    /// Prepares `tape` for `n` sequences of `t` tokens.
    pub fn tape(&self, tape: &mut Tape, n: usize, t: usize) {
        tape.ensure(self, n, t);
    }

    /// The layers, in place on `x` `(n·t, h)`: the embeddings block's output
    /// in, the last hidden states out. With a tape, keeps what `backward`
    /// needs; with a trace, records every attention map, query and key.
    pub fn forward(
        &self,
        x: &mut [f32],
        n: usize,
        t: usize,
        tape: &mut Tape,
        mut trace: Option<&mut Trace>,
        threads: Threads,
    ) {
        tape.ensure(self, n, t);
        let (h, inter, heads) = (self.hidden, self.intermediate, self.heads);
        let d = self.head_dim();
        let rows = n * t;
        let scale = (d as f32).powf(-0.5);
        let Tape {
            layers,
            ctx,
            tmp,
            inner,
            ..
        } = tape;
        for (layer, lt) in self.layers.iter().zip(layers.iter_mut()) {
            // q, k, v = x W_qkvᵀ + b_qkv
            kernels::linear(
                &mut lt.qkv,
                x,
                &layer.qkv.weight,
                &layer.qkv.bias,
                rows,
                threads,
            );
            // Per sequence and head: P = softmax(q kᵀ/√d), ctx = P v.
            for b in 0..n {
                let qkv = &lt.qkv[b * t * 3 * h..(b + 1) * t * 3 * h];
                for hd in 0..heads {
                    let q = Mat::strided(&qkv[hd * d..], t, d, 3 * h);
                    let k = Mat::strided(&qkv[h + hd * d..], t, d, 3 * h);
                    let v = Mat::strided(&qkv[2 * h + hd * d..], t, d, 3 * h);
                    let p = &mut lt.probs[(b * heads + hd) * t * t..(b * heads + hd + 1) * t * t];
                    matmul(p, t, q, k.t(), false, Threads::One);
                    p.iter_mut().for_each(|s| *s *= scale);
                    kernels::softmax_rows(p, t);
                    let out = &mut ctx[b * t * h + hd * d..];
                    matmul(out, h, Mat::new(p, t, t), v, false, Threads::One);
                }
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.record(&lt.probs, &lt.qkv, t, heads, d);
            }
            // x1 = LN1(ctx Woᵀ + bo + x)
            kernels::linear(
                tmp,
                ctx,
                &layer.attention_output.weight,
                &layer.attention_output.bias,
                rows,
                threads,
            );
            tmp.iter_mut().zip(x.iter()).for_each(|(a, b)| *a += b);
            let n1 = &layer.attention_norm;
            kernels::layer_norm(
                tmp,
                &mut lt.xhat1,
                &mut lt.rstd1,
                &n1.gamma,
                &n1.beta,
                n1.eps,
            );
            // x2 = LN2(act(x1 W1ᵀ + b1) W2ᵀ + b2 + x1)
            kernels::linear(
                inner,
                tmp,
                &layer.intermediate.weight,
                &layer.intermediate.bias,
                rows,
                threads,
            );
            kernels::activate(layer.act, &mut inner[..rows * inter], &mut lt.act_grad);
            kernels::linear(
                x,
                inner,
                &layer.output.weight,
                &layer.output.bias,
                rows,
                threads,
            );
            x.iter_mut().zip(tmp.iter()).for_each(|(a, b)| *a += b);
            let n2 = &layer.output_norm;
            kernels::layer_norm(x, &mut lt.xhat2, &mut lt.rstd2, &n2.gamma, &n2.beta, n2.eps);
        }
    }

    /// The input gradient of `forward`, in place: `g` holds ∂F/∂(last hidden
    /// states) on entry and ∂F/∂(embeddings block output) on return.
    pub fn backward(&self, g: &mut [f32], tape: &mut Tape, threads: Threads) {
        let (n, t) = (tape.n, tape.t);
        let (h, inter, heads) = (self.hidden, self.intermediate, self.heads);
        let d = self.head_dim();
        let rows = n * t;
        let scale = (d as f32).powf(-0.5);
        let Tape {
            layers,
            ctx: dctx,
            tmp: dx1,
            inner: dinner,
            dqkv,
            scratch: dp,
            ..
        } = tape;
        for (layer, lt) in self.layers.iter().zip(layers.iter_mut()).rev() {
            // Through LN2; the residual carries the same gradient to x1.
            kernels::layer_norm_backward(g, &lt.xhat2, &lt.rstd2, &layer.output_norm.gamma);
            dx1.copy_from_slice(g);
            // Through the feed-forward block: dinner = g W2 ⊙ act′, dx1 += dinner W1.
            kernels::linear_backward(dinner, g, &layer.output.weight, rows, h, false, threads);
            dinner[..rows * inter]
                .iter_mut()
                .zip(&lt.act_grad)
                .for_each(|(a, b)| *a *= b);
            kernels::linear_backward(
                dx1,
                dinner,
                &layer.intermediate.weight,
                rows,
                inter,
                true,
                threads,
            );
            // Through LN1; the residual carries the same gradient to x.
            kernels::layer_norm_backward(dx1, &lt.xhat1, &lt.rstd1, &layer.attention_norm.gamma);
            g.copy_from_slice(dx1);
            kernels::linear_backward(
                dctx,
                dx1,
                &layer.attention_output.weight,
                rows,
                h,
                false,
                threads,
            );
            // Through attention, per sequence and head.
            for b in 0..n {
                let qkv = &lt.qkv[b * t * 3 * h..(b + 1) * t * 3 * h];
                let dqkv_b = &mut dqkv[b * t * 3 * h..(b + 1) * t * 3 * h];
                for hd in 0..heads {
                    let q = Mat::strided(&qkv[hd * d..], t, d, 3 * h);
                    let k = Mat::strided(&qkv[h + hd * d..], t, d, 3 * h);
                    let v = Mat::strided(&qkv[2 * h + hd * d..], t, d, 3 * h);
                    let p = &lt.probs[(b * heads + hd) * t * t..(b * heads + hd + 1) * t * t];
                    let dc = Mat::strided(&dctx[b * t * h + hd * d..], t, d, h);
                    // dP = dctx vᵀ; dv = Pᵀ dctx
                    matmul(dp, t, dc, v.t(), false, Threads::One);
                    matmul(
                        &mut dqkv_b[2 * h + hd * d..],
                        3 * h,
                        Mat::new(p, t, t).t(),
                        dc,
                        false,
                        Threads::One,
                    );
                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)) / √d
                    kernels::softmax_backward_rows(dp, p, t);
                    dp.iter_mut().for_each(|s| *s *= scale);
                    // dq = dS k; dk = dSᵀ q
                    let ds = Mat::new(dp, t, t);
                    matmul(&mut dqkv_b[hd * d..], 3 * h, ds, k, false, Threads::One);
                    matmul(
                        &mut dqkv_b[h + hd * d..],
                        3 * h,
                        ds.t(),
                        q,
                        false,
                        Threads::One,
                    );
                }
            }
            // g += dqkv W_qkv
            kernels::linear_backward(g, dqkv, &layer.qkv.weight, rows, 3 * h, true, threads);
        }
    }

    /// The input gradient of `embed`'s layer norm, in place: ∂F/∂(embeddings
    /// block output) in, ∂F/∂(word embeddings) out (positions and token
    /// types are added, so their gradient passes through unchanged).
    pub fn embed_backward(&self, g: &mut [f32], tape: &Tape) {
        let rows = g.len() / self.hidden;
        kernels::layer_norm_backward(
            g,
            &tape.emb_xhat[..rows * self.hidden],
            &tape.emb_rstd[..rows],
            &self.embeddings.norm.gamma,
        );
    }
}
