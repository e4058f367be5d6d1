//! One input, prepared once: tokenized, and run through the model once with
//! the attentions recorded when the views want them. A [`Session`] then
//! answers the prediction, the attention maps, attributions by any method,
//! Integrated Gradients in jobs that other workers compute (an [`IgJob`]:
//! serializable, it needs the model and nothing of the session), and the
//! classroom's step-through, without tokenizing or analysing the text again.
//! The perturbation methods' inputs are scored in jobs too (a
//! [`PerturbJob`]), and their attributions found from the scores.
//! The attention maps are handed out a layer or a head at a time, for views
//! that show one; their rollout is computed once, when first asked for.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::attention_maps::Attentions;
use crate::attribution::ablation::{Ablation, Features, Recorder, Replay, Scorer};
use crate::attribution::adaptive::Progress;
use crate::attribution::flow::Sink;
use crate::attribution::ig::{IgDriver, IgPlan, OnSteps, Points, Round};
use crate::attribution::path::IgPath;
use crate::attribution::rollout::Rollout;
use crate::attribution::{ForwardFunc, Scalar};
use crate::error::{Error, Result};
use crate::explain::{
    analyze, assemble, attribute_observed, objectives, perturb, Analysis, ExplainOptions,
    Explained, Explanation, Method, MethodKind, Scores,
};
use crate::model::Model;
use crate::steps::{steps, StepThrough};
use crate::task::{Answer, Window};
use crate::tokenizer::Tokenized;
use crate::types::{AttributionLayer, Task};

/// An input, tokenized and analysed once.
#[derive(Debug, Clone)]
pub struct Session {
    input: Tokenized,
    texts: [String; 2],
    top_k: usize,
    analysis: Analysis,
    attentions: Option<Attentions>,
    /// The rollout of `attentions`, once asked for.
    rollout: OnceLock<Rollout>,
    /// Every layer's hidden states as the head reads them, when the pass
    /// recorded its attentions (the lens reads them: no other pass). Kept
    /// out of `analysis`, which every explanation copies.
    layer_states: Option<Vec<Vec<f32>>>,
    /// Question answering, a context read in windows: each window as read
    /// (this session holds the best one's input).
    windows: Option<Vec<Window>>,
}

/// One layer's attention maps, or one head's of it, borrowed from a
/// session: `probabilities` `[head][query][key]`, `queries`/`keys`
/// `[head][token][d]`, `position_scores` `[head][query][key]` (DeBERTa's
/// relative terms, else empty), for the heads `heads`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerMaps<'a> {
    pub layer: usize,
    /// The first head and how many: `(0, heads)` for the whole layer.
    pub heads: (usize, usize),
    pub probabilities: &'a [f32],
    pub queries: &'a [f32],
    pub keys: &'a [f32],
    pub position_scores: &'a [f32],
}

impl Session {
    /// Tokenizes `text` (with `pair`: the second text, or the context of a
    /// question) and runs the model once, recording every attention when
    /// `record_attentions`. `top_k`: answers and fillers to list.
    pub fn new(
        model: &Model,
        text: &str,
        pair: Option<&str>,
        top_k: usize,
        record_attentions: bool,
    ) -> Result<Self> {
        let input = model.tokenize(text, pair)?;
        Self::from_tokens(
            model,
            input,
            [text, pair.unwrap_or("")],
            top_k,
            record_attentions,
        )
    }

    /// [`Session::new`] for an input already tokenized; `texts` are the
    /// originals, used to spell words and answers.
    pub fn from_tokens(
        model: &Model,
        input: Tokenized,
        texts: [&str; 2],
        top_k: usize,
        record_attentions: bool,
    ) -> Result<Self> {
        let mut analysis = analyze(model, &input, texts, top_k, record_attentions)?;
        let attentions = analysis
            .trace
            .take()
            .map(|t| Attentions::from_trace(model, input.len(), t));
        let layer_states = analysis.layer_states.take();
        Ok(Self {
            layer_states,
            windows: None,
            input,
            texts: texts.map(str::to_string),
            top_k,
            analysis,
            attentions,
            rollout: OnceLock::new(),
        })
    }

    /// [`Session::new`], with a question's context of any length read in
    /// windows of `opts.max_length` tokens overlapping by `opts.doc_stride`,
    /// as transformers' question-answering pipeline read them: the span
    /// rule in each window, the best span over all, and this session on
    /// the window it is in. Other tasks (and a context that fits one
    /// window) as [`Session::new`].
    pub fn prepare(
        model: &Model,
        text: &str,
        pair: Option<&str>,
        opts: &ExplainOptions,
        record_attentions: bool,
    ) -> Result<Self> {
        let (Task::QuestionAnswering, Some(context)) = (model.task(), pair) else {
            return Self::new(model, text, pair, opts.top_k, record_attentions);
        };
        opts.check(model.task())?;
        let mut windows =
            model.tokenize_windows(text, context, opts.max_length, opts.doc_stride)?;
        let texts = [text, context];
        if windows.len() == 1 {
            let input = windows.pop().expect("one window");
            return Self::from_tokens(model, input, texts, opts.top_k, record_attentions);
        }
        // Each window's best span; the session is on the window of the best.
        let mut read = Vec::with_capacity(windows.len());
        for (k, w) in windows.iter().enumerate() {
            let covered = (0..w.len()).filter(|&i| w.sequence[i] == Some(1));
            let start = covered.clone().map(|i| w.offsets[i].0).min().unwrap_or(0);
            let end = covered.map(|i| w.offsets[i].1).max().unwrap_or(0);
            let answer = analyze(model, w, texts, 1, false)?
                .answers
                .and_then(|a| a.into_iter().next())
                .map(|a| Answer {
                    window: Some(k),
                    ..a
                });
            read.push(Window {
                start,
                end,
                tokens: w.len(),
                answer,
                ..Window::default()
            });
        }
        let best = (0..read.len())
            .max_by(|&a, &b| {
                let score = |k: usize| {
                    read[k]
                        .answer
                        .as_ref()
                        .map_or(f32::NEG_INFINITY, |a| a.score)
                };
                // The first window on ties.
                score(a).total_cmp(&score(b)).then(b.cmp(&a))
            })
            .expect("two windows or more");
        let input = windows.swap_remove(best);
        let mut session = Self::from_tokens(model, input, texts, opts.top_k, record_attentions)?;
        for a in session.analysis.answers.iter_mut().flatten() {
            a.window = Some(best);
        }
        session.windows = Some(read);
        Ok(session)
    }

    pub fn input(&self) -> &Tokenized {
        &self.input
    }

    fn texts(&self) -> [&str; 2] {
        [self.texts[0].as_str(), self.texts[1].as_str()]
    }

    /// The lens on every layer of this input (`top_k` fillers for fill-mask):
    /// the head on each layer's hidden states (explain/lens.rs).
    pub fn lens(
        &self,
        model: &Model,
        top_k: usize,
    ) -> Result<Vec<crate::explain::lens::LensLayer>> {
        use crate::explain::lens::{lens, lens_of};
        match &self.layer_states {
            // Read off the session's own pass: no other forward pass.
            Some(states) => lens_of(model, &self.input, states, self.texts(), top_k),
            None => lens(model, &self.input, self.texts(), top_k),
        }
    }

    /// The attentions of the pass, if it recorded them.
    pub fn attentions(&self) -> Option<&Attentions> {
        self.attentions.as_ref()
    }

    fn recorded(&self) -> Result<&Attentions> {
        self.attentions.as_ref().ok_or_else(|| {
            Error::option(
                "attentions",
                "this input was prepared without its attentions",
            )
        })
    }

    /// The maps of `layer`: all its heads, or only `head`.
    pub fn attention_layer(&self, layer: usize, head: Option<usize>) -> Result<LayerMaps<'_>> {
        let att = self.recorded()?;
        if layer >= att.layers {
            let reason = format!(
                "the model has {} layers: 0 to {}",
                att.layers,
                att.layers - 1
            );
            return Err(Error::option("layer", reason));
        }
        let (first, count) = match head {
            Some(k) if k >= att.heads => {
                let reason = format!("the model has {} heads: 0 to {}", att.heads, att.heads - 1);
                return Err(Error::option("head", reason));
            }
            Some(k) => (k, 1),
            None => (0, att.heads),
        };
        let (t, d) = (att.tokens, att.head_dim);
        // Heads `first..first + count` of `layer` in a `[layer][head][n]` array (empty: none).
        let from = layer * att.heads + first;
        fn cut(v: &[f32], from: usize, count: usize, n: usize) -> &[f32] {
            v.get(from * n..(from + count) * n).unwrap_or(&[])
        }
        Ok(LayerMaps {
            layer,
            heads: (first, count),
            probabilities: cut(&att.probabilities, from, count, t * t),
            queries: cut(&att.queries, from, count, t * d),
            keys: cut(&att.keys, from, count, t * d),
            position_scores: cut(&att.position_scores, from, count, t * t),
        })
    }

    /// The rollout of the recorded attentions, computed on the first call.
    pub fn rollout(&self) -> Result<&Rollout> {
        let att = self.recorded()?;
        Ok(self.rollout.get_or_init(|| att.rollout()))
    }

    /// The attention flow of the recorded attentions into `sink`, per
    /// input token (computed on each call: one max-flow per token, and per
    /// position for [`Sink::Mean`]).
    pub fn attention_flow(&self, sink: Sink) -> Result<Vec<f32>> {
        let att = self.recorded()?;
        if let Sink::Token(i) = sink {
            if i >= att.tokens {
                let reason = format!("token {i} is not below the input's {} tokens", att.tokens);
                return Err(Error::option("token", reason));
            }
        }
        Ok(att.flow(sink))
    }

    /// What `opts` explains (question answering: the start and the end).
    pub fn objectives(&self, model: &Model, opts: &ExplainOptions) -> Result<Vec<Explained>> {
        self.check_top_k(opts)?;
        objectives(model, &self.input, opts, &self.analysis)
    }

    /// The session was analysed with its own number of answers and fillers.
    fn check_top_k(&self, opts: &ExplainOptions) -> Result<()> {
        if opts.top_k != self.top_k {
            return Err(Error::option(
                "top_k",
                format!(
                    "this input was analysed with top_k {}, not {}",
                    self.top_k, opts.top_k
                ),
            ));
        }
        Ok(())
    }

    /// The prediction; with the attentions recorded, also the rollout of
    /// what `opts` explains (the pass's own attentions: no more work).
    /// Nothing to explain yet (a text without a mask) is no error here.
    pub fn prediction(&self, model: &Model, opts: &ExplainOptions) -> Explanation {
        let mut parts = Vec::new();
        // Rollout explains no score: the preview drops a contrast.
        let opts = ExplainOptions {
            method: Some(Method::Rollout),
            contrast: None,
            ..opts.clone()
        };
        if let (Some(att), Ok(list)) = (&self.attentions, self.objectives(model, &opts)) {
            for ex in list {
                if let Ok(scores) = self.scores(model, &opts, &ex, Some(att), &|_| {}) {
                    parts.push((ex, scores));
                }
            }
        }
        self.assemble(model, &opts, parts)
    }

    /// Every scalar `opts` explains, attributed by its method (Integrated
    /// Gradients with all its steps here; `on_steps` hears of them).
    pub fn explain(
        &self,
        model: &Model,
        opts: &ExplainOptions,
        on_steps: OnSteps,
    ) -> Result<Explanation> {
        // A classified text the model cut, asked to be read whole: in windows
        // (a pair is cut as the tokenizer cuts it).
        let pair = self.input.sequence.contains(&Some(1));
        if opts.windows
            && self.input.truncated
            && !pair
            && matches!(
                model.task(),
                Task::SequenceClassification | Task::TokenClassification | Task::FillMask
            )
        {
            let text = &self.texts[0];
            return crate::explain::windows::explain_windows(model, text, None, opts, on_steps);
        }
        let mut parts = Vec::new();
        for ex in self.objectives(model, opts)? {
            let scores = self.scores(model, opts, &ex, self.attentions.as_ref(), on_steps)?;
            parts.push((ex, scores));
        }
        Ok(self.assemble(model, opts, parts))
    }

    fn scores(
        &self,
        model: &Model,
        opts: &ExplainOptions,
        ex: &Explained,
        att: Option<&Attentions>,
        on_steps: OnSteps,
    ) -> Result<Scores> {
        let probabilities = att.map(|a| a.probabilities.as_slice());
        attribute_observed(model, &self.input, opts, ex, probabilities, on_steps)
    }

    /// The explanation of `parts` (each explained scalar with its scores).
    pub fn assemble(
        &self,
        model: &Model,
        opts: &ExplainOptions,
        parts: Vec<(Explained, Scores)>,
    ) -> Explanation {
        let mut e = assemble(
            model,
            &self.input,
            self.texts(),
            opts,
            self.analysis.clone(),
            parts,
        );
        e.windows = self.windows.clone();
        e
    }

    /// Integrated Gradients of the first scalar `opts` explains (question
    /// answering: `part`, the start by default), to be computed in jobs.
    pub fn ig(&self, model: &Model, opts: &ExplainOptions) -> Result<IgRun> {
        let opts = ExplainOptions {
            method: Some(Method::Ig),
            ..opts.clone()
        };
        let explained = self
            .objectives(model, &opts)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::TaskInput("there is nothing to explain".into()))?;
        let layer = opts.layer_for(model.task()).expect("ig has a layer");
        let job = IgJob {
            input: self.input.clone(),
            baseline: opts.baseline.ids(model, &self.input)?,
            layer,
            scalar: explained.scalar,
        };
        let plan = job.plan(model, &opts)?;
        Ok(IgRun {
            driver: IgDriver::new(&plan),
            plan,
            job,
            explained,
            opts,
        })
    }

    /// A perturbation method (occlusion, Shapley values) of the first
    /// scalar `opts` explains (question answering: `part`, the start by
    /// default), its inputs to be scored in jobs.
    pub fn perturbation(&self, model: &Model, opts: &ExplainOptions) -> Result<PerturbRun> {
        let method = opts.method_for(model.task());
        if method.info().kind != MethodKind::Perturbation {
            return Err(Error::option(
                "method",
                format!("{} is not a perturbation method", method.info().label),
            ));
        }
        let explained = self
            .objectives(model, opts)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::TaskInput("there is nothing to explain".into()))?;
        let job = PerturbJob {
            method,
            input: self.input.clone(),
            baseline: opts.baseline.ids(model, &self.input)?,
            layer: opts
                .layer_for(model.task())
                .expect("a perturbation has a layer"),
            scalar: explained.scalar,
        };
        let inputs = job.sets(opts)?.len();
        Ok(PerturbRun {
            job,
            explained,
            opts: opts.clone(),
            inputs,
        })
    }

    /// Every vector of `layer` for the query `token` (the step-through).
    pub fn steps(&self, model: &Model, layer: usize, token: usize) -> Result<StepThrough> {
        steps(model, &self.input, layer, token)
    }
}

/// What a worker needs to compute points of one Integrated Gradients path:
/// the input, the baseline, the layer and the scalar; serializable, so
/// that any worker holding the model computes them without the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgJob {
    pub input: Tokenized,
    /// The baseline's ids (`None`: zero activations).
    pub baseline: Option<Vec<u32>>,
    pub layer: AttributionLayer,
    pub scalar: Scalar,
}

impl IgJob {
    fn forward<'a>(&'a self, model: &'a Model) -> Result<ForwardFunc<'a>> {
        ForwardFunc::new(model, &self.input, self.layer, self.scalar)
    }

    fn plan(&self, model: &Model, opts: &ExplainOptions) -> Result<IgPlan> {
        IgPlan::new(
            &self.forward(model)?,
            &self.input.ids,
            self.baseline.as_deref(),
            &opts.ig(),
        )
    }

    /// Σ wₖ ∂F(x′ + αₖ (x − x′))/∂x over `points`, flat `(tokens × width)`,
    /// in f64: what the driver adds up.
    pub fn gradient_sum(
        &self,
        model: &Model,
        opts: &ExplainOptions,
        points: &Points,
    ) -> Result<Vec<f64>> {
        let f = self.forward(model)?;
        self.plan(model, opts)?.points_sum_f64(&f, points, &|_| {})
    }

    /// F at the points `alphas` of the path (forward passes only).
    pub fn scores(&self, model: &Model, opts: &ExplainOptions, alphas: &[f64]) -> Result<Vec<f32>> {
        let f = self.forward(model)?;
        self.plan(model, opts)?.scores_at(&f, alphas)
    }
}

/// What a worker needs to score inputs of a perturbation method: the
/// input, the baseline, the layer and the scalar; serializable, so that
/// any worker holding the model scores them without the session. Which
/// inputs a method scores depends on the options alone (a seed for the
/// sampled ones), never on scores it has seen: [`PerturbJob::sets`] lists
/// them, workers score ranges of them, and [`PerturbRun::finish`] replays
/// the method over their scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerturbJob {
    /// Occlusion or Shapley values.
    pub method: Method,
    pub input: Tokenized,
    /// The baseline's ids (`None`: zero activations).
    pub baseline: Option<Vec<u32>>,
    pub layer: AttributionLayer,
    pub scalar: Scalar,
}

impl PerturbJob {
    /// Every input the method of `opts` scores, in order: the removed flags of each.
    pub fn sets(&self, opts: &ExplainOptions) -> Result<Vec<Vec<bool>>> {
        let features = Features::new(&self.input, opts.words);
        let recorder = Recorder::new(&features);
        perturb(&recorder, self.method, opts)?;
        Ok(recorder.into_sets())
    }

    /// F at the inputs `from..to` of [`PerturbJob::sets`], in f64.
    pub fn scores(
        &self,
        model: &Model,
        opts: &ExplainOptions,
        from: usize,
        to: usize,
    ) -> Result<Vec<f64>> {
        let sets = self.sets(opts)?;
        let range = sets.get(from..to).ok_or_else(|| {
            Error::option(
                "range",
                format!(
                    "inputs {from}..{to} are not among the {} scored",
                    sets.len()
                ),
            )
        })?;
        let f = ForwardFunc::new(model, &self.input, self.layer, self.scalar)?;
        let features = Features::new(&self.input, opts.words);
        let ab = Ablation::new(
            &f,
            &features,
            &self.input.ids,
            self.baseline.as_deref(),
            opts.internal_batch_size,
        )?;
        Scorer::scores(&ab, range)
    }
}

/// A perturbation method of one scalar of a session: its inputs scored by
/// workers ([`PerturbJob::scores`]), then [`PerturbRun::finish`]ed.
#[derive(Debug, Clone)]
pub struct PerturbRun {
    pub job: PerturbJob,
    pub explained: Explained,
    pub opts: ExplainOptions,
    /// How many inputs the method scores.
    pub inputs: usize,
}

impl PerturbRun {
    /// Inputs one of the page's jobs holds, for `workers` workers: small
    /// enough that progress moves and a cancel lands within a job.
    pub fn chunk_for(&self, workers: usize) -> usize {
        self.inputs
            .div_ceil(8 * workers.max(1))
            .clamp(1, MAX_PERTURB_CHUNK)
    }

    /// The attributions from the scores of every input, in the order of
    /// [`PerturbJob::sets`].
    pub fn finish(&self, scores: Vec<f64>) -> Result<Scores> {
        if scores.len() != self.inputs {
            return Err(Error::option(
                "scores",
                format!(
                    "{} scores for the method's {} inputs",
                    scores.len(),
                    self.inputs
                ),
            ));
        }
        let features = Features::new(&self.job.input, self.opts.words);
        let replay = Replay::new(&features, scores);
        let r = perturb(&replay, self.job.method, &self.opts)?;
        debug_assert!(replay.finished());
        Ok(Scores::from_perturbation(r))
    }

    /// What a run tells its driver.
    pub fn started(&self, workers: usize) -> PerturbStarted<'_> {
        PerturbStarted {
            job: &self.job,
            inputs: self.inputs,
            chunk: self.chunk_for(workers),
            target: self.explained.target,
            target_label: &self.explained.target_label,
            token: self.explained.token,
        }
    }
}

/// Inputs one of the page's perturbation jobs holds at most.
pub const MAX_PERTURB_CHUNK: usize = 128;

/// A perturbation run as it starts (the page's `PerturbStarted`).
#[derive(Debug, Serialize)]
pub struct PerturbStarted<'a> {
    /// What any worker needs to score the inputs.
    pub job: &'a PerturbJob,
    /// How many inputs the method scores.
    pub inputs: usize,
    /// Inputs per job.
    pub chunk: usize,
    pub target: usize,
    pub target_label: &'a str,
    pub token: Option<usize>,
}

/// Integrated Gradients of one scalar of a session, driven in rounds: each
/// round's jobs are computed here ([`IgRun::run`]) or by other workers
/// ([`IgJob::gradient_sum`]) and submitted; the sums are added in f64, in
/// the order of the jobs.
pub struct IgRun {
    pub job: IgJob,
    pub explained: Explained,
    pub opts: ExplainOptions,
    plan: IgPlan,
    driver: IgDriver,
}

impl IgRun {
    /// The next round, its fixed steps in jobs of at most `chunk` points;
    /// `None` when the run is done.
    pub fn round(&self, chunk: usize) -> Option<Round> {
        self.driver.round(&self.plan, chunk)
    }

    /// A round's gradient sums (in the order of its jobs) and scores; for
    /// `"auto"`, where the run stands.
    pub fn submit(&mut self, sums: Vec<Vec<f64>>, scores: &[f32]) -> Result<Option<Progress>> {
        self.driver.submit(&self.plan, sums, scores)
    }

    /// Every round here, natively over the threads; `on_steps` hears of them.
    pub fn run(&mut self, model: &Model, on_steps: OnSteps) -> Result<Scores> {
        let f = self.job.forward(model)?;
        let r = self.plan.drive(&f, &mut self.driver, on_steps)?;
        Ok(Scores::from_ig(r, &self.opts))
    }

    /// The attributions of the finished run.
    pub fn finish(&self, model: &Model) -> Result<Scores> {
        if self.round(usize::MAX).is_some() {
            return Err(Error::option("round", "the run has rounds left to submit"));
        }
        let f = self.job.forward(model)?;
        let mut r = self.plan.finish(&f, &self.driver.total())?;
        r.n_steps = self.driver.steps();
        Ok(Scores::from_ig(r, &self.opts))
    }

    /// The length of a gradient sum: tokens × width.
    pub fn size(&self) -> usize {
        self.plan.size()
    }

    /// How many fixed steps one job of the page's holds, for `workers`
    /// workers: small enough that progress moves and a cancel lands within
    /// a job, large enough that each pass is an efficient batch.
    pub fn chunk_for(&self, workers: usize) -> usize {
        let spread = self.plan.steps().div_ceil(4 * workers.max(1));
        spread.min(self.plan.batch()).clamp(1, MAX_CHUNK)
    }

    /// What a run starting with jobs of `chunk` steps tells its driver.
    pub fn started(&self, chunk: usize) -> IgStarted<'_> {
        IgStarted {
            job: &self.job,
            steps: self.plan.steps(),
            auto: self.opts.n_steps == crate::Steps::Auto,
            batch: self.plan.batch(),
            size: self.plan.size(),
            target: self.explained.target,
            target_label: &self.explained.target_label,
            token: self.explained.token,
            round: self.round(chunk),
        }
    }

    /// The path point by point (the classroom's IG walk).
    pub fn path(&self, model: &Model) -> Result<IgPath> {
        self.plan.path(&self.job.forward(model)?)
    }
}

/// Fixed steps one of the page's jobs holds at most.
pub const MAX_CHUNK: usize = 16;

/// An Integrated Gradients run as it starts (the page's `IgStarted`).
#[derive(Debug, Serialize)]
pub struct IgStarted<'a> {
    /// What any worker needs to compute points of the path.
    pub job: &'a IgJob,
    /// Steps of a fixed rule; 0 for `"auto"`, whose steps come in rounds.
    pub steps: usize,
    pub auto: bool,
    /// Steps per forward/backward pass.
    pub batch: usize,
    /// The length of a gradient sum: tokens × width.
    pub size: usize,
    /// What is explained: the class (label, vocabulary id, 0/1 for start/end) and its name.
    pub target: usize,
    pub target_label: &'a str,
    /// The token whose output is explained (per-token heads).
    pub token: Option<usize>,
    /// The first round's work.
    pub round: Option<Round>,
}
