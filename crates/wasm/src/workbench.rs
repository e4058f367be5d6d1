//! The dataset workbench's calls: a labelled set through the model in
//! pieces (predictions in blocks, labels matched, words per row and class,
//! faithfulness, anchors, metrics, nearest rows). Conversions only; the
//! work is `bertlens_core::analysis`'s.

use bertlens_core::analysis::batch::{forward_all, Encoded};
use bertlens_core::analysis::dataset::unmatched_labels;
use bertlens_core::analysis::evaluate::RowFaithfulness;
use bertlens_core::analysis::faithfulness::FaithfulnessOptions;
use bertlens_core::analysis::metrics::metrics;
use bertlens_core::analysis::summary::{
    agreement_summary, summarize, AgreementSummary, MethodSummary,
};
use bertlens_core::analysis::words::{class_words, RowWords};
use bertlens_core::analysis::{
    analyze_rows, anchor, match_label, nearest, AnalysisOptions, AnchorOptions, EvalMethod, Row,
};
use bertlens_core::explain::counterfactual::{counterfactuals, CounterfactualOptions};
use bertlens_core::explain::Word;
use bertlens_core::tokenizer::Tokenized;
use js_sys::{Float32Array, Int32Array, Object, Uint32Array, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use bertlens_core::explain::Method;

use crate::{from_js, into_error, or_default, set, to_js, Explainer};

/// The dataset workbench: a labelled set through the model, in pieces.
#[wasm_bindgen]
impl Explainer {
    /// Predictions of many rows at once (`BatchPrediction`): for row `i`,
    /// `predicted[i]` (-1 when the row could not be run: `errors[i]` says
    /// why), `probabilities[i·classes..]` and, when `pooled`, the vector
    /// the head reads at `vectors[i·dim..]` (zeros for a failed row).
    /// `pairs[i]` is row `i`'s second text ("" or absent: none). Rows are
    /// batched as `bertlens analyze` batches one block of rows, so a block
    /// of 64 consecutive rows gives the CLI's floats.
    #[wasm_bindgen(js_name = predictBatch)]
    pub fn predict_batch(
        &self,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        pooled: bool,
    ) -> Result<Object, JsError> {
        let n = texts.len();
        let pair = |i: usize| {
            pairs
                .as_ref()
                .and_then(|p| p.get(i))
                .map(String::as_str)
                .filter(|p| !p.is_empty())
        };
        let inputs: Vec<Result<Tokenized, String>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.model.tokenize(t, pair(i)).map_err(|e| e.to_string()))
            .collect();
        let encoded: Vec<Encoded> = inputs
            .iter()
            .flatten()
            .map(|t| Encoded {
                ids: t.ids.clone(),
                types: t.type_ids.clone(),
            })
            .collect();
        let mut forwards = forward_all(&self.model, &encoded, pooled)
            .map_err(into_error)?
            .into_iter();
        let classes = self.model.labels().len();
        let dim = if pooled { self.model.hidden_size() } else { 0 };
        let mut predicted = vec![-1i32; n];
        let mut probabilities = vec![0f32; n * classes];
        let mut vectors = vec![0f32; n * dim];
        let mut truncated = vec![0u8; n];
        let mut errors: Vec<Option<String>> = vec![None; n];
        for (i, input) in inputs.iter().enumerate() {
            let t = match input {
                Ok(t) => t,
                Err(e) => {
                    errors[i] = Some(e.clone());
                    continue;
                }
            };
            let f = forwards.next().expect("one forward per input");
            let p = self.model.prediction(f.logits);
            predicted[i] = p.predicted as i32;
            probabilities[i * classes..(i + 1) * classes].copy_from_slice(&p.probabilities);
            if let Some(v) = f.pooled.filter(|v| v.len() == dim) {
                vectors[i * dim..(i + 1) * dim].copy_from_slice(&v);
            }
            truncated[i] = t.truncated as u8;
        }
        let out = Object::new();
        set(&out, "rows", n as u32)?;
        set(&out, "classes", classes as u32)?;
        set(&out, "dim", dim as u32)?;
        set(&out, "predicted", Int32Array::from(&predicted[..]))?;
        set(
            &out,
            "probabilities",
            Float32Array::from(&probabilities[..]),
        )?;
        set(&out, "vectors", Float32Array::from(&vectors[..]))?;
        set(&out, "truncated", Uint8Array::from(&truncated[..]))?;
        set(&out, "errors", to_js(&errors)?)?;
        Ok(out)
    }

    /// Labels as a file spells them, matched to the model's classes by
    /// name, name up to case, or index (`LabelMatch`): `indices[i]` is -1
    /// when label `i` matches no class; `unmatched` lists those, most
    /// frequent first. An empty label is no label (-1, not listed).
    #[wasm_bindgen(js_name = matchLabels)]
    pub fn match_labels(&self, labels: Vec<String>) -> Result<Object, JsError> {
        let names = self.model.labels();
        let indices: Vec<i32> = labels
            .iter()
            .map(|l| match_label(names, l).map_or(-1, |i| i as i32))
            .collect();
        let unmatched = unmatched_labels(
            names,
            labels
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| (i, l.as_str())),
        );
        let out = Object::new();
        set(&out, "indices", Int32Array::from(&indices[..]))?;
        set(&out, "unmatched", to_js(&unmatched)?)?;
        Ok(out)
    }

    /// Each row's words and their attributions toward its predicted class
    /// (`RowWords`), by `method` (saliency by default, as `bertlens analyze`):
    /// row `i` has `counts[i]` words, at `words`/`scores` from the sum of
    /// the counts before it. `first` is the block's first row in the set,
    /// so that its batch is the CLI's. A row that cannot run has no words.
    #[wasm_bindgen(js_name = rowWords)]
    pub fn row_words(
        &self,
        first: usize,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        method: Option<String>,
    ) -> Result<Object, JsError> {
        let method = match method {
            None => Method::Saliency,
            Some(m) => from_js(JsValue::from_str(&m), "method")?,
        };
        let rows: Vec<Row> = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Row {
                index: first + i,
                text,
                pair: pairs
                    .as_ref()
                    .and_then(|p| p.get(i))
                    .filter(|p| !p.is_empty())
                    .cloned(),
                label: None,
            })
            .collect();
        let opts = AnalysisOptions {
            method: Some(method),
            ..AnalysisOptions::default()
        };
        let results = analyze_rows(&self.model, &rows, &opts).map_err(into_error)?;
        let (mut words, mut scores, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        for r in &results {
            let w = r.words.as_deref().unwrap_or_default();
            counts.push(w.len() as u32);
            words.extend(w.iter().map(|w| w.text.clone()));
            scores.extend(w.iter().map(|w| w.attribution));
        }
        let out = Object::new();
        set(&out, "words", to_js(&words)?)?;
        set(&out, "scores", Float32Array::from(&scores[..]))?;
        set(&out, "counts", Uint32Array::from(&counts[..]))?;
        Ok(out)
    }

    /// The `top` words of every predicted class over the rows given as
    /// `rowWords` gave them (`ClassWords` by class name), as
    /// `bertlens analyze` reports them: `predicted[i]` is row `i`'s class
    /// (-1: left out), `wrong[i]` 1 when its true label is another.
    #[wasm_bindgen(js_name = classWords)]
    pub fn class_words(
        &self,
        predicted: &[i32],
        wrong: &[u8],
        counts: &[u32],
        words: Vec<String>,
        scores: &[f32],
        top: usize,
    ) -> Result<JsValue, JsError> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if predicted.len() != counts.len() || wrong.len() != counts.len() {
            return Err(JsError::new(
                "predicted, wrong and counts must have one value per row",
            ));
        }
        if words.len() != total || scores.len() != total {
            return Err(JsError::new(&format!(
                "the counts add up to {total} words, but {} words and {} scores were given",
                words.len(),
                scores.len()
            )));
        }
        let all: Vec<Word> = words
            .into_iter()
            .zip(scores)
            .map(|(text, &attribution)| Word {
                text,
                sequence: 0,
                offsets: [0, 0],
                tokens: [0, 0],
                attribution,
                attribution_normalized: 0.0,
            })
            .collect();
        let mut start = 0;
        let mut rows = Vec::new();
        for i in 0..counts.len() {
            let end = start + counts[i] as usize;
            if let Ok(p) = usize::try_from(predicted[i]) {
                rows.push(RowWords {
                    predicted: p,
                    wrong: wrong[i] != 0,
                    words: &all[start..end],
                });
            }
            start = end;
        }
        to_js(&class_words(rows, self.model.labels(), top))
    }

    /// How faithful each method's explanation of the predicted class is
    /// (`RowFaithfulness`: ERASER's comprehensiveness and sufficiency per
    /// fraction and their AOPC, the deletion curve, Captum's infidelity and
    /// sensitivity-max unless their samples are 0, the methods' agreement),
    /// as `bertlens analyze --faithfulness` evaluates row `row` of a set
    /// (the row seeds the random baseline). `options`: `FaithfulnessOptions`.
    pub fn faithfulness(
        &self,
        text: &str,
        pair: Option<String>,
        row: usize,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let f: FaithfulnessOptions = or_default(options, "faithfulness options")?;
        let rows = [Row {
            index: row,
            text: text.to_string(),
            pair: pair.filter(|p| !p.is_empty()),
            label: None,
        }];
        let opts = AnalysisOptions {
            faithfulness: Some(f),
            ..AnalysisOptions::default()
        };
        let r = analyze_rows(&self.model, &rows, &opts)
            .map_err(into_error)?
            .remove(0);
        match (r.faithfulness, r.error) {
            (Some(f), _) => to_js(&f),
            (None, Some(e)) => Err(JsError::new(&e)),
            (None, None) => Err(JsError::new("nothing was evaluated")),
        }
    }

    /// The anchor of the prediction (`Anchor`): the words that, kept while
    /// others are hidden, keep it with `threshold` precision, found as
    /// alibi's `AnchorText` finds them (KL-LUCB). `options`: `AnchorOptions`.
    #[wasm_bindgen(js_name = anchor)]
    pub fn anchor_of(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let opts: AnchorOptions = or_default(options, "anchor options")?;
        let pair = pair.filter(|p| !p.is_empty());
        to_js(&anchor(&self.model, text, pair.as_deref(), &opts).map_err(into_error)?)
    }

    /// The counterfactuals of the prediction (`CounterfactualReport`): the
    /// fewest word substitutions that change it (or reach `options.target`),
    /// each text run through the model. `options`: `CounterfactualOptions`.
    pub fn counterfactuals(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let opts: CounterfactualOptions = or_default(options, "counterfactual options")?;
        let pair = pair.filter(|p| !p.is_empty());
        to_js(&counterfactuals(&self.model, text, pair.as_deref(), &opts).map_err(into_error)?)
    }

    /// Accuracy, confusion matrix and per-class precision, recall, F1 and
    /// support as scikit-learn computes them (`Metrics`), of the pairs
    /// (`truth[i]`, `predicted[i]`) of class indices.
    pub fn metrics(&self, truth: &[u32], predicted: &[u32]) -> Result<JsValue, JsError> {
        if truth.len() != predicted.len() {
            return Err(JsError::new(&format!(
                "{} true labels but {} predictions",
                truth.len(),
                predicted.len()
            )));
        }
        let classes = self.model.labels().len();
        if let Some(bad) = truth
            .iter()
            .chain(predicted)
            .find(|&&c| c as usize >= classes)
        {
            return Err(JsError::new(&format!(
                "class {bad} is not one of the model's {classes} classes"
            )));
        }
        let pairs: Vec<(usize, usize)> = truth
            .iter()
            .zip(predicted)
            .map(|(&t, &p)| (t as usize, p as usize))
            .collect();
        to_js(&metrics(&pairs, self.model.labels()))
    }
}

/// The faithfulness of a set (`SetFaithfulness`): each method's metrics
/// averaged over `rows` (the `RowFaithfulness` of each evaluated row), its
/// mean deletion curve on the grid 0, 10, …, 100% removed, and the methods'
/// mean agreement: the `faithfulness` and `agreement` of `bertlens analyze
/// --faithfulness`. `fractions`: the ones the rows were evaluated at.
#[wasm_bindgen(js_name = summarizeFaithfulness)]
pub fn summarize_faithfulness(rows: JsValue, fractions: Vec<f64>) -> Result<JsValue, JsError> {
    let rows: Vec<RowFaithfulness> = from_js(rows, "rows")?;
    #[derive(Serialize)]
    struct SetFaithfulness {
        rows: usize,
        methods: std::collections::BTreeMap<EvalMethod, MethodSummary>,
        agreement: Vec<AgreementSummary>,
    }
    to_js(&SetFaithfulness {
        rows: rows.len(),
        methods: summarize(rows.iter(), &fractions),
        agreement: agreement_summary(rows.iter()),
    })
}

/// The `k` rows nearest to `query` by cosine similarity (`Nearest`):
/// `vectors` holds one vector of `query.len()` values per row, row `rows[i]`
/// at `vectors[i·dim..]`; `skip` leaves one row out (the query's own).
#[wasm_bindgen(js_name = nearestRows)]
pub fn nearest_rows(
    query: &[f32],
    vectors: &[f32],
    rows: &[u32],
    k: usize,
    skip: Option<u32>,
) -> Result<Object, JsError> {
    let dim = query.len();
    if dim == 0 || vectors.len() != rows.len() * dim {
        return Err(JsError::new(&format!(
            "{} values are not {} vectors of {dim}",
            vectors.len(),
            rows.len()
        )));
    }
    let candidates: Vec<(usize, &[f32])> = rows
        .iter()
        .zip(vectors.chunks_exact(dim))
        .map(|(&r, v)| (r as usize, v))
        .collect();
    let near = nearest(query, &candidates, k, skip.map(|s| s as usize));
    let ids: Vec<u32> = near.iter().map(|n| n.row as u32).collect();
    let sims: Vec<f32> = near.iter().map(|n| n.similarity).collect();
    let out = Object::new();
    set(&out, "rows", Uint32Array::from(&ids[..]))?;
    set(&out, "similarity", Float32Array::from(&sims[..]))?;
    Ok(out)
}
