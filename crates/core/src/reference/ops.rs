//! The building blocks every encoder shares, written only with tensor ops
//! whose backward candle implements correctly.
//!
//! candle's fused `softmax_last_dim`, `layer_norm`, `rms_norm` and the
//! `LayerNorm` module return no gradient (or a wrong one) silently, so they
//! are never used here: attribution differentiates through this file.

use candle_core::{Tensor, D};

use super::vb::Vb;
use crate::error::Result;
use crate::types::Activation;

/// `nn.Linear`: `x · Wᵀ + b`, for inputs of any rank.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Tensor, // (out, in)
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn load(vb: &Vb, in_dim: usize, out_dim: usize) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = Some(vb.get(out_dim, "bias")?);
        Ok(Self { weight, bias })
    }

    pub fn out_dim(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Fold the leading dimensions into one so the product is a single GEMM.
        let dims = x.dims();
        let in_dim = dims[dims.len() - 1];
        let rows = x.elem_count() / in_dim;
        let y = x.reshape((rows, in_dim))?.matmul(&self.weight.t()?)?;
        let y = match &self.bias {
            Some(b) => y.broadcast_add(b)?,
            None => y,
        };
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().expect("rank ≥ 1") = self.out_dim();
        Ok(y.reshape(out_dims)?)
    }
}

/// `nn.LayerNorm` over the last dimension, as mean and variance so that it
/// differentiates.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f64,
}

impl LayerNorm {
    pub fn load(vb: &Vb, size: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get(size, "weight")?,
            bias: vb.get(size, "bias")?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        // PyTorch uses the biased variance (divide by n).
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

/// `nn.Embedding`: rows of a table, by id.
#[derive(Debug, Clone)]
pub struct Embedding {
    pub weight: Tensor, // (rows, dim)
}

impl Embedding {
    pub fn load(vb: &Vb, rows: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            weight: vb.get((rows, dim), "weight")?,
        })
    }

    pub fn rows(&self) -> usize {
        self.weight.dims()[0]
    }

    /// `ids` of any shape → that shape plus `dim`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        let mut dims = ids.dims().to_vec();
        dims.push(self.weight.dims()[1]);
        let flat = ids.flatten_all()?;
        Ok(self.weight.index_select(&flat, 0)?.reshape(dims)?)
    }
}

/// Softmax over the last dimension. The row maximum is subtracted for
/// stability and detached: softmax is shift-invariant, so its gradient
/// through the maximum is exactly zero and need not be computed.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&sum)?)
}

/// The hidden activation, as `transformers.activations.ACT2FN` computes it.
pub fn activation(x: &Tensor, act: Activation) -> Result<Tensor> {
    Ok(match act {
        Activation::Gelu => x.gelu_erf()?,
        // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
        Activation::GeluTanh => {
            let inner = ((x + x.powf(3.0)? * 0.044715)? * (2.0 / std::f64::consts::PI).sqrt())?;
            ((x * 0.5)? * (inner.tanh()? + 1.0)?)?
        }
        Activation::Relu => x.relu()?,
        Activation::Silu => (x * candle_nn::ops::sigmoid(x)?)?,
        Activation::Tanh => x.tanh()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
        }
    }

    /// Central finite differences of `f` at `x`, one coordinate at a time.
    fn numeric_grad(f: impl Fn(&Tensor) -> f64, x: &[f32], shape: (usize, usize)) -> Vec<f32> {
        let h = 1e-3f32;
        (0..x.len())
            .map(|i| {
                let mut p = x.to_vec();
                let mut m = x.to_vec();
                p[i] += h;
                m[i] -= h;
                let tp = Tensor::from_vec(p, shape, &Device::Cpu).unwrap();
                let tm = Tensor::from_vec(m, shape, &Device::Cpu).unwrap();
                ((f(&tp) - f(&tm)) / (2.0 * h as f64)) as f32
            })
            .collect()
    }

    #[test]
    fn layer_norm_and_softmax_gradients_match_finite_differences() {
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..12).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.37).collect();
        let w = Tensor::new(&[1.1f32, 0.9, -0.5, 2.0], &dev).unwrap();
        let b = Tensor::new(&[0.1f32, -0.2, 0.3, 0.0], &dev).unwrap();
        let ln = LayerNorm {
            weight: w,
            bias: b,
            eps: 1e-12,
        };
        let probe = Tensor::new(&[0.3f32, -1.2, 0.7, 2.1], &dev).unwrap();
        // A scalar that depends on every output non-trivially.
        let f = |t: &Tensor| -> Tensor {
            let y = softmax_last_dim(&ln.forward(t).unwrap()).unwrap();
            let y = activation(&y.broadcast_mul(&probe).unwrap(), Activation::Gelu).unwrap();
            y.sum_all().unwrap()
        };
        let var = Var::from_vec(x.clone(), (3, 4), &dev).unwrap();
        let grads = f(var.as_tensor()).backward().unwrap();
        let g = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap();
        let analytic = g.to_vec1::<f32>().unwrap();
        let numeric = numeric_grad(|t| f(t).to_scalar::<f32>().unwrap() as f64, &x, (3, 4));
        close(&analytic, &numeric, 2e-3);
    }

    #[test]
    fn gelu_tanh_matches_the_formula() {
        let x = Tensor::new(&[-2.0f32, -0.5, 0.0, 0.5, 3.0], &Device::Cpu).unwrap();
        let y = activation(&x, Activation::GeluTanh)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want: Vec<f32> = [-2.0f32, -0.5, 0.0, 0.5, 3.0]
            .iter()
            .map(|&v| {
                0.5 * v
                    * (1.0
                        + ((2.0 / std::f32::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh())
            })
            .collect();
        close(&y, &want, 1e-6);
    }
}
