//! Captum's perturbation metrics of one explanation: `infidelity` (Yeh et
//! al. 2019) and `sensitivity_max`, with the perturbations drawn by the
//! caller (seeded) or given (the tests feed the fixture generator's).
//!
//! **Infidelity** needs a perturbation I that the per-token attributions
//! Φ can be multiplied with. A token is a vector, so the input is taken as
//! one multiplier per token on the embeddings block's output E (Captum's
//! `LayerIntegratedGradients` layer): g(m) = F(E ⊙ m), at m = 1. Then
//! m − I scales token i by 1 − Iᵢ, Iᵢ ~ N(0, σ²) on the non-special tokens
//! (0 on the special ones), and, as Captum's `infidelity(g, perturb_func,
//! inputs=1, attributions=Φ, normalize)` computes it,
//! infidelity = E[(β·IᵀΦ − (g(1) − g(1 − I)))²], β = 1 without
//! normalisation, else E[IᵀΦ·Δ] / E[(IᵀΦ)²] (so that the scale of Φ does
//! not matter: saliency and IG become comparable). F is the attributed
//! score (the target's logit by default).
//!
//! **Sensitivity-max** perturbs the model's continuous input, the word
//! embeddings (`inputs_embeds`), by uniform noise in [−r, r] (Captum's
//! `default_perturb_func`, r = 0.02), recomputes the explanation there with
//! the same method, layer, target and baseline token ids, and reports
//! max over the samples of ‖Φ(x + δ) − Φ(x)‖ / ‖Φ(x)‖ (Frobenius; a zero
//! ‖Φ(x)‖ counts as 1). The random baseline draws its scores from the row's
//! seed alone, so it does not move: its sensitivity is 0.

use super::faithfulness::{EvalMethod, InfidelityOptions, SensitivityOptions};
use super::random::Rng;
use crate::attribution::flow::{attention_flow, Sink};
use crate::attribution::ig::integrated_gradients;
use crate::attribution::rollout::attention_rollout;
use crate::attribution::{Differentiable, ForwardFunc, Scalar};
use crate::engine::{with_tape, Rows, Shared, Tape, Threads, Trace};
use crate::error::Result;
use crate::explain::{ExplainOptions, Method, RolloutRow};
use crate::model::Model;
use crate::tokenizer::Tokenized;
use crate::types::AttributionLayer;

/// The attribution method of an evaluated method (`None`: random).
pub fn method_of(m: EvalMethod) -> Option<Method> {
    match m {
        EvalMethod::Ig => Some(Method::Ig),
        EvalMethod::Saliency => Some(Method::Saliency),
        EvalMethod::InputXGradient => Some(Method::InputXGradient),
        EvalMethod::Rollout => Some(Method::Rollout),
        EvalMethod::AttentionFlow => Some(Method::AttentionFlow),
        EvalMethod::Random => None,
    }
}

/// The random baseline's scores of row `row`: one uniform draw in [0, 1)
/// per token, from the seed and the row's index alone.
pub fn random_attributions(seed: u64, row: usize, tokens: usize) -> Vec<f32> {
    let mut rng = Rng::for_item(seed, row as u64);
    (0..tokens).map(|_| rng.uniform() as f32).collect()
}

/// `n` perturbations I of the per-token multipliers, `(t,)` each: N(0, σ²)
/// on the non-special tokens, 0 on the special ones.
pub fn infidelity_perturbations(
    input: &Tokenized,
    opts: &InfidelityOptions,
    rng: &mut Rng,
) -> Vec<Vec<f32>> {
    (0..opts.n_perturb_samples)
        .map(|_| {
            input
                .special
                .iter()
                .map(|&s| {
                    if s {
                        0.0
                    } else {
                        (rng.normal() * opts.noise_std) as f32
                    }
                })
                .collect()
        })
        .collect()
}

/// `n` perturbations δ of the word embeddings, `(t·width,)` each, uniform
/// in [−r, r] (every token, as Captum perturbs the whole input).
pub fn sensitivity_perturbations(
    model: &Model,
    input: &Tokenized,
    opts: &SensitivityOptions,
    rng: &mut Rng,
) -> Vec<Vec<f32>> {
    let size = input.len() * model.width(AttributionLayer::WordEmbeddings);
    let r = opts.perturb_radius;
    (0..opts.n_perturb_samples)
        .map(|_| (0..size).map(|_| rng.uniform_in(-r, r) as f32).collect())
        .collect()
}

fn scalar(target: usize, opts: &ExplainOptions) -> Scalar {
    Scalar {
        rows: Rows::Pooled,
        contrast: None,
        class: target,
        output: opts.output,
    }
}

/// g(1) − g(1 − I) for each multiplier perturbation I (see the module):
/// the change of class `target`'s score, which every method's
/// infidelity shares.
pub fn infidelity_deltas(
    model: &Model,
    input: &Tokenized,
    target: usize,
    perturbations: &[Vec<f32>],
    opts: &ExplainOptions,
) -> Result<Vec<f64>> {
    let f = ForwardFunc::new(
        model,
        input,
        AttributionLayer::Embeddings,
        scalar(target, opts),
    )?;
    let e = f.activation(&input.ids)?;
    let w = f.width();
    let mut xs = e.clone();
    for p in perturbations {
        for (row, &i) in e.chunks_exact(w).zip(p) {
            xs.extend(row.iter().map(|v| v * (1.0 - i)));
        }
    }
    let scores = f.scores(&xs)?;
    Ok(scores[1..]
        .iter()
        .map(|&perturbed| scores[0] as f64 - perturbed as f64)
        .collect())
}

/// Captum's `infidelity` of per-token `attributions`, from the
/// perturbations and their [`infidelity_deltas`].
pub fn infidelity(
    perturbations: &[Vec<f32>],
    deltas: &[f64],
    attributions: &[f32],
    normalize: bool,
) -> f64 {
    // Per sample: IᵀΦ and Δ.
    let pairs: Vec<(f64, f64)> = perturbations
        .iter()
        .zip(deltas)
        .map(|(p, &d)| {
            let a = p
                .iter()
                .zip(attributions)
                .map(|(&i, &v)| i as f64 * v as f64)
                .sum();
            (a, d)
        })
        .collect();
    let n = pairs.len().max(1) as f64;
    if !normalize {
        return pairs.iter().map(|(a, d)| (a - d).powi(2)).sum::<f64>() / n;
    }
    let aa: f64 = pairs.iter().map(|(a, _)| a * a).sum();
    let ad: f64 = pairs.iter().map(|(a, d)| a * d).sum();
    let dd: f64 = pairs.iter().map(|(_, d)| d * d).sum();
    // beta = safe_div(E[IᵀΦ Δ], E[(IᵀΦ)²]), a zero denominator read as 1
    let beta = ad / if aa == 0.0 { 1.0 } else { aa };
    (beta * beta * aa - 2.0 * beta * ad + dd) / n
}

/// A [`Differentiable`] whose input activation is `x` (a perturbed one);
/// baselines' activations are the model's.
struct At<'a> {
    f: &'a ForwardFunc<'a>,
    ids: &'a [u32],
    x: Vec<f32>,
}

impl Differentiable for At<'_> {
    fn width(&self) -> usize {
        self.f.width()
    }

    fn activation(&self, ids: &[u32]) -> Result<Vec<f32>> {
        if ids == self.ids {
            Ok(self.x.clone())
        } else {
            self.f.activation(ids)
        }
    }

    fn scores(&self, xs: &[f32]) -> Result<Vec<f32>> {
        self.f.scores(xs)
    }

    fn scores_and_gradients(
        &self,
        xs: &[f32],
        tape: &mut Tape,
        threads: Threads,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        self.f.scores_and_gradients(xs, tape, threads)
    }

    fn bytes_per_point(&self) -> usize {
        self.f.bytes_per_point()
    }
}

/// The explanation of class `target` by `method` at each of `n` perturbed
/// word embeddings `words` (`(n·t, width)`), per token, `(t,)` each
/// (`None` for the random baseline, which does not read its input).
pub fn explain_at(
    model: &Model,
    input: &Tokenized,
    target: usize,
    method: EvalMethod,
    opts: &ExplainOptions,
    words: &[f32],
) -> Result<Option<Vec<Vec<f32>>>> {
    let t = input.len();
    let width = model.width(AttributionLayer::WordEmbeddings);
    let Some(m) = method_of(method) else {
        return Ok(None);
    };
    let opts = ExplainOptions {
        method: Some(m),
        ..opts.clone()
    };
    let net = model.network();
    let positions = model.positions(&input.ids);
    let shared = Shared {
        positions: &positions,
        types: &input.type_ids,
    };
    let Some(layer) = opts.layer_for(model.task()) else {
        // Rollout and attention flow: the attention of a forward pass from
        // each perturbed input.
        return Ok(Some(
            words
                .chunks_exact(t * width)
                .map(|w| {
                    let mut trace = Trace::default();
                    net.hidden_states(
                        w,
                        AttributionLayer::WordEmbeddings,
                        shared,
                        Some(&mut trace),
                        Threads::Pool,
                    );
                    let (p, layers, heads) =
                        (&trace.probabilities, model.num_layers(), model.num_heads());
                    let mean = opts.rollout_row == Some(RolloutRow::Mean);
                    if m == Method::AttentionFlow {
                        let sink = if mean { Sink::Mean } else { Sink::Token(0) };
                        return Ok(attention_flow(p, layers, heads, t, sink));
                    }
                    let r = attention_rollout(p, layers, heads, t);
                    Ok(if mean { r.mean } else { r.cls })
                })
                .collect::<Result<_>>()?,
        ));
    };
    let acts = match layer {
        AttributionLayer::WordEmbeddings => words.to_vec(),
        AttributionLayer::Embeddings => net.encoder.embeddings.forward(words, shared, None),
    };
    let f = ForwardFunc::new(model, input, layer, scalar(target, &opts))?;
    let w = f.width();
    let moved = match m {
        Method::Ig => {
            let baseline = opts.baseline.ids(model, input)?;
            acts.chunks_exact(t * w)
                .map(|x| {
                    let at = At {
                        f: &f,
                        ids: &input.ids,
                        x: x.to_vec(),
                    };
                    Ok(
                        integrated_gradients(&at, &input.ids, baseline.as_deref(), &opts.ig())?
                            .attributions,
                    )
                })
                .collect::<Result<_>>()?
        }
        _ => {
            let (_, grads) = with_tape(|tape| f.scores_and_gradients(&acts, tape, Threads::Pool))?;
            let per_token = |x: &[f32], g: &[f32]| -> f32 {
                match m {
                    Method::Saliency => match opts.norm {
                        crate::SaliencyNorm::L2 => g.iter().map(|v| v * v).sum::<f32>().sqrt(),
                        crate::SaliencyNorm::L1 => g.iter().map(|v| v.abs()).sum(),
                    },
                    _ => x.iter().zip(g).map(|(a, b)| a * b).sum(),
                }
            };
            acts.chunks_exact(t * w)
                .zip(grads.chunks_exact(t * w))
                .map(|(x, g)| {
                    x.chunks_exact(w)
                        .zip(g.chunks_exact(w))
                        .map(|(xr, gr)| per_token(xr, gr))
                        .collect()
                })
                .collect()
        }
    };
    Ok(Some(moved))
}

/// Captum's `sensitivity_max` from the explanation at the input and at
/// each perturbed input.
pub fn sensitivity_max(at_input: &[f32], perturbed: &[Vec<f32>]) -> f64 {
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let base = norm(&mut at_input.iter().map(|&v| v as f64));
    let base = if base == 0.0 { 1.0 } else { base };
    perturbed
        .iter()
        .map(|p| norm(&mut at_input.iter().zip(p).map(|(&a, &b)| a as f64 - b as f64)) / base)
        .fold(0.0, f64::max)
}

/// The word embeddings of `input` plus each perturbation, `(n·t, width)`.
pub fn perturbed_words(model: &Model, input: &Tokenized, perturbations: &[Vec<f32>]) -> Vec<f32> {
    let words = model.network().encoder.embeddings.words(&input.ids);
    perturbations
        .iter()
        .flat_map(|p| words.iter().zip(p).map(|(w, d)| w + d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitivity_is_the_largest_relative_change() {
        let s = sensitivity_max(
            &[3.0, 4.0],
            &[vec![3.0, 4.0], vec![3.0, 9.0], vec![0.0, 4.0]],
        );
        assert!((s - 1.0).abs() < 1e-12);
        assert_eq!(sensitivity_max(&[0.0, 0.0], &[vec![0.0, 0.5]]), 0.5);
    }

    #[test]
    fn infidelity_by_hand() {
        // Φ = (1, 2); I₁ = (1, 0), Δ₁ = 2; I₂ = (0, 1), Δ₂ = 1: IᵀΦ = 1, 2.
        let p = [vec![1.0, 0.0], vec![0.0, 1.0]];
        let raw = infidelity(&p, &[2.0, 1.0], &[1.0, 2.0], false);
        assert!((raw - 1.0).abs() < 1e-12); // ((1−2)² + (2−1)²) / 2
                                            // β = (2 + 2) / (1 + 4) = 0.8: ((0.8−2)² + (1.6−1)²) / 2 = 0.9
        let normalized = infidelity(&p, &[2.0, 1.0], &[1.0, 2.0], true);
        assert!((normalized - 0.9).abs() < 1e-12);
    }

    #[test]
    fn random_scores_depend_on_the_row_only() {
        assert_eq!(random_attributions(1, 4, 6), random_attributions(1, 4, 6));
        assert_ne!(random_attributions(1, 4, 6), random_attributions(1, 5, 6));
        assert!(random_attributions(1, 4, 6)
            .iter()
            .all(|v| (0.0..1.0).contains(v)));
    }
}
