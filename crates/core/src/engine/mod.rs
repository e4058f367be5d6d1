//! The fast path: the encoder and head of a classifier, forward and
//! backward, on plain `f32` buffers.
//!
//! Attribution needs ∂F/∂x for many inputs x (the steps of Integrated
//! Gradients) and never the gradient of a weight. A general autograd records
//! a graph, allocates every intermediate, and computes weight gradients it
//! throws away; this module runs each block's forward pass once, keeps only
//! what its backward pass reads (q, k, v and the attention probabilities,
//! the normalised layer-norm inputs, the activation's derivative), and then
//! walks back with input gradients only, into buffers allocated once per
//! batch. The blocks are the same as `crate::models` (the reference,
//! differentiated by candle's autograd); the tests hold the two together and
//! to finite differences.
//!
//! Shapes: a batch is `n` sequences of `t` tokens; activations are row-major
//! `(n·t, hidden)` matrices.

pub mod encoder;
pub mod head;
pub mod kernels;

pub use encoder::{Encoder, Tape};
pub use head::Head;
pub use kernels::Threads;

use candle_core::Tensor;

use crate::config::Activation;
use crate::error::Result;
use crate::models::ops;

/// A tensor's values as a flat `Vec<f32>` (row-major).
pub(crate) fn flat(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// `nn.Linear` weights: `weight` `(out, in)` row-major, and `bias` `(out)`.
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Linear {
    pub fn out_dim(&self) -> usize {
        self.bias.len()
    }

    pub fn in_dim(&self) -> usize {
        self.weight.len() / self.bias.len().max(1)
    }

    pub(crate) fn from_reference(l: &ops::Linear) -> Result<Self> {
        let weight = flat(&l.weight)?;
        let bias = match &l.bias {
            Some(b) => flat(b)?,
            None => vec![0.0; l.out_dim()],
        };
        Ok(Self { weight, bias })
    }

    /// Rows of several Linears of the same input stacked into one, so that
    /// one product computes them all (q, k and v).
    pub fn stack(parts: &[Linear]) -> Self {
        Self {
            weight: parts
                .iter()
                .flat_map(|p| p.weight.iter().copied())
                .collect(),
            bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect(),
        }
    }
}

/// `nn.LayerNorm` weights.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub eps: f32,
}

impl LayerNorm {
    pub(crate) fn from_reference(l: &ops::LayerNorm) -> Result<Self> {
        Ok(Self {
            gamma: flat(&l.weight)?,
            beta: flat(&l.bias)?,
            eps: l.eps as f32,
        })
    }
}

/// One post-norm encoder layer (BERT's and DistilBERT's are the same
/// computation under other names).
#[derive(Debug, Clone)]
pub struct Layer {
    /// q, k and v stacked: `(3·hidden, hidden)`.
    pub qkv: Linear,
    pub attention_output: Linear,
    pub attention_norm: LayerNorm,
    pub intermediate: Linear,
    pub output: Linear,
    pub output_norm: LayerNorm,
    pub act: Activation,
}

/// Runs `f` with a tape. In wasm, where a worker is one thread, one tape
/// serves every call: new buffers for every call (allocated and touched
/// afresh) made Integrated Gradients in pieces 1.7× slower in Chromium.
/// Natively every call has its own.
pub fn with_tape<R>(f: impl FnOnce(&mut Tape) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        thread_local! {
            static TAPE: std::cell::RefCell<Tape> = std::cell::RefCell::new(Tape::default());
        }
        TAPE.with(|cell| {
            let (mut guard, mut fresh);
            let tape: &mut Tape = match cell.try_borrow_mut() {
                Ok(g) => {
                    guard = g;
                    &mut guard
                }
                // Already in use further up the stack: a tape of its own.
                Err(_) => {
                    fresh = Tape::default();
                    &mut fresh
                }
            };
            f(tape)
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    f(&mut Tape::default())
}

/// A transformer block's reference weights, by role, whatever the checkpoint calls them.
pub(crate) struct ReferenceLayer<'a> {
    pub q: &'a ops::Linear,
    pub k: &'a ops::Linear,
    pub v: &'a ops::Linear,
    pub attention_output: &'a ops::Linear,
    pub attention_norm: &'a ops::LayerNorm,
    pub intermediate: &'a ops::Linear,
    pub output: &'a ops::Linear,
    pub output_norm: &'a ops::LayerNorm,
    pub act: Activation,
}

impl Layer {
    /// The fast path's copy of a block: q, k and v fused into one product.
    pub(crate) fn from_reference(r: ReferenceLayer) -> Result<Self> {
        Ok(Self {
            qkv: Linear::stack(&[
                Linear::from_reference(r.q)?,
                Linear::from_reference(r.k)?,
                Linear::from_reference(r.v)?,
            ]),
            attention_output: Linear::from_reference(r.attention_output)?,
            attention_norm: LayerNorm::from_reference(r.attention_norm)?,
            intermediate: Linear::from_reference(r.intermediate)?,
            output: Linear::from_reference(r.output)?,
            output_norm: LayerNorm::from_reference(r.output_norm)?,
            act: r.act,
        })
    }
}

/// Encoder and head together: what a classifier computes.
#[derive(Debug, Clone)]
pub struct Network {
    pub encoder: Encoder,
    pub head: Head,
}

/// Where in the network an input `x` enters.
pub use crate::classifier::AttributionLayer as Entry;

impl Network {
    pub fn hidden(&self) -> usize {
        self.encoder.hidden
    }

    /// Logits `(n, classes)` of `n` sequences given at `entry`, `(n·t, h)`;
    /// every sequence has the same positions and token types. With a trace,
    /// records the first sequence's attention.
    pub fn logits(
        &self,
        xs: &[f32],
        entry: Entry,
        positions: &[u32],
        types: &[u32],
        trace: Option<&mut encoder::Trace>,
        threads: Threads,
    ) -> Vec<f32> {
        let h = self.hidden();
        let t = positions.len();
        let n = xs.len() / (t * h);
        let mut x = xs.to_vec();
        if entry == Entry::WordEmbeddings {
            self.encoder.embed(&mut x, positions, types, None);
        }
        with_tape(|tape| self.encoder.forward(&mut x, n, t, tape, trace, threads));
        self.head.forward(&x, n, t, h, None)
    }

    /// The attributed scores of `n` sequences given at `entry` and their
    /// gradients with respect to `xs` (same shape), computed in `tape`.
    #[allow(clippy::too_many_arguments)]
    pub fn scores_and_gradients(
        &self,
        xs: &[f32],
        entry: Entry,
        positions: &[u32],
        types: &[u32],
        target: usize,
        probability: Option<crate::config::Output>,
        tape: &mut Tape,
        threads: Threads,
    ) -> (Vec<f32>, Vec<f32>) {
        let h = self.hidden();
        let t = positions.len();
        let n = xs.len() / (t * h);
        let mut x = xs.to_vec();
        self.encoder.tape(tape, n, t);
        if entry == Entry::WordEmbeddings {
            self.encoder.embed(&mut x, positions, types, Some(tape));
        }
        self.encoder.forward(&mut x, n, t, tape, None, threads);
        let mut head_tape = head::HeadTape::default();
        let logits = self.head.forward(&x, n, t, h, Some(&mut head_tape));
        let classes = self.head.classes();
        let (scores, dlogits) = head::score(&logits, classes, target, probability);
        // x is no longer needed: it becomes the gradient.
        self.head.backward(&dlogits, &head_tape, n, t, h, &mut x);
        self.encoder.backward(&mut x, tape, threads);
        if entry == Entry::WordEmbeddings {
            self.encoder.embed_backward(&mut x, tape);
        }
        (scores, x)
    }
}
