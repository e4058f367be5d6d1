//! Integrated Gradients (Sundararajan et al. 2017) at a layer, as Captum's
//! `LayerIntegratedGradients`:
//!
//! attr_i = (x_i − x′_i) · Σ_k w_k ∂F(x′ + α_k (x − x′)) / ∂x_i
//!
//! with (α_k, w_k) from [`Integration::rule`], the steps evaluated in
//! batches of `internal_batch_size`, and the convergence delta
//! Σ attr − (F(x) − F(x′)) reported always.

use serde::{Deserialize, Serialize};

use super::adaptive::{self, AutoIg};
use super::quadrature::Integration;
use super::{per_token_sum, Baseline, Differentiable};
use crate::engine::{Tape, Threads};
use crate::error::{Error, Result};

/// `n_steps`: a number of points, as in Captum, or `"auto"`: as few as keep
/// the convergence delta within a tolerance ([`super::adaptive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Steps {
    Fixed(usize),
    Auto,
}

impl Default for Steps {
    fn default() -> Self {
        Self::Fixed(50)
    }
}

impl From<usize> for Steps {
    fn from(n: usize) -> Self {
        Self::Fixed(n)
    }
}

/// The most steps a fixed rule computes, in the CLI, the page and the
/// element alike (Captum's default is 50; `"auto"` stops by itself, at
/// [`adaptive::MAX_STEPS`] at most). 2000 steps of a 128-token base-size
/// model take minutes on a laptop's CPU; more buys no accuracy that
/// Gauss–Legendre or `"auto"` cannot give for less.
pub const MAX_N_STEPS: usize = 2000;

impl Steps {
    /// `n` fixed steps, refused above [`MAX_N_STEPS`].
    pub fn fixed(n: u64) -> Result<Self> {
        match usize::try_from(n) {
            Ok(n) if n <= MAX_N_STEPS => Ok(Self::Fixed(n)),
            _ => Err(Error::option(
                "n_steps",
                format!(
                    "{n} is more than {MAX_N_STEPS}, the most steps bertlens computes; \
                     \"auto\" takes as many as the tolerance needs"
                ),
            )),
        }
    }
}

impl std::str::FromStr for Steps {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            n => match n.parse::<u64>() {
                Ok(n) => Self::fixed(n),
                Err(_) => Err(Error::option(
                    "n_steps",
                    format!("{n:?} is not a number of steps or \"auto\""),
                )),
            },
        }
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Auto => f.write_str("auto"),
        }
    }
}

impl Serialize for Steps {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(n) => s.serialize_u64(*n as u64),
            Self::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for Steps {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Steps;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of steps or \"auto\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Steps, E> {
                Steps::fixed(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Steps, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("n_steps must not be negative"))
                    .and_then(|v| Steps::fixed(v).map_err(E::custom))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Steps, E> {
                if v.fract() == 0.0 && v >= 0.0 {
                    Steps::fixed(v.min(u64::MAX as f64) as u64).map_err(E::custom)
                } else {
                    Err(E::custom("n_steps must be a whole number"))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Steps, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Options under Captum's names (the layer and the scalar attributed are
/// the [`Differentiable`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IgOptions {
    pub n_steps: Steps,
    /// For `n_steps: "auto"`: the largest |delta| / |F(x) − F(x′)| accepted.
    pub tolerance: f64,
    pub method: Integration,
    /// Steps per forward/backward pass; `None` chooses the largest batch
    /// that fits [`DEFAULT_BATCH_BYTES`].
    pub internal_batch_size: Option<usize>,
    pub baseline: Baseline,
}

impl Default for IgOptions {
    fn default() -> Self {
        Self {
            n_steps: Steps::default(),
            tolerance: super::adaptive::DEFAULT_TOLERANCE,
            method: Integration::GaussLegendre,
            internal_batch_size: None,
            baseline: Baseline::Pad,
        }
    }
}

/// The memory one batch of steps may take: the tape that keeps activations
/// for the backward pass (one per thread natively). In wasm, whose memory
/// never shrinks, less: a batch of ~500 rows keeps the products efficient
/// (64 MB is 30 steps of 20 tokens of MiniLM, 5 of 120), and every byte the
/// tape takes stays taken in every worker.
pub const DEFAULT_BATCH_BYTES: usize = if cfg!(target_arch = "wasm32") {
    64 << 20
} else {
    160 << 20
};

/// Integrated Gradients of one input for one scalar.
#[derive(Debug, Clone, PartialEq)]
pub struct IgAttribution {
    /// Per token: the attribution summed over the hidden dimension.
    pub attributions: Vec<f32>,
    /// Σ attributions − (F(x) − F(x′)).
    pub delta: f32,
    /// F(x) and F(x′).
    pub score: f32,
    pub baseline_score: f32,
    pub n_steps: usize,
    pub internal_batch_size: usize,
}

/// How many threads the steps are spread over (natively, rayon's pool).
fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        rayon::current_num_threads()
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// One Integrated Gradients computation, cut so that its steps can be run
/// in pieces: a few at a time with progress in between, or spread over
/// several workers, whose weighted gradient sums add up. The plan holds the
/// path; every call is given the [`Differentiable`] it runs on.
pub struct IgPlan {
    alphas: Vec<f64>,
    weights: Vec<f64>,
    x: Vec<f32>,    // (t, w): the input's activation at the layer
    diff: Vec<f32>, // (t, w): x − x′
    b: Vec<f32>,    // (t, w): the baseline's
    opts: IgOptions,
    batch: usize,
    width: usize,
}

impl IgPlan {
    /// The plan for the input `ids`, from the baseline `baseline_ids`
    /// (`None`: zero activations).
    pub fn new(
        f: &impl Differentiable,
        ids: &[u32],
        baseline_ids: Option<&[u32]>,
        opts: &IgOptions,
    ) -> Result<Self> {
        let x = f.activation(ids)?;
        let b = match baseline_ids {
            Some(ids) => f.activation(ids)?,
            None => vec![0.0; x.len()],
        };
        Self::from_activations(f, x, b, opts)
    }

    /// The plan from the input's activation `x` at the layer to the
    /// baseline's `b` (`(t, width)` each): SmoothGrad's noisy inputs enter here.
    pub fn from_activations(
        f: &impl Differentiable,
        x: Vec<f32>,
        b: Vec<f32>,
        opts: &IgOptions,
    ) -> Result<Self> {
        if x.len() != b.len() || x.len() % f.width() != 0 {
            return Err(Error::option(
                "baselines",
                format!(
                    "the input's activation has {} values and the baseline's {}; both must be \
                     tokens × {}",
                    x.len(),
                    b.len(),
                    f.width()
                ),
            ));
        }
        let (alphas, weights) = match opts.n_steps {
            Steps::Fixed(n) => {
                Steps::fixed(n as u64)?; // the cap, for steps not parsed by `Steps`
                opts.method.rule(n)?
            }
            Steps::Auto => {
                if opts.method != Integration::GaussLegendre {
                    return Err(Error::option(
                        "n_steps",
                        "\"auto\" adds Gauss–Legendre steps: use it with gausslegendre",
                    ));
                }
                if !(opts.tolerance > 0.0 && opts.tolerance < 1.0) {
                    return Err(Error::option(
                        "tolerance",
                        format!("{} is not between 0 and 1", opts.tolerance),
                    ));
                }
                (Vec::new(), Vec::new())
            }
        };
        // For "auto", a batch is at most one interval's points.
        let n = match opts.n_steps {
            Steps::Fixed(n) => n,
            Steps::Auto => adaptive::NODES,
        };
        let batch = match opts.internal_batch_size {
            Some(0) => return Err(Error::option("internal_batch_size", "must be at least 1")),
            Some(b) => b.min(n),
            None => (DEFAULT_BATCH_BYTES / f.bytes_per_point().max(1))
                .clamp(1, n)
                // Enough batches to keep every thread busy.
                .min(n.div_ceil(threads()))
                .max(1),
        };
        let diff = x.iter().zip(&b).map(|(a, b)| a - b).collect();
        Ok(Self {
            alphas,
            weights,
            x,
            diff,
            b,
            opts: *opts,
            batch,
            width: f.width(),
        })
    }

    /// The number of steps (points of the quadrature).
    pub fn steps(&self) -> usize {
        self.alphas.len()
    }

    /// The length of a gradient sum: tokens × width.
    pub fn size(&self) -> usize {
        self.x.len()
    }

    /// Steps per forward/backward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// x − x′ at the layer, flat `(t·w)`.
    pub fn diff(&self) -> &[f32] {
        &self.diff
    }

    /// The quadrature's points α_k and weights w_k (empty for `"auto"`,
    /// whose points come in rounds).
    pub fn rule(&self) -> (&[f64], &[f64]) {
        (&self.alphas, &self.weights)
    }

    /// `n_steps` as asked for: a fixed number, or `"auto"`.
    pub fn n_steps(&self) -> Steps {
        self.opts.n_steps
    }

    /// The points x′ + α (x − x′) of the path, one after the other (Captum's
    /// `scaled_features = baseline + alpha * (input - baseline)`).
    pub fn path_points(&self, alphas: &[f64]) -> Vec<f32> {
        let mut xs = Vec::with_capacity(alphas.len() * self.size());
        for &a in alphas {
            let a = a as f32;
            xs.extend(self.b.iter().zip(&self.diff).map(|(b, d)| b + a * d));
        }
        xs
    }

    /// Σ_k w_k ∂F(x′ + α_k (x − x′))/∂x over the points of one batch.
    fn batch_sum(
        &self,
        f: &impl Differentiable,
        alphas: &[f64],
        weights: &[f64],
        tape: &mut Tape,
        threads: Threads,
    ) -> Result<Vec<f64>> {
        let size = self.size();
        let xs = self.path_points(alphas);
        let (_, grads) = f.scores_and_gradients(&xs, tape, threads)?;
        let mut sum = vec![0f64; size];
        for (g, &w) in grads.chunks_exact(size).zip(weights) {
            sum.iter_mut().zip(g).for_each(|(s, &v)| *s += w * v as f64);
        }
        Ok(sum)
    }

    /// Σ_k w_k ∂F(x′ + α_k (x − x′))/∂x over any points and weights, in
    /// batches; natively the batches run in parallel on rayon's pool. Sums
    /// are added in the order of the points, whatever the threads.
    pub fn points_sum(
        &self,
        f: &impl Differentiable,
        alphas: &[f64],
        weights: &[f64],
    ) -> Result<Vec<f32>> {
        let points = Points {
            alphas: alphas.to_vec(),
            weights: weights.to_vec(),
        };
        let sum = self.points_sum_f64(f, &points, &|_| {})?;
        Ok(sum.into_iter().map(|v| v as f32).collect())
    }

    /// [`Self::points_sum`] of one job's points in f64 (what the driver
    /// adds), telling `on_steps` how many points each batch just computed
    /// (from any thread), for a progress bar.
    pub fn points_sum_f64(
        &self,
        f: &impl Differentiable,
        points: &Points,
        on_steps: OnSteps,
    ) -> Result<Vec<f64>> {
        if points.alphas.len() != points.weights.len() {
            return Err(Error::option(
                "points",
                "as many weights as alphas are needed",
            ));
        }
        let batch_sum = |a: &[f64], w: &[f64], tape: &mut Tape, threads: Threads| {
            let sum = self.batch_sum(f, a, w, tape, threads);
            on_steps(a.len());
            sum
        };
        let batches: Vec<(&[f64], &[f64])> = points
            .alphas
            .chunks(self.batch)
            .zip(points.weights.chunks(self.batch))
            .collect();
        #[cfg(not(target_arch = "wasm32"))]
        let sums: Vec<Vec<f64>> = if batches.len() > 1 && threads() > 1 {
            use rayon::prelude::*;
            batches
                .into_par_iter()
                .map_init(Tape::default, |tape, (a, w)| {
                    batch_sum(a, w, tape, Threads::One)
                })
                .collect::<Result<_>>()?
        } else {
            let mut tape = Tape::default();
            batches
                .into_iter()
                .map(|(a, w)| batch_sum(a, w, &mut tape, Threads::Pool))
                .collect::<Result<_>>()?
        };
        // In wasm the tape outlives the call (see `with_tape`): the page asks
        // for IG in pieces.
        #[cfg(target_arch = "wasm32")]
        let sums: Vec<Vec<f64>> = crate::engine::with_tape(|tape| {
            batches
                .into_iter()
                .map(|(a, w)| batch_sum(a, w, tape, Threads::One))
                .collect::<Result<_>>()
        })?;
        let mut total = vec![0f64; self.size()];
        for s in sums {
            total.iter_mut().zip(s).for_each(|(t, v)| *t += v);
        }
        Ok(total)
    }

    /// The gradient sums of several jobs (an adaptive round's intervals),
    /// natively in parallel, in the order of the jobs.
    pub fn jobs_sum_f64(
        &self,
        f: &impl Differentiable,
        jobs: &[Points],
        on_steps: OnSteps,
    ) -> Result<Vec<Vec<f64>>> {
        let one = |p: &Points| self.points_sum_f64(f, p, on_steps);
        #[cfg(not(target_arch = "wasm32"))]
        if threads() > 1 && jobs.len() > 1 {
            use rayon::prelude::*;
            return jobs.par_iter().map(one).collect();
        }
        jobs.iter().map(one).collect()
    }

    /// F(x′ + α (x − x′)) at each α (forward passes only).
    pub fn scores_at(&self, f: &impl Differentiable, alphas: &[f64]) -> Result<Vec<f32>> {
        if alphas.is_empty() {
            return Ok(Vec::new());
        }
        f.scores(&self.path_points(alphas))
    }

    /// Attributions from the weighted gradient sum of every step:
    /// (x − x′) ⊙ total, summed over the width, and the delta.
    pub fn finish(&self, f: &impl Differentiable, total: &[f32]) -> Result<IgAttribution> {
        if total.len() != self.size() {
            return Err(Error::option(
                "total",
                format!(
                    "expected {} gradient values, got {}",
                    self.size(),
                    total.len()
                ),
            ));
        }
        let attr: Vec<f32> = total.iter().zip(&self.diff).map(|(g, d)| g * d).collect();
        let attributions = per_token_sum(&attr, self.width);
        let both = [self.x.as_slice(), self.b.as_slice()].concat();
        let ends = f.scores(&both)?;
        let sum: f64 = attributions.iter().map(|&v| v as f64).sum();
        let delta = (sum - (ends[0] as f64 - ends[1] as f64)) as f32;
        Ok(IgAttribution {
            attributions,
            delta,
            score: ends[0],
            baseline_score: ends[1],
            n_steps: self.steps(),
            internal_batch_size: self.batch,
        })
    }

    /// Every round of `driver` on this thread's pool: afterwards
    /// [`IgDriver::total`] is the weighted gradient sum of the whole path.
    pub fn integrate(
        &self,
        f: &impl Differentiable,
        driver: &mut IgDriver,
        on_steps: OnSteps,
    ) -> Result<()> {
        while let Some(round) = driver.round(self, usize::MAX) {
            let sums = self.jobs_sum_f64(f, &round.jobs, on_steps)?;
            let scores = self.scores_at(f, &round.scores_at)?;
            driver.submit(self, sums, &scores)?;
        }
        Ok(())
    }

    /// Every round of `driver` on this thread's pool, then the attributions.
    pub fn drive(
        &self,
        f: &impl Differentiable,
        driver: &mut IgDriver,
        on_steps: OnSteps,
    ) -> Result<IgAttribution> {
        self.integrate(f, driver, on_steps)?;
        let mut r = self.finish(f, &driver.total())?;
        r.n_steps = driver.steps();
        Ok(r)
    }
}

/// Points of the path with their quadrature weights: one job's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Points {
    pub alphas: Vec<f64>,
    pub weights: Vec<f64>,
}

/// The work of one round: a gradient sum for each job, and F at `scores_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Round {
    pub jobs: Vec<Points>,
    pub scores_at: Vec<f64>,
}

/// Drives an Integrated Gradients run in rounds, for fixed and `"auto"`
/// steps alike: a fixed rule is one round of jobs (its steps in chunks),
/// `"auto"` as many rounds as its tolerance needs. The jobs' sums are added
/// in f64, in the order of the jobs, whoever computed them: the CLI's
/// threads ([`IgPlan::drive`]) or the page's workers.
#[derive(Debug, Clone)]
pub struct IgDriver {
    auto: Option<AutoIg>,
    /// A fixed rule's sum, once its round is in.
    total: Option<Vec<f64>>,
    /// A fixed rule's steps.
    fixed: usize,
}

impl IgDriver {
    pub fn new(plan: &IgPlan) -> Self {
        Self {
            auto: (plan.opts.n_steps == Steps::Auto)
                .then(|| AutoIg::new(plan.opts.tolerance, adaptive::MAX_STEPS)),
            total: None,
            fixed: plan.steps(),
        }
    }

    /// The next round, its fixed steps cut into jobs of at most `chunk`
    /// points (an adaptive round: one job per interval); `None` when done.
    pub fn round(&self, plan: &IgPlan, chunk: usize) -> Option<Round> {
        match &self.auto {
            None if self.total.is_some() => None,
            None => Some(Round {
                jobs: plan
                    .alphas
                    .chunks(chunk.max(1))
                    .zip(plan.weights.chunks(chunk.max(1)))
                    .map(|(a, w)| Points {
                        alphas: a.to_vec(),
                        weights: w.to_vec(),
                    })
                    .collect(),
                scores_at: Vec::new(),
            }),
            Some(auto) => {
                let round = auto.round();
                (!round.intervals.is_empty()).then(|| Round {
                    jobs: round
                        .intervals
                        .iter()
                        .map(|iv| {
                            let (alphas, weights) = iv.rule(auto.nodes());
                            Points { alphas, weights }
                        })
                        .collect(),
                    scores_at: round.alphas,
                })
            }
        }
    }

    /// Takes the round's gradient sums (in the order of its jobs) and its
    /// scores; for `"auto"`, says where the run stands.
    pub fn submit(
        &mut self,
        plan: &IgPlan,
        sums: Vec<Vec<f64>>,
        scores: &[f32],
    ) -> Result<Option<adaptive::Progress>> {
        let round = self
            .round(plan, usize::MAX)
            .ok_or_else(|| Error::option("round", "the run is already done"))?;
        let size = plan.size();
        if scores.len() != round.scores_at.len() || sums.iter().any(|s| s.len() != size) {
            return Err(Error::option(
                "round",
                format!(
                    "this round needs gradient sums of {size} values and {} scores",
                    round.scores_at.len()
                ),
            ));
        }
        match &mut self.auto {
            None => {
                let mut total = vec![0f64; size];
                for s in sums {
                    total.iter_mut().zip(s).for_each(|(t, v)| *t += v);
                }
                self.total = Some(total);
                Ok(None)
            }
            Some(auto) => {
                if sums.len() != round.jobs.len() {
                    return Err(Error::option(
                        "round",
                        format!("this round has {} intervals", round.jobs.len()),
                    ));
                }
                auto.submit(sums, scores, &plan.diff);
                Ok(Some(auto.advance()))
            }
        }
    }

    /// The weighted gradient sum of the whole path so far, added in f64.
    pub fn total(&self) -> Vec<f32> {
        let total = match &self.auto {
            Some(auto) => auto.total(),
            None => self.total.clone().unwrap_or_default(),
        };
        total.into_iter().map(|v| v as f32).collect()
    }

    /// Gradient evaluations the result is made of.
    pub fn steps(&self) -> usize {
        match &self.auto {
            Some(auto) => auto.steps(),
            None => self.fixed,
        }
    }
}

/// Integrated Gradients of the input `ids` from `baseline_ids` (`None`:
/// zero activations) on `f`, all steps at once.
pub fn integrated_gradients(
    f: &impl Differentiable,
    ids: &[u32],
    baseline_ids: Option<&[u32]>,
    opts: &IgOptions,
) -> Result<IgAttribution> {
    integrated_gradients_observed(f, ids, baseline_ids, opts, &|_| {})
}

/// Told how many steps were just computed, from any thread (a progress bar).
pub type OnSteps<'a> = &'a (dyn Fn(usize) + Sync);

/// [`integrated_gradients`], telling `on_steps` as batches of steps finish.
pub fn integrated_gradients_observed(
    f: &impl Differentiable,
    ids: &[u32],
    baseline_ids: Option<&[u32]>,
    opts: &IgOptions,
    on_steps: OnSteps,
) -> Result<IgAttribution> {
    let plan = IgPlan::new(f, ids, baseline_ids, opts)?;
    plan.drive(f, &mut IgDriver::new(&plan), on_steps)
}
