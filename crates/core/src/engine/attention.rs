//! Multi-head self-attention on a layer's stacked `q | k | v` rows, forward
//! and backward, in three kinds:
//!
//! - [`Attention::Absolute`]: `P = softmax(q kᵀ · scale)` (BERT, RoBERTa,
//!   DistilBERT, ALBERT, ELECTRA).
//! - [`Attention::Rotary`] (ModernBERT): q and k rotated by their position
//!   (RoPE) before the product, and for sliding-window layers every score
//!   with `|i − j| > window` masked out.
//! - [`Attention::Disentangled`] (DeBERTa-v2/v3): the content score plus
//!   content-to-position and position-to-content terms, through relative
//!   positions `r(i, j)` in log buckets:
//!   `S_ij = (q_i·k_j + q_i·pk_r(i,j) + k_j·pq_r(i,j)) / √(d·factor)`, where
//!   `pk = key_proj(rel)` and `pq = query_proj(rel)` do not depend on the input.
//!
//! No attention mask: bertlens never pads, every token attends to every
//! token (within the window).

use std::sync::Arc;

use super::kernels::{self, matmul, Mat, Threads};
use super::Linear;

/// The kind of a layer's self-attention.
#[derive(Debug, Clone)]
pub enum Attention {
    Absolute,
    Rotary {
        /// `1 / θ^(2i/d)` for `i < d/2`.
        inv_freq: Vec<f32>,
        /// Sliding-window layers: keys within this distance of the query.
        window: Option<usize>,
    },
    Disentangled(Disentangled),
}

/// DeBERTa's relative-position terms for one layer.
#[derive(Debug, Clone)]
pub struct Disentangled {
    pub relative: Arc<Relative>,
    pub c2p: bool,
    pub p2c: bool,
    /// `pos_key_proj` and `pos_query_proj` when `share_att_key` is false;
    /// otherwise the layer's own key and query projections are used.
    pub pos_key: Option<Linear>,
    pub pos_query: Option<Linear>,
}

/// The relative-position embeddings every layer shares (after the
/// encoder's layer norm when `norm_rel_ebd` says so), and the bucketing.
#[derive(Debug, Clone)]
pub struct Relative {
    /// `(2·span, hidden)`.
    pub embeddings: Vec<f32>,
    /// `att_span`: `position_buckets`, else `max_relative_positions`.
    pub span: usize,
    pub buckets: i64,
    pub max_position: i64,
}

impl Relative {
    /// `make_log_bucket_position`: exact distances up to half the buckets,
    /// then logarithmically coarser up to `max_position`.
    pub fn bucket(&self, rel: i64) -> i64 {
        if self.buckets <= 0 || self.max_position <= 0 {
            return rel;
        }
        // mid = bucket_size // 2
        // abs_pos = torch.where((relative_pos < mid) & (relative_pos > -mid), mid - 1, abs(relative_pos))
        // log_pos = ceil(log(abs_pos / mid) / log((max_position - 1) / mid) * (mid - 1)) + mid
        // bucket_pos = torch.where(abs_pos <= mid, relative_pos, log_pos * sign)
        let mid = self.buckets / 2;
        let abs = if rel < mid && rel > -mid {
            mid - 1
        } else {
            rel.abs()
        };
        if abs <= mid {
            return rel;
        }
        let ratio = (abs as f32 / mid as f32).ln();
        let base = (((self.max_position - 1) as f64 / mid as f64) as f32).ln();
        let log_pos = (ratio / base * (mid - 1) as f32).ceil() + mid as f32;
        log_pos as i64 * rel.signum()
    }

    /// `r(i, j)` for a `t`-token input, row-major, and the range of rows of
    /// the embeddings it uses: `(index − first, first, count)`.
    fn index(&self, t: usize) -> (Vec<u32>, usize, usize) {
        let span = self.span as i64;
        let raw: Vec<i64> = (0..t * t)
            .map(|ij| {
                let (i, j) = ((ij / t) as i64, (ij % t) as i64);
                // torch.clamp(relative_pos + att_span, 0, att_span * 2 - 1)
                (self.bucket(i - j) + span).clamp(0, 2 * span - 1)
            })
            .collect();
        let first = *raw.iter().min().unwrap_or(&0) as usize;
        let last = *raw.iter().max().unwrap_or(&0) as usize;
        let index = raw.iter().map(|&r| (r as usize - first) as u32).collect();
        (index, first, last + 1 - first)
    }
}

/// What one layer's attention keeps for its backward pass.
#[derive(Debug, Default)]
pub struct AttentionTape {
    /// `(n, heads, t, t)`.
    pub probs: Vec<f32>,
    /// Rotary: `(t, d/2)` cosines and sines.
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Disentangled: relative indices `(t, t)`, and the position keys and
    /// queries of the rows they use, `(count, hidden)`.
    index: Vec<u32>,
    count: usize,
    pos_key: Vec<f32>,
    pos_query: Vec<f32>,
}

/// The disentangled terms' view of a tape: relative indices and the
/// position keys and queries.
struct Positions<'a> {
    index: &'a [u32],
    count: usize,
    pos_key: &'a [f32],
    pos_query: &'a [f32],
}

impl AttentionTape {
    fn positions(&self) -> Positions<'_> {
        Positions {
            index: &self.index,
            count: self.count,
            pos_key: &self.pos_key,
            pos_query: &self.pos_query,
        }
    }
}

/// Sizes of one attention computation.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub n: usize,
    pub t: usize,
    pub heads: usize,
    pub d: usize,
    pub scale: f32,
}

impl Dims {
    fn h(&self) -> usize {
        self.heads * self.d
    }
}

/// Rotates each head's `(x₁, x₂)` halves by the position's angles:
/// `x₁ cos − x₂ sin`, `x₂ cos + x₁ sin` (`sign = −1` undoes it, which is
/// also the rotation's backward pass).
fn rotate(
    rows: &mut [f32],
    row_stride: usize,
    t: usize,
    dims: Dims,
    cos: &[f32],
    sin: &[f32],
    sign: f32,
) {
    let half = dims.d / 2;
    for (r, row) in rows.chunks_mut(row_stride).enumerate() {
        let i = r % t;
        let (c, s) = (
            &cos[i * half..(i + 1) * half],
            &sin[i * half..(i + 1) * half],
        );
        for hd in 0..dims.heads {
            let x = &mut row[hd * dims.d..(hd + 1) * dims.d];
            for m in 0..half {
                let (a, b) = (x[m], x[m + half]);
                x[m] = a * c[m] - sign * b * s[m];
                x[m + half] = b * c[m] + sign * a * s[m];
            }
        }
    }
}

impl Attention {
    /// The layer's attention: `qkv` `(n·t, 3h)` in (rotated in place for
    /// rotary), `ctx` `(n·t, h)` out; `qkv_weights` are the layer's stacked
    /// projections (DeBERTa's shared position projections use them).
    pub fn forward(
        &self,
        qkv_weights: &Linear,
        qkv: &mut [f32],
        ctx: &mut [f32],
        dims: Dims,
        tape: &mut AttentionTape,
        scratch: &mut Vec<f32>,
    ) {
        let Dims {
            n,
            t,
            heads,
            d,
            scale,
        } = dims;
        let h = dims.h();
        tape.probs.resize(n * heads * t * t, 0.0);
        match self {
            Attention::Absolute => {}
            Attention::Rotary { inv_freq, .. } => {
                // freqs = position_ids * inv_freq; emb = cat(freqs, freqs)
                tape.cos.clear();
                tape.sin.clear();
                for i in 0..t {
                    for &f in inv_freq {
                        let angle = i as f32 * f;
                        tape.cos.push(angle.cos());
                        tape.sin.push(angle.sin());
                    }
                }
                for part in [0, h] {
                    rotate(&mut qkv[part..], 3 * h, t, dims, &tape.cos, &tape.sin, 1.0);
                }
            }
            Attention::Disentangled(dis) => dis.project(qkv_weights, h, t, tape),
        }
        let window = match self {
            Attention::Rotary { window, .. } => *window,
            _ => None,
        };
        let AttentionTape {
            probs,
            index,
            count,
            pos_key,
            pos_query,
            ..
        } = tape;
        let pos = Positions {
            index,
            count: *count,
            pos_key,
            pos_query,
        };
        for b in 0..n {
            let qkv_b = &qkv[b * t * 3 * h..(b + 1) * t * 3 * h];
            for hd in 0..heads {
                let q = Mat::strided(&qkv_b[hd * d..], t, d, 3 * h);
                let k = Mat::strided(&qkv_b[h + hd * d..], t, d, 3 * h);
                let v = Mat::strided(&qkv_b[2 * h + hd * d..], t, d, 3 * h);
                let p = &mut probs[(b * heads + hd) * t * t..(b * heads + hd + 1) * t * t];
                // attn_weights = torch.matmul(query, key.transpose(2, 3)) * scaling
                matmul(p, t, q, k.t(), false, Threads::One);
                p.iter_mut().for_each(|s| *s *= scale);
                if let Attention::Disentangled(dis) = self {
                    dis.add_scores(p, q, k, hd, dims, &pos, scratch);
                }
                match window {
                    Some(w) => softmax_window(p, t, w),
                    None => kernels::softmax_rows(p, t),
                }
                // attn_output = torch.matmul(attn_weights, value)
                let out = &mut ctx[b * t * h + hd * d..];
                matmul(out, h, Mat::new(p, t, t), v, false, Threads::One);
            }
        }
    }

    /// The input gradient: `dctx` `(n·t, h)` in, `dqkv` `(n·t, 3h)` out,
    /// from the rotated `qkv` the forward pass left.
    pub fn backward(
        &self,
        qkv: &[f32],
        dctx: &[f32],
        dqkv: &mut [f32],
        dims: Dims,
        tape: &AttentionTape,
        scratch: &mut Vec<f32>,
    ) {
        let Dims {
            n,
            t,
            heads,
            d,
            scale,
        } = dims;
        let h = dims.h();
        scratch.resize(t * t, 0.0);
        for b in 0..n {
            let qkv_b = &qkv[b * t * 3 * h..(b + 1) * t * 3 * h];
            let dqkv_b = &mut dqkv[b * t * 3 * h..(b + 1) * t * 3 * h];
            for hd in 0..heads {
                let q = Mat::strided(&qkv_b[hd * d..], t, d, 3 * h);
                let k = Mat::strided(&qkv_b[h + hd * d..], t, d, 3 * h);
                let v = Mat::strided(&qkv_b[2 * h + hd * d..], t, d, 3 * h);
                let p = &tape.probs[(b * heads + hd) * t * t..(b * heads + hd + 1) * t * t];
                let dc = Mat::strided(&dctx[b * t * h + hd * d..], t, d, h);
                let dp = &mut scratch[..t * t];
                // dP = dctx vᵀ; dv = Pᵀ dctx
                matmul(dp, t, dc, v.t(), false, Threads::One);
                matmul(
                    &mut dqkv_b[2 * h + hd * d..],
                    3 * h,
                    Mat::new(p, t, t).t(),
                    dc,
                    false,
                    Threads::One,
                );
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale (masked scores have P = 0, so dS = 0)
                kernels::softmax_backward_rows(dp, p, t);
                dp.iter_mut().for_each(|s| *s *= scale);
                // dq = dS k; dk = dSᵀ q
                let ds = Mat::new(dp, t, t);
                matmul(&mut dqkv_b[hd * d..], 3 * h, ds, k, false, Threads::One);
                matmul(
                    &mut dqkv_b[h + hd * d..],
                    3 * h,
                    ds.t(),
                    q,
                    false,
                    Threads::One,
                );
                if let Attention::Disentangled(dis) = self {
                    let ds = dp.to_vec();
                    dis.backward(&ds, &mut dqkv_b[..], hd, dims, &tape.positions());
                }
            }
        }
        if matches!(self, Attention::Rotary { .. }) {
            for part in [0, h] {
                rotate(
                    &mut dqkv[part..],
                    3 * h,
                    t,
                    dims,
                    &tape.cos,
                    &tape.sin,
                    -1.0,
                );
            }
        }
    }

    /// The position terms of the scores (DeBERTa), `(heads, t, t)` of the
    /// first sequence, already scaled; `None` for the other kinds.
    pub fn position_scores(
        &self,
        qkv: &[f32],
        dims: Dims,
        tape: &AttentionTape,
    ) -> Option<Vec<f32>> {
        let Attention::Disentangled(dis) = self else {
            return None;
        };
        let Dims { t, heads, d, .. } = dims;
        let h = dims.h();
        let mut out = vec![0f32; heads * t * t];
        let mut scratch = Vec::new();
        for hd in 0..heads {
            let q = Mat::strided(&qkv[hd * d..], t, d, 3 * h);
            let k = Mat::strided(&qkv[h + hd * d..], t, d, 3 * h);
            let p = &mut out[hd * t * t..(hd + 1) * t * t];
            dis.add_scores(p, q, k, hd, dims, &tape.positions(), &mut scratch);
        }
        Some(out)
    }
}

/// Softmax of each row `i` over keys `j` with `|i − j| ≤ w`; the others get 0.
fn softmax_window(p: &mut [f32], t: usize, w: usize) {
    for (i, row) in p.chunks_exact_mut(t).enumerate() {
        let (lo, hi) = (i.saturating_sub(w), (i + w + 1).min(t));
        row[..lo].fill(0.0);
        row[hi..].fill(0.0);
        kernels::softmax_rows(&mut row[lo..hi], hi - lo);
    }
}

/// What DeBERTa's position terms need for a `t`-token input, none of it
/// depending on the input's values: the relative index `r(i, j) − first`
/// `(t, t)`, the number of rows used, and the position keys and queries of
/// those rows, `(count, hidden)` (empty when the term is off).
pub struct RelativeRows {
    pub index: Vec<u32>,
    pub count: usize,
    pub pos_key: Vec<f32>,
    pub pos_query: Vec<f32>,
}

impl Disentangled {
    /// [`RelativeRows`] of a layer whose stacked projections are `qkv`.
    pub fn rows_for(&self, qkv: &Linear, h: usize, t: usize) -> RelativeRows {
        let mut tape = AttentionTape::default();
        self.project(qkv, h, t, &mut tape);
        RelativeRows {
            index: tape.index,
            count: tape.count,
            pos_key: tape.pos_key,
            pos_query: tape.pos_query,
        }
    }

    /// The position keys and queries of the relative rows a `t`-token input uses.
    fn project(&self, qkv: &Linear, h: usize, t: usize, tape: &mut AttentionTape) {
        let (index, first, count) = self.relative.index(t);
        tape.index = index;
        tape.count = count;
        let rel = &self.relative.embeddings[first * h..(first + count) * h];
        // pos_key_layer = self.key_proj(rel_embeddings) (or pos_key_proj)
        let run = |out: &mut Vec<f32>, own: Option<&Linear>, part: usize| {
            out.resize(count * h, 0.0);
            let (w, b) = match own {
                Some(l) => (&l.weight[..], &l.bias[..]),
                None => qkv.rows(part * h, (part + 1) * h),
            };
            kernels::linear(out, rel, w, b, count, Threads::One);
        };
        if self.c2p {
            run(&mut tape.pos_key, self.pos_key.as_ref(), 1);
        }
        if self.p2c {
            run(&mut tape.pos_query, self.pos_query.as_ref(), 0);
        }
    }

    /// `p_ij += scale · (q_i·pk_r(i,j) + k_j·pq_r(i,j))` for head `hd`.
    #[allow(clippy::too_many_arguments)]
    fn add_scores(
        &self,
        p: &mut [f32],
        q: Mat,
        k: Mat,
        hd: usize,
        dims: Dims,
        tape: &Positions,
        scratch: &mut Vec<f32>,
    ) {
        let Dims { t, d, scale, .. } = dims;
        let (h, count) = (dims.h(), tape.count);
        scratch.resize(t * count, 0.0);
        // c2p_att = torch.gather(q · pkᵀ, -1, c2p_pos): [i, j] = q_i · pk_r(i,j)
        if self.c2p {
            let pk = Mat::strided(&tape.pos_key[hd * d..], count, d, h);
            matmul(scratch, count, q, pk.t(), false, Threads::One);
            for (ij, s) in p.iter_mut().enumerate() {
                *s += scale * scratch[(ij / t) * count + tape.index[ij] as usize];
            }
        }
        // p2c_att = gather(k · pqᵀ, -1, p2c_pos)ᵀ: [i, j] = k_j · pq_r(i,j)
        if self.p2c {
            let pq = Mat::strided(&tape.pos_query[hd * d..], count, d, h);
            matmul(scratch, count, k, pq.t(), false, Threads::One);
            for (ij, s) in p.iter_mut().enumerate() {
                *s += scale * scratch[(ij % t) * count + tape.index[ij] as usize];
            }
        }
    }

    /// `dq_i += Σ_j dS_ij pk_r(i,j)`, `dk_j += Σ_i dS_ij pq_r(i,j)` for head `hd`
    /// (`ds` already scaled), into one sequence's `dqkv` rows.
    fn backward(&self, ds: &[f32], dqkv: &mut [f32], hd: usize, dims: Dims, tape: &Positions) {
        let Dims { t, d, .. } = dims;
        let (h, count) = (dims.h(), tape.count);
        let mut g = vec![0f32; t * count];
        for (part, on, pos, row_of) in [
            (
                0,
                self.c2p,
                tape.pos_key,
                (|ij: usize, t: usize| ij / t) as fn(usize, usize) -> usize,
            ),
            (1, self.p2c, tape.pos_query, |ij: usize, t: usize| ij % t),
        ] {
            if !on {
                continue;
            }
            g.fill(0.0);
            for (ij, &v) in ds.iter().enumerate() {
                g[row_of(ij, t) * count + tape.index[ij] as usize] += v;
            }
            let pm = Mat::strided(&pos[hd * d..], count, d, h);
            matmul(
                &mut dqkv[part * h + hd * d..],
                3 * h,
                Mat::new(&g, t, count),
                pm,
                true,
                Threads::One,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative(buckets: i64, max_position: i64) -> Relative {
        Relative {
            embeddings: Vec::new(),
            span: buckets.max(1) as usize,
            buckets,
            max_position,
        }
    }

    #[test]
    fn log_buckets_keep_near_distances_and_compress_far_ones() {
        // DeBERTa-v3: position_buckets 256, max_relative_positions 512.
        let r = relative(256, 512);
        for d in -128..=128 {
            assert_eq!(r.bucket(d), d, "distance {d} is its own bucket");
        }
        assert!(
            r.bucket(129) > 128 && r.bucket(511) <= 255,
            "{}",
            r.bucket(511)
        );
        assert_eq!(r.bucket(-300), -r.bucket(300));
        // Monotone in distance.
        let far: Vec<i64> = (129..600).map(|d| r.bucket(d)).collect();
        assert!(far.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(relative(-1, -1).bucket(-40), -40);
    }

    #[test]
    fn a_window_masks_far_keys() {
        let mut p = vec![0.0f32; 16];
        softmax_window(&mut p, 4, 1);
        assert_eq!(&p[..4], &[0.5, 0.5, 0.0, 0.0]);
        let third = 1.0 / 3.0;
        assert!((p[4] - third).abs() < 1e-6 && p[7] == 0.0);
    }

    #[test]
    fn rotation_is_undone_by_its_inverse() {
        let dims = Dims {
            n: 1,
            t: 3,
            heads: 2,
            d: 4,
            scale: 1.0,
        };
        let (cos, sin): (Vec<f32>, Vec<f32>) =
            (0..6).map(|i| ((i as f32).cos(), (i as f32).sin())).unzip();
        let x: Vec<f32> = (0..24).map(|i| i as f32 * 0.1 - 1.0).collect();
        let mut y = x.clone();
        rotate(&mut y, 8, 3, dims, &cos, &sin, 1.0);
        assert!(y.iter().zip(&x).any(|(a, b)| (a - b).abs() > 1e-3));
        rotate(&mut y, 8, 3, dims, &cos, &sin, -1.0);
        assert!(y.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-5));
    }
}
