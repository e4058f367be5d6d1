//! Dataset analysis: a labelled set through the model, its errors, and
//! explanations of the set and of the explanations themselves.
//!
//! Work comes in pieces, so that a page can spread it over workers and a
//! cluster over machines: [`analyze_rows`] turns any rows (each with its
//! index in the whole set) into [`RowResult`]s; [`Report::from_rows`] turns
//! all of them, from however many pieces, into the [`Report`]; shard
//! reports merge with [`Report::merge`] into the report one run gives.
//!
//! - [`dataset`]: rows, labels matched to the model's classes by name or
//!   index, deterministic shards;
//! - [`batch`]: forward passes of many inputs at once (grouped by length);
//! - [`metrics`]: accuracy, confusion matrix, precision/recall/F1 as
//!   scikit-learn computes them; [`rank`]: Spearman and Kendall as scipy;
//! - [`words`]: per-class word attributions; [`neighbours`]: the nearest
//!   rows by the model's pooled vector;
//! - [`faithfulness`] (ERASER's comprehensiveness and sufficiency, AOPC,
//!   deletion curves, agreement) and [`perturbation`] (Captum's infidelity
//!   and sensitivity-max);
//! - [`anchors`]: rule-based explanations (Ribeiro et al. 2018, as alibi's
//!   `AnchorText`), with [`kl_lucb`]'s bandit;
//! - [`probe`]: which layer knows a property of the text (linear probes,
//!   [`logistic`] regression as scikit-learn fits it);
//! - [`random`]: the seeded generator every random draw uses.

pub mod anchors;
pub mod batch;
pub mod dataset;
pub mod evaluate;
pub mod faithfulness;
pub mod kl_lucb;
pub mod logistic;
pub mod metrics;
pub mod neighbours;
pub mod perturbation;
pub mod predict;
pub mod probe;
pub mod random;
pub mod rank;
pub mod report;
pub mod sampler;
pub mod summary;
pub mod words;

pub use anchors::{anchor, Anchor, AnchorOptions, AnchorPerturbation};
pub use dataset::{match_label, Row, Shard};
pub use faithfulness::{EvalMethod, FaithfulnessOptions, Removal};
pub use neighbours::{nearest, Neighbour};
pub use predict::{analyze_rows, AnalysisOptions};
pub use probe::{probe, ProbeLayer, ProbeOptions, ProbePool, ProbeReport};
pub use report::{Fingerprint, Report, RowResult};
