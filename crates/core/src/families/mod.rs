//! The encoder families bertlens runs, one file each: the family's
//! `config.json` fields, its checkpoint key names (read straight into the
//! engine's blocks), and the heads transformers builds on it for each task.
//!
//! Adding a family is one file that implements [`Family`] and
//! [`Architecture`], and one line in [`FAMILIES`].

pub mod albert;
pub mod bert;
pub mod deberta;
mod defaults;
pub mod distilbert;
pub mod electra;
pub mod modernbert;

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::engine::head::Step;
use crate::engine::{self, Bias, Head, LayerNorm, Linear, Param};
use crate::error::{Error, Result};
use crate::types::{Activation, Pool, Task};
use crate::weights::Keys;

/// A family: the `model_type`s it reads and how to parse their configs.
pub trait Family: Sync {
    fn model_types(&self) -> &'static [&'static str];
    fn parse(&self, config: &serde_json::Value) -> Result<Box<dyn Architecture>>;
    /// How its attention differs from BERT's (BERT's: none of it).
    fn attention(&self) -> AttentionFeatures {
        AttentionFeatures::default()
    }
}

/// How a family's attention differs from BERT's (scaled q·k of a
/// post-norm layer, positions only in the embeddings), for whoever shows or
/// explains it: the neuron view and the step-through say what each adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AttentionFeatures {
    /// Relative-position terms are added to q·k (DeBERTa's disentangled
    /// attention: content→position and position→content).
    pub relative_positions: bool,
    /// q and k are rotated by their position before q·k (rotary position
    /// embeddings, RoPE): q·k depends on how far apart two tokens are.
    pub rotary: bool,
    /// Some layers attend within a sliding window: keys farther than the
    /// window from the query are masked (ModernBERT's local layers).
    pub sliding_window: bool,
    /// A layer normalises its input before attention (pre-norm), not its output.
    pub pre_norm: bool,
}

/// A family as the core's vocabulary lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FamilyInfo {
    pub model_types: &'static [&'static str],
    pub attention: AttentionFeatures,
}

/// Every family, as the vocabulary lists them.
pub fn families() -> Vec<FamilyInfo> {
    FAMILIES
        .iter()
        .map(|f| FamilyInfo {
            model_types: f.model_types(),
            attention: f.attention(),
        })
        .collect()
}

/// The family that reads `model_type`.
fn family_of(model_type: &str) -> Option<&'static dyn Family> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.model_types().contains(&model_type))
}

/// The attention features of the family that reads `model_type`.
pub fn attention_of(model_type: &str) -> Option<AttentionFeatures> {
    family_of(model_type).map(|f| f.attention())
}

/// Sizes every family has, whatever its config calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub vocab_size: usize,
    /// The longest input, special tokens included, the model can take.
    pub max_tokens: usize,
    pub pad_token_id: Option<u32>,
}

/// One parsed `config.json` of a family.
pub trait Architecture: std::fmt::Debug + Send + Sync {
    fn dims(&self) -> Dims;
    /// The attribute transformers' `*For*` classes give the encoder
    /// (`bert`, `roberta`, `deberta`, `model`, …): its key prefix.
    fn prefix(&self) -> &'static str;
    /// The encoder, from keys rooted at its prefix.
    fn encoder(&self, keys: &Keys) -> Result<engine::Encoder>;
    /// The head transformers builds for `task`, from keys rooted at the
    /// checkpoint's root (`None` for a bare encoder).
    fn head(&self, task: Task, keys: &Keys, encoder: &engine::Encoder) -> Result<Option<Head>>;
    /// A key every checkpoint of the family has, relative to the encoder's
    /// prefix: how the prefix is found.
    fn probe(&self) -> &'static str {
        "embeddings.word_embeddings.weight"
    }
    /// The task of a transformers class name (`architectures[0]`).
    fn task_of(&self, architecture: &str) -> Option<Task> {
        Task::of_architecture(architecture)
    }
    /// Class names of a head whose config names none (ELECTRA's discriminator).
    fn labels(&self, _architecture: &str) -> Option<Vec<String>> {
        None
    }
}

/// Every family, in the order their `model_type`s are listed to users.
pub const FAMILIES: &[&dyn Family] = &[
    &bert::BertFamily,
    &distilbert::DistilBertFamily,
    &albert::AlbertFamily,
    &electra::ElectraFamily,
    &deberta::DebertaFamily,
    &modernbert::ModernBertFamily,
];

/// Every `model_type` bertlens reads.
pub fn model_types() -> Vec<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.model_types().iter().copied())
        .collect()
}

/// The architecture `config.json` describes.
pub fn parse(model_type: &str, config: &serde_json::Value) -> Result<Box<dyn Architecture>> {
    let family = family_of(model_type).ok_or_else(|| Error::UnsupportedArchitecture {
        found: model_type.to_string(),
        supported: model_types().join(", "),
    })?;
    family.parse(config)
}

/// The largest whole number a config may hold: no size, count or token id
/// of a real model comes near it, and sizes below it multiply without
/// overflow in every shape bertlens builds from them.
const MAX_CONFIG_INT: u64 = 1 << 31;

/// A family's config struct from `config.json`.
pub(crate) fn config<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T> {
    for (key, v) in value.as_object().into_iter().flatten() {
        if let Some(n) = v.as_u64().filter(|&n| n > MAX_CONFIG_INT) {
            return Err(Error::config(
                "config.json",
                format!("{key} is {n}, more than any model's (at most {MAX_CONFIG_INT})"),
            ));
        }
    }
    serde_json::from_value(value.clone()).map_err(|e| Error::config("config.json", e.to_string()))
}

/// The most layers bertlens runs. Layers with weights of their own are
/// bounded by the file; ALBERT's are repeats of shared groups, so a config
/// could ask for billions (the largest published ALBERT has 12; ModernBERT
/// large 28).
pub(crate) const MAX_LAYERS: usize = 1024;

/// The checks every family's sizes need.
pub(crate) fn check_sizes(
    hidden: usize,
    heads: usize,
    layers: usize,
    names: [&str; 3],
) -> Result<()> {
    let bad = |r: String| Err(Error::config("config.json", r));
    if hidden == 0 || heads == 0 || layers == 0 {
        return bad(format!(
            "{}, {} and {} must be positive",
            names[0], names[1], names[2]
        ));
    }
    if layers > MAX_LAYERS {
        return bad(format!(
            "{} {layers} is more than the {MAX_LAYERS} layers bertlens runs",
            names[2]
        ));
    }
    if hidden % heads != 0 {
        return bad(format!(
            "{} {hidden} is not a multiple of {} {heads}",
            names[0], names[1]
        ));
    }
    Ok(())
}

/// A word-embedding table `(vocab, width)`.
pub(crate) fn table(keys: &Keys, name: &str, rows: usize, width: usize) -> Result<Param> {
    Ok(Arc::new(keys.tensor(name, &[rows, width])?))
}

/// Builds a head step by step, checking each layer's input width against
/// the one before it and naming the key at fault.
pub(crate) struct HeadBuilder<'a> {
    keys: Keys<'a>,
    task: Task,
    pool: Pool,
    width: usize,
    steps: Vec<Step>,
}

impl<'a> HeadBuilder<'a> {
    /// A head reading rows of width `hidden`.
    pub fn new(keys: &Keys<'a>, task: Task, pool: Pool, hidden: usize) -> Self {
        Self {
            keys: keys.clone(),
            task,
            pool,
            width: hidden,
            steps: Vec::new(),
        }
    }

    /// `nn.Linear` `name` with as many outputs as its weight has rows.
    pub fn linear(mut self, name: &str, bias: Bias) -> Result<Self> {
        let dims =
            self.keys
                .shape(&format!("{name}.weight"))
                .ok_or_else(|| Error::MissingHead {
                    task: self.task,
                    key: self.keys.key(&format!("{name}.weight")),
                })?;
        let key = self.keys.key(&format!("{name}.weight"));
        let out = match dims[..] {
            [out, inp] if inp == self.width => out,
            [_, inp] => {
                return Err(Error::HeadSpec(format!(
                "`{key}` has shape {dims:?} and takes {inp} inputs, but the layer before gives {}",
                self.width
            )))
            }
            _ => {
                return Err(Error::HeadSpec(format!(
                    "`{key}` has shape {dims:?}, expected a matrix"
                )))
            }
        };
        let l = Linear::load(&self.keys.pp(name), self.width, out, bias)?;
        self.width = out;
        self.steps.push(Step::Linear(l));
        Ok(self)
    }

    pub fn act(mut self, a: Activation) -> Self {
        self.steps.push(Step::Activation(a));
        self
    }

    pub fn layer_norm(mut self, name: &str, eps: f64, bias: Bias) -> Result<Self> {
        let ln = LayerNorm::load(&self.keys.pp(name), self.width, eps, bias)?;
        self.steps.push(Step::LayerNorm(ln));
        Ok(self)
    }

    pub fn normalize(mut self) -> Self {
        self.steps.push(Step::Normalize);
        self
    }

    /// A masked-LM decoder: its own weight `name.weight` if the checkpoint
    /// holds one, else the word embeddings it is tied to; the bias from the
    /// first of `biases` present (transformers ties `decoder.bias` to `bias`).
    pub fn decoder(mut self, name: &str, tied: &Param, biases: &[&str]) -> Result<Self> {
        let vocab = tied.len() / self.width.max(1);
        let weight = match self.keys.shape(&format!("{name}.weight")) {
            Some(_) => Arc::new(
                self.keys
                    .tensor(&format!("{name}.weight"), &[vocab, self.width])?,
            ),
            None => {
                if tied.len() != vocab * self.width {
                    return Err(Error::config(
                        "config.json",
                        format!(
                            "the masked-LM decoder is tied to the word embeddings, whose width \
                             is not the head's {}",
                            self.width
                        ),
                    ));
                }
                tied.clone()
            }
        };
        let bias = match biases.iter().find(|b| self.keys.contains(b)) {
            Some(b) => self.keys.tensor(b, &[vocab])?,
            None if biases.is_empty() => vec![0.0; vocab],
            None => {
                return Err(Error::MissingHead {
                    task: self.task,
                    key: self.keys.key(biases[0]),
                })
            }
        };
        self.steps.push(Step::Linear(Linear::tied(weight, bias)));
        self.width = vocab;
        Ok(self)
    }

    pub fn build(self) -> Option<Head> {
        Some(Head {
            pool: self.pool,
            steps: self.steps,
        })
    }
}

/// The per-token head most families put on the encoder for token
/// classification (`classifier`) and question answering (`qa_outputs`).
pub(crate) fn token_head(task: Task, keys: &Keys, hidden: usize) -> Result<Option<Head>> {
    let name = match task {
        Task::QuestionAnswering => "qa_outputs",
        _ => "classifier",
    };
    let head = HeadBuilder::new(keys, task, Pool::None, hidden).linear(name, Bias::Required)?;
    if task == Task::QuestionAnswering && head.width != 2 {
        return Err(Error::config(
            "config.json",
            format!(
                "a question-answering head has 2 outputs (start, end), `{name}` has {}",
                head.width
            ),
        ));
    }
    Ok(head.build())
}
