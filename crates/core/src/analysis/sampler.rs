//! Anchors' perturbations: a sentence's words, some hidden. A sample says,
//! per word, whether it is kept or what replaced it; it is encoded for the
//! model straight from the sentence's token ids (no second tokenization)
//! and spelled, for the examples, from the sentence's character offsets.

use super::anchors::AnchorPerturbation;
use super::batch::Encoded;
use super::random::Rng;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::tokenizer::Tokenized;

/// One word of the sentence: its tokens `[first, end)`, its text (0 or 1
/// of a pair), its characters there.
#[derive(Debug, Clone)]
struct Span {
    tokens: [usize; 2],
    sequence: usize,
    offsets: [usize; 2],
}

/// What a hidden word becomes.
#[derive(Debug, Clone)]
enum Hide {
    /// Each wordpiece becomes this token.
    EachPiece(u32, String),
    /// The word becomes this one token.
    One(u32, String),
    /// The word becomes one of these words (its display text, its pieces).
    Pool(Vec<(String, Vec<u32>)>),
}

/// Per word: `None` kept, `Some(k)` hidden (the `k`-th replacement).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample(Vec<Option<usize>>);

impl Sample {
    /// Per word, whether it is kept.
    pub fn kept(&self) -> Vec<bool> {
        self.0.iter().map(Option::is_none).collect()
    }
}

/// The sentence, its words, and how a word is hidden.
#[derive(Debug, Clone)]
pub struct Sampler {
    input: Tokenized,
    texts: [Vec<char>; 2],
    spans: Vec<Span>,
    /// The word of each token (`None`: special).
    word_of: Vec<Option<usize>>,
    hide: Hide,
}

impl Sampler {
    pub fn new(
        model: &Model,
        input: &Tokenized,
        texts: [&str; 2],
        how: &AnchorPerturbation,
    ) -> Result<Self> {
        let tok = model.tokenizer();
        let mut spans: Vec<Span> = Vec::new();
        let mut word_of = vec![None; input.len()];
        let mut current: Option<u32> = None;
        for (i, word) in word_of.iter_mut().enumerate() {
            let (Some(w), Some(seq)) = (input.word_ids[i], input.sequence[i]) else {
                current = None;
                continue;
            };
            let (start, end) = input.offsets[i];
            if current == Some(w) {
                let last = spans.last_mut().expect("a word is open");
                last.tokens[1] = i + 1;
                last.offsets[1] = last.offsets[1].max(end);
            } else {
                spans.push(Span {
                    tokens: [i, i + 1],
                    sequence: seq as usize,
                    offsets: [start, end],
                });
                current = Some(w);
            }
            *word = Some(spans.len() - 1);
        }
        let spelled = |id: u32| tok.token(id).unwrap_or_default();
        let unk = tok.unk_id();
        let mask = tok.mask_id().or(unk).ok_or(Error::MissingSpecialToken {
            role: "mask or unknown",
            candidates: "[MASK], <mask>, [UNK], <unk>".into(),
        })?;
        let hide = match how {
            AnchorPerturbation::Mask => Hide::EachPiece(mask, spelled(mask)),
            AnchorPerturbation::Unknown => {
                let id = unk.unwrap_or(mask);
                Hide::One(id, spelled(id))
            }
            AnchorPerturbation::Replace(words) => {
                let mut pool = Vec::new();
                for w in words {
                    let Ok(t) = model.tokenize(w, None) else {
                        continue;
                    };
                    let pieces: Vec<u32> = (0..t.len())
                        .filter(|&i| !t.special[i])
                        .map(|i| t.ids[i])
                        .collect();
                    if !pieces.is_empty() {
                        pool.push((w.trim().to_string(), pieces));
                    }
                }
                if pool.is_empty() {
                    return Err(Error::option(
                        "perturbation",
                        "the replacement words are empty: give at least one word",
                    ));
                }
                Hide::Pool(pool)
            }
        };
        Ok(Self {
            input: input.clone(),
            texts: texts.map(|t| t.chars().collect()),
            spans,
            word_of,
            hide,
        })
    }

    /// The number of words.
    pub fn words(&self) -> usize {
        self.spans.len()
    }

    /// Word `w`'s text and character offsets.
    pub fn word(&self, w: usize) -> (String, [usize; 2]) {
        let s = &self.spans[w];
        let text = self.texts[s.sequence][s.offsets[0]..s.offsets[1]]
            .iter()
            .collect();
        (text, s.offsets)
    }

    /// The sentence itself.
    pub fn original(&self) -> Sample {
        Sample(vec![None; self.words()])
    }

    /// The words of `keep` kept, each other word hidden with probability `p`.
    pub fn sample(&self, keep: &[usize], p: f64, rng: &mut Rng) -> Sample {
        Sample(
            (0..self.words())
                .map(|w| {
                    if keep.contains(&w) || !rng.bernoulli(p) {
                        return None;
                    }
                    Some(match &self.hide {
                        Hide::Pool(pool) => rng.below(pool.len()),
                        _ => 0,
                    })
                })
                .collect(),
        )
    }

    /// The sample's token ids and types.
    pub fn encode(&self, s: &Sample) -> Encoded {
        let input = &self.input;
        let mut out = Encoded {
            ids: Vec::with_capacity(input.len()),
            types: Vec::with_capacity(input.len()),
        };
        for i in 0..input.len() {
            let ty = input.type_ids[i];
            let Some(w) = self.word_of[i] else {
                out.ids.push(input.ids[i]);
                out.types.push(ty);
                continue;
            };
            let first = self.spans[w].tokens[0] == i;
            let pieces: &[u32] = match (s.0[w], &self.hide) {
                (None, _) => std::slice::from_ref(&input.ids[i]),
                (Some(_), Hide::EachPiece(id, _)) => std::slice::from_ref(id),
                (Some(_), Hide::One(id, _)) if first => std::slice::from_ref(id),
                (Some(k), Hide::Pool(pool)) if first => &pool[k].1,
                (Some(_), _) => &[],
            };
            out.ids.extend_from_slice(pieces);
            out.types.extend(std::iter::repeat_n(ty, pieces.len()));
        }
        out
    }

    /// The sample as text: hidden words' characters replaced.
    pub fn text(&self, s: &Sample) -> String {
        let mut parts = Vec::new();
        let sequences = if self.input.sequence.contains(&Some(1)) {
            2
        } else {
            1
        };
        for seq in 0..sequences {
            let chars = &self.texts[seq];
            let mut out = String::new();
            let mut at = 0;
            for (w, span) in self.spans.iter().enumerate() {
                let Some(k) = s.0[w] else { continue };
                if span.sequence != seq {
                    continue;
                }
                out.extend(&chars[at..span.offsets[0]]);
                let n = span.tokens[1] - span.tokens[0];
                match &self.hide {
                    Hide::EachPiece(_, t) => (0..n).for_each(|_| out.push_str(t)),
                    Hide::One(_, t) => out.push_str(t),
                    Hide::Pool(pool) => out.push_str(&pool[k].0),
                }
                at = span.offsets[1];
            }
            out.extend(&chars[at..]);
            parts.push(out);
        }
        parts.join(" [SEP] ")
    }
}
