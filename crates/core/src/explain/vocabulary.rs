//! The core's own vocabulary, for whoever shows it: each method's name,
//! label, a one-line description, its reference, what it needs and which
//! options it reads; the defaults; the baselines. `bertlens info --json`
//! and the binding's `info()` give it, and the page builds its method menu
//! and shows an option's field from it, instead of a copy in JavaScript.

use serde::Serialize;

use super::options::{ExplainOptions, Method};
use crate::attribution::noise::NoiseBase;
use crate::attribution::Baseline;
use crate::types::Task;

/// How a method finds its attributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// Gradients of the explained score (backward passes).
    Gradient,
    /// Forward passes of the input with features removed.
    Perturbation,
    /// The attention maps alone (no score, no head).
    Attention,
}

/// What one attribution method is, in the core's words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodInfo {
    /// `ExplainOptions.method`, `--method`.
    pub name: &'static str,
    pub label: &'static str,
    /// One line, for a menu's tooltip.
    pub description: &'static str,
    /// Where it comes from, and the implementation it is checked against.
    pub reference: &'static str,
    pub kind: MethodKind,
    /// It explains a score of a task head: a bare encoder has none.
    pub needs_head: bool,
    /// The options (`ExplainOptions`' keys) it reads; the others it ignores
    /// (SmoothGrad and VarGrad also read their `nt_base` method's).
    pub options: &'static [&'static str],
}

/// What KernelSHAP and LIME read.
const SAMPLED: &[&str] = &[
    "baseline",
    "words",
    "n_samples",
    "seed",
    "output",
    "internal_batch_size",
];

/// What SmoothGrad and VarGrad read: the noise's options, and then those
/// of their base method (`nt_base`).
const NOISE: &[&str] = &[
    "nt_base",
    "nt_samples",
    "stdevs",
    "seed",
    "layer",
    "output",
    "internal_batch_size",
];

/// What every gradient or perturbation method reads beside its own options.
const SCORED: [&str; 2] = ["output", "internal_batch_size"];

impl Method {
    /// Every method, in the order a menu lists them.
    pub const ALL: &'static [Method] = &[
        Method::Ig,
        Method::Saliency,
        Method::InputXGradient,
        Method::Occlusion,
        Method::Shapley,
        Method::KernelShap,
        Method::Lime,
        Method::SmoothGrad,
        Method::VarGrad,
        Method::Rollout,
        Method::AttentionFlow,
    ];

    /// What the method is (see [`MethodInfo`]).
    pub fn info(self) -> MethodInfo {
        let (name, label, description, reference, kind, options): (_, _, _, _, _, &[&str]) =
            match self {
                Method::Ig => (
                    "ig",
                    "Integrated Gradients",
                    "the gradient averaged along a straight path from the baseline to the input, \
                     times the input's difference from the baseline; complete: the attributions \
                     add up to F(x) − F(x′)",
                    "Sundararajan et al. 2017; Captum's (Layer)IntegratedGradients",
                    MethodKind::Gradient,
                    &[
                        "layer",
                        "n_steps",
                        "tolerance",
                        "integration",
                        "baseline",
                        "output",
                        "internal_batch_size",
                    ],
                ),
                Method::Saliency => (
                    "saliency",
                    "Saliency",
                    "the norm of the score's gradient at each token: one backward pass",
                    "Simonyan et al. 2014; Captum's Saliency",
                    MethodKind::Gradient,
                    &["layer", "norm", "output", "internal_batch_size"],
                ),
                Method::InputXGradient => (
                    "input-x-gradient",
                    "Input × gradient",
                    "the gradient times the token's vector, summed over the vector: one backward \
                     pass",
                    "Shrikumar et al. 2016; Captum's InputXGradient",
                    MethodKind::Gradient,
                    &["layer", "output", "internal_batch_size"],
                ),
                Method::Occlusion => (
                    "occlusion",
                    "Occlusion",
                    "how much the score drops when a window of words (or tokens) is replaced by \
                     the baseline's: one forward pass per window",
                    "Zeiler & Fergus 2014; Captum's FeatureAblation and Occlusion",
                    MethodKind::Perturbation,
                    &[
                        "baseline",
                        "words",
                        "window",
                        "stride",
                        "output",
                        "internal_batch_size",
                    ],
                ),
                Method::Shapley => (
                    "shapley",
                    "Shapley values",
                    "each word's (or token's) average marginal contribution over coalitions: exact \
                     up to 12 features (4,096 forward passes), else sampled permutations",
                    "Shapley 1953; Štrumbelj & Kononenko 2010; Captum's ShapleyValues and \
                     ShapleyValueSampling",
                    MethodKind::Perturbation,
                    &[
                        "baseline",
                        "words",
                        "n_samples",
                        "seed",
                        "output",
                        "internal_batch_size",
                    ],
                ),
                Method::KernelShap => (
                    "kernel-shap",
                    "KernelSHAP",
                    "a weighted linear fit of the score over sampled coalitions of words (or \
                     tokens): Shapley values estimated from n_samples forward passes",
                    "Lundberg & Lee 2017; Captum's KernelShap",
                    MethodKind::Perturbation,
                    SAMPLED,
                ),
                Method::Lime => (
                    "lime",
                    "LIME",
                    "a sparse (Lasso) linear fit of the score over random coalitions of words (or \
                     tokens), each weighted by its closeness to the text",
                    "Ribeiro et al. 2016; Captum's Lime",
                    MethodKind::Perturbation,
                    SAMPLED,
                ),
                Method::SmoothGrad => (
                    "smoothgrad",
                    "SmoothGrad",
                    "a base method's attributions averaged over copies of the input with Gaussian \
                     noise added (σ = stdevs, nt_samples copies, drawn from seed)",
                    "Smilkov et al. 2017; Captum's NoiseTunnel (nt_type smoothgrad)",
                    MethodKind::Gradient,
                    NOISE,
                ),
                Method::VarGrad => (
                    "vargrad",
                    "VarGrad",
                    "the variance of a base method's attributions over copies of the input with \
                     Gaussian noise added: where the explanation is unstable",
                    "Adebayo et al. 2018; Captum's NoiseTunnel (nt_type vargrad)",
                    MethodKind::Gradient,
                    NOISE,
                ),
                Method::Rollout => (
                    "rollout",
                    "Attention rollout",
                    "the attention of every layer multiplied through, with the residual \
                     connection: no score, no gradients",
                    "Abnar & Zuidema 2020",
                    MethodKind::Attention,
                    &["rollout_row"],
                ),
                Method::AttentionFlow => (
                    "attention-flow",
                    "Attention flow",
                    "the maximum flow from each token, through every layer's attention with the                      residual connection, into the position read: exact, no score, no gradients",
                    "Abnar & Zuidema 2020; networkx maximum_flow_value",
                    MethodKind::Attention,
                    &["rollout_row"],
                ),
            };
        debug_assert!(kind == MethodKind::Attention || SCORED.iter().all(|o| options.contains(o)));
        MethodInfo {
            name,
            label,
            description,
            reference,
            kind,
            needs_head: kind != MethodKind::Attention,
            options,
        }
    }
}

/// The core's vocabulary (see the module's documentation).
#[derive(Debug, Clone, Serialize)]
pub struct Vocabulary {
    /// Every option's default (`method: null` is the task's: see `default_method`).
    pub defaults: ExplainOptions,
    /// The method explained when none is asked for, per task.
    pub default_method: DefaultMethod,
    pub methods: Vec<MethodInfo>,
    pub baselines: &'static [&'static str],
    /// The methods SmoothGrad and VarGrad wrap (`nt_base`).
    pub nt_bases: &'static [&'static str],
    /// A probe's defaults (`bertlens probe`, the workbench's probes).
    pub probe_defaults: crate::analysis::ProbeOptions,
    /// A counterfactual search's defaults (`bertlens counterfactual`, the page's).
    pub counterfactual_defaults: super::counterfactual::CounterfactualOptions,
    /// The most words a counterfactual search may replace.
    pub counterfactual_max_edits: usize,
    /// The files a tokenizer is read from, and which of them each tokenizer
    /// class and model type reads (the page's URL loader asks for those).
    pub tokenizer_files: crate::tokenizer::TokenizerFilesInfo,
    /// Every family: the `model_type`s it reads and how its attention
    /// differs from BERT's (relative positions, rotary, sliding window, pre-norm).
    pub families: Vec<crate::families::FamilyInfo>,
}

/// The method of each task when none is asked for.
#[derive(Debug, Clone, Serialize)]
pub struct DefaultMethod {
    /// Every task with a head.
    pub head: Method,
    /// A bare encoder.
    pub encoder: Method,
}

/// The core's vocabulary.
pub fn vocabulary() -> Vocabulary {
    let defaults = ExplainOptions::default();
    Vocabulary {
        default_method: DefaultMethod {
            head: defaults.method_for(Task::SequenceClassification),
            encoder: defaults.method_for(Task::Encoder),
        },
        defaults,
        methods: Method::ALL.iter().map(|m| m.info()).collect(),
        baselines: Baseline::NAMES,
        nt_bases: NoiseBase::NAMES,
        probe_defaults: crate::analysis::ProbeOptions::default(),
        counterfactual_defaults: Default::default(),
        counterfactual_max_edits: super::counterfactual::MAX_EDITS,
        tokenizer_files: crate::tokenizer::tokenizer_files_info(),
        families: crate::families::families(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_described_once_under_the_name_it_parses_from() {
        assert_eq!(Method::ALL.len(), Method::NAMES.len());
        for &m in Method::ALL {
            let info = m.info();
            let name = info.name;
            assert!(Method::NAMES.contains(&name), "{name}");
            assert_eq!(Method::parse(info.name).unwrap(), m);
            assert_eq!(
                serde_json::to_value(m).unwrap(),
                serde_json::Value::from(name)
            );
            assert_eq!(info.needs_head, m.default_layer().is_some());
        }
    }

    #[test]
    fn every_family_is_listed_with_its_attention() {
        let v = vocabulary();
        let types: Vec<&str> = v
            .families
            .iter()
            .flat_map(|f| f.model_types.iter().copied())
            .collect();
        assert_eq!(types, crate::families::model_types());
        let of = |t: &str| crate::families::attention_of(t).unwrap();
        assert_eq!(of("bert"), Default::default());
        assert!(of("deberta-v2").relative_positions && !of("deberta-v2").rotary);
        let m = of("modernbert");
        assert!(m.rotary && m.sliding_window && m.pre_norm && !m.relative_positions);
        assert_eq!(crate::families::attention_of("gpt2"), None);
    }

    #[test]
    fn the_options_a_method_reads_are_options() {
        let defaults = serde_json::to_value(ExplainOptions::default()).unwrap();
        for m in Method::ALL {
            for o in m.info().options {
                assert!(defaults.get(o).is_some(), "{o} of {m:?} is no option");
            }
        }
    }
}
