// The contract between the page, its worker and the wasm core, written out
// by hand. The Rust side is crates/wasm/src/lib.rs; field names follow the
// JSON of `bertlens explain --json`, which is the same `Explanation`.
export {};

/**
 * A model file as the core takes it.
 * @typedef {{name: string, bytes: Uint8Array}} ModelFile
 */

/**
 * @typedef {object} ModelInfo
 * @property {string} model_type      `bert`, `distilbert`, `roberta`, `xlm-roberta`
 * @property {string|null} architecture e.g. `BertForSequenceClassification`
 * @property {number} layers
 * @property {number} heads
 * @property {number} hidden_size
 * @property {number} max_tokens      longer inputs are cut (`truncated: true`)
 * @property {string[]} labels        class names in index order
 * @property {'softmax'|'sigmoid'} output
 */

/**
 * What to explain and how; the defaults follow Captum's BERT tutorial.
 * `integration` is what Captum calls `method` (the quadrature): here
 * `method` picks the attribution method.
 * @typedef {object} Options
 * @property {'ig'|'saliency'|'input-x-gradient'|'rollout'} [method]   default `ig`
 * @property {string|null} [target]    a class name or index; default the predicted class
 * @property {'embeddings'|'word-embeddings'|null} [layer] default: `embeddings` for ig, `word-embeddings` otherwise
 * @property {number|'auto'} [n_steps] default 50; `auto`: Gauss–Legendre steps are added until
 *           |delta| ≤ tolerance · |F(x) − F(x′)|
 * @property {number} [tolerance]      for `auto`; default 0.01
 * @property {'gausslegendre'|'riemann_left'|'riemann_right'|'riemann_middle'|'riemann_trapezoid'} [integration]
 * @property {'pad'|'pad-all'|'mask'|'zero'} [baseline] default `pad`: [CLS] [PAD]… [SEP]
 * @property {number|null} [internal_batch_size] steps per forward/backward pass
 * @property {'logit'|'probability'} [output] what is attributed; default `logit`
 * @property {'cls'|'mean'} [rollout_row]
 * @property {boolean} [words]          also merge wordpieces into words
 */

/**
 * @typedef {object} Word
 * @property {string} text
 * @property {0|1} sequence
 * @property {[number, number]} offsets   characters of that text
 * @property {[number, number]} tokens    `[first, last + 1)` token indices
 * @property {number} attribution
 * @property {number} attribution_normalized
 */

/**
 * @typedef {object} IgReport
 * @property {number} n_steps          the steps computed (for `auto`, what it spent)
 * @property {boolean} auto             chosen by `n_steps: "auto"`
 * @property {string} integration
 * @property {string} baseline
 * @property {number} internal_batch_size
 * @property {number} baseline_score    F(x′)
 */

/**
 * The result of `attribute` (and, with empty attributions, of `predict`).
 * @typedef {object} Explanation
 * @property {string[]} tokens
 * @property {number[]} input_ids
 * @property {number[]} type_ids
 * @property {[number, number][]} offsets  characters of the text a token came from; [0, 0] for special tokens
 * @property {(number|null)[]} word_ids
 * @property {(0|1|null)[]} sequence_ids   which text of a pair; null for special tokens
 * @property {string[]} labels
 * @property {number[]} logits
 * @property {number[]} probabilities
 * @property {number} predicted
 * @property {string} predicted_label
 * @property {number} target
 * @property {string} target_label
 * @property {string} method
 * @property {string|null} layer
 * @property {'logit'|'probability'} output
 * @property {number|null} score          F(x)
 * @property {number[]} attributions      one per token
 * @property {number[]} attributions_normalized
 * @property {number|null} delta          Σ attributions − (F(x) − F(x′)), for IG
 * @property {IgReport|null} ig
 * @property {boolean} truncated
 * @property {Word[]|null} words
 */

/**
 * The result of `attentions`: one forward pass, every attention map.
 * @typedef {object} Analysis
 * @property {Explanation} explanation   the prediction, with rollout as attributions
 * @property {number} layers
 * @property {number} heads
 * @property {number} tokens
 * @property {number} headDim
 * @property {Float32Array} probabilities [layer][head][query][key]
 * @property {Float32Array} queries       [layer][head][token][d]
 * @property {Float32Array} keys          [layer][head][token][d]
 * @property {Float32Array} rollout       [query][key]
 */

/**
 * @typedef {object} IgStarted
 * @property {number} steps    points of the quadrature (0 for `auto`)
 * @property {boolean} auto    `n_steps: "auto"`: drive it with igRound, igIntervalSum, igScores, igSubmit
 * @property {number} nodes    for `auto`: Gauss–Legendre points per interval
 * @property {number} batch    steps per forward/backward pass
 * @property {number} target
 * @property {number} size     length of a gradient sum: tokens × hidden size
 */

/**
/**
 * The work of one round of `n_steps: "auto"` (null once it has converged).
 * @typedef {object} IgRound
 * @property {Float64Array} intervals  [a0, b0, a1, b1, …]: the gradient sums it needs (igIntervalSum)
 * @property {Float64Array} alphas     where it needs the score (igScores)
 */

/**
 * Where an `auto` run stands after a round.
 * @typedef {object} IgProgress
 * @property {number} steps          gradient evaluations so far
 * @property {number} rounds
 * @property {number} delta          Σ attributions − (F(x) − F(x′)) so far
 * @property {number} relativeError  Σ |interval errors| / |F(x) − F(x′)|
 * @property {boolean} done
 */

/**
 * Messages to the worker: `{id, type, payload}`; answers: `{id, result}`
 * or `{id, error, fatal?}` (fatal: the wasm instance trapped and the
 * worker must be replaced).
 * @typedef {{id: number, type: string, payload?: any}} Request
 * @typedef {{id: number, result?: any, error?: string, fatal?: boolean}} Reply
 */
