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

use super::{merge_words, ExplainOptions, Explanation, Target};
use crate::attribution::{ig::OnSteps, l2_normalized};
use crate::error::{Error, Result};
use crate::model::{argmax, Model};
use crate::session::Session;
use crate::task::Window;
use crate::tokenizer::Tokenized;
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
    if task != Task::SequenceClassification {
        return Err(Error::option(
            "windows",
            format!("a long text is read in windows by a sequence classifier; this model is a {task} model"),
        ));
    }
    if pair.is_some() {
        return Err(Error::option(
            "windows",
            "windows read one text; a pair of texts is cut as the tokenizer cuts it",
        ));
    }
    opts.check(task)?;
    let record = opts.method_for(task).reads_attention();
    let texts = [text, ""];
    let read = model.tokenize_text_windows(text, opts.max_length, opts.doc_stride)?;
    let session =
        |w: &Tokenized, record| Session::from_tokens(model, w.clone(), texts, opts.top_k, record);
    if read.windows.len() == 1 {
        return session(&read.windows[0].0, record)?.explain(model, opts, on_steps);
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
    let whole = &read.whole;
    let (sums, counts) = stitch(whole, &read.windows, &explained);
    let attributions: Vec<f32> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| if c == 0 { 0.0 } else { (s / c as f64) as f32 })
        .collect();
    let windows: Vec<Window> = read
        .windows
        .iter()
        .zip(&explained)
        .map(|((w, at), e)| window(w, *at, e))
        .collect();
    let scores: Vec<f32> = explained.iter().filter_map(|e| e.score).collect();
    let mut out = explained.into_iter().next().expect("two windows or more");
    let labels = model.labels();
    out.tokens = whole.tokens.clone();
    out.input_ids = whole.ids.clone();
    out.type_ids = whole.type_ids.clone();
    out.offsets = whole.offsets.iter().map(|&(a, b)| [a, b]).collect();
    out.word_ids = whole.word_ids.clone();
    out.sequence_ids = whole.sequence.clone();
    out.logits = logits;
    out.probabilities = probabilities;
    out.predicted = Some(predicted);
    out.predicted_label = Some(labels[predicted].clone());
    out.score = (scores.len() == windows.len())
        .then(|| (scores.iter().map(|&s| s as f64).sum::<f64>() / n) as f32);
    out.delta = None;
    out.attributions_normalized = l2_normalized(&attributions);
    out.words = opts.words.then(|| merge_words(whole, &attributions, texts));
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
/// text's, and its prediction and scores.
fn window(w: &Tokenized, at: usize, e: &Explanation) -> Window {
    let own: Vec<usize> = (0..w.len()).filter(|&i| w.sequence[i].is_some()).collect();
    Window {
        start: own.first().map_or(0, |&i| w.offsets[i].0),
        end: own.last().map_or(0, |&i| w.offsets[i].1),
        tokens: w.len(),
        answer: None,
        token_range: Some([at, at + own.len()]),
        predicted: e.predicted,
        predicted_label: e.predicted_label.clone(),
        probabilities: Some(e.probabilities.clone()),
        score: e.score,
        delta: e.delta,
    }
}
