//! bertlens in the browser: one `Explainer` built from the model's bytes,
//! methods that return plain objects (serde) or typed arrays, and one error
//! mapper to `JsError`. No logic lives here: it is all in `bertlens-core`.
//!
//! The page's contract is written out by hand in `www/js/types.js`.

use bertlens_core::attention::attentions;
use bertlens_core::attribution::adaptive::{self, AutoIg, Interval, Progress};
use bertlens_core::attribution::ig::IgPlan;
use bertlens_core::explain::{
    assemble, explain_tokens, ig_options, layer_of, target_of, Explanation, Scores,
};
use bertlens_core::tokenizer::Tokenized;
use bertlens_core::{Classifier, ExplainOptions, Method, ModelFiles, Prediction, Steps};
use js_sys::{Array, Float32Array, Float64Array, Object, Reflect, Uint8Array};
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

fn options(v: JsValue) -> Result<ExplainOptions, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(ExplainOptions::default());
    }
    // Through a JSON value, so that an unknown option (a typo) is an error:
    // serde-wasm-bindgen reads only the fields a struct names.
    let invalid = |e: &dyn std::fmt::Display| JsError::new(&format!("invalid options: {e}"));
    let json: serde_json::Value = serde_wasm_bindgen::from_value(v).map_err(|e| invalid(&e))?;
    serde_json::from_value(json).map_err(|e| invalid(&e))
}

/// `[{name, bytes}]` → named files.
fn named_files(files: &JsValue) -> Result<Vec<(String, Vec<u8>)>, JsError> {
    if !Array::is_array(files) {
        return Err(JsError::new(
            "the model's files must be an array of {name, bytes}",
        ));
    }
    let mut out = Vec::new();
    for f in Array::from(files).iter() {
        let name = Reflect::get(&f, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .ok_or_else(|| JsError::new("a model file has no name"))?;
        let bytes = Reflect::get(&f, &"bytes".into()).unwrap_or(JsValue::UNDEFINED);
        if !bytes.is_instance_of::<Uint8Array>() {
            return Err(JsError::new(&format!("{name}: bytes must be a Uint8Array")));
        }
        out.push((name, Uint8Array::new(&bytes).to_vec()));
    }
    Ok(out)
}

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("bertlens panicked: {info}").into());
    }));
}

/// An Integrated Gradients run whose steps are computed in pieces.
struct IgRun {
    input: Tokenized,
    texts: [String; 2],
    opts: ExplainOptions,
    prediction: Prediction,
    target: usize,
    plan: IgPlan,
    /// For `n_steps: "auto"`, in the worker that drives the run.
    auto: Option<AutoIg>,
}

/// A loaded classifier.
#[wasm_bindgen]
pub struct Explainer {
    model: Classifier,
    run: Option<IgRun>,
}

#[derive(Serialize)]
struct Info<'a> {
    model_type: &'a str,
    architecture: Option<&'a str>,
    layers: usize,
    heads: usize,
    hidden_size: usize,
    max_tokens: usize,
    labels: &'a [String],
    output: bertlens_core::config::Output,
}

#[derive(Serialize)]
struct IgStarted {
    /// Steps of a fixed rule; 0 for `"auto"`, whose steps come in rounds.
    steps: usize,
    /// `n_steps: "auto"`: drive the run with igRound / igIntervalSum / igScores / igSubmit.
    auto: bool,
    /// For `"auto"`: Gauss–Legendre points per interval.
    nodes: usize,
    batch: usize,
    target: usize,
    /// Length of a gradient sum: tokens × hidden size.
    size: usize,
}

impl Explainer {
    fn tokenize(&self, text: &str, pair: Option<&str>) -> Result<Tokenized, JsError> {
        self.model.tokenize(text, pair).map_err(into_error)
    }

    fn run(&self) -> Result<&IgRun, JsError> {
        self.run
            .as_ref()
            .ok_or_else(|| JsError::new("no Integrated Gradients run: call igStart first"))
    }

    /// The plan and the adaptive state of an `n_steps: "auto"` run.
    fn auto(&mut self) -> Result<(&IgPlan, &mut AutoIg), JsError> {
        self.run
            .as_mut()
            .and_then(|r| Some((&r.plan, r.auto.as_mut()?)))
            .ok_or_else(|| JsError::new("no n_steps \"auto\" run: call igStart first"))
    }
}

#[wasm_bindgen]
impl Explainer {
    /// `files`: every file of the model as `{name, bytes: Uint8Array}`;
    /// they are sorted by name as in a Hugging Face folder (config.json,
    /// tokenizer.json, model.safetensors or a .pt/.pth/.bin checkpoint,
    /// head.json and head.safetensors). `source` names them in messages.
    #[wasm_bindgen(constructor)]
    pub fn new(files: JsValue, source: Option<String>) -> Result<Explainer, JsError> {
        let source = source.unwrap_or_else(|| "the model".into());
        let files = ModelFiles::from_named(&source, named_files(&files)?).map_err(into_error)?;
        let model = Classifier::load(&files).map_err(into_error)?;
        Ok(Explainer { model, run: None })
    }

    /// Architecture, sizes and class names (`ModelInfo`).
    pub fn info(&self) -> Result<JsValue, JsError> {
        let cfg = self.model.config();
        to_js(&Info {
            model_type: &cfg.model_type,
            architecture: cfg.architecture.as_deref(),
            layers: self.model.num_layers(),
            heads: self.model.num_heads(),
            hidden_size: self.model.hidden_size(),
            max_tokens: self.model.tokenizer().max_tokens(),
            labels: self.model.labels(),
            output: self.model.output(),
        })
    }

    /// Tokens and prediction, no attribution (`Explanation` with empty attributions).
    pub fn predict(&self, text: &str, pair: Option<String>) -> Result<JsValue, JsError> {
        let input = self.tokenize(text, pair.as_deref())?;
        let prediction = self.model.predict(&input).map_err(into_error)?;
        let opts = ExplainOptions::default();
        let target = prediction.predicted;
        let e = assemble(
            &self.model,
            &input,
            [text, pair.as_deref().unwrap_or("")],
            &opts,
            prediction,
            target,
            Scores::none(),
        );
        to_js(&e)
    }

    /// One forward pass with every attention recorded (`Analysis`): the
    /// prediction and the rollout as an `Explanation`, and as typed arrays
    /// `probabilities` `[layer][head][query][key]`, `queries`/`keys`
    /// `[layer][head][token][d]`, `rollout` `[query][key]`.
    pub fn attentions(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<Object, JsError> {
        let mut opts = self::options(options)?;
        opts.method = Method::Rollout;
        let input = self.tokenize(text, pair.as_deref())?;
        let (prediction, att, rollout) = attentions(&self.model, &input).map_err(into_error)?;
        let target = target_of(&self.model, &opts, &prediction).map_err(into_error)?;
        let matrix = Float32Array::from(&rollout.matrix[..]);
        let e: Explanation = assemble(
            &self.model,
            &input,
            [text, pair.as_deref().unwrap_or("")],
            &opts,
            prediction,
            target,
            Scores::from_rollout(rollout, opts.rollout_row),
        );
        let out = Object::new();
        set(&out, "explanation", to_js(&e)?)?;
        set(&out, "layers", att.layers as u32)?;
        set(&out, "heads", att.heads as u32)?;
        set(&out, "tokens", att.tokens as u32)?;
        set(&out, "headDim", att.head_dim as u32)?;
        set(
            &out,
            "probabilities",
            Float32Array::from(&att.probabilities[..]),
        )?;
        set(&out, "queries", Float32Array::from(&att.queries[..]))?;
        set(&out, "keys", Float32Array::from(&att.keys[..]))?;
        set(&out, "rollout", matrix)?;
        Ok(out)
    }

    /// Tokens, prediction and attributions in one call (`Explanation`).
    /// `options` use Captum's names: `n_steps`, `internal_batch_size`,
    /// `target`, `baseline` (or `baselines`); `integration` is what Captum
    /// calls `method` (the quadrature), since `method` here picks the
    /// attribution method.
    pub fn attribute(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let opts = self::options(options)?;
        let input = self.tokenize(text, pair.as_deref())?;
        let e = explain_tokens(
            &self.model,
            &input,
            [text, pair.as_deref().unwrap_or("")],
            &opts,
        )
        .map_err(into_error)?;
        to_js(&e)
    }

    /// Starts Integrated Gradients in pieces (`IgStarted`): then
    /// `igGradientSum` over ranges of steps, here or in other workers that
    /// started the same run, and `igFinish` with their sum. Starting again
    /// drops a run in progress.
    #[wasm_bindgen(js_name = igStart)]
    pub fn ig_start(
        &mut self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        self.run = None;
        let mut opts = self::options(options)?;
        opts.method = Method::Ig;
        let input = self.tokenize(text, pair.as_deref())?;
        let prediction = self.model.predict(&input).map_err(into_error)?;
        let target = target_of(&self.model, &opts, &prediction).map_err(into_error)?;
        let layer = layer_of(&opts).ok_or_else(|| JsError::new("ig has no layer"))?;
        let plan = IgPlan::new(&self.model, &input, target, &ig_options(&opts, layer))
            .map_err(into_error)?;
        let auto = opts.n_steps == Steps::Auto;
        let auto_ig = AutoIg::new(opts.tolerance, adaptive::MAX_STEPS);
        let started = IgStarted {
            steps: plan.steps(),
            auto,
            nodes: adaptive::NODES,
            batch: plan.batch(),
            target,
            size: plan.size(),
        };
        self.run = Some(IgRun {
            input,
            texts: [text.to_string(), pair.unwrap_or_default()],
            opts,
            prediction,
            target,
            plan,
            auto: auto.then_some(auto_ig),
        });
        to_js(&started)
    }

    /// The weighted gradient sum of steps `[start, end)` of the current
    /// run, flat `(tokens × hidden)`.
    #[wasm_bindgen(js_name = igGradientSum)]
    pub fn ig_gradient_sum(&self, start: usize, end: usize) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        let part = run
            .plan
            .gradient_sum(&self.model, &run.input, start..end)
            .map_err(into_error)?;
        Ok(Float32Array::from(&part[..]))
    }

    /// `n_steps: "auto"`: the next round's work (`IgRound`): the intervals
    /// whose gradient sums it needs (`igIntervalSum`, in any worker) and
    /// the points where it needs the score (`igScores`); `null` when the
    /// run has converged.
    #[wasm_bindgen(js_name = igRound)]
    pub fn ig_round(&mut self) -> Result<JsValue, JsError> {
        let round = self.auto()?.1.round();
        if round.intervals.is_empty() {
            return Ok(JsValue::NULL);
        }
        let out = Object::new();
        let ends: Vec<f64> = round.intervals.iter().flat_map(|i| [i.a, i.b]).collect();
        set(&out, "intervals", Float64Array::from(&ends[..]))?;
        set(&out, "alphas", Float64Array::from(&round.alphas[..]))?;
        Ok(out.into())
    }

    /// The weighted gradient sum over the Gauss–Legendre points of `[a, b]`
    /// (`n_steps: "auto"`), flat `(tokens × hidden)`.
    #[wasm_bindgen(js_name = igIntervalSum)]
    pub fn ig_interval_sum(&self, a: f64, b: f64) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        if !(0.0..=1.0).contains(&a) || !(a..=1.0).contains(&b) {
            return Err(JsError::new(&format!("[{a}, {b}] is not within [0, 1]")));
        }
        let sums = run.plan.interval_sums(
            &self.model,
            &run.input,
            &[Interval { a, b }],
            adaptive::NODES,
        );
        Ok(Float32Array::from(&sums[0][..]))
    }

    /// The attributed score at points `alphas` of the path (forward passes).
    #[wasm_bindgen(js_name = igScores)]
    pub fn ig_scores(&self, alphas: &[f64]) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        let scores = run.plan.scores_at(&self.model, &run.input, alphas);
        Ok(Float32Array::from(&scores[..]))
    }

    /// Takes a round's results, the gradient sums of its intervals one
    /// after the other (flat) and the scores at its alphas, and says where
    /// the run stands (`IgProgress`).
    #[wasm_bindgen(js_name = igSubmit)]
    pub fn ig_submit(&mut self, sums: &[f32], scores: &[f32]) -> Result<JsValue, JsError> {
        let (plan, auto) = self.auto()?;
        let (size, diff) = (plan.size(), plan.diff());
        let round = auto.round();
        if sums.len() != round.intervals.len() * size || scores.len() != round.alphas.len() {
            return Err(JsError::new(&format!(
                "this round needs {} gradient sums of {size} values and {} scores",
                round.intervals.len(),
                round.alphas.len()
            )));
        }
        auto.submit(
            sums.chunks_exact(size).map(<[f32]>::to_vec).collect(),
            scores,
            diff,
        );
        let Progress {
            steps,
            rounds,
            delta,
            relative_error,
            done,
        } = auto.advance();
        let out = Object::new();
        set(&out, "steps", steps as u32)?;
        set(&out, "rounds", rounds as u32)?;
        set(&out, "delta", delta)?;
        set(&out, "relativeError", relative_error)?;
        set(&out, "done", done)?;
        Ok(out.into())
    }

    /// The run's `Explanation`, from the sum of the gradient sums of all
    /// its steps (for `"auto"`, from what the rounds submitted: `total` is
    /// then ignored).
    #[wasm_bindgen(js_name = igFinish)]
    pub fn ig_finish(&mut self, total: &[f32]) -> Result<JsValue, JsError> {
        let run = self.run()?;
        let (total, steps) = match &run.auto {
            Some(auto) => (auto.total(), Some(auto.steps())),
            None => (total.to_vec(), None),
        };
        let mut r = run
            .plan
            .finish(&self.model, &run.input, &total)
            .map_err(into_error)?;
        if let Some(steps) = steps {
            r.n_steps = steps;
        }
        let texts = [run.texts[0].as_str(), run.texts[1].as_str()];
        let e = assemble(
            &self.model,
            &run.input,
            texts,
            &run.opts,
            run.prediction.clone(),
            run.target,
            Scores::from_ig(r, &run.opts),
        );
        self.run = None;
        to_js(&e)
    }
}
