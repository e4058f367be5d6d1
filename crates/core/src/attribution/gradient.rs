//! One-backward attributions: gradient saliency and input × gradient.

use super::{per_token_sum, scores_and_gradients, TargetOutput};
use crate::classifier::{AttributionLayer, Classifier};
use crate::error::Result;
use crate::tokenizer::Tokenized;

/// Per-token scores of a one-backward method, with the score they explain.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientAttribution {
    pub attributions: Vec<f32>,
    pub score: f32,
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
    let x = model.layer_input(layer, input, &input.ids)?;
    let (scores, grads) = scores_and_gradients(model, layer, &x, input, target, output)?;
    let norms = grads.sqr()?.sum(2)?.sqrt()?.squeeze(0)?.to_vec1::<f32>()?;
    Ok(GradientAttribution {
        attributions: norms,
        score: scores[0],
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
    let x = model.layer_input(layer, input, &input.ids)?;
    let (scores, grads) = scores_and_gradients(model, layer, &x, input, target, output)?;
    Ok(GradientAttribution {
        attributions: per_token_sum(&(grads * x)?)?,
        score: scores[0],
    })
}
