//! bertlens-core: explain BERT-family text classifiers.
//!
//! The pipeline, bytes in and numbers out:
//!
//! 1. [`config`]: `config.json` → the encoder's configuration and the task
//!    (class names, softmax or sigmoid).
//! 2. [`weights`]: safetensors or PyTorch `.pt`/`.pth` bytes → named tensors;
//!    `.pt` files are parsed, never unpickled.
//! 3. [`models`]: the encoders (BERT, RoBERTa, DistilBERT), one flat file per
//!    architecture, with candle tensors: the reference implementation, built
//!    only from ops that candle's autograd differentiates correctly.
//!    [`engine`] runs the same network on the fast path: forward and
//!    input-only backward on plain buffers, held to the reference by the tests.
//! 4. [`head`]: classifier heads, Hugging Face's built in, others from `head.json`.
//! 5. [`tokenizer`]: text → ids with offsets and word ids.
//! 6. [`classifier`]: all of the above assembled into a [`Classifier`].
//! 7. [`attribution`]: Integrated Gradients, saliency, input × gradient and
//!    attention rollout, with Captum's names and defaults.
//! 8. [`explain`]: one call from text to an [`Explanation`].
//! 9. [`attention`]: attention maps and the vectors behind them.

pub mod attention;
pub mod attribution;
pub mod classifier;
pub mod config;
pub mod engine;
pub mod error;
pub mod explain;
pub mod files;
pub mod head;
pub mod models;
pub mod reference;
pub mod tokenizer;
pub mod weights;

pub use attribution::ig::Steps;
pub use attribution::quadrature::Integration;
pub use attribution::{Baseline, TargetOutput};
pub use classifier::{AttributionLayer, Classifier, Loaded, Prediction};
pub use error::{Error, Result};
pub use explain::{explain, ExplainOptions, Explanation, Method, Target};
pub use files::ModelFiles;
