//! Are the explanations faithful? ERASER's comprehensiveness and
//! sufficiency (DeYoung et al. 2020) with ferret's definitions, their AOPC,
//! the deletion curve, and the agreement between methods; Captum's
//! infidelity and sensitivity-max are in [`super::perturbation`].
//!
//! As ferret's `AOPC_Comprehensiveness_Evaluation` and
//! `AOPC_Sufficiency_Evaluation` (ferret-xai 0.4.2, default arguments):
//! the special tokens are neither scored nor removed; for each fraction
//! k the rationale is the top ⌊k·n⌋ of the n other tokens by attribution,
//! keeping only those with a positive attribution (`only_pos`), skipped when
//! ⌊k·n⌋ = 0 or when it is the same set as the previous fraction's;
//! comprehensiveness = p(ŷ|x) − p(ŷ|x without the rationale), sufficiency =
//! p(ŷ|x) − p(ŷ|the rationale alone); AOPC = their mean over the rationales
//! not skipped (0 and 1 when all are, as ferret returns). One difference:
//! ferret decodes the remaining ids to text and tokenizes it again, which
//! can merge or split wordpieces; bertlens removes the wordpieces
//! themselves (or, as an option, replaces them with the mask or pad token,
//! ferret's `remove_tokens=False`), so that what is removed is exactly what
//! was scored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::batch::Encoded;
use super::rank::{kendall_tau_b, spearman};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// How a removed token is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Removal {
    /// The wordpiece is deleted (the sequence gets shorter).
    #[default]
    Delete,
    /// Replaced by the mask token.
    Mask,
    /// Replaced by the padding token.
    Pad,
}

impl Removal {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "delete" => Ok(Self::Delete),
            "mask" => Ok(Self::Mask),
            "pad" => Ok(Self::Pad),
            other => Err(Error::option(
                "removal",
                format!("{other:?} is not one of delete, mask, pad"),
            )),
        }
    }
}

/// A method whose explanations are evaluated: the gradient methods,
/// rollout, attention flow, and a random baseline (uniform scores, seeded
/// per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalMethod {
    Ig,
    Saliency,
    InputXGradient,
    Rollout,
    Random,
    AttentionFlow,
}

impl EvalMethod {
    pub const ALL: [EvalMethod; 6] = [
        Self::Ig,
        Self::Saliency,
        Self::InputXGradient,
        Self::Rollout,
        Self::AttentionFlow,
        Self::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Ig => "ig",
            Self::Saliency => "saliency",
            Self::InputXGradient => "input-x-gradient",
            Self::Rollout => "rollout",
            Self::Random => "random",
            Self::AttentionFlow => "attention-flow",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::option(
                    "method",
                    format!(
                        "{s:?} is not one of ig, saliency, input-x-gradient, rollout, \
                         attention-flow, random"
                    ),
                )
            })
    }
}

/// Captum's `infidelity` settings (see [`super::perturbation`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InfidelityOptions {
    pub n_perturb_samples: usize,
    /// The standard deviation of the per-token perturbations.
    pub noise_std: f64,
    pub normalize: bool,
}

impl Default for InfidelityOptions {
    fn default() -> Self {
        Self {
            n_perturb_samples: 10,
            noise_std: 0.1,
            normalize: true,
        }
    }
}

/// Captum's `sensitivity_max` settings (its defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SensitivityOptions {
    pub n_perturb_samples: usize,
    pub perturb_radius: f64,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        Self {
            n_perturb_samples: 10,
            perturb_radius: 0.02,
        }
    }
}

/// What is evaluated and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaithfulnessOptions {
    pub methods: Vec<EvalMethod>,
    /// The fractions k of the tokens in a rationale.
    pub fractions: Vec<f64>,
    pub removal: Removal,
    /// Only tokens with a positive attribution enter a rationale (ferret's `only_pos`).
    pub only_positive: bool,
    pub infidelity: InfidelityOptions,
    pub sensitivity: SensitivityOptions,
    /// Seeds the random baseline and the perturbations (mixed with each row's index).
    pub seed: u64,
}

impl Default for FaithfulnessOptions {
    fn default() -> Self {
        Self {
            methods: EvalMethod::ALL.to_vec(),
            fractions: vec![0.01, 0.05, 0.1, 0.2, 0.5],
            removal: Removal::Delete,
            only_positive: true,
            infidelity: InfidelityOptions::default(),
            sensitivity: SensitivityOptions::default(),
            seed: 0,
        }
    }
}

/// The positions of the tokens that are scored and removed: all but the special ones.
pub fn content_tokens(input: &Tokenized) -> Vec<usize> {
    (0..input.len()).filter(|&i| !input.special[i]).collect()
}

/// ferret's `_get_id_tokens_percentage`: the top ⌊fraction·n⌋ of `scores`
/// (indices into `scores`, best first), positive ones only if asked;
/// `None` when that is no token.
pub fn top_fraction(scores: &[f32], fraction: f64, only_positive: bool) -> Option<Vec<usize>> {
    let v = (fraction * scores.len() as f64) as usize;
    if v == 0 || v > scores.len() {
        return None;
    }
    let top: Vec<usize> = ranked(scores)
        .into_iter()
        .take(v)
        .filter(|&i| !only_positive || scores[i] > 0.0)
        .collect();
    (!top.is_empty()).then_some(top)
}

/// Indices of `scores`, largest score first (ties: the earlier first).
pub fn ranked(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// The rationale of each fraction (token positions in `input`), `None`
/// where ferret skips it: no token, or the previous fraction's set again.
pub fn rationales(
    input: &Tokenized,
    attributions: &[f32],
    fractions: &[f64],
    only_positive: bool,
) -> Vec<Option<Vec<usize>>> {
    let content = content_tokens(input);
    let scores: Vec<f32> = content.iter().map(|&i| attributions[i]).collect();
    let mut last: Option<Vec<usize>> = None;
    fractions
        .iter()
        .map(|&k| {
            let mut top: Vec<usize> = top_fraction(&scores, k, only_positive)?
                .into_iter()
                .map(|j| content[j])
                .collect();
            top.sort_unstable();
            if last.as_ref() == Some(&top) {
                return None;
            }
            last = Some(top.clone());
            Some(top)
        })
        .collect()
}

/// `input` with the tokens at `positions` removed (never a special token).
pub fn without(
    model: &Model,
    input: &Tokenized,
    positions: &[usize],
    removal: Removal,
) -> Result<Encoded> {
    let replace =
        match removal {
            Removal::Delete => None,
            Removal::Pad => Some(model.tokenizer().pad_id()),
            Removal::Mask => Some(model.tokenizer().mask_id().ok_or(
                Error::MissingSpecialToken {
                    role: "mask",
                    candidates: "[MASK], <mask>".into(),
                },
            )?),
        };
    let mut out = Encoded {
        ids: Vec::with_capacity(input.len()),
        types: Vec::with_capacity(input.len()),
    };
    for i in 0..input.len() {
        let removed = !input.special[i] && positions.contains(&i);
        match (removed, replace) {
            (false, _) => out.ids.push(input.ids[i]),
            (true, Some(id)) => out.ids.push(id),
            (true, None) => continue,
        }
        out.types.push(input.type_ids[i]);
    }
    Ok(out)
}

/// `input` with only the tokens at `positions` (and the special ones) kept.
pub fn only(
    model: &Model,
    input: &Tokenized,
    positions: &[usize],
    removal: Removal,
) -> Result<Encoded> {
    let others: Vec<usize> = content_tokens(input)
        .into_iter()
        .filter(|i| !positions.contains(i))
        .collect();
    without(model, input, &others, removal)
}

/// The inputs one explanation's removal metrics need, and how to read
/// their probabilities back.
#[derive(Debug, Clone)]
pub struct RemovalPlan {
    /// Comprehensiveness inputs then sufficiency inputs, one per rationale
    /// not skipped, then the deletion curve's (1, 2, … tokens removed).
    pub inputs: Vec<Encoded>,
    rationale: Vec<bool>,
    curve: usize,
}

/// The removal metrics of one explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovalScores {
    /// Per fraction (`null`: skipped).
    pub comprehensiveness: Vec<Option<f64>>,
    pub sufficiency: Vec<Option<f64>>,
    pub aopc_comprehensiveness: f64,
    pub aopc_sufficiency: f64,
    /// p(ŷ) with 0, 1, 2, … of the top tokens removed (all of them at the end).
    pub deletion_curve: Vec<f64>,
}

impl RemovalPlan {
    pub fn new(
        model: &Model,
        input: &Tokenized,
        attributions: &[f32],
        opts: &FaithfulnessOptions,
    ) -> Result<Self> {
        let r = rationales(input, attributions, &opts.fractions, opts.only_positive);
        let mut inputs = Vec::new();
        for top in r.iter().flatten() {
            inputs.push(without(model, input, top, opts.removal)?);
        }
        for top in r.iter().flatten() {
            inputs.push(only(model, input, top, opts.removal)?);
        }
        let content = content_tokens(input);
        let scores: Vec<f32> = content.iter().map(|&i| attributions[i]).collect();
        let order: Vec<usize> = ranked(&scores).into_iter().map(|j| content[j]).collect();
        for k in 1..=order.len() {
            inputs.push(without(model, input, &order[..k], opts.removal)?);
        }
        Ok(Self {
            inputs,
            rationale: r.iter().map(Option::is_some).collect(),
            curve: order.len(),
        })
    }

    /// The scores from p(ŷ|x) and p(ŷ) of each of [`RemovalPlan::inputs`].
    pub fn finish(&self, full: f64, probs: &[f64]) -> RemovalScores {
        let used = self.rationale.iter().filter(|&&u| u).count();
        let (comp, rest) = probs.split_at(used);
        let (suff, curve) = rest.split_at(used);
        let spread = |values: &[f64]| {
            let mut it = values.iter();
            self.rationale
                .iter()
                .map(|&u| u.then(|| full - it.next().expect("one per rationale")))
                .collect::<Vec<_>>()
        };
        let mean = |v: &[f64], default: f64| {
            if v.is_empty() {
                default
            } else {
                v.iter().map(|p| full - p).sum::<f64>() / v.len() as f64
            }
        };
        let mut deletion_curve = vec![full];
        deletion_curve.extend_from_slice(&curve[..self.curve]);
        RemovalScores {
            comprehensiveness: spread(comp),
            sufficiency: spread(suff),
            aopc_comprehensiveness: mean(comp, 0.0),
            aopc_sufficiency: mean(suff, 1.0),
            deletion_curve,
        }
    }
}

/// Rank agreement of two methods on one sentence (its non-special tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairAgreement {
    pub a: EvalMethod,
    pub b: EvalMethod,
    /// `null` where scipy's is NaN (a constant side, fewer than two tokens).
    pub spearman: Option<f64>,
    pub kendall: Option<f64>,
}

/// Spearman's ρ and Kendall's τ-b of every pair of `methods`' attributions.
pub fn agreement(
    input: &Tokenized,
    methods: &BTreeMap<EvalMethod, Vec<f32>>,
) -> Vec<PairAgreement> {
    let content = content_tokens(input);
    let pick = |v: &[f32]| content.iter().map(|&i| v[i] as f64).collect::<Vec<f64>>();
    let finite = |x: f64| x.is_finite().then_some(x);
    let keys: Vec<&EvalMethod> = methods.keys().collect();
    let mut out = Vec::new();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            let (x, y) = (pick(&methods[a]), pick(&methods[b]));
            out.push(PairAgreement {
                a: **a,
                b: **b,
                spearman: finite(spearman(&x, &y)),
                kendall: finite(kendall_tau_b(&x, &y)),
            });
        }
    }
    out
}

/// Mean of a per-row deletion curve at the fractions 0, 0.1, …, 1 of the
/// tokens removed (the point ⌊f·n + ½⌋ of each curve), and the area under
/// each curve over [0, 1] (trapezoids).
pub fn curve_points(curve: &[f64]) -> (Vec<f64>, Option<f64>) {
    let n = curve.len().saturating_sub(1);
    let grid = (0..=10)
        .map(|g| curve[((g as f64 / 10.0) * n as f64 + 0.5).floor() as usize])
        .collect();
    let auc = (n > 0).then(|| {
        curve
            .windows(2)
            .map(|w| (w[0] + w[1]) / 2.0 / n as f64)
            .sum()
    });
    (grid, auc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferrets_top_fraction() {
        let s = [0.3f32, -0.2, 0.9, 0.1, 0.5, -0.4, 0.0, 0.2, 0.6, 0.7];
        assert_eq!(top_fraction(&s, 0.05, true), None); // ⌊0.5⌋ = 0
        assert_eq!(top_fraction(&s, 0.1, true), Some(vec![2]));
        assert_eq!(top_fraction(&s, 0.2, true), Some(vec![2, 9]));
        // Half the tokens: the top 5 are all positive.
        assert_eq!(top_fraction(&s, 0.5, true), Some(vec![2, 9, 8, 4, 0]));
        // All ten: only the positive ones stay.
        assert_eq!(top_fraction(&s, 1.0, true).unwrap().len(), 7);
        assert_eq!(top_fraction(&[-1.0, -2.0], 0.5, true), None);
        assert_eq!(top_fraction(&[-1.0, -2.0], 0.5, false), Some(vec![0]));
    }

    #[test]
    fn deletion_curve_on_the_grid() {
        let (grid, auc) = curve_points(&[1.0, 0.5, 0.0]);
        assert_eq!(grid[0], 1.0);
        assert_eq!(grid[5], 0.5);
        assert_eq!(grid[10], 0.0);
        assert_eq!(auc, Some(0.5));
        assert_eq!(curve_points(&[0.7]).1, None);
    }

    #[test]
    fn method_names_round_trip() {
        for m in EvalMethod::ALL {
            assert_eq!(EvalMethod::parse(m.name()).unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
        }
        assert!(EvalMethod::parse("lime").is_err());
    }
}
