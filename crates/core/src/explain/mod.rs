//! One call from text to explanation, for any task: tokenize, run the
//! model, decode its task's prediction ([`analyze`]), decide what to explain
//! ([`objectives`]: a class, a token's label, a filler at a mask, an
//! answer's start and end), attribute it ([`attribute`]), and (on request)
//! merge wordpieces into words. The [`Explanation`] it returns is the JSON
//! contract of `bertlens explain --json` and of the page.

pub mod counterfactual;
pub mod lens;
mod objectives;
mod options;
mod vocabulary;
pub mod windows;

use serde::{Deserialize, Serialize};

pub(crate) use objectives::perturb;
pub use objectives::{
    analyze, attribute, attribute_observed, objectives, rollout_row, Analysis, Explained, Scores,
};

use crate::session::Session;
pub use options::{
    ExplainOptions, Method, Part, RolloutRow, Target, DEFAULT_DOC_STRIDE, DEFAULT_MAX_LENGTH,
};
pub use vocabulary::{vocabulary, MethodInfo, MethodKind, Vocabulary};

use crate::attribution::ablation::PerturbationReport;
use crate::attribution::ig::OnSteps;
use crate::attribution::noise::{NoiseBase, NtType};
use crate::attribution::quadrature::Integration;
use crate::attribution::{l2_normalized, Baseline, TargetOutput};
use crate::device::DeviceInfo;
use crate::error::Result;
use crate::model::Model;
use crate::task::{self, Answer, Entity, MaskFill, TokenLabel};
use crate::tokenizer::Tokenized;
use crate::types::{AttributionLayer, Task};

/// A word: consecutive wordpieces with one word id, and their summed scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    /// Which text of a pair it is in (0 or 1).
    pub sequence: u8,
    /// `[start, end)` in characters of that text.
    pub offsets: [usize; 2],
    /// `[first, last + 1)` token indices.
    pub tokens: [usize; 2],
    pub attribution: f32,
    pub attribution_normalized: f32,
}

/// Settings of an Integrated Gradients run, echoed with its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgReport {
    /// The steps computed (for `"auto"`, what it spent).
    pub n_steps: usize,
    /// Whether the steps were chosen by `n_steps: "auto"`.
    pub auto: bool,
    pub integration: Integration,
    pub baseline: Baseline,
    pub internal_batch_size: usize,
    /// F(x′): the score at the baseline.
    pub baseline_score: f32,
}

/// How a noise tunnel (SmoothGrad, VarGrad) ran, echoed with its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseReport {
    pub nt_type: NtType,
    /// The method run on each noisy input (IG's settings are in `ig`).
    pub base: NoiseBase,
    pub nt_samples: usize,
    /// The noise's standard deviation, absolute, at the attributed layer.
    pub stdevs: f64,
    /// The seed the noise was drawn from.
    pub seed: u64,
    /// E[F(x̃)]: the mean score of the noisy inputs.
    pub mean_score: f32,
    /// IG: the mean of the samples' convergence deltas Σ a − (F(x̃) − F(x′)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_delta: Option<f32>,
}

/// One attributed scalar (question answering has two: start and end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The token whose output is explained (per-token heads).
    pub token: Option<usize>,
    /// The class (label, vocabulary id, 0/1 for start/end) explained.
    pub target: usize,
    pub target_label: String,
    /// What the target is contrasted with (the score is the target's minus
    /// its): a class, label or vocabulary id; for question answering a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast_label: Option<String>,
    /// F(x): the attributed score at the input (`null` for rollout and attention flow).
    pub score: Option<f32>,
    /// One score per token.
    pub attributions: Vec<f32>,
    /// `attributions / ‖attributions‖₂`.
    pub attributions_normalized: Vec<f32>,
    /// Σ attributions − (F(x) − F(x′)), for Integrated Gradients.
    pub delta: Option<f32>,
    pub ig: Option<IgReport>,
    /// The perturbation methods (occlusion, Shapley values, KernelSHAP, LIME): how they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<PerturbationReport>,
    /// SmoothGrad and VarGrad: how they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseReport>,
    pub words: Option<Vec<Word>>,
}

/// The result of [`explain`]: the task's prediction and per-token
/// attributions. Fields a task does not have are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub task: Task,
    pub tokens: Vec<String>,
    pub input_ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// `[start, end)` in characters of the text the token came from; `[0, 0]` for special tokens.
    pub offsets: Vec<[usize; 2]>,
    pub word_ids: Vec<Option<u32>>,
    /// 0, 1 (second text of a pair) or `null` for special tokens.
    pub sequence_ids: Vec<Option<u8>>,
    /// Class names: of the text, or of a token (token classification).
    pub labels: Vec<String>,
    /// Of the text (sequence classification) or of the explained token (token classification).
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
    pub predicted: Option<usize>,
    pub predicted_label: Option<String>,
    /// What the top-level attributions explain.
    pub target: Option<usize>,
    pub target_label: Option<String>,
    /// With `contrast`: the target's score minus this one's is explained
    /// (a class, label or vocabulary id; for question answering a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contrast_label: Option<String>,
    /// The token whose output is explained (per-token heads).
    pub token: Option<usize>,
    pub method: Method,
    /// The layer attributed to (`null` for rollout and attention flow).
    pub layer: Option<AttributionLayer>,
    /// What is attributed: the target's logit or probability.
    pub output: TargetOutput,
    /// F(x): the attributed score at the input (`null` for rollout and attention flow).
    pub score: Option<f32>,
    /// One score per token.
    pub attributions: Vec<f32>,
    /// `attributions / ‖attributions‖₂`.
    pub attributions_normalized: Vec<f32>,
    /// Σ attributions − (F(x) − F(x′)), for Integrated Gradients.
    pub delta: Option<f32>,
    pub ig: Option<IgReport>,
    /// The perturbation methods (occlusion, Shapley values, KernelSHAP, LIME): how they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<PerturbationReport>,
    /// SmoothGrad and VarGrad: how they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseReport>,
    /// The input was cut to the model's maximum length.
    pub truncated: bool,
    pub words: Option<Vec<Word>>,
    /// Question answering: the best answer and the next ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// Question answering, a context read in windows: each window, as
    /// read; the answers and attributions are those of the best one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<Vec<crate::task::Window>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<Answer>>,
    /// Question answering: the start logit at the answer's start token, and
    /// the end logit at its end token, attributed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Attribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Attribution>,
    /// Token classification: every token's label, and the entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_labels: Option<Vec<TokenLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<Entity>>,
    /// Fill-mask: the first mask's fillers, and every mask's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<Vec<task::Filler>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<Vec<MaskFill>>,
    /// Where the attributions were computed: the CPU, or a GPU and its adapter.
    #[serde(default)]
    pub device: DeviceInfo,
    /// The lens on every layer (`bertlens explain --lens`): the head applied
    /// to each layer's hidden states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<Vec<lens::LensLayer>>,
}

/// Explains `text` (with `pair`: the second text of a sentence pair, or
/// for question answering the context, `text` being the question).
pub fn explain(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
) -> Result<Explanation> {
    explain_text_observed(model, text, pair, opts, &|_| {})
}

/// [`explain`], telling `on_steps` as Integrated Gradients' steps finish.
/// A question's long context is read in windows ([`Session::prepare`]), and
/// so is a classified text with `opts.windows` ([`windows::explain_windows`]).
pub fn explain_text_observed(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
    on_steps: OnSteps,
) -> Result<Explanation> {
    if opts.windows && model.task() != Task::QuestionAnswering {
        return windows::explain_windows(model, text, pair, opts, on_steps);
    }
    let record = opts.method_for(model.task()).reads_attention();
    Session::prepare(model, text, pair, opts, record)?.explain(model, opts, on_steps)
}

/// [`explain`] for an input already tokenized; `texts` are the originals,
/// used to spell words and answers.
pub fn explain_tokens(
    model: &Model,
    input: &Tokenized,
    texts: [&str; 2],
    opts: &ExplainOptions,
) -> Result<Explanation> {
    explain_observed(model, input, texts, opts, &|_| {})
}

/// [`explain_tokens`], telling `on_steps` as Integrated Gradients' steps
/// finish (question answering runs two: the start's, then the end's). A
/// [`Session`] does the work: one forward pass (recording the attentions
/// when rollout or attention flow needs them), then each explained
/// scalar's attributions.
pub fn explain_observed(
    model: &Model,
    input: &Tokenized,
    texts: [&str; 2],
    opts: &ExplainOptions,
    on_steps: OnSteps,
) -> Result<Explanation> {
    let record = opts.method_for(model.task()).reads_attention();
    Session::from_tokens(model, input.clone(), texts, opts.top_k, record)?
        .explain(model, opts, on_steps)
}

/// An [`Explanation`] from its parts: the analysis, and each explained
/// scalar with its scores (none: a prediction alone).
pub fn assemble(
    model: &Model,
    input: &Tokenized,
    texts: [&str; 2],
    opts: &ExplainOptions,
    analysis: Analysis,
    parts: Vec<(Explained, Scores)>,
) -> Explanation {
    let task = model.task();
    let attributed = |(ex, s): &(Explained, Scores)| Attribution {
        token: ex.token,
        target: ex.target,
        target_label: ex.target_label.clone(),
        contrast: ex.contrast.as_ref().map(|c| c.0),
        contrast_label: ex.contrast.as_ref().map(|c| c.1.clone()),
        score: s.score,
        attributions_normalized: l2_normalized(&s.attributions),
        attributions: s.attributions.clone(),
        delta: s.delta,
        ig: s.ig.clone(),
        perturbation: s.perturbation.clone(),
        noise: s.noise.clone(),
        words: opts
            .words
            .then(|| merge_words(input, &s.attributions, texts)),
    };
    let first = parts.first().map(attributed);
    let part = |p: Part| {
        parts
            .iter()
            .find(|(ex, _)| ex.part == Some(p))
            .map(attributed)
    };
    let (start, end) = (part(Part::Start), part(Part::End));
    let labels = model.labels().to_vec();
    // The class-level prediction: of the text, or of the explained token.
    let prediction = match task {
        Task::SequenceClassification => analysis.prediction.clone(),
        Task::TokenClassification => {
            let logits = analysis.token_logits.as_deref().unwrap_or_default();
            let token = first.as_ref().and_then(|a| a.token).unwrap_or(0);
            let row = logits.get(token * labels.len()..(token + 1) * labels.len());
            row.map(|r| model.prediction(r.to_vec()))
        }
        _ => None,
    };
    let (logits, probabilities, predicted) = match prediction {
        Some(p) => (p.logits, p.probabilities, Some(p.predicted)),
        None => (Vec::new(), Vec::new(), None),
    };
    let has_target = task != Task::Encoder;
    let first = first.unwrap_or(Attribution {
        token: None,
        target: 0,
        target_label: String::new(),
        contrast: None,
        contrast_label: None,
        score: None,
        attributions: Vec::new(),
        attributions_normalized: Vec::new(),
        delta: None,
        ig: None,
        perturbation: None,
        noise: None,
        words: None,
    });
    let attributed_any = !parts.is_empty();
    let masks = analysis.masks;
    Explanation {
        task,
        tokens: input.tokens.clone(),
        input_ids: input.ids.clone(),
        type_ids: input.type_ids.clone(),
        offsets: input.offsets.iter().map(|&(a, b)| [a, b]).collect(),
        word_ids: input.word_ids.clone(),
        sequence_ids: input.sequence.clone(),
        predicted_label: predicted.map(|p| labels[p].clone()),
        predicted,
        target: (has_target && attributed_any).then_some(first.target),
        target_label: (has_target && attributed_any).then(|| first.target_label.clone()),
        contrast: first.contrast,
        contrast_label: first.contrast_label.clone(),
        token: first.token,
        labels,
        logits,
        probabilities,
        method: opts.method_for(task),
        layer: opts.layer_for(task),
        output: opts.output,
        score: first.score,
        attributions: first.attributions,
        attributions_normalized: first.attributions_normalized,
        delta: first.delta,
        ig: first.ig,
        perturbation: first.perturbation,
        noise: first.noise,
        truncated: input.truncated,
        words: first.words,
        answer: analysis.answers.as_ref().and_then(|a| a.first().cloned()),
        answers: analysis.answers,
        start,
        end,
        token_labels: analysis.token_labels,
        entities: analysis.entities,
        fill: masks
            .as_ref()
            .and_then(|m| m.first())
            .map(|m| m.fill.clone()),
        masks,
        device: model.device(),
        lens: None,
        windows: None,
    }
}

pub fn merge_words(input: &Tokenized, scores: &[f32], texts: [&str; 2]) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut current: Option<u32> = None;
    for (i, &score) in scores.iter().enumerate().take(input.len()) {
        let (Some(w), Some(seq)) = (input.word_ids[i], input.sequence[i]) else {
            current = None;
            continue;
        };
        let (start, end) = input.offsets[i];
        if current == Some(w) {
            let last = words.last_mut().expect("a word is open");
            last.attribution += score;
            last.offsets[1] = last.offsets[1].max(end);
            last.tokens[1] = i + 1;
        } else {
            words.push(Word {
                text: String::new(),
                sequence: seq,
                offsets: [start, end],
                tokens: [i, i + 1],
                attribution: score,
                attribution_normalized: 0.0,
            });
            current = Some(w);
        }
    }
    let merged: Vec<f32> = words.iter().map(|w| w.attribution).collect();
    for (w, n) in words.iter_mut().zip(l2_normalized(&merged)) {
        w.attribution_normalized = n;
        let text = texts[w.sequence as usize];
        w.text = text
            .chars()
            .skip(w.offsets[0])
            .take(w.offsets[1] - w.offsets[0])
            .collect();
    }
    words
}
