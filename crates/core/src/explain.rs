//! One call from text to explanation: tokenize, predict, attribute, and
//! (on request) merge wordpieces into words. The [`Explanation`] it returns
//! is the JSON contract of `bertlens explain --json` and of the page.

use serde::{Deserialize, Serialize};

use crate::attribution::adaptive::DEFAULT_TOLERANCE;
use crate::attribution::gradient::{input_x_gradient, saliency};
use crate::attribution::ig::{integrated_gradients, IgAttribution, IgOptions, Steps};
use crate::attribution::quadrature::Integration;
use crate::attribution::rollout::{attention_rollout, Rollout};
use crate::attribution::{l2_normalized, Baseline, TargetOutput};
use crate::classifier::{AttributionLayer, Classifier, Prediction};
use crate::error::{Error, Result};
use crate::tokenizer::Tokenized;

/// An attribution method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Integrated Gradients.
    #[default]
    Ig,
    Saliency,
    InputXGradient,
    /// Attention rollout (no gradients).
    Rollout,
}

impl Method {
    pub const NAMES: &'static [&'static str] = &["ig", "saliency", "input-x-gradient", "rollout"];

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ig" | "integrated-gradients" => Self::Ig,
            "saliency" => Self::Saliency,
            "input-x-gradient" | "ixg" => Self::InputXGradient,
            "rollout" => Self::Rollout,
            other => {
                return Err(Error::option(
                    "method",
                    format!("{other:?} is not one of {}", Self::NAMES.join(", ")),
                ))
            }
        })
    }

    /// The layer a gradient method attributes to unless told otherwise:
    /// Integrated Gradients at the embeddings block (Captum's BERT
    /// tutorial), saliency and input × gradient at the word embeddings.
    pub fn default_layer(self) -> Option<AttributionLayer> {
        match self {
            Self::Ig => Some(AttributionLayer::Embeddings),
            Self::Saliency | Self::InputXGradient => Some(AttributionLayer::WordEmbeddings),
            Self::Rollout => None,
        }
    }
}

/// Which row of the rollout matrix is the per-token score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RolloutRow {
    #[default]
    Cls,
    Mean,
}

/// The class to explain: by index, or by name (a name that is not a class
/// but reads as an index is taken as one, so `"2"` works from a command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    Index(usize),
    Name(String),
}

impl From<usize> for Target {
    fn from(i: usize) -> Self {
        Self::Index(i)
    }
}

impl From<&str> for Target {
    fn from(s: &str) -> Self {
        Self::Name(s.to_string())
    }
}

impl From<String> for Target {
    fn from(s: String) -> Self {
        Self::Name(s)
    }
}

/// What to explain and how; the defaults follow Captum's BERT tutorial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExplainOptions {
    pub method: Method,
    /// `None` explains the predicted class.
    pub target: Option<Target>,
    /// `None`: the method's [`Method::default_layer`].
    pub layer: Option<AttributionLayer>,
    /// A number of steps, or `"auto"`.
    pub n_steps: Steps,
    /// For `n_steps: "auto"`: the largest |delta| / |F(x) − F(x′)| accepted.
    pub tolerance: f64,
    pub integration: Integration,
    /// Captum calls it `baselines`.
    #[serde(alias = "baselines")]
    pub baseline: Baseline,
    pub internal_batch_size: Option<usize>,
    pub output: TargetOutput,
    pub rollout_row: RolloutRow,
    /// Also merge wordpiece scores into words.
    pub words: bool,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        Self {
            method: Method::Ig,
            target: None,
            layer: None,
            n_steps: Steps::default(),
            tolerance: DEFAULT_TOLERANCE,
            integration: Integration::GaussLegendre,
            baseline: Baseline::Pad,
            internal_batch_size: None,
            output: TargetOutput::Logit,
            rollout_row: RolloutRow::Cls,
            words: false,
        }
    }
}

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

/// The result of [`explain`]: prediction and per-token attributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub tokens: Vec<String>,
    pub input_ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// `[start, end)` in characters of the text the token came from; `[0, 0]` for special tokens.
    pub offsets: Vec<[usize; 2]>,
    pub word_ids: Vec<Option<u32>>,
    /// 0, 1 (second text of a pair) or `null` for special tokens.
    pub sequence_ids: Vec<Option<u8>>,
    pub labels: Vec<String>,
    pub logits: Vec<f32>,
    pub probabilities: Vec<f32>,
    pub predicted: usize,
    pub predicted_label: String,
    pub target: usize,
    pub target_label: String,
    pub method: Method,
    /// The layer attributed to (`null` for rollout).
    pub layer: Option<AttributionLayer>,
    /// What is attributed: the target's logit or probability.
    pub output: TargetOutput,
    /// F(x): the attributed score at the input (`null` for rollout).
    pub score: Option<f32>,
    /// One score per token.
    pub attributions: Vec<f32>,
    /// `attributions / ‖attributions‖₂`.
    pub attributions_normalized: Vec<f32>,
    /// Σ attributions − (F(x) − F(x′)), for Integrated Gradients.
    pub delta: Option<f32>,
    pub ig: Option<IgReport>,
    /// The input was cut to the model's maximum length.
    pub truncated: bool,
    pub words: Option<Vec<Word>>,
}

/// Explains `text` (with `pair`, the second text of a sentence pair).
pub fn explain(
    model: &Classifier,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
) -> Result<Explanation> {
    let input = model.tokenize(text, pair)?;
    explain_tokens(model, &input, [text, pair.unwrap_or("")], opts)
}

/// Per-token scores of any method, before they are dressed as an [`Explanation`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub attributions: Vec<f32>,
    pub score: Option<f32>,
    pub delta: Option<f32>,
    pub ig: Option<IgReport>,
}

impl Scores {
    pub fn from_ig(r: IgAttribution, opts: &ExplainOptions) -> Self {
        Self {
            ig: Some(IgReport {
                n_steps: r.n_steps,
                auto: opts.n_steps == Steps::Auto,
                integration: opts.integration,
                baseline: opts.baseline,
                internal_batch_size: r.internal_batch_size,
                baseline_score: r.baseline_score,
            }),
            score: Some(r.score),
            delta: Some(r.delta),
            attributions: r.attributions,
        }
    }
}

impl Scores {
    /// No scores: a prediction alone.
    pub fn none() -> Self {
        Self {
            attributions: Vec::new(),
            score: None,
            delta: None,
            ig: None,
        }
    }

    /// The per-token scores of attention rollout: the row `row` of the rolled-out matrix.
    pub fn from_rollout(r: Rollout, row: RolloutRow) -> Self {
        Self {
            attributions: match row {
                RolloutRow::Cls => r.cls,
                RolloutRow::Mean => r.mean,
            },
            score: None,
            delta: None,
            ig: None,
        }
    }
}

/// The layer `opts` attributes to (`None` for rollout).
pub fn layer_of(opts: &ExplainOptions) -> Option<AttributionLayer> {
    match opts.method {
        Method::Rollout => None,
        m => opts.layer.or(m.default_layer()),
    }
}

/// The class `opts` asks about: its `target`, or the predicted one.
pub fn target_of(
    model: &Classifier,
    opts: &ExplainOptions,
    prediction: &Prediction,
) -> Result<usize> {
    match &opts.target {
        Some(Target::Name(t)) => model.target_index(t),
        Some(Target::Index(i)) if *i < model.labels().len() => Ok(*i),
        Some(Target::Index(i)) => Err(Error::UnknownTarget {
            target: i.to_string(),
            labels: model.labels().to_vec(),
        }),
        None => Ok(prediction.predicted),
    }
}

/// The Integrated Gradients options `opts` implies at `layer`.
pub fn ig_options(opts: &ExplainOptions, layer: AttributionLayer) -> IgOptions {
    IgOptions {
        n_steps: opts.n_steps,
        tolerance: opts.tolerance,
        method: opts.integration,
        internal_batch_size: opts.internal_batch_size,
        baseline: opts.baseline,
        layer,
        output: opts.output,
    }
}

/// [`explain`] for an input already tokenized; `texts` are the originals,
/// used to spell words.
pub fn explain_tokens(
    model: &Classifier,
    input: &Tokenized,
    texts: [&str; 2],
    opts: &ExplainOptions,
) -> Result<Explanation> {
    let layer = layer_of(opts);
    let (prediction, trace) = if opts.method == Method::Rollout {
        let (p, t) = model.forward_traced(input)?;
        (p, Some(t))
    } else {
        (model.predict(input)?, None)
    };
    let target = target_of(model, opts, &prediction)?;
    let scores = match (opts.method, layer) {
        (Method::Ig, Some(layer)) => Scores::from_ig(
            integrated_gradients(model, input, target, &ig_options(opts, layer))?,
            opts,
        ),
        (Method::Saliency | Method::InputXGradient, Some(layer)) => {
            let r = if opts.method == Method::Saliency {
                saliency(model, input, target, layer, opts.output)?
            } else {
                input_x_gradient(model, input, target, layer, opts.output)?
            };
            Scores {
                attributions: r.attributions,
                score: Some(r.score),
                delta: None,
                ig: None,
            }
        }
        _ => {
            let trace = trace.expect("rollout traces the forward pass");
            let r = attention_rollout(
                &trace.probabilities,
                model.num_layers(),
                model.num_heads(),
                input.len(),
            );
            Scores::from_rollout(r, opts.rollout_row)
        }
    };
    Ok(assemble(
        model, input, texts, opts, prediction, target, scores,
    ))
}

/// An [`Explanation`] from its parts.
pub fn assemble(
    model: &Classifier,
    input: &Tokenized,
    texts: [&str; 2],
    opts: &ExplainOptions,
    prediction: Prediction,
    target: usize,
    scores: Scores,
) -> Explanation {
    let words = opts
        .words
        .then(|| merge_words(input, &scores.attributions, texts));
    let labels = model.labels().to_vec();
    Explanation {
        tokens: input.tokens.clone(),
        input_ids: input.ids.clone(),
        type_ids: input.type_ids.clone(),
        offsets: input.offsets.iter().map(|&(a, b)| [a, b]).collect(),
        word_ids: input.word_ids.clone(),
        sequence_ids: input.sequence.clone(),
        predicted_label: labels[prediction.predicted].clone(),
        target_label: labels[target].clone(),
        labels,
        logits: prediction.logits,
        probabilities: prediction.probabilities,
        predicted: prediction.predicted,
        target,
        method: opts.method,
        layer: layer_of(opts),
        output: opts.output,
        score: scores.score,
        attributions_normalized: l2_normalized(&scores.attributions),
        attributions: scores.attributions,
        delta: scores.delta,
        ig: scores.ig,
        truncated: input.truncated,
        words,
    }
}

/// Sums the scores of each word's wordpieces; special tokens belong to no word.
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
