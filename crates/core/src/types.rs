//! Plain types shared by every stage of the pipeline. This module imports
//! nothing else of the crate, so that config, families, engine and heads can
//! all depend on it without depending on each other.

use serde::{Deserialize, Serialize};

/// What a checkpoint's head computes, from `architectures` (or `head.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// One label (or several, with sigmoids) per text: `*ForSequenceClassification`.
    SequenceClassification,
    /// The span of the context that answers a question: `*ForQuestionAnswering`.
    QuestionAnswering,
    /// A label per token (e.g. named entities): `*ForTokenClassification`.
    TokenClassification,
    /// The tokens that fit a mask: `*ForMaskedLM`.
    FillMask,
    /// A bare encoder, no head: `*Model`, `AutoModel`.
    Encoder,
}

impl Task {
    pub const NAMES: &'static [&'static str] = &[
        "sequence-classification",
        "question-answering",
        "token-classification",
        "fill-mask",
        "encoder",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Task::SequenceClassification => "sequence-classification",
            Task::QuestionAnswering => "question-answering",
            Task::TokenClassification => "token-classification",
            Task::FillMask => "fill-mask",
            Task::Encoder => "encoder",
        }
    }

    /// The task of a transformers class name, by its suffix
    /// (`BertForQuestionAnswering` → question answering); `None` for a
    /// class bertlens has no task for (multiple choice, next sentence).
    pub fn of_architecture(architecture: &str) -> Option<Self> {
        const SUFFIXES: &[(&str, Task)] = &[
            ("ForSequenceClassification", Task::SequenceClassification),
            ("ForQuestionAnswering", Task::QuestionAnswering),
            ("ForTokenClassification", Task::TokenClassification),
            ("ForMaskedLM", Task::FillMask),
            // Pre-training checkpoints carry the masked-LM head (and another we ignore).
            ("ForPreTraining", Task::FillMask),
            ("Model", Task::Encoder),
        ];
        SUFFIXES
            .iter()
            .find(|(s, _)| architecture.ends_with(s))
            .map(|&(_, t)| t)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How logits become probabilities (`problem_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// One class per text: softmax over the classes (single_label_classification).
    #[default]
    Softmax,
    /// Any number of classes per text: one sigmoid per class (multi_label_classification).
    Sigmoid,
}

/// Hidden activations as `transformers.activations.ACT2FN` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
pub enum Activation {
    /// The exact, erf-based GELU (`"gelu"`).
    #[default]
    #[serde(rename = "gelu", alias = "gelu_python")]
    Gelu,
    /// The tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`, `"gelu_fast"`).
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    #[serde(rename = "relu")]
    Relu,
    #[serde(rename = "silu", alias = "swish")]
    Silu,
    #[serde(rename = "tanh")]
    Tanh,
}

/// How a sequence-level head reads the `(t, h)` hidden states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// The first token's state (`[CLS]`, `<s>`).
    Cls,
    /// The mean over all tokens (sentence-transformers' mean pooling; bertlens never pads).
    Mean,
    /// No pooling: the head runs on every token's state (token classification,
    /// question answering, masked LM).
    None,
}

/// Where in the network attributions are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionLayer {
    /// The output of the embeddings block (word + position + type, LayerNorm):
    /// Captum's `LayerIntegratedGradients(model, model.bert.embeddings)`.
    Embeddings,
    /// The word-embedding rows alone: `…embeddings.word_embeddings`.
    WordEmbeddings,
}
