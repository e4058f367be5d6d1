//! The reference DistilBERT (candle tensors): BERT's layers with other key names, no token types, and
//! post-norm blocks `sa_layer_norm`/`output_layer_norm`.
//!
//! Ported from transformers v5.23.0,
//! <https://github.com/huggingface/transformers/blob/v5.23.0/src/transformers/models/distilbert/modeling_distilbert.py>.

use candle_core::Tensor;

use super::bert::attention;
use super::ops::{activation, Embedding, LayerNorm, Linear};
use super::vb::Vb;
use super::Trace;
use crate::error::Result;
use crate::families::distilbert::Config;
use crate::types::Activation;

/// `nn.LayerNorm(config.dim, eps=1e-12)` in the modeling code.
const EPS: f64 = 1e-12;

struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        Ok(Self {
            word_embeddings: Embedding::load(&vb.pp("word_embeddings"), cfg.vocab_size, cfg.dim)?,
            position_embeddings: Embedding::load(
                &vb.pp("position_embeddings"),
                cfg.max_position_embeddings,
                cfg.dim,
            )?,
            layer_norm: LayerNorm::load(&vb.pp("LayerNorm"), cfg.dim, EPS)?,
        })
    }

    fn forward(&self, words: &Tensor, positions: &Tensor) -> Result<Tensor> {
        // embeddings = inputs_embeds + position_embeddings
        // embeddings = self.LayerNorm(embeddings)
        let pos = self.position_embeddings.forward(positions)?;
        self.layer_norm.forward(&words.broadcast_add(&pos)?)
    }
}

struct TransformerBlock {
    q_lin: Linear,
    k_lin: Linear,
    v_lin: Linear,
    out_lin: Linear,
    sa_layer_norm: LayerNorm,
    lin1: Linear,
    lin2: Linear,
    output_layer_norm: LayerNorm,
    num_heads: usize,
    act: Activation,
}

impl TransformerBlock {
    fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let (d, hd, eps) = (cfg.dim, cfg.hidden_dim, EPS);
        let att = vb.pp("attention");
        Ok(Self {
            q_lin: Linear::load(&att.pp("q_lin"), d, d)?,
            k_lin: Linear::load(&att.pp("k_lin"), d, d)?,
            v_lin: Linear::load(&att.pp("v_lin"), d, d)?,
            out_lin: Linear::load(&att.pp("out_lin"), d, d)?,
            sa_layer_norm: LayerNorm::load(&vb.pp("sa_layer_norm"), d, eps)?,
            lin1: Linear::load(&vb.pp("ffn.lin1"), d, hd)?,
            lin2: Linear::load(&vb.pp("ffn.lin2"), hd, d)?,
            output_layer_norm: LayerNorm::load(&vb.pp("output_layer_norm"), d, eps)?,
            num_heads: cfg.n_heads,
            act: cfg.activation,
        })
    }

    fn forward(&self, x: &Tensor, trace: Option<&mut Trace>) -> Result<Tensor> {
        let head_dim = x.dims()[2] / self.num_heads;
        let ctx = attention(
            x,
            [&self.q_lin, &self.k_lin, &self.v_lin],
            self.num_heads,
            head_dim,
            trace,
        )?;
        // attention_output = self.sa_layer_norm(attention_output + hidden_states)
        let x = self
            .sa_layer_norm
            .forward(&(self.out_lin.forward(&ctx)? + x)?)?;
        // ffn_output = self.output_layer_norm(ffn_output + attention_output)
        let inner = activation(&self.lin1.forward(&x)?, self.act)?;
        self.output_layer_norm
            .forward(&(self.lin2.forward(&inner)? + x)?)
    }
}

/// The encoder without a head.
pub struct DistilBert {
    embeddings: Embeddings,
    layers: Vec<TransformerBlock>,
}

impl DistilBert {
    /// `vb` points at the encoder (`distilbert`, or the root).
    pub fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let embeddings = Embeddings::load(&vb.pp("embeddings"), cfg)?;
        let layers = (0..cfg.n_layers)
            .map(|i| TransformerBlock::load(&vb.pp(format!("transformer.layer.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { embeddings, layers })
    }

    pub fn vocab_rows(&self) -> usize {
        self.embeddings.word_embeddings.rows()
    }

    pub fn word_embeddings(&self, ids: &Tensor) -> Result<Tensor> {
        self.embeddings.word_embeddings.forward(ids)
    }

    pub fn embed(&self, words: &Tensor, positions: &Tensor) -> Result<Tensor> {
        self.embeddings.forward(words, positions)
    }

    pub fn encode(&self, x: &Tensor, mut trace: Option<&mut Trace>) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x, trace.as_deref_mut())?;
        }
        Ok(x)
    }
}
