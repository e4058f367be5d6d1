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
use super::record::{NoRecord, Recorder, Stage, Trace};
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

/// The working space of a layer's forward pass.
struct Work<'a> {
    ctx: &'a mut Vec<f32>,   // (rows, h)
    tmp: &'a mut Vec<f32>,   // (rows, h)
    inner: &'a mut Vec<f32>, // (rows, inner or 2·inner)
    scratch: &'a mut Vec<f32>,
}

/// Where in the pass a recorder is told of: which layer, of a batch of
/// sequences of `t` tokens.
struct Point<'r, R: Recorder> {
    layer: usize,
    t: usize,
    rec: &'r mut R,
}

impl<R: Recorder> Point<'_, R> {
    fn stage(&mut self, stage: Stage, m: &[f32], width: usize) {
        self.rec.stage(self.layer, stage, m, width, self.t);
    }
}

/// q, k, v from `x`, then the attention into `ctx` (`Σ_j a_j v_j` of every
/// head), told to the recorder.
fn attention(
    layer: &Layer,
    lt: &mut LayerTape,
    x: &[f32],
    w: &mut Work,
    at: &mut Point<impl Recorder>,
    dims: Dims,
    threads: Threads,
) {
    let rows = dims.n * dims.t;
    // q, k, v = x W_qkvᵀ + b_qkv
    kernels::linear(
        &mut lt.qkv,
        x,
        &layer.qkv.weight,
        &layer.qkv.bias,
        rows,
        threads,
    );
    layer.attention.forward(
        &layer.qkv,
        &mut lt.qkv,
        w.ctx,
        dims,
        &mut lt.attention,
        w.scratch,
    );
    at.rec.attention(
        at.layer,
        layer,
        &lt.attention.probs,
        &lt.qkv,
        dims,
        &lt.attention,
    );
}

/// `x + ctx Woᵀ + bo` into `tmp`: the attention's output projection and
/// its residual, told to the recorder.
fn residual_attention(
    layer: &Layer,
    x: &[f32],
    w: &mut Work,
    at: &mut Point<impl Recorder>,
    dims: Dims,
    threads: Threads,
) {
    let (rows, h) = (dims.n * dims.t, dims.heads * dims.d);
    let wo = &layer.attention_output;
    kernels::linear(w.tmp, w.ctx, &wo.weight, &wo.bias, rows, threads);
    at.stage(Stage::Context, w.ctx, h);
    at.stage(Stage::AttentionOutput, w.tmp, h);
    w.tmp.iter_mut().zip(x.iter()).for_each(|(a, b)| *a += b);
}

/// A post-norm layer (BERT, ALBERT, ELECTRA, DeBERTa, DistilBERT), in place on `x`:
/// x1 = LN1(Attn(x) Woᵀ + bo + x); x2 = LN2(FFN(x1) + x1).
fn post_norm(
    layer: &Layer,
    lt: &mut LayerTape,
    x: &mut [f32],
    w: &mut Work,
    at: &mut Point<impl Recorder>,
    dims: Dims,
    threads: Threads,
) {
    let (rows, h) = (dims.n * dims.t, dims.heads * dims.d);
    attention(layer, lt, x, w, at, dims, threads);
    residual_attention(layer, x, w, at, dims, threads);
    at.stage(Stage::AttentionResidual, w.tmp, h);
    let n1 = layer
        .attention_norm
        .as_ref()
        .expect("post-norm layers have an attention norm");
    kernels::layer_norm(
        w.tmp,
        &mut lt.xhat1,
        &mut lt.rstd1,
        &n1.gamma,
        &n1.beta,
        n1.eps,
    );
    at.stage(Stage::AttentionNorm, w.tmp, h);
    ffn(layer, w.tmp, x, w.inner, lt, rows, threads);
    at.stage(Stage::Intermediate, w.inner, layer.inner());
    at.stage(Stage::FfnOutput, x, h);
    x.iter_mut().zip(w.tmp.iter()).for_each(|(a, b)| *a += b);
    at.stage(Stage::FfnResidual, x, h);
    let n2 = &layer.ffn_norm;
    kernels::layer_norm(x, &mut lt.xhat2, &mut lt.rstd2, &n2.gamma, &n2.beta, n2.eps);
}

/// A pre-norm layer (ModernBERT), in place on `x`:
/// x1 = x + Attn(LN1(x)) Woᵀ + bo; x2 = x1 + FFN(LN2(x1)). LN1 is the
/// identity where the layer has none (ModernBERT's first).
fn pre_norm(
    layer: &Layer,
    lt: &mut LayerTape,
    x: &mut [f32],
    w: &mut Work,
    at: &mut Point<impl Recorder>,
    dims: Dims,
    threads: Threads,
) {
    let (rows, h) = (dims.n * dims.t, dims.heads * dims.d);
    match &layer.attention_norm {
        Some(n1) => {
            w.tmp.copy_from_slice(x);
            kernels::layer_norm(
                w.tmp,
                &mut lt.xhat1,
                &mut lt.rstd1,
                &n1.gamma,
                &n1.beta,
                n1.eps,
            );
            at.stage(Stage::AttentionResidual, w.tmp, h);
            let normed = std::mem::take(w.tmp);
            attention(layer, lt, &normed, w, at, dims, threads);
            *w.tmp = normed;
        }
        None => {
            at.stage(Stage::AttentionResidual, x, h);
            attention(layer, lt, x, w, at, dims, threads);
        }
    }
    residual_attention(layer, x, w, at, dims, threads);
    at.stage(Stage::AttentionNorm, w.tmp, h);
    x.copy_from_slice(w.tmp);
    let n2 = &layer.ffn_norm;
    kernels::layer_norm(
        w.tmp,
        &mut lt.xhat2,
        &mut lt.rstd2,
        &n2.gamma,
        &n2.beta,
        n2.eps,
    );
    at.stage(Stage::FfnResidual, w.tmp, h);
    ffn(layer, w.tmp, w.ctx, w.inner, lt, rows, threads);
    at.stage(Stage::Intermediate, w.inner, layer.inner());
    at.stage(Stage::FfnOutput, w.ctx, h);
    x.iter_mut().zip(w.ctx.iter()).for_each(|(a, b)| *a += b);
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
    /// needs; with a trace, records every attention map, query and key
    /// (and a probe's vectors).
    pub fn forward(
        &self,
        x: Vec<f32>,
        n: usize,
        t: usize,
        tape: &mut Tape,
        trace: Option<&mut Trace>,
        threads: Threads,
    ) -> Vec<f32> {
        match trace {
            Some(trace) => self.forward_recorded(x, n, t, tape, trace, threads),
            None => self.forward_recorded(x, n, t, tape, &mut NoRecord, threads),
        }
    }

    /// [`Self::forward`], telling `rec` what it computes (the plain pass is
    /// monomorphized with [`NoRecord`]: no recording branch is left in it).
    pub(crate) fn forward_recorded(
        &self,
        mut x: Vec<f32>,
        n: usize,
        t: usize,
        tape: &mut Tape,
        rec: &mut impl Recorder,
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
        let mut work = Work {
            ctx,
            tmp,
            inner,
            scratch,
        };
        for (i, (layer, lt)) in self.layers.iter().zip(layers.iter_mut()).enumerate() {
            let mut at = Point { layer: i, t, rec };
            at.stage(Stage::Input, &x, h);
            match layer.norms {
                Norms::Post => post_norm(layer, lt, &mut x, &mut work, &mut at, dims, threads),
                Norms::Pre => pre_norm(layer, lt, &mut x, &mut work, &mut at, dims, threads),
            }
            at.stage(Stage::Output, &x, h);
            if let (0, Some(c)) = (i, &self.conv) {
                c.forward(&mut x, n, t, conv, threads);
            }
        }
        if let Some(f) = &self.final_norm {
            kernels::layer_norm(&mut x, final_xhat, final_rstd, &f.gamma, &f.beta, f.eps);
        }
        x
    }

    /// `x` `(rows, h)` through the final norm (ModernBERT's), if there is one.
    pub fn through_final_norm(&self, x: &mut [f32]) {
        if let Some(f) = &self.final_norm {
            let rows = x.len() / self.hidden.max(1);
            let (mut xhat, mut rstd) = (vec![0f32; x.len()], vec![0f32; rows]);
            kernels::layer_norm(x, &mut xhat, &mut rstd, &f.gamma, &f.beta, f.eps);
        }
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
