//! Rows through the model: tokenize, predict in batches, attribute each
//! row's predicted class, merge its words, and (on request) evaluate the
//! explanations' faithfulness. Any rows, in any pieces: a row's result
//! depends on the row and the options alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::anchors::{anchor, AnchorOptions};
use super::batch::{forward_all, require_classifier, Encoded, Forward};
use super::dataset::{block_of, match_label, Row};
use super::evaluate::{attributions_of, evaluate_row, Perturbations};
use super::faithfulness::{EvalMethod, FaithfulnessOptions};
use super::report::{ClassProbability, RowResult};
use crate::error::Result;
use crate::explain::{merge_words, ExplainOptions, Method};
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// What an analysis computes. The defaults: saliency for every row (one
/// backward pass each), no neighbours, no faithfulness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisOptions {
    /// The method that explains each row (`null`: predictions only).
    pub method: Option<Method>,
    /// Its settings (`n_steps`, `baseline`, `norm`, …; `method` and `target` are ignored).
    pub explain: ExplainOptions,
    /// The nearest rows of each row, by the pooled vector (0: none).
    pub neighbours: usize,
    /// Words listed per class.
    pub words_top: usize,
    /// Classes listed per row, most probable first.
    pub top_classes: usize,
    /// Keep each row's pooled vector in the report (shards keep them for the merge).
    pub keep_vectors: bool,
    pub faithfulness: Option<FaithfulnessOptions>,
    /// Evaluate faithfulness on the rows whose index is below this (all: `null`).
    pub faithfulness_rows: Option<usize>,
    /// The anchor of each row's prediction (`null`: none).
    pub anchors: Option<AnchorOptions>,
    /// Find anchors for the rows whose index is below this (all: `null`).
    pub anchor_rows: Option<usize>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            method: Some(Method::Saliency),
            explain: ExplainOptions::default(),
            neighbours: 0,
            words_top: 10,
            top_classes: 3,
            keep_vectors: false,
            faithfulness: None,
            faithfulness_rows: None,
            anchors: None,
            anchor_rows: None,
        }
    }
}

impl AnalysisOptions {
    fn evaluates(&self, row: usize) -> Option<&FaithfulnessOptions> {
        self.faithfulness
            .as_ref()
            .filter(|_| self.faithfulness_rows.is_none_or(|n| row < n))
    }

    fn anchors(&self, row: usize) -> Option<&AnchorOptions> {
        self.anchors
            .as_ref()
            .filter(|_| self.anchor_rows.is_none_or(|n| row < n))
    }
}

/// A row tokenized and run, or why it could not be.
type Ran = std::result::Result<(Tokenized, Forward), String>;

/// The evaluated-method name of an attribution method; the perturbation
/// methods are not yet among a set's row methods (nor its evaluated ones).
fn eval_method(m: Method) -> Result<EvalMethod> {
    Ok(match m {
        Method::Ig => EvalMethod::Ig,
        Method::Saliency => EvalMethod::Saliency,
        Method::InputXGradient => EvalMethod::InputXGradient,
        Method::Rollout => EvalMethod::Rollout,
        Method::AttentionFlow => EvalMethod::AttentionFlow,
        Method::Occlusion
        | Method::Shapley
        | Method::KernelShap
        | Method::Lime
        | Method::SmoothGrad
        | Method::VarGrad => {
            return Err(crate::error::Error::option(
                "method",
                "a labelled set's rows are explained by ig, saliency, input-x-gradient, \
                 rollout or attention-flow; occlusion, shapley, kernel-shap, lime, smoothgrad \
                 and vargrad explain one text (bertlens explain)",
            ))
        }
    })
}

/// Every row's result, in the order of `rows`. A row that cannot be read
/// (an empty text) has its `error` and no prediction; the others go on.
pub fn analyze_rows(model: &Model, rows: &[Row], opts: &AnalysisOptions) -> Result<Vec<RowResult>> {
    require_classifier(model)?;
    if let Some(m) = opts.method {
        eval_method(m)?;
    }
    let inputs: Vec<Result<Tokenized>> = rows
        .iter()
        .map(|r| model.tokenize(&r.text, r.pair.as_deref()))
        .collect();
    let encoded: Vec<Encoded> = inputs
        .iter()
        .flatten()
        .map(|t| Encoded {
            ids: t.ids.clone(),
            types: t.type_ids.clone(),
        })
        .collect();
    let pooled = opts.neighbours > 0 || opts.keep_vectors;
    // Batches never mix blocks, and a block's rows go in index order (see
    // `dataset::BLOCK`): a row's floats do not depend on the piece it is in.
    let indices: Vec<usize> = rows
        .iter()
        .zip(&inputs)
        .filter(|(_, t)| t.is_ok())
        .map(|(r, _)| r.index)
        .collect();
    let mut blocks: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, &i) in indices.iter().enumerate() {
        blocks.entry(block_of(i)).or_default().push(k);
    }
    let mut forwards: Vec<Option<Forward>> = vec![None; encoded.len()];
    for mut members in blocks.into_values() {
        members.sort_by_key(|&k| indices[k]);
        let batch: Vec<Encoded> = members.iter().map(|&k| encoded[k].clone()).collect();
        for (k, f) in members.into_iter().zip(forward_all(model, &batch, pooled)?) {
            forwards[k] = Some(f);
        }
    }
    let mut forwards = forwards.into_iter().map(|f| f.expect("every input ran"));
    let work: Vec<(&Row, Ran)> = rows
        .iter()
        .zip(inputs)
        .map(|(row, input)| {
            let done = match input {
                Ok(t) => Ok((t, forwards.next().expect("one per input"))),
                Err(e) => Err(e.to_string()),
            };
            (row, done)
        })
        .collect();
    let one = |(row, done): &(&Row, Ran)| match done {
        Ok((input, fwd)) => one_row(model, row, input, fwd, opts),
        Err(e) => Ok(RowResult::failed(row, e.clone())),
    };
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        work.par_iter().map(one).collect()
    }
    #[cfg(target_arch = "wasm32")]
    work.iter().map(one).collect()
}

fn one_row(
    model: &Model,
    row: &Row,
    input: &Tokenized,
    fwd: &Forward,
    opts: &AnalysisOptions,
) -> Result<RowResult> {
    let labels = model.labels();
    let p = model.prediction(fwd.logits.clone());
    let label_index = row.label.as_deref().and_then(|l| match_label(labels, l));
    let label_probability = label_index.map(|i| p.probabilities[i]);
    let mut order: Vec<usize> = (0..p.probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        p.probabilities[b]
            .total_cmp(&p.probabilities[a])
            .then(a.cmp(&b))
    });
    let top = order
        .iter()
        .take(opts.top_classes)
        .map(|&i| ClassProbability {
            label: labels[i].clone(),
            index: i,
            probability: p.probabilities[i],
        })
        .collect();
    let texts = [row.text.as_str(), row.pair.as_deref().unwrap_or("")];
    let mut known = BTreeMap::new();
    let attributions = match opts.method {
        Some(m) => {
            let m_eval = eval_method(m)?;
            let seed = opts.faithfulness.as_ref().map_or(0, |f| f.seed);
            let a = attributions_of(
                model,
                input,
                row.index,
                p.predicted,
                m_eval,
                &opts.explain,
                seed,
            )?;
            known.insert(m_eval, a.clone());
            Some(a)
        }
        None => None,
    };
    let words = attributions.as_ref().map(|a| merge_words(input, a, texts));
    let faithfulness = match opts.evaluates(row.index) {
        Some(f) => Some(evaluate_row(
            model,
            input,
            row.index,
            p.predicted,
            p.probabilities[p.predicted] as f64,
            &known,
            f,
            &opts.explain,
            &Perturbations::default(),
        )?),
        None => None,
    };
    let anchor = match opts.anchors(row.index) {
        Some(a) => Some(anchor(model, &row.text, row.pair.as_deref(), a)?),
        None => None,
    };
    Ok(RowResult {
        index: row.index,
        text: row.text.clone(),
        pair: row.pair.clone(),
        label: row.label.clone(),
        label_index,
        predicted: Some(labels[p.predicted].clone()),
        predicted_index: Some(p.predicted),
        probability: Some(p.probabilities[p.predicted]),
        label_probability,
        loss: label_probability.map(|q| -(q.max(f32::MIN_POSITIVE)).ln()),
        correct: label_index.map(|l| l == p.predicted),
        top,
        truncated: input.truncated,
        tokens: input.tokens.clone(),
        attributions,
        words,
        neighbours: None,
        pooled: fwd.pooled.clone(),
        faithfulness,
        anchor,
        error: None,
    })
}
