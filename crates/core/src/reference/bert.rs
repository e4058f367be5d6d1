//! The reference BERT (candle tensors, differentiated by candle's autograd),
//! and the encoders that share its blocks and key names: RoBERTa,
//! XLM-RoBERTa, CamemBERT (which differ only in how position ids are made).
//!
//! Ported from transformers v5.23.0,
//! <https://github.com/huggingface/transformers/blob/v5.23.0/src/transformers/models/bert/modeling_bert.py>
//! and `models/roberta/modeling_roberta.py` for the position ids. Dropout is
//! the identity at inference and is left out.

use candle_core::Tensor;

use super::ops::{activation, softmax_last_dim, Embedding, LayerNorm, Linear};
use super::vb::Vb;
use super::Trace;
use crate::engine::PositionIds;
use crate::error::Result;
use crate::families::bert::Config;
use crate::types::Activation;

struct Embeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
    positions: PositionIds,
}

impl Embeddings {
    fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            word_embeddings: Embedding::load(&vb.pp("word_embeddings"), cfg.vocab_size, h)?,
            position_embeddings: Embedding::load(
                &vb.pp("position_embeddings"),
                cfg.max_position_embeddings,
                h,
            )?,
            token_type_embeddings: Embedding::load(
                &vb.pp("token_type_embeddings"),
                cfg.type_vocab_size,
                h,
            )?,
            layer_norm: LayerNorm::load(&vb.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            positions: cfg.positions(),
        })
    }

    fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        self.positions.of(ids)
    }

    /// `(n, t, h)` word embeddings → the block's output, `(n, t, h)`.
    fn forward(&self, words: &Tensor, positions: &Tensor, types: &Tensor) -> Result<Tensor> {
        // embeddings = inputs_embeds + token_type_embeddings
        // embeddings = embeddings + position_embeddings
        // embeddings = self.LayerNorm(embeddings)
        let extra = (self.token_type_embeddings.forward(types)?
            + self.position_embeddings.forward(positions)?)?;
        self.layer_norm.forward(&words.broadcast_add(&extra)?)
    }
}

struct SelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    num_heads: usize,
    head_dim: usize,
}

impl SelfAttention {
    fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Self {
            query: Linear::load(&vb.pp("query"), h, h)?,
            key: Linear::load(&vb.pp("key"), h, h)?,
            value: Linear::load(&vb.pp("value"), h, h)?,
            num_heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
        })
    }

    fn forward(&self, x: &Tensor, trace: Option<&mut Trace>) -> Result<Tensor> {
        attention(
            x,
            [&self.query, &self.key, &self.value],
            self.num_heads,
            self.head_dim,
            trace,
        )
    }
}

/// Multi-head scaled dot-product attention without a mask (bertlens never
/// pads: every token attends to every token). `(n, t, h)` → `(n, t, h)`.
pub(crate) fn attention(
    x: &Tensor,
    [query, key, value]: [&Linear; 3],
    num_heads: usize,
    head_dim: usize,
    trace: Option<&mut Trace>,
) -> Result<Tensor> {
    let (n, t, h) = x.dims3()?;
    // query_layer = self.query(hidden_states).view(*hidden_shape).transpose(1, 2)
    let split = |y: Tensor| -> Result<Tensor> {
        Ok(y.reshape((n, t, num_heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()?) // (n, heads, t, d)
    };
    let q = split(query.forward(x)?)?;
    let k = split(key.forward(x)?)?;
    let v = split(value.forward(x)?)?;
    // attn_weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    let scale = (head_dim as f64).powf(-0.5);
    let scores = (q.matmul(&k.transpose(2, 3)?.contiguous()?)? * scale)?; // (n, heads, t, t)
                                                                          // attn_weights = nn.functional.softmax(attn_weights, dim=-1)
    let probs = softmax_last_dim(&scores)?;
    // attn_output = torch.matmul(attn_weights, value).transpose(1, 2)
    let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, t, h))?;
    if let Some(trace) = trace {
        trace.attentions.push(probs.detach());
        trace.queries.push(q.detach());
        trace.keys.push(k.detach());
    }
    Ok(ctx)
}

struct Layer {
    attention: SelfAttention,
    attention_output: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    act: Activation,
}

impl Layer {
    fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let eps = cfg.layer_norm_eps;
        Ok(Self {
            attention: SelfAttention::load(&vb.pp("attention.self"), cfg)?,
            attention_output: Linear::load(&vb.pp("attention.output.dense"), h, h)?,
            attention_norm: LayerNorm::load(&vb.pp("attention.output.LayerNorm"), h, eps)?,
            intermediate: Linear::load(&vb.pp("intermediate.dense"), h, i)?,
            output: Linear::load(&vb.pp("output.dense"), i, h)?,
            output_norm: LayerNorm::load(&vb.pp("output.LayerNorm"), h, eps)?,
            act: cfg.hidden_act,
        })
    }

    fn forward(&self, x: &Tensor, trace: Option<&mut Trace>) -> Result<Tensor> {
        let ctx = self.attention.forward(x, trace)?;
        // BertSelfOutput: self.LayerNorm(self.dense(hidden_states) + input_tensor)
        let x = self
            .attention_norm
            .forward(&(self.attention_output.forward(&ctx)? + x)?)?;
        // BertIntermediate, BertOutput
        let inner = activation(&self.intermediate.forward(&x)?, self.act)?;
        self.output_norm
            .forward(&(self.output.forward(&inner)? + x)?)
    }
}

/// The encoder without a head: embeddings and `num_hidden_layers` layers.
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl Bert {
    /// `vb` points at the encoder (`bert`, `roberta`, or the root).
    pub fn load(vb: &Vb, cfg: &Config) -> Result<Self> {
        let embeddings = Embeddings::load(&vb.pp("embeddings"), cfg)?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(&vb.pp(format!("encoder.layer.{i}")), cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { embeddings, layers })
    }

    pub fn vocab_rows(&self) -> usize {
        self.embeddings.word_embeddings.rows()
    }

    pub fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        self.embeddings.position_ids(ids)
    }

    pub fn word_embeddings(&self, ids: &Tensor) -> Result<Tensor> {
        self.embeddings.word_embeddings.forward(ids)
    }

    pub fn embed(&self, words: &Tensor, positions: &Tensor, types: &Tensor) -> Result<Tensor> {
        self.embeddings.forward(words, positions, types)
    }

    pub fn encode(&self, x: &Tensor, mut trace: Option<&mut Trace>) -> Result<Tensor> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x, trace.as_deref_mut())?;
        }
        Ok(x)
    }
}
