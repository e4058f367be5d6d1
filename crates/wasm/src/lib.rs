//! bertlens in the browser: an `Explainer` built from the model's files, a
//! `Session` per input (one forward pass, then everything the page asks of
//! that input; its attention maps a view at a time, in attention.rs),
//! Integrated Gradients jobs any worker computes, and one error
//! mapper to `JsError`. No logic lives here: it is all in `bertlens-core`
//! (the session and the Integrated Gradients driver included); this crate
//! converts bytes and plain objects in, DTOs and typed arrays out.
//!
//! The weights are read where the page keeps them: each tensor is copied
//! once from the page's `Uint8Array` into the engine, so a worker holds one
//! copy of the weights, not the file's bytes beside them.
//!
//! The page's contract is written out by hand in `www/js/types.js`.

mod attention;
mod device;
mod files;
mod perturb;
mod probe;
mod workbench;

pub use device::{bertlens_run, take_result};
pub use probe::{probe_layer, probe_summary};
pub use workbench::{nearest_rows, summarize_faithfulness};

use std::rc::Rc;

use bertlens_core::attribution::ig::Points;
use bertlens_core::attribution::path::IgPath;
use bertlens_core::attribution::quadrature::Integration;
use bertlens_core::session::{IgJob, IgRun, Session as CoreSession};
use bertlens_core::{ExplainOptions, Model, ModelFiles, Task};
use js_sys::{Float32Array, Float64Array, Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The one error mapper: every error reaches JavaScript as a `JsError`
/// whose message is the core's, written for the user.
fn into_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(into_error)
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) -> Result<(), JsError> {
    Reflect::set(obj, &JsValue::from_str(key), &value.into())
        .map_err(|_| JsError::new(&format!("cannot set {key}")))?;
    Ok(())
}

/// The one parser of what the page passes: through a JSON value, so that
/// an unknown field (a typo) is an error, since serde-wasm-bindgen reads
/// only the fields a struct names. `what` names it in messages.
fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T, JsError> {
    let invalid = |e: &dyn std::fmt::Display| JsError::new(&format!("invalid {what}: {e}"));
    let json: serde_json::Value = serde_wasm_bindgen::from_value(v).map_err(|e| invalid(&e))?;
    serde_json::from_value(json).map_err(|e| invalid(&e))
}

/// [`from_js`], or the defaults when nothing is given.
fn or_default<T: DeserializeOwned + Default>(v: JsValue, what: &str) -> Result<T, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    from_js(v, what)
}

/// Explain options; none given: the defaults.
fn options(v: JsValue) -> Result<ExplainOptions, JsError> {
    or_default(v, "options")
}

#[wasm_bindgen(start)]
fn start() {
    device::install();
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("bertlens panicked: {info}").into());
    }));
}

/// A loaded model.
#[wasm_bindgen]
pub struct Explainer {
    model: Rc<Model>,
}

#[derive(Serialize)]
struct Info<'a> {
    model_type: &'a str,
    architecture: Option<&'a str>,
    task: Task,
    layers: usize,
    heads: usize,
    hidden_size: usize,
    max_tokens: usize,
    labels: &'a [String],
    output: bertlens_core::Output,
    mask_token: Option<&'a str>,
    warnings: &'a [String],
    /// The most Integrated Gradients steps a fixed rule computes.
    max_n_steps: usize,
    /// How its family's attention differs from BERT's.
    attention: Option<bertlens_core::families::AttentionFeatures>,
    /// The core's vocabulary: the methods, the defaults, the baselines.
    #[serde(flatten)]
    vocabulary: bertlens_core::Vocabulary,
}

/// `igPath`'s answer: the core's path and what it explains.
#[derive(Serialize)]
struct IgPathOut {
    #[serde(flatten)]
    path: IgPath,
    integration: Integration,
    target: usize,
    target_label: String,
    token: Option<usize>,
}

/// The core's vocabulary (`Vocabulary`): its methods (what each is, needs
/// and reads), the defaults and the baselines; no model needed.
#[wasm_bindgen]
pub fn vocabulary() -> Result<JsValue, JsError> {
    to_js(&bertlens_core::vocabulary())
}

#[wasm_bindgen]
impl Explainer {
    /// `files`: every file of the model as `{name, bytes: Uint8Array}`;
    /// they are sorted by name as in a Hugging Face folder (config.json, the
    /// tokenizer's files, fast or slow, model.safetensors or
    /// pytorch_model.bin or their shards or a .pt/.pth checkpoint, head.json
    /// and head.safetensors; weights in other formats, passed by name with
    /// no bytes, are said to be what they are). `source` names them in
    /// messages. The weights' bytes are read during the call and not kept.
    #[wasm_bindgen(constructor)]
    pub fn new(files: JsValue, source: Option<String>) -> Result<Explainer, JsError> {
        let source = source.unwrap_or_else(|| "the model".into());
        let files = ModelFiles::from_sources(&source, files::named(&files)?).map_err(into_error)?;
        let model = Model::load(files).map_err(into_error)?;
        Ok(Explainer {
            model: Rc::new(model),
        })
    }

    /// Architecture, task, sizes and class names (`ModelInfo`).
    pub fn info(&self) -> Result<JsValue, JsError> {
        let cfg = self.model.config();
        to_js(&Info {
            model_type: &cfg.model_type,
            architecture: cfg.architecture.as_deref(),
            task: self.model.task(),
            layers: self.model.num_layers(),
            heads: self.model.num_heads(),
            hidden_size: self.model.hidden_size(),
            max_tokens: self.model.tokenizer().max_tokens(),
            labels: self.model.labels(),
            output: self.model.output(),
            mask_token: self.model.tokenizer().mask_token(),
            warnings: self.model.warnings(),
            max_n_steps: bertlens_core::MAX_N_STEPS,
            attention: bertlens_core::families::attention_of(&cfg.model_type),
            vocabulary: bertlens_core::vocabulary(),
        })
    }

    /// The input `text` (question answering: the question, `pair` the
    /// context) prepared once: tokenized and run through the model, its
    /// attentions recorded when `attentions`. `options` give `top_k`.
    pub fn prepare(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
        attentions: bool,
    ) -> Result<Session, JsError> {
        let opts = self::options(options)?;
        let inner = CoreSession::prepare(&self.model, text, pair.as_deref(), &opts, attentions)
            .map_err(into_error)?;
        Ok(Session {
            model: self.model.clone(),
            inner: Rc::new(inner),
            run: None,
        })
    }

    /// Tokens, prediction and attributions in one call (`Explanation`), for
    /// an input no session holds. `options` use Captum's names: `n_steps`,
    /// `internal_batch_size`, `target`, `baseline` (or `baselines`);
    /// `integration` is what Captum calls `method` (the quadrature), since
    /// `method` here picks the attribution method.
    pub fn attribute(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let opts = self::options(options)?;
        // A question's long context is read in windows, as `prepare` reads it.
        to_js(
            &bertlens_core::explain(&self.model, text, pair.as_deref(), &opts)
                .map_err(into_error)?,
        )
    }

    /// Stages Σ wₖ ∂F/∂x over `points` (`{alphas, weights}`) of an
    /// Integrated Gradients `job` (a `Session.igStart`'s), for `bertlens_run`
    /// (device.rs): any worker holding the model computes it, without the
    /// session, on the device the model is placed on. Its result: flat
    /// `(tokens × width)`, f64.
    #[wasm_bindgen(js_name = igSum)]
    pub fn ig_sum(&self, job: JsValue, options: JsValue, points: JsValue) -> Result<(), JsError> {
        let job: IgJob = from_js(job, "job")?;
        let points: Points = from_js(points, "points")?;
        let opts = self::options(options)?;
        let model = self.model.clone();
        device::stage(move || {
            let sum = job
                .gradient_sum(&model, &opts, &points)
                .map_err(into_error)?;
            Ok(Float64Array::from(&sum[..]).into())
        });
        Ok(())
    }

    /// Stages F at points `alphas` of a `job`'s path (forward passes only);
    /// its result: `Float32Array`.
    #[wasm_bindgen(js_name = igScores)]
    pub fn ig_scores(&self, job: JsValue, options: JsValue, alphas: &[f64]) -> Result<(), JsError> {
        let job: IgJob = from_js(job, "job")?;
        let opts = self::options(options)?;
        let (model, alphas) = (self.model.clone(), alphas.to_vec());
        device::stage(move || {
            let scores = job.scores(&model, &opts, &alphas).map_err(into_error)?;
            Ok(Float32Array::from(&scores[..]).into())
        });
        Ok(())
    }
}

/// One input of the page, prepared once (see `Explainer.prepare`).
#[wasm_bindgen]
pub struct Session {
    model: Rc<Model>,
    inner: Rc<CoreSession>,
    /// The Integrated Gradients run in progress (the core's driver).
    run: Option<IgRun>,
}

#[wasm_bindgen]
impl Session {
    /// Tokens and the task's prediction (`Explanation`); with the
    /// attentions recorded, the rollout of what `options` explains.
    pub fn prediction(&self, options: JsValue) -> Result<JsValue, JsError> {
        to_js(&self.inner.prediction(&self.model, &self::options(options)?))
    }

    /// Stages the attributions `options` ask for, by any method, for
    /// `bertlens_run` (device.rs), on the device the model is placed on;
    /// its result: `Explanation` (Integrated Gradients with all its steps here).
    pub fn explain(&self, options: JsValue) -> Result<(), JsError> {
        let opts = self::options(options)?;
        let (model, inner) = (self.model.clone(), self.inner.clone());
        device::stage(move || {
            let e = inner.explain(&model, &opts, &|_| {}).map_err(into_error)?;
            to_js(&e)
        });
        Ok(())
    }

    /// The lens on every layer (`LensLayer[]`): the head on each layer's
    /// hidden states, from the embeddings' output (0) to the last layer;
    /// fill-mask reads the first mask's `options.top_k` fillers.
    pub fn lens(&self, options: JsValue) -> Result<JsValue, JsError> {
        let opts = self::options(options)?;
        to_js(
            &self
                .inner
                .lens(&self.model, opts.top_k)
                .map_err(into_error)?,
        )
    }

    /// Every step of `layer` for the query `token` (the classroom's
    /// step-through, `bertlens_core::steps::StepThrough`): the embeddings' terms,
    /// q, k, v, the attention row, Σ a v, the output projection,
    /// residuals, norms and feed-forward.
    pub fn steps(&self, layer: usize, token: usize) -> Result<JsValue, JsError> {
        to_js(
            &self
                .inner
                .steps(&self.model, layer, token)
                .map_err(into_error)?,
        )
    }

    /// Starts Integrated Gradients of the first scalar `options` explain
    /// (question answering: `part`, the start by default), its fixed steps
    /// cut into jobs for `workers` (`IgStarted`): the `job` any worker
    /// computes points of (`Explainer.igSum`, `igScores`), what is
    /// explained, and the first `round`. Starting again drops a run in
    /// progress.
    #[wasm_bindgen(js_name = igStart)]
    pub fn ig_start(&mut self, options: JsValue, workers: usize) -> Result<JsValue, JsError> {
        self.run = None;
        let run = self
            .inner
            .ig(&self.model, &self::options(options)?)
            .map_err(into_error)?;
        let chunk = run.chunk_for(workers);
        let started = to_js(&run.started(chunk))?;
        self.run = Some(run);
        Ok(started)
    }

    /// Takes a round's gradient sums (one after the other, flat, in the
    /// order of its jobs) and its scores; answers `{progress, round}`
    /// (`IgSubmitted`): where an `"auto"` run stands (`null` for fixed
    /// steps) and the next round (`null` when done).
    #[wasm_bindgen(js_name = igSubmit)]
    pub fn ig_submit(&mut self, sums: &[f64], scores: &[f32]) -> Result<JsValue, JsError> {
        let run = self
            .run
            .as_mut()
            .ok_or_else(|| JsError::new("no Integrated Gradients run: call igStart first"))?;
        let sums = sums
            .chunks(run.size().max(1))
            .map(<[f64]>::to_vec)
            .collect();
        let progress = run.submit(sums, scores).map_err(into_error)?;
        #[derive(Serialize)]
        struct Submitted {
            progress: Option<bertlens_core::attribution::adaptive::Progress>,
            round: Option<bertlens_core::attribution::ig::Round>,
        }
        // A fixed rule is one round; an adaptive round's jobs are its intervals.
        to_js(&Submitted {
            progress,
            round: run.round(usize::MAX),
        })
    }

    /// The run's `Explanation`, once its rounds are in.
    #[wasm_bindgen(js_name = igFinish)]
    pub fn ig_finish(&mut self) -> Result<JsValue, JsError> {
        let run = self
            .run
            .take()
            .ok_or_else(|| JsError::new("no Integrated Gradients run: call igStart first"))?;
        let scores = run.finish(&self.model).map_err(into_error)?;
        let e = self
            .inner
            .assemble(&self.model, &run.opts, vec![(run.explained, scores)]);
        to_js(&e)
    }

    /// The Integrated Gradients path point by point (`IgPath`), for the
    /// scalar, layer and baseline `igStart` would explain with these
    /// options: the quadrature's alphas and weights, F at each point, each
    /// token's contribution `[k][token]`, a fine curve of F, and where the
    /// running sum ends (the attributions and the delta). `n_steps` must be
    /// a number. Leaves a run in progress as it is.
    #[wasm_bindgen(js_name = igPath)]
    pub fn ig_path(&self, options: JsValue) -> Result<JsValue, JsError> {
        let run = self
            .inner
            .ig(&self.model, &self::options(options)?)
            .map_err(into_error)?;
        let path = run.path(&self.model).map_err(into_error)?;
        to_js(&IgPathOut {
            path,
            integration: run.opts.integration,
            target: run.explained.target,
            target_label: run.explained.target_label,
            token: run.explained.token,
        })
    }
}
