//! What a forward pass can record beyond its tape, told by the pass as it
//! goes: each layer's attention (the attention views: [`Trace`]) and one
//! layer's every vector for one token (the step-through: [`Probe`]). The
//! plain pass records nothing ([`NoRecord`]); the encoder's layers read
//! top-down without a recording branch.

use super::attention::{AttentionTape, Dims};
use super::encoder::Layer;

/// A point of a layer's forward pass whose vectors the step-through shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Input,
    Context,
    AttentionOutput,
    AttentionResidual,
    AttentionNorm,
    Intermediate,
    FfnOutput,
    FfnResidual,
    Output,
}

/// Told what a forward pass computes; every method does nothing unless a
/// recorder wants it.
pub trait Recorder {
    /// Layer `layer`'s attention of a batch: its probabilities and q, k, v.
    fn attention(
        &mut self,
        _layer: usize,
        _weights: &Layer,
        _probs: &[f32],
        _qkv: &[f32],
        _dims: Dims,
        _tape: &AttentionTape,
    ) {
    }

    /// The `(rows, width)` matrix at `stage` of layer `layer`, for
    /// sequences of `t` tokens.
    fn stage(&mut self, _layer: usize, _stage: Stage, _m: &[f32], _width: usize, _t: usize) {}
}

/// Every layer's input of the first sequence: transformers' `hidden_states[l]`
/// for `l` below the number of layers (the lens on every layer).
#[derive(Debug, Default, Clone)]
pub struct LayerInputs {
    /// `[layer]`, each `(t, h)`.
    pub states: Vec<Vec<f32>>,
}

impl Recorder for LayerInputs {
    fn stage(&mut self, _layer: usize, stage: Stage, m: &[f32], width: usize, t: usize) {
        if stage == Stage::Input {
            self.states.push(m[..t * width].to_vec());
        }
    }
}

/// Two recorders told the same pass (the attention views and the lens).
impl<A: Recorder, B: Recorder> Recorder for (A, B) {
    fn attention(
        &mut self,
        layer: usize,
        weights: &Layer,
        probs: &[f32],
        qkv: &[f32],
        dims: Dims,
        tape: &AttentionTape,
    ) {
        self.0.attention(layer, weights, probs, qkv, dims, tape);
        self.1.attention(layer, weights, probs, qkv, dims, tape);
    }

    fn stage(&mut self, layer: usize, stage: Stage, m: &[f32], width: usize, t: usize) {
        self.0.stage(layer, stage, m, width, t);
        self.1.stage(layer, stage, m, width, t);
    }
}

/// Records nothing: the plain forward pass.
pub struct NoRecord;

impl Recorder for NoRecord {}

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

impl Recorder for Trace {
    fn attention(
        &mut self,
        layer: usize,
        weights: &Layer,
        probs: &[f32],
        qkv: &[f32],
        dims: Dims,
        tape: &AttentionTape,
    ) {
        self.record(weights, probs, qkv, dims, tape);
        let size = dims.t * 3 * dims.heads * dims.d;
        if let Some(p) = self.probing(layer, dims.t) {
            p.qkv = qkv[..size].to_vec();
        }
    }

    fn stage(&mut self, layer: usize, stage: Stage, m: &[f32], width: usize, t: usize) {
        let Some(p) = self.probing(layer, t) else {
            return;
        };
        let v = row(m, p.token, width);
        let f = &mut p.vectors;
        *match stage {
            Stage::Input => &mut f.input,
            Stage::Context => &mut f.context,
            Stage::AttentionOutput => &mut f.attention_output,
            Stage::AttentionResidual => &mut f.attention_residual,
            Stage::AttentionNorm => &mut f.attention_norm,
            Stage::Intermediate => &mut f.intermediate,
            Stage::FfnOutput => &mut f.ffn_output,
            Stage::FfnResidual => &mut f.ffn_residual,
            Stage::Output => &mut f.output,
        } = v;
    }
}

impl Trace {
    /// The probe, if it is of layer `layer` and a token of the input.
    fn probing(&mut self, layer: usize, t: usize) -> Option<&mut Probe> {
        self.probe
            .as_mut()
            .filter(|p| p.layer == layer && p.token < t)
    }
}
