//! The reference head: pooling, then linear layers, activations and L2
//! normalisation, as candle tensors.

use candle_core::{Tensor, D};

use super::ops::{activation, Linear};
use super::vb::Vb;
use crate::error::{Error, Result};
use crate::head_spec::{HeadLayer, HeadSpec, Norm};
use crate::types::{Activation, Pool};

enum Step {
    Linear(Linear),
    Activation(Activation),
    Normalize,
}

/// A loaded head.
pub struct Head {
    pool: Pool,
    steps: Vec<Step>,
    num_classes: usize,
}

impl Head {
    /// Loads the head's layers from the root of the weights, checking each
    /// layer's input width against the one before it.
    pub fn load(vb: &Vb, spec: &HeadSpec, hidden: usize) -> Result<Self> {
        let mut width = hidden;
        let mut steps = Vec::with_capacity(spec.layers.len());
        let mut num_classes = None;
        for (i, layer) in spec.layers.iter().enumerate() {
            steps.push(match layer {
                HeadLayer::Linear(name) => {
                    let dims = vb.pp(name).dims("weight").ok_or_else(|| {
                        Error::HeadSpec(format!(
                            "layer {i} is `{name}`, but the weights have no `{name}.weight`"
                        ))
                    })?;
                    let [out, inp] = dims[..] else {
                        return Err(Error::HeadSpec(format!(
                            "layer {i}: `{name}.weight` has shape {dims:?}, expected a matrix"
                        )));
                    };
                    if inp != width {
                        return Err(Error::HeadSpec(format!(
                            "layer {i}: `{name}.weight` has shape {dims:?} and takes {inp} inputs, \
                             but the layer before gives {width}"
                        )));
                    }
                    width = out;
                    num_classes = Some(out);
                    Step::Linear(Linear::load(&vb.pp(name), inp, out)?)
                }
                HeadLayer::Activation(a) => Step::Activation(*a),
                HeadLayer::Normalize(Norm::L2) => Step::Normalize,
                HeadLayer::LayerNorm(_) => {
                    return Err(Error::HeadSpec(
                        "the reference head has no layer norm".into(),
                    ))
                }
            });
        }
        let num_classes = num_classes.ok_or_else(|| {
            Error::HeadSpec("the head has no linear layer, so it has no classes".into())
        })?;
        Ok(Self {
            pool: spec.pool,
            steps,
            num_classes,
        })
    }

    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// `(n, t, h)` hidden states → `(n, classes)` logits.
    pub fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        let mut x = match self.pool {
            Pool::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pool::Mean => hidden.mean(1)?,
            Pool::None => return Err(Error::HeadSpec("the reference head pools".into())),
        }; // (n, h)
        for step in &self.steps {
            x = match step {
                Step::Linear(l) => l.forward(&x)?,
                Step::Activation(a) => activation(&x, *a)?,
                // F.normalize: x / max(‖x‖₂, 1e-12)
                Step::Normalize => {
                    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
                    x.broadcast_div(&norm)?
                }
            };
        }
        Ok(x)
    }
}
