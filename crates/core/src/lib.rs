//! bertlens-core: explain BERT-family models — classifiers, question
//! answering, token classification, fill-mask and bare encoders.
//!
//! The pipeline, bytes in and numbers out:
//!
//! 1. [`files`]: a model folder's files, found by Hugging Face's names.
//! 2. [`config`]: `config.json` → the task, the labels, and the encoder's
//!    configuration, parsed by its family.
//! 3. [`weights`]: safetensors or PyTorch `.pt`/`.pth`/`.bin` checkpoints,
//!    indexed (PyTorch pickles are parsed, never unpickled) and read in place.
//! 4. [`families`]: one file per encoder family (BERT/RoBERTa/XLM-R/CamemBERT,
//!    DistilBERT, ALBERT, ELECTRA, DeBERTa-v2/v3, ModernBERT): its config,
//!    its checkpoint key names, and the heads transformers builds on it.
//! 5. [`engine`]: the network on plain f32 buffers, forward and input-only
//!    backward; [`head_spec`]: `head.json` for heads transformers does not build.
//! 6. [`tokenizer`]: text → ids with offsets and word ids.
//! 7. [`model`]: all of the above assembled into a [`Model`].
//! 8. [`task`]: a head's output decoded as transformers' pipelines do
//!    (answers, entities, fillers).
//! 9. [`attribution`]: Integrated Gradients, saliency, input × gradient,
//!    occlusion, Shapley values, attention rollout and attention flow, with
//!    Captum's names and defaults.
//! 10. [`explain`]: one call from text to an [`Explanation`].
//! 11. [`attention_maps`]: attention maps and the vectors behind them.
//!     [`session`]: one input prepared once (one forward pass) and asked for
//!     its prediction, attentions, attributions, Integrated Gradients in
//!     jobs any worker computes, and the step-through.
//! 12. [`analysis`]: a labelled set through the model — errors, words per
//!     class, nearest rows, anchors, and the explanations' faithfulness.
//!
//! [`types`] holds the plain types every stage shares. With the `reference`
//! feature, [`reference`] is an independent candle implementation that the
//! tests differentiate with candle's autograd.

pub mod analysis;
pub mod attention_maps;
pub mod attribution;
pub mod config;
pub mod device;
pub mod engine;
pub mod error;
pub mod explain;
pub mod families;
pub mod files;
pub mod head_spec;
pub mod model;
#[cfg(feature = "reference")]
pub mod reference;
pub mod session;
pub mod steps;
pub mod task;
pub mod tokenizer;
pub mod types;
pub mod weights;

pub use attribution::gradient::SaliencyNorm;
pub use attribution::ig::{Steps, MAX_N_STEPS};
pub use attribution::noise::{NoiseBase, NtType};
pub use attribution::quadrature::Integration;
pub use attribution::{Baseline, TargetOutput};
pub use device::{DeviceChoice, DeviceInfo, DeviceKind};
pub use error::{Error, Result};
pub use explain::{
    explain, vocabulary, ExplainOptions, Explanation, Method, MethodInfo, Part, Target, Vocabulary,
};
pub use files::ModelFiles;
pub use model::{Model, Prediction};
pub use types::{AttributionLayer, Output, Pool, Task};
