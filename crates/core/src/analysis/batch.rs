//! Forward passes over many inputs at once. The engine runs `n` sequences
//! together when they share their length, position ids and token types
//! (bertlens never pads), so inputs are grouped by those, each group cut
//! into batches that keep the tape within [`BATCH_BYTES`], and the batches
//! run (natively, in parallel on rayon's pool). Results come back in the
//! order of the inputs.

use std::collections::BTreeMap;

use crate::engine::{Rows, Shared, Tape, Threads};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::types::{AttributionLayer, Pool, Task};

/// At most this much tape per batch (a forward pass keeps what a backward
/// pass would read): 32 MB is ~40 sequences of 20 tokens of MiniLM.
pub const BATCH_BYTES: usize = 32 << 20;
/// At most this many sequences per batch.
pub const MAX_BATCH: usize = 64;

/// What a batch's sequences share: position ids and token types.
type Key = (Vec<u32>, Vec<u32>);

/// One input as the engine reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub types: Vec<u32>,
}

/// The head's logits of one input, and (when asked) the vector its head
/// reads ([`Model::pooled`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    pub logits: Vec<f32>,
    pub pooled: Option<Vec<f32>>,
}

/// An error unless `model` classifies sequences: what the analysis needs.
pub fn require_classifier(model: &Model) -> Result<()> {
    match model.task() {
        Task::SequenceClassification => Ok(()),
        task => Err(Error::TaskInput(format!(
            "dataset analysis needs a sequence classifier; this model is a {task} model"
        ))),
    }
}

/// Logits (and pooled vectors) of every input, in order.
pub fn forward_all(model: &Model, inputs: &[Encoded], pooled: bool) -> Result<Vec<Forward>> {
    require_classifier(model)?;
    let net = model.network();
    let head = net.head.as_ref().ok_or(Error::NoHead)?;
    let h = net.hidden();
    each_batch(model, inputs, |words, shared, n, threads| {
        let t = shared.tokens();
        let hidden = net.hidden_states(
            words,
            AttributionLayer::WordEmbeddings,
            shared,
            None,
            threads,
        );
        let logits = head.forward(&hidden, n, t, Rows::Pooled, None);
        let classes = logits.len() / n;
        (0..n)
            .map(|j| Forward {
                logits: logits[j * classes..(j + 1) * classes].to_vec(),
                pooled: pooled.then(|| pool(&hidden[j * t * h..(j + 1) * t * h], h, head.pool)),
            })
            .collect()
    })
}

/// `run` on every batch of `inputs`, grouped as the module says (natively,
/// the batches in parallel): it is given the batch's word embeddings
/// `(n·t, width)`, what its sequences share, `n`, and the threads it may
/// use, and answers one result per sequence. The results come back in the
/// order of the inputs.
pub(crate) fn each_batch<T: Send>(
    model: &Model,
    inputs: &[Encoded],
    run: impl Fn(&[f32], Shared, usize, Threads) -> Vec<T> + Sync,
) -> Result<Vec<T>> {
    let net = model.network();
    let emb = &net.encoder.embeddings;
    if let Some(bad) = inputs
        .iter()
        .flat_map(|e| &e.ids)
        .find(|&&id| id as usize >= emb.vocab_rows())
    {
        return Err(Error::VocabMismatch {
            tokenizer: *bad as usize + 1,
            model: emb.vocab_rows(),
        });
    }
    // Inputs that can share a batch: same position ids and token types.
    let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, e) in inputs.iter().enumerate() {
        let key = (model.positions(&e.ids), e.types.clone());
        groups.entry(key).or_default().push(i);
    }
    let mut batches: Vec<(&Key, &[usize])> = Vec::new();
    for (key, members) in &groups {
        let t = key.1.len().max(1);
        let per = Tape::bytes(&net.encoder, 1, t).max(1);
        let size = (BATCH_BYTES / per).clamp(1, MAX_BATCH);
        batches.extend(members.chunks(size).map(|c| (key, c)));
    }
    let one = |(key, members): &(&Key, &[usize]), threads: Threads| {
        let (positions, types) = key;
        let mut words = Vec::with_capacity(members.len() * types.len() * emb.width);
        for &i in *members {
            words.extend(emb.words(&inputs[i].ids));
        }
        let shared = Shared { positions, types };
        members
            .iter()
            .copied()
            .zip(run(&words, shared, members.len(), threads))
            .collect::<Vec<_>>()
    };
    #[cfg(not(target_arch = "wasm32"))]
    let done: Vec<Vec<(usize, T)>> = if batches.len() > 1 && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        batches.par_iter().map(|b| one(b, Threads::One)).collect()
    } else {
        batches.iter().map(|b| one(b, Threads::Pool)).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let done: Vec<Vec<(usize, T)>> = batches.iter().map(|b| one(b, Threads::One)).collect();
    let mut out: Vec<Option<T>> = std::iter::repeat_with(|| None).take(inputs.len()).collect();
    for (i, r) in done.into_iter().flatten() {
        out[i] = Some(r);
    }
    Ok(out
        .into_iter()
        .map(|r| r.expect("every input ran"))
        .collect())
}

/// The vector a sequence-level head reads, as [`Model::pooled`] computes it.
pub(crate) fn pool(seq: &[f32], h: usize, how: Pool) -> Vec<f32> {
    match how {
        Pool::Cls => seq[..h].to_vec(),
        _ => {
            let t = (seq.len() / h) as f32;
            let mut mean = vec![0f32; h];
            for row in seq.chunks_exact(h) {
                mean.iter_mut().zip(row).for_each(|(m, v)| *m += v / t);
            }
            mean
        }
    }
}

/// The model's probabilities of every input, in order.
pub fn probabilities(model: &Model, inputs: &[Encoded]) -> Result<Vec<Vec<f32>>> {
    Ok(forward_all(model, inputs, false)?
        .into_iter()
        .map(|f| model.probabilities(&f.logits))
        .collect())
}
