//! One-backward attributions: gradient saliency and input × gradient.

use super::{scores_and_gradients, TargetOutput};
use crate::classifier::{AttributionLayer, Classifier};
use crate::engine::{with_tape, Threads};
use crate::error::Result;
use crate::tokenizer::Tokenized;

/// Per-token scores of a one-backward method, with the score they explain.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientAttribution {
    pub attributions: Vec<f32>,
    pub score: f32,
}

/// x and ∂F/∂x at `layer`, `(t, h)` each, and F(x).
fn gradient(
    model: &Classifier,
    input: &Tokenized,
    target: usize,
    layer: AttributionLayer,
    output: TargetOutput,
) -> Result<(Vec<f32>, Vec<f32>, f32)> {
    let x = model.layer_input(layer, input, &input.ids)?;
    let (scores, grads) = with_tape(|tape| {
        scores_and_gradients(model, layer, &x, input, target, output, tape, Threads::Pool)
    });
    Ok((x, grads, scores[0]))
}

/// Gradient saliency: ‖∂F/∂x_i‖₂ over the hidden dimension, per token (the
/// L2 norm of Captum's `Saliency` at the layer; its `abs` does not change it).
pub fn saliency(
    model: &Classifier,
    input: &Tokenized,
    target: usize,
    layer: AttributionLayer,
    output: TargetOutput,
) -> Result<GradientAttribution> {
    let (_, g, score) = gradient(model, input, target, layer, output)?;
    let h = model.hidden_size();
    Ok(GradientAttribution {
        attributions: g
            .chunks_exact(h)
            .map(|row| row.iter().map(|v| v * v).sum::<f32>().sqrt())
            .collect(),
        score,
    })
}

/// Input × gradient: Σ_h x_ih · ∂F/∂x_ih per token (Captum's
/// `LayerGradientXActivation`, summed over the hidden dimension).
pub fn input_x_gradient(
    model: &Classifier,
    input: &Tokenized,
    target: usize,
    layer: AttributionLayer,
    output: TargetOutput,
) -> Result<GradientAttribution> {
    let (x, g, score) = gradient(model, input, target, layer, output)?;
    let h = model.hidden_size();
    Ok(GradientAttribution {
        attributions: x
            .chunks_exact(h)
            .zip(g.chunks_exact(h))
            .map(|(xr, gr)| xr.iter().zip(gr).map(|(a, b)| a * b).sum())
            .collect(),
        score,
    })
}
