//! ELECTRA: BERT's embeddings at `embedding_size` and BERT's layers, with
//! `embeddings_project` between them when the two sizes differ.
//!
//! Ported from transformers v5.24.0,
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/electra/modeling_electra.py>.

use std::sync::Arc;

use serde::Deserialize;

use super::bert::{check_position_embedding_type, embeddings, layers};
use super::{check_sizes, config, token_head, Architecture, Dims, Family, HeadBuilder};
use crate::engine::head::Step;
use crate::engine::{self, Bias, Head, Linear, PositionIds};
use crate::error::Result;
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

// https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/electra/configuration_electra.py
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    pub vocab_size: usize,
    #[serde(default = "super::defaults::embedding_128")]
    pub embedding_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default)]
    pub hidden_act: Activation,
    #[serde(default = "super::defaults::positions_512")]
    pub max_position_embeddings: usize,
    #[serde(default = "super::defaults::type_vocab_2")]
    pub type_vocab_size: usize,
    #[serde(default = "super::defaults::eps_1e12")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

pub struct ElectraFamily;

impl Family for ElectraFamily {
    fn model_types(&self) -> &'static [&'static str] {
        &["electra"]
    }

    fn parse(&self, value: &serde_json::Value) -> Result<Box<dyn Architecture>> {
        let cfg: Config = config(value)?;
        check_sizes(
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.num_hidden_layers,
            ["hidden_size", "num_attention_heads", "num_hidden_layers"],
        )?;
        check_position_embedding_type(cfg.position_embedding_type.as_deref())?;
        Ok(Box::new(cfg))
    }
}

impl Architecture for Config {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.hidden_size,
            layers: self.num_hidden_layers,
            heads: self.num_attention_heads,
            vocab_size: self.vocab_size,
            max_tokens: self.max_position_embeddings,
            pad_token_id: self.pad_token_id,
        }
    }

    fn prefix(&self) -> &'static str {
        "electra"
    }

    /// `ElectraForPreTraining` is the discriminator: it tells, per token,
    /// whether the token was replaced.
    fn task_of(&self, architecture: &str) -> Option<Task> {
        match architecture {
            "ElectraForPreTraining" => Some(Task::TokenClassification),
            other => Task::of_architecture(other),
        }
    }

    fn labels(&self, architecture: &str) -> Option<Vec<String>> {
        (architecture == "ElectraForPreTraining")
            .then(|| vec!["original".into(), "replaced".into()])
    }

    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder> {
        let (e, h, eps) = (self.embedding_size, self.hidden_size, self.layer_norm_eps);
        Ok(engine::Encoder {
            embeddings: embeddings(
                &keys.pp("embeddings"),
                self.vocab_size,
                e,
                self.max_position_embeddings,
                self.type_vocab_size,
                PositionIds::Arange,
                eps,
            )?,
            // if self.embedding_size != self.hidden_size: self.embeddings_project = nn.Linear(E, H)
            project: if e != h {
                Some(Linear::load(
                    &keys.pp("embeddings_project"),
                    e,
                    h,
                    Bias::Required,
                )?)
            } else {
                None
            },
            layers: layers(
                keys,
                self.num_hidden_layers,
                h,
                self.intermediate_size,
                eps,
                self.hidden_act,
            )?,
            final_norm: None,
            conv: None,
            hidden: h,
            heads: self.num_attention_heads,
            scale: ((h / self.num_attention_heads) as f32).powf(-0.5),
        })
    }

    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>> {
        let h = self.hidden_size;
        let discriminator = keys.contains("discriminator_predictions.dense.weight");
        Ok(match task {
            Task::Encoder => None,
            // ElectraClassificationHead: dense, gelu ("although BERT uses tanh here"), out_proj.
            Task::SequenceClassification => HeadBuilder::new(keys, task, Pool::Cls, h)
                .linear("classifier.dense", Bias::Required)?
                .act(Activation::Gelu)
                .linear("classifier.out_proj", Bias::Required)?
                .build(),
            // ElectraDiscriminatorPredictions: dense, act, dense_prediction (one logit:
            // replaced). Written as two classes [0, z], whose softmax is [1 − σ(z), σ(z)].
            Task::TokenClassification if discriminator => {
                let head =
                    HeadBuilder::new(&keys.pp("discriminator_predictions"), task, Pool::None, h)
                        .linear("dense", Bias::Required)?
                        .act(self.hidden_act)
                        .linear("dense_prediction", Bias::Required)?
                        .build();
                head.map(|mut head| {
                    let two = Linear {
                        weight: Arc::new(vec![0.0, 1.0]),
                        bias: Arc::new(vec![0.0, 0.0]),
                    };
                    head.steps.push(Step::Linear(two));
                    head
                })
            }
            Task::TokenClassification | Task::QuestionAnswering => token_head(task, keys, h)?,
            // ElectraGeneratorPredictions (dense to embedding_size, gelu, LayerNorm), generator_lm_head.
            Task::FillMask => HeadBuilder::new(keys, task, Pool::None, h)
                .linear("generator_predictions.dense", Bias::Required)?
                .act(Activation::Gelu)
                .layer_norm(
                    "generator_predictions.LayerNorm",
                    self.layer_norm_eps,
                    Bias::Required,
                )?
                .decoder(
                    "generator_lm_head",
                    &encoder.embeddings.word,
                    &["generator_lm_head.bias"],
                )?
                .build(),
        })
    }
}
