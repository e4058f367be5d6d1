//! Counterfactuals: the fewest word substitutions that change a
//! classifier's prediction, or make it a class the user names, or move a
//! question-answering model's answer to another span. The search
//! is gradient-guided, as HotFlip (Ebrahimi et al. 2018) and LIT's HotFlip
//! generator do it, and every text it returns was run through the model.
//!
//! The rule, step by step (the fixture generator implements the same rule
//! in PyTorch, and the tests hold bertlens to it):
//! - **Words that can change**: a word of the input that is one token, not
//!   a special token, and letters only (its offsets without the whitespace
//!   some tokenizers count in them). **Words they can become**: the
//!   vocabulary's whole words ([`Model::whole_words`]), never the word
//!   itself (whatever its case). A token classifier's explained word, and
//!   the words of a question's answer, stay.
//! - **The margin**, in logits, to raise: leaving the predicted class p,
//!   `max_{j≠p} z_j − z_p`; reaching a target t, `z_t − max_{j≠t} z_j`;
//!   moving an answer (s, e), `max_{(s′,e′)≠(s,e)} (z_start[s′] + z_end[e′])
//!   − (z_start[s] + z_end[e])` over the spans the answer rule allows
//!   ([`task::spans`]; the span ranked by p(start)·p(end) ranks by this
//!   sum). A text whose margin is above 0 is a counterfactual.
//! - **First-order estimates** of every substitution of a text: at its
//!   word-embedding rows, with g_i the gradient of the margin's two logits
//!   (the nearest rival as it stands) at token i, replacing token i's
//!   row e by the word w's row e_w changes the margin by about
//!   `(e_w − e) · g_i`.
//! - **A beam over positions**: each text kept expands into its
//!   `candidates` best-estimated substitutions (ties: the earlier word,
//!   then the lower id); every new text, tokenized anew, is scored by a
//!   forward pass, and the `beam` highest margins go on (ties: the text).
//!   The search stops at the first depth that holds a counterfactual or
//!   after `max_edits`, with the closest text found (the highest margin).
//! - **The list**: that depth's counterfactuals, the original class's
//!   probability lowest first (leaving it), or the target's highest first
//!   (reaching it), the original answer's p(start)·p(end) lowest first
//!   (moving it); ties: the text.

use serde::{Deserialize, Serialize};

use super::options::Target;
use crate::analysis::batch::{forward_all, Encoded};
use crate::attribution::{Differentiable, ForwardFunc, Scalar, TargetOutput};
use crate::engine::kernels::{matmul, Mat};
use crate::engine::{with_tape, Rows, Threads};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::task::{self, Answer};
use crate::tokenizer::Tokenized;
use crate::types::{AttributionLayer, Task};

/// How hard to search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CounterfactualOptions {
    /// The class to reach (name or index); none: any class but the predicted one.
    pub target: Option<Target>,
    /// At most this many words replaced.
    pub max_edits: usize,
    /// Texts kept from one depth to the next.
    pub beam: usize,
    /// Substitutions verified per text kept, the best-estimated ones.
    pub candidates: usize,
    /// At most this many counterfactuals listed.
    pub count: usize,
    /// Token classification: the token whose label is to change (default:
    /// the first token of the highest-scoring entity, as `explain`'s).
    pub token: Option<usize>,
}

impl Default for CounterfactualOptions {
    fn default() -> Self {
        Self {
            target: None,
            max_edits: 3,
            beam: 4,
            candidates: 16,
            count: 5,
            token: None,
        }
    }
}

/// The most words a search may replace.
pub const MAX_EDITS: usize = 8;
/// The whole words' embedding rows are kept for the search up to this many
/// bytes, and gathered a block of [`ROWS_BLOCK`] words at a time above it.
const ROWS_KEPT: usize = 64 << 20;
const ROWS_BLOCK: usize = 8192;

impl CounterfactualOptions {
    fn check(&self) -> Result<()> {
        for (name, v, max) in [
            ("max_edits", self.max_edits, MAX_EDITS),
            ("beam", self.beam, 64),
            ("candidates", self.candidates, 256),
            ("count", self.count, 100),
        ] {
            if !(1..=max).contains(&v) {
                return Err(Error::option(
                    name,
                    format!("{v} is not between 1 and {max}"),
                ));
            }
        }
        Ok(())
    }
}

/// One word replaced: `[start, end)` in characters of the original text
/// (of the pair's second text when `sequence` is 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    #[serde(default, skip_serializing_if = "is_first")]
    pub sequence: u8,
    pub start: usize,
    pub end: usize,
    pub from: String,
    pub to: String,
    /// The vocabulary id of `to`.
    pub token_id: u32,
}

fn is_first(s: &u8) -> bool {
    *s == 0
}

/// A text and what the model predicts for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterfactual {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    pub edits: Vec<Edit>,
    /// The model's prediction on `text`, and its probability.
    pub label: String,
    pub probability: f32,
    /// The originally predicted class's probability on `text`.
    pub original_probability: f32,
    /// The margin (above 0: the prediction changed as asked).
    pub margin: f32,
    /// Question answering: the best answer in `pair` (`label` is its text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// The prediction on the text as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Original {
    pub label: String,
    pub probability: f32,
    /// Question answering: the answer (`label` is its text), which the
    /// counterfactuals move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
}

/// What the search did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Searched {
    /// Words of the input that could be replaced.
    pub words: usize,
    /// Whole words of the vocabulary they could become.
    pub vocabulary: usize,
    /// Depths searched (edits of the last texts tried).
    pub depth: usize,
    /// Texts run through the model.
    pub verified: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterfactualReport {
    /// Token classification: the token whose label is searched, and its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
    pub original: Original,
    /// The class asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The original class's probability lowest first (or the target's
    /// highest first); empty when no text of up to `max_edits` edits does it.
    pub counterfactuals: Vec<Counterfactual>,
    /// When none was found: the text that came closest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest: Option<Counterfactual>,
    pub options: CounterfactualOptions,
    pub searched: Searched,
}

/// A first-order estimate: word `word` (an index into the input's
/// replaceable words) becoming vocabulary id `token_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub word: usize,
    pub token_id: u32,
    pub to: String,
    pub estimate: f32,
}

/// What the search is after (for a classifier's or a token's classes).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Goal {
    /// Any class but this one.
    Leave(usize),
    /// This class.
    Reach(usize),
}

/// What the model's output is read at, followed through the edits by
/// `(sequence, start, end)` in the original texts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tracked {
    /// A sequence classifier: the text's class.
    Text,
    /// A token classifier: a token's label.
    Token((u8, usize, usize)),
    /// Question answering: the answer, by its first and last tokens.
    Answer([(u8, usize, usize); 2]),
}

/// Where a text's pass is read: its tracked output's tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Pooled,
    Token(usize),
    /// An answer's first and last tokens.
    Span(usize, usize),
}

impl At {
    fn rows(self) -> Rows {
        match self {
            At::Pooled => Rows::Pooled,
            At::Token(i) => Rows::Token(i),
            At::Span(..) => Rows::All,
        }
    }
}

/// Moving the answer `(s, e)`: the best other span's score minus its, in
/// logits (`z` holds each token's start and end logits), and that span;
/// `None` when the answer rule allows no other span.
fn span_margin(
    input: &Tokenized,
    z: &[f32],
    (s, e): (usize, usize),
) -> Option<(f32, usize, usize)> {
    let score = |a: usize, b: usize| z[2 * a] + z[2 * b + 1];
    let rival = task::spans(input)
        .into_iter()
        .filter(|&span| span != (s, e))
        .fold(None, |best: Option<(usize, usize)>, (a, b)| match best {
            Some((c, d)) if score(c, d) >= score(a, b) => Some((c, d)),
            _ => Some((a, b)),
        })?;
    Some((score(rival.0, rival.1) - score(s, e), rival.0, rival.1))
}

impl Goal {
    /// The margin of `z` and its two classes: (raised, lowered).
    fn margin(self, z: &[f32]) -> (f32, usize, usize) {
        let best_but = |k: usize| {
            (0..z.len())
                .filter(|&j| j != k)
                .fold(None, |b: Option<usize>, j| match b {
                    Some(b) if z[b] >= z[j] => Some(b),
                    _ => Some(j),
                })
                .unwrap_or(k)
        };
        match self {
            Goal::Leave(p) => {
                let c = best_but(p);
                (z[c] - z[p], c, p)
            }
            Goal::Reach(t) => {
                let c = best_but(t);
                (z[t] - z[c], t, c)
            }
        }
    }
}

/// A word of the input that can be replaced: one token, letters only.
#[derive(Debug, Clone)]
struct Word {
    sequence: u8,
    start: usize,
    end: usize,
    text: String,
}

/// A text searched: the edits (by word, in word order) and its pass:
/// the logits of its head at `at` (every token's, for an answer).
#[derive(Debug, Clone)]
struct State {
    edits: Vec<(usize, u32)>,
    texts: [String; 2],
    input: Tokenized,
    at: At,
    logits: Vec<f32>,
    margin: f32,
}

/// Each token's offsets without the whitespace some tokenizers count in
/// them (byte-level BPE without `trim_offsets`, SentencePiece's `▁`): a
/// word's span is its letters.
fn trim_offsets(input: &mut Tokenized, texts: [&str; 2]) {
    let chars: [Vec<char>; 2] = texts.map(|t| t.chars().collect());
    for (i, o) in input.offsets.iter_mut().enumerate() {
        let Some(seq) = input.sequence[i] else {
            continue;
        };
        let c = &chars[seq as usize];
        let (mut a, mut b) = (o.0.min(c.len()), o.1.min(c.len()));
        while a < b && c[a].is_whitespace() {
            a += 1;
        }
        while b > a && c[b - 1].is_whitespace() {
            b -= 1;
        }
        *o = (a, b);
    }
}

/// The input's replaceable words.
fn words(input: &Tokenized, texts: [&str; 2]) -> Vec<Word> {
    let mut out = Vec::new();
    for (i, &w) in input.word_ids.iter().enumerate() {
        let (Some(w), Some(seq), false) = (w, input.sequence[i], input.special[i]) else {
            continue;
        };
        let alone = input
            .word_ids
            .iter()
            .enumerate()
            .all(|(j, &o)| j == i || o != Some(w) || input.sequence[j] != Some(seq));
        let (start, end) = input.offsets[i];
        let text: String = texts[seq as usize]
            .chars()
            .skip(start)
            .take(end - start)
            .collect();
        if alone && !text.is_empty() && text.chars().all(char::is_alphabetic) {
            out.push(Word {
                sequence: seq,
                start,
                end,
                text,
            });
        }
    }
    out
}

/// The texts with `edits` applied.
fn apply(
    texts: [&str; 2],
    words: &[Word],
    edits: &[(usize, u32)],
    vocab: &Spellings,
) -> [String; 2] {
    [0u8, 1].map(|seq| {
        let chars: Vec<char> = texts[seq as usize].chars().collect();
        let mut out = String::new();
        let mut at = 0;
        for &(k, id) in edits.iter().filter(|(k, _)| words[*k].sequence == seq) {
            let w = &words[k];
            out.extend(&chars[at..w.start]);
            out.push_str(vocab.spell(id));
            at = w.end;
        }
        out.extend(&chars[at..]);
        out
    })
}

/// Where word `k` is in a text with `edits` applied: its token, if the
/// text's tokenization has one token exactly there.
fn token_of(
    input: &Tokenized,
    words: &[Word],
    edits: &[(usize, u32)],
    k: usize,
    vocab: &Spellings,
) -> Option<usize> {
    let w = &words[k];
    token_at(input, words, edits, (w.sequence, w.start, w.end), vocab)
}

/// The token of a text with `edits` applied that covers exactly what
/// `[start, end)` of text `sequence` covered before them, if there is one
/// (the first of the pieces that share those characters, as byte-level BPE
/// cuts one character in several; the last with [`last_token_at`]).
fn token_at(
    input: &Tokenized,
    words: &[Word],
    edits: &[(usize, u32)],
    at: (u8, usize, usize),
    vocab: &Spellings,
) -> Option<usize> {
    covering(input, words, edits, at, vocab).next()
}

/// [`token_at`]'s last piece: where an answer that ends in a character cut
/// in several pieces ends.
fn last_token_at(
    input: &Tokenized,
    words: &[Word],
    edits: &[(usize, u32)],
    at: (u8, usize, usize),
    vocab: &Spellings,
) -> Option<usize> {
    covering(input, words, edits, at, vocab).last()
}

/// The tokens of a text with `edits` applied that cover exactly what
/// `[start, end)` of text `sequence` covered before them, in order.
fn covering<'a>(
    input: &'a Tokenized,
    words: &[Word],
    edits: &[(usize, u32)],
    (sequence, start, end): (u8, usize, usize),
    vocab: &Spellings,
) -> impl Iterator<Item = usize> + 'a {
    let shift: isize = edits
        .iter()
        .filter(|(j, _)| words[*j].sequence == sequence && words[*j].end <= start)
        .map(|&(j, id)| {
            vocab.spell(id).chars().count() as isize - (words[j].end - words[j].start) as isize
        })
        .sum();
    let span = (
        (start as isize + shift) as usize,
        (end as isize + shift) as usize,
    );
    (0..input.len()).filter(move |&i| {
        !input.special[i] && input.sequence[i] == Some(sequence) && input.offsets[i] == span
    })
}

/// The whole words, and a spelling by id.
struct Spellings<'a> {
    words: &'a [(u32, String)],
    /// Each spelling in lower case (a word never becomes itself).
    lower: Vec<String>,
}

impl Spellings<'_> {
    fn spell(&self, id: u32) -> &str {
        let at = self
            .words
            .binary_search_by_key(&id, |w| w.0)
            .expect("a whole word's id");
        &self.words[at].1
    }
}

/// One search: the model, the input, what it is after.
struct Search<'a> {
    model: &'a Model,
    texts: [&'a str; 2],
    has_pair: bool,
    /// A classifier's or a token's classes: what is sought (an answer is
    /// always moved).
    goal: Goal,
    tracked: Tracked,
    /// Token classification: the tracked token's word, as typed.
    word: Option<String>,
    words: Vec<Word>,
    vocab: Spellings<'a>,
    /// The whole words' embedding rows, `(|vocab|, width)`, when they take
    /// at most [`ROWS_KEPT`] bytes (else gathered a block at a time).
    rows: Option<Vec<f32>>,
    /// The input, for gathering rows.
    input: Tokenized,
    /// Words per block of rows.
    block: usize,
    width: usize,
}

impl<'a> Search<'a> {
    fn tokenize(&self, texts: &[String; 2]) -> Result<Tokenized> {
        let pair = self.has_pair.then_some(texts[1].as_str());
        let mut input = self.model.tokenize(&texts[0], pair)?;
        trim_offsets(&mut input, [&texts[0], &texts[1]]);
        Ok(input)
    }

    /// Where a text's tokenization is read: the pooled row, or where the
    /// tracked tokens are now (`None`: one is no longer one token there).
    fn at(&self, input: &Tokenized, edits: &[(usize, u32)]) -> Option<At> {
        let token = |at| token_at(input, &self.words, edits, at, &self.vocab);
        match self.tracked {
            Tracked::Text => Some(At::Pooled),
            Tracked::Token(at) => token(at).map(At::Token),
            Tracked::Answer([s, e]) => {
                let end = last_token_at(input, &self.words, edits, e, &self.vocab)?;
                Some(At::Span(token(s)?, end))
            }
        }
    }

    /// The logits of each input at its place: batched for sequence heads.
    fn logits(&self, inputs: &[(&Tokenized, At)]) -> Result<Vec<Vec<f32>>> {
        if self.tracked == Tracked::Text {
            let encoded: Vec<Encoded> = inputs
                .iter()
                .map(|(input, _)| Encoded {
                    ids: input.ids.clone(),
                    types: input.type_ids.clone(),
                })
                .collect();
            return Ok(forward_all(self.model, &encoded, false)?
                .into_iter()
                .map(|f| f.logits)
                .collect());
        }
        inputs
            .iter()
            .map(|(input, at)| {
                let hidden = self.model.hidden_states(input, None)?;
                self.model.head_logits(&hidden, input.len(), at.rows())
            })
            .collect()
    }

    /// Probabilities of a row of logits: the model's output function, or a
    /// token's labels' softmax.
    fn probabilities(&self, z: &[f32]) -> Vec<f32> {
        match self.tracked {
            Tracked::Text => self.model.probabilities(z),
            _ => crate::engine::head::softmax(z),
        }
    }

    /// A text's margin, and the scalars (logit differences) whose gradients
    /// add up to its gradient; none when an answer has no rival span.
    fn margin(&self, input: &Tokenized, at: At, z: &[f32]) -> (f32, Vec<Scalar>) {
        let scalar = |rows, class, contrast| Scalar {
            rows,
            class,
            contrast: Some(contrast),
            output: TargetOutput::Logit,
        };
        match at {
            At::Span(s, e) => match span_margin(input, z, (s, e)) {
                // The start's part and the end's (an unchanged end adds nothing).
                Some((m, a, b)) => {
                    let parts = [(2 * a, 2 * s), (2 * b + 1, 2 * e + 1)];
                    let scalars = parts
                        .into_iter()
                        .filter(|(c, d)| c != d)
                        .map(|(c, d)| scalar(Rows::All, c, d))
                        .collect();
                    (m, scalars)
                }
                None => (f32::NEG_INFINITY, Vec::new()),
            },
            _ => {
                let (m, class, contrast) = self.goal.margin(z);
                (m, vec![scalar(at.rows(), class, contrast)])
            }
        }
    }

    /// The original prediction's probability in a text: the original
    /// class's, or the original answer's p(start)·p(end).
    fn original_probability(&self, s: &State, original: usize) -> f32 {
        match s.at {
            At::Span(a, b) => {
                let (ps, pe) = span_probabilities(&s.input, &s.logits);
                ps[a] * pe[b]
            }
            _ => self.probabilities(&s.logits)[original],
        }
    }

    /// The `top` best first-order estimates of the substitutions of
    /// `state`, best first.
    fn estimates(&self, state: &State, top: usize) -> Result<Vec<Estimate>> {
        let input = &state.input;
        let (_, scalars) = self.margin(input, state.at, &state.logits);
        let layer = AttributionLayer::WordEmbeddings;
        let x = self.model.layer_input(layer, input, &input.ids)?;
        let mut g = vec![0f32; x.len()];
        for scalar in scalars.iter().copied() {
            let f = ForwardFunc::new(self.model, input, layer, scalar)?;
            let (_, gs) = with_tape(|tape| f.scores_and_gradients(&x, tape, Threads::Pool))?;
            g.iter_mut().zip(gs).for_each(|(a, b)| *a += b);
        }
        let w = self.width;
        // The unedited words and their tokens in this text.
        let open: Vec<(usize, usize)> = (0..self.words.len())
            .filter(|k| !state.edits.iter().any(|(j, _)| j == k))
            .filter_map(|k| {
                Some((
                    k,
                    token_of(input, &self.words, &state.edits, k, &self.vocab)?,
                ))
            })
            .collect();
        if open.is_empty() || scalars.is_empty() {
            return Ok(Vec::new());
        }
        let mut grads = Vec::with_capacity(open.len() * w);
        let mut base = Vec::with_capacity(open.len());
        for &(_, i) in &open {
            let gi = &g[i * w..(i + 1) * w];
            grads.extend_from_slice(gi);
            base.push(
                x[i * w..(i + 1) * w]
                    .iter()
                    .zip(gi)
                    .map(|(a, b)| a * b)
                    .sum::<f32>(),
            );
        }
        let n = open.len();
        let v = self.vocab.words.len();
        let lowered: Vec<String> = open
            .iter()
            .map(|&(k, _)| self.words[k].text.to_lowercase())
            .collect();
        let order = |a: &Estimate, b: &Estimate| {
            b.estimate
                .total_cmp(&a.estimate)
                .then(a.word.cmp(&b.word))
                .then(a.token_id.cmp(&b.token_id))
        };
        // The best `top` (a total order: ties by word, then id), kept as
        // the vocabulary's rows come a block at a time.
        let keep = |out: &mut Vec<Estimate>| {
            if top < out.len() {
                out.select_nth_unstable_by(top, order);
                out.truncate(top);
            }
        };
        let mut out = Vec::new();
        let mut dots = Vec::new();
        for from in (0..v).step_by(self.block) {
            let to = (from + self.block).min(v);
            let gathered;
            let rows: &[f32] = match &self.rows {
                Some(all) => &all[from * w..to * w],
                None => {
                    let ids: Vec<u32> = self.vocab.words[from..to].iter().map(|x| x.0).collect();
                    let layer = AttributionLayer::WordEmbeddings;
                    gathered = self.model.layer_input(layer, &self.input, &ids)?;
                    &gathered
                }
            };
            dots.clear();
            dots.resize((to - from) * n, 0.0);
            matmul(
                &mut dots,
                n,
                Mat::new(rows, to - from, w),
                Mat::new(&grads, n, w).t(),
                false,
                Threads::Pool,
            );
            for (c, &(k, i)) in open.iter().enumerate() {
                let words = self.vocab.words[from..to].iter();
                for (r, ((id, _), lower)) in words.zip(&self.vocab.lower[from..to]).enumerate() {
                    if *id == input.ids[i] || *lower == lowered[c] {
                        continue;
                    }
                    out.push(Estimate {
                        word: k,
                        token_id: *id,
                        to: String::new(),
                        estimate: dots[r * n + c] - base[c],
                    });
                }
            }
            keep(&mut out);
        }
        out.sort_unstable_by(order);
        Ok(out)
    }

    /// Runs `edit sets` through the model: their states, in order (a text
    /// the tokenizer refuses, or where a tracked token is no longer one
    /// token, is left out).
    fn verify(&self, sets: Vec<Vec<(usize, u32)>>) -> Result<Vec<State>> {
        let mut prepared = Vec::with_capacity(sets.len());
        for edits in sets {
            let texts = apply(self.texts, &self.words, &edits, &self.vocab);
            let Ok(input) = self.tokenize(&texts) else {
                continue;
            };
            if let Some(at) = self.at(&input, &edits) {
                prepared.push((edits, texts, input, at));
            }
        }
        let inputs: Vec<(&Tokenized, At)> = prepared.iter().map(|p| (&p.2, p.3)).collect();
        let passes = self.logits(&inputs)?;
        Ok(prepared
            .into_iter()
            .zip(passes)
            .map(|((edits, texts, input, at), logits)| State {
                margin: self.margin(&input, at, &logits).0,
                logits,
                edits,
                texts,
                input,
                at,
            })
            .collect())
    }

    /// Orders counterfactuals as listed: the original class's (or answer's)
    /// probability lowest first, or the target's highest first; ties by
    /// the text.
    fn rank(&self, found: &mut [State]) {
        let key = |s: &State| match self.goal {
            Goal::Leave(k) => self.original_probability(s, k),
            Goal::Reach(k) => -self.probabilities(&s.logits)[k],
        };
        found.sort_by(|a, b| {
            key(a)
                .total_cmp(&key(b))
                .then_with(|| a.texts.cmp(&b.texts))
        });
    }

    fn counterfactual(&self, s: &State, original: usize) -> Counterfactual {
        let (label, probability, answer) = self.prediction(s);
        Counterfactual {
            text: s.texts[0].clone(),
            pair: self.has_pair.then(|| s.texts[1].clone()),
            edits: s
                .edits
                .iter()
                .map(|&(k, id)| {
                    let w = &self.words[k];
                    Edit {
                        sequence: w.sequence,
                        start: w.start,
                        end: w.end,
                        from: w.text.clone(),
                        to: self.vocab.spell(id).to_string(),
                        token_id: id,
                    }
                })
                .collect(),
            original_probability: self.original_probability(s, original),
            label,
            probability,
            margin: s.margin,
            answer,
        }
    }

    /// What the model predicts for a text: its class (or answer), that
    /// one's probability, and the answer.
    fn prediction(&self, s: &State) -> (String, f32, Option<Answer>) {
        if let At::Span(..) = s.at {
            let (start, end) = split(&s.logits);
            let best = task::answers(&start, &end, &s.input, &s.texts[1], 1).pop();
            return match best {
                Some(a) => (a.text.clone(), a.score, Some(a)),
                None => (String::new(), 0.0, None),
            };
        }
        let p = self.probabilities(&s.logits);
        let k = crate::model::argmax(&p);
        (self.model.labels()[k].clone(), p[k], None)
    }
}

/// A question-answering head's logits `(t, 2)` as the start's and the end's.
fn split(z: &[f32]) -> (Vec<f32>, Vec<f32>) {
    z.chunks_exact(2).map(|p| (p[0], p[1])).unzip()
}

/// p(start) and p(end) of each token ([`task::span_probabilities`]).
fn span_probabilities(input: &Tokenized, z: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (start, end) = split(z);
    task::span_probabilities(&start, &end, input)
}

/// The text's original state and the search around it.
fn prepare<'a>(
    model: &'a Model,
    text: &'a str,
    pair: Option<&'a str>,
    options: &CounterfactualOptions,
) -> Result<(Search<'a>, State, usize)> {
    let task = model.task();
    let qa = task == Task::QuestionAnswering;
    if !matches!(
        task,
        Task::SequenceClassification | Task::TokenClassification | Task::QuestionAnswering
    ) {
        return Err(Error::TaskInput(format!(
            "counterfactuals are searched for sequence classifiers, token classifiers and \
             question answering; this model is a {task} model"
        )));
    }
    let labels = model.labels();
    if labels.len() < 2 && !qa {
        return Err(Error::TaskInput(
            "a counterfactual needs a head of at least two classes".into(),
        ));
    }
    if options.token.is_some() && task != Task::TokenClassification {
        let what = match qa {
            true => "its answer",
            false => "its prediction of the whole text",
        };
        return Err(Error::option(
            "token",
            format!("a {task} model's counterfactuals change {what}: no token is chosen"),
        ));
    }
    if options.target.is_some() && qa {
        return Err(Error::option(
            "target",
            "a question answering model's counterfactuals move its answer to another span: \
             no class is chosen",
        ));
    }
    let texts = [text, pair.unwrap_or("")];
    let mut input = model.tokenize(text, pair)?;
    if qa && input.truncated {
        return Err(Error::TaskInput(format!(
            "the context is longer than the model reads at once ({} tokens with the question): \
             counterfactuals search one window; shorten the context to the part that holds \
             the answer",
            input.len()
        )));
    }
    trim_offsets(&mut input, texts);
    let mut words = words(&input, texts);
    // What is read: a token classifier's token, whose word stays; an answer,
    // whose words stay.
    let (tracked, word, at) = match task {
        Task::TokenClassification => {
            let token = match options.token {
                Some(t) => t,
                None => {
                    let a = super::analyze(model, &input, texts, 1, false)?;
                    super::objectives::default_token(&input, &a)
                }
            };
            let seq = match (input.sequence.get(token), input.special.get(token)) {
                (Some(Some(seq)), Some(false)) => *seq,
                _ => {
                    return Err(Error::option(
                        "token",
                        format!(
                            "token {token} is not a token of the text (the input has {} tokens, \
                             special ones included)",
                            input.len()
                        ),
                    ))
                }
            };
            let (start, end) = input.offsets[token];
            // The word of the token (all its pieces) is not replaced.
            let word = input.word_ids[token];
            let spans: Vec<(usize, usize)> = (0..input.len())
                .filter(|&j| j == token || (word.is_some() && input.word_ids[j] == word))
                .filter(|&j| input.sequence[j] == Some(seq))
                .map(|j| input.offsets[j])
                .collect();
            words.retain(|w| w.sequence != seq || !spans.contains(&(w.start, w.end)));
            let from = spans.iter().map(|s| s.0).min().unwrap_or(start);
            let to = spans.iter().map(|s| s.1).max().unwrap_or(end);
            let typed: String = texts[seq as usize]
                .chars()
                .skip(from)
                .take(to - from)
                .collect();
            (
                Tracked::Token((seq, start, end)),
                Some(typed),
                At::Token(token),
            )
        }
        Task::QuestionAnswering => {
            let a = super::analyze(model, &input, texts, 1, false)?;
            let Some(best) = a
                .answers
                .and_then(|mut a| (!a.is_empty()).then(|| a.remove(0)))
            else {
                return Err(Error::TaskInput(
                    "the context has no token: there is no answer to move".into(),
                ));
            };
            if task::spans(&input).len() < 2 {
                return Err(Error::TaskInput(
                    "the context allows one answer only: there is no other span to move it to"
                        .into(),
                ));
            }
            // The answer's words stay: any word with a character in it.
            words.retain(|w| w.sequence != 1 || w.end <= best.start || w.start >= best.end);
            let place = |i: usize| (1u8, input.offsets[i].0, input.offsets[i].1);
            let tracked = Tracked::Answer([place(best.token_start), place(best.token_end)]);
            let at = At::Span(best.token_start, best.token_end);
            (tracked, None, at)
        }
        _ => (Tracked::Text, None, At::Pooled),
    };
    let words_of = model.whole_words();
    let vocab = Spellings {
        words: words_of,
        lower: words_of.iter().map(|(_, w)| w.to_lowercase()).collect(),
    };
    let width = model.width(AttributionLayer::WordEmbeddings);
    // Kept when small (the default model's: 35 MB); XLM-R's 250,000-token
    // vocabulary is gathered a block at a time instead.
    let rows = if vocab.words.len() * width * 4 <= ROWS_KEPT {
        let ids: Vec<u32> = vocab.words.iter().map(|w| w.0).collect();
        Some(model.layer_input(AttributionLayer::WordEmbeddings, &input, &ids)?)
    } else {
        None
    };
    let mut search = Search {
        model,
        texts,
        has_pair: pair.is_some(),
        // An answer is moved; the class goal is set below for classes.
        goal: Goal::Leave(0),
        tracked,
        word,
        words,
        vocab,
        rows,
        width,
        input: input.clone(),
        block: ROWS_BLOCK,
    };
    let logits = search.logits(&[(&input, at)])?.remove(0);
    let predicted = match at {
        At::Span(..) => 0,
        _ => crate::model::argmax(&search.probabilities(&logits)),
    };
    search.goal = match (&options.target, at) {
        (None, _) | (_, At::Span(..)) => Goal::Leave(predicted),
        (Some(t), _) => {
            let k = match t {
                Target::Name(n) => model.target_index(n)?,
                Target::Index(i) if *i < labels.len() => *i,
                Target::Index(i) => {
                    return Err(Error::UnknownTarget {
                        target: i.to_string(),
                        labels: labels.to_vec(),
                    })
                }
            };
            if k == predicted {
                let what = match at {
                    At::Token(token) => {
                        format!("token {token} is already labelled {:?}", labels[k])
                    }
                    _ => format!("the model already predicts {:?} for this text", labels[k]),
                };
                return Err(Error::option("target", what));
            }
            Goal::Reach(k)
        }
    };
    let state = State {
        margin: search.margin(&input, at, &logits).0,
        logits,
        edits: Vec::new(),
        texts: texts.map(str::to_string),
        input,
        at,
    };
    Ok((search, state, predicted))
}

/// The first-order estimates of the text's substitutions, the `top` best
/// (the search's first step, for inspection and tests).
pub fn first_order(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    options: &CounterfactualOptions,
    top: usize,
) -> Result<Vec<Estimate>> {
    let (search, state, _) = prepare(model, text, pair, options)?;
    let mut out = search.estimates(&state, top)?;
    for e in &mut out {
        e.to = search.vocab.spell(e.token_id).to_string();
    }
    Ok(out)
}

/// Searches for the counterfactuals of `text` (with `pair`: of the pair;
/// for question answering `text` is the question and `pair` the context).
pub fn counterfactuals(
    model: &Model,
    text: &str,
    pair: Option<&str>,
    options: &CounterfactualOptions,
) -> Result<CounterfactualReport> {
    options.check()?;
    let (search, root, predicted) = prepare(model, text, pair, options)?;
    let (label, probability, answer) = search.prediction(&root);
    let token = match root.at {
        At::Token(i) => Some(i),
        _ => None,
    };
    let labels = model.labels();
    let mut searched = Searched {
        words: search.words.len(),
        vocabulary: search.vocab.words.len(),
        depth: 0,
        verified: 0,
    };
    let mut beam = vec![root];
    let mut found = Vec::new();
    let mut closest: Option<State> = None;
    for depth in 1..=options.max_edits {
        let mut sets: Vec<Vec<(usize, u32)>> = Vec::new();
        for state in &beam {
            for e in search.estimates(state, options.candidates)? {
                let mut edits = state.edits.clone();
                edits.push((e.word, e.token_id));
                edits.sort_unstable();
                if !sets.contains(&edits) {
                    sets.push(edits);
                }
            }
        }
        if sets.is_empty() {
            break;
        }
        searched.depth = depth;
        searched.verified += sets.len();
        let mut states = search.verify(sets)?;
        states.sort_by(|a, b| {
            b.margin
                .total_cmp(&a.margin)
                .then_with(|| a.texts.cmp(&b.texts))
        });
        found = states.iter().filter(|s| s.margin > 0.0).cloned().collect();
        if !found.is_empty() {
            search.rank(&mut found);
            break;
        }
        if let Some(best) = states.first() {
            if closest.as_ref().is_none_or(|c| best.margin > c.margin) {
                closest = Some(best.clone());
            }
        }
        states.truncate(options.beam);
        beam = states;
    }
    Ok(CounterfactualReport {
        token,
        word: search.word.clone(),
        original: Original {
            label,
            probability,
            answer,
        },
        target: match search.goal {
            Goal::Reach(t) => Some(labels[t].clone()),
            Goal::Leave(_) => None,
        },
        counterfactuals: found
            .iter()
            .take(options.count)
            .map(|s| search.counterfactual(s, predicted))
            .collect(),
        closest: match found.is_empty() {
            true => closest.map(|s| search.counterfactual(&s, predicted)),
            false => None,
        },
        options: options.clone(),
        searched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::ModelFiles;

    /// Byte-level BPE cuts a character in pieces that share its offsets: an
    /// answer's start is found at the first, its end at the last.
    #[test]
    fn a_character_in_pieces_is_found_at_either_end() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/roberta-qa");
        let model = Model::load(ModelFiles::read_dir(dir).unwrap()).unwrap();
        let input = model.tokenize("who?", Some("Anna 王")).unwrap();
        let i = input.tokens.len();
        let pieces: Vec<usize> = (0..i)
            .filter(|&k| input.sequence[k] == Some(1) && input.offsets[k] == (5, 6))
            .collect();
        assert!(pieces.len() > 1, "{:?}", input.tokens);
        let vocab = Spellings {
            words: &[],
            lower: Vec::new(),
        };
        let at = (1, 5, 6);
        assert_eq!(
            token_at(&input, &[], &[], at, &vocab),
            pieces.first().copied()
        );
        assert_eq!(
            last_token_at(&input, &[], &[], at, &vocab),
            pieces.last().copied()
        );
    }

    /// Rows gathered a block at a time (as for a large vocabulary) give the
    /// estimates the kept rows give.
    #[test]
    fn blocks_of_rows_give_the_same_estimates() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bert");
        let model = Model::load(ModelFiles::read_dir(dir).unwrap()).unwrap();
        let opts = CounterfactualOptions::default();
        let (mut search, state, _) =
            prepare(&model, "the movie was great and fun", None, &opts).unwrap();
        let kept = search.estimates(&state, 40).unwrap();
        assert!(search.rows.is_some() && search.vocab.words.len() > 100);
        search.rows = None;
        search.block = 37;
        let blocks = search.estimates(&state, 40).unwrap();
        assert_eq!(kept.len(), 40);
        assert_eq!(kept.len(), blocks.len());
        // The same substitutions in the same order; the products' rounding
        // may differ with the blocks' sizes.
        for (a, b) in kept.iter().zip(&blocks) {
            assert_eq!((a.word, a.token_id), (b.word, b.token_id));
            assert!((a.estimate - b.estimate).abs() <= 1e-5 * a.estimate.abs().max(1.0));
        }
    }
}
