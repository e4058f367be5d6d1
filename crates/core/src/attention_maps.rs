//! Attention maps for the views: probabilities `[layer][head][query][key]`,
//! and per head the query and key vectors behind them (bertviz's neuron view),
//! with what else entered the scores: DeBERTa's relative-position terms,
//! ModernBERT's sliding windows, and the scale.

use serde::{Deserialize, Serialize};

use crate::attribution::flow::{attention_flow, Sink};
use crate::attribution::rollout::{attention_rollout, Rollout};
use crate::engine::{Attention, Trace};
use crate::error::Result;
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// Every attention probability of one input, flat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attentions {
    pub layers: usize,
    pub heads: usize,
    pub tokens: usize,
    /// `[layer][head][query][key]`, row-major.
    pub probabilities: Vec<f32>,
    /// `[layer][head][token][d]`, row-major (after the rotation, for rotary attention).
    pub queries: Vec<f32>,
    pub keys: Vec<f32>,
    pub head_dim: usize,
    /// The factor of `q·k` in the scores (`1/√d`; DeBERTa `1/√(3d)`).
    pub scale: f32,
    /// `[layer][head][query][key]`: DeBERTa's relative-position terms of the
    /// scores, already scaled (score = q·k·scale + this); empty otherwise.
    pub position_scores: Vec<f32>,
    /// Per layer, a sliding window: keys farther than this from the query are masked.
    pub windows: Vec<Option<usize>>,
}

impl Attentions {
    fn index(&self, layer: usize, head: usize) -> usize {
        (layer * self.heads + head) * self.tokens * self.tokens
    }

    /// The `(t, t)` map of one head.
    pub fn map(&self, layer: usize, head: usize) -> &[f32] {
        let i = self.index(layer, head);
        &self.probabilities[i..i + self.tokens * self.tokens]
    }

    /// The recorded forward pass of a `t`-token input of `model`.
    pub fn from_trace(model: &Model, t: usize, trace: Trace) -> Self {
        let enc = &model.network().encoder;
        Self {
            layers: enc.layers.len(),
            heads: enc.heads,
            tokens: t,
            probabilities: trace.probabilities,
            queries: trace.queries,
            keys: trace.keys,
            head_dim: enc.head_dim(),
            scale: enc.scale,
            position_scores: trace.position_scores,
            windows: enc
                .layers
                .iter()
                .map(|l| match l.attention {
                    Attention::Rotary { window, .. } => window,
                    _ => None,
                })
                .collect(),
        }
    }

    /// Their rollout.
    pub fn rollout(&self) -> Rollout {
        attention_rollout(&self.probabilities, self.layers, self.heads, self.tokens)
    }

    /// Their attention flow into `sink`, per input token.
    pub fn flow(&self, sink: Sink) -> Vec<f32> {
        attention_flow(
            &self.probabilities,
            self.layers,
            self.heads,
            self.tokens,
            sink,
        )
    }
}

/// The forward pass with every attention recorded, and their rollout.
pub fn attentions(model: &Model, input: &Tokenized) -> Result<(Attentions, Rollout)> {
    let (_, trace) = model.forward_traced(input)?;
    let att = Attentions::from_trace(model, input.len(), trace);
    let rollout = att.rollout();
    Ok((att, rollout))
}
