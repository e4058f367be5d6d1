//! Attention maps for the views: probabilities `[layer][head][query][key]`,
//! and per head the query and key vectors behind them (bertviz's neuron view).

use serde::{Deserialize, Serialize};

use crate::attribution::rollout::{attention_rollout, Rollout};
use crate::classifier::{Classifier, Prediction};
use crate::error::Result;
use crate::tokenizer::Tokenized;

/// Every attention probability of one input, flat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attentions {
    pub layers: usize,
    pub heads: usize,
    pub tokens: usize,
    /// `[layer][head][query][key]`, row-major.
    pub probabilities: Vec<f32>,
    /// `[layer][head][token][d]`, row-major.
    pub queries: Vec<f32>,
    pub keys: Vec<f32>,
    pub head_dim: usize,
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
}

/// The forward pass with every attention recorded, and their rollout.
pub fn attentions(
    model: &Classifier,
    input: &Tokenized,
) -> Result<(Prediction, Attentions, Rollout)> {
    let (prediction, trace) = model.forward_traced(input)?;
    let (layers, heads, t) = (model.num_layers(), model.num_heads(), input.len());
    let rollout = attention_rollout(&trace.probabilities, layers, heads, t);
    let att = Attentions {
        layers,
        heads,
        tokens: t,
        probabilities: trace.probabilities,
        queries: trace.queries,
        keys: trace.keys,
        head_dim: model.hidden_size() / heads,
    };
    Ok((prediction, att, rollout))
}
