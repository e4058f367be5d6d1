//! The encoder's layers on the GPU: the weights uploaded once, a batch's
//! tape kept on the device, and the passes of [`super::super::encoder`]
//! written as dispatches of `kernels.wgsl`.
//!
//! What it runs: post-norm layers with absolute attention (BERT, RoBERTa,
//! XLM-R, CamemBERT, DistilBERT, ALBERT, ELECTRA, with ALBERT's and
//! ELECTRA's embedding projection), DeBERTa-v2/v3's disentangled attention
//! (content-to-position and position-to-content terms through relative
//! positions), and pre-norm layers with rotary attention, sliding windows,
//! a gated feed-forward and a final norm (ModernBERT). DeBERTa-v2's
//! convolution (xlarge, xxlarge) is not written yet: [`GpuEncoder::new`]
//! says so, and the caller keeps the CPU engine for it.

use std::sync::Arc;

use super::{Binds, Buf, Gpu, Kernel, Params, Pass, ACCUMULATE, BIAS, C2P, P2C};
use crate::engine::attention::{Attention, Disentangled};
use crate::engine::encoder::{Encoder, Layer, Norms};
use crate::engine::{LayerNorm, Layers, Linear};
use crate::error::{Error, Result};
use crate::types::Activation;

#[derive(Debug)]
struct GpuLinear {
    w: Buf,
    b: Buf,
    out: usize,
    inp: usize,
}

impl GpuLinear {
    fn new(gpu: &Gpu, l: &Linear) -> Result<Self> {
        Ok(Self {
            w: gpu.upload(&l.weight)?,
            b: gpu.upload(&l.bias)?,
            out: l.out_dim(),
            inp: l.in_dim(),
        })
    }
}

#[derive(Debug)]
struct GpuNorm {
    gamma: Buf,
    beta: Buf,
    eps: f32,
}

impl GpuNorm {
    fn new(gpu: &Gpu, n: &LayerNorm) -> Result<Self> {
        Ok(Self {
            gamma: gpu.upload(&n.gamma)?,
            beta: gpu.upload(&n.beta)?,
            eps: n.eps,
        })
    }
}

/// Rotary attention's frequencies, and its sliding window.
#[derive(Debug)]
struct Rotary {
    inv_freq: Vec<f32>,
    window: Option<usize>,
}

/// DeBERTa's position terms: what computes their rows for an input length
/// on the CPU (they do not depend on the input's values).
#[derive(Debug)]
struct Relative {
    dis: Disentangled,
    qkv: Linear,
}

#[derive(Debug)]
struct GpuLayer {
    norms: Norms,
    qkv: GpuLinear,
    rotary: Option<Rotary>,
    relative: Option<Relative>,
    attention_output: GpuLinear,
    /// `None`: the identity (ModernBERT's first layer).
    attention_norm: Option<GpuNorm>,
    intermediate: GpuLinear,
    glu: bool,
    output: GpuLinear,
    ffn_norm: GpuNorm,
    act: u32,
}

impl GpuLayer {
    /// The feed-forward's middle width.
    fn inner(&self) -> usize {
        self.output.inp
    }
}

/// The encoder's layers, uploaded to one device.
#[derive(Debug)]
pub struct GpuEncoder {
    pub gpu: Arc<Gpu>,
    project: Option<GpuLinear>,
    /// One per application (ALBERT's share one upload).
    layers: Vec<Arc<GpuLayer>>,
    final_norm: Option<GpuNorm>,
    hidden: usize,
    heads: usize,
    scale: f32,
    /// The widest feed-forward product (`2·inner` when gated).
    up: usize,
}

fn act_code(act: Activation) -> u32 {
    match act {
        Activation::Gelu => 0,
        Activation::GeluTanh => 1,
        Activation::Relu => 2,
        Activation::Silu => 3,
        Activation::Tanh => 4,
    }
}

impl GpuEncoder {
    /// Uploads `enc`'s weights, or says why its layers cannot run here.
    pub fn new(gpu: Arc<Gpu>, enc: &Encoder) -> Result<Self> {
        let not_yet = |what: &str| Err(Error::Device(format!("backend does not run {what} yet")));
        if enc.conv.is_some() {
            return not_yet("DeBERTa-v2's convolution");
        }
        let mut uploaded: Vec<(*const Layer, Arc<GpuLayer>)> = Vec::new();
        let mut layers = Vec::with_capacity(enc.layers.len());
        for layer in &enc.layers {
            let key = Arc::as_ptr(layer);
            if let Some((_, up)) = uploaded.iter().find(|(k, _)| *k == key) {
                layers.push(up.clone());
                continue;
            }
            let (rotary, relative) = match &layer.attention {
                Attention::Absolute => (None, None),
                Attention::Rotary { inv_freq, window } => (
                    Some(Rotary {
                        inv_freq: inv_freq.clone(),
                        window: *window,
                    }),
                    None,
                ),
                Attention::Disentangled(dis) => (
                    None,
                    Some(Relative {
                        dis: dis.clone(),
                        qkv: layer.qkv.clone(),
                    }),
                ),
            };
            let norm = |n: &LayerNorm| GpuNorm::new(&gpu, n);
            let attention_norm = layer.attention_norm.as_ref().map(norm).transpose()?;
            if layer.norms == Norms::Post && attention_norm.is_none() {
                return Err(Error::Internal("a post-norm layer without its norm".into()));
            }
            let up = Arc::new(GpuLayer {
                norms: layer.norms,
                qkv: GpuLinear::new(&gpu, &layer.qkv)?,
                rotary,
                relative,
                attention_output: GpuLinear::new(&gpu, &layer.attention_output)?,
                attention_norm,
                intermediate: GpuLinear::new(&gpu, &layer.intermediate)?,
                glu: layer.glu,
                output: GpuLinear::new(&gpu, &layer.output)?,
                ffn_norm: norm(&layer.ffn_norm)?,
                act: act_code(layer.act),
            });
            uploaded.push((key, up.clone()));
            layers.push(up);
        }
        let project = enc
            .project
            .as_ref()
            .map(|p| GpuLinear::new(&gpu, p))
            .transpose()?;
        let final_norm = enc
            .final_norm
            .as_ref()
            .map(|n| GpuNorm::new(&gpu, n))
            .transpose()?;
        let up = layers.iter().map(|l| l.intermediate.out).max().unwrap_or(0);
        Ok(Self {
            gpu,
            project,
            layers,
            final_norm,
            hidden: enc.hidden,
            heads: enc.heads,
            scale: enc.scale,
            up,
        })
    }

    /// The most sequences of `t` tokens one pass may hold: every buffer
    /// within the adapter's binding limit, and the tape within `budget` bytes.
    pub fn max_batch(&self, t: usize, budget: usize) -> usize {
        let (h, heads, up) = (self.hidden, self.heads, self.up.max(1));
        let widest = (t * 3 * h).max(t * up).max(heads * t * t);
        let by_binding = self.gpu.max_binding() / widest.max(1);
        // Per layer: q | k | v, the maps, two norms' x̂ and 1/σ, the feed-forward's
        // tape; then the working buffers of a pass.
        let per_seq = 4
            * (self.layers.len() * (t * (3 * h + 2 * h + 2 + up) + heads * t * t)
                + t * (5 * h + 2 * up + 3 * h + 1)
                + heads * t * t);
        by_binding.min(budget / per_seq.max(1)).max(1)
    }
}

/// One layer's tape on the device.
#[derive(Debug)]
struct LayerBufs {
    /// q and k rotated, for rotary attention.
    qkv: Buf,
    probs: Buf,
    /// x̂ then 1/σ of the attention norm, and of the feed-forward norm.
    ln1: Buf,
    ln2: Buf,
    /// The activation's derivative `(rows, inner)`; gated: `[x | g]`, `(rows, 2·inner)`.
    act: Buf,
    /// Rotary: the angles' cosines and sines at each position, `(t, d/2)`.
    cos_sin: Option<(Buf, Buf)>,
    rel: Option<RelBufs>,
}

/// DeBERTa's position terms for one input length.
#[derive(Debug)]
struct RelBufs {
    /// r(i, j) `(t, t)`, then for each (i, r) and each (j, r) the range of
    /// the other index with r(i, j) = r: `[lo, hi)` pairs (as f32, exact).
    index: Buf,
    /// Where the two tables of ranges start in `index`.
    by_query: usize,
    by_key: usize,
    count: usize,
    /// `(count, hidden)`; `None` when the term is off.
    pos_key: Option<Buf>,
    pos_query: Option<Buf>,
}

/// For each (u, r): the range of v with r = index(u, v) (`by_row`) or
/// index(v, u); `None` unless every such set is one run (the buckets are
/// monotone in i − j, so they are).
fn ranges(index: &[u32], t: usize, count: usize, by_row: bool) -> Option<Vec<f32>> {
    let mut out = vec![0f32; t * count * 2];
    for u in 0..t {
        let mut last: Option<u32> = None;
        for v in 0..t {
            let r = if by_row {
                index[u * t + v]
            } else {
                index[v * t + u]
            } as usize;
            let slot = 2 * (u * count + r);
            if last != Some(r as u32) {
                if out[slot + 1] != 0.0 {
                    return None; // this bucket already had a run
                }
                out[slot] = v as f32;
            }
            out[slot + 1] = (v + 1) as f32;
            last = Some(r as u32);
        }
    }
    Some(out)
}

impl RelBufs {
    fn new(gpu: &Gpu, rel: &Relative, h: usize, t: usize) -> Result<Self> {
        let rows = rel.dis.rows_for(&rel.qkv, h, t);
        let count = rows.count;
        let mut index: Vec<f32> = rows.index.iter().map(|&r| r as f32).collect();
        let by_query = index.len();
        let not_runs = || Error::Device("backend found relative buckets that are not runs".into());
        index.extend(ranges(&rows.index, t, count, true).ok_or_else(not_runs)?);
        let by_key = index.len();
        index.extend(ranges(&rows.index, t, count, false).ok_or_else(not_runs)?);
        let upload = |v: &[f32], on: bool| on.then(|| gpu.upload(v)).transpose();
        Ok(Self {
            index: gpu.upload(&index)?,
            by_query,
            by_key,
            count,
            pos_key: upload(&rows.pos_key, rel.dis.c2p)?,
            pos_query: upload(&rows.pos_query, rel.dis.p2c)?,
        })
    }
}

/// A batch's activations and tape on the device, kept from the forward
/// pass for the backward pass; reused by batches of the same size.
#[derive(Debug, Default)]
pub struct GpuTape {
    n: usize,
    t: usize,
    bufs: Option<Bufs>,
}

#[derive(Debug)]
struct Bufs {
    layers: Vec<LayerBufs>,
    input: Buf,
    x: Buf,
    tmp: Buf,
    ctx: Buf,
    /// `(rows, up)`: the feed-forward's middle, and its gradient.
    inner: Buf,
    dup: Buf,
    dqkv: Buf,
    dp: Buf,
    /// The final norm's x̂ and 1/σ.
    final_ln: Buf,
    /// DeBERTa: the content-to-position and position-to-content products,
    /// `(n·heads, t, count)`, and their gradients.
    c2p: Buf,
    p2c: Buf,
}

/// Sizes of one pass.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n: usize,
    t: usize,
    h: usize,
    heads: usize,
    d: usize,
    scale: f32,
}

impl Dims {
    fn rows(&self) -> usize {
        self.n * self.t
    }
}

fn u(v: usize) -> u32 {
    v as u32
}

/// `y = x Wᵀ + b` for `rows` rows (`y` added to with `accumulate`).
fn linear(pass: &mut Pass, y: &Buf, x: &Buf, l: &GpuLinear, rows: usize) {
    let p = Params {
        m: u(rows),
        n: u(l.out),
        k: u(l.inp),
        inner: 1,
        a_i: u(l.inp),
        a_k: 1,
        b_k: 1,
        b_j: u(l.inp),
        c_i: u(l.out),
        c_j: 1,
        flags: BIAS,
        alpha: 1.0,
        ..Default::default()
    };
    let binds = Binds {
        a: Some(x),
        b: Some(&l.w),
        c: Some(y),
        e: Some(&l.b),
        ..Default::default()
    };
    pass.matmul(p, 1, binds);
}

/// `dx (+)= dy W`: the input gradient of a Linear.
fn linear_backward(pass: &mut Pass, dx: &Buf, dy: &Buf, l: &GpuLinear, rows: usize, acc: bool) {
    let p = Params {
        m: u(rows),
        n: u(l.inp),
        k: u(l.out),
        inner: 1,
        a_i: u(l.out),
        a_k: 1,
        b_k: u(l.inp),
        b_j: 1,
        c_i: u(l.inp),
        c_j: 1,
        flags: if acc { ACCUMULATE } else { 0 },
        alpha: 1.0,
        ..Default::default()
    };
    let binds = Binds {
        a: Some(dy),
        b: Some(&l.w),
        c: Some(dx),
        ..Default::default()
    };
    pass.matmul(p, 1, binds);
}

fn layer_norm(pass: &mut Pass, x: &Buf, keep: &Buf, n: &GpuNorm, dims: Dims) {
    let p = Params {
        rows: u(dims.rows()),
        width: u(dims.h),
        eps: n.eps,
        aux: u(dims.rows() * dims.h),
        ..Default::default()
    };
    let binds = Binds {
        a: Some(&n.gamma),
        b: Some(&n.beta),
        c: Some(x),
        d: Some(keep),
        ..Default::default()
    };
    pass.rows(Kernel::LayerNorm, p, binds);
}

fn layer_norm_backward(pass: &mut Pass, g: &Buf, keep: &Buf, n: &GpuNorm, dims: Dims) {
    let p = Params {
        rows: u(dims.rows()),
        width: u(dims.h),
        aux: u(dims.rows() * dims.h),
        ..Default::default()
    };
    let binds = Binds {
        a: Some(keep),
        b: Some(&n.gamma),
        c: Some(g),
        ..Default::default()
    };
    pass.rows(Kernel::LayerNormBackward, p, binds);
}

/// `c += a` (`add`) or `c = c ⊙ a`, over `len` values.
fn combine(pass: &mut Pass, c: &Buf, a: &Buf, len: usize, add: bool) {
    let p = Params {
        rows: u(len),
        alpha: 1.0,
        flags: if add { ACCUMULATE } else { 0 },
        ..Default::default()
    };
    let binds = Binds {
        a: Some(a),
        c: Some(c),
        ..Default::default()
    };
    pass.each(Kernel::Combine, p, binds);
}

/// The strides of head `z0` of sequence `z1` in a `(n·t, width)` matrix whose
/// head columns start at `off`: rows `width` apart, heads `d` apart.
struct Heads {
    off: usize,
    row: usize,
    d: usize,
    seq: usize,
}

impl Heads {
    /// Within the stacked `q | k | v` rows: part 0, 1 or 2.
    fn qkv(part: usize, dims: Dims) -> Self {
        Self {
            off: part * dims.h,
            row: 3 * dims.h,
            d: dims.d,
            seq: dims.t * 3 * dims.h,
        }
    }

    /// Within a `(n·t, h)` matrix.
    fn plain(dims: Dims) -> Self {
        Self {
            off: 0,
            row: dims.h,
            d: dims.d,
            seq: dims.t * dims.h,
        }
    }
}

/// The `(t, t)` maps of every head: row-major, head after head, sequence
/// after sequence. `transposed` reads each map as its transpose.
struct Maps {
    transposed: bool,
}

impl Maps {
    /// A's strides: element (i, k) of the map.
    fn as_a(&self, p: &mut Params, dims: Dims) {
        let t = u(dims.t);
        (p.a_i, p.a_k) = if self.transposed { (1, t) } else { (t, 1) };
        p.a_z0 = t * t;
        p.a_z1 = u(dims.heads) * t * t;
    }
}

/// `C_z = alpha · A_z B_z` for every head z of every sequence.
#[allow(clippy::too_many_arguments)]
fn per_head(
    pass: &mut Pass,
    dims: Dims,
    (m, n, k): (usize, usize, usize),
    set: impl FnOnce(&mut Params),
    a: &Buf,
    b: &Buf,
    c: &Buf,
    alpha: f32,
) {
    let mut p = Params {
        m: u(m),
        n: u(n),
        k: u(k),
        inner: u(dims.heads),
        alpha,
        ..Default::default()
    };
    set(&mut p);
    let binds = Binds {
        a: Some(a),
        b: Some(b),
        c: Some(c),
        ..Default::default()
    };
    pass.matmul(p, dims.n * dims.heads, binds);
}

/// A's strides for a head's `(t, d)` block (or its transpose, `(d, t)`, with `t_`).
fn head_as_a(p: &mut Params, s: &Heads) {
    p.a_off = u(s.off);
    p.a_i = u(s.row);
    p.a_k = 1;
    p.a_z0 = u(s.d);
    p.a_z1 = u(s.seq);
}

/// B's strides for a head's `(t, d)` block read as `(k = token, j = dim)`,
/// or transposed (`(k = dim, j = token)`).
fn head_as_b(p: &mut Params, s: &Heads, transposed: bool) {
    p.b_off = u(s.off);
    (p.b_k, p.b_j) = if transposed {
        (1, u(s.row))
    } else {
        (u(s.row), 1)
    };
    p.b_z0 = u(s.d);
    p.b_z1 = u(s.seq);
}

/// C's strides for a head's `(t, d)` block.
fn head_as_c(p: &mut Params, s: &Heads) {
    p.c_off = u(s.off);
    p.c_i = u(s.row);
    p.c_j = 1;
    p.c_z0 = u(s.d);
    p.c_z1 = u(s.seq);
}

/// C's strides for the `(t, t)` maps.
fn maps_as_c(p: &mut Params, dims: Dims) {
    let t = u(dims.t);
    p.c_i = t;
    p.c_j = 1;
    p.c_z0 = t * t;
    p.c_z1 = u(dims.heads) * t * t;
}

impl GpuEncoder {
    fn dims(&self, n: usize, t: usize) -> Dims {
        Dims {
            n,
            t,
            h: self.hidden,
            heads: self.heads,
            d: self.hidden / self.heads,
            scale: self.scale,
        }
    }

    fn ensure<'t>(
        &self,
        tape: &'t mut GpuTape,
        n: usize,
        t: usize,
        width: usize,
    ) -> Result<&'t Bufs> {
        if tape.bufs.is_none() || tape.n != n || tape.t != t {
            tape.bufs = None;
            let gpu = &self.gpu;
            let (h, rows) = (self.hidden, n * t);
            let maps = n * self.heads * t * t;
            let mut layers = Vec::with_capacity(self.layers.len());
            for l in &self.layers {
                let cos_sin = match &l.rotary {
                    // freqs = position_ids * inv_freq, as the CPU engine computes them
                    Some(r) => {
                        let angles = |f: fn(f32) -> f32| -> Vec<f32> {
                            (0..t)
                                .flat_map(|i| r.inv_freq.iter().map(move |&v| f(i as f32 * v)))
                                .collect()
                        };
                        Some((
                            gpu.upload(&angles(f32::cos))?,
                            gpu.upload(&angles(f32::sin))?,
                        ))
                    }
                    None => None,
                };
                let act = if l.glu { 2 * l.inner() } else { l.inner() };
                let rel = match &l.relative {
                    Some(r) => Some(RelBufs::new(gpu, r, h, t)?),
                    None => None,
                };
                layers.push(LayerBufs {
                    qkv: gpu.buffer(rows * 3 * h)?,
                    probs: gpu.buffer(maps)?,
                    ln1: gpu.buffer(rows * h + rows)?,
                    ln2: gpu.buffer(rows * h + rows)?,
                    act: gpu.buffer(rows * act)?,
                    cos_sin,
                    rel,
                });
            }
            let count = layers
                .iter()
                .filter_map(|l| l.rel.as_ref().map(|r| r.count))
                .max()
                .unwrap_or(0);
            let rel_len = n * self.heads * t * count;
            tape.bufs = Some(Bufs {
                layers,
                input: gpu.buffer(rows * width.max(h))?,
                x: gpu.buffer(rows * h)?,
                tmp: gpu.buffer(rows * h)?,
                ctx: gpu.buffer(rows * h)?,
                inner: gpu.buffer(rows * self.up)?,
                dup: gpu.buffer(rows * self.up)?,
                dqkv: gpu.buffer(rows * 3 * h)?,
                dp: gpu.buffer(maps)?,
                final_ln: gpu.buffer(rows * h + rows)?,
                c2p: gpu.buffer(rel_len)?,
                p2c: gpu.buffer(rel_len)?,
            });
            tape.n = n;
            tape.t = t;
        }
        tape.bufs
            .as_ref()
            .ok_or_else(|| Error::Internal("the GPU tape".into()))
    }

    /// Rotates q and k of `qkv` by their positions (`sign` −1 undoes it).
    fn rotate(&self, pass: &mut Pass, qkv: &Buf, lb: &LayerBufs, dims: Dims, sign: f32) {
        let Some((cos, sin)) = &lb.cos_sin else {
            return;
        };
        let half = dims.d / 2;
        let p = Params {
            rows: u(dims.rows() * 2 * dims.heads * half),
            k: u(half),
            inner: u(dims.heads),
            width: u(3 * dims.h),
            t: u(dims.t),
            alpha: sign,
            ..Default::default()
        };
        let binds = Binds {
            a: Some(cos),
            b: Some(sin),
            c: Some(qkv),
            ..Default::default()
        };
        pass.each(Kernel::Rotate, p, binds);
    }

    /// q, k, v from `input`, then the attention of every head into `bufs.ctx`.
    fn attention(
        &self,
        pass: &mut Pass,
        l: &GpuLayer,
        lb: &LayerBufs,
        input: &Buf,
        bufs: &Bufs,
        dims: Dims,
    ) {
        let (t, d) = (dims.t, dims.d);
        linear(pass, &lb.qkv, input, &l.qkv, dims.rows());
        self.rotate(pass, &lb.qkv, lb, dims, 1.0);
        // S = q kᵀ · scale, then P = softmax(S) within the window
        let (q, k, v) = (
            Heads::qkv(0, dims),
            Heads::qkv(1, dims),
            Heads::qkv(2, dims),
        );
        let set = |p: &mut Params| {
            head_as_a(p, &q);
            head_as_b(p, &k, true);
            maps_as_c(p, dims);
        };
        per_head(
            pass,
            dims,
            (t, t, d),
            set,
            &lb.qkv,
            &lb.qkv,
            &lb.probs,
            dims.scale,
        );
        if let Some(rel) = &lb.rel {
            self.relative_scores(pass, rel, lb, bufs, dims);
        }
        let window = l.rotary.as_ref().and_then(|r| r.window);
        let p = Params {
            rows: u(dims.n * dims.heads * t),
            width: u(t),
            t: u(t),
            window: window.map_or(0, |w| u(w + 1)),
            ..Default::default()
        };
        let binds = Binds {
            c: Some(&lb.probs),
            ..Default::default()
        };
        pass.rows(Kernel::Softmax, p, binds);
        // ctx = P v
        let set = |p: &mut Params| {
            Maps { transposed: false }.as_a(p, dims);
            head_as_b(p, &v, false);
            head_as_c(p, &Heads::plain(dims));
        };
        per_head(
            pass,
            dims,
            (t, d, t),
            set,
            &lb.probs,
            &lb.qkv,
            &bufs.ctx,
            1.0,
        );
    }

    /// The input gradient of [`Self::attention`] up to q, k, v: `bufs.ctx`
    /// holds ∂/∂ctx; `bufs.dqkv` gets ∂/∂(q | k | v) before the rotation.
    fn attention_backward(&self, pass: &mut Pass, lb: &LayerBufs, bufs: &Bufs, dims: Dims) {
        let (t, d) = (dims.t, dims.d);
        let (q, k, v) = (
            Heads::qkv(0, dims),
            Heads::qkv(1, dims),
            Heads::qkv(2, dims),
        );
        let dctx = Heads::plain(dims);
        // dP = dctx vᵀ
        let set = |p: &mut Params| {
            head_as_a(p, &dctx);
            head_as_b(p, &v, true);
            maps_as_c(p, dims);
        };
        per_head(
            pass,
            dims,
            (t, t, d),
            set,
            &bufs.ctx,
            &lb.qkv,
            &bufs.dp,
            1.0,
        );
        // dv = Pᵀ dctx
        let set = |p: &mut Params| {
            Maps { transposed: true }.as_a(p, dims);
            head_as_b(p, &dctx, false);
            head_as_c(p, &v);
        };
        per_head(
            pass,
            dims,
            (t, d, t),
            set,
            &lb.probs,
            &bufs.ctx,
            &bufs.dqkv,
            1.0,
        );
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale (masked keys have P = 0, so dS = 0)
        let p = Params {
            rows: u(dims.n * dims.heads * t),
            width: u(t),
            alpha: dims.scale,
            ..Default::default()
        };
        let binds = Binds {
            a: Some(&lb.probs),
            c: Some(&bufs.dp),
            ..Default::default()
        };
        pass.rows(Kernel::SoftmaxBackward, p, binds);
        // dq = dS k; dk = dSᵀ q
        let set = |p: &mut Params| {
            Maps { transposed: false }.as_a(p, dims);
            head_as_b(p, &k, false);
            head_as_c(p, &q);
        };
        per_head(
            pass,
            dims,
            (t, d, t),
            set,
            &bufs.dp,
            &lb.qkv,
            &bufs.dqkv,
            1.0,
        );
        let set = |p: &mut Params| {
            Maps { transposed: true }.as_a(p, dims);
            head_as_b(p, &q, false);
            head_as_c(p, &k);
        };
        per_head(
            pass,
            dims,
            (t, d, t),
            set,
            &bufs.dp,
            &lb.qkv,
            &bufs.dqkv,
            1.0,
        );
        if let Some(rel) = &lb.rel {
            self.relative_backward(pass, rel, bufs, dims);
        }
        self.rotate(pass, &bufs.dqkv, lb, dims, -1.0);
    }

    /// DeBERTa's position terms added to the scores:
    /// `S_ij += scale · (q_i·pk_r(i,j) + k_j·pq_r(i,j))`.
    fn relative_scores(
        &self,
        pass: &mut Pass,
        rel: &RelBufs,
        lb: &LayerBufs,
        bufs: &Bufs,
        dims: Dims,
    ) {
        let (t, d, count) = (dims.t, dims.d, rel.count);
        let terms = [
            (&rel.pos_key, Heads::qkv(0, dims), &bufs.c2p, C2P),
            (&rel.pos_query, Heads::qkv(1, dims), &bufs.p2c, P2C),
        ];
        let mut flags = 0;
        for (pos, from, out, flag) in terms {
            let Some(pos) = pos else { continue };
            // c2p = q · pkᵀ (p2c = k · pqᵀ), (t, count) per head
            let set = |p: &mut Params| {
                head_as_a(p, &from);
                (p.b_k, p.b_j, p.b_z0, p.b_z1) = (1, u(dims.h), u(d), 0);
                (p.c_i, p.c_j, p.c_z0) = (u(count), 1, u(t * count));
                p.c_z1 = u(dims.heads * t * count);
            };
            per_head(pass, dims, (t, count, d), set, &lb.qkv, pos, out, 1.0);
            flags |= flag;
        }
        let p = Params {
            rows: u(dims.n * dims.heads * t * t),
            t: u(t),
            width: u(count),
            alpha: dims.scale,
            flags,
            ..Default::default()
        };
        let binds = Binds {
            a: rel.pos_key.as_ref().map(|_| &bufs.c2p),
            b: rel.pos_query.as_ref().map(|_| &bufs.p2c),
            c: Some(&lb.probs),
            e: Some(&rel.index),
            ..Default::default()
        };
        pass.each(Kernel::RelativeScores, p, binds);
    }

    /// Their input gradient, added to `bufs.dqkv`: `dq_i += Σ_j dS_ij pk_r(i,j)`,
    /// `dk_j += Σ_i dS_ij pq_r(i,j)` (`bufs.dp` holds dS, already scaled).
    fn relative_backward(&self, pass: &mut Pass, rel: &RelBufs, bufs: &Bufs, dims: Dims) {
        let (t, d, count) = (dims.t, dims.d, rel.count);
        let terms = [
            (
                &rel.pos_key,
                Heads::qkv(0, dims),
                &bufs.c2p,
                C2P,
                rel.by_query,
            ),
            (
                &rel.pos_query,
                Heads::qkv(1, dims),
                &bufs.p2c,
                P2C,
                rel.by_key,
            ),
        ];
        for (pos, into, g, flag, ranges) in terms {
            let Some(pos) = pos else { continue };
            // G[u, r] = Σ of dS over the (i, j) with r(i, j) = r, u = i (c2p) or j (p2c)
            let p = Params {
                rows: u(dims.n * dims.heads * t * count),
                t: u(t),
                width: u(count),
                aux: u(ranges),
                flags: flag,
                ..Default::default()
            };
            let binds = Binds {
                a: Some(&bufs.dp),
                c: Some(g),
                e: Some(&rel.index),
                ..Default::default()
            };
            pass.each(Kernel::RelativeGather, p, binds);
            // dq += G pk (dk += G pq)
            let set = |p: &mut Params| {
                (p.a_i, p.a_k, p.a_z0) = (u(count), 1, u(t * count));
                p.a_z1 = u(dims.heads * t * count);
                (p.b_k, p.b_j, p.b_z0, p.b_z1) = (u(dims.h), 1, u(d), 0);
                head_as_c(p, &into);
                p.flags = ACCUMULATE;
            };
            per_head(pass, dims, (t, d, count), set, g, pos, &bufs.dqkv, 1.0);
        }
    }

    /// The feed-forward block on `x` into `out`, keeping its tape.
    #[allow(clippy::too_many_arguments)]
    fn ffn(
        &self,
        pass: &mut Pass,
        l: &GpuLayer,
        lb: &LayerBufs,
        x: &Buf,
        out: &Buf,
        bufs: &Bufs,
        rows: usize,
    ) {
        let width = l.inner();
        if l.glu {
            // input, gate = self.Wi(hidden_states).chunk(2, dim=-1); act(input) * gate
            linear(pass, &lb.act, x, &l.intermediate, rows);
            let p = Params {
                rows: u(rows * width),
                width: u(width),
                act: l.act,
                ..Default::default()
            };
            let binds = Binds {
                a: Some(&lb.act),
                c: Some(&bufs.inner),
                ..Default::default()
            };
            pass.each(Kernel::Glu, p, binds);
        } else {
            linear(pass, &bufs.inner, x, &l.intermediate, rows);
            let p = Params {
                rows: u(rows * width),
                act: l.act,
                ..Default::default()
            };
            let binds = Binds {
                c: Some(&bufs.inner),
                d: Some(&lb.act),
                ..Default::default()
            };
            pass.each(Kernel::Activate, p, binds);
        }
        linear(pass, out, &bufs.inner, &l.output, rows);
    }

    /// The input gradient of [`Self::ffn`]: `dy` in, `dx` written (added to with `acc`).
    #[allow(clippy::too_many_arguments)]
    fn ffn_backward(
        &self,
        pass: &mut Pass,
        l: &GpuLayer,
        lb: &LayerBufs,
        dy: &Buf,
        dx: &Buf,
        bufs: &Bufs,
        rows: usize,
        acc: bool,
    ) {
        let width = l.inner();
        linear_backward(pass, &bufs.inner, dy, &l.output, rows, false);
        let d_up = if l.glu {
            let p = Params {
                rows: u(rows * width),
                width: u(width),
                act: l.act,
                ..Default::default()
            };
            let binds = Binds {
                a: Some(&bufs.inner),
                b: Some(&lb.act),
                c: Some(&bufs.dup),
                ..Default::default()
            };
            pass.each(Kernel::GluBackward, p, binds);
            &bufs.dup
        } else {
            combine(pass, &bufs.inner, &lb.act, rows * width, false);
            &bufs.inner
        };
        linear_backward(pass, dx, d_up, &l.intermediate, rows, acc);
    }

    /// One layer on `bufs.x`, in place. Post-norm:
    /// x1 = LN1(Attn(x) Woᵀ + bo + x); x2 = LN2(FFN(x1) + x1).
    /// Pre-norm: x1 = x + Attn(LN1(x)) Woᵀ + bo; x2 = x1 + FFN(LN2(x1)).
    fn layer(&self, pass: &mut Pass, l: &GpuLayer, lb: &LayerBufs, bufs: &Bufs, dims: Dims) {
        let (rows, h) = (dims.rows(), dims.h);
        let (x, tmp) = (&bufs.x, &bufs.tmp);
        match (l.norms, &l.attention_norm) {
            (Norms::Pre, Some(n1)) => {
                pass.copy(tmp, x, rows * h);
                layer_norm(pass, tmp, &lb.ln1, n1, dims);
                self.attention(pass, l, lb, tmp, bufs, dims);
            }
            _ => self.attention(pass, l, lb, x, bufs, dims),
        }
        // ctx Woᵀ + bo + x
        linear(pass, tmp, &bufs.ctx, &l.attention_output, rows);
        combine(pass, tmp, x, rows * h, true);
        match (l.norms, &l.attention_norm) {
            (Norms::Post, Some(n1)) => {
                layer_norm(pass, tmp, &lb.ln1, n1, dims);
                self.ffn(pass, l, lb, tmp, x, bufs, rows);
                combine(pass, x, tmp, rows * h, true);
                layer_norm(pass, x, &lb.ln2, &l.ffn_norm, dims);
            }
            _ => {
                pass.copy(x, tmp, rows * h);
                layer_norm(pass, tmp, &lb.ln2, &l.ffn_norm, dims);
                self.ffn(pass, l, lb, tmp, &bufs.ctx, bufs, rows);
                combine(pass, x, &bufs.ctx, rows * h, true);
            }
        }
    }

    /// The input gradient of [`Self::layer`], in place on `g` (`bufs.x`).
    fn layer_backward(
        &self,
        pass: &mut Pass,
        l: &GpuLayer,
        lb: &LayerBufs,
        bufs: &Bufs,
        dims: Dims,
    ) {
        let (rows, h) = (dims.rows(), dims.h);
        let (g, tmp) = (&bufs.x, &bufs.tmp);
        match (l.norms, &l.attention_norm) {
            (Norms::Post, Some(n1)) => {
                // Through LN2; the residual carries the same gradient to x1.
                layer_norm_backward(pass, g, &lb.ln2, &l.ffn_norm, dims);
                pass.copy(tmp, g, rows * h);
                self.ffn_backward(pass, l, lb, g, tmp, bufs, rows, true);
                // Through LN1; the residual carries the same gradient to x.
                layer_norm_backward(pass, tmp, &lb.ln1, n1, dims);
                pass.copy(g, tmp, rows * h);
            }
            _ => {
                // x2 = x1 + FFN(LN2(x1)): g += LN2ᵀ(FFNᵀ(g)).
                self.ffn_backward(pass, l, lb, g, tmp, bufs, rows, false);
                layer_norm_backward(pass, tmp, &lb.ln2, &l.ffn_norm, dims);
                combine(pass, g, tmp, rows * h, true);
            }
        }
        // The attention branch: dctx = g Wo, then q, k, v, then g += dqkv W_qkv
        // (through LN1 for pre-norm).
        linear_backward(pass, &bufs.ctx, g, &l.attention_output, rows, false);
        self.attention_backward(pass, lb, bufs, dims);
        match (l.norms, &l.attention_norm) {
            (Norms::Pre, Some(n1)) => {
                linear_backward(pass, tmp, &bufs.dqkv, &l.qkv, rows, false);
                layer_norm_backward(pass, tmp, &lb.ln1, n1, dims);
                combine(pass, g, tmp, rows * h, true);
            }
            _ => linear_backward(pass, g, &bufs.dqkv, &l.qkv, rows, true),
        }
    }
}

impl Layers for GpuEncoder {
    type Tape = GpuTape;

    fn forward(&self, x: Vec<f32>, n: usize, t: usize, tape: &mut GpuTape) -> Result<Vec<f32>> {
        let gpu = self.gpu.clone();
        gpu.exclusive(|| {
            let width = x.len() / (n * t).max(1);
            let bufs = self.ensure(tape, n, t, width)?;
            let dims = self.dims(n, t);
            let mut pass = gpu.pass();
            match &self.project {
                Some(p) => {
                    gpu.write(&bufs.input, &x);
                    linear(&mut pass, &bufs.x, &bufs.input, p, dims.rows());
                }
                None => gpu.write(&bufs.x, &x),
            }
            for (l, lb) in self.layers.iter().zip(&bufs.layers) {
                self.layer(&mut pass, l, lb, bufs, dims);
            }
            if let Some(f) = &self.final_norm {
                layer_norm(&mut pass, &bufs.x, &bufs.final_ln, f, dims);
            }
            pass.submit();
            gpu.read(&bufs.x, dims.rows() * dims.h)
        })
    }

    fn backward(&self, g: Vec<f32>, tape: &mut GpuTape) -> Result<Vec<f32>> {
        let gpu = self.gpu.clone();
        gpu.exclusive(|| {
            let dims = self.dims(tape.n, tape.t);
            let bufs = tape
                .bufs
                .as_ref()
                .ok_or_else(|| Error::Internal("a GPU backward pass before its forward".into()))?;
            gpu.write(&bufs.x, &g);
            let mut pass = gpu.pass();
            if let Some(f) = &self.final_norm {
                layer_norm_backward(&mut pass, &bufs.x, &bufs.final_ln, f, dims);
            }
            for (l, lb) in self.layers.iter().zip(&bufs.layers).rev() {
                self.layer_backward(&mut pass, l, lb, bufs, dims);
            }
            let rows = dims.rows();
            let out = match &self.project {
                Some(p) => {
                    linear_backward(&mut pass, &bufs.input, &bufs.x, p, rows, false);
                    (&bufs.input, rows * p.inp)
                }
                None => (&bufs.x, rows * dims.h),
            };
            pass.submit();
            gpu.read(out.0, out.1)
        })
    }
}
