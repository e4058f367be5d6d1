//! Rule-based explanation: an anchor (Ribeiro, Singh & Guestrin 2018,
//! "Anchors: High-Precision Model-Agnostic Explanations"), as alibi's
//! `AnchorText` finds it (alibi 0.9.6, `anchor_base.py`, with its
//! defaults): the words of the sentence that, kept while each other word
//! is hidden with probability ½, keep the prediction with precision ≥
//! `threshold`, found by a beam search over growing word sets whose
//! candidates a KL-LUCB bandit ([`super::kl_lucb`]) ranks with the model in
//! the loop. Precision is the fraction of the samples that keep an anchor's
//! words (drawn for it, or drawn for another and keeping them too) whose
//! prediction is the sentence's; coverage is the fraction of samples drawn
//! with no word kept on purpose that keep the anchor's words.
//!
//! Words are the tokenizer's (its pre-tokenizer's pieces, punctuation
//! included), where alibi's are spaCy's. A hidden word is masked (each of
//! its wordpieces becomes the mask token: all samples keep the sentence's
//! length, so they run in one batch), becomes one unknown token (alibi's
//! `UnknownSampler`), or is replaced by a word drawn from a list (the
//! loaded set's words, say; alibi draws similar words from spaCy's vectors).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::batch::{probabilities, Encoded};
use super::kl_lucb::{kl_lower, kl_lucb, kl_upper};
use super::random::Rng;
use super::sampler::{Sample, Sampler};
use crate::error::{Error, Result};
use crate::model::{argmax, Model};

/// How a hidden word is hidden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AnchorPerturbation {
    /// Each of its wordpieces becomes the mask token (the unknown token
    /// for a tokenizer without one).
    #[default]
    Mask,
    /// The word becomes one unknown token.
    Unknown,
    /// The word becomes one of these, drawn uniformly.
    Replace(Vec<String>),
}

/// alibi's `AnchorText.explain` arguments and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnchorOptions {
    pub threshold: f64,
    pub delta: f64,
    /// KL-LUCB's ε.
    pub tau: f64,
    pub batch_size: usize,
    pub coverage_samples: usize,
    pub beam_size: usize,
    pub stop_on_first: bool,
    pub max_anchor_size: Option<usize>,
    pub min_samples_start: usize,
    /// Examples kept of the samples that keep and that flip the prediction.
    pub n_covered_ex: usize,
    /// The probability that a word outside the anchor is hidden.
    pub sample_proba: f64,
    pub perturbation: AnchorPerturbation,
    pub seed: u64,
}

impl Default for AnchorOptions {
    fn default() -> Self {
        Self {
            threshold: 0.95,
            delta: 0.1,
            tau: 0.15,
            batch_size: 100,
            coverage_samples: 10000,
            beam_size: 1,
            stop_on_first: true,
            max_anchor_size: None,
            min_samples_start: 100,
            n_covered_ex: 10,
            sample_proba: 0.5,
            perturbation: AnchorPerturbation::Mask,
            seed: 0,
        }
    }
}

/// A word of the anchor, in the order the search added it, with the
/// precision and coverage of the anchor up to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorWord {
    pub word: String,
    /// The word's index among the sentence's words.
    pub position: usize,
    /// `[start, end)` in characters of its text.
    pub offsets: [usize; 2],
    pub precision: f64,
    pub coverage: f64,
}

/// The anchor of a sentence's prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub predicted: usize,
    pub predicted_label: String,
    /// Empty when the prediction holds with any words hidden.
    pub words: Vec<AnchorWord>,
    pub precision: f64,
    pub coverage: f64,
    /// Whether the precision reaches the threshold (else: the best found).
    pub success: bool,
    /// Sentences the model ran on.
    pub samples: usize,
    /// Sampled sentences that keep the anchor and the prediction, and that keep the anchor but flip it.
    pub covered_true: Vec<String>,
    pub covered_false: Vec<String>,
}

/// Candidate anchors: sorted word sets.
type Rule = Vec<usize>;

#[derive(Default)]
struct RuleState {
    /// Samples that keep every word of the rule, and how many kept the prediction.
    n: f64,
    positives: f64,
    coverage: f64,
    /// The order the words were added in.
    order: Vec<usize>,
    covered_true: Vec<String>,
    covered_false: Vec<String>,
    /// Whether samples were drawn for this rule itself (and so examples kept).
    drawn: bool,
}

struct Search<'a> {
    model: &'a Model,
    sampler: Sampler,
    opts: &'a AnchorOptions,
    label: usize,
    rng: Rng,
    /// Every sample drawn: which words it kept, and whether it kept the prediction.
    kept: Vec<Vec<bool>>,
    labels: Vec<bool>,
    /// Coverage samples: per word, whether it is kept.
    coverage: Vec<Vec<bool>>,
    rules: BTreeMap<Rule, RuleState>,
}

impl Search<'_> {
    /// Draws `k` samples keeping each rule's words, runs them, records them.
    fn draw(&mut self, rules: &[Rule], k: usize) -> Result<Vec<(f64, f64)>> {
        let mut samples: Vec<(usize, Sample)> = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            for _ in 0..k {
                samples.push((
                    r,
                    self.sampler
                        .sample(rule, self.opts.sample_proba, &mut self.rng),
                ));
            }
        }
        let inputs: Vec<Encoded> = samples
            .iter()
            .map(|(_, s)| self.sampler.encode(s))
            .collect();
        let probs = probabilities(self.model, &inputs)?;
        let mut out = vec![(0.0, 0.0); rules.len()];
        let mut examples: Vec<(Vec<String>, Vec<String>)> = vec![Default::default(); rules.len()];
        for ((r, s), p) in samples.iter().zip(probs) {
            let same = argmax(&p) == self.label;
            self.kept.push(s.kept());
            self.labels.push(same);
            let state = self.rules.entry(rules[*r].clone()).or_default();
            state.n += 1.0;
            out[*r].1 += 1.0;
            if same {
                state.positives += 1.0;
                out[*r].0 += 1.0;
            }
            let (t, f) = &mut examples[*r];
            let list = if same { t } else { f };
            if list.len() < self.opts.n_covered_ex {
                list.push(self.sampler.text(s));
            }
        }
        // As alibi: a rule's examples are those of its latest draw.
        for (rule, (t, f)) in rules.iter().zip(examples) {
            let state = self.rules.get_mut(rule).expect("drawn");
            state.covered_true = t;
            state.covered_false = f;
            state.drawn = true;
        }
        Ok(out)
    }

    fn coverage_of(&self, rule: &[usize]) -> f64 {
        let n = self.coverage.len().max(1);
        let covered = self
            .coverage
            .iter()
            .filter(|c| rule.iter().all(|&w| c[w]))
            .count();
        covered as f64 / n as f64
    }

    /// alibi's `propose_anchors`: every rule of the previous best plus one
    /// word, its statistics from the samples already drawn.
    fn propose(&mut self, previous: &[Rule]) -> Vec<Rule> {
        let words = self.sampler.words();
        let mut out: Vec<Rule> = Vec::new();
        let parents: Vec<Rule> = if previous.is_empty() {
            vec![Vec::new()]
        } else {
            previous.to_vec()
        };
        for f in 0..words {
            for parent in &parents {
                if parent.contains(&f) {
                    continue;
                }
                let mut rule = parent.clone();
                rule.push(f);
                rule.sort_unstable();
                if out.contains(&rule) {
                    continue;
                }
                let mut order = self
                    .rules
                    .get(parent)
                    .map(|s| s.order.clone())
                    .unwrap_or_default();
                order.push(f);
                let idx: Vec<usize> = (0..self.kept.len())
                    .filter(|&i| rule.iter().all(|&w| self.kept[i][w]))
                    .collect();
                let positives = idx.iter().filter(|&&i| self.labels[i]).count() as f64;
                let coverage = self.coverage_of(&rule);
                let state = self.rules.entry(rule.clone()).or_default();
                state.n = idx.len() as f64;
                state.positives = positives;
                state.coverage = coverage;
                state.order = order;
                out.push(rule);
            }
        }
        out
    }

    fn stats(&self, rules: &[Rule]) -> (Vec<f64>, Vec<f64>) {
        rules
            .iter()
            .map(|r| self.rules.get(r).map_or((0.0, 0.0), |s| (s.n, s.positives)))
            .unzip()
    }

    /// KL-LUCB's best `top_n` of `rules`.
    fn best(&mut self, rules: &[Rule], top_n: usize) -> Result<Vec<Rule>> {
        let (mut n, mut pos) = self.stats(rules);
        let (eps, delta, batch) = (self.opts.tau, self.opts.delta, self.opts.batch_size);
        let picked = kl_lucb(&mut n, &mut pos, eps, delta, batch, top_n, |arms, k| {
            let chosen: Vec<Rule> = arms.iter().map(|&a| rules[a].clone()).collect();
            self.draw(&chosen, k)
        })?;
        Ok(picked.into_iter().map(|i| rules[i].clone()).collect())
    }
}

/// The anchor of `text`'s (and `pair`'s) prediction by `model`.
pub fn anchor(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    opts: &AnchorOptions,
) -> Result<Anchor> {
    super::batch::require_classifier(model)?;
    if !(opts.threshold > 0.0 && opts.threshold <= 1.0)
        || opts.batch_size == 0
        || opts.beam_size == 0
    {
        return Err(Error::option(
            "anchor",
            "threshold must be in (0, 1], batch_size and beam_size at least 1",
        ));
    }
    let input = model.tokenize(text, pair)?;
    let sampler = Sampler::new(
        model,
        &input,
        [text, pair.unwrap_or("")],
        &opts.perturbation,
    )?;
    let p = probabilities(model, &[sampler.encode(&sampler.original())])?.remove(0);
    let label = argmax(&p);
    let mut rng = Rng::new(opts.seed);
    let coverage = (0..opts.coverage_samples)
        .map(|_| sampler.sample(&[], opts.sample_proba, &mut rng).kept())
        .collect();
    let mut s = Search {
        model,
        sampler,
        opts,
        label,
        rng,
        kept: Vec::new(),
        labels: Vec::new(),
        coverage,
        rules: BTreeMap::new(),
    };
    let labels = model.labels();
    let words = s.sampler.words();
    // The empty rule first: does the prediction hold whatever is hidden?
    let (mut pos, mut total) = s.draw(&[Vec::new()], opts.min_samples_start)?[0];
    let beta = (1.0 / opts.delta).ln();
    let mut mean = pos / total;
    let mut lb = kl_lower(mean, beta / total);
    while mean > opts.threshold && lb < opts.threshold - opts.tau {
        let (p, t) = s.draw(&[Vec::new()], opts.batch_size)?[0];
        pos += p;
        total += t;
        mean = pos / total;
        lb = kl_lower(mean, beta / total);
    }
    if lb > opts.threshold || words == 0 {
        let st = &s.rules[&Vec::new()];
        return Ok(Anchor {
            predicted: label,
            predicted_label: labels[label].clone(),
            words: Vec::new(),
            precision: mean,
            coverage: 1.0,
            success: lb > opts.threshold,
            samples: s.kept.len(),
            covered_true: st.covered_true.clone(),
            covered_false: st.covered_false.clone(),
        });
    }
    let max_size = opts.max_anchor_size.unwrap_or(words).min(words);
    let mut best_of_size: Vec<Vec<Rule>> = vec![Vec::new()];
    let (mut best, mut best_coverage) = (None::<Rule>, -1.0f64);
    let mut size = 1;
    while size <= max_size {
        let previous = best_of_size[size - 1].clone();
        let candidates: Vec<Rule> = s
            .propose(&previous)
            .into_iter()
            .filter(|r| s.rules[r].coverage > best_coverage)
            .collect();
        if candidates.is_empty() {
            break;
        }
        let top = s.best(&candidates, opts.beam_size.min(candidates.len()))?;
        best_of_size.push(top.clone());
        let (mut n, mut positives) = s.stats(&top);
        let beta = (1.0 / (opts.delta / (1.0 + (opts.beam_size as f64 - 1.0) * words as f64))).ln();
        let bounds = |p: f64, n: f64| (kl_lower(p / n, beta / n), kl_upper(p / n, beta / n));
        let undecided = |p: f64, n: f64| {
            let (mean, (lb, ub)) = (p / n, bounds(p, n));
            (mean >= opts.threshold && lb < opts.threshold - opts.tau)
                || (mean < opts.threshold && ub >= opts.threshold + opts.tau)
        };
        loop {
            let more: Vec<usize> = (0..top.len())
                .filter(|&i| undecided(positives[i], n[i]))
                .collect();
            if more.is_empty() {
                break;
            }
            let rules: Vec<Rule> = more.iter().map(|&i| top[i].clone()).collect();
            for (&i, (p, t)) in more.iter().zip(s.draw(&rules, opts.batch_size)?) {
                positives[i] += p;
                n[i] += t;
            }
        }
        for (i, rule) in top.iter().enumerate() {
            let (mean, (lb, _)) = (positives[i] / n[i], bounds(positives[i], n[i]));
            let cov = s.rules[rule].coverage;
            if mean >= opts.threshold && lb > opts.threshold - opts.tau && cov > best_coverage {
                best_coverage = cov;
                best = Some(rule.clone());
            }
        }
        if best.is_some() && (best_coverage == 1.0 || opts.stop_on_first) {
            break;
        }
        size += 1;
    }
    let success = best.is_some();
    let best = match best {
        Some(b) => b,
        None => {
            // The most precise rule seen.
            let all: Vec<Rule> = best_of_size.iter().flatten().cloned().collect();
            s.best(&all, 1)?.remove(0)
        }
    };
    describe(&mut s, &best, label, success)
}

/// The anchor's words in the order they were added, each with the
/// precision and coverage up to it (alibi's `get_anchor_metadata`).
fn describe(s: &mut Search, rule: &Rule, label: usize, success: bool) -> Result<Anchor> {
    let order = s.rules[rule].order.clone();
    let mut words = Vec::new();
    let mut prefix: Rule = Vec::new();
    for &w in &order {
        prefix.push(w);
        prefix.sort_unstable();
        // A prefix never sampled for itself gets a batch, for its examples.
        if !s.rules.get(&prefix).is_some_and(|st| st.drawn) {
            s.draw(std::slice::from_ref(&prefix), s.opts.batch_size)?;
        }
        let coverage = s.coverage_of(&prefix);
        let st = &s.rules[&prefix];
        let (text, offsets) = s.sampler.word(w);
        words.push(AnchorWord {
            word: text,
            position: w,
            offsets,
            precision: st.positives / st.n,
            coverage,
        });
    }
    let st = &s.rules[rule];
    Ok(Anchor {
        predicted: label,
        predicted_label: s.model.labels()[label].clone(),
        precision: st.positives / st.n,
        coverage: s.coverage_of(rule),
        success,
        samples: s.kept.len(),
        covered_true: st.covered_true.clone(),
        covered_false: st.covered_false.clone(),
        words,
    })
}
