//! One-backward attributions: gradient saliency and input × gradient.

use serde::{Deserialize, Serialize};

use super::Differentiable;
use crate::engine::{with_tape, Threads};
use crate::error::{Error, Result};

/// How saliency folds a token's gradient vector into one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SaliencyNorm {
    /// ‖∂F/∂x_i‖₂.
    #[default]
    L2,
    /// Σ_h |∂F/∂x_ih|: the "gradient influence" notebooks compute by hand.
    L1,
}

impl SaliencyNorm {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "l2" => Ok(Self::L2),
            "l1" => Ok(Self::L1),
            other => Err(Error::option(
                "norm",
                format!("{other:?} is not one of l2, l1"),
            )),
        }
    }
}

/// Per-token scores of a one-backward method, with the score they explain.
#[derive(Debug, Clone, PartialEq)]
pub struct GradientAttribution {
    pub attributions: Vec<f32>,
    pub score: f32,
}

/// x and ∂F/∂x at the input, `(t, width)` each, and F(x).
fn gradient(f: &impl Differentiable, ids: &[u32]) -> Result<(Vec<f32>, Vec<f32>, f32)> {
    let x = f.activation(ids)?;
    let (scores, grads) = with_tape(|tape| f.scores_and_gradients(&x, tape, Threads::Pool))?;
    Ok((x, grads, scores[0]))
}

/// Gradient saliency: the norm of ∂F/∂x_i over the hidden dimension, per
/// token (L2: of Captum's `Saliency` at the layer, whose `abs` does not change it).
pub fn saliency(
    f: &impl Differentiable,
    ids: &[u32],
    norm: SaliencyNorm,
) -> Result<GradientAttribution> {
    let (_, g, score) = gradient(f, ids)?;
    let fold = |row: &[f32]| match norm {
        SaliencyNorm::L2 => row.iter().map(|v| v * v).sum::<f32>().sqrt(),
        SaliencyNorm::L1 => row.iter().map(|v| v.abs()).sum(),
    };
    Ok(GradientAttribution {
        attributions: g.chunks_exact(f.width()).map(fold).collect(),
        score,
    })
}

/// Input × gradient: Σ_h x_ih · ∂F/∂x_ih per token (Captum's
/// `LayerGradientXActivation`, summed over the hidden dimension).
pub fn input_x_gradient(f: &impl Differentiable, ids: &[u32]) -> Result<GradientAttribution> {
    let (x, g, score) = gradient(f, ids)?;
    let w = f.width();
    Ok(GradientAttribution {
        attributions: x
            .chunks_exact(w)
            .zip(g.chunks_exact(w))
            .map(|(xr, gr)| xr.iter().zip(gr).map(|(a, b)| a * b).sum())
            .collect(),
        score,
    })
}
