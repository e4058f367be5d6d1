//! What to explain and how: the options of `bertlens explain` and of the
//! page, under Captum's names.

use serde::{Deserialize, Serialize};

use crate::attribution::adaptive::DEFAULT_TOLERANCE;
use crate::attribution::gradient::SaliencyNorm;
use crate::attribution::ig::{IgOptions, Steps};
use crate::attribution::noise::{
    NoiseBase, NoiseOptions, NtType, DEFAULT_NT_SAMPLES, DEFAULT_STDEVS,
};
use crate::attribution::quadrature::Integration;
use crate::attribution::{Baseline, TargetOutput};
use crate::error::{Error, Result};
use crate::types::{AttributionLayer, Task};

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
    /// Occlusion of windows of features (Captum's `Occlusion`; with window
    /// 1, `FeatureAblation`).
    Occlusion,
    /// Shapley values: exact up to 12 features, else sampled (Captum's
    /// `ShapleyValues`, `ShapleyValueSampling`).
    Shapley,
    /// Attention flow: the maximum flow from each input token through the
    /// layered attention graph (no gradients).
    AttentionFlow,
    /// SmoothGrad: the mean attribution of `nt_base` over noisy copies of
    /// the input (Captum's `NoiseTunnel`, `nt_type="smoothgrad"`).
    #[serde(rename = "smoothgrad")]
    SmoothGrad,
    /// VarGrad: their variance (`nt_type="vargrad"`).
    #[serde(rename = "vargrad")]
    VarGrad,
    /// KernelSHAP over sampled coalitions (Captum's `KernelShap`).
    KernelShap,
    /// LIME over sampled coalitions (Captum's `Lime`).
    Lime,
}

impl Method {
    pub const NAMES: &'static [&'static str] = &[
        "ig",
        "saliency",
        "input-x-gradient",
        "rollout",
        "occlusion",
        "shapley",
        "attention-flow",
        "smoothgrad",
        "vargrad",
        "kernel-shap",
        "lime",
    ];

    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "ig" | "integrated-gradients" => Self::Ig,
            "saliency" => Self::Saliency,
            "input-x-gradient" | "ixg" => Self::InputXGradient,
            "rollout" => Self::Rollout,
            "occlusion" | "feature-ablation" => Self::Occlusion,
            "shapley" | "shapley-values" => Self::Shapley,
            "attention-flow" | "flow" => Self::AttentionFlow,
            "smoothgrad" | "smooth-grad" => Self::SmoothGrad,
            "vargrad" | "var-grad" => Self::VarGrad,
            "kernel-shap" | "kernelshap" => Self::KernelShap,
            "lime" => Self::Lime,
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
    /// tutorial), saliency and input × gradient at the word embeddings;
    /// the perturbation methods replace token ids, and so enter at the
    /// embeddings block (a removed token's activation is the model's for
    /// the baseline's id). SmoothGrad and VarGrad take their base method's
    /// ([`ExplainOptions::layer_for`]); here, the default base's (saliency's).
    pub fn default_layer(self) -> Option<AttributionLayer> {
        match self {
            Self::Ig | Self::Occlusion | Self::Shapley | Self::KernelShap | Self::Lime => {
                Some(AttributionLayer::Embeddings)
            }
            Self::Saliency | Self::InputXGradient => Some(AttributionLayer::WordEmbeddings),
            Self::SmoothGrad | Self::VarGrad => Some(NoiseBase::default().default_layer()),
            Self::Rollout | Self::AttentionFlow => None,
        }
    }

    /// Whether the method reads the attention of the forward pass (rollout
    /// and attention flow), rather than a score of the head.
    pub fn reads_attention(self) -> bool {
        matches!(self, Self::Rollout | Self::AttentionFlow)
    }

    /// The noise tunnel's `nt_type`, for SmoothGrad and VarGrad.
    pub fn nt_type(self) -> Option<NtType> {
        match self {
            Self::SmoothGrad => Some(NtType::SmoothGrad),
            Self::VarGrad => Some(NtType::VarGrad),
            _ => None,
        }
    }
}

/// Which row of the rollout matrix is the per-token score; for attention
/// flow, which position the flow goes into (the mean: into each in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutRow {
    /// The first token's (`[CLS]`): the default for sequence-level heads.
    Cls,
    /// The mean of all rows.
    Mean,
    /// The explained token's (the mask, the answer's start or end, the
    /// labelled token): the default for per-token heads.
    Token,
}

/// The class to explain: by index, or by name (a name that is not a class
/// but reads as an index is taken as one, so `"2"` works from a command
/// line). For fill-mask, a token of the vocabulary (`"paris"`) or its id.
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

/// Question answering explains two logits: the answer's start and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Start,
    End,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Start => "start",
            Part::End => "end",
        }
    }
}

/// What to explain and how; the defaults follow Captum's BERT tutorial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExplainOptions {
    /// `None`: Integrated Gradients, or rollout for a bare encoder.
    pub method: Option<Method>,
    /// The class (or label, or filler) to explain; `None`: the predicted one.
    pub target: Option<Target>,
    /// Explain the target's score minus this one's (inseq's contrastive
    /// attribution): a class, a token's label, a filler, or for question
    /// answering another token (a start against the answer's start, an end
    /// against its end).
    pub contrast: Option<Target>,
    /// Token classification: the token to explain (default: the first token
    /// of the highest-scoring entity); fill-mask: which mask (default: the first).
    pub token: Option<usize>,
    /// Question answering: explain only the start or the end (default: both).
    pub part: Option<Part>,
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
    /// Saliency's norm over the hidden dimension.
    pub norm: SaliencyNorm,
    /// `None`: [`RolloutRow::Cls`] for sequence-level heads, [`RolloutRow::Token`] otherwise.
    pub rollout_row: Option<RolloutRow>,
    /// Answers and fillers to list.
    pub top_k: usize,
    /// Question answering: a context longer than the model reads is cut
    /// into windows of this many tokens (question and special tokens
    /// included; at most the model's positions)…
    pub max_length: usize,
    /// …each overlapping the one before by this many tokens (at most half
    /// a window). transformers' pipeline's `max_seq_len` and `doc_stride`.
    pub doc_stride: usize,
    /// Sequence and token classification: a text longer than the model
    /// reads is read in windows of `max_length` tokens overlapping by
    /// `doc_stride` (not cut): a prediction per window, their mean for the
    /// text (per token), and each token's attribution the mean over the
    /// windows that hold it (explain/windows.rs).
    pub windows: bool,
    /// Also merge wordpiece scores into words; for occlusion and Shapley
    /// values, each word is one feature.
    pub words: bool,
    /// Occlusion: features per window (Captum's `sliding_window_shapes`).
    pub window: usize,
    /// Occlusion: features between windows (Captum's `strides`).
    pub stride: usize,
    /// Shapley values: permutations sampled (`None`: exact up to 12
    /// features, else 25); KernelSHAP and LIME: coalitions sampled
    /// (`None`: 25, Captum's default).
    pub n_samples: Option<usize>,
    /// Shapley values, KernelSHAP and LIME: the seed of the samples;
    /// SmoothGrad and VarGrad: the seed of the Gaussian noise.
    pub seed: u64,
    /// SmoothGrad and VarGrad: the method run on each noisy input.
    pub nt_base: NoiseBase,
    /// SmoothGrad and VarGrad: noisy inputs (Captum's `nt_samples`, default 5).
    pub nt_samples: usize,
    /// SmoothGrad and VarGrad: the standard deviation of the noise added to
    /// the activation at the layer, absolute (Captum's `stdevs`, default 1.0).
    pub stdevs: f64,
}

/// Question answering's windows: transformers' pipeline's defaults.
pub const DEFAULT_MAX_LENGTH: usize = 384;
pub const DEFAULT_DOC_STRIDE: usize = 128;

impl Default for ExplainOptions {
    fn default() -> Self {
        Self {
            method: None,
            target: None,
            contrast: None,
            token: None,
            part: None,
            layer: None,
            n_steps: Steps::default(),
            tolerance: DEFAULT_TOLERANCE,
            integration: Integration::GaussLegendre,
            baseline: Baseline::Pad,
            internal_batch_size: None,
            output: TargetOutput::Logit,
            norm: SaliencyNorm::L2,
            rollout_row: None,
            top_k: 5,
            max_length: DEFAULT_MAX_LENGTH,
            doc_stride: DEFAULT_DOC_STRIDE,
            windows: false,
            words: false,
            window: 1,
            stride: 1,
            n_samples: None,
            seed: 0,
            nt_base: NoiseBase::Saliency,
            nt_samples: DEFAULT_NT_SAMPLES,
            stdevs: DEFAULT_STDEVS,
        }
    }
}

impl ExplainOptions {
    /// The method: the one asked for, or the task's default.
    pub fn method_for(&self, task: Task) -> Method {
        self.method.unwrap_or(match task {
            Task::Encoder => Method::Rollout,
            _ => Method::Ig,
        })
    }

    /// The layer attributed to (`None` for rollout and attention flow).
    pub fn layer_for(&self, task: Task) -> Option<AttributionLayer> {
        match self.method_for(task) {
            Method::Rollout | Method::AttentionFlow => None,
            Method::SmoothGrad | Method::VarGrad => {
                Some(self.layer.unwrap_or(self.nt_base.default_layer()))
            }
            m => self.layer.or(m.default_layer()),
        }
    }

    /// Refuses options that `task` has no use for, rather than ignoring
    /// them: a classifier explains the whole text (no `token`, no `part`);
    /// question answering explains an answer's start and end (no `target`;
    /// `token` picks another start or end, so it needs `part`); only
    /// question answering has parts; a bare encoder explains nothing
    /// chosen. A window, stride or number of permutations of 0 is refused,
    /// and so are SmoothGrad's and VarGrad's 0 samples or a negative `stdevs`.
    pub fn check(&self, task: Task) -> Result<()> {
        let refuse = |name: &'static str, why: &str| Err(Error::option(name, why));
        if self.window == 0 {
            return refuse("window", "occlusion's window must be at least 1 feature");
        }
        if self.windows
            && !matches!(
                task,
                Task::SequenceClassification
                    | Task::TokenClassification
                    | Task::FillMask
                    | Task::QuestionAnswering
            )
        {
            return refuse(
                "windows",
                "a long text is read in windows by a sequence or token classifier or a masked \
                 language model (and a question's context always); a bare encoder cuts it",
            );
        }
        if (task == Task::QuestionAnswering || self.windows) && self.max_length < 8 {
            return refuse(
                "max_length",
                "a window (of a long text, or of a question's context) needs at least 8 tokens",
            );
        }
        if self.stride == 0 {
            return refuse("stride", "occlusion's stride must be at least 1 feature");
        }
        if self.n_samples == Some(0) {
            return refuse(
                "n_samples",
                "must be at least 1 (permutations for shapley, samples for kernel-shap and lime)",
            );
        }
        if self.method_for(task).nt_type().is_some() {
            self.noise(NtType::SmoothGrad).check()?;
        }
        if self.contrast.is_some() && self.method_for(task).reads_attention() {
            return refuse(
                "contrast",
                &format!(
                    "{} reads the attention alone, which explains no score; a contrast needs a \
                     method that does (ig, saliency, occlusion, shapley…)",
                    self.method_for(task).info().label
                ),
            );
        }
        match task {
            Task::SequenceClassification if self.token.is_some() => refuse(
                "token",
                "a sequence classifier explains the whole text; token is for token \
                 classification (whose label), fill-mask (which mask) and question answering \
                 (with part)",
            ),
            Task::QuestionAnswering if self.target.is_some() => refuse(
                "target",
                "question answering explains the answer's start and end; to explain another \
                 start or end, give part (start or end) and token",
            ),
            Task::QuestionAnswering if self.token.is_some() && self.part.is_none() => refuse(
                "token",
                "with question answering, token needs part: is the token a start or an end?",
            ),
            Task::QuestionAnswering => Ok(()),
            _ if self.part.is_some() => refuse(
                "part",
                &format!("part (start or end) is for question answering, not {task}"),
            ),
            Task::Encoder
                if self.target.is_some() || self.token.is_some() || self.contrast.is_some() =>
            {
                refuse(
                    if self.target.is_some() {
                        "target"
                    } else if self.contrast.is_some() {
                        "contrast"
                    } else {
                        "token"
                    },
                    "a bare encoder has no head: there is no class or token to explain, only \
                 attention, its rollout and its flow",
                )
            }
            _ => Ok(()),
        }
    }

    /// The Integrated Gradients options these imply.
    pub fn ig(&self) -> IgOptions {
        IgOptions {
            n_steps: self.n_steps,
            tolerance: self.tolerance,
            method: self.integration,
            internal_batch_size: self.internal_batch_size,
            baseline: self.baseline,
        }
    }

    /// The noise tunnel options these imply, for `nt_type`.
    pub fn noise(&self, nt_type: NtType) -> NoiseOptions {
        NoiseOptions {
            nt_type,
            base: self.nt_base,
            nt_samples: self.nt_samples,
            stdevs: self.stdevs,
            seed: self.seed,
            norm: self.norm,
            ig: self.ig(),
        }
    }
}
