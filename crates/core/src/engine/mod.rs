//! The network on plain `f32` buffers: embeddings, encoder layers and head,
//! forward, and backward with input gradients only.
//!
//! Attribution needs ∂F/∂x for many inputs x (the steps of Integrated
//! Gradients) and never the gradient of a weight. A general autograd records
//! a graph, allocates every intermediate, and computes weight gradients it
//! throws away; this module runs each block's forward pass once, keeps only
//! what its backward pass reads (q, k, v and the attention probabilities,
//! the normalised layer-norm inputs, the activation's derivative), and then
//! walks back with input gradients only, into buffers allocated once per
//! batch. The tests hold it to transformers and Captum, to finite
//! differences, and (for BERT and DistilBERT) to candle's autograd.
//!
//! One set of blocks serves every family ([`crate::families`] loads the
//! weights into them by checkpoint key): post-norm layers (BERT, ALBERT,
//! ELECTRA, DeBERTa) and pre-norm ones (ModernBERT), an MLP or a gated
//! (GLU) feed-forward, and three kinds of self-attention ([`attention`]).
//!
//! Shapes: a batch is `n` sequences of `t` tokens; activations are row-major
//! `(n·t, width)` matrices.

pub mod attention;
pub mod conv;
pub mod embeddings;
pub mod encoder;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod head;
pub mod kernels;
pub mod record;

use std::sync::Arc;

pub use attention::Attention;
pub use embeddings::{Embeddings, PositionIds};
pub use encoder::{Encoder, Layer, Norms, Tape};
pub use head::{Head, Rows};
pub use kernels::Threads;
pub use record::{LayerVectors, Probe, Trace};

use crate::error::{Error, Result};
use crate::types::{AttributionLayer, Output};
use crate::weights::Keys;

/// A weight tensor, row-major. Shared where a checkpoint shares it: a
/// decoder tied to the word embeddings, ALBERT's layers.
pub type Param = Arc<Vec<f32>>;

/// Whether a layer has a bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    /// `nn.Linear(…)`: the checkpoint must hold it.
    Required,
    /// `nn.Linear(…, bias=config.x)`: read it when the config says so.
    Absent,
}

impl Bias {
    pub fn from(present: bool) -> Self {
        if present {
            Bias::Required
        } else {
            Bias::Absent
        }
    }
}

/// `nn.Linear`: `weight` `(out, in)` row-major, and `bias` `(out)` (zeros when it has none).
#[derive(Debug, Clone)]
pub struct Linear {
    pub weight: Param,
    pub bias: Param,
}

impl Linear {
    pub fn out_dim(&self) -> usize {
        self.bias.len()
    }

    pub fn in_dim(&self) -> usize {
        self.weight.len() / self.bias.len().max(1)
    }

    /// `weight` (and `bias`) under `keys`, of shape `(out, inp)`.
    pub fn load(keys: &Keys, inp: usize, out: usize, bias: Bias) -> Result<Self> {
        let weight = keys.tensor("weight", &[out, inp])?;
        let bias = match bias {
            Bias::Required => keys.tensor("bias", &[out])?,
            Bias::Absent => vec![0.0; out],
        };
        Ok(Self {
            weight: Arc::new(weight),
            bias: Arc::new(bias),
        })
    }

    /// Several Linears of the same input read into one stacked matrix, so
    /// that one product computes them all (q, k and v).
    /// Each part is read (its shape checked against the file) before the
    /// stack grows, so sizes from a config never allocate by themselves.
    pub fn load_stacked(parts: &[Keys], inp: usize, out: usize, bias: Bias) -> Result<Self> {
        let mut weight = Vec::new();
        let mut biases = Vec::new();
        for keys in parts {
            let w = keys.tensor("weight", &[out, inp])?;
            weight.reserve_exact(parts.len() * w.len());
            weight.extend_from_slice(&w);
            match bias {
                Bias::Required => biases.extend(keys.tensor("bias", &[out])?),
                Bias::Absent => biases.resize(biases.len() + out, 0.0),
            }
        }
        Ok(Self {
            weight: Arc::new(weight),
            bias: Arc::new(biases),
        })
    }

    /// A decoder whose weight is another tensor (the word embeddings).
    pub fn tied(weight: Param, bias: Vec<f32>) -> Self {
        Self {
            weight,
            bias: Arc::new(bias),
        }
    }

    /// Rows `[from, to)` of the output, as weight and bias slices.
    pub fn rows(&self, from: usize, to: usize) -> (&[f32], &[f32]) {
        let k = self.in_dim();
        (&self.weight[from * k..to * k], &self.bias[from..to])
    }
}

/// `nn.LayerNorm` weights (`beta` zeros for `bias=False`).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub gamma: Param,
    pub beta: Param,
    pub eps: f32,
}

impl LayerNorm {
    /// `weight` and `bias` under `keys` (or the older `gamma` and `beta`
    /// that TF-converted checkpoints such as bert-base-uncased still use).
    pub fn load(keys: &Keys, size: usize, eps: f64, bias: Bias) -> Result<Self> {
        let weight = keys
            .first_of(&["weight", "gamma"])
            .unwrap_or("weight".into());
        let gamma = keys.tensor(&weight, &[size])?;
        let beta = match bias {
            Bias::Required => {
                let name = keys.first_of(&["bias", "beta"]).unwrap_or("bias".into());
                keys.tensor(&name, &[size])?
            }
            Bias::Absent => vec![0.0; size],
        };
        Ok(Self {
            gamma: Arc::new(gamma),
            beta: Arc::new(beta),
            eps: eps as f32,
        })
    }

    pub fn size(&self) -> usize {
        self.gamma.len()
    }
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

/// The inputs every sequence of a batch shares: position and token-type ids.
#[derive(Debug, Clone, Copy)]
pub struct Shared<'a> {
    pub positions: &'a [u32],
    pub types: &'a [u32],
}

impl Shared<'_> {
    pub fn tokens(&self) -> usize {
        self.types.len()
    }
}

/// The scalar an attribution explains: logit `class` of the head's output
/// at `rows` (for a per-token head, one token), or its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub rows: Rows,
    /// The output explained: a class of the head's row (with [`Rows::All`],
    /// `token · classes + class`).
    pub class: usize,
    /// An output whose score is subtracted (contrastive attribution).
    pub contrast: Option<usize>,
    /// `None`: the logit; `Some(f)`: its probability under `f`.
    pub probability: Option<Output>,
}

/// The encoder's layers on some device: the forward pass keeping in a tape
/// what its backward pass reads, and the input-only backward pass. The CPU
/// engine ([`OnCpu`]) and the GPU backend (`gpu::GpuEncoder`) implement it;
/// [`Network::scores_and_gradients_on`] runs either between the embeddings
/// block and the head, which stay on the CPU.
pub trait Layers {
    type Tape: Default;
    /// The last hidden states `(n·t, h)` of the embeddings block's output
    /// `x` `(n·t, width)`.
    fn forward(&self, x: Vec<f32>, n: usize, t: usize, tape: &mut Self::Tape) -> Result<Vec<f32>>;
    /// ∂F/∂(last hidden states) in, ∂F/∂(embeddings block output) out.
    fn backward(&self, g: Vec<f32>, tape: &mut Self::Tape) -> Result<Vec<f32>>;
}

/// The CPU engine's layers, on `threads`.
#[derive(Debug, Clone, Copy)]
pub struct OnCpu<'a> {
    pub encoder: &'a Encoder,
    pub threads: Threads,
}

impl Layers for OnCpu<'_> {
    type Tape = Tape;

    fn forward(&self, x: Vec<f32>, n: usize, t: usize, tape: &mut Tape) -> Result<Vec<f32>> {
        Ok(self.encoder.forward(x, n, t, tape, None, self.threads))
    }

    fn backward(&self, g: Vec<f32>, tape: &mut Tape) -> Result<Vec<f32>> {
        Ok(self.encoder.backward(g, tape, self.threads))
    }
}

/// Encoder and head together: what a checkpoint computes.
#[derive(Debug, Clone)]
pub struct Network {
    pub encoder: Encoder,
    /// `None` for a bare encoder.
    pub head: Option<Head>,
}

impl Network {
    pub fn hidden(&self) -> usize {
        self.encoder.hidden
    }

    fn head(&self) -> Result<&Head> {
        self.head.as_ref().ok_or(Error::NoHead)
    }

    /// The last hidden states `(n·t, h)` of `n` sequences given at `entry`,
    /// `(n·t, width)`; with a trace, records the first sequence's attention.
    pub fn hidden_states(
        &self,
        xs: &[f32],
        entry: AttributionLayer,
        shared: Shared,
        trace: Option<&mut Trace>,
        threads: Threads,
    ) -> Vec<f32> {
        let t = shared.tokens();
        let x = match entry {
            AttributionLayer::WordEmbeddings => self.encoder.embeddings.forward(xs, shared, None),
            AttributionLayer::Embeddings => xs.to_vec(),
        };
        let n = x.len() / (t * self.encoder.embeddings.out_width());
        with_tape(|tape| self.encoder.forward(x, n, t, tape, trace, threads))
    }

    /// The last hidden states of `n` sequences given as word embeddings
    /// `(n·t, width)`, the pass told to `rec` as it goes.
    pub(crate) fn hidden_states_recorded(
        &self,
        words: &[f32],
        shared: Shared,
        rec: &mut impl record::Recorder,
        threads: Threads,
    ) -> Vec<f32> {
        let t = shared.tokens();
        let x = self.encoder.embeddings.forward(words, shared, None);
        let n = x.len() / (t * self.encoder.embeddings.out_width());
        with_tape(|tape| self.encoder.forward_recorded(x, n, t, tape, rec, threads))
    }

    /// Logits of the head at `rows` of `n` sequences given at `entry`:
    /// `(n·rows, classes)`.
    pub fn logits(
        &self,
        xs: &[f32],
        entry: AttributionLayer,
        shared: Shared,
        rows: Rows,
        trace: Option<&mut Trace>,
        threads: Threads,
    ) -> Result<Vec<f32>> {
        let head = self.head()?;
        let h = self.hidden_states(xs, entry, shared, trace, threads);
        let t = shared.tokens();
        Ok(head.forward(&h, h.len() / (t * self.hidden()), t, rows, None))
    }

    /// The scores of `n` sequences given at `entry` (`(n·t, width)`) and
    /// their gradients with respect to `xs` (same shape), computed in `tape`
    /// on the CPU.
    pub fn scores_and_gradients(
        &self,
        xs: &[f32],
        entry: AttributionLayer,
        shared: Shared,
        objective: Objective,
        tape: &mut Tape,
        threads: Threads,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let layers = OnCpu {
            encoder: &self.encoder,
            threads,
        };
        let mut emb = std::mem::take(&mut tape.embeddings);
        let out =
            self.scores_and_gradients_on(&layers, tape, &mut emb, xs, entry, shared, objective);
        tape.embeddings = emb;
        out
    }

    /// [`Self::scores_and_gradients`] with the layers on `layers`' device.
    #[allow(clippy::too_many_arguments)]
    pub fn scores_and_gradients_on<L: Layers>(
        &self,
        layers: &L,
        tape: &mut L::Tape,
        emb_tape: &mut embeddings::EmbeddingsTape,
        xs: &[f32],
        entry: AttributionLayer,
        shared: Shared,
        objective: Objective,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let head = self.head()?;
        let t = shared.tokens();
        let emb = &self.encoder.embeddings;
        let x = match entry {
            AttributionLayer::WordEmbeddings => emb.forward(xs, shared, Some(emb_tape)),
            AttributionLayer::Embeddings => xs.to_vec(),
        };
        let n = x.len() / (t * emb.out_width());
        let hidden = layers.forward(x, n, t, tape)?;
        let mut head_tape = head::HeadTape::default();
        let logits = head.forward(&hidden, n, t, objective.rows, Some(&mut head_tape));
        let (scores, dlogits) = head::score(
            &logits,
            objective.rows.outputs(head.classes(), t),
            objective.class,
            objective.contrast,
            objective.probability,
        );
        let mut g = hidden; // no longer needed: it becomes the gradient
        head.backward(&dlogits, &head_tape, n, t, objective.rows, &mut g);
        let mut g = layers.backward(g, tape)?;
        if entry == AttributionLayer::WordEmbeddings {
            g = emb.backward(&g, emb_tape);
        }
        Ok((scores, g))
    }

    /// The logits at `rows` of `n` sequences given at `entry`, the layers on
    /// `layers`' device (forward only).
    pub fn logits_on<L: Layers>(
        &self,
        layers: &L,
        xs: &[f32],
        entry: AttributionLayer,
        shared: Shared,
        rows: Rows,
    ) -> Result<Vec<f32>> {
        let head = self.head()?;
        let t = shared.tokens();
        let x = match entry {
            AttributionLayer::WordEmbeddings => self.encoder.embeddings.forward(xs, shared, None),
            AttributionLayer::Embeddings => xs.to_vec(),
        };
        let n = x.len() / (t * self.encoder.embeddings.out_width());
        let h = layers.forward(x, n, t, &mut L::Tape::default())?;
        Ok(head.forward(&h, n, t, rows, None))
    }
}
