//! The reference encoders, split where attribution cuts the forward pass:
//! ids → word embeddings → embeddings block → layers → hidden states.

use candle_core::{Device, Tensor};

use super::vb::Vb;
use super::{bert, distilbert};
use crate::error::Result;

/// What a forward pass records per layer, for the attention views.
#[derive(Debug, Default)]
pub struct Trace {
    /// `(n, heads, t, t)` attention probabilities, one per layer.
    pub attentions: Vec<Tensor>,
    /// `(n, heads, t, d)` queries and keys, one per layer (bertviz's neuron view).
    pub queries: Vec<Tensor>,
    pub keys: Vec<Tensor>,
}

/// A loaded encoder of any supported architecture.
pub enum Encoder {
    Bert(bert::Bert),
    DistilBert(distilbert::DistilBert),
}

impl Encoder {
    /// `vb` points at the encoder's root (`bert`, `distilbert`, or the file root).
    pub fn load(vb: &Vb, cfg: &super::Config) -> Result<Self> {
        Ok(match cfg {
            super::Config::Bert(c) => Self::Bert(bert::Bert::load(vb, c)?),
            super::Config::DistilBert(c) => Self::DistilBert(distilbert::DistilBert::load(vb, c)?),
        })
    }

    /// Rows of the word-embedding table: ids at or above this have no embedding.
    pub fn vocab_rows(&self) -> usize {
        match self {
            Self::Bert(m) => m.vocab_rows(),
            Self::DistilBert(m) => m.vocab_rows(),
        }
    }

    /// The position ids the model derives from `ids` when none are given.
    pub fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        match self {
            Self::Bert(m) => m.position_ids(ids),
            Self::DistilBert(_) => (0..ids.len() as u32).collect(),
        }
    }

    /// `(n, t)` ids → `(n, t, h)` rows of the word-embedding table.
    pub fn word_embeddings(&self, ids: &Tensor) -> Result<Tensor> {
        match self {
            Self::Bert(m) => m.word_embeddings(ids),
            Self::DistilBert(m) => m.word_embeddings(ids),
        }
    }

    /// The embeddings block applied to word embeddings `(n, t, h)`, with
    /// positions and token types `(t,)` shared by the `n` rows.
    pub fn embed(&self, words: &Tensor, positions: &[u32], types: &[u32]) -> Result<Tensor> {
        let dev = words.device();
        let pos = Tensor::from_slice(positions, positions.len(), dev)?;
        match self {
            Self::Bert(m) => {
                let ty = Tensor::from_slice(types, types.len(), dev)?;
                m.embed(words, &pos, &ty)
            }
            Self::DistilBert(m) => m.embed(words, &pos),
        }
    }

    /// The encoder layers: `(n, t, h)` → `(n, t, h)`.
    pub fn encode(&self, x: &Tensor, trace: Option<&mut Trace>) -> Result<Tensor> {
        match self {
            Self::Bert(m) => m.encode(x, trace),
            Self::DistilBert(m) => m.encode(x, trace),
        }
    }

    pub fn device(&self) -> Device {
        Device::Cpu
    }
}
