//! Typed errors. Every message names the file, tensor or option at fault and
//! says what was expected, so a user can act on it without reading the code.

use std::fmt;

/// Everything that can go wrong between "bytes in" and "explanation out".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file cannot be read from disk.
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },

    /// A model folder lacks a file it needs.
    #[error("{dir} has no {what}")]
    MissingFile { dir: String, what: String },

    /// A JSON file (config, tokenizer, head spec) does not parse.
    #[error("{file} is not valid JSON: {reason}")]
    Json { file: String, reason: String },

    /// A JSON file parses but lacks a field or has one of the wrong type.
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },

    /// `model_type` names an architecture bertlens does not implement.
    #[error("unsupported model_type {found:?} in config.json; bertlens supports: {supported}")]
    UnsupportedArchitecture { found: String, supported: String },

    /// `architectures` names a head whose task bertlens does not explain.
    #[error(
        "{architecture} is not a task bertlens explains; it reads sequence classification, \
         question answering, token classification, fill-mask and bare encoders (`*Model`)"
    )]
    UnsupportedTask { architecture: String },

    /// The weights lack a tensor of the head `architectures` names.
    #[error(
        "the weights have no `{key}`, which a {task} head needs: do config.json's \
         `architectures` and the weights belong together?"
    )]
    MissingHead {
        task: crate::types::Task,
        key: String,
    },

    /// A method needs a head and the model is a bare encoder.
    #[error(
        "this model is a bare encoder (no task head): its attention, attention rollout and \
         attention flow can be shown, but gradient and perturbation methods need a head to explain"
    )]
    NoHead,

    /// The input does not fit the model's task.
    #[error("{0}")]
    TaskInput(String),

    /// A weights file is not a safetensors file or is cut short.
    #[error("{file} is not a valid safetensors file: {reason}")]
    Safetensors { file: String, reason: String },

    /// A `.pt`/`.pth` file is not a PyTorch checkpoint bertlens can read.
    #[error("{file} is not a PyTorch checkpoint bertlens can read: {reason}")]
    Checkpoint { file: String, reason: String },

    /// A tensor the architecture needs is absent.
    #[error("tensor `{name}` is missing from the weights{}", hint_suffix(hint))]
    MissingTensor { name: String, hint: Option<String> },

    /// A tensor is present with the wrong shape.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    TensorShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// A tensor is stored with a dtype that cannot be widened to f32.
    #[error("tensor `{name}` has dtype {dtype}, expected a floating point type")]
    TensorDtype { name: String, dtype: String },

    /// tokenizer.json does not load.
    #[error("tokenizer.json could not be loaded: {0}")]
    Tokenizer(String),

    /// The tokenizer produces ids the model has no embedding for.
    #[error(
        "tokenizer.json does not match the model: it has {tokenizer} tokens but the model's \
         vocabulary (vocab_size in config.json, rows of the word embeddings) has {model}"
    )]
    VocabMismatch { tokenizer: usize, model: usize },

    /// The tokenizer lacks a token bertlens needs (e.g. `[PAD]` for the baseline).
    #[error("tokenizer.json has no {role} token (looked for {candidates})")]
    MissingSpecialToken {
        role: &'static str,
        candidates: String,
    },

    /// A folder has none of the files a tokenizer can be built from.
    #[error(
        "no tokenizer file: bertlens reads tokenizer.json, or else vocab.txt (WordPiece), \
         vocab.json + merges.txt (byte-level BPE) or a sentencepiece model (spiece.model, \
         spm.model, sentencepiece.bpe.model), with tokenizer_config.json, \
         special_tokens_map.json and added_tokens.json beside them"
    )]
    NoTokenizerFile,

    /// A tokenizer needs two files and only one is there.
    #[error("{present} is present but {missing} is missing: the tokenizer needs both")]
    TokenizerFilePair {
        present: &'static str,
        missing: &'static str,
    },

    /// A tokenizer file (vocab.txt, vocab.json, merges.txt, a sentencepiece model) does not parse.
    #[error("{file} is not {expected}: {reason}")]
    TokenizerFile {
        file: String,
        expected: &'static str,
        reason: String,
    },

    /// The tokenizer class (from tokenizer_config.json or the model type) cannot be built here.
    #[error("{0}")]
    TokenizerClass(String),

    /// A tokenizer built from slow files produces ids the model has no embedding for.
    #[error(
        "{file} does not match the model: its ids go up to {tokenizer} tokens but the \
         model's vocabulary (vocab_size in config.json, rows of the word embeddings) has {model}"
    )]
    TokenizerVocabMismatch {
        file: &'static str,
        tokenizer: usize,
        model: usize,
    },

    /// A tokenizer built from slow files lacks a token bertlens needs.
    #[error("the tokenizer ({file}) has no {role} token (looked for {candidates})")]
    TokenizerMissingSpecial {
        file: &'static str,
        role: &'static str,
        candidates: String,
    },

    /// Question answering: the question alone fills the model's input.
    #[error(
        "the question is {question} tokens long and the model reads at most {max} tokens with \
         its special tokens and the context: shorten the question"
    )]
    QuestionTooLong { question: usize, max: usize },

    /// The tokenizer failed on an input (a bug in bertlens or the tokenizers crate, not in the text).
    #[error("the tokenizer failed: {0}")]
    Tokenize(String),

    /// The head spec is inconsistent with itself or with the weights.
    #[error("head spec: {0}")]
    HeadSpec(String),

    /// Nothing to explain.
    #[error("the text is empty: type a sentence to explain")]
    EmptyText,

    /// `--target` names no class of the model.
    #[error(
        "unknown target {target:?}: the model's classes are {}",
        preview(labels)
    )]
    UnknownTarget { target: String, labels: Vec<String> },

    /// An option value is out of range or unknown.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        option: &'static str,
        reason: String,
    },

    /// A tensor operation failed; this is a bug in bertlens, not in the
    /// input. (candle's errors are mapped here at the boundary: the public
    /// error type names no dependency's types.)
    #[error("internal tensor error: {0}")]
    Internal(String),

    /// The GPU could not be used or failed (no adapter, a lost device, an
    /// allocation over its limits, a shader that does not compile). Callers
    /// fall back to the CPU engine with this message as a notice.
    #[error("the GPU {0}")]
    Device(String),

    /// Shard reports that do not make one set.
    #[error("cannot merge these reports: {0}")]
    Merge(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The reference implementation's tensor operations (tests only).
#[cfg(feature = "reference")]
impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl Error {
    pub(crate) fn json(file: &str, err: impl fmt::Display) -> Self {
        Self::Json {
            file: file.to_string(),
            reason: err.to_string(),
        }
    }

    pub(crate) fn config(file: &str, reason: impl Into<String>) -> Self {
        Self::Config {
            file: file.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn option(option: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidOption {
            option,
            reason: reason.into(),
        }
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

fn preview(labels: &[String]) -> String {
    const MAX: usize = 12;
    let shown: Vec<String> = labels
        .iter()
        .take(MAX)
        .enumerate()
        .map(|(i, l)| format!("{i}={l}"))
        .collect();
    if labels.len() > MAX {
        format!("{}, … ({} in all)", shown.join(", "), labels.len())
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_is_wrong() {
        let e = Error::TensorShape {
            name: "bert.pooler.dense.weight".into(),
            expected: vec![32, 32],
            found: vec![16, 32],
        };
        assert_eq!(
            e.to_string(),
            "tensor `bert.pooler.dense.weight` has shape [16, 32], expected [32, 32]"
        );
        let e = Error::UnsupportedArchitecture {
            found: "gpt2".into(),
            supported: "bert, distilbert".into(),
        };
        assert_eq!(
            e.to_string(),
            "unsupported model_type \"gpt2\" in config.json; bertlens supports: bert, distilbert"
        );
        let e = Error::UnknownTarget {
            target: "spam".into(),
            labels: vec!["neg".into(), "pos".into()],
        };
        assert_eq!(
            e.to_string(),
            "unknown target \"spam\": the model's classes are 0=neg, 1=pos"
        );
    }
}
