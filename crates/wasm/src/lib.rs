//! bertlens in the browser: one `Explainer` built from the model's files,
//! methods that return plain objects (serde) or typed arrays, and one error
//! mapper to `JsError`. No logic lives here: it is all in `bertlens-core`.
//!
//! The weights are read where the page keeps them: each tensor is copied
//! once from the page's `Uint8Array` into the engine, so a worker holds one
//! copy of the weights, not the file's bytes beside them.
//!
//! The page's contract is written out by hand in `www/js/types.js`.

use bertlens_core::analysis::batch::{forward_all, Encoded};
use bertlens_core::analysis::dataset::unmatched_labels;
use bertlens_core::analysis::evaluate::RowFaithfulness;
use bertlens_core::analysis::faithfulness::FaithfulnessOptions;
use bertlens_core::analysis::metrics::metrics;
use bertlens_core::analysis::summary::{
    agreement_summary, summarize, AgreementSummary, MethodSummary,
};
use bertlens_core::analysis::words::{class_words, RowWords};
use bertlens_core::analysis::{
    analyze_rows, anchor, match_label, nearest, AnalysisOptions, AnchorOptions, EvalMethod, Row,
};
use bertlens_core::attention::Attentions;
use bertlens_core::attribution::adaptive::{self, AutoIg, Interval, Progress};
use bertlens_core::attribution::ig::{IgPlan, Steps};
use bertlens_core::attribution::path::IgPath;
use bertlens_core::attribution::ForwardFunc;
use bertlens_core::explain::Word;
use bertlens_core::explain::{
    analyze, assemble, explain_tokens, objectives, Analysis, Explained, Scores,
};
use bertlens_core::tokenizer::Tokenized;
use bertlens_core::weights::Source;
use bertlens_core::{ExplainOptions, Integration, Method, Model, ModelFiles, Task};
use js_sys::{
    Array, Float32Array, Float64Array, Int32Array, Object, Reflect, Uint32Array, Uint8Array,
};
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

/// A file the page holds, read at offsets without copying it whole.
struct JsBytes(Uint8Array);

impl Source for JsBytes {
    fn len(&self) -> u64 {
        self.0.length() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset + buf.len() as u64;
        if end > self.len() {
            return Err(format!(
                "bytes {offset}..{end} are past the end of the file ({} bytes)",
                self.len()
            ));
        }
        self.0.subarray(offset as u32, end as u32).copy_to(buf);
        Ok(())
    }
}

/// Files by name, their bytes where the page keeps them.
type Named = Vec<(String, Box<dyn Source>)>;

/// `[{name, bytes}]` → named sources.
fn named_files(files: &JsValue) -> Result<Named, JsError> {
    if !Array::is_array(files) {
        return Err(JsError::new(
            "the model's files must be an array of {name, bytes}",
        ));
    }
    let mut out: Named = Vec::new();
    for f in Array::from(files).iter() {
        let name = Reflect::get(&f, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .ok_or_else(|| JsError::new("a model file has no name"))?;
        let bytes = Reflect::get(&f, &"bytes".into()).unwrap_or(JsValue::UNDEFINED);
        if !bytes.is_instance_of::<Uint8Array>() {
            return Err(JsError::new(&format!("{name}: bytes must be a Uint8Array")));
        }
        out.push((name, Box::new(JsBytes(Uint8Array::new(&bytes)))));
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
    analysis: Analysis,
    explained: Explained,
    plan: IgPlan,
    /// For `n_steps: "auto"`, in the worker that drives the run.
    auto: Option<AutoIg>,
}

impl IgRun {
    fn forward<'a>(&'a self, model: &'a Model) -> Result<ForwardFunc<'a>, JsError> {
        let layer = self
            .opts
            .layer_for(model.task())
            .ok_or_else(|| JsError::new("integrated gradients needs a layer"))?;
        ForwardFunc::new(model, &self.input, layer, self.explained.scalar).map_err(into_error)
    }
}

/// A loaded model.
#[wasm_bindgen]
pub struct Explainer {
    model: Model,
    run: Option<IgRun>,
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
    /// What is explained: the class (label, vocabulary id, 0/1 for start/end) and its name.
    target: usize,
    target_label: String,
    /// The token whose output is explained (per-token heads).
    token: Option<usize>,
    /// Length of a gradient sum: tokens × width.
    size: usize,
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

impl Explainer {
    fn tokenize(&self, text: &str, pair: Option<&str>) -> Result<Tokenized, JsError> {
        self.model.tokenize(text, pair).map_err(into_error)
    }

    /// An Integrated Gradients run of `text` with `options` (the method
    /// forced to IG): the input, what is explained and the plan of its path,
    /// as `igStart` keeps it and `igPath` walks it.
    fn ig_run(&self, text: &str, pair: Option<String>, options: JsValue) -> Result<IgRun, JsError> {
        let mut opts = self::options(options)?;
        opts.method = Some(Method::Ig);
        let input = self.tokenize(text, pair.as_deref())?;
        let texts = [text, pair.as_deref().unwrap_or("")];
        let analysis =
            analyze(&self.model, &input, texts, opts.top_k, false).map_err(into_error)?;
        let explained = objectives(&self.model, &input, &opts, &analysis)
            .map_err(into_error)?
            .into_iter()
            .next()
            .ok_or_else(|| JsError::new("nothing to explain"))?;
        let layer = opts.layer_for(self.model.task()).expect("ig has a layer");
        let plan = {
            let f = ForwardFunc::new(&self.model, &input, layer, explained.scalar)
                .map_err(into_error)?;
            let baseline = opts.baseline.ids(&self.model, &input).map_err(into_error)?;
            IgPlan::new(&f, &input.ids, baseline.as_deref(), &opts.ig()).map_err(into_error)?
        };
        Ok(IgRun {
            input,
            texts: [text.to_string(), pair.unwrap_or_default()],
            opts,
            analysis,
            explained,
            plan,
            auto: None,
        })
    }

    fn run(&self) -> Result<&IgRun, JsError> {
        self.run
            .as_ref()
            .ok_or_else(|| JsError::new("no Integrated Gradients run: call igStart first"))
    }

    /// The task's prediction and, when `opts` has something to explain,
    /// its rollout (cheap: the pass's own attentions).
    fn analyzed(
        &self,
        text: &str,
        pair: Option<&str>,
        mut opts: ExplainOptions,
        trace: bool,
    ) -> Result<(Tokenized, bertlens_core::Explanation, Option<Attentions>), JsError> {
        let input = self.tokenize(text, pair)?;
        let texts = [text, pair.unwrap_or("")];
        let mut analysis =
            analyze(&self.model, &input, texts, opts.top_k, trace).map_err(into_error)?;
        let att = analysis
            .trace
            .take()
            .map(|t| Attentions::from_trace(&self.model, input.len(), t));
        let mut parts = Vec::new();
        if trace {
            opts.method = Some(Method::Rollout);
            // Nothing to explain yet (a text without a mask) is no error here.
            if let Ok(list) = objectives(&self.model, &input, &opts, &analysis) {
                for ex in list {
                    let scores = rollout(&self.model, &opts, &ex, att.as_ref().expect("traced"));
                    parts.push((ex, scores));
                }
            }
        }
        let e = assemble(&self.model, &input, texts, &opts, analysis, parts);
        Ok((input, e, att))
    }
}

/// Rollout from a pass's attentions, by the row `opts` asks for.
fn rollout(model: &Model, opts: &ExplainOptions, ex: &Explained, att: &Attentions) -> Scores {
    let r = att.rollout();
    let t = att.tokens;
    let attributions = match bertlens_core::explain::rollout_row(model, opts, ex) {
        bertlens_core::explain::RolloutRow::Cls => r.cls,
        bertlens_core::explain::RolloutRow::Mean => r.mean,
        bertlens_core::explain::RolloutRow::Token => {
            let i = ex.token.unwrap_or(0);
            r.matrix[i * t..(i + 1) * t].to_vec()
        }
    };
    Scores {
        attributions,
        score: None,
        delta: None,
        ig: None,
    }
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
        let files = ModelFiles::from_sources(&source, named_files(&files)?).map_err(into_error)?;
        let model = Model::load(files).map_err(into_error)?;
        Ok(Explainer { model, run: None })
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
        })
    }

    /// Tokens and the task's prediction, no attribution (`Explanation`).
    /// For question answering `text` is the question and `pair` the context.
    pub fn predict(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let (_, e, _) = self.analyzed(text, pair.as_deref(), self::options(options)?, false)?;
        to_js(&e)
    }

    /// One forward pass with every attention recorded (`Analysis`): the
    /// prediction and the rollout as an `Explanation`, and as typed arrays
    /// `probabilities` `[layer][head][query][key]`, `queries`/`keys`
    /// `[layer][head][token][d]`, `positionScores` (DeBERTa's relative
    /// terms of the scores, else empty), `rollout` `[query][key]`, with
    /// `scale` and the sliding `windows` of each layer.
    pub fn attentions(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<Object, JsError> {
        let (_, e, att) = self.analyzed(text, pair.as_deref(), self::options(options)?, true)?;
        let att = att.expect("traced");
        let rollout = att.rollout();
        let out = Object::new();
        set(&out, "explanation", to_js(&e)?)?;
        set(&out, "layers", att.layers as u32)?;
        set(&out, "heads", att.heads as u32)?;
        set(&out, "tokens", att.tokens as u32)?;
        set(&out, "headDim", att.head_dim as u32)?;
        set(&out, "scale", att.scale)?;
        set(&out, "windows", to_js(&att.windows)?)?;
        set(
            &out,
            "probabilities",
            Float32Array::from(&att.probabilities[..]),
        )?;
        set(&out, "queries", Float32Array::from(&att.queries[..]))?;
        set(&out, "keys", Float32Array::from(&att.keys[..]))?;
        set(
            &out,
            "positionScores",
            Float32Array::from(&att.position_scores[..]),
        )?;
        set(&out, "rollout", Float32Array::from(&rollout.matrix[..]))?;
        Ok(out)
    }

    /// Every step of `layer` for the query `token` (the classroom's
    /// step-through, `bertlens_core::steps::Steps` in camelCase-free JSON):
    /// the embeddings' terms, q, k, v, the model's attention row, Σ a v, the
    /// output projection, residuals, norms and feed-forward, from one
    /// forward pass.
    pub fn steps(
        &self,
        text: &str,
        pair: Option<String>,
        layer: usize,
        token: usize,
    ) -> Result<JsValue, JsError> {
        let input = self.tokenize(text, pair.as_deref())?;
        let s =
            bertlens_core::steps::steps(&self.model, &input, layer, token).map_err(into_error)?;
        to_js(&s)
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

    /// Starts Integrated Gradients in pieces (`IgStarted`) for the first
    /// scalar `options` explains (question answering: `part`, "start" by
    /// default): then `igGradientSum` over ranges of steps, here or in
    /// other workers that started the same run, and `igFinish` with their
    /// sum. Starting again drops a run in progress.
    #[wasm_bindgen(js_name = igStart)]
    pub fn ig_start(
        &mut self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        self.run = None;
        let mut run = self.ig_run(text, pair, options)?;
        let auto = run.opts.n_steps == Steps::Auto;
        let started = IgStarted {
            steps: run.plan.steps(),
            auto,
            nodes: adaptive::NODES,
            batch: run.plan.batch(),
            target: run.explained.target,
            target_label: run.explained.target_label.clone(),
            token: run.explained.token,
            size: run.plan.size(),
        };
        run.auto = auto.then(|| AutoIg::new(run.opts.tolerance, adaptive::MAX_STEPS));
        self.run = Some(run);
        to_js(&started)
    }

    /// The Integrated Gradients path point by point (`IgPath`), for the
    /// same scalar, layer and baseline as `igStart` with these options: the
    /// quadrature's alphas and weights, F at each point, each token's
    /// contribution `[k][token]`, a fine curve of F, and where the running
    /// sum ends (the attributions and the delta). `n_steps` must be a
    /// number. Leaves a run in progress as it is.
    #[wasm_bindgen(js_name = igPath)]
    pub fn ig_path(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let run = self.ig_run(text, pair, options)?;
        let path = run
            .plan
            .path(&run.forward(&self.model)?)
            .map_err(into_error)?;
        let IgRun {
            opts, explained, ..
        } = run;
        to_js(&IgPathOut {
            path,
            integration: opts.integration,
            target: explained.target,
            target_label: explained.target_label,
            token: explained.token,
        })
    }

    /// The weighted gradient sum of steps `[start, end)` of the current
    /// run, flat `(tokens × width)`.
    #[wasm_bindgen(js_name = igGradientSum)]
    pub fn ig_gradient_sum(&self, start: usize, end: usize) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        let part = run
            .plan
            .gradient_sum(&run.forward(&self.model)?, start..end)
            .map_err(into_error)?;
        Ok(Float32Array::from(&part[..]))
    }

    /// `n_steps: "auto"`: the next round's work (`IgRound`): the intervals
    /// whose gradient sums it needs (`igIntervalSum`, in any worker) and
    /// the points where it needs the score (`igScores`); `null` when the
    /// run has converged.
    #[wasm_bindgen(js_name = igRound)]
    pub fn ig_round(&mut self) -> Result<JsValue, JsError> {
        let auto = self
            .run
            .as_ref()
            .and_then(|r| r.auto.as_ref())
            .ok_or_else(|| JsError::new("no n_steps \"auto\" run: call igStart first"))?;
        let round = auto.round();
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
    /// (`n_steps: "auto"`), flat `(tokens × width)`.
    #[wasm_bindgen(js_name = igIntervalSum)]
    pub fn ig_interval_sum(&self, a: f64, b: f64) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        if !(0.0..=1.0).contains(&a) || !(a..=1.0).contains(&b) {
            return Err(JsError::new(&format!("[{a}, {b}] is not within [0, 1]")));
        }
        let sums = run
            .plan
            .interval_sums(
                &run.forward(&self.model)?,
                &[Interval { a, b }],
                adaptive::NODES,
            )
            .map_err(into_error)?;
        Ok(Float32Array::from(&sums[0][..]))
    }

    /// The attributed score at points `alphas` of the path (forward passes).
    #[wasm_bindgen(js_name = igScores)]
    pub fn ig_scores(&self, alphas: &[f64]) -> Result<Float32Array, JsError> {
        let run = self.run()?;
        let scores = run
            .plan
            .scores_at(&run.forward(&self.model)?, alphas)
            .map_err(into_error)?;
        Ok(Float32Array::from(&scores[..]))
    }

    /// Takes a round's results, the gradient sums of its intervals one
    /// after the other (flat) and the scores at its alphas, and says where
    /// the run stands (`IgProgress`).
    #[wasm_bindgen(js_name = igSubmit)]
    pub fn ig_submit(&mut self, sums: &[f32], scores: &[f32]) -> Result<JsValue, JsError> {
        let run = self
            .run
            .as_mut()
            .filter(|r| r.auto.is_some())
            .ok_or_else(|| JsError::new("no n_steps \"auto\" run: call igStart first"))?;
        let (size, diff) = (run.plan.size(), run.plan.diff());
        let auto = run.auto.as_mut().expect("checked");
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
            .finish(&run.forward(&self.model)?, &total)
            .map_err(into_error)?;
        if let Some(steps) = steps {
            r.n_steps = steps;
        }
        let texts = [run.texts[0].as_str(), run.texts[1].as_str()];
        let parts = vec![(run.explained.clone(), Scores::from_ig(r, &run.opts))];
        let e = assemble(
            &self.model,
            &run.input,
            texts,
            &run.opts,
            run.analysis.clone(),
            parts,
        );
        self.run = None;
        to_js(&e)
    }
}

/// The dataset workbench: a labelled set through the model, in pieces.
#[wasm_bindgen]
impl Explainer {
    /// Predictions of many rows at once (`BatchPrediction`): for row `i`,
    /// `predicted[i]` (-1 when the row could not be run: `errors[i]` says
    /// why), `probabilities[i·classes..]` and, when `pooled`, the vector
    /// the head reads at `vectors[i·dim..]` (zeros for a failed row).
    /// `pairs[i]` is row `i`'s second text ("" or absent: none). Rows are
    /// batched as `bertlens analyze` batches one block of rows, so a block
    /// of 64 consecutive rows gives the CLI's floats.
    #[wasm_bindgen(js_name = predictBatch)]
    pub fn predict_batch(
        &self,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        pooled: bool,
    ) -> Result<Object, JsError> {
        let n = texts.len();
        let pair = |i: usize| {
            pairs
                .as_ref()
                .and_then(|p| p.get(i))
                .map(String::as_str)
                .filter(|p| !p.is_empty())
        };
        let inputs: Vec<Result<Tokenized, String>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.model.tokenize(t, pair(i)).map_err(|e| e.to_string()))
            .collect();
        let encoded: Vec<Encoded> = inputs
            .iter()
            .flatten()
            .map(|t| Encoded {
                ids: t.ids.clone(),
                types: t.type_ids.clone(),
            })
            .collect();
        let mut forwards = forward_all(&self.model, &encoded, pooled)
            .map_err(into_error)?
            .into_iter();
        let classes = self.model.labels().len();
        let dim = if pooled { self.model.hidden_size() } else { 0 };
        let mut predicted = vec![-1i32; n];
        let mut probabilities = vec![0f32; n * classes];
        let mut vectors = vec![0f32; n * dim];
        let mut truncated = vec![0u8; n];
        let mut errors: Vec<Option<String>> = vec![None; n];
        for (i, input) in inputs.iter().enumerate() {
            let t = match input {
                Ok(t) => t,
                Err(e) => {
                    errors[i] = Some(e.clone());
                    continue;
                }
            };
            let f = forwards.next().expect("one forward per input");
            let p = self.model.prediction(f.logits);
            predicted[i] = p.predicted as i32;
            probabilities[i * classes..(i + 1) * classes].copy_from_slice(&p.probabilities);
            if let Some(v) = f.pooled.filter(|v| v.len() == dim) {
                vectors[i * dim..(i + 1) * dim].copy_from_slice(&v);
            }
            truncated[i] = t.truncated as u8;
        }
        let out = Object::new();
        set(&out, "rows", n as u32)?;
        set(&out, "classes", classes as u32)?;
        set(&out, "dim", dim as u32)?;
        set(&out, "predicted", Int32Array::from(&predicted[..]))?;
        set(
            &out,
            "probabilities",
            Float32Array::from(&probabilities[..]),
        )?;
        set(&out, "vectors", Float32Array::from(&vectors[..]))?;
        set(&out, "truncated", Uint8Array::from(&truncated[..]))?;
        set(&out, "errors", to_js(&errors)?)?;
        Ok(out)
    }

    /// Labels as a file spells them, matched to the model's classes by
    /// name, name up to case, or index (`LabelMatch`): `indices[i]` is -1
    /// when label `i` matches no class; `unmatched` lists those, most
    /// frequent first. An empty label is no label (-1, not listed).
    #[wasm_bindgen(js_name = matchLabels)]
    pub fn match_labels(&self, labels: Vec<String>) -> Result<Object, JsError> {
        let names = self.model.labels();
        let indices: Vec<i32> = labels
            .iter()
            .map(|l| match_label(names, l).map_or(-1, |i| i as i32))
            .collect();
        let unmatched = unmatched_labels(
            names,
            labels
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| (i, l.as_str())),
        );
        let out = Object::new();
        set(&out, "indices", Int32Array::from(&indices[..]))?;
        set(&out, "unmatched", to_js(&unmatched)?)?;
        Ok(out)
    }

    /// Each row's words and their attributions toward its predicted class
    /// (`RowWords`), by `method` (saliency by default, as `bertlens analyze`):
    /// row `i` has `counts[i]` words, at `words`/`scores` from the sum of
    /// the counts before it. `first` is the block's first row in the set,
    /// so that its batch is the CLI's. A row that cannot run has no words.
    #[wasm_bindgen(js_name = rowWords)]
    pub fn row_words(
        &self,
        first: usize,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        method: Option<String>,
    ) -> Result<Object, JsError> {
        let method = match method.as_deref() {
            None => Method::Saliency,
            Some(m) => serde_json::from_value(serde_json::Value::String(m.into()))
                .map_err(|e| JsError::new(&format!("method {m:?}: {e}")))?,
        };
        let rows: Vec<Row> = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Row {
                index: first + i,
                text,
                pair: pairs
                    .as_ref()
                    .and_then(|p| p.get(i))
                    .filter(|p| !p.is_empty())
                    .cloned(),
                label: None,
            })
            .collect();
        let opts = AnalysisOptions {
            method: Some(method),
            ..AnalysisOptions::default()
        };
        let results = analyze_rows(&self.model, &rows, &opts).map_err(into_error)?;
        let (mut words, mut scores, mut counts) = (Vec::new(), Vec::new(), Vec::new());
        for r in &results {
            let w = r.words.as_deref().unwrap_or_default();
            counts.push(w.len() as u32);
            words.extend(w.iter().map(|w| w.text.clone()));
            scores.extend(w.iter().map(|w| w.attribution));
        }
        let out = Object::new();
        set(&out, "words", to_js(&words)?)?;
        set(&out, "scores", Float32Array::from(&scores[..]))?;
        set(&out, "counts", Uint32Array::from(&counts[..]))?;
        Ok(out)
    }

    /// The `top` words of every predicted class over the rows given as
    /// `rowWords` gave them (`ClassWords` by class name), as
    /// `bertlens analyze` reports them: `predicted[i]` is row `i`'s class
    /// (-1: left out), `wrong[i]` 1 when its true label is another.
    #[wasm_bindgen(js_name = classWords)]
    pub fn class_words(
        &self,
        predicted: &[i32],
        wrong: &[u8],
        counts: &[u32],
        words: Vec<String>,
        scores: &[f32],
        top: usize,
    ) -> Result<JsValue, JsError> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if predicted.len() != counts.len() || wrong.len() != counts.len() {
            return Err(JsError::new(
                "predicted, wrong and counts must have one value per row",
            ));
        }
        if words.len() != total || scores.len() != total {
            return Err(JsError::new(&format!(
                "the counts add up to {total} words, but {} words and {} scores were given",
                words.len(),
                scores.len()
            )));
        }
        let all: Vec<Word> = words
            .into_iter()
            .zip(scores)
            .map(|(text, &attribution)| Word {
                text,
                sequence: 0,
                offsets: [0, 0],
                tokens: [0, 0],
                attribution,
                attribution_normalized: 0.0,
            })
            .collect();
        let mut start = 0;
        let mut rows = Vec::new();
        for i in 0..counts.len() {
            let end = start + counts[i] as usize;
            if let Ok(p) = usize::try_from(predicted[i]) {
                rows.push(RowWords {
                    predicted: p,
                    wrong: wrong[i] != 0,
                    words: &all[start..end],
                });
            }
            start = end;
        }
        to_js(&class_words(rows, self.model.labels(), top))
    }

    /// How faithful each method's explanation of the predicted class is
    /// (`RowFaithfulness`: ERASER's comprehensiveness and sufficiency per
    /// fraction and their AOPC, the deletion curve, Captum's infidelity and
    /// sensitivity-max unless their samples are 0, the methods' agreement),
    /// as `bertlens analyze --faithfulness` evaluates row `row` of a set
    /// (the row seeds the random baseline). `options`: `FaithfulnessOptions`.
    pub fn faithfulness(
        &self,
        text: &str,
        pair: Option<String>,
        row: usize,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let f: FaithfulnessOptions = if options.is_undefined() || options.is_null() {
            FaithfulnessOptions::default()
        } else {
            let invalid = |e: &dyn std::fmt::Display| {
                JsError::new(&format!("invalid faithfulness options: {e}"))
            };
            let json: serde_json::Value =
                serde_wasm_bindgen::from_value(options).map_err(|e| invalid(&e))?;
            serde_json::from_value(json).map_err(|e| invalid(&e))?
        };
        let rows = [Row {
            index: row,
            text: text.to_string(),
            pair: pair.filter(|p| !p.is_empty()),
            label: None,
        }];
        let opts = AnalysisOptions {
            faithfulness: Some(f),
            ..AnalysisOptions::default()
        };
        let r = analyze_rows(&self.model, &rows, &opts)
            .map_err(into_error)?
            .remove(0);
        match (r.faithfulness, r.error) {
            (Some(f), _) => to_js(&f),
            (None, Some(e)) => Err(JsError::new(&e)),
            (None, None) => Err(JsError::new("nothing was evaluated")),
        }
    }

    /// The anchor of the prediction (`Anchor`): the words that, kept while
    /// others are hidden, keep it with `threshold` precision, found as
    /// alibi's `AnchorText` finds them (KL-LUCB). `options`: `AnchorOptions`.
    #[wasm_bindgen(js_name = anchor)]
    pub fn anchor_of(
        &self,
        text: &str,
        pair: Option<String>,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let opts: AnchorOptions = if options.is_undefined() || options.is_null() {
            AnchorOptions::default()
        } else {
            let invalid =
                |e: &dyn std::fmt::Display| JsError::new(&format!("invalid anchor options: {e}"));
            let json: serde_json::Value =
                serde_wasm_bindgen::from_value(options).map_err(|e| invalid(&e))?;
            serde_json::from_value(json).map_err(|e| invalid(&e))?
        };
        let pair = pair.filter(|p| !p.is_empty());
        to_js(&anchor(&self.model, text, pair.as_deref(), &opts).map_err(into_error)?)
    }

    /// Accuracy, confusion matrix and per-class precision, recall, F1 and
    /// support as scikit-learn computes them (`Metrics`), of the pairs
    /// (`truth[i]`, `predicted[i]`) of class indices.
    pub fn metrics(&self, truth: &[u32], predicted: &[u32]) -> Result<JsValue, JsError> {
        if truth.len() != predicted.len() {
            return Err(JsError::new(&format!(
                "{} true labels but {} predictions",
                truth.len(),
                predicted.len()
            )));
        }
        let classes = self.model.labels().len();
        if let Some(bad) = truth
            .iter()
            .chain(predicted)
            .find(|&&c| c as usize >= classes)
        {
            return Err(JsError::new(&format!(
                "class {bad} is not one of the model's {classes} classes"
            )));
        }
        let pairs: Vec<(usize, usize)> = truth
            .iter()
            .zip(predicted)
            .map(|(&t, &p)| (t as usize, p as usize))
            .collect();
        to_js(&metrics(&pairs, self.model.labels()))
    }
}

/// The faithfulness of a set (`SetFaithfulness`): each method's metrics
/// averaged over `rows` (the `RowFaithfulness` of each evaluated row), its
/// mean deletion curve on the grid 0, 10, …, 100% removed, and the methods'
/// mean agreement: the `faithfulness` and `agreement` of `bertlens analyze
/// --faithfulness`. `fractions`: the ones the rows were evaluated at.
#[wasm_bindgen(js_name = summarizeFaithfulness)]
pub fn summarize_faithfulness(rows: JsValue, fractions: Vec<f64>) -> Result<JsValue, JsError> {
    let invalid = |e: &dyn std::fmt::Display| JsError::new(&format!("invalid rows: {e}"));
    let json: serde_json::Value = serde_wasm_bindgen::from_value(rows).map_err(|e| invalid(&e))?;
    let rows: Vec<RowFaithfulness> = serde_json::from_value(json).map_err(|e| invalid(&e))?;
    #[derive(Serialize)]
    struct SetFaithfulness {
        rows: usize,
        methods: std::collections::BTreeMap<EvalMethod, MethodSummary>,
        agreement: Vec<AgreementSummary>,
    }
    to_js(&SetFaithfulness {
        rows: rows.len(),
        methods: summarize(rows.iter(), &fractions),
        agreement: agreement_summary(rows.iter()),
    })
}

/// The `k` rows nearest to `query` by cosine similarity (`Nearest`):
/// `vectors` holds one vector of `query.len()` values per row, row `rows[i]`
/// at `vectors[i·dim..]`; `skip` leaves one row out (the query's own).
#[wasm_bindgen(js_name = nearestRows)]
pub fn nearest_rows(
    query: &[f32],
    vectors: &[f32],
    rows: &[u32],
    k: usize,
    skip: Option<u32>,
) -> Result<Object, JsError> {
    let dim = query.len();
    if dim == 0 || vectors.len() != rows.len() * dim {
        return Err(JsError::new(&format!(
            "{} values are not {} vectors of {dim}",
            vectors.len(),
            rows.len()
        )));
    }
    let candidates: Vec<(usize, &[f32])> = rows
        .iter()
        .zip(vectors.chunks_exact(dim))
        .map(|(&r, v)| (r as usize, v))
        .collect();
    let near = nearest(query, &candidates, k, skip.map(|s| s as usize));
    let ids: Vec<u32> = near.iter().map(|n| n.row as u32).collect();
    let sims: Vec<f32> = near.iter().map(|n| n.similarity).collect();
    let out = Object::new();
    set(&out, "rows", Uint32Array::from(&ids[..]))?;
    set(&out, "similarity", Float32Array::from(&sims[..]))?;
    Ok(out)
}
