//! Probes: which layer knows a property of the text? A linear classifier
//! is trained on each layer's hidden states to predict the set's labels,
//! and its accuracy on held-out rows read layer by layer shows where in
//! the depth the property becomes linearly readable.
//!
//! The protocol is fixed so that scikit-learn can check it:
//! - **features:** for each layer `l` in `0..=L` (transformers'
//!   `hidden_states[l]`, `l = 0` the embeddings' output), the hidden
//!   states mean-pooled over every token, special tokens included (bertlens
//!   never pads, so the attention mask is all ones), or the first token's
//!   state with [`ProbePool::Cls`];
//! - **split:** a row is a test row when its index `i` in the file has
//!   `i % K == K − 1` (`K` = [`ProbeOptions::test_every`]); rows without a
//!   label, or whose text cannot be read, are left out;
//! - **scaling:** each feature z-scored with the training rows' mean and
//!   standard deviation (scikit-learn's `StandardScaler`), except that a
//!   feature whose deviation is at most [`CONSTANT`] of its size (max(1,
//!   |mean|)) is only centred: some layers have dimensions that do not vary
//!   (MiniLM's last has three), and scaling their rounding noise, which
//!   differs between f32 and f64 and between engines, would make it a
//!   feature;
//! - **classifier:** [`logistic::fit`], scikit-learn's L2 logistic
//!   regression with `C` = 1, to convergence; the classes are the labels
//!   the training rows have (a test row whose label none of them has counts
//!   as wrong);
//! - **control task** (Hewitt & Liang 2019): the same probe on the labels
//!   shuffled by a seeded Fisher–Yates ([`shuffled`]). Selectivity is the
//!   accuracy minus the control's: a probe that only memorises scores high
//!   on both.

use serde::{Deserialize, Serialize};

use super::batch::{each_batch, pool, Encoded};
use super::dataset::Row;
use super::logistic::{self, Logistic};
use super::random::Rng;
use crate::engine::record::{Recorder, Stage};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::types::Pool;

/// The L2 penalty's `C`, as scikit-learn's default.
pub const C: f64 = 1.0;
/// A feature whose standard deviation over the training rows is at most
/// this times max(1, |mean|) is constant: centred, not scaled.
pub const CONSTANT: f64 = 1e-5;

/// Which vector of a layer the probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbePool {
    /// The mean over every token.
    #[default]
    Mean,
    /// The first token's state (`[CLS]`, `<s>`).
    Cls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeOptions {
    /// Every K-th row (index % K == K − 1) is a test row.
    pub test_every: usize,
    pub pool: ProbePool,
    /// The seed of the control task's shuffle.
    pub seed: u64,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            test_every: 5,
            pool: ProbePool::Mean,
            seed: 0,
        }
    }
}

/// One layer's probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeLayer {
    /// Whether both fits (the probe's and the control's) converged.
    pub converged: bool,
    /// 0: the embeddings' output; L: the last layer's.
    pub layer: usize,
    /// On the test rows.
    pub accuracy: f64,
    pub train_accuracy: f64,
    /// The control task's accuracy on the test rows.
    pub control_accuracy: f64,
    /// `accuracy − control_accuracy`.
    pub selectivity: f64,
}

/// Every layer's probe on a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The rows probed (labelled and read), training and test.
    pub n: usize,
    pub n_test: usize,
    /// The rows left out: no label, or a text that could not be read.
    pub skipped: usize,
    /// The classes the probe tells apart (the training rows' labels, sorted).
    pub labels: Vec<String>,
    /// What a probe that always answers the training rows' most frequent
    /// label scores on the test rows.
    pub majority_accuracy: f64,
    pub options: ProbeOptions,
    pub layers: Vec<ProbeLayer>,
}

/// The rows a probe reads and how they split.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSet {
    /// The positions (in the rows given) of the rows probed.
    pub rows: Vec<usize>,
    /// Of each row probed: whether it is a test row.
    pub test: Vec<bool>,
    /// Of each row probed: its label, and its label in the control task.
    pub labels: Vec<String>,
    pub control: Vec<String>,
    pub skipped: usize,
    pub options: ProbeOptions,
}

impl ProbeSet {
    /// The split of `rows`; `read[i]` says whether row `i`'s text could be
    /// read (tokenized).
    pub fn new(rows: &[Row], read: &[bool], options: ProbeOptions) -> Result<Self> {
        let k = options.test_every;
        if k < 2 {
            return Err(Error::InvalidOption {
                option: "test-every",
                reason: format!("{k}: every K-th row is a test row, so K is at least 2"),
            });
        }
        let (mut kept, mut test, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (row, &ok)) in rows.iter().zip(read).enumerate() {
            match row.label.as_deref().map(str::trim) {
                Some(label) if ok && !label.is_empty() => {
                    kept.push(i);
                    test.push(row.index % k == k - 1);
                    labels.push(label.to_string());
                }
                _ => {}
            }
        }
        let n_test = test.iter().filter(|&&t| t).count();
        let train: Vec<&String> = labels
            .iter()
            .zip(&test)
            .filter(|(_, &t)| !t)
            .map(|(l, _)| l)
            .collect();
        let distinct = {
            let mut d: Vec<&String> = train.clone();
            d.sort();
            d.dedup();
            d.len()
        };
        if n_test == 0 || distinct < 2 {
            return Err(Error::TaskInput(format!(
                "a probe needs labelled training rows of at least two labels and at least one \
                 test row (every {k}th row); this set has {} training row(s) of {distinct} \
                 label(s) and {n_test} test row(s)",
                train.len()
            )));
        }
        Ok(Self {
            skipped: rows.len() - kept.len(),
            control: shuffled(&labels, options.seed),
            rows: kept,
            test,
            labels,
            options,
        })
    }
}

impl ProbeSet {
    /// The probed rows' vectors of `x`, which holds `width` floats for every
    /// row given to [`ProbeSet::new`].
    pub fn select<'a>(&self, x: &'a [f32], width: usize) -> Vec<&'a [f32]> {
        self.rows
            .iter()
            .map(|&i| &x[i * width..(i + 1) * width])
            .collect()
    }
}

/// `labels` permuted by Fisher–Yates with [`Rng::new`]`(seed)`: for `i`
/// from the last position down to 1, swap `i` with `below(i + 1)`.
pub fn shuffled(labels: &[String], seed: u64) -> Vec<String> {
    let mut out = labels.to_vec();
    let mut rng = Rng::new(seed);
    for i in (1..out.len()).rev() {
        let j = rng.below(i + 1);
        out.swap(i, j);
    }
    out
}

/// Records each layer's input pooled per sequence: `[layer]`, `(n, h)`.
struct PooledInputs {
    pool: Pool,
    layers: Vec<Vec<f32>>,
}

impl Recorder for PooledInputs {
    fn stage(&mut self, _layer: usize, stage: Stage, m: &[f32], width: usize, t: usize) {
        if stage == Stage::Input {
            self.layers.push(pooled(m, width, t, self.pool));
        }
    }
}

fn pooled(m: &[f32], width: usize, t: usize, how: Pool) -> Vec<f32> {
    m.chunks_exact(t * width)
        .flat_map(|seq| pool(seq, width, how))
        .collect()
}

/// Each row's pooled hidden states, layers `0..=L` one after another
/// (`(L + 1)·h` floats); `None` for a row whose text cannot be read.
pub fn features(model: &Model, rows: &[Row], how: ProbePool) -> Result<Vec<Option<Vec<f32>>>> {
    let how = match how {
        ProbePool::Mean => Pool::Mean,
        ProbePool::Cls => Pool::Cls,
    };
    let inputs: Vec<Option<Encoded>> = rows
        .iter()
        .map(|r| {
            model
                .tokenize_plain(&r.text, r.pair.as_deref())
                .ok()
                .map(|t| Encoded {
                    ids: t.ids,
                    types: t.type_ids,
                })
        })
        .collect();
    let encoded: Vec<Encoded> = inputs.iter().flatten().cloned().collect();
    let net = model.network();
    let h = net.hidden();
    let per_row = each_batch(model, &encoded, |words, shared, n, threads| {
        let t = shared.tokens();
        let mut rec = PooledInputs {
            pool: how,
            layers: Vec::new(),
        };
        let last = net.hidden_states_recorded(words, shared, &mut rec, threads);
        rec.layers.push(pooled(&last, h, t, how));
        (0..n)
            .map(|j| {
                rec.layers
                    .iter()
                    .flat_map(|l| l[j * h..(j + 1) * h].iter().copied())
                    .collect::<Vec<f32>>()
            })
            .collect()
    })?;
    let mut per_row = per_row.into_iter();
    Ok(inputs
        .iter()
        .map(|i| i.as_ref().and_then(|_| per_row.next()))
        .collect())
}

/// One layer's fitted probes, with what the tests hold to scikit-learn.
#[derive(Debug, Clone)]
pub struct LayerFit {
    pub layer: ProbeLayer,
    pub probe: Logistic,
    pub control: Logistic,
    /// The probe's class probabilities of the test rows, `(n_test, classes)`.
    pub test_probabilities: Vec<f64>,
}

/// The probe of `layer` on `x`: each probed row's features (`h` floats,
/// in the order of `set.rows`).
pub fn fit_layer(set: &ProbeSet, layer: usize, x: &[&[f32]]) -> LayerFit {
    let (probe, accuracy, train_accuracy, test_probabilities) = fit_labels(set, x, &set.labels);
    let (control, control_accuracy, _, _) = fit_labels(set, x, &set.control);
    LayerFit {
        layer: ProbeLayer {
            converged: probe.converged && control.converged,
            layer,
            accuracy,
            train_accuracy,
            control_accuracy,
            selectivity: accuracy - control_accuracy,
        },
        probe,
        control,
        test_probabilities,
    }
}

/// The classes of the training rows' `labels`, sorted (numpy's `unique`).
fn classes(set: &ProbeSet, labels: &[String]) -> Vec<String> {
    let mut c: Vec<String> = labels
        .iter()
        .zip(&set.test)
        .filter(|(_, &t)| !t)
        .map(|(l, _)| l.clone())
        .collect();
    c.sort();
    c.dedup();
    c
}

/// A probe of `labels`: the model, test and training accuracy, and the
/// test rows' probabilities.
fn fit_labels(set: &ProbeSet, x: &[&[f32]], labels: &[String]) -> (Logistic, f64, f64, Vec<f64>) {
    let classes = classes(set, labels);
    let h = x.first().map_or(0, |r| r.len());
    let part = |test: bool| -> (Vec<f64>, Vec<Option<usize>>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for ((row, label), &t) in x.iter().zip(labels).zip(&set.test) {
            if t == test {
                xs.extend(row.iter().map(|&v| v as f64));
                ys.push(classes.binary_search(label).ok());
            }
        }
        (xs, ys)
    };
    let (mut train_x, train_y) = part(false);
    let (mut test_x, test_y) = part(true);
    let n = train_y.len();
    // StandardScaler: the training rows' mean and (population) standard deviation.
    let mut mean = vec![0f64; h];
    for row in train_x.chunks_exact(h) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0f64; h];
    for row in train_x.chunks_exact(h) {
        var.iter_mut()
            .zip(row)
            .zip(&mean)
            .for_each(|((s, v), m)| *s += (v - m) * (v - m));
    }
    let scale: Vec<f64> = var
        .iter()
        .zip(&mean)
        .map(|(s, m)| match (s / n as f64).sqrt() {
            sd if sd <= CONSTANT * m.abs().max(1.0) => 1.0,
            sd => sd,
        })
        .collect();
    for row in train_x
        .chunks_exact_mut(h)
        .chain(test_x.chunks_exact_mut(h))
    {
        for ((v, m), s) in row.iter_mut().zip(&mean).zip(&scale) {
            *v = (*v - m) / s;
        }
    }
    let y: Vec<usize> = train_y
        .iter()
        .map(|c| c.expect("a training label is a class"))
        .collect();
    let model = logistic::fit(&train_x, &y, classes.len(), C);
    let score = |x: &[f64], y: &[Option<usize>]| {
        let right = model
            .predict(x)
            .iter()
            .zip(y)
            .filter(|(p, y)| Some(**p) == **y)
            .count();
        right as f64 / y.len().max(1) as f64
    };
    let (accuracy, train_accuracy) = (score(&test_x, &test_y), score(&train_x, &train_y));
    let probabilities = model.probabilities(&test_x);
    (model, accuracy, train_accuracy, probabilities)
}

/// The report of every layer's probe, from each probed row's features
/// (`[row]`, in the order of `set.rows`, `(L + 1)·h` floats each).
pub fn report(set: &ProbeSet, features: &[&[f32]], hidden: usize) -> ProbeReport {
    let layers = features.first().map_or(0, |f| f.len() / hidden.max(1));
    let one = |l: usize| {
        let x: Vec<&[f32]> = features
            .iter()
            .map(|f| &f[l * hidden..(l + 1) * hidden])
            .collect();
        fit_layer(set, l, &x).layer
    };
    #[cfg(not(target_arch = "wasm32"))]
    let fits: Vec<ProbeLayer> = {
        use rayon::prelude::*;
        (0..layers).into_par_iter().map(one).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let fits: Vec<ProbeLayer> = (0..layers).map(one).collect();
    summary(set, fits)
}

/// The report around `layers` already fitted (by however many workers).
pub fn summary(set: &ProbeSet, mut layers: Vec<ProbeLayer>) -> ProbeReport {
    layers.sort_by_key(|l| l.layer);
    let labels = classes(set, &set.labels);
    let mut counts = vec![0usize; labels.len()];
    for (label, &t) in set.labels.iter().zip(&set.test) {
        if !t {
            counts[labels.binary_search(label).expect("a training label")] += 1;
        }
    }
    // The first most frequent label, as scikit-learn's DummyClassifier.
    let majority = counts
        .iter()
        .enumerate()
        .fold(
            (0, 0),
            |best, (i, &c)| if c > best.1 { (i, c) } else { best },
        )
        .0;
    let test: Vec<&String> = set
        .labels
        .iter()
        .zip(&set.test)
        .filter(|(_, &t)| t)
        .map(|(l, _)| l)
        .collect();
    let majority_accuracy =
        test.iter().filter(|l| ***l == labels[majority]).count() as f64 / test.len().max(1) as f64;
    ProbeReport {
        n: set.rows.len(),
        n_test: test.len(),
        skipped: set.skipped,
        labels,
        majority_accuracy,
        options: set.options,
        layers,
    }
}

/// Every layer's probe of `rows`' labels on `model`.
pub fn probe(model: &Model, rows: &[Row], options: ProbeOptions) -> Result<ProbeReport> {
    let feats = features(model, rows, options.pool)?;
    let read: Vec<bool> = feats.iter().map(Option::is_some).collect();
    let set = ProbeSet::new(rows, &read, options)?;
    let x: Vec<&[f32]> = set
        .rows
        .iter()
        .map(|&i| feats[i].as_deref().expect("a probed row was read"))
        .collect();
    Ok(report(&set, &x, model.hidden_size()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let labels: Vec<String> = (0..20).map(|i| (i % 3).to_string()).collect();
        let a = shuffled(&labels, 7);
        assert_eq!(a, shuffled(&labels, 7));
        assert_ne!(a, shuffled(&labels, 8));
        let (mut x, mut y) = (a.clone(), labels.clone());
        x.sort();
        y.sort();
        assert_eq!(x, y);
    }

    #[test]
    fn split_needs_two_labels_and_a_test_row() {
        let rows: Vec<Row> = (0..6)
            .map(|i| Row::new(i, "text", Some(if i < 3 { "a" } else { "b" })))
            .collect();
        let read = vec![true; 6];
        let set = ProbeSet::new(&rows, &read, ProbeOptions::default()).unwrap();
        assert_eq!(set.test, vec![false, false, false, false, true, false]);
        let err = ProbeSet::new(&rows[..4], &read, ProbeOptions::default()).unwrap_err();
        assert!(err.to_string().contains("0 test row"), "{err}");
        let k1 = ProbeOptions {
            test_every: 1,
            ..Default::default()
        };
        assert!(ProbeSet::new(&rows, &read, k1).is_err());
    }
}
