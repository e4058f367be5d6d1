//! The model's prediction for its task, the scalars to explain, and their
//! attributions by each method.

use super::options::{ExplainOptions, Method, Part, RolloutRow, Target};
use super::{IgReport, NoiseReport};
use crate::attribution::ablation::{
    Ablation, Features, PerturbationAttribution, PerturbationReport, Scorer,
};
use crate::attribution::flow::{attention_flow, Sink};
use crate::attribution::gradient::{input_x_gradient, saliency};
use crate::attribution::ig::{integrated_gradients_observed, IgAttribution, OnSteps, Steps};
use crate::attribution::noise::{noise_tunnel, NoiseAttribution, NoiseBase};
use crate::attribution::occlusion::{occlusion, Window};
use crate::attribution::rollout::attention_rollout;
use crate::attribution::sampled::{sampled, SampledOptions, Surrogate};
use crate::attribution::shapley::{shapley, ShapleyOptions};
use crate::attribution::{ForwardFunc, Scalar};
use crate::engine::record::LayerInputs;
use crate::engine::{Rows, Trace};
use crate::error::{Error, Result};
use crate::model::{Model, Prediction};
use crate::task::{self, Answer, Entity, MaskFill, TokenLabel};
use crate::tokenizer::Tokenized;
use crate::types::Task;

/// One forward pass, decoded for the model's task.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Sequence classification.
    pub prediction: Option<Prediction>,
    /// Token classification: per-token logits `(t, labels)`, labels and entities.
    pub token_logits: Option<Vec<f32>>,
    pub token_labels: Option<Vec<TokenLabel>>,
    pub entities: Option<Vec<Entity>>,
    /// Question answering: start and end logits, and the best answers.
    pub qa: Option<(Vec<f32>, Vec<f32>)>,
    pub answers: Option<Vec<Answer>>,
    /// Fill-mask: the fillers of every mask.
    pub masks: Option<Vec<MaskFill>>,
    /// Fill-mask: the text has a mask, but past the model's length.
    pub mask_cut: bool,
    /// Every attention of the pass, when asked for.
    pub trace: Option<Trace>,
    /// With the trace: every layer's hidden states as the head reads them
    /// ([`Model::layer_states`]), for the lens without another pass.
    pub layer_states: Option<Vec<Vec<f32>>>,
}

/// The forward pass of one input, decoded for the model's task (with
/// `trace`, every attention recorded too).
pub fn analyze(
    model: &Model,
    input: &Tokenized,
    texts: [&str; 2],
    top_k: usize,
    trace: bool,
) -> Result<Analysis> {
    let t = input.len();
    let mut a = Analysis::default();
    let hidden = if trace {
        let mut rec = (Trace::default(), LayerInputs::default());
        let hidden = model.hidden_states_recorded(input, &mut rec)?;
        a.layer_states = Some(model.states_as_read(rec.1, hidden.clone()));
        a.trace = Some(rec.0);
        hidden
    } else {
        model.hidden_states(input, None)?
    };
    match model.task() {
        Task::SequenceClassification => {
            a.prediction = Some(model.prediction(model.head_logits(&hidden, t, Rows::Pooled)?));
        }
        Task::TokenClassification => {
            let logits = model.head_logits(&hidden, t, Rows::All)?;
            let labels = task::token_labels(&logits, model.labels());
            a.entities = Some(task::entities(&labels, input, texts[0], model.tokenizer()));
            a.token_labels = Some(labels);
            a.token_logits = Some(logits);
        }
        Task::QuestionAnswering => {
            let logits = model.head_logits(&hidden, t, Rows::All)?;
            let (start, end): (Vec<f32>, Vec<f32>) =
                logits.chunks_exact(2).map(|z| (z[0], z[1])).unzip();
            a.answers = Some(task::answers(&start, &end, input, texts[1], top_k));
            a.qa = Some((start, end));
        }
        Task::FillMask => {
            let mask = model.tokenizer().mask_id();
            let mut masks = Vec::new();
            for (i, &id) in input.ids.iter().enumerate() {
                if Some(id) == mask {
                    let logits = model.head_logits(&hidden, t, Rows::Token(i))?;
                    masks.push(MaskFill {
                        token: i,
                        fill: task::fillers(&logits, model.tokenizer(), top_k),
                    });
                }
            }
            // A mask in the text that truncation left out.
            a.mask_cut = masks.is_empty()
                && input.truncated
                && model
                    .tokenizer()
                    .mask_token()
                    .is_some_and(|m| texts.iter().any(|t| t.contains(m)));
            a.masks = Some(masks);
        }
        Task::Encoder => {}
    }
    Ok(a)
}

/// One scalar to attribute, resolved from the options and the prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub scalar: Scalar,
    pub target: usize,
    pub target_label: String,
    /// What the target is contrasted with: its index (a class, label or
    /// vocabulary id; for question answering a token) and its name.
    pub contrast: Option<(usize, String)>,
    pub token: Option<usize>,
    pub part: Option<Part>,
}

/// What `opts` asks to explain, given the model's prediction: one scalar,
/// or two for question answering (the answer's start and end).
pub fn objectives(
    model: &Model,
    input: &Tokenized,
    opts: &ExplainOptions,
    a: &Analysis,
) -> Result<Vec<Explained>> {
    let task = model.task();
    opts.check(task)?;
    let output = opts.output;
    let labels = model.labels();
    let class_of = |t: &Target| -> Result<usize> {
        match t {
            Target::Name(n) => model.target_index(n),
            Target::Index(i) if *i < labels.len() => Ok(*i),
            Target::Index(i) => Err(Error::UnknownTarget {
                target: i.to_string(),
                labels: labels.to_vec(),
            }),
        }
    };
    let one = |rows: Rows, class: usize, label: String, token: Option<usize>| Explained {
        scalar: Scalar {
            rows,
            contrast: None,
            class,
            output,
        },
        target: class,
        target_label: label,
        contrast: None,
        token,
        part: None,
    };
    // A class, label or filler contrasted with the target: its output and name.
    let contrasted = |ex: Explained, c: Option<(usize, String)>| -> Result<Explained> {
        let Some((k, name)) = c else { return Ok(ex) };
        if k == ex.scalar.class {
            return Err(Error::option(
                "contrast",
                format!("{name:?} is the target itself: their difference is zero"),
            ));
        }
        Ok(Explained {
            scalar: Scalar {
                contrast: Some(k),
                ..ex.scalar
            },
            contrast: Some((k, name)),
            ..ex
        })
    };
    let class_contrast = || -> Result<Option<(usize, String)>> {
        opts.contrast
            .as_ref()
            .map(|c| class_of(c).map(|k| (k, labels[k].clone())))
            .transpose()
    };
    if let Some(i) = opts.token.filter(|&i| i >= input.len()) {
        return Err(Error::option(
            "token",
            format!("token {i} is not below the input's {} tokens", input.len()),
        ));
    }
    Ok(match task {
        Task::Encoder => {
            if !opts.method_for(task).reads_attention() {
                return Err(Error::NoHead);
            }
            vec![one(Rows::Pooled, 0, String::new(), None)]
        }
        Task::SequenceClassification => {
            let p = a.prediction.as_ref().expect("analyzed");
            let class = opts
                .target
                .as_ref()
                .map(class_of)
                .transpose()?
                .unwrap_or(p.predicted);
            vec![contrasted(
                one(Rows::Pooled, class, labels[class].clone(), None),
                class_contrast()?,
            )?]
        }
        Task::TokenClassification => {
            let token = opts.token.unwrap_or_else(|| default_token(input, a));
            let logits = a.token_logits.as_ref().expect("analyzed");
            let row = &logits[token * labels.len()..(token + 1) * labels.len()];
            let class = match &opts.target {
                Some(t) => class_of(t)?,
                None => crate::model::argmax(row),
            };
            vec![contrasted(
                one(
                    Rows::Token(token),
                    class,
                    labels[class].clone(),
                    Some(token),
                ),
                class_contrast()?,
            )?]
        }
        Task::QuestionAnswering => {
            let answer = a.answers.as_ref().and_then(|v| v.first()).ok_or_else(|| {
                Error::TaskInput("the context is empty: there is no answer to explain".into())
            })?;
            let parts = match opts.part {
                Some(p) => vec![p],
                None => vec![Part::Start, Part::End],
            };
            // Another token as a start (or end), against the answer's.
            let other = match &opts.contrast {
                None => None,
                Some(Target::Index(j)) if *j < input.len() => Some(*j),
                Some(Target::Name(s)) if s.trim().parse::<usize>().is_ok_and(|j| j < input.len()) => {
                    s.trim().parse().ok()
                }
                Some(c) => {
                    return Err(Error::option(
                        "contrast",
                        format!(
                            "question answering contrasts the answer's start (or end) with another token's: \
                             {c:?} is not a token index below {}",
                            input.len()
                        ),
                    ))
                }
            };
            parts
                .into_iter()
                .map(|part| {
                    let (default, class) = match part {
                        Part::Start => (answer.token_start, 0),
                        Part::End => (answer.token_end, 1),
                    };
                    let token = opts
                        .token
                        .filter(|_| opts.part.is_some())
                        .unwrap_or(default);
                    let ex = Explained {
                        part: Some(part),
                        ..one(Rows::Token(token), class, part.name().into(), Some(token))
                    };
                    let Some(j) = other else { return Ok(ex) };
                    // Both tokens' outputs: the head at every token, output `token · 2 + part`.
                    let all = Explained {
                        scalar: Scalar {
                            rows: Rows::All,
                            class: token * 2 + class,
                            ..ex.scalar
                        },
                        ..ex
                    };
                    let name = format!("{} at token {j} ({:?})", part.name(), input.tokens[j]);
                    contrasted(all, Some((j * 2 + class, name))).map(|mut e| {
                        e.contrast = e.contrast.map(|(_, n)| (j, n));
                        e
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        Task::FillMask => {
            let masks = a.masks.as_deref().unwrap_or_default();
            let tok = model.tokenizer();
            let name = tok.mask_token().unwrap_or("[MASK]");
            let mask = match opts.token {
                None if a.mask_cut => {
                    return Err(Error::TaskInput(format!(
                        "the text's {name} is past the model's {} tokens: truncation cut it \
                         off; read the text in windows (--windows) or shorten it before the mask",
                        tok.max_tokens()
                    )))
                }
                None => masks.first().ok_or_else(|| {
                    Error::TaskInput(format!(
                        "the text has no {name} token: fill-mask explains the word a mask stands \
                         for, e.g. \"The capital of France is {name}.\""
                    ))
                })?,
                Some(t) => masks.iter().find(|m| m.token == t).ok_or_else(|| {
                    Error::option("token", format!("token {t} is not a {name} token"))
                })?,
            };
            let vocab = model.network().head.as_ref().map_or(0, |h| h.classes());
            let filler = |t: &Target, what: &'static str| -> Result<usize> {
                Ok(match t {
                    Target::Index(i) if *i < vocab => *i,
                    Target::Name(s) => match (tok.token_to_id(s), s.parse::<usize>()) {
                        (Some(id), _) => id as usize,
                        (None, Ok(i)) if i < vocab => i,
                        _ => mask
                            .fill
                            .iter()
                            .find(|f| f.token.trim() == s.trim())
                            .map(|f| f.token_id as usize)
                            .ok_or_else(|| {
                                Error::option(
                                    what,
                                    format!("{s:?} is not a token of the vocabulary"),
                                )
                            })?,
                    },
                    Target::Index(i) => {
                        return Err(Error::option(
                            what,
                            format!("{i} is not below the vocabulary's {vocab} tokens"),
                        ))
                    }
                })
            };
            let id = match &opts.target {
                None => mask.fill.first().map(|f| f.token_id).unwrap_or(0) as usize,
                Some(t) => filler(t, "target")?,
            };
            let contrast = opts
                .contrast
                .as_ref()
                .map(|c| filler(c, "contrast").map(|k| (k, tok.decode(&[k as u32]))))
                .transpose()?;
            vec![contrasted(
                one(
                    Rows::Token(mask.token),
                    id,
                    tok.decode(&[id as u32]),
                    Some(mask.token),
                ),
                contrast,
            )?]
        }
    })
}

/// Per-token scores of any method, before they are dressed as an [`Explanation`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub attributions: Vec<f32>,
    pub score: Option<f32>,
    pub delta: Option<f32>,
    pub ig: Option<IgReport>,
    /// The perturbation methods (occlusion, Shapley values, KernelSHAP, LIME): how they ran.
    pub perturbation: Option<PerturbationReport>,
    /// SmoothGrad and VarGrad: how they ran.
    pub noise: Option<NoiseReport>,
}

impl Scores {
    pub fn from_perturbation(r: PerturbationAttribution) -> Self {
        Self {
            attributions: r.attributions,
            score: Some(r.score),
            delta: r.delta,
            ig: None,
            perturbation: Some(r.report),
            noise: None,
        }
    }

    pub fn from_ig(r: IgAttribution, opts: &ExplainOptions) -> Self {
        Self {
            ig: Some(IgReport {
                n_steps: r.n_steps,
                auto: opts.n_steps == Steps::Auto,
                integration: opts.integration,
                baseline: opts.baseline,
                internal_batch_size: r.internal_batch_size,
                baseline_score: r.baseline_score,
            }),
            score: Some(r.score),
            delta: Some(r.delta),
            attributions: r.attributions,
            perturbation: None,
            noise: None,
        }
    }

    /// A noise tunnel's scores: F(x) at the input, no delta (the samples'
    /// mean delta is in the report), IG's settings for an IG base.
    pub fn from_noise(r: NoiseAttribution, opts: &ExplainOptions, report: NoiseReport) -> Self {
        let ig = match (r.n_steps, r.baseline_score) {
            (Some(n_steps), Some(baseline_score)) => Some(IgReport {
                n_steps,
                auto: opts.n_steps == Steps::Auto,
                integration: opts.integration,
                baseline: opts.baseline,
                internal_batch_size: r.internal_batch_size.unwrap_or(0),
                baseline_score,
            }),
            _ => None,
        };
        Self {
            attributions: r.attributions,
            score: Some(r.score),
            delta: None,
            ig,
            perturbation: None,
            noise: Some(NoiseReport {
                mean_score: r.mean_score,
                mean_delta: r.mean_delta,
                ..report
            }),
        }
    }
}

/// The rollout row `opts` asks for, for the explained token.
pub fn rollout_row(model: &Model, opts: &ExplainOptions, ex: &Explained) -> RolloutRow {
    opts.rollout_row.unwrap_or(match (model.task(), ex.token) {
        (Task::SequenceClassification | Task::Encoder, _) | (_, None) => RolloutRow::Cls,
        _ => RolloutRow::Token,
    })
}

/// The attributions of one explained scalar by `opts`' method
/// (`attentions`: the forward pass's probabilities, for rollout and
/// attention flow; recomputed when absent).
pub fn attribute(
    model: &Model,
    input: &Tokenized,
    opts: &ExplainOptions,
    ex: &Explained,
    attentions: Option<&[f32]>,
) -> Result<Scores> {
    attribute_observed(model, input, opts, ex, attentions, &|_| {})
}

/// [`attribute`], telling `on_steps` as Integrated Gradients' steps finish.
pub fn attribute_observed(
    model: &Model,
    input: &Tokenized,
    opts: &ExplainOptions,
    ex: &Explained,
    attentions: Option<&[f32]>,
    on_steps: OnSteps,
) -> Result<Scores> {
    let method = opts.method_for(model.task());
    let Some(layer) = opts.layer_for(model.task()) else {
        let owned;
        let probabilities = match attentions {
            Some(p) => p,
            None => {
                owned = model.forward_traced(input)?.1.probabilities;
                &owned
            }
        };
        let (t, layers, heads) = (input.len(), model.num_layers(), model.num_heads());
        let row = rollout_row(model, opts, ex);
        let attributions = if method == Method::AttentionFlow {
            let sink = match row {
                RolloutRow::Cls => Sink::Token(0),
                RolloutRow::Mean => Sink::Mean,
                RolloutRow::Token => Sink::Token(ex.token.unwrap_or(0)),
            };
            attention_flow(probabilities, layers, heads, t, sink)
        } else {
            let r = attention_rollout(probabilities, layers, heads, t);
            match row {
                RolloutRow::Cls => r.cls,
                RolloutRow::Mean => r.mean,
                RolloutRow::Token => {
                    let i = ex.token.unwrap_or(0);
                    r.matrix[i * t..(i + 1) * t].to_vec()
                }
            }
        };
        return Ok(Scores {
            attributions,
            score: None,
            delta: None,
            ig: None,
            perturbation: None,
            noise: None,
        });
    };
    let f = ForwardFunc::new(model, input, layer, ex.scalar)?;
    Ok(match method {
        Method::Ig => {
            let baseline = opts.baseline.ids(model, input)?;
            let r = integrated_gradients_observed(
                &f,
                &input.ids,
                baseline.as_deref(),
                &opts.ig(),
                on_steps,
            )?;
            Scores::from_ig(r, opts)
        }
        Method::Saliency | Method::InputXGradient => {
            let r = match method {
                Method::Saliency => saliency(&f, &input.ids, opts.norm)?,
                _ => input_x_gradient(&f, &input.ids)?,
            };
            Scores {
                attributions: r.attributions,
                score: Some(r.score),
                delta: None,
                ig: None,
                perturbation: None,
                noise: None,
            }
        }
        Method::Occlusion | Method::Shapley | Method::KernelShap | Method::Lime => {
            let baseline = opts.baseline.ids(model, input)?;
            let features = Features::new(input, opts.words);
            let ab = Ablation::new(
                &f,
                &features,
                &input.ids,
                baseline.as_deref(),
                opts.internal_batch_size,
            )?;
            Scores::from_perturbation(perturb(&ab, method, opts)?)
        }
        Method::SmoothGrad | Method::VarGrad => {
            let nt = opts.noise(method.nt_type().expect("a noise tunnel"));
            let baseline = match nt.base {
                NoiseBase::Ig => opts.baseline.ids(model, input)?,
                _ => None,
            };
            let r = noise_tunnel(&f, &input.ids, baseline.as_deref(), &nt, on_steps)?;
            let report = NoiseReport {
                nt_type: nt.nt_type,
                base: nt.base,
                nt_samples: nt.nt_samples,
                stdevs: nt.stdevs,
                seed: nt.seed,
                mean_score: 0.0,
                mean_delta: None,
            };
            Scores::from_noise(r, opts, report)
        }
        Method::Rollout | Method::AttentionFlow => unreachable!("{method:?} has no layer"),
    })
}

/// A perturbation method's attributions, its inputs scored by `ab`.
pub(crate) fn perturb(
    ab: &impl Scorer,
    method: Method,
    opts: &ExplainOptions,
) -> Result<PerturbationAttribution> {
    match method {
        Method::Occlusion => {
            let window = Window {
                window: opts.window,
                stride: opts.stride,
            };
            occlusion(ab, opts.baseline, window)
        }
        Method::Shapley => {
            let sampling = ShapleyOptions {
                n_samples: opts.n_samples,
                seed: opts.seed,
            };
            shapley(ab, opts.baseline, sampling)
        }
        Method::KernelShap | Method::Lime => {
            let surrogate = match method {
                Method::KernelShap => Surrogate::KernelShap,
                _ => Surrogate::Lime,
            };
            let sampling = SampledOptions {
                n_samples: opts.n_samples,
                seed: opts.seed,
            };
            sampled(ab, opts.baseline, surrogate, sampling)
        }
        other => Err(Error::option(
            "method",
            format!("{} is not a perturbation method", other.info().label),
        )),
    }
}

/// Token classification's token when none is asked for: the first token of
/// the highest-scoring entity, else the first word's.
pub(crate) fn default_token(input: &Tokenized, a: &Analysis) -> usize {
    a.entities
        .iter()
        .flatten()
        .max_by(|x, y| x.score.total_cmp(&y.score))
        .map(|e| e.tokens[0])
        .or_else(|| (0..input.len()).find(|&i| !input.special[i]))
        .unwrap_or(0)
}
