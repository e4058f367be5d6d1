//! The embeddings block: word rows, plus absolute positions and token types
//! where the family has them, an optional projection (DeBERTa's
//! `embed_proj`), and a layer norm. Its output is what Captum's
//! `LayerIntegratedGradients(model, model.<encoder>.embeddings)` attributes to.
//!
//! ```text
//! e = word[id] + position[pos] + token_type[type]     (each term if present)
//! y = LayerNorm(e · Pᵀ)                               (P only for embed_proj)
//! ```

use super::kernels::{self, Threads};
use super::{LayerNorm, Linear, Param, Shared};

/// How position ids follow from input ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionIds {
    /// BERT: `0, 1, 2, …`.
    Arange,
    /// RoBERTa: non-padding tokens count up from `padding_idx + 1`; padding
    /// tokens get `padding_idx` (fairseq's `make_positions`).
    AfterPadding { padding_idx: u32 },
}

impl PositionIds {
    /// The position ids of `ids`.
    pub fn of(self, ids: &[u32]) -> Vec<u32> {
        match self {
            // position_ids = self.position_ids[:, 0:seq_length]
            PositionIds::Arange => (0..ids.len() as u32).collect(),
            // mask = input_ids.ne(padding_idx).int()
            // incremental_indices = torch.cumsum(mask, dim=1).type_as(mask) * mask
            // return incremental_indices.long() + padding_idx
            PositionIds::AfterPadding { padding_idx } => {
                let mut count = 0;
                ids.iter()
                    .map(|&id| {
                        if id == padding_idx {
                            padding_idx
                        } else {
                            count += 1;
                            count + padding_idx
                        }
                    })
                    .collect()
            }
        }
    }
}

/// The embeddings block's weights.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// `(vocab, width)`.
    pub word: Param,
    /// The width of a word embedding (ALBERT and ELECTRA: `embedding_size`).
    pub width: usize,
    /// `(max_positions, width)` and how ids map to positions; `None` where
    /// positions enter elsewhere (DeBERTa's relative attention, ModernBERT's rotary).
    pub position: Option<(Param, PositionIds)>,
    /// `(type_vocab_size, width)`.
    pub token_type: Option<Param>,
    /// DeBERTa's `embed_proj` (`embedding_size` → `hidden_size`, no bias), before the norm.
    pub project: Option<Linear>,
    pub norm: LayerNorm,
}

/// What the block's backward pass reads: the layer norm's normalised input.
#[derive(Debug, Default)]
pub struct EmbeddingsTape {
    xhat: Vec<f32>,
    rstd: Vec<f32>,
}

impl Embeddings {
    pub fn vocab_rows(&self) -> usize {
        self.word.len() / self.width
    }

    /// The width of the block's output.
    pub fn out_width(&self) -> usize {
        self.norm.size()
    }

    /// The position ids of `ids` (`0, 1, 2, …` for families without absolute positions).
    pub fn position_ids(&self, ids: &[u32]) -> Vec<u32> {
        match &self.position {
            Some((_, kind)) => kind.of(ids),
            None => PositionIds::Arange.of(ids),
        }
    }

    /// Rows of the word-embedding table, `(t, width)`.
    pub fn words(&self, ids: &[u32]) -> Vec<f32> {
        let e = self.width;
        let mut out = Vec::with_capacity(ids.len() * e);
        for &id in ids {
            let id = id as usize;
            out.extend_from_slice(&self.word[id * e..(id + 1) * e]);
        }
        out
    }

    /// The block on word embeddings `(n·t, width)`, every sequence with the
    /// same positions and token types; with a tape, keeps what the backward
    /// pass to the word embeddings needs.
    pub fn forward(
        &self,
        words: &[f32],
        shared: Shared,
        tape: Option<&mut EmbeddingsTape>,
    ) -> Vec<f32> {
        let e = self.width;
        let t = shared.tokens();
        let mut x = words.to_vec();
        for seq in x.chunks_exact_mut(t * e) {
            for (i, row) in seq.chunks_exact_mut(e).enumerate() {
                // embeddings = inputs_embeds + token_type_embeddings + position_embeddings
                if let Some((table, _)) = &self.position {
                    let p = shared.positions[i] as usize;
                    row.iter_mut()
                        .zip(&table[p * e..(p + 1) * e])
                        .for_each(|(v, w)| *v += w);
                }
                if let Some(table) = &self.token_type {
                    let ty = shared.types[i] as usize;
                    row.iter_mut()
                        .zip(&table[ty * e..(ty + 1) * e])
                        .for_each(|(v, w)| *v += w);
                }
            }
        }
        // embeddings = self.embed_proj(embeddings)
        if let Some(p) = &self.project {
            let rows = x.len() / e;
            let mut y = vec![0f32; rows * p.out_dim()];
            kernels::linear(&mut y, &x, &p.weight, &p.bias, rows, Threads::One);
            x = y;
        }
        // embeddings = self.LayerNorm(embeddings)
        let n = &self.norm;
        match tape {
            Some(tape) => {
                let rows = x.len() / n.size();
                tape.xhat.resize(x.len(), 0.0);
                tape.rstd.resize(rows, 0.0);
                kernels::layer_norm(
                    &mut x,
                    &mut tape.xhat,
                    &mut tape.rstd,
                    &n.gamma,
                    &n.beta,
                    n.eps,
                );
            }
            None => kernels::layer_norm_inplace(&mut x, &n.gamma, &n.beta, n.eps),
        }
        x
    }

    /// The input gradient of [`Embeddings::forward`]: ∂F/∂(the block's
    /// output) in, ∂F/∂(word embeddings) out (positions and token types are
    /// added, so their gradient passes through unchanged).
    pub fn backward(&self, g: &[f32], tape: &EmbeddingsTape) -> Vec<f32> {
        let mut g = g.to_vec();
        kernels::layer_norm_backward(&mut g, &tape.xhat, &tape.rstd, &self.norm.gamma);
        match &self.project {
            Some(p) => {
                let rows = g.len() / p.out_dim();
                let mut dx = vec![0f32; rows * self.width];
                kernels::linear_backward(
                    &mut dx,
                    &g,
                    &p.weight,
                    rows,
                    p.out_dim(),
                    false,
                    Threads::One,
                );
                dx
            }
            None => g,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roberta_positions_count_after_the_padding_index() {
        let p = PositionIds::AfterPadding { padding_idx: 1 };
        assert_eq!(p.of(&[0, 5, 6, 2]), [2, 3, 4, 5]);
        assert_eq!(p.of(&[0, 1, 6]), [2, 1, 3]);
        assert_eq!(PositionIds::Arange.of(&[7, 7, 7]), [0, 1, 2]);
    }
}
