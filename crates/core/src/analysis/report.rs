//! The report of a labelled set: every row's result, and what the set says
//! as a whole (metrics, confusion matrix, mistakes, words per class,
//! nearest rows, faithfulness). [`Report::from_rows`] builds it from rows
//! computed in any pieces; [`Report::merge`] combines shard reports into
//! the report one run over all rows gives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::anchors::Anchor;
use super::dataset::{unmatched_labels, Row, Shard, UnmatchedLabel};
use super::evaluate::RowFaithfulness;
use super::faithfulness::EvalMethod;
use super::metrics::{metrics, ClassMetrics, Confusion};
use super::neighbours::{all_nearest, Neighbour};
use super::predict::AnalysisOptions;
use super::summary::{agreement_summary, summarize, AgreementSummary, MethodSummary};
use super::words::{class_words, ClassWords, RowWords};
use crate::error::{Error, Result};
use crate::explain::Word;

/// A class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassProbability {
    pub label: String,
    pub index: usize,
    pub probability: f32,
}

/// One row through the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    /// The row's 0-based index in the set.
    pub index: usize,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// The label as given, and the class it matched (`null`: none).
    pub label: Option<String>,
    pub label_index: Option<usize>,
    pub predicted: Option<String>,
    pub predicted_index: Option<usize>,
    /// p(predicted | text).
    pub probability: Option<f32>,
    /// p(label | text), and the cross-entropy loss −ln of it.
    pub label_probability: Option<f32>,
    pub loss: Option<f32>,
    /// `null` when the row has no matched label.
    pub correct: Option<bool>,
    /// The most probable classes.
    pub top: Vec<ClassProbability>,
    pub truncated: bool,
    pub tokens: Vec<String>,
    /// The predicted class's attributions, one per token.
    pub attributions: Option<Vec<f32>>,
    /// The same merged into words.
    pub words: Option<Vec<Word>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<Vec<Neighbour>>,
    /// The vector the head reads (kept for merges and the page's nearest rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooled: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faithfulness: Option<RowFaithfulness>,
    /// The anchor of the prediction (`--anchors`): alibi's `AnchorText`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Anchor>,
    /// Why the row has no prediction (e.g. an empty text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RowResult {
    /// A row that could not be run.
    pub fn failed(row: &Row, error: String) -> Self {
        Self {
            index: row.index,
            text: row.text.clone(),
            pair: row.pair.clone(),
            label: row.label.clone(),
            label_index: None,
            predicted: None,
            predicted_index: None,
            probability: None,
            label_probability: None,
            loss: None,
            correct: None,
            top: Vec::new(),
            truncated: false,
            tokens: Vec::new(),
            attributions: None,
            words: None,
            neighbours: None,
            pooled: None,
            faithfulness: None,
            anchor: None,
            error: Some(error),
        }
    }
}

/// The report of a set (or of one shard of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The bertlens version that wrote it.
    pub bertlens: String,
    /// The model's name (its folder's) and classes.
    pub model: String,
    pub labels: Vec<String>,
    pub settings: AnalysisOptions,
    /// `null` for a whole set; a shard's report holds its rows only.
    pub shard: Option<Shard>,
    /// Rows read, rows with a matched label, rows that could not be run.
    pub rows_total: usize,
    pub rows_labelled: usize,
    pub rows_failed: usize,
    pub unmatched_labels: Vec<UnmatchedLabel>,
    /// Over the rows with a matched label.
    pub accuracy: f64,
    pub confusion: Confusion,
    pub per_class: Vec<ClassMetrics>,
    pub macro_avg: ClassMetrics,
    pub weighted_avg: ClassMetrics,
    /// The misclassified rows' indices, most confident first.
    pub mistakes: Vec<usize>,
    /// Per predicted class, the words that pushed rows toward it.
    pub words: BTreeMap<String, ClassWords>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faithfulness: Option<BTreeMap<EvalMethod, MethodSummary>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Vec<AgreementSummary>>,
    /// In input order.
    pub rows: Vec<RowResult>,
    /// What the report was computed from; shards merge only when theirs agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
}

/// What a report was computed from: the SHA-256 of the whole set's rows in
/// order (each row's text, pair and label, length-prefixed, so that no two
/// sets hash alike by moving a separator), and of the settings. Every shard
/// of one set carries the whole set's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The rows of the whole set, in file order.
    pub data: String,
    pub rows: usize,
    pub options: String,
}

impl Fingerprint {
    pub fn of(rows: &[Row], settings: &AnalysisOptions) -> Self {
        use sha2::{Digest, Sha256};
        let field = |h: &mut Sha256, s: Option<&str>| match s {
            None => h.update([0u8]),
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
        };
        let mut h = Sha256::new();
        for r in rows {
            field(&mut h, Some(&r.text));
            field(&mut h, r.pair.as_deref());
            field(&mut h, r.label.as_deref());
        }
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let options = serde_json::to_vec(settings).expect("settings serialize");
        Self {
            data: hex(&h.finalize()),
            rows: rows.len(),
            options: hex(&Sha256::digest(&options)),
        }
    }
}

impl Report {
    /// The report of `rows` (any order; sorted by index here). For a whole
    /// set (`shard` is `None`) each row gets its nearest rows when the
    /// settings ask, and the pooled vectors are dropped unless they ask to
    /// keep them; a shard keeps them, for [`Report::merge`].
    pub fn from_rows(
        model: &str,
        labels: &[String],
        settings: &AnalysisOptions,
        shard: Option<Shard>,
        mut rows: Vec<RowResult>,
    ) -> Self {
        rows.sort_by_key(|r| r.index);
        let pairs: Vec<(usize, usize)> = rows
            .iter()
            .filter_map(|r| Some((r.label_index?, r.predicted_index?)))
            .collect();
        let m = metrics(&pairs, labels);
        let unmatched = unmatched_labels(
            labels,
            rows.iter()
                .filter_map(|r| Some((r.index, r.label.as_deref()?))),
        );
        let mut mistakes: Vec<&RowResult> =
            rows.iter().filter(|r| r.correct == Some(false)).collect();
        mistakes.sort_by(|a, b| {
            b.probability
                .unwrap_or(0.0)
                .total_cmp(&a.probability.unwrap_or(0.0))
                .then(a.index.cmp(&b.index))
        });
        let mistakes = mistakes.iter().map(|r| r.index).collect();
        let words = class_words(
            rows.iter().filter_map(|r| {
                Some(RowWords {
                    predicted: r.predicted_index?,
                    wrong: r.correct == Some(false),
                    words: r.words.as_deref()?,
                })
            }),
            labels,
            settings.words_top,
        );
        let evaluated: Vec<&RowFaithfulness> = rows
            .iter()
            .filter_map(|r| r.faithfulness.as_ref())
            .collect();
        let faithfulness = settings
            .faithfulness
            .as_ref()
            .map(|f| summarize(evaluated.iter().copied(), &f.fractions));
        let agreement = settings
            .faithfulness
            .as_ref()
            .map(|_| agreement_summary(evaluated.iter().copied()));
        if shard.is_none() {
            if settings.neighbours > 0 {
                let set: Vec<(usize, &[f32])> = rows
                    .iter()
                    .filter_map(|r| Some((r.index, r.pooled.as_deref()?)))
                    .collect();
                let near = all_nearest(&set, settings.neighbours);
                let by_row: BTreeMap<usize, Vec<Neighbour>> =
                    set.iter().map(|(i, _)| *i).zip(near).collect();
                for r in &mut rows {
                    r.neighbours = by_row.get(&r.index).cloned();
                }
            }
            if !settings.keep_vectors {
                rows.iter_mut().for_each(|r| r.pooled = None);
            }
        }
        Report {
            bertlens: env!("CARGO_PKG_VERSION").to_string(),
            model: model.to_string(),
            labels: labels.to_vec(),
            settings: settings.clone(),
            shard,
            rows_total: rows.len(),
            rows_labelled: pairs.len(),
            rows_failed: rows.iter().filter(|r| r.error.is_some()).count(),
            unmatched_labels: unmatched,
            accuracy: m.accuracy,
            confusion: m.confusion,
            per_class: m.per_class,
            macro_avg: m.macro_avg,
            weighted_avg: m.weighted_avg,
            mistakes,
            words,
            faithfulness,
            agreement,
            rows,
            fingerprint: None,
        }
    }

    /// The report, marked with what it was computed from.
    pub fn fingerprinted(mut self, fingerprint: Fingerprint) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }

    /// The shard reports of one set (every shard `K/N`, once each, with
    /// the same model classes and settings) as the report of the whole set.
    pub fn merge(reports: Vec<Report>) -> Result<Report> {
        let first = reports
            .first()
            .ok_or_else(|| Error::Merge("no reports were given".into()))?;
        let count =
            match first.shard {
                Some(s) => s.count,
                None => return Err(Error::Merge(
                    "the first report is not a shard's (run `bertlens analyze` with --shard K/N)"
                        .into(),
                )),
            };
        let mut seen = vec![false; count];
        for r in &reports {
            let s = r
                .shard
                .ok_or_else(|| Error::Merge("a report is not a shard's".into()))?;
            if s.count != count {
                return Err(Error::Merge(format!(
                    "shard {s} is one of {} shards, the first report's of {count}",
                    s.count
                )));
            }
            if std::mem::replace(&mut seen[s.index], true) {
                return Err(Error::Merge(format!("shard {s} is given twice")));
            }
            if r.labels != first.labels {
                return Err(Error::Merge(format!(
                    "shard {s} comes from a model with other classes"
                )));
            }
            if r.settings != first.settings {
                return Err(Error::Merge(format!(
                    "shard {s} was run with other settings"
                )));
            }
            let first_shard = first.shard.expect("checked above");
            match (&first.fingerprint, &r.fingerprint) {
                (Some(a), Some(b)) if a.data != b.data || a.rows != b.rows => {
                    return Err(Error::Merge(format!(
                        "shard {s} was run on other data than shard {first_shard}: the \
                         fingerprints of their sets differ ({} rows, {}… against {} rows, \
                         {}…); run every shard on the same file, its rows in the same order",
                        b.rows,
                        &b.data[..12],
                        a.rows,
                        &a.data[..12],
                    )))
                }
                (Some(a), Some(b)) if a.options != b.options => {
                    return Err(Error::Merge(format!(
                        "shard {s} was run with other settings than shard {first_shard}"
                    )))
                }
                (Some(_), Some(_)) => {}
                (None, _) | (_, None) => {
                    let which = if first.fingerprint.is_none() {
                        first_shard
                    } else {
                        s
                    };
                    return Err(Error::Merge(format!(
                        "shard {which} has no fingerprint of its data (an older bertlens wrote \
                         it): run it again"
                    )));
                }
            }
        }
        let missing: Vec<String> = (0..count)
            .filter(|&k| !seen[k])
            .map(|k| format!("{k}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(Error::Merge(format!(
                "shard(s) {} are missing",
                missing.join(", ")
            )));
        }
        let (model, labels, settings, fingerprint) = (
            first.model.clone(),
            first.labels.clone(),
            first.settings.clone(),
            first.fingerprint.clone().expect("checked above"),
        );
        let rows: Vec<RowResult> = reports.into_iter().flat_map(|r| r.rows).collect();
        let mut indices: Vec<usize> = rows.iter().map(|r| r.index).collect();
        indices.sort_unstable();
        if let Some(w) = indices.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::Merge(format!("row {} is in two shards", w[0])));
        }
        Ok(Report::from_rows(&model, &labels, &settings, None, rows).fingerprinted(fingerprint))
    }
}
