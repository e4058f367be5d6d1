//! Attention flow (Abnar & Zuidema 2020, "Quantifying Attention Flow in
//! Transformers"): the attention of every layer as a layered graph, and
//! the maximum flow from each input token to one position at the top.
//!
//! The graph has a node per token and level: level 0 is the input of the
//! first layer, level `l + 1` the output of layer `l`. Key `j` at level `l`
//! feeds query `i` at level `l + 1` through an edge of capacity
//! `0.5·Ā_l[i, j] + 0.5·[i = j]`, with Ā_l the mean over the heads of layer
//! `l`: rollout's residual attention (the identity for the residual
//! connection, rows summing to 1). The flow of token `j` is the value of
//! the maximum flow from node `(0, j)` to node `(L, i)`, `i` the position
//! read (`[CLS]` for a classifier, the explained token of a per-token
//! head). The edges into any node hold 1 in all, so a flow is at most 1.
//!
//! The value is exact: Dinic's algorithm on f64 capacities, residuals
//! below [`EPS`] taken as saturated. The graph is built once and reused
//! for every source, its residuals reset; natively the sources run in
//! parallel, each worker with its own residuals.

/// Residual capacities at or below this count as zero (every capacity and
/// every flow here is at most 1).
pub const EPS: f64 = 1e-12;

/// The position whose inflow is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Token `i` after the last layer.
    Token(usize),
    /// The mean over every position after the last layer (`t` times the work of one).
    Mean,
}

/// The mean over heads of each layer, `[layer][query][key]`, in f64.
/// `attentions`: `[layer][head][query][key]`, bottom layer first.
pub fn head_means(attentions: &[f32], layers: usize, heads: usize, t: usize) -> Vec<f64> {
    let mut means = vec![0f64; layers * t * t];
    for (l, mean) in means.chunks_exact_mut(t * t).enumerate() {
        for h in 0..heads {
            let m = &attentions[(l * heads + h) * t * t..(l * heads + h + 1) * t * t];
            mean.iter_mut().zip(m).for_each(|(x, &v)| *x += v as f64);
        }
        mean.iter_mut().for_each(|x| *x /= heads as f64);
    }
    means
}

/// The layered attention graph of one input, in compressed rows: each
/// node's arcs are its edges to the level above and, paired with each
/// edge, the reverse arc (capacity 0) that the residual graph needs.
#[derive(Debug, Clone)]
pub struct FlowGraph {
    layers: usize,
    tokens: usize,
    /// Node `n`'s arcs are `start[n]..start[n + 1]`; node `(l, i)` is `l·t + i`.
    start: Vec<usize>,
    to: Vec<u32>,
    /// The arc paired with each arc.
    rev: Vec<u32>,
    cap: Vec<f64>,
}

/// The residual graph of one max-flow computation, and Dinic's levels and
/// current arcs: what a worker owns while the graph is shared.
#[derive(Debug, Clone)]
pub struct Residuals {
    res: Vec<f64>,
    level: Vec<u32>,
    next: Vec<usize>,
    queue: Vec<u32>,
    path: Vec<usize>,
}

const UNSEEN: u32 = u32::MAX;

impl FlowGraph {
    /// The graph of `means` (`[layer][query][key]`, as [`head_means`]
    /// gives) over `t` tokens. Edges of capacity 0 are left out.
    pub fn new(means: &[f64], layers: usize, t: usize) -> Self {
        let nodes = (layers + 1) * t;
        let capacity = |l: usize, i: usize, j: usize| {
            0.5 * means[(l * t + i) * t + j] + if i == j { 0.5 } else { 0.0 }
        };
        // Arcs out of each node: its edges up, then the reverse arcs of the edges into it.
        let mut degree = vec![0usize; nodes];
        for l in 0..layers {
            for i in 0..t {
                for j in 0..t {
                    if capacity(l, i, j) > 0.0 {
                        degree[l * t + j] += 1;
                        degree[(l + 1) * t + i] += 1;
                    }
                }
            }
        }
        let mut start = vec![0usize; nodes + 1];
        for n in 0..nodes {
            start[n + 1] = start[n] + degree[n];
        }
        let arcs = start[nodes];
        let (mut to, mut rev, mut cap) = (vec![0u32; arcs], vec![0u32; arcs], vec![0f64; arcs]);
        let mut fill = start[..nodes].to_vec();
        for l in 0..layers {
            for i in 0..t {
                for j in 0..t {
                    let c = capacity(l, i, j);
                    if c <= 0.0 {
                        continue;
                    }
                    let (key, query) = (l * t + j, (l + 1) * t + i);
                    let (up, down) = (fill[key], fill[query]);
                    fill[key] += 1;
                    fill[query] += 1;
                    (to[up], rev[up], cap[up]) = (query as u32, down as u32, c);
                    (to[down], rev[down], cap[down]) = (key as u32, up as u32, 0.0);
                }
            }
        }
        Self {
            layers,
            tokens: t,
            start,
            to,
            rev,
            cap,
        }
    }

    fn nodes(&self) -> usize {
        self.start.len() - 1
    }

    /// Fresh residuals for [`FlowGraph::max_flow`].
    pub fn residuals(&self) -> Residuals {
        Residuals {
            res: self.cap.clone(),
            level: vec![UNSEEN; self.nodes()],
            next: vec![0; self.nodes()],
            queue: Vec::with_capacity(self.nodes()),
            path: Vec::new(),
        }
    }

    /// The value of the maximum flow from input token `source` (level 0)
    /// to position `sink` after the last layer, by Dinic's algorithm in
    /// `r` (reset here, so one `r` serves any number of calls).
    pub fn max_flow(&self, r: &mut Residuals, source: usize, sink: usize) -> f64 {
        assert!(
            source < self.tokens && sink < self.tokens,
            "a token of the input"
        );
        let (s, z) = (source, self.layers * self.tokens + sink);
        r.res.copy_from_slice(&self.cap);
        let mut total = 0.0;
        while self.levels(r, s, z) {
            r.next.copy_from_slice(&self.start[..self.nodes()]);
            total += self.blocking_flow(r, s, z);
        }
        total
    }

    /// Breadth-first levels from `s` over unsaturated arcs; whether `z` is reached.
    fn levels(&self, r: &mut Residuals, s: usize, z: usize) -> bool {
        r.level.fill(UNSEEN);
        r.queue.clear();
        r.level[s] = 0;
        r.queue.push(s as u32);
        let mut head = 0;
        while head < r.queue.len() {
            let u = r.queue[head] as usize;
            head += 1;
            // Nodes as far as the sink or farther lead nowhere shorter.
            if r.level[z] != UNSEEN && r.level[u] >= r.level[z] {
                break;
            }
            for a in self.start[u]..self.start[u + 1] {
                let v = self.to[a] as usize;
                if r.res[a] > EPS && r.level[v] == UNSEEN {
                    r.level[v] = r.level[u] + 1;
                    r.queue.push(v as u32);
                }
            }
        }
        r.level[z] != UNSEEN
    }

    /// Augments along shortest paths until none is left (one phase of
    /// Dinic's), by an iterative depth-first search with current arcs.
    fn blocking_flow(&self, r: &mut Residuals, s: usize, z: usize) -> f64 {
        let mut pushed = 0.0;
        r.path.clear();
        let mut u = s;
        loop {
            if u == z {
                let f = r
                    .path
                    .iter()
                    .map(|&a| r.res[a])
                    .fold(f64::INFINITY, f64::min);
                for &a in &r.path {
                    r.res[a] -= f;
                    r.res[self.rev[a] as usize] += f;
                }
                pushed += f;
                // Back to the tail of the first arc the path saturated.
                let k = r.path.iter().position(|&a| r.res[a] <= EPS).unwrap_or(0);
                r.path.truncate(k);
                u = r.path.last().map_or(s, |&a| self.to[a] as usize);
                continue;
            }
            let end = self.start[u + 1];
            while r.next[u] < end {
                let a = r.next[u];
                let v = self.to[a] as usize;
                if r.res[a] > EPS && r.level[v] == r.level[u].wrapping_add(1) {
                    break;
                }
                r.next[u] += 1;
            }
            if r.next[u] < end {
                let a = r.next[u];
                r.path.push(a);
                u = self.to[a] as usize;
            } else {
                // A dead end: retreat, and never come back this phase.
                r.level[u] = UNSEEN;
                let Some(a) = r.path.pop() else {
                    return pushed;
                };
                u = self.to[self.rev[a] as usize] as usize;
                r.next[u] += 1;
            }
        }
    }

    /// The flow from every input token into position `sink`, `(t,)`.
    pub fn flows_into(&self, sink: usize) -> Vec<f64> {
        let t = self.tokens;
        #[cfg(not(target_arch = "wasm32"))]
        {
            use rayon::prelude::*;
            (0..t)
                .into_par_iter()
                .map_init(|| self.residuals(), |r, j| self.max_flow(r, j, sink))
                .collect()
        }
        #[cfg(target_arch = "wasm32")]
        {
            let mut r = self.residuals();
            (0..t).map(|j| self.max_flow(&mut r, j, sink)).collect()
        }
    }

    /// The flow from every input token into `sink`, `(t,)`.
    pub fn flows(&self, sink: Sink) -> Vec<f64> {
        match sink {
            Sink::Token(i) => self.flows_into(i),
            Sink::Mean => {
                let t = self.tokens;
                let mut mean = vec![0f64; t];
                for i in 0..t {
                    mean.iter_mut()
                        .zip(self.flows_into(i))
                        .for_each(|(m, f)| *m += f / t as f64);
                }
                mean
            }
        }
    }
}

/// The attention flow of one input into `sink`, per input token, `(t,)`.
/// `attentions`: `[layer][head][query][key]`, bottom layer first.
pub fn attention_flow(
    attentions: &[f32],
    layers: usize,
    heads: usize,
    t: usize,
    sink: Sink,
) -> Vec<f32> {
    let graph = FlowGraph::new(&head_means(attentions, layers, heads, t), layers, t);
    graph.flows(sink).into_iter().map(|f| f as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_layer_is_its_edge() {
        // With one layer, the only path from j to i is the edge (j → i).
        let a = [0.2f32, 0.8, 0.6, 0.4];
        let f = attention_flow(&a, 1, 1, 2, Sink::Token(0));
        assert!(
            (f[0] - 0.6).abs() < 1e-6 && (f[1] - 0.4).abs() < 1e-6,
            "{f:?}"
        );
        let f = attention_flow(&a, 1, 1, 2, Sink::Token(1));
        assert!(
            (f[0] - 0.3).abs() < 1e-6 && (f[1] - 0.7).abs() < 1e-6,
            "{f:?}"
        );
    }

    #[test]
    fn two_layers_by_hand() {
        // Layer 1 attends fully to token 1, layer 2 is uniform (rollout's test):
        // capacities C1 = [[.5,.5],[0,1]] and C2 = [[.75,.25],[.25,.75]] (row: query).
        let att = [0.0f32, 1.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let f = attention_flow(&att, 2, 1, 2, Sink::Token(0));
        // Into (2, 0): from (0, 0) only through (1, 0): min(.5, .75) = .5.
        // From (0, 1): (1,0) then .75 → min(.5,.75) = .5; (1,1) then .25 → min(1,.25);
        // in all .75, the capacity into (2, 0).
        assert!((f[0] - 0.5).abs() < 1e-9, "{f:?}");
        assert!((f[1] - 0.75).abs() < 1e-9, "{f:?}");
        // Two heads of which the mean is the one head: the same flow.
        let two: Vec<f32> = [0.0f32, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
            .iter()
            .chain(&[0.5f32; 8])
            .copied()
            .collect();
        assert_eq!(attention_flow(&two, 2, 2, 2, Sink::Token(0)), f);
    }

    #[test]
    fn three_tokens_by_hand() {
        // Layer 0 (query rows): (1,1) draws on key 0; (1,2) on key 1.
        // Layer 1: (2,2) draws on keys 1 and 2.
        let l0 = [
            1.0f32, 0.0, 0.0, //
            1.0, 0.0, 0.0, //
            0.0, 1.0, 0.0,
        ];
        let l1 = [
            1.0f32, 0.0, 0.0, //
            0.0, 1.0, 0.0, //
            0.0, 0.5, 0.5,
        ];
        let att: Vec<f32> = l0.iter().chain(&l1).copied().collect();
        let means = head_means(&att, 2, 1, 3);
        let g = FlowGraph::new(&means, 2, 3);
        let mut r = g.residuals();
        // Into (2, 2), capacity 0.25 + 0.75 = 1 from (1, 1) and (1, 2).
        // From (0, 0): (0,0) → (1,1) .5 → (2,2) .25, and (0,0) → (1,0) → nothing
        // into (2, 2): 0.25.
        assert!((g.max_flow(&mut r, 0, 2) - 0.25).abs() < 1e-12);
        // From (0, 1): → (1,1) .5 → (2,2) .25; → (1,2) .5 → (2,2) .5 (of .75): .75.
        assert!((g.max_flow(&mut r, 1, 2) - 0.75).abs() < 1e-12);
        // From (0, 2): → (1,2) .5 → (2,2): .5.
        assert!((g.max_flow(&mut r, 2, 2) - 0.5).abs() < 1e-12);
    }

    /// A deterministic row-stochastic attention of `layers × heads` maps.
    fn pseudo_attention(layers: usize, heads: usize, t: usize, seed: u64) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = Vec::with_capacity(layers * heads * t * t);
        for _ in 0..layers * heads * t {
            let row: Vec<f64> = (0..t)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // Peaked like softmaxes: exp of a spread of scores.
                    (((x >> 11) as f64 / (1u64 << 53) as f64) * 6.0).exp()
                })
                .collect();
            let sum: f64 = row.iter().sum();
            out.extend(row.iter().map(|v| (v / sum) as f32));
        }
        out
    }

    #[test]
    fn flows_are_bounded_by_the_cuts() {
        let (layers, heads, t) = (3, 2, 7);
        let att = pseudo_attention(layers, heads, t, 7);
        let means = head_means(&att, layers, heads, t);
        let g = FlowGraph::new(&means, layers, t);
        for sink in 0..t {
            let f = g.flows(Sink::Token(sink));
            // The cut around the sink: its in-edges hold 1 (to f32's rounding of the rows).
            let last = (layers - 1) * t * t;
            let into: f64 = (0..t)
                .map(|k| 0.5 * means[last + sink * t + k] + if k == sink { 0.5 } else { 0.0 })
                .sum();
            assert!((into - 1.0).abs() < 1e-6);
            for (j, &v) in f.iter().enumerate() {
                assert!(v > 0.0 && v <= into + 1e-12, "{f:?}");
                // The cut around the source: its out-edges.
                let out: f64 = (0..t)
                    .map(|i| 0.5 * means[i * t + j] + if i == j { 0.5 } else { 0.0 })
                    .sum();
                assert!(v <= out + 1e-12);
                // Each layer's level is a cut: no flow is above the widest
                // single path's ... nor below it (a path is a flow).
                let widest = widest_path(&means, layers, t, j, sink);
                assert!(v + 1e-12 >= widest, "{v} < widest path {widest}");
            }
        }
        // The mean sink is the mean of the token sinks.
        let rows: Vec<Vec<f64>> = (0..t).map(|i| g.flows(Sink::Token(i))).collect();
        for (j, mean) in g.flows(Sink::Mean).into_iter().enumerate() {
            let m: f64 = rows.iter().map(|r| r[j]).sum::<f64>() / t as f64;
            assert!((mean - m).abs() < 1e-12);
        }
    }

    /// The bottleneck of the widest path from `(0, j)` to `(L, sink)`.
    fn widest_path(means: &[f64], layers: usize, t: usize, j: usize, sink: usize) -> f64 {
        let mut width: Vec<f64> = (0..t).map(|i| if i == j { 1.0 } else { 0.0 }).collect();
        for l in 0..layers {
            width = (0..t)
                .map(|i| {
                    (0..t)
                        .map(|k| {
                            let c =
                                0.5 * means[(l * t + i) * t + k] + if i == k { 0.5 } else { 0.0 };
                            width[k].min(c)
                        })
                        .fold(0.0, f64::max)
                })
                .collect();
        }
        width[sink]
    }

    /// The capacity of the smallest cut between `(0, j)` and `(L, sink)`,
    /// over every set of the other nodes on the source's side.
    fn min_cut(means: &[f64], layers: usize, t: usize, j: usize, sink: usize) -> f64 {
        let nodes = (layers + 1) * t;
        let (s, z) = (j, layers * t + sink);
        let others: Vec<usize> = (0..nodes).filter(|&n| n != s && n != z).collect();
        let mut best = f64::INFINITY;
        for mask in 0u32..1 << others.len() {
            let mut side = vec![false; nodes];
            side[s] = true;
            for (b, &n) in others.iter().enumerate() {
                side[n] = mask >> b & 1 == 1;
            }
            let mut cut = 0.0;
            for l in 0..layers {
                for i in 0..t {
                    for k in 0..t {
                        if side[l * t + k] && !side[(l + 1) * t + i] {
                            cut +=
                                0.5 * means[(l * t + i) * t + k] + if i == k { 0.5 } else { 0.0 };
                        }
                    }
                }
            }
            best = best.min(cut);
        }
        best
    }

    #[test]
    fn max_flow_equals_min_cut() {
        // Dense random graphs: most augmenting paths of the later phases
        // send flow back along reverse arcs.
        for (layers, t, seed) in [(2, 3, 1), (3, 3, 2), (2, 4, 3), (4, 2, 4)] {
            let att = pseudo_attention(layers, 2, t, seed);
            let means = head_means(&att, layers, 2, t);
            let g = FlowGraph::new(&means, layers, t);
            let mut r = g.residuals();
            for j in 0..t {
                for sink in 0..t {
                    let flow = g.max_flow(&mut r, j, sink);
                    let cut = min_cut(&means, layers, t, j, sink);
                    assert!((flow - cut).abs() < 1e-12, "{flow} vs cut {cut}");
                }
            }
        }
    }

    #[test]
    fn residuals_are_reset_between_sources() {
        let att = pseudo_attention(2, 3, 6, 3);
        let g = FlowGraph::new(&head_means(&att, 2, 3, 6), 2, 6);
        let mut shared = g.residuals();
        for j in 0..6 {
            let mut own = g.residuals();
            assert_eq!(g.max_flow(&mut shared, j, 0), g.max_flow(&mut own, j, 0));
        }
    }
}
