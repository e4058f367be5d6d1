//! Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in
//! Transformers"): per layer, the mean over heads plus the identity for the
//! residual connection, rows renormalised; then the product through the
//! layers, first layer rightmost.

use candle_core::{DType, Device, Tensor, D};

use crate::error::Result;

/// The rolled-out attention of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// `(t, t)` row-major: how much token `i` at the top draws on input token `j`.
    pub matrix: Vec<f32>,
    pub tokens: usize,
    /// The `[CLS]` row: the usual per-token rollout score for classification.
    pub cls: Vec<f32>,
    /// The mean of all rows.
    pub mean: Vec<f32>,
}

/// `attentions`: one `(1, heads, t, t)` tensor per layer, bottom first.
pub fn attention_rollout(attentions: &[Tensor]) -> Result<Rollout> {
    let t = attentions.first().map(|a| a.dims()[3]).unwrap_or(0);
    let eye = Tensor::eye(t, DType::F32, &Device::Cpu)?;
    let mut rolled = eye.clone();
    for a in attentions {
        // Â = (mean_heads(A) + I), each row divided by its sum
        let a = (a.squeeze(0)?.mean(0)? + &eye)?;
        let a = a.broadcast_div(&a.sum_keepdim(D::Minus1)?)?;
        // rollout_l = Â_l · rollout_{l−1}
        rolled = a.matmul(&rolled)?;
    }
    let cls = rolled.narrow(0, 0, 1)?.squeeze(0)?.to_vec1::<f32>()?;
    let mean = rolled.mean(0)?.to_vec1::<f32>()?;
    Ok(Rollout {
        matrix: rolled.flatten_all()?.to_vec1::<f32>()?,
        tokens: t,
        cls,
        mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_of_two_layers_by_hand() {
        // One head, two tokens. Layer 1 attends fully to token 1; layer 2 is uniform.
        let l1 = Tensor::new(&[[[[0.0f32, 1.0], [0.0, 1.0]]]], &Device::Cpu).unwrap();
        let l2 = Tensor::new(&[[[[0.5f32, 0.5], [0.5, 0.5]]]], &Device::Cpu).unwrap();
        let r = attention_rollout(&[l1, l2]).unwrap();
        // Â1 = [[.5,.5],[0,1]], Â2 = [[.75,.25],[.25,.75]]; Â2·Â1 = [[.375,.625],[.125,.875]]
        let want = [0.375f32, 0.625, 0.125, 0.875];
        for (a, b) in r.matrix.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", r.matrix);
        }
        assert_eq!(r.cls.len(), 2);
        assert!((r.mean[0] - 0.25).abs() < 1e-6 && (r.mean[1] - 0.75).abs() < 1e-6);
    }
}
