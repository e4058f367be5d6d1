//! The classroom's step-through of attention: for one layer and one query
//! token, every vector the forward pass computes on the way from the
//! layer's input to its output, recorded from the same pass that computes
//! the prediction (not recomputed beside it):
//!
//! ```text
//! e   = word[id] + position[pos] + type[tt]        (layer 0's input is LN(e))
//! q, k, v = x W_qkvᵀ + b                           (every token's k and v)
//! a   = softmax(q·kᵢ · scale (+ DeBERTa's position terms))
//! c   = Σᵢ aᵢ vᵢ                                    (per head, concatenated)
//! x₁  = LN₁(x + c W_oᵀ + b_o)
//! y   = LN₂(x₁ + act(x₁ W₁ᵀ + b₁) W₂ᵀ + b₂)        (the next layer's input)
//! ```
//!
//! A pre-norm layer (ModernBERT) normalises before attention and before the
//! feed-forward block instead (`x₁ = x + attention(LN₁(x))`, `y = x₁ +
//! ffn(LN₂(x₁))`, a final norm after the last layer): `norms` says which, and
//! the vectors' fields follow the layer's own order ([`LayerVectors`]).

use serde::{Deserialize, Serialize};

use crate::attention_maps::Attentions;
use crate::engine::{LayerVectors, Norms, Probe, Trace};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// One layer's steps for one query token. Vectors are `f32`, flat; `(t, h)`
/// matrices row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepThrough {
    pub layer: usize,
    pub token: usize,
    pub layers: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub hidden: usize,
    pub tokens: usize,
    /// The factor of `q·k` in the scores.
    pub scale: f32,
    /// `"post"` (BERT's order) or `"pre"` (ModernBERT's), see [`LayerVectors`].
    pub norms: String,
    /// Pre-norm: whether this layer normalises its input before attention
    /// (ModernBERT's first layer does not: its embeddings are normalised).
    pub attention_input_norm: bool,
    /// The feed-forward block is gated (`act(a)·g`, ModernBERT's GLU).
    pub gated: bool,
    /// The query token's embeddings-block terms: its word row, and its
    /// position and token-type rows where the family adds them (`None`:
    /// positions enter in the attention, or no token types).
    pub word: Vec<f32>,
    pub position: Option<Vec<f32>>,
    pub token_type: Option<Vec<f32>>,
    /// Their sum, before the block's layer norm (and DeBERTa's projection).
    pub embedding_sum: Vec<f32>,
    /// The block's output: layer 0's input.
    pub embeddings: Vec<f32>,
    /// The query token's q `(h)`, every token's k and v `(t, h)`; head `j` is
    /// columns `j·d .. (j+1)·d`.
    pub query: Vec<f32>,
    pub keys: Vec<f32>,
    pub values: Vec<f32>,
    /// The model's attention of the query token, `(heads, t)`.
    pub probabilities: Vec<f32>,
    /// DeBERTa's relative-position terms of the scores, already scaled,
    /// `(heads, t)`; empty for the other families.
    pub position_scores: Vec<f32>,
    /// A sliding window: keys farther than this from the query are masked.
    pub window: Option<usize>,
    /// The layer's vectors for the token: its input, `c = Σᵢ aᵢ vᵢ` of every
    /// head concatenated, `o = c W_oᵀ + b_o`, `x + o`, `x₁ = LN₁(x + o)`,
    /// `act(x₁ W₁ᵀ + b₁)`, its `W₂ᵀ + b₂`, `x₁ + …`, and `y = LN₂(…)`, the
    /// next layer's input.
    #[serde(flatten)]
    pub vectors: LayerVectors,
    /// The activation of the feed-forward block (`gelu`, …).
    pub activation: String,
}

/// Every step of `layer` for the query `token` of `input`.
pub fn steps(model: &Model, input: &Tokenized, layer: usize, token: usize) -> Result<StepThrough> {
    let enc = &model.network().encoder;
    let (layers, t) = (enc.layers.len(), input.len());
    if layer >= layers {
        return Err(Error::option(
            "layer",
            format!("{layer} is past the last layer ({} layers, from 0)", layers),
        ));
    }
    if token >= t {
        return Err(Error::option(
            "token",
            format!("{token} is past the last token ({t} tokens, from 0)"),
        ));
    }
    let l = &enc.layers[layer];
    let mut trace = Trace {
        probe: Some(Probe {
            layer,
            token,
            ..Probe::default()
        }),
        ..Trace::default()
    };
    model.hidden_states(input, Some(&mut trace))?;
    let probe = trace.probe.take().expect("the probe is put back");
    if probe.vectors.output.is_empty() {
        return Err(Error::option(
            "layer",
            format!("layer {layer} recorded nothing"),
        ));
    }
    let att = Attentions::from_trace(model, t, trace);
    let (heads, h) = (enc.heads, enc.hidden);

    // The embeddings block, term by term, for the query token.
    let emb = &enc.embeddings;
    let id = input.ids[token];
    let word = emb.words(&[id]);
    let e = emb.width;
    let positions = model.positions(&input.ids);
    let position = emb.position.as_ref().map(|(table, _)| {
        let p = positions[token] as usize;
        table[p * e..(p + 1) * e].to_vec()
    });
    let token_type = emb.token_type.as_ref().map(|table| {
        let ty = input.type_ids[token] as usize;
        table[ty * e..(ty + 1) * e].to_vec()
    });
    let mut embedding_sum = word.clone();
    for v in [&position, &token_type].into_iter().flatten() {
        embedding_sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
    }
    let embeddings = model.layer_input(
        crate::types::AttributionLayer::Embeddings,
        input,
        &input.ids,
    )?;
    let w = emb.out_width();
    let embeddings = embeddings[token * w..(token + 1) * w].to_vec();

    let column = |offset: usize| -> Vec<f32> {
        probe
            .qkv
            .chunks_exact(3 * h)
            .flat_map(|r| r[offset..offset + h].iter().copied())
            .collect()
    };
    let query = probe.qkv[token * 3 * h..token * 3 * h + h].to_vec();
    let row_of = |m: &[f32]| -> Vec<f32> {
        (0..heads)
            .flat_map(|hd| {
                let at = ((layer * heads + hd) * t + token) * t;
                m[at..at + t].iter().copied()
            })
            .collect()
    };
    let probabilities = row_of(&att.probabilities);
    let position_scores = if att.position_scores.is_empty() {
        Vec::new()
    } else {
        row_of(&att.position_scores)
    };
    Ok(StepThrough {
        layer,
        token,
        layers,
        heads,
        head_dim: enc.head_dim(),
        hidden: h,
        tokens: t,
        scale: enc.scale,
        norms: match l.norms {
            Norms::Post => "post",
            Norms::Pre => "pre",
        }
        .to_string(),
        attention_input_norm: l.norms == Norms::Pre && l.attention_norm.is_some(),
        gated: l.glu,
        word,
        position,
        token_type,
        embedding_sum,
        embeddings,
        query,
        keys: column(h),
        values: column(2 * h),
        probabilities,
        position_scores,
        window: att.windows[layer],
        vectors: probe.vectors,
        activation: serde_json::to_value(l.act)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
    })
}
