//! One row's explanation by every method, and how faithful each is:
//! [`super::faithfulness`]'s removal metrics (one batch of forward passes
//! for all methods), [`super::perturbation`]'s infidelity (perturbations
//! shared by all methods) and sensitivity, and the methods' agreement.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::batch::{probabilities, Encoded};
use super::faithfulness::{
    agreement, EvalMethod, FaithfulnessOptions, PairAgreement, RemovalPlan, RemovalScores,
};
use super::perturbation::{
    explain_at, infidelity, infidelity_deltas, infidelity_perturbations, method_of,
    perturbed_words, random_attributions, sensitivity_max, sensitivity_perturbations,
};
use super::random::Rng;
use crate::attribution::Scalar;
use crate::engine::Rows;
use crate::error::Result;
use crate::explain::{attribute, ExplainOptions, Explained};
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// One method's faithfulness on one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodFaithfulness {
    /// The method's attributions of the row's predicted class, per token.
    pub attributions: Vec<f32>,
    #[serde(flatten)]
    pub removal: RemovalScores,
    /// `null` when no perturbation was asked for.
    pub infidelity: Option<f64>,
    pub sensitivity_max: Option<f64>,
}

/// Every evaluated method's faithfulness on one row, and their agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowFaithfulness {
    /// The class explained (the predicted one) and p(ŷ|x).
    pub target: usize,
    pub probability: f64,
    pub methods: BTreeMap<EvalMethod, MethodFaithfulness>,
    pub agreement: Vec<PairAgreement>,
}

/// Seeds of the three random draws of a row, apart from each other.
const INFIDELITY_STREAM: u64 = 1;
const SENSITIVITY_STREAM: u64 = 2;

/// The attributions of class `target` by `method` (the random baseline's
/// drawn from the seed and the row).
pub fn attributions_of(
    model: &Model,
    input: &Tokenized,
    row: usize,
    target: usize,
    method: EvalMethod,
    opts: &ExplainOptions,
    seed: u64,
) -> Result<Vec<f32>> {
    let Some(m) = method_of(method) else {
        return Ok(random_attributions(seed, row, input.len()));
    };
    let opts = ExplainOptions {
        method: Some(m),
        ..opts.clone()
    };
    let ex = Explained {
        contrast: None,
        scalar: Scalar {
            rows: Rows::Pooled,
            contrast: None,
            class: target,
            output: opts.output,
        },
        target,
        target_label: model.labels().get(target).cloned().unwrap_or_default(),
        token: None,
        part: None,
    };
    Ok(attribute(model, input, &opts, &ex, None)?.attributions)
}

/// Perturbations a row's evaluation uses, drawn from the seed and the row
/// unless given (the tests give the fixture generator's).
#[derive(Debug, Clone, Default)]
pub struct Perturbations {
    /// Per-token multiplier perturbations, `(t,)` each.
    pub infidelity: Option<Vec<Vec<f32>>>,
    /// Word-embedding perturbations, `(t·width,)` each.
    pub sensitivity: Option<Vec<Vec<f32>>>,
}

/// Evaluates every method of `opts` on row `row` (`input`), explaining
/// class `target` whose probability is `probability`. `known`: attributions
/// already computed (by method), reused rather than recomputed.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_row(
    model: &Model,
    input: &Tokenized,
    row: usize,
    target: usize,
    probability: f64,
    known: &BTreeMap<EvalMethod, Vec<f32>>,
    opts: &FaithfulnessOptions,
    explain: &ExplainOptions,
    given: &Perturbations,
) -> Result<RowFaithfulness> {
    let mut attributions = BTreeMap::new();
    for &m in &opts.methods {
        let a = match known.get(&m) {
            Some(a) => a.clone(),
            None => attributions_of(model, input, row, target, m, explain, opts.seed)?,
        };
        attributions.insert(m, a);
    }
    // Every removal of every method, in one set of batches.
    let plans: Vec<(EvalMethod, RemovalPlan)> = attributions
        .iter()
        .map(|(&m, a)| Ok((m, RemovalPlan::new(model, input, a, opts)?)))
        .collect::<Result<_>>()?;
    let inputs: Vec<Encoded> = plans.iter().flat_map(|(_, p)| p.inputs.clone()).collect();
    let probs: Vec<f64> = probabilities(model, &inputs)?
        .into_iter()
        .map(|p| p[target] as f64)
        .collect();
    let mut removal: BTreeMap<EvalMethod, RemovalScores> = BTreeMap::new();
    let mut at = 0;
    for (m, plan) in &plans {
        let n = plan.inputs.len();
        removal.insert(*m, plan.finish(probability, &probs[at..at + n]));
        at += n;
    }
    // Infidelity: one set of perturbations and score changes for all methods.
    let inf = &opts.infidelity;
    let inf_perturbations = match &given.infidelity {
        Some(p) => p.clone(),
        None => {
            let mut rng = Rng::for_item(opts.seed.wrapping_add(INFIDELITY_STREAM), row as u64);
            infidelity_perturbations(input, inf, &mut rng)
        }
    };
    let deltas = if inf_perturbations.is_empty() {
        Vec::new()
    } else {
        infidelity_deltas(model, input, target, &inf_perturbations, explain)?
    };
    // Sensitivity: the same perturbed word embeddings for all methods.
    let sens_perturbations = match &given.sensitivity {
        Some(p) => p.clone(),
        None => {
            let mut rng = Rng::for_item(opts.seed.wrapping_add(SENSITIVITY_STREAM), row as u64);
            sensitivity_perturbations(model, input, &opts.sensitivity, &mut rng)
        }
    };
    let words = perturbed_words(model, input, &sens_perturbations);
    let mut methods = BTreeMap::new();
    for (m, a) in &attributions {
        let infid =
            (!deltas.is_empty()).then(|| infidelity(&inf_perturbations, &deltas, a, inf.normalize));
        let sens = if sens_perturbations.is_empty() {
            None
        } else {
            // The random baseline does not read its input: it does not move.
            let moved = explain_at(model, input, target, *m, explain, &words)?
                .unwrap_or_else(|| vec![a.clone(); sens_perturbations.len()]);
            Some(sensitivity_max(a, &moved))
        };
        methods.insert(
            *m,
            MethodFaithfulness {
                attributions: a.clone(),
                removal: removal.remove(m).expect("one per method"),
                infidelity: infid,
                sensitivity_max: sens,
            },
        );
    }
    Ok(RowFaithfulness {
        target,
        probability,
        agreement: agreement(input, &attributions),
        methods,
    })
}
