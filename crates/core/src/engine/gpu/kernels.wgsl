// bertlens' GPU kernels: what the encoder's forward pass and its input-only
// backward pass are made of, on f32 buffers. Every entry point shares one
// bind group layout:
//   p: the dispatch's parameters (a dynamic offset into one uniform buffer)
//   a, b, e: read-only inputs; c, d: read-write outputs.
// Unused bindings are bound to buffers of their own (a buffer may not be
// bound twice where one binding writes it).

struct Params {
    // a matrix product's sizes, and the inner batch count (heads)
    m: u32, n: u32, k: u32, inner: u32,
    // element (z1, z0, i, k) of A is a[a_off + z1·a_z1 + z0·a_z0 + i·a_i + k·a_k]
    a_off: u32, a_i: u32, a_k: u32, a_z0: u32,
    a_z1: u32, b_off: u32, b_k: u32, b_j: u32,
    b_z0: u32, b_z1: u32, c_off: u32, c_i: u32,
    c_j: u32, c_z0: u32, c_z1: u32, flags: u32,
    alpha: f32, eps: f32, width: u32, rows: u32,
    e_off: u32, act: u32, window: u32, grid: u32,
    t: u32, aux: u32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> d: array<f32>;
@group(0) @binding(5) var<storage, read> e: array<f32>;

const ACCUMULATE: u32 = 1u;
const BIAS: u32 = 2u;

// ---- C = alpha · A B (+ bias e[j]) (+ C): batched, strided, tiled -------------------
// A 64×64 tile of C per workgroup of 16×16 threads, each thread 4×4 of it
// (rows lid.y + 16r, columns lid.x + 16s), over K in steps of 16 staged in
// workgroup memory. Loads run along whichever of the operand's axes is
// contiguous, so that neighbouring threads read neighbouring words.

const TILE: u32 = 64u;
const KT: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [kk][i]
var<workgroup> Bs: array<f32, 1024>; // [kk][j]

@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let z1 = wid.z / p.inner;
    let z0 = wid.z % p.inner;
    let abase = p.a_off + z1 * p.a_z1 + z0 * p.a_z0;
    let bbase = p.b_off + z1 * p.b_z1 + z0 * p.b_z0;
    let cbase = p.c_off + z1 * p.c_z1 + z0 * p.c_z0;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let tid = lid.y * 16u + lid.x;
    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i++) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < p.k; k0 += KT) {
        for (var l = 0u; l < 4u; l++) {
            let el = tid + l * 256u;
            var i: u32;
            var kk: u32;
            if (p.a_k == 1u) {
                kk = el % KT;
                i = el / KT;
            } else {
                i = el % TILE;
                kk = el / TILE;
            }
            let gi = row0 + i;
            let gk = k0 + kk;
            var v = 0.0;
            if (gi < p.m && gk < p.k) {
                v = a[abase + gi * p.a_i + gk * p.a_k];
            }
            As[kk * TILE + i] = v;
        }
        for (var l = 0u; l < 4u; l++) {
            let el = tid + l * 256u;
            var j: u32;
            var kk: u32;
            if (p.b_k == 1u) {
                kk = el % KT;
                j = el / KT;
            } else {
                j = el % TILE;
                kk = el / TILE;
            }
            let gj = col0 + j;
            let gk = k0 + kk;
            var v = 0.0;
            if (gj < p.n && gk < p.k) {
                v = b[bbase + gk * p.b_k + gj * p.b_j];
            }
            Bs[kk * TILE + j] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < KT; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var r = 0u; r < 4u; r++) {
                av[r] = As[kk * TILE + lid.y + 16u * r];
                bv[r] = Bs[kk * TILE + lid.x + 16u * r];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var s = 0u; s < 4u; s++) {
                    acc[r * 4u + s] = fma(av[r], bv[s], acc[r * 4u + s]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let gi = row0 + lid.y + 16u * r;
        for (var s = 0u; s < 4u; s++) {
            let gj = col0 + lid.x + 16u * s;
            if (gi < p.m && gj < p.n) {
                var v = p.alpha * acc[r * 4u + s];
                if ((p.flags & BIAS) != 0u) {
                    v += e[p.e_off + gj];
                }
                let idx = cbase + gi * p.c_i + gj * p.c_j;
                if ((p.flags & ACCUMULATE) != 0u) {
                    v += c[idx];
                }
                c[idx] = v;
            }
        }
    }
}

// ---- rows: one workgroup of 256 threads per row of `p.width` ----------------------

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

fn sum_all(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn max_all(v: f32, lid: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] = max(red[lid], red[lid + s]);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn row_of(wid: vec3<u32>) -> u32 {
    return wid.y * p.grid + wid.x;
}

// Whether key j is outside query i's sliding window: p.window is the
// window's half-width plus one (0: no window).
fn masked(row: u32, j: u32) -> bool {
    if (p.window == 0u) {
        return false;
    }
    let i = row % p.t;
    let dist = select(j - i, i - j, i > j);
    return dist >= p.window;
}

// Softmax of each row of c in place (masked keys get 0).
@compute @workgroup_size(256, 1, 1)
fn softmax(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = row_of(wid);
    if (row >= p.rows) {
        return;
    }
    let lid = lid3.x;
    let base = p.c_off + row * p.width;
    var m = -3.0e38;
    for (var j = lid; j < p.width; j += WG) {
        if (!masked(row, j)) {
            m = max(m, c[base + j]);
        }
    }
    m = max_all(m, lid);
    var s = 0.0;
    for (var j = lid; j < p.width; j += WG) {
        var v = 0.0;
        if (!masked(row, j)) {
            v = exp(c[base + j] - m);
        }
        c[base + j] = v;
        s += v;
    }
    s = sum_all(s, lid);
    let inv = 1.0 / s;
    for (var j = lid; j < p.width; j += WG) {
        c[base + j] *= inv;
    }
}

// dS = alpha · P ⊙ (dP − Σⱼ dPⱼ Pⱼ): dP in c (in place), P in a.
@compute @workgroup_size(256, 1, 1)
fn softmax_backward(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = row_of(wid);
    if (row >= p.rows) {
        return;
    }
    let lid = lid3.x;
    let base = row * p.width;
    var dot = 0.0;
    for (var j = lid; j < p.width; j += WG) {
        dot += c[p.c_off + base + j] * a[p.a_off + base + j];
    }
    dot = sum_all(dot, lid);
    for (var j = lid; j < p.width; j += WG) {
        let i = p.c_off + base + j;
        c[i] = p.alpha * a[p.a_off + base + j] * (c[i] - dot);
    }
}

// Layer norm of each row of c in place: y = x̂·γ + β (γ in a, β in b); x̂
// into d, and 1/√(var + eps) into d[p.aux + row].
@compute @workgroup_size(256, 1, 1)
fn layer_norm(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = row_of(wid);
    if (row >= p.rows) {
        return;
    }
    let lid = lid3.x;
    let base = row * p.width;
    let w = f32(p.width);
    var s = 0.0;
    for (var j = lid; j < p.width; j += WG) {
        s += c[base + j];
    }
    let mean = sum_all(s, lid) / w;
    var q = 0.0;
    for (var j = lid; j < p.width; j += WG) {
        let x = c[base + j] - mean;
        q += x * x;
    }
    let rstd = 1.0 / sqrt(sum_all(q, lid) / w + p.eps);
    for (var j = lid; j < p.width; j += WG) {
        let xh = (c[base + j] - mean) * rstd;
        d[base + j] = xh;
        c[base + j] = xh * a[j] + b[j];
    }
    if (lid == 0u) {
        d[p.aux + row] = rstd;
    }
}

// The input gradient of layer norm, in place on c: x̂ and rstd in a (as
// layer_norm left them in d), γ in b.
@compute @workgroup_size(256, 1, 1)
fn layer_norm_backward(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = row_of(wid);
    if (row >= p.rows) {
        return;
    }
    let lid = lid3.x;
    let base = row * p.width;
    let w = f32(p.width);
    var s = 0.0;
    var q = 0.0;
    for (var j = lid; j < p.width; j += WG) {
        let dy = c[base + j] * b[j];
        s += dy;
        q += dy * a[base + j];
    }
    let mean = sum_all(s, lid) / w;
    let mean_dot = sum_all(q, lid) / w;
    let rstd = a[p.aux + row];
    for (var j = lid; j < p.width; j += WG) {
        let dy = c[base + j] * b[j];
        c[base + j] = rstd * (dy - mean - a[base + j] * mean_dot);
    }
}

// ---- elementwise, over p.rows elements, 256 per workgroup -------------------------

fn index_of(gid: vec3<u32>) -> u32 {
    return gid.y * (p.grid * 256u) + gid.x;
}

fn erf(x: f32) -> f32 {
    // Numerical Recipes' erfc (fractional error < 1.2e-7), as the CPU engine.
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.2655122 + t * (1.0000237 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.135204
        + t * (1.4885159 + t * (-0.82215223 + t * 0.17087277))))))));
    let erfc = t * exp(-z * z + poly);
    return sign(x) * (1.0 - erfc);
}

fn tanh_(x: f32) -> f32 {
    return 1.0 - 2.0 / (exp(clamp(2.0 * x, -87.0, 88.0)) + 1.0);
}

// The activation `code` at u and its derivative there, (y, y′):
// 0 gelu (erf), 1 gelu (tanh), 2 relu, 3 silu, 4 tanh.
fn act(u: f32, code: u32) -> vec2<f32> {
    switch code {
        case 0u: {
            let cdf = 0.5 * (1.0 + erf(u * 0.70710678));
            let pdf = 0.3989423 * exp(-0.5 * u * u);
            return vec2<f32>(u * cdf, cdf + u * pdf);
        }
        case 1u: {
            let th = tanh_(0.7978846 * (u + 0.044715 * u * u * u));
            let g = 0.5 * (1.0 + th) + 0.5 * u * (1.0 - th * th) * 0.7978846 * (1.0 + 3.0 * 0.044715 * u * u);
            return vec2<f32>(0.5 * u * (1.0 + th), g);
        }
        case 2u: {
            return vec2<f32>(max(u, 0.0), select(0.0, 1.0, u > 0.0));
        }
        case 3u: {
            let s = 1.0 / (1.0 + exp(clamp(-u, -87.0, 88.0)));
            return vec2<f32>(u * s, s * (1.0 + u * (1.0 - s)));
        }
        default: {
            let th = tanh_(u);
            return vec2<f32>(th, 1.0 - th * th);
        }
    }
}

// The activation p.act of c in place, its derivative into d.
@compute @workgroup_size(256, 1, 1)
fn activate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    let y = act(c[p.c_off + i], p.act);
    c[p.c_off + i] = y.x;
    d[p.e_off + i] = y.y;
}

// The gated feed-forward's middle: c[r, m] = act(x) · g for the rows
// [x | g] of a (p.width = the width of x), over p.rows values of c.
@compute @workgroup_size(256, 1, 1)
fn glu(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    let r = i / p.width;
    let m = i % p.width;
    let up = r * 2u * p.width;
    c[i] = act(a[up + m], p.act).x * a[up + p.width + m];
}

// Its input gradient: dm in a, [x | g] in b; c gets [dm·g·act′(x) | dm·act(x)].
@compute @workgroup_size(256, 1, 1)
fn glu_backward(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    let r = i / p.width;
    let m = i % p.width;
    let up = r * 2u * p.width;
    let y = act(b[up + m], p.act);
    c[up + m] = a[i] * b[up + p.width + m] * y.y;
    c[up + p.width + m] = a[i] * y.x;
}

// Rotary positions: each head's halves (x₁, x₂) of q and k in the stacked
// rows of c (p.width wide, from p.c_off) become x₁ cos − s·x₂ sin and
// x₂ cos + s·x₁ sin, s = p.alpha (−1 undoes it, which is also its
// backward pass); cos in a and sin in b, (t, half). p.k = half, p.inner =
// heads, p.rows = rows · 2 · heads · half.
@compute @workgroup_size(256, 1, 1)
fn rotate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    let half = p.k;
    let m = i % half;
    let rest = i / half;
    let hd = rest % p.inner;
    let part = (rest / p.inner) % 2u;
    let row = rest / (2u * p.inner);
    let pos = row % p.t;
    let base = p.c_off + row * p.width + part * p.inner * 2u * half + hd * 2u * half;
    let x1 = c[base + m];
    let x2 = c[base + m + half];
    let co = a[pos * half + m];
    let si = b[pos * half + m];
    c[base + m] = x1 * co - p.alpha * x2 * si;
    c[base + m + half] = x2 * co + p.alpha * x1 * si;
}

// c[i] = alpha · c[i] · a[i] (flags & ACCUMULATE: c[i] += a[i] instead).
@compute @workgroup_size(256, 1, 1)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    if ((p.flags & ACCUMULATE) != 0u) {
        c[p.c_off + i] += a[p.a_off + i];
    } else {
        c[p.c_off + i] = p.alpha * c[p.c_off + i] * a[p.a_off + i];
    }
}

// c[i] = a[i].
@compute @workgroup_size(256, 1, 1)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = index_of(gid);
    if (i >= p.rows) {
        return;
    }
    c[p.c_off + i] = a[p.a_off + i];
}

// ---- DeBERTa's relative positions ---------------------------------------------------
// The relative index r(i, j) of a (t, t) input is in e (as f32), and for
// the backward pass, in e too from p.aux: for each (i, r) the range of j
// with r(i, j) = r, and for each (j, r) the range of i ([lo, hi) pairs).

// S[z, i, j] += alpha · (C2P[z, i, r(i, j)] + P2C[z, j, r(i, j)]) over the
// n·heads·t·t scores in c; C2P in a and P2C in b, (t, p.width = count) per
// head; flags bit 4: c2p, bit 8: p2c.
@compute @workgroup_size(256, 1, 1)
fn relative_scores(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = index_of(gid);
    if (x >= p.rows) {
        return;
    }
    let tt = p.t * p.t;
    let z = x / tt;
    let ij = x % tt;
    let i = ij / p.t;
    let j = ij % p.t;
    let r = u32(e[ij]);
    var s = 0.0;
    if ((p.flags & 4u) != 0u) {
        s += a[(z * p.t + i) * p.width + r];
    }
    if ((p.flags & 8u) != 0u) {
        s += b[(z * p.t + j) * p.width + r];
    }
    c[x] += p.alpha * s;
}

// G[z, u, r] = Σ dS[z, i, j] over the (i, j) with r(i, j) = r, where u is i
// (p.flags bit 4: c2p) or j (p2c): the ranges from e[p.aux + 2·(u·count + r)].
// dS in a, G (t, count per head) into c; p.rows = n·heads·t·count.
@compute @workgroup_size(256, 1, 1)
fn relative_gather(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = index_of(gid);
    if (x >= p.rows) {
        return;
    }
    let per = p.t * p.width;
    let z = x / per;
    let ur = x % per;
    let u = ur / p.width;
    let range = p.aux + 2u * ur;
    let lo = u32(e[range]);
    let hi = u32(e[range + 1u]);
    let base = z * p.t * p.t;
    var s = 0.0;
    for (var v = lo; v < hi; v++) {
        if ((p.flags & 4u) != 0u) {
            s += a[base + u * p.t + v];
        } else {
            s += a[base + v * p.t + u];
        }
    }
    c[x] = s;
}
