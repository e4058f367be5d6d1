//! The arithmetic of the fast path on plain row-major `f32` slices: matrix
//! products (the `gemm` crate: AVX2/AVX-512 natively, SIMD128 in wasm),
//! layer norm, activations with their derivatives, softmax, and vectorisable
//! `exp` and `erf`.

use gemm::Parallelism;

/// How a matrix product may use threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// On the calling thread (inside a parallel loop, and in wasm).
    One,
    /// Across the current rayon pool.
    Pool,
}

impl Threads {
    fn parallelism(self) -> Parallelism {
        match self {
            Threads::One => Parallelism::None,
            #[cfg(not(target_arch = "wasm32"))]
            Threads::Pool => Parallelism::Rayon(0),
            #[cfg(target_arch = "wasm32")]
            Threads::Pool => Parallelism::None,
        }
    }
}

/// A matrix view: `rows × cols` elements at `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols)
    }

    /// Row-major with a row stride (a block of columns of a wider matrix).
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs,
            cs: 1,
        }
    }

    /// The transpose, as a view.
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn last(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            (self.rows - 1) * self.rs + (self.cols - 1) * self.cs + 1
        }
    }
}

/// `out = a · b` (or `out += a · b`), `out` row-major with row stride `out_rs`.
pub fn matmul(out: &mut [f32], out_rs: usize, a: Mat, b: Mat, accumulate: bool, threads: Threads) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions");
    assert!(
        a.data.len() >= a.last() && b.data.len() >= b.last(),
        "operand bounds"
    );
    assert!(
        m == 0 || n == 0 || out.len() >= (m - 1) * out_rs + n,
        "output bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                out[r * out_rs..r * out_rs + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: the asserts above keep every index the product touches
    // inside the three slices; `out` does not alias `a` or `b` (it is `&mut`).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            out_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            threads.parallelism(),
        );
    }
}

/// `y = x · Wᵀ + bias` for `x` `(n × k)` and `W` `(m × k)` as PyTorch stores a Linear.
pub fn linear(y: &mut [f32], x: &[f32], w: &[f32], bias: &[f32], n: usize, threads: Threads) {
    let m = bias.len();
    let k = w.len() / m;
    for row in y[..n * m].chunks_exact_mut(m) {
        row.copy_from_slice(bias);
    }
    matmul(
        y,
        m,
        Mat::new(x, n, k),
        Mat::new(w, m, k).t(),
        true,
        threads,
    );
}

/// `dx (+)= dy · W`: the input gradient of a Linear, `dy` `(n × m)`, `W` `(m × k)`.
pub fn linear_backward(
    dx: &mut [f32],
    dy: &[f32],
    w: &[f32],
    n: usize,
    m: usize,
    accumulate: bool,
    threads: Threads,
) {
    let k = w.len() / m;
    matmul(
        dx,
        k,
        Mat::new(dy, n, m),
        Mat::new(w, m, k),
        accumulate,
        threads,
    );
}

/// Layer norm over rows of width `gamma.len()`: `y = x̂ · γ + β` with
/// `x̂ = (x − mean) / √(var + eps)` (biased variance, as PyTorch). Keeps
/// `x̂` and `1/√(var + eps)` for the backward pass. `y` may be `x` itself.
pub fn layer_norm(
    x: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    let h = gamma.len();
    for ((row, xh), r) in x
        .chunks_exact_mut(h)
        .zip(xhat.chunks_exact_mut(h))
        .zip(rstd.iter_mut())
    {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let s = 1.0 / (var + eps).sqrt();
        *r = s;
        for (((y, xv), g), b) in row.iter_mut().zip(xh.iter_mut()).zip(gamma).zip(beta) {
            let n = (*y - mean) * s;
            *xv = n;
            *y = n * g + b;
        }
    }
}

/// Layer norm without keeping anything (inference).
pub fn layer_norm_inplace(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = gamma.len();
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let s = 1.0 / (var + eps).sqrt();
        for ((y, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *y = (*y - mean) * s * g + b;
        }
    }
}

/// The input gradient of layer norm, in place: `g` holds ∂L/∂y on entry
/// and ∂L/∂x on return:
/// `dx = rstd · (γ·dy − mean(γ·dy) − x̂ · mean(γ·dy · x̂))`.
pub fn layer_norm_backward(g: &mut [f32], xhat: &[f32], rstd: &[f32], gamma: &[f32]) {
    let h = gamma.len();
    for ((row, xh), &s) in g.chunks_exact_mut(h).zip(xhat.chunks_exact(h)).zip(rstd) {
        let mut sum = 0.0f32;
        let mut dot = 0.0f32;
        for ((d, x), gm) in row.iter_mut().zip(xh).zip(gamma) {
            *d *= gm;
            sum += *d;
            dot += *d * x;
        }
        let (mean, mean_dot) = (sum / h as f32, dot / h as f32);
        for (d, x) in row.iter_mut().zip(xh) {
            *d = s * (*d - mean - x * mean_dot);
        }
    }
}

/// `e^x` for f32, to within 2 ulp on [−87, 88], written without branches
/// so that it vectorises: 2^k · e^r with |r| ≤ ln2/2 and a degree-6 polynomial.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    // Round to nearest by adding and removing 1.5·2²³ (|x·log₂e| < 2²²): unlike
    // `round`, a plain add that vectorises.
    const SHIFT: f32 = 12_582_912.0;
    let k = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    // r = x − k·ln2 in two parts for accuracy
    let r = x - k * 0.693_145_75 - k * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    let scale = f32::from_bits(((k as i32 + 127) as u32) << 23);
    p * scale
}

/// `erf(x)` for f32 (Abramowitz & Stegun 7.1.26 refined: absolute error
/// below 1.2e-7), without branches so that it vectorises.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    // erfc(a) = t·exp(−a² + P(t)), t = 1/(1 + a/2) (Numerical Recipes' erfc,
    // fractional error < 1.2e-7 everywhere)
    let t = 1.0 / (1.0 + 0.5 * a);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * exp(-a * a + poly);
    (1.0 - erfc).copysign(x)
}

const SQRT_2_PI_INV: f32 = 0.398_942_3; // 1/√(2π)
const GELU_TANH_C: f32 = 0.797_884_6; // √(2/π)

/// Applies `act` to `x` in place and writes its derivative at the input into `grad`.
pub fn activate(act: crate::types::Activation, x: &mut [f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { activate_avx2(act, x, grad) };
    }
    activate_generic(act, x, grad)
}

/// [`activate`] compiled for AVX2 + FMA: eight lanes instead of SSE2's four.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn activate_avx2(act: crate::types::Activation, x: &mut [f32], grad: &mut [f32]) {
    activate_generic(act, x, grad)
}

#[inline(always)]
fn activate_generic(act: crate::types::Activation, x: &mut [f32], grad: &mut [f32]) {
    use crate::types::Activation as A;
    match act {
        A::Gelu => {
            for (v, g) in x.iter_mut().zip(grad.iter_mut()) {
                // y = x·Φ(x), y′ = Φ(x) + x·φ(x)
                let u = *v;
                let cdf = 0.5 * (1.0 + erf(u * std::f32::consts::FRAC_1_SQRT_2));
                let pdf = SQRT_2_PI_INV * exp(-0.5 * u * u);
                *g = cdf + u * pdf;
                *v = u * cdf;
            }
        }
        A::GeluTanh => {
            for (v, g) in x.iter_mut().zip(grad.iter_mut()) {
                let u = *v;
                let inner = GELU_TANH_C * (u + 0.044715 * u * u * u);
                let t = tanh(inner);
                *g = 0.5 * (1.0 + t)
                    + 0.5 * u * (1.0 - t * t) * GELU_TANH_C * (1.0 + 3.0 * 0.044715 * u * u);
                *v = 0.5 * u * (1.0 + t);
            }
        }
        A::Relu => {
            for (v, g) in x.iter_mut().zip(grad.iter_mut()) {
                *g = if *v > 0.0 { 1.0 } else { 0.0 };
                *v = v.max(0.0);
            }
        }
        A::Silu => {
            for (v, g) in x.iter_mut().zip(grad.iter_mut()) {
                let s = 1.0 / (1.0 + exp(-*v));
                *g = s * (1.0 + *v * (1.0 - s));
                *v *= s;
            }
        }
        A::Tanh => {
            for (v, g) in x.iter_mut().zip(grad.iter_mut()) {
                let t = tanh(*v);
                *g = 1.0 - t * t;
                *v = t;
            }
        }
    }
}

/// `tanh` through `exp`, branch-free: `1 − 2/(e^{2x} + 1)`.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

/// Softmax of each row of width `w`, in place; the maximum is subtracted first.
pub fn softmax_rows(x: &mut [f32], w: usize) {
    for row in x.chunks_exact_mut(w) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = exp(*v - max);
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// The input gradient of a row softmax, in place: `g` holds ∂L/∂p and
/// becomes ∂L/∂s = p ⊙ (g − Σⱼ gⱼ pⱼ).
pub fn softmax_backward_rows(g: &mut [f32], p: &[f32], w: usize) {
    for (gr, pr) in g.chunks_exact_mut(w).zip(p.chunks_exact(w)) {
        let dot: f32 = gr.iter().zip(pr).map(|(a, b)| a * b).sum();
        for (gv, pv) in gr.iter_mut().zip(pr) {
            *gv = pv * (*gv - dot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_accurate() {
        let mut worst_exp = 0f64;
        let mut worst_erf = 0f64;
        for i in -20000..=20000 {
            let x = i as f32 * 0.004;
            let e = exp(x) as f64;
            let want = (x as f64).exp();
            worst_exp = worst_exp.max(((e - want) / want).abs());
            let want = libm::erf(x as f64);
            worst_erf = worst_erf.max((erf(x) as f64 - want).abs());
        }
        assert!(worst_exp < 4e-7, "exp: relative error {worst_exp:e}");
        assert!(worst_erf < 3e-7, "erf: absolute error {worst_erf:e}");
        assert_eq!(exp(-200.0), exp(-87.3));
        assert!(exp(100.0).is_finite());
    }

    #[test]
    fn products_follow_the_strides() {
        // a (2×3) · b (3×2), with b given as the transpose of a (2×3) matrix
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bt = [1.0, 0.0, -1.0, 2.0, 1.0, 0.5];
        let mut out = [0.0; 4];
        matmul(
            &mut out,
            2,
            Mat::new(&a, 2, 3),
            Mat::new(&bt, 2, 3).t(),
            false,
            Threads::One,
        );
        assert_eq!(out, [-2.0, 5.5, -2.0, 16.0]);
        matmul(
            &mut out,
            2,
            Mat::new(&a, 2, 3),
            Mat::new(&bt, 2, 3).t(),
            true,
            Threads::One,
        );
        assert_eq!(out, [-4.0, 11.0, -4.0, 32.0]);
    }

    #[test]
    fn activation_derivatives_match_finite_differences() {
        use crate::types::Activation as A;
        for act in [A::Gelu, A::GeluTanh, A::Silu, A::Tanh, A::Relu] {
            for i in -40..=40 {
                let x = i as f32 * 0.1 + 0.013;
                let (mut y, mut g) = ([x], [0.0]);
                activate(act, &mut y, &mut g);
                let h = 1e-3f32;
                let (mut p, mut m, mut d) = ([x + h], [x - h], [0.0]);
                activate(act, &mut p, &mut d);
                activate(act, &mut m, &mut d);
                let numeric = (p[0] - m[0]) / (2.0 * h);
                assert!(
                    (g[0] - numeric).abs() < 2e-3,
                    "{act:?} at {x}: {} vs {numeric}",
                    g[0]
                );
            }
        }
    }
}
