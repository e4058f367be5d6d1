//! What the perturbation methods ([`occlusion`](super::occlusion),
//! [`shapley`](super::shapley), [`sampled`](super::sampled)) remove, and the score of an input with some
//! of it removed: Captum's `feature_mask` and the ablated inputs of its
//! `FeatureAblation`, at the token-id level.
//!
//! A **feature** is a group of token positions: each token, or with
//! `words` each word's wordpieces (Captum's `feature_mask` with one id per
//! word). Special tokens (`[CLS]`, `[SEP]`, `<s>` …) are in no feature:
//! they are never removed, and their attribution is 0. A removed feature's
//! tokens take the baseline's ids (the same baseline as Integrated
//! Gradients': `[PAD]` or `[MASK]`), and the perturbed input's activation
//! at the attributed layer is the model's for those ids; with the zero
//! baseline, its rows of the input's activation are zero instead.

use serde::{Deserialize, Serialize};

use super::ig::DEFAULT_BATCH_BYTES;
use super::{Baseline, Differentiable};
use crate::error::{Error, Result};
use crate::tokenizer::Tokenized;

/// What one feature of a perturbation method is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureUnit {
    Token,
    Word,
}

/// The features of one input: groups of token positions, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    groups: Vec<Vec<usize>>,
    tokens: usize,
    unit: FeatureUnit,
}

impl Features {
    /// Every non-special token its own feature, or with `words` every
    /// word (consecutive tokens of one word of one text) one feature.
    pub fn new(input: &Tokenized, words: bool) -> Self {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut open: Option<(u8, u32)> = None;
        for i in 0..input.len() {
            if input.special[i] {
                open = None;
                continue;
            }
            let word = match (input.sequence[i], input.word_ids[i]) {
                (Some(s), Some(w)) if words => Some((s, w)),
                _ => None,
            };
            match groups.last_mut() {
                Some(g) if word.is_some() && word == open => g.push(i),
                _ => groups.push(vec![i]),
            }
            open = word;
        }
        Self {
            groups,
            tokens: input.len(),
            unit: if words {
                FeatureUnit::Word
            } else {
                FeatureUnit::Token
            },
        }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn unit(&self) -> FeatureUnit {
        self.unit
    }

    /// The token positions of each feature.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// Per-token scores `(t,)` from one score per feature: a feature's
    /// score shared equally by its tokens, so that a word's tokens add up
    /// to the word's score (Captum gives each token of a group the group's
    /// score; bertlens divides it, so that words merged from tokens, and
    /// Σ attributions, are the features' own); 0 for special tokens.
    pub fn per_token(&self, values: &[f64]) -> Vec<f32> {
        let mut out = vec![0.0f32; self.tokens];
        for (g, &v) in self.groups.iter().zip(values) {
            for &i in g {
                out[i] = (v / g.len() as f64) as f32;
            }
        }
        out
    }
}

/// What a perturbation method asks of the model: F at the input with sets
/// of its features removed. [`Ablation`] runs the forward passes; a
/// [`Recorder`] and a [`Replay`] split one run in two, so that workers can
/// score the inputs in between ([`crate::session::PerturbJob`]): none of
/// the methods chooses which inputs to score from the scores it has seen.
pub trait Scorer {
    fn features(&self) -> &Features;
    /// F at the input with each set of features removed (`sets[k][j]`:
    /// feature j is removed in input k), in f64.
    fn scores(&self, sets: &[Vec<bool>]) -> Result<Vec<f64>>;
    /// Inputs scored so far.
    fn evaluations(&self) -> usize;
}

/// A [`Scorer`] that writes down the sets a method asks for, and answers 0.
pub struct Recorder<'a> {
    features: &'a Features,
    sets: std::cell::RefCell<Vec<Vec<bool>>>,
}

impl<'a> Recorder<'a> {
    pub fn new(features: &'a Features) -> Self {
        Self {
            features,
            sets: Default::default(),
        }
    }

    /// Every set asked for, in order.
    pub fn into_sets(self) -> Vec<Vec<bool>> {
        self.sets.into_inner()
    }
}

impl Scorer for Recorder<'_> {
    fn features(&self) -> &Features {
        self.features
    }

    fn scores(&self, sets: &[Vec<bool>]) -> Result<Vec<f64>> {
        self.sets.borrow_mut().extend_from_slice(sets);
        Ok(vec![0.0; sets.len()])
    }

    fn evaluations(&self) -> usize {
        self.sets.borrow().len()
    }
}

/// A [`Scorer`] that answers, in order, scores computed elsewhere for the
/// sets a [`Recorder`] wrote down.
pub struct Replay<'a> {
    features: &'a Features,
    scores: Vec<f64>,
    next: std::cell::Cell<usize>,
}

impl<'a> Replay<'a> {
    pub fn new(features: &'a Features, scores: Vec<f64>) -> Self {
        Self {
            features,
            scores,
            next: std::cell::Cell::new(0),
        }
    }

    /// Whether every score was asked for.
    pub fn finished(&self) -> bool {
        self.next.get() == self.scores.len()
    }
}

impl Scorer for Replay<'_> {
    fn features(&self) -> &Features {
        self.features
    }

    fn scores(&self, sets: &[Vec<bool>]) -> Result<Vec<f64>> {
        let from = self.next.get();
        let to = from + sets.len();
        let scores = self.scores.get(from..to).ok_or_else(|| {
            Error::option(
                "scores",
                format!(
                    "{} scores were submitted, and the method asks for more",
                    self.scores.len()
                ),
            )
        })?;
        self.next.set(to);
        Ok(scores.to_vec())
    }

    fn evaluations(&self) -> usize {
        self.next.get()
    }
}

/// F at the input with sets of features removed, in batched forward passes.
pub struct Ablation<'a, F: Differentiable> {
    f: &'a F,
    features: &'a Features,
    ids: &'a [u32],
    /// The baseline's ids; `None`: zero activations.
    baseline: Option<&'a [u32]>,
    /// The input's activation, for the zero baseline.
    x: Vec<f32>,
    batch: usize,
    evaluations: std::cell::Cell<usize>,
}

impl<'a, F: Differentiable> Ablation<'a, F> {
    /// `baseline`: the baseline's ids, as long as `ids` (`None`: zero
    /// activations); `internal_batch_size`: inputs per forward pass
    /// (`None`: as many as [`DEFAULT_BATCH_BYTES`] allows).
    pub fn new(
        f: &'a F,
        features: &'a Features,
        ids: &'a [u32],
        baseline: Option<&'a [u32]>,
        internal_batch_size: Option<usize>,
    ) -> Result<Self> {
        if let Some(b) = baseline {
            if b.len() != ids.len() {
                return Err(Error::option(
                    "baseline",
                    format!("{} baseline ids for {} tokens", b.len(), ids.len()),
                ));
            }
        }
        let batch = match internal_batch_size {
            Some(0) => return Err(Error::option("internal_batch_size", "must be at least 1")),
            Some(b) => b,
            None => (DEFAULT_BATCH_BYTES / f.bytes_per_point().max(1)).max(1),
        };
        let x = match baseline {
            Some(_) => Vec::new(),
            None => f.activation(ids)?,
        };
        Ok(Self {
            f,
            features,
            ids,
            baseline,
            x,
            batch,
            evaluations: std::cell::Cell::new(0),
        })
    }

    /// The activation of the input with the features `removed` (one flag
    /// per feature) replaced by the baseline's.
    fn activation(&self, removed: &[bool]) -> Result<Vec<f32>> {
        let groups = self.features.groups();
        match self.baseline {
            Some(b) => {
                let mut ids = self.ids.to_vec();
                for (g, _) in groups.iter().zip(removed).filter(|(_, &r)| r) {
                    for &i in g {
                        ids[i] = b[i];
                    }
                }
                self.f.activation(&ids)
            }
            None => {
                let w = self.f.width();
                let mut x = self.x.clone();
                for (g, _) in groups.iter().zip(removed).filter(|(_, &r)| r) {
                    for &i in g {
                        x[i * w..(i + 1) * w].fill(0.0);
                    }
                }
                Ok(x)
            }
        }
    }
}

impl<F: Differentiable> Scorer for Ablation<'_, F> {
    fn features(&self) -> &Features {
        self.features
    }

    /// Forward passes run so far (one per input scored).
    fn evaluations(&self) -> usize {
        self.evaluations.get()
    }

    fn scores(&self, sets: &[Vec<bool>]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(sets.len());
        for chunk in sets.chunks(self.batch) {
            let mut xs = Vec::new();
            for removed in chunk {
                xs.extend(self.activation(removed)?);
            }
            out.extend(self.f.scores(&xs)?.into_iter().map(f64::from));
            self.evaluations.set(self.evaluations.get() + chunk.len());
        }
        Ok(out)
    }
}

/// How a perturbation method ran, echoed with its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerturbationReport {
    /// What one feature is: a token, or a word (`words`).
    pub unit: FeatureUnit,
    /// Features perturbed (special tokens are in none).
    pub features: usize,
    pub baseline: Baseline,
    /// Inputs scored (forward passes of one input).
    pub evaluations: usize,
    /// Occlusion: Captum's `sliding_window_shapes` and `strides`, in features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    /// Shapley values: exact (every coalition), or sampled over
    /// `n_samples` permutations drawn from `seed`; KernelSHAP and LIME:
    /// `n_samples` coalitions drawn from `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_samples: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// F(x′): every feature removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_score: Option<f32>,
    /// KernelSHAP and LIME: the intercept of the fitted linear model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercept: Option<f32>,
    /// What the user should know (exact Shapley values fell back to sampling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The result of a perturbation method.
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbationAttribution {
    /// One score per token `(t,)` (see [`Features::per_token`]).
    pub attributions: Vec<f32>,
    /// One score per feature.
    pub feature_attributions: Vec<f64>,
    /// F(x).
    pub score: f32,
    /// Σ attributions − (F(x) − F(x′)) where the method is complete (Shapley
    /// values; KernelSHAP, up to its 10⁶ weights).
    pub delta: Option<f32>,
    pub report: PerturbationReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(special: &[bool], words: &[Option<u32>]) -> Tokenized {
        Tokenized {
            ids: vec![0; special.len()],
            type_ids: vec![0; special.len()],
            tokens: vec![String::new(); special.len()],
            offsets: vec![(0, 0); special.len()],
            sequence: words.iter().map(|w| w.map(|_| 0)).collect(),
            word_ids: words.to_vec(),
            special: special.to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn features_leave_special_tokens_out_and_group_words() {
        let t = input(
            &[true, false, false, false, true],
            &[None, Some(0), Some(0), Some(1), None],
        );
        assert_eq!(
            Features::new(&t, false).groups(),
            [vec![1], vec![2], vec![3]]
        );
        let words = Features::new(&t, true);
        assert_eq!(words.groups(), [vec![1, 2], vec![3]]);
        assert_eq!(words.per_token(&[1.0, 3.0]), [0.0, 0.5, 0.5, 3.0, 0.0]);
    }
}
