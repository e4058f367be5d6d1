//! A model assembled from checkpoint files: tokenizer, encoder, head and
//! class names, on the fast path ([`crate::engine`]). The weights are read
//! from the files straight into the engine's buffers, once.

use crate::config::CheckpointConfig;
use crate::device::{DeviceChoice, DeviceInfo, Placement};
use crate::engine::record::LayerInputs;
use crate::engine::{with_tape, Network, Rows, Shared, Threads, Trace};
use crate::error::{Error, Result};
use crate::files::ModelFiles;
use crate::head_spec::HeadSpec;
use crate::tokenizer::{TextTokenizer, Tokenized, TokenizerHints};
use crate::types::{AttributionLayer, Output, Task};
use crate::weights::Store;

/// Logits and probabilities of one row of the head's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
    pub predicted: usize,
}

/// A ready-to-run model.
pub struct Model {
    network: Network,
    tokenizer: TextTokenizer,
    task: Task,
    labels: Vec<String>,
    output: Output,
    config: CheckpointConfig,
    warnings: Vec<String>,
    /// Where the layers run for attribution ([`Model::place`]).
    placement: std::sync::RwLock<Placement>,
    /// The tokenizer's whole words, found on first use (counterfactuals).
    whole_words: std::sync::OnceLock<Vec<(u32, String)>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("model_type", &self.config.model_type)
            .field("task", &self.task)
            .field("labels", &self.labels.len())
            .finish()
    }
}

impl Model {
    /// Parses and checks every file (shapes, key names, labels, tokenizer)
    /// and reads the weights into the engine.
    pub fn load(files: ModelFiles) -> Result<Self> {
        let config = CheckpointConfig::from_json(&files.config)?;
        let spec = files.head.as_deref().map(HeadSpec::from_json).transpose()?;
        if files.weights.is_empty() {
            return Err(Error::config(
                "model",
                "no weights file was given (model.safetensors or a .pt/.pth checkpoint)",
            ));
        }
        let mut store = Store::default();
        for (name, source) in files.weights {
            store.add(&name, source)?;
        }
        let family = &config.family;
        let dims = family.dims();
        let prefix = encoder_prefix(&store, &config, spec.as_ref())?;
        let encoder = family.encoder(&store.keys(&prefix))?;
        let root = store.keys("");
        let (task, head) = match &spec {
            Some(spec) => (spec.task(), Some(spec.build(&root, dims.hidden)?)),
            None => (config.task, family.head(config.task, &root, &encoder)?),
        };
        let classes = head.as_ref().map_or(0, |h| h.classes());
        let generic = || {
            (0..classes)
                .map(|i| format!("LABEL_{i}"))
                .collect::<Vec<_>>()
        };
        // transformers builds the head with num_labels outputs and refuses weights of
        // another size; so does bertlens (a custom head.json says its own classes).
        if let (None, Some(n), true) = (
            &spec,
            config.num_labels,
            matches!(
                task,
                Task::SequenceClassification | Task::TokenClassification
            ),
        ) {
            if n != classes {
                return Err(Error::config(
                    "config.json",
                    format!(
                        "num_labels is {n} but the head has {classes} outputs (transformers \
                         refuses these weights too): fix num_labels, or id2label"
                    ),
                ));
            }
        }
        let labels = match task {
            Task::SequenceClassification | Task::TokenClassification => {
                match (spec.as_ref().and_then(|s| s.labels.clone()), &config.labels) {
                    (Some(labels), _) => labels,
                    // A custom head's config.json is usually a bare encoder's, whose
                    // id2label is transformers' default two labels: use it only if it fits.
                    (None, Some(labels)) if spec.is_some() && labels.len() != classes => generic(),
                    (None, Some(labels)) => labels.clone(),
                    (None, None) => generic(),
                }
            }
            Task::QuestionAnswering => vec!["start".into(), "end".into()],
            Task::FillMask | Task::Encoder => Vec::new(),
        };
        if matches!(
            task,
            Task::SequenceClassification | Task::TokenClassification
        ) && labels.len() != classes
        {
            return Err(Error::HeadSpec(format!(
                "{} class names are given but the head has {classes} outputs",
                labels.len(),
            )));
        }
        let max_tokens = match spec.as_ref().and_then(|s| s.max_tokens) {
            Some(m) => m.min(dims.max_tokens),
            None => dims.max_tokens,
        };
        let hints = TokenizerHints {
            model_type: config.model_type.clone(),
            vocab_rows: encoder.vocab_rows(),
            max_tokens,
            pad_token_id: dims.pad_token_id,
        };
        let tokenizer = TextTokenizer::load(&files.tokenizer, &hints)?;
        let output = spec
            .as_ref()
            .and_then(|s| s.output)
            .unwrap_or(config.output);
        let mut warnings = Vec::new();
        // A bare encoder's checkpoint that holds a head: say it is not used.
        // (Poolers come with transformers' own bare encoders.)
        let unused = store.unused(&["pooler."]);
        if task == Task::Encoder && !unused.is_empty() {
            let shown: Vec<&str> = unused.iter().take(6).map(String::as_str).collect();
            warnings.push(format!(
                "the weights hold tensors bertlens does not use ({}{}): config.json's \
                 `architectures` ({}) names no head for them; a head.json can say how they are built",
                shown.join(", "),
                if unused.len() > shown.len() { ", …" } else { "" },
                config.architecture.as_deref().unwrap_or("absent"),
            ));
        }
        Ok(Self {
            network: Network { encoder, head },
            tokenizer,
            task,
            labels,
            output,
            config,
            warnings,
            placement: Default::default(),
            whole_words: Default::default(),
        })
    }

    /// Runs the layers' many passes of attribution on the device `choice`
    /// asks for, when there is one that runs this model; the CPU otherwise
    /// ([`Self::device`] says which, and why).
    pub fn place(&self, choice: DeviceChoice) -> DeviceInfo {
        let placed = Placement::choose(&self.network, choice);
        let info = placed.info();
        *self.placement.write().unwrap_or_else(|p| p.into_inner()) = placed;
        info
    }

    /// Where attribution's passes run (after a GPU fault: the CPU, with a notice).
    pub fn device(&self) -> DeviceInfo {
        self.placement().info()
    }

    /// Marks the model's GPU lost, as a driver reset would (for the tests).
    #[cfg(feature = "gpu")]
    #[doc(hidden)]
    pub fn simulate_device_loss(&self) {
        self.placement().simulate_loss();
    }

    pub(crate) fn placement(&self) -> std::sync::RwLockReadGuard<'_, Placement> {
        self.placement.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn task(&self) -> Task {
        self.task
    }

    /// What the user should know about how the files were read.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Class names: of the text (sequence classification) or of a token
    /// (token classification); `start`, `end` for question answering;
    /// empty for fill-mask (the vocabulary) and bare encoders.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn config(&self) -> &CheckpointConfig {
        &self.config
    }

    pub fn output(&self) -> Output {
        self.output
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Caps inputs at `n` tokens, special tokens included (never above the
    /// model's own limit): longer texts are cut, and say so.
    pub fn limit_tokens(&mut self, n: usize) {
        self.tokenizer.limit(n);
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn hidden_size(&self) -> usize {
        self.network.hidden()
    }

    pub fn num_layers(&self) -> usize {
        self.network.encoder.layers.len()
    }

    pub fn num_heads(&self) -> usize {
        self.network.encoder.heads
    }

    /// The width of one token's activation at `layer`.
    pub fn width(&self, layer: AttributionLayer) -> usize {
        let e = &self.network.encoder.embeddings;
        match layer {
            AttributionLayer::WordEmbeddings => e.width,
            AttributionLayer::Embeddings => e.out_width(),
        }
    }

    /// Tokenizes one text, or a pair; for question answering `text` is the
    /// question and `pair` the context, which alone is cut to fit.
    pub fn tokenize(&self, text: &str, pair: Option<&str>) -> Result<Tokenized> {
        let input = match (self.task, pair) {
            (Task::QuestionAnswering, Some(context)) => {
                self.tokenizer.encode_truncating_second(text, context)
            }
            (Task::QuestionAnswering, None) => Err(Error::TaskInput(
                "a question-answering model needs a question and a context".into(),
            )),
            _ => self.tokenizer.encode(text, pair),
        }?;
        Ok(self.without_unused_types(input))
    }

    /// Question answering over a context of any length: the question with
    /// each window of the context ([`TextTokenizer::encode_windows`]).
    pub fn tokenize_windows(
        &self,
        question: &str,
        context: &str,
        max_length: usize,
        stride: usize,
    ) -> Result<Vec<Tokenized>> {
        Ok(self
            .tokenizer
            .encode_windows(question, context, max_length, stride)?
            .into_iter()
            .map(|t| self.without_unused_types(t))
            .collect())
    }

    /// One text of any length in overlapping windows
    /// ([`TextTokenizer::encode_text_windows`]).
    pub fn tokenize_text_windows(
        &self,
        text: &str,
        max_length: usize,
        stride: usize,
    ) -> Result<crate::tokenizer::TextWindows> {
        let read = self
            .tokenizer
            .encode_text_windows(text, max_length, stride)?;
        Ok(crate::tokenizer::TextWindows {
            whole: self.without_unused_types(read.whole),
            windows: read
                .windows
                .into_iter()
                .map(|(t, at)| (self.without_unused_types(t), at))
                .collect(),
        })
    }

    /// Tokenizes one text, or a pair, whatever the task (the longer text
    /// cut first): what the encoder reads, for probes of its layers.
    pub fn tokenize_plain(&self, text: &str, pair: Option<&str>) -> Result<Tokenized> {
        Ok(self.without_unused_types(self.tokenizer.encode(text, pair)?))
    }

    /// A model without token types sees none (transformers returns none for it).
    fn without_unused_types(&self, mut input: Tokenized) -> Tokenized {
        if self.network.encoder.embeddings.token_type.is_none() {
            input.type_ids.fill(0);
        }
        input
    }

    /// The vocabulary's whole words and their spellings
    /// ([`TextTokenizer::whole_words`]), found once per model.
    pub fn whole_words(&self) -> &[(u32, String)] {
        self.whole_words
            .get_or_init(|| self.tokenizer.whole_words())
    }

    /// Resolves a class given by name or by index.
    pub fn target_index(&self, target: &str) -> Result<usize> {
        if let Some(i) = self.labels.iter().position(|l| l == target) {
            return Ok(i);
        }
        match target.parse::<usize>() {
            Ok(i) if i < self.labels.len() => Ok(i),
            _ => Err(Error::UnknownTarget {
                target: target.to_string(),
                labels: self.labels.clone(),
            }),
        }
    }

    /// Logits → probabilities, by the model's output function.
    pub fn probabilities(&self, logits: &[f32]) -> Vec<f32> {
        match self.output {
            Output::Softmax => crate::engine::head::softmax(logits),
            Output::Sigmoid => logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect(),
        }
    }

    /// One row of logits as a prediction.
    pub fn prediction(&self, logits: Vec<f32>) -> Prediction {
        let probabilities = self.probabilities(&logits);
        let predicted = argmax(&probabilities);
        Prediction {
            logits,
            probabilities,
            predicted,
        }
    }

    /// What every sequence built from `input` shares: positions and token types.
    pub fn positions(&self, ids: &[u32]) -> Vec<u32> {
        self.network.encoder.embeddings.position_ids(ids)
    }

    /// The activation of `layer` for `ids` (the input's, or a baseline's of
    /// the same length), `(t, width)`. Token types are the input's; for the
    /// embeddings block, position ids follow from `ids` as the model derives
    /// them, exactly as in a forward pass on `ids`.
    pub fn layer_input(
        &self,
        layer: AttributionLayer,
        input: &Tokenized,
        ids: &[u32],
    ) -> Result<Vec<f32>> {
        let emb = &self.network.encoder.embeddings;
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= emb.vocab_rows()) {
            return Err(Error::VocabMismatch {
                tokenizer: bad as usize + 1,
                model: emb.vocab_rows(),
            });
        }
        let words = emb.words(ids);
        Ok(match layer {
            AttributionLayer::WordEmbeddings => words,
            AttributionLayer::Embeddings => {
                let positions = self.positions(ids);
                let shared = Shared {
                    positions: &positions,
                    types: &input.type_ids,
                };
                emb.forward(&words, shared, None)
            }
        })
    }

    /// The last hidden states `(t, h)` of one input; with a trace, every
    /// attention map, query and key.
    pub fn hidden_states(&self, input: &Tokenized, trace: Option<&mut Trace>) -> Result<Vec<f32>> {
        let x = self.layer_input(AttributionLayer::Embeddings, input, &input.ids)?;
        let positions = self.positions(&input.ids);
        let shared = Shared {
            positions: &positions,
            types: &input.type_ids,
        };
        Ok(self.network.hidden_states(
            &x,
            AttributionLayer::Embeddings,
            shared,
            trace,
            Threads::Pool,
        ))
    }

    /// Every layer's hidden states of one input, as the head reads them:
    /// `[l]` `(t, h)` for l = 0 (the embeddings block's output, projected
    /// where the family projects it) to the number of layers, as
    /// transformers' `hidden_states[l]`; through the final norm where the
    /// family has one (ModernBERT), as the last layer's are.
    pub fn layer_states(&self, input: &Tokenized) -> Result<Vec<Vec<f32>>> {
        let mut rec = LayerInputs::default();
        let last = self.hidden_states_recorded(input, &mut rec)?;
        Ok(self.states_as_read(rec, last))
    }

    /// The last hidden states of one input, the pass told to `rec`.
    pub(crate) fn hidden_states_recorded(
        &self,
        input: &Tokenized,
        rec: &mut impl crate::engine::record::Recorder,
    ) -> Result<Vec<f32>> {
        let x = self.layer_input(AttributionLayer::Embeddings, input, &input.ids)?;
        let encoder = &self.network.encoder;
        Ok(with_tape(|tape| {
            encoder.forward_recorded(x, 1, input.len(), tape, rec, Threads::Pool)
        }))
    }

    /// [`Model::layer_states`] from the layers' inputs a pass recorded and
    /// its last hidden states.
    pub(crate) fn states_as_read(&self, rec: LayerInputs, last: Vec<f32>) -> Vec<Vec<f32>> {
        let mut states = rec.states;
        for s in &mut states {
            self.network.encoder.through_final_norm(s);
        }
        states.push(last);
        states
    }

    /// The head's logits at `rows` of one input's hidden states.
    pub fn head_logits(&self, hidden: &[f32], t: usize, rows: Rows) -> Result<Vec<f32>> {
        let head = self.network.head.as_ref().ok_or(Error::NoHead)?;
        Ok(head.forward(hidden, 1, t, rows, None))
    }

    /// The prediction of a sequence classifier.
    pub fn predict(&self, input: &Tokenized) -> Result<Prediction> {
        let hidden = self.hidden_states(input, None)?;
        Ok(self.prediction(self.head_logits(&hidden, input.len(), Rows::Pooled)?))
    }

    /// The vector a sequence-level head reads: the `[CLS]` row or the mean
    /// of the last hidden states, by the head's pooling (the mean for
    /// per-token heads and bare encoders, as sentence-transformers pools).
    pub fn pooled(&self, input: &Tokenized) -> Result<Vec<f32>> {
        let hidden = self.hidden_states(input, None)?;
        let h = self.hidden_size();
        Ok(match self.network.head.as_ref().map(|head| head.pool) {
            Some(crate::types::Pool::Cls) => hidden[..h].to_vec(),
            _ => {
                let t = input.len() as f32;
                let mut mean = vec![0f32; h];
                for row in hidden.chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v / t);
                }
                mean
            }
        })
    }

    /// A sequence classifier's forward pass, recording attentions, queries and keys.
    pub fn forward_traced(&self, input: &Tokenized) -> Result<(Vec<f32>, Trace)> {
        let mut trace = Trace::default();
        let hidden = self.hidden_states(input, Some(&mut trace))?;
        Ok((hidden, trace))
    }
}

pub(crate) fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// The encoder's key prefix: the head spec's, or found from the weights
/// (the family's, as in `*For*` checkpoints, or none, as in a bare `*Model`).
fn encoder_prefix(
    store: &Store,
    config: &CheckpointConfig,
    spec: Option<&HeadSpec>,
) -> Result<String> {
    let probe = config.family.probe();
    let with = |p: &str| {
        if p.is_empty() {
            probe.to_string()
        } else {
            format!("{p}.{probe}")
        }
    };
    let candidates: Vec<&str> = match spec.and_then(|s| s.encoder.as_deref()) {
        Some(p) => vec![p],
        None => vec![config.family.prefix(), ""],
    };
    if let Some(p) = candidates.iter().find(|p| store.contains(&with(p))) {
        return Ok(p.to_string());
    }
    // Say where an encoder is, if there is one elsewhere.
    let elsewhere = store
        .names()
        .filter_map(|n| n.strip_suffix(probe))
        .map(|p| p.trim_end_matches('.').to_string())
        .min();
    let hint = match elsewhere {
        Some(p) if p.is_empty() => format!(
            "the weights hold an encoder at the root, not under `{}.`",
            candidates[0]
        ),
        Some(p) => format!(
            "the weights hold an encoder under `{p}.`: do config.json (model_type {}) and the \
             weights belong together?",
            config.model_type
        ),
        None => format!("these weights are not a {} encoder", config.model_type),
    };
    Err(Error::MissingTensor {
        name: with(candidates[0]),
        hint: Some(hint),
    })
}
