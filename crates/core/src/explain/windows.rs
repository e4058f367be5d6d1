//! A classified text longer than the model reads, read in windows rather
//! than cut (`ExplainOptions::windows`): transformers' fast tokenizer's
//! overflowing windows of `max_length` tokens overlapping by `doc_stride`,
//! each run through the model.
//!
//! The rule (tests/fixtures/gen_windows.py implements it on transformers
//! and Captum, and the tests hold bertlens to it):
//! - **the text's prediction**: the mean over the windows of their
//!   probabilities (and of their logits), the predicted class its argmax;
//! - **what is explained**: that class (or `target`) in every window, by
//!   the method asked for, as for any input;
//! - **each token's attribution**: the mean of its attributions over the
//!   windows that hold it; a special token's (each window has its own
//!   `[CLS]` and `[SEP]`), the mean over all windows. The tokens are the
//!   whole text's, as if the model read them all;
//! - **score**: the mean of the windows' F(x); Integrated Gradients'
//!   completeness holds per window (`windows[k].delta`), not for the mean.
//!
//! A token classifier's text, by the same rule per token: each token's
//! label probabilities are the mean over the windows that hold it (its
//! logits too), the entities are grouped from them over the whole text;
//! the token explained (`token`, an index into the whole text's tokens;
//! by default the first of the highest-scoring entity) is explained in
//! each window that holds it, and those windows' attributions are
//! stitched.
//!
//! A masked text, likewise per mask: each mask's fillers are the `top_k` of
//! the mean over the windows that hold it of their probabilities over the
//! vocabulary; the mask explained (`token`, by default the first) and its
//! filler (`target`, by default the best) are explained in each window that
//! holds it, and stitched.

use super::objectives::default_token;
use super::{merge_words, Analysis, ExplainOptions, Explanation, Target};
use crate::attribution::{ig::OnSteps, l2_normalized};
use crate::engine::head::softmax;
use crate::engine::Rows;
use crate::error::{Error, Result};
use crate::model::{argmax, Model};
use crate::session::Session;
use crate::task::{self, MaskFill, TokenLabel, Window};
use crate::tokenizer::{TextWindows, Tokenized};
use crate::types::Task;

/// Explains `text` read in windows; a text that fits one window is
/// explained as it is, without `windows`.
pub fn explain_windows(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
    on_steps: OnSteps,
) -> Result<Explanation> {
    let task = model.task();
    opts.check(task)?;
    if !matches!(
        task,
        Task::SequenceClassification | Task::TokenClassification | Task::FillMask
    ) {
        return Err(Error::option(
            "windows",
            format!(
                "a long text is read in windows by a sequence or token classifier or a masked \
                 language model; this model is a {task} model"
            ),
        ));
    }
    if pair.is_some() {
        return Err(Error::option(
            "windows",
            "windows read one text; a pair of texts is cut as the tokenizer cuts it",
        ));
    }
    let record = opts.method_for(task).reads_attention();
    let texts = [text, ""];
    let read = model.tokenize_text_windows(text, opts.max_length, opts.doc_stride)?;
    let session =
        |w: &Tokenized, record| Session::from_tokens(model, w.clone(), texts, opts.top_k, record);
    if read.windows.len() == 1 {
        return session(&read.windows[0].0, record)?.explain(model, opts, on_steps);
    }
    match task {
        Task::TokenClassification => return tokens_in_windows(model, text, opts, on_steps, &read),
        Task::FillMask => return masks_in_windows(model, text, opts, on_steps, &read),
        _ => {}
    }
    // The text's prediction: the mean of the windows'. A method that reads
    // the attention records it one window at a time (151 MB a window of
    // 512 tokens, for a base model).
    let mut sessions = Vec::with_capacity(read.windows.len());
    let mut predictions = Vec::with_capacity(read.windows.len());
    for (w, _) in &read.windows {
        let s = session(w, false)?;
        predictions.push(s.prediction(model, opts));
        sessions.push(s);
    }
    let n = predictions.len() as f64;
    let mean = |get: fn(&Explanation) -> &Vec<f32>| -> Vec<f32> {
        let k = get(&predictions[0]).len();
        (0..k)
            .map(|j| (predictions.iter().map(|p| get(p)[j] as f64).sum::<f64>() / n) as f32)
            .collect()
    };
    let probabilities = mean(|p| &p.probabilities);
    let logits = mean(|p| &p.logits);
    let predicted = argmax(&probabilities);
    // Every window explains the same class: the one asked for, or the text's.
    let each = ExplainOptions {
        target: Some(opts.target.clone().unwrap_or(Target::Index(predicted))),
        ..opts.clone()
    };
    let mut explained = Vec::with_capacity(sessions.len());
    for (s, (w, _)) in sessions.into_iter().zip(&read.windows) {
        let s = if record {
            drop(s);
            session(w, true)?
        } else {
            s
        };
        explained.push(s.explain(model, &each, on_steps)?);
    }
    let windows: Vec<Window> = read
        .windows
        .iter()
        .zip(&explained)
        .map(|((w, at), e)| explained_window(w, *at, e))
        .collect();
    let mut out = stitched(&read.whole, &read.windows, explained, windows, opts, text)?;
    out.logits = logits;
    out.probabilities = probabilities;
    out.predicted = Some(predicted);
    out.predicted_label = Some(model.labels()[predicted].clone());
    Ok(out)
}

/// The explanation of the whole text from `explained`, the explanations of
/// the windows `held` (the first one's settings): the whole text's tokens,
/// each token's attribution the mean over the windows that hold it, the
/// mean score; `windows` as read. The task's prediction is the caller's.
fn stitched(
    whole: &Tokenized,
    held: &[(Tokenized, usize)],
    explained: Vec<Explanation>,
    windows: Vec<Window>,
    opts: &ExplainOptions,
    text: &str,
) -> Result<Explanation> {
    let (sums, counts) = stitch(whole, held, &explained);
    let attributions: Vec<f32> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c == 0 { 0.0 } else { (s / c as f64) as f32 })
        .collect();
    let count = explained.len();
    let scores: Vec<f64> = explained
        .iter()
        .filter_map(|e| e.score)
        .map(f64::from)
        .collect();
    let mut out = explained
        .into_iter()
        .next()
        .ok_or_else(|| Error::TaskInput("no window holds what is explained".into()))?;
    whole_tokens(&mut out, whole);
    // Rollout and attention flow have no score.
    out.score = (scores.len() == count).then(|| (scores.iter().sum::<f64>() / count as f64) as f32);
    out.delta = None;
    out.attributions_normalized = l2_normalized(&attributions);
    out.words = opts
        .words
        .then(|| merge_words(whole, &attributions, [text, ""]));
    out.attributions = attributions;
    out.truncated = false;
    out.windows = Some(windows);
    Ok(out)
}

/// Each whole-text token's summed attributions over the windows that hold
/// it, and how many do (every window holds the special tokens).
fn stitch(
    whole: &Tokenized,
    windows: &[(Tokenized, usize)],
    explained: &[Explanation],
) -> (Vec<f64>, Vec<usize>) {
    let n = whole.len();
    let mut sums = vec![0f64; n];
    let mut counts = vec![0usize; n];
    for ((w, at), e) in windows.iter().zip(explained) {
        for (i, &a) in e.attributions.iter().enumerate().take(w.len()) {
            let k = place(w, *at, n, i);
            sums[k] += a as f64;
            counts[k] += 1;
        }
    }
    (sums, counts)
}

/// Where token `i` of a window whose text starts at whole-text token `at`
/// is among the whole text's `n` tokens: the text's tokens in order; the
/// special tokens before them at the same places, those after at the end.
fn place(w: &Tokenized, at: usize, n: usize, i: usize) -> usize {
    let first = (0..w.len()).find(|&j| w.sequence[j].is_some()).unwrap_or(0);
    let last = (0..w.len())
        .rfind(|&j| w.sequence[j].is_some())
        .unwrap_or(0);
    if i < first {
        i
    } else if i > last {
        n - (w.len() - i)
    } else {
        at + (first..i).filter(|&j| w.sequence[j].is_some()).count()
    }
}

/// A window as read: its characters, tokens and place among the whole
/// text's (`own` of them the text's).
fn window(w: &Tokenized, at: usize, own: usize) -> Window {
    let mine: Vec<usize> = (0..w.len()).filter(|&i| w.sequence[i].is_some()).collect();
    Window {
        start: mine.first().map_or(0, |&i| w.offsets[i].0),
        end: mine.last().map_or(0, |&i| w.offsets[i].1),
        tokens: w.len(),
        token_range: Some([at, at + own]),
        ..Window::default()
    }
}

/// A window as read, with its prediction and scores.
fn explained_window(w: &Tokenized, at: usize, e: &Explanation) -> Window {
    let own = (0..w.len()).filter(|&i| w.sequence[i].is_some()).count();
    Window {
        predicted: e.predicted,
        predicted_label: e.predicted_label.clone(),
        probabilities: Some(e.probabilities.clone()),
        score: e.score,
        delta: e.delta,
        ..window(w, at, own)
    }
}

/// The explanation's tokens made the whole text's.
fn whole_tokens(out: &mut Explanation, whole: &Tokenized) {
    out.tokens = whole.tokens.clone();
    out.input_ids = whole.ids.clone();
    out.type_ids = whole.type_ids.clone();
    out.offsets = whole.offsets.iter().map(|&(a, b)| [a, b]).collect();
    out.word_ids = whole.word_ids.clone();
    out.sequence_ids = whole.sequence.clone();
}

/// Each whole-text token's mean over the windows that hold it of a
/// per-token row of `k` numbers (`rows[w]`: window w's, `(its tokens, k)`),
/// and how many windows hold it.
fn mean_rows(read: &TextWindows, rows: &[Vec<f32>], k: usize) -> (Vec<f32>, Vec<usize>) {
    let n = read.whole.len();
    let mut sums = vec![0f64; n * k];
    let mut counts = vec![0usize; n];
    for ((w, at), r) in read.windows.iter().zip(rows) {
        for i in 0..w.len() {
            let p = place(w, *at, n, i);
            counts[p] += 1;
            for j in 0..k {
                sums[p * k + j] += r[i * k + j] as f64;
            }
        }
    }
    let mean = sums
        .iter()
        .enumerate()
        .map(|(x, s)| (s / counts[x / k].max(1) as f64) as f32)
        .collect();
    (mean, counts)
}

/// A token classifier's text read in windows (the module's rule).
fn tokens_in_windows(
    model: &Model,
    text: &str,
    opts: &ExplainOptions,
    on_steps: OnSteps,
    read: &TextWindows,
) -> Result<Explanation> {
    let labels = model.labels();
    let k = labels.len();
    let whole = &read.whole;
    let n = whole.len();
    // Each window's label probabilities (and logits) per token.
    let (mut logits, mut probabilities) = (Vec::new(), Vec::new());
    for (w, _) in &read.windows {
        let hidden = model.hidden_states(w, None)?;
        let z = model.head_logits(&hidden, w.len(), Rows::All)?;
        probabilities.push(z.chunks_exact(k).flat_map(softmax).collect::<Vec<f32>>());
        logits.push(z);
    }
    let (mean_p, _) = mean_rows(read, &probabilities, k);
    let (mean_z, _) = mean_rows(read, &logits, k);
    let token_labels: Vec<TokenLabel> = mean_p
        .chunks_exact(k)
        .map(|p| {
            let i = argmax(p);
            TokenLabel {
                label: labels[i].clone(),
                score: p[i],
            }
        })
        .collect();
    let entities = task::entities(&token_labels, whole, text, model.tokenizer());
    let token = match opts.token {
        Some(t) if t < n && !whole.special[t] => t,
        Some(t) => {
            return Err(Error::option(
                "token",
                format!(
                    "token {t} is not a token of the text (the text has {n} tokens read in \
                     windows, special ones included)"
                ),
            ))
        }
        None => {
            let a = Analysis {
                entities: Some(entities.clone()),
                ..Analysis::default()
            };
            default_token(whole, &a)
        }
    };
    let row = &mean_p[token * k..(token + 1) * k];
    let predicted = argmax(row);
    let each = |local: usize| ExplainOptions {
        token: Some(local),
        target: Some(opts.target.clone().unwrap_or(Target::Index(predicted))),
        ..opts.clone()
    };
    // The windows that hold the token explain its label; theirs are stitched.
    let record = opts.method_for(Task::TokenClassification).reads_attention();
    let texts = [text, ""];
    let mut held = Vec::new();
    let mut explained = Vec::new();
    for (x, (w, at)) in read.windows.iter().enumerate() {
        let Some(local) = (0..w.len()).find(|&i| place(w, *at, n, i) == token) else {
            continue;
        };
        let s = Session::from_tokens(model, w.clone(), texts, opts.top_k, record)?;
        explained.push(s.explain(model, &each(local), on_steps)?);
        held.push(x);
    }
    let windows_held: Vec<(Tokenized, usize)> =
        held.iter().map(|&x| read.windows[x].clone()).collect();
    let windows: Vec<Window> = read
        .windows
        .iter()
        .enumerate()
        .map(|(x, (w, at))| {
            let own = (0..w.len()).filter(|&i| w.sequence[i].is_some()).count();
            let local = (0..w.len()).find(|&i| place(w, *at, n, i) == token);
            let e = held.iter().position(|&h| h == x).map(|j| &explained[j]);
            let p = local.map(|i| probabilities[x][i * k..(i + 1) * k].to_vec());
            let mut out = window(w, *at, own);
            out.predicted = p.as_deref().map(argmax);
            out.predicted_label = out.predicted.map(|i| labels[i].clone());
            out.probabilities = p;
            out.score = e.and_then(|e| e.score);
            out.delta = e.and_then(|e| e.delta);
            out
        })
        .collect();
    let mut out = stitched(whole, &windows_held, explained, windows, opts, text)?;
    out.token = Some(token);
    out.logits = mean_z[token * k..(token + 1) * k].to_vec();
    out.probabilities = row.to_vec();
    out.predicted = Some(predicted);
    out.predicted_label = Some(labels[predicted].clone());
    out.token_labels = Some(token_labels);
    out.entities = Some(entities);
    Ok(out)
}

/// A masked text read in windows (the module's rule).
fn masks_in_windows(
    model: &Model,
    text: &str,
    opts: &ExplainOptions,
    on_steps: OnSteps,
    read: &TextWindows,
) -> Result<Explanation> {
    let tok = model.tokenizer();
    let whole = &read.whole;
    let n = whole.len();
    let name = tok.mask_token().unwrap_or("[MASK]").to_string();
    let mask_id = tok.mask_id();
    let masks: Vec<usize> = (0..n).filter(|&i| Some(whole.ids[i]) == mask_id).collect();
    // Where a whole-text token is in each window that holds it.
    let held = |m: usize| -> Vec<(usize, usize)> {
        read.windows
            .iter()
            .enumerate()
            .filter_map(|(x, (w, at))| {
                (0..w.len())
                    .find(|&i| w.sequence[i].is_some() && place(w, *at, n, i) == m)
                    .map(|i| (x, i))
            })
            .collect()
    };
    // Each mask's fillers: the top of the windows' mean probabilities.
    let mut fills = Vec::with_capacity(masks.len());
    let mut per_window: Vec<Vec<(usize, Vec<f32>)>> = Vec::with_capacity(masks.len());
    // One pass per window that holds a mask, however many it holds.
    let mut passes: std::collections::HashMap<usize, Vec<f32>> = Default::default();
    for &m in &masks {
        let mut mean: Vec<f64> = Vec::new();
        let mut seen = Vec::new();
        for (x, i) in held(m) {
            let w = &read.windows[x].0;
            let hidden = match passes.entry(x) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(model.hidden_states(w, None)?)
                }
            };
            let p = softmax(&model.head_logits(hidden, w.len(), Rows::Token(i))?);
            mean.resize(p.len(), 0.0);
            mean.iter_mut().zip(&p).for_each(|(a, &b)| *a += b as f64);
            seen.push((x, p));
        }
        let c = seen.len().max(1) as f64;
        let mean: Vec<f32> = mean.iter().map(|s| (s / c) as f32).collect();
        fills.push(MaskFill {
            token: m,
            fill: task::fillers_of(&mean, tok, opts.top_k),
        });
        per_window.push(seen);
    }
    let at = match opts.token {
        None => 0,
        Some(t) => masks.iter().position(|&m| m == t).ok_or_else(|| {
            Error::option(
                "token",
                format!("token {t} is not a {name} token of the text"),
            )
        })?,
    };
    let Some(&mask) = masks.get(at) else {
        return Err(Error::TaskInput(format!(
            "the text has no {name} token: fill-mask explains the word a mask stands for"
        )));
    };
    let target = match &opts.target {
        Some(t) => t.clone(),
        None => Target::Index(fills[at].fill.first().map_or(0, |f| f.token_id as usize)),
    };
    let record = opts.method_for(Task::FillMask).reads_attention();
    let texts = [text, ""];
    let mut explained = Vec::new();
    let mut windows_held = Vec::new();
    for (x, i) in held(mask) {
        let w = &read.windows[x].0;
        let each = ExplainOptions {
            token: Some(i),
            target: Some(target.clone()),
            ..opts.clone()
        };
        let s = Session::from_tokens(model, w.clone(), texts, opts.top_k, record)?;
        explained.push((x, s.explain(model, &each, on_steps)?));
        windows_held.push(read.windows[x].clone());
    }
    let windows: Vec<Window> = read
        .windows
        .iter()
        .enumerate()
        .map(|(x, (w, at))| {
            let own = (0..w.len()).filter(|&i| w.sequence[i].is_some()).count();
            let mut out = window(w, *at, own);
            // A window that holds the mask: its best filler, and the scores.
            if let Some((_, p)) = per_window[at_mask(&masks, mask)]
                .iter()
                .find(|(y, _)| *y == x)
            {
                let best = argmax(p);
                out.predicted = Some(best);
                out.predicted_label = Some(tok.decode(&[best as u32]));
            }
            if let Some((_, e)) = explained.iter().find(|(y, _)| *y == x) {
                out.score = e.score;
                out.delta = e.delta;
            }
            out
        })
        .collect();
    let only = explained.into_iter().map(|(_, e)| e).collect();
    let mut out = stitched(whole, &windows_held, only, windows, opts, text)?;
    out.token = Some(mask);
    out.fill = fills.first().map(|m| m.fill.clone());
    out.masks = Some(fills);
    Ok(out)
}

/// The index of `mask` among the text's masks.
fn at_mask(masks: &[usize], mask: usize) -> usize {
    masks.iter().position(|&m| m == mask).unwrap_or(0)
}
