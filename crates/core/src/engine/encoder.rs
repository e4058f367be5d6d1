//! The encoder layers, forward with a tape of what the backward pass reads,
//! and the backward pass with input gradients only. A layer, in PyTorch's
//! terms:
//!
//! ```text
//! post-norm (BERT, ALBERT, ELECTRA, DeBERTa, DistilBERT):
//!   x1 = LN1(Attn(x) Woᵀ + bo + x);     x2 = LN2(FFN(x1) + x1)
//! pre-norm (ModernBERT):
//!   x1 = x + Attn(LN1(x)) Woᵀ + bo;      x2 = x1 + FFN(LN2(x1))
//! FFN(x) = act(x W1ᵀ + b1) W2ᵀ + b2      or, gated (GLU): (act(a) ⊙ g) W2ᵀ + b2, [a | g] = x W1ᵀ + b1
//! ```
//!
//! with q, k and v from one product (`W_qkv` is the three stacked) and the
//! attention of [`super::attention`]. ALBERT and ELECTRA first project the
//! embeddings to the hidden size; ModernBERT ends with a final layer norm.

use std::sync::Arc;

use super::attention::{Attention, AttentionTape, Dims};
use super::conv::{Conv, ConvTape};
use super::embeddings::{Embeddings, EmbeddingsTape};
use super::kernels::{self, Threads};
use super::{LayerNorm, Linear};
use crate::types::Activation;

/// Where a layer normalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norms {
    /// After each residual sum.
    Post,
    /// Before attention and feed-forward, inside the residual branch.
    Pre,
}

/// One encoder layer's weights.
#[derive(Debug, Clone)]
pub struct Layer {
    pub norms: Norms,
    /// Post-norm: after the attention residual. Pre-norm: before attention
    /// (`None` for ModernBERT's first layer, whose norm is the identity).
    pub attention_norm: Option<LayerNorm>,
    /// q, k and v stacked: `(3·hidden, hidden)`.
    pub qkv: Linear,
    pub attention: Attention,
    pub attention_output: Linear,
    /// Post-norm: after the feed-forward residual. Pre-norm: before it.
    pub ffn_norm: LayerNorm,
    /// `(inner, hidden)`, or `(2·inner, hidden)` when gated.
    pub intermediate: Linear,
    pub glu: bool,
    /// `(hidden, inner)`.
    pub output: Linear,
    pub act: Activation,
}

impl Layer {
    fn inner(&self) -> usize {
        self.output.in_dim()
    }
}

/// The encoder: the embeddings block, then the layers.
#[derive(Debug, Clone)]
pub struct Encoder {
    pub embeddings: Embeddings,
    /// ALBERT's `embedding_hidden_mapping_in`, ELECTRA's `embeddings_project`:
    /// the embeddings block's output (`embedding_size`) → `hidden_size`.
    pub project: Option<Linear>,
    /// One per application; ALBERT's repeat the same weights.
    pub layers: Vec<Arc<Layer>>,
    /// ModernBERT's `final_norm`.
    pub final_norm: Option<LayerNorm>,
    /// DeBERTa-v2's convolution after the first layer (xlarge, xxlarge).
    pub conv: Option<Conv>,
    pub hidden: usize,
    pub heads: usize,
    /// The factor of the attention scores (`1/√d`; DeBERTa: `1/√(d·factor)`).
    pub scale: f32,
}

/// What a forward pass of one sequence records for the attention views.
#[derive(Debug, Default, Clone)]
pub struct Trace {
    /// `[layer][head][query][key]`, row-major.
    pub probabilities: Vec<f32>,
    /// `[layer][head][token][d]`: the vectors the scores are products of
    /// (after the rotation, for rotary attention).
    pub queries: Vec<f32>,
    pub keys: Vec<f32>,
    /// `[layer][head][query][key]`: the relative-position terms of the
    /// scores (DeBERTa), already scaled; empty for the other kinds.
    pub position_scores: Vec<f32>,
    /// One layer's every intermediate vector for one token (the classroom's
    /// step-through), when asked for.
    pub probe: Option<Probe>,
}

/// Which layer and token a forward pass records every step of, and what it
/// recorded, of the first sequence of the batch.
#[derive(Debug, Default, Clone)]
pub struct Probe {
    pub layer: usize,
    pub token: usize,
    /// `x W_qkvᵀ + b` of every token, `(t, 3h)`: q, k, v side by side (q and
    /// k after the rotation, for rotary attention).
    pub qkv: Vec<f32>,
    pub vectors: LayerVectors,
}

/// One layer's vectors for one token, in the order a post-norm layer
/// computes them (a pre-norm layer fills the same fields in its own order,
/// see [`Norms`]).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerVectors {
    /// The layer's input `(h)`.
    pub input: Vec<f32>,
    /// The heads' `Σ_j a_j v_j`, concatenated `(h)`.
    pub context: Vec<f32>,
    /// `context W_oᵀ + b_o` `(h)`.
    pub attention_output: Vec<f32>,
    /// Post-norm: `x + attention_output`; pre-norm: `LN1(x)`.
    pub attention_residual: Vec<f32>,
    /// Post-norm: `LN1(x + attention_output)`; pre-norm: `x + attention_output`.
    pub attention_norm: Vec<f32>,
    /// `act(x₁ W₁ᵀ + b₁)` (gated: `act(a)·g`), `(inner)`.
    pub intermediate: Vec<f32>,
    /// `intermediate W₂ᵀ + b₂` `(h)`.
    pub ffn_output: Vec<f32>,
    /// Post-norm: `x₁ + ffn_output`; pre-norm: `LN2(x₁)`.
    pub ffn_residual: Vec<f32>,
    /// The layer's output `(h)`: the next layer's input.
    pub output: Vec<f32>,
}

/// Row `i` of a `(rows, width)` matrix.
fn row(m: &[f32], i: usize, width: usize) -> Vec<f32> {
    m[i * width..(i + 1) * width].to_vec()
}

impl Trace {
    /// Records a layer's attention of the first sequence of a batch.
    fn record(
        &mut self,
        layer: &Layer,
        probs: &[f32],
        qkv: &[f32],
        dims: Dims,
        att: &AttentionTape,
    ) {
        let Dims { t, heads, d, .. } = dims;
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
        if let Some(s) = layer
            .attention
            .position_scores(&qkv[..t * 3 * h], dims, att)
        {
            self.position_scores.extend(s);
        }
    }
}

/// What one layer's forward pass keeps for its backward pass.
#[derive(Debug, Default)]
struct LayerTape {
    qkv: Vec<f32>, // (rows, 3h), q and k rotated for rotary attention
    attention: AttentionTape,
    xhat1: Vec<f32>, // the attention norm's
    rstd1: Vec<f32>,
    xhat2: Vec<f32>, // the feed-forward norm's
    rstd2: Vec<f32>,
    act_grad: Vec<f32>,  // (rows, inner): act′ at the pre-activation
    act_value: Vec<f32>, // gated: act(a)
    gate: Vec<f32>,      // gated: g
}

/// Buffers for a batch, allocated once and reused by every batch of the
/// same size: the layers' tapes and the working space of both passes.
#[derive(Debug, Default)]
pub struct Tape {
    n: usize,
    t: usize,
    layers: Vec<LayerTape>,
    /// The embeddings block's, when gradients go back to the word embeddings.
    pub(crate) embeddings: EmbeddingsTape,
    final_xhat: Vec<f32>,
    final_rstd: Vec<f32>,
    conv: ConvTape,
    ctx: Vec<f32>,   // (rows, h)
    tmp: Vec<f32>,   // (rows, h)
    inner: Vec<f32>, // (rows, inner or 2·inner)
    dqkv: Vec<f32>,  // (rows, 3h)
    scratch: Vec<f32>,
}

fn resize(v: &mut Vec<f32>, len: usize) {
    if v.len() != len {
        v.clear();
        v.resize(len, 0.0);
    }
}

impl Tape {
    /// Bytes a tape for `n` sequences of `t` tokens takes.
    pub fn bytes(enc: &Encoder, n: usize, t: usize) -> usize {
        let h = enc.hidden;
        let rows = n * t;
        let per_layer: usize = enc
            .layers
            .iter()
            .map(|l| {
                let gated = if l.glu { 3 } else { 1 };
                rows * (3 * h + 2 * h + 2 + gated * l.inner()) + n * enc.heads * t * t
            })
            .sum();
        let inner = enc
            .layers
            .iter()
            .map(|l| l.intermediate.out_dim())
            .max()
            .unwrap_or(0);
        let work = rows * (2 * h + inner + 3 * h + 2) + 2 * t * t;
        4 * (per_layer + work)
    }

    fn ensure(&mut self, enc: &Encoder, n: usize, t: usize) {
        let h = enc.hidden;
        let rows = n * t;
        self.layers
            .resize_with(enc.layers.len(), LayerTape::default);
        for (lt, layer) in self.layers.iter_mut().zip(&enc.layers) {
            let inner = layer.inner();
            resize(&mut lt.qkv, rows * 3 * h);
            resize(&mut lt.xhat1, rows * h);
            resize(&mut lt.rstd1, rows);
            resize(&mut lt.xhat2, rows * h);
            resize(&mut lt.rstd2, rows);
            resize(&mut lt.act_grad, rows * inner);
            if layer.glu {
                resize(&mut lt.act_value, rows * inner);
                resize(&mut lt.gate, rows * inner);
            }
        }
        let inner = enc
            .layers
            .iter()
            .map(|l| l.intermediate.out_dim())
            .max()
            .unwrap_or(0);
        resize(&mut self.ctx, rows * h);
        resize(&mut self.tmp, rows * h);
        resize(&mut self.inner, rows * inner);
        resize(&mut self.dqkv, rows * 3 * h);
        if enc.final_norm.is_some() {
            resize(&mut self.final_xhat, rows * h);
            resize(&mut self.final_rstd, rows);
        }
        self.n = n;
        self.t = t;
    }
}

/// The feed-forward block on `x` `(rows, h)` into `out` `(rows, h)`, keeping its tape.
fn ffn(
    layer: &Layer,
    x: &[f32],
    out: &mut [f32],
    inner: &mut [f32],
    lt: &mut LayerTape,
    rows: usize,
    threads: Threads,
) {
    let width = layer.inner();
    let up = &mut inner[..rows * layer.intermediate.out_dim()];
    kernels::linear(
        up,
        x,
        &layer.intermediate.weight,
        &layer.intermediate.bias,
        rows,
        threads,
    );
    if layer.glu {
        // input, gate = self.Wi(hidden_states).chunk(2, dim=-1); act(input) * gate
        for (r, row) in up.chunks_exact(2 * width).enumerate() {
            lt.act_value[r * width..(r + 1) * width].copy_from_slice(&row[..width]);
            lt.gate[r * width..(r + 1) * width].copy_from_slice(&row[width..]);
        }
        kernels::activate(layer.act, &mut lt.act_value, &mut lt.act_grad);
        for ((m, a), g) in inner[..rows * width]
            .iter_mut()
            .zip(&lt.act_value)
            .zip(&lt.gate)
        {
            *m = a * g;
        }
    } else {
        kernels::activate(layer.act, up, &mut lt.act_grad);
    }
    let o = &layer.output;
    kernels::linear(
        out,
        &inner[..rows * width],
        &o.weight,
        &o.bias,
        rows,
        threads,
    );
}

/// The input gradient of [`ffn`]: `dy` `(rows, h)` in, `dx` `(rows, h)`
/// written (or added to, with `accumulate`).
#[allow(clippy::too_many_arguments)]
fn ffn_backward(
    layer: &Layer,
    dy: &[f32],
    dx: &mut [f32],
    dinner: &mut [f32],
    lt: &LayerTape,
    rows: usize,
    accumulate: bool,
    threads: Threads,
) {
    let (h, width) = (dy.len() / rows, layer.inner());
    if layer.glu {
        let mut dm = vec![0f32; rows * width];
        kernels::linear_backward(&mut dm, dy, &layer.output.weight, rows, h, false, threads);
        // d(act(a) ⊙ g): da = dm ⊙ g ⊙ act′(a), dg = dm ⊙ act(a)
        for (r, out) in dinner[..rows * 2 * width]
            .chunks_exact_mut(2 * width)
            .enumerate()
        {
            for m in 0..width {
                let i = r * width + m;
                out[m] = dm[i] * lt.gate[i] * lt.act_grad[i];
                out[width + m] = dm[i] * lt.act_value[i];
            }
        }
    } else {
        let dm = &mut dinner[..rows * width];
        kernels::linear_backward(dm, dy, &layer.output.weight, rows, h, false, threads);
        dm.iter_mut().zip(&lt.act_grad).for_each(|(a, b)| *a *= b);
    }
    let up = layer.intermediate.out_dim();
    kernels::linear_backward(
        dx,
        &dinner[..rows * up],
        &layer.intermediate.weight,
        rows,
        up,
        accumulate,
        threads,
    );
}

impl Encoder {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    pub fn vocab_rows(&self) -> usize {
        self.embeddings.vocab_rows()
    }

    fn dims(&self, n: usize, t: usize) -> Dims {
        Dims {
            n,
            t,
            heads: self.heads,
            d: self.head_dim(),
            scale: self.scale,
        }
    }

    /// The layers on the embeddings block's output `x` `(n·t, width)`: the
    /// last hidden states `(n·t, h)` out. Keeps in `tape` what `backward`
    /// needs; with a trace, records every attention map, query and key.
    pub fn forward(
        &self,
        mut x: Vec<f32>,
        n: usize,
        t: usize,
        tape: &mut Tape,
        mut trace: Option<&mut Trace>,
        threads: Threads,
    ) -> Vec<f32> {
        tape.ensure(self, n, t);
        let (h, rows) = (self.hidden, n * t);
        let dims = self.dims(n, t);
        if let Some(p) = &self.project {
            let mut y = vec![0f32; rows * h];
            kernels::linear(&mut y, &x, &p.weight, &p.bias, rows, threads);
            x = y;
        }
        let Tape {
            layers,
            ctx,
            tmp,
            inner,
            scratch,
            final_xhat,
            final_rstd,
            conv,
            ..
        } = tape;
        if self.conv.is_some() {
            conv.input.clone_from(&x);
        }
        for (i, (layer, lt)) in self.layers.iter().zip(layers.iter_mut()).enumerate() {
            let post = layer.norms == Norms::Post;
            // The token whose every step this layer records, if any.
            let probing = trace
                .as_deref()
                .and_then(|tr| tr.probe.as_ref())
                .filter(|p| p.layer == i && p.token < t)
                .map(|p| p.token);
            let mut probe = Probe::default();
            if let Some(k) = probing {
                probe.vectors.input = row(&x, k, h);
            }
            // Pre-norm: h = LN1(x) into tmp (the identity for ModernBERT's first layer).
            let att_in: &[f32] = match (&layer.attention_norm, post) {
                (Some(n1), false) => {
                    tmp.copy_from_slice(&x);
                    kernels::layer_norm(
                        tmp,
                        &mut lt.xhat1,
                        &mut lt.rstd1,
                        &n1.gamma,
                        &n1.beta,
                        n1.eps,
                    );
                    tmp
                }
                _ => &x,
            };
            if let (Some(k), false) = (probing, post) {
                probe.vectors.attention_residual = row(att_in, k, h);
            }
            // q, k, v = x W_qkvᵀ + b_qkv
            kernels::linear(
                &mut lt.qkv,
                att_in,
                &layer.qkv.weight,
                &layer.qkv.bias,
                rows,
                threads,
            );
            layer.attention.forward(
                &layer.qkv,
                &mut lt.qkv,
                ctx,
                dims,
                &mut lt.attention,
                scratch,
            );
            if let Some(trace) = trace.as_deref_mut() {
                trace.record(layer, &lt.attention.probs, &lt.qkv, dims, &lt.attention);
            }
            let wo = &layer.attention_output;
            kernels::linear(tmp, ctx, &wo.weight, &wo.bias, rows, threads);
            if let Some(k) = probing {
                probe.qkv = lt.qkv[..t * 3 * h].to_vec();
                probe.vectors.context = row(ctx, k, h);
                probe.vectors.attention_output = row(tmp, k, h);
            }
            tmp.iter_mut().zip(x.iter()).for_each(|(a, b)| *a += b);
            if let Some(k) = probing {
                let sum = row(tmp, k, h);
                if post {
                    probe.vectors.attention_residual = sum;
                } else {
                    probe.vectors.attention_norm = sum;
                }
            }
            if post {
                // x1 = LN1(ctx Woᵀ + bo + x), in tmp
                let n1 = layer
                    .attention_norm
                    .as_ref()
                    .expect("post-norm layers have an attention norm");
                kernels::layer_norm(
                    tmp,
                    &mut lt.xhat1,
                    &mut lt.rstd1,
                    &n1.gamma,
                    &n1.beta,
                    n1.eps,
                );
                // x2 = LN2(FFN(x1) + x1)
                if let Some(k) = probing {
                    probe.vectors.attention_norm = row(tmp, k, h);
                }
                ffn(layer, tmp, &mut x, inner, lt, rows, threads);
                if let Some(k) = probing {
                    let width = layer.inner();
                    probe.vectors.intermediate = row(inner, k, width);
                    probe.vectors.ffn_output = row(&x, k, h);
                }
                x.iter_mut().zip(tmp.iter()).for_each(|(a, b)| *a += b);
                if let Some(k) = probing {
                    probe.vectors.ffn_residual = row(&x, k, h);
                }
                let n2 = &layer.ffn_norm;
                kernels::layer_norm(
                    &mut x,
                    &mut lt.xhat2,
                    &mut lt.rstd2,
                    &n2.gamma,
                    &n2.beta,
                    n2.eps,
                );
            } else {
                // x1 = x + attention, then x2 = x1 + FFN(LN2(x1))
                x.copy_from_slice(tmp);
                let n2 = &layer.ffn_norm;
                kernels::layer_norm(
                    tmp,
                    &mut lt.xhat2,
                    &mut lt.rstd2,
                    &n2.gamma,
                    &n2.beta,
                    n2.eps,
                );
                if let Some(k) = probing {
                    probe.vectors.ffn_residual = row(tmp, k, h);
                }
                ffn(layer, tmp, ctx, inner, lt, rows, threads);
                if let Some(k) = probing {
                    probe.vectors.intermediate = row(inner, k, layer.inner());
                    probe.vectors.ffn_output = row(ctx, k, h);
                }
                x.iter_mut().zip(ctx.iter()).for_each(|(a, b)| *a += b);
            }
            if let Some(k) = probing {
                probe.vectors.output = row(&x, k, h);
                if let Some(p) = trace.as_deref_mut().and_then(|tr| tr.probe.as_mut()) {
                    probe.layer = p.layer;
                    probe.token = p.token;
                    *p = probe;
                }
            }
            if let (0, Some(c)) = (i, &self.conv) {
                c.forward(&mut x, n, t, conv, threads);
            }
        }
        if let Some(f) = &self.final_norm {
            kernels::layer_norm(&mut x, final_xhat, final_rstd, &f.gamma, &f.beta, f.eps);
        }
        x
    }

    /// The input gradient of `forward`: ∂F/∂(last hidden states) in,
    /// ∂F/∂(embeddings block output) out.
    pub fn backward(&self, mut g: Vec<f32>, tape: &mut Tape, threads: Threads) -> Vec<f32> {
        let (n, t) = (tape.n, tape.t);
        let (h, rows) = (self.hidden, n * t);
        let dims = self.dims(n, t);
        let Tape {
            layers,
            ctx: dctx,
            tmp,
            inner: dinner,
            dqkv,
            scratch,
            final_xhat,
            final_rstd,
            conv,
            ..
        } = tape;
        if let Some(f) = &self.final_norm {
            kernels::layer_norm_backward(&mut g, final_xhat, final_rstd, &f.gamma);
        }
        let mut through_conv = None;
        for (i, (layer, lt)) in self.layers.iter().zip(layers.iter_mut()).enumerate().rev() {
            if let (0, Some(c)) = (i, &self.conv) {
                through_conv = Some(c.backward(&mut g, n, t, conv, threads));
            }
            let n1 = layer.attention_norm.as_ref();
            if layer.norms == Norms::Post {
                // Through LN2; the residual carries the same gradient to x1.
                kernels::layer_norm_backward(&mut g, &lt.xhat2, &lt.rstd2, &layer.ffn_norm.gamma);
                tmp.copy_from_slice(&g);
                ffn_backward(layer, &g, tmp, dinner, lt, rows, true, threads);
                // Through LN1; the residual carries the same gradient to x.
                let n1 = n1.expect("post-norm layers have an attention norm");
                kernels::layer_norm_backward(tmp, &lt.xhat1, &lt.rstd1, &n1.gamma);
                g.copy_from_slice(tmp);
            } else {
                // x2 = x1 + FFN(LN2(x1)): g += LN2ᵀ(FFNᵀ(g)).
                ffn_backward(layer, &g, tmp, dinner, lt, rows, false, threads);
                kernels::layer_norm_backward(tmp, &lt.xhat2, &lt.rstd2, &layer.ffn_norm.gamma);
                g.iter_mut().zip(tmp.iter()).for_each(|(a, b)| *a += b);
            }
            // The attention branch: dctx = g Wo, then q, k, v, then g += dqkv W_qkv (through LN1 for pre-norm).
            let wo = &layer.attention_output;
            kernels::linear_backward(dctx, &g, &wo.weight, rows, h, false, threads);
            layer
                .attention
                .backward(&lt.qkv, dctx, dqkv, dims, &lt.attention, scratch);
            match (n1, layer.norms) {
                (Some(n1), Norms::Pre) => {
                    kernels::linear_backward(
                        tmp,
                        dqkv,
                        &layer.qkv.weight,
                        rows,
                        3 * h,
                        false,
                        threads,
                    );
                    kernels::layer_norm_backward(tmp, &lt.xhat1, &lt.rstd1, &n1.gamma);
                    g.iter_mut().zip(tmp.iter()).for_each(|(a, b)| *a += b);
                }
                _ => kernels::linear_backward(
                    &mut g,
                    dqkv,
                    &layer.qkv.weight,
                    rows,
                    3 * h,
                    true,
                    threads,
                ),
            }
        }
        if let Some(d) = through_conv {
            g.iter_mut().zip(d).for_each(|(a, b)| *a += b);
        }
        match &self.project {
            Some(p) => {
                let mut dx = vec![0f32; rows * p.in_dim()];
                kernels::linear_backward(&mut dx, &g, &p.weight, rows, h, false, threads);
                dx
            }
            None => g,
        }
    }
}
