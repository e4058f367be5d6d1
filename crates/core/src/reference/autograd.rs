//! The reference's forward pass from a layer, and its gradients by candle's autograd.

use candle_core::{Device, Tensor, Var};

use super::ops::softmax_last_dim;
use super::Reference;
use crate::attribution::TargetOutput;
use crate::error::Result;
use crate::tokenizer::Tokenized;
use crate::types::{AttributionLayer, Output};

impl Reference {
    /// The activation of `layer` for `ids`, `(1, t, h)` (see
    /// [`crate::Model::layer_input`]).
    pub fn layer_input(
        &self,
        layer: AttributionLayer,
        input: &Tokenized,
        ids: &[u32],
    ) -> Result<Tensor> {
        let t = Tensor::from_slice(ids, (1, ids.len()), &Device::Cpu)?;
        let words = self.encoder.word_embeddings(&t)?;
        match layer {
            AttributionLayer::WordEmbeddings => Ok(words),
            AttributionLayer::Embeddings => {
                self.encoder
                    .embed(&words, &self.encoder.position_ids(ids), &input.type_ids)
            }
        }
    }

    /// Logits `(n, classes)` from `(n, t, h)` activations of `layer`.
    pub fn logits_from(
        &self,
        layer: AttributionLayer,
        x: &Tensor,
        input: &Tokenized,
    ) -> Result<Tensor> {
        let embedded = match layer {
            AttributionLayer::Embeddings => x.clone(),
            AttributionLayer::WordEmbeddings => {
                self.encoder
                    .embed(x, &self.encoder.position_ids(&input.ids), &input.type_ids)?
            }
        };
        let hidden = self.encoder.encode(&embedded, None)?;
        self.head.forward(&hidden)
    }

    /// Scores `(n,)` and their gradients `(n·t·h)` with respect to `n`
    /// activations of `layer`, flat `(n·t, h)`, by candle's autograd.
    pub fn scores_and_gradients(
        &self,
        layer: AttributionLayer,
        xs: &[f32],
        input: &Tokenized,
        target: usize,
        output: TargetOutput,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (t, h) = (input.len(), self.hidden);
        let n = xs.len() / (t * h);
        let x = Tensor::from_slice(xs, (n, t, h), &Device::Cpu)?;
        let var = Var::from_tensor(&x)?;
        let logits = self.logits_from(layer, var.as_tensor(), input)?;
        let picked = match (output, self.output) {
            (TargetOutput::Logit, _) => logits,
            (TargetOutput::Probability, Output::Softmax) => softmax_last_dim(&logits)?,
            (TargetOutput::Probability, Output::Sigmoid) => candle_nn::ops::sigmoid(&logits)?,
        };
        let s = picked.narrow(1, target, 1)?.squeeze(1)?;
        let grads = s.sum_all()?.backward()?;
        let g = match grads.get(var.as_tensor()) {
            Some(g) => g.flatten_all()?.to_vec1::<f32>()?,
            // The score does not depend on x at all (e.g. a ReLU head that is off).
            None => vec![0.0; xs.len()],
        };
        Ok((s.to_vec1::<f32>()?, g))
    }
}
