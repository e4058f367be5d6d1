// The contract between the page, its worker and the wasm core, written out
// by hand. The Rust side is crates/wasm/src/lib.rs; field names follow the
// JSON of `bertlens explain --json`, which is the same `Explanation`.
export {};

/**
 * A model file as the core takes it.
 * @typedef {{name: string, bytes: Uint8Array}} ModelFile
 */

/**
 * @typedef {'sequence-classification'|'question-answering'|'token-classification'|'fill-mask'|'encoder'} Task
 *   read from config.json's `architectures` (`*ForSequenceClassification`, `*ForQuestionAnswering`,
 *   `*ForTokenClassification`, `*ForMaskedLM`, or a bare `*Model`)
 */

/**
 * @typedef {object} ModelInfo
 * @property {string} model_type      `bert`, `roberta`, `xlm-roberta`, `camembert`, `distilbert`,
 *                                    `albert`, `electra`, `deberta-v2`, `modernbert`
 * @property {string|null} architecture e.g. `BertForSequenceClassification`
 * @property {Task} task
 * @property {number} layers
 * @property {number} heads
 * @property {number} hidden_size
 * @property {number} max_tokens      longer inputs are cut (`truncated: true`)
 * @property {string[]} labels        class names in index order (per token for token
 *                                    classification; `["start", "end"]` for QA; empty otherwise)
 * @property {'softmax'|'sigmoid'} output
 * @property {string|null} mask_token  e.g. `[MASK]`, `<mask>`
 * @property {string[]} warnings      how the files were read, for the user (e.g. tensors not used)
 * @property {number} max_n_steps     the most Integrated Gradients steps the core computes (its
 *                                    `MAX_N_STEPS`, 2000): a larger `n_steps` is refused. The page
 *                                    takes its cap from here (state.js stepCap; 2000 before a model)
 * @property {AttentionFeatures} attention  how its family's attention differs from BERT's
 * @property {MethodInfo[]} methods   every attribution method the core has, and the rest of
 *                                    its `Vocabulary` (defaults, default_method, baselines)
 */

/**
 * One attribution method, as the core describes it (`MethodInfo`).
 * @typedef {object} MethodInfo
 * @property {string} name            `Options.method`
 * @property {string} label
 * @property {string} description     one line
 * @property {string} reference       where it comes from, what it is checked against
 * @property {'gradient'|'perturbation'|'attention'} kind
 * @property {boolean} needs_head     it explains a score of a task head (no bare encoder)
 * @property {string[]} options       the options (`Options` keys) it reads
 */

/**
 * The core's vocabulary (the wasm `vocabulary()`, also in `info()`): what
 * the page's method menu and option fields are built from.
 * @typedef {object} Vocabulary
 * @property {MethodInfo[]} methods
 * @property {Options} defaults
 * @property {{head: string, encoder: string}} default_method
 * @property {string[]} baselines
 * @property {TokenizerFilesInfo} tokenizer_files
 * @property {{model_types: string[], attention: AttentionFeatures}[]} families
 */

/**
 * How a family's attention differs from BERT's (`AttentionFeatures`): the
 * model's `info().attention`, and each of the vocabulary's `families`.
 * @typedef {object} AttentionFeatures
 * @property {boolean} relative_positions  relative-position terms added to q·k (DeBERTa)
 * @property {boolean} rotary              q and k rotated by position (RoPE; ModernBERT)
 * @property {boolean} sliding_window      some layers attend within a window
 * @property {boolean} pre_norm            a layer normalises its input first
 */

/**
 * The files the core reads a tokenizer from (`TokenizerFilesInfo`): each
 * group a list of file names that together make a tokenizer without tokenizer.json.
 * @typedef {object} TokenizerFilesInfo
 * @property {string[]} names                          every file a tokenizer is read from
 * @property {Object<string, string[][]>} by_class      tokenizer_config.json's `tokenizer_class` → its groups, the usual first
 * @property {Object<string, string[][]>} by_model_type config.json's `model_type` → its groups (none: tokenizer.json only)
 * @property {string[][]} fallback                     neither known: looked for in this order
 */

/**
 * `Session.perturbStart(options, workers)`: a perturbation method's run
 * (pool.js perturbation): workers score ranges of its inputs
 * (`perturbScores(job, options, from, to)`), worker 0 finishes it
 * (`perturbFinish(options, scores)`).
 * @typedef {object} PerturbStarted
 * @property {object} job      what any worker needs to score the inputs; passed back as it came
 * @property {number} inputs   how many inputs the method scores
 * @property {number} chunk    inputs per job
 * @property {number} target
 * @property {string} target_label
 * @property {number|null} token
 */

/**
 * What to explain and how; the defaults follow Captum's BERT tutorial.
 * `integration` is what Captum calls `method` (the quadrature): here
 * `method` picks the attribution method. Unknown fields are an error.
 * @typedef {object} Options
 * @property {string} [method]     one of the vocabulary's `methods[].name` (ig, saliency, input-x-gradient, occlusion, shapley, kernel-shap, lime, smoothgrad, vargrad, rollout, attention-flow);   default `ig`; `rollout` for a
 *           bare encoder (the only method it has)
 * @property {number|string|null} [target]  a class (label) index or name; fill-mask: a vocabulary id
 *           or token; default the predicted one (the best filler)
 * @property {number|null} [token]     token classification: the token whose label is explained
 *           (default: the first token of the best entity); fill-mask: which mask (default the
 *           first); QA with `part`: the token whose start/end logit is explained
 * @property {'start'|'end'|null} [part] question answering: explain only the answer's start or
 *           end (default both, in `start` and `end`; the top level is the first)
 * @property {'embeddings'|'word-embeddings'|null} [layer] default: `embeddings` for ig, `word-embeddings` otherwise
 * @property {number|'auto'} [n_steps] default 50; `auto`: Gauss–Legendre steps are added until
 *           |delta| ≤ tolerance · |F(x) − F(x′)|
 * @property {number} [tolerance]      for `auto`; default 0.01
 * @property {'gausslegendre'|'riemann_left'|'riemann_right'|'riemann_middle'|'riemann_trapezoid'} [integration]
 * @property {'pad'|'pad-all'|'mask'|'zero'} [baseline] default `pad`: [CLS] [PAD]… [SEP]
 * @property {number|null} [internal_batch_size] steps per forward/backward pass
 * @property {'logit'|'probability'} [output] what is attributed; default `logit`
 * @property {'l2'|'l1'} [norm]        saliency's norm over the hidden dimension; default `l2`
 * @property {number} [window]         occlusion: features per window (Captum's sliding_window_shapes); default 1
 * @property {number} [stride]         occlusion: features between windows (Captum's strides); default 1
 * @property {number|null} [n_samples] shapley: permutations sampled; default exact up to 12 features, else 25
 * @property {number} [seed]           shapley: the seed of the sampled permutations; default 0
 * @property {'cls'|'mean'|'token'|null} [rollout_row] default `cls` for sequence-level heads,
 *           `token` (the explained token's row) otherwise
 * @property {number} [top_k]          answers and fillers listed; default 5
 * @property {number} [max_length]     question answering: a longer context is read in windows of
 *           this many tokens (default 384, at most the model's positions)…
 * @property {number} [doc_stride]     …overlapping by this many (default 128, at most half a window)
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
 * How occlusion or the Shapley values ran (the core's `PerturbationReport`).
 * @typedef {object} PerturbationReport
 * @property {'token'|'word'} unit      what one feature is (special tokens are in none)
 * @property {number} features          features perturbed
 * @property {string} baseline          what replaced a removed feature's tokens
 * @property {number} evaluations       inputs scored
 * @property {number} [window]          occlusion: Captum's sliding_window_shapes
 * @property {number} [stride]          occlusion: Captum's strides
 * @property {boolean} [exact]          shapley: every coalition (else sampled)
 * @property {number} [n_samples]       shapley, sampled: permutations
 * @property {number} [seed]            shapley, sampled: their seed
 * @property {number} [baseline_score]  shapley: F(x′), every feature removed
 * @property {string} [note]            e.g. exact Shapley values fell back to sampling
 */

/**
 * A span of the context that answers the question.
 * @typedef {object} Answer
 * @property {string} text
 * @property {number} start        characters of the context, `[start, end)`
 * @property {number} end
 * @property {number} score        p(start) · p(end)
 * @property {number} token_start  its first and last token
 * @property {number} token_end
 * @property {number} [window]     a context read in windows: the window it is in (its tokens')
 */

/**
 * One window of a long text (a question's context, or a classified text
 * read with `windows`), as read.
 * @typedef {object} Window
 * @property {number} start  the characters of the text (context) it covers, `[start, end)`
 * @property {number} end
 * @property {number} tokens its tokens, the question's and the special ones included
 * @property {Answer|null} answer  a question's: its best span
 * @property {[number, number]} [token_range]  a classified text's: the explanation's tokens it holds
 * @property {number} [predicted]        a classified text's: the window's prediction,
 * @property {string} [predicted_label]
 * @property {number[]} [probabilities]
 * @property {number} [score]            F(x) of the class explained, in this window
 * @property {number} [delta]            Integrated Gradients' completeness error, in this window
 */

/** @typedef {{label: string, score: number}} TokenLabel  a token's predicted label */

/**
 * Consecutive tokens of one entity type (transformers' "simple" aggregation).
 * @typedef {object} Entity
 * @property {string} entity_group  e.g. `PER`
 * @property {string} word
 * @property {number} start         characters of the text, `[start, end)`
 * @property {number} end
 * @property {number} score         the mean of its tokens' scores
 * @property {[number, number]} tokens  `[first, last + 1)`
 */

/** @typedef {{token: string, token_id: number, score: number}} Filler  a token that fits a mask */
/** @typedef {{token: number, fill: Filler[]}} MaskFill  a mask (its token index) and its fillers */

/**
 * One attributed scalar: question answering's start or end.
 * @typedef {object} Attribution
 * @property {number|null} token   the token whose logit is explained
 * @property {number} target       0 start, 1 end
 * @property {string} target_label
 * @property {number|null} score
 * @property {number[]} attributions
 * @property {number[]} attributions_normalized
 * @property {number|null} delta
 * @property {IgReport|null} ig
 * @property {PerturbationReport} [perturbation] occlusion and shapley
 * @property {Word[]|null} words
 */

/**
 * The result of `attribute` (and, with empty attributions, of `predict`).
 * The top level is the first explained scalar; a task adds its own fields.
 * @typedef {object} Explanation
 * @property {Task} task
 * @property {string[]} tokens
 * @property {number[]} input_ids
 * @property {number[]} type_ids
 * @property {[number, number][]} offsets  characters of the text a token came from; [0, 0] for special tokens
 * @property {(number|null)[]} word_ids
 * @property {(0|1|null)[]} sequence_ids   which text of a pair (QA: 0 the question, 1 the context); null for special tokens
 * @property {string[]} labels             of the text, or of the explained token (token classification)
 * @property {number[]} logits             empty for QA, fill-mask and encoders
 * @property {number[]} probabilities
 * @property {number|null} predicted
 * @property {string|null} predicted_label
 * @property {number|null} target          the class, label, vocabulary id (fill-mask) or 0/1 (QA start/end)
 * @property {string|null} target_label
 * @property {number|null} token           the token whose output is explained (per-token heads)
 * @property {string} method
 * @property {string|null} layer
 * @property {'logit'|'probability'} output
 * @property {number|null} score          F(x)
 * @property {number[]} attributions      one per token (empty when nothing was attributed)
 * @property {number[]} attributions_normalized
 * @property {number|null} delta          Σ attributions − (F(x) − F(x′)), for IG and shapley
 * @property {IgReport|null} ig
 * @property {PerturbationReport} [perturbation] occlusion and shapley: how they ran
 * @property {boolean} truncated
 * @property {Word[]|null} words
 * @property {Answer} [answer]             question answering: the best answer,
 * @property {Answer[]} [answers]          the `top_k` best,
 * @property {Window[]} [windows]          a context longer than a window: each window; the
 *           answers, tokens and attributions are the best window's. A classified text read
 *           with `windows`: each window; the tokens are the whole text's, the probabilities
 *           the windows' mean, each token's attribution the mean over the windows that hold it
 * @property {Attribution} [start]         and the attributions of its start and end logits
 * @property {Attribution} [end]
 * @property {TokenLabel[]} [token_labels] token classification: every token's label,
 * @property {Entity[]} [entities]         and the entities
 * @property {Filler[]} [fill]             fill-mask: the first mask's fillers,
 * @property {MaskFill[]} [masks]          and every mask's
 */

/**
 * The result of `attentions`: one forward pass with its attention recorded,
 * the prediction and the maps' sizes, and what entered the scores, so that
 * the neuron view can recompute them: score = q·k·scale + positionScores,
 * keys beyond a layer's window masked. The maps themselves are asked for a
 * view at a time (`attentionMaps`, maps.js).
 * @typedef {object} Analysis
 * @property {Explanation} explanation   the prediction, with rollout as attributions
 * @property {number} layers
 * @property {number} heads
 * @property {number} tokens
 * @property {number} headDim
 * @property {number} scale               the factor of q·k (1/√d; DeBERTa 1/√(3d))
 * @property {(number|null)[]} windows    per layer: a sliding window (|query − key| > window is masked), or null
 */

/**
 * What a view asks of an input's maps (the worker's `attentionMaps`, with
 * the input's `text` and `pair`): `{layer}` one layer's heads (head view,
 * heatmap), `{layer, head}` one head with its vectors (neuron view),
 * `{rollout: true}`, or `{all: true}` every layer (the model view only).
 * @typedef {{layer: number, head?: number} | {rollout: true} | {all: true}} AttentionAsk
 */

/**
 * The maps an `AttentionAsk` names (`Session.attentionLayer(layer, head)`,
 * `attentionMaps()`, `rollout()`); only the fields asked for.
 * @typedef {object} AttentionMaps
 * @property {number} [layer]
 * @property {number|null} [head]
 * @property {Float32Array} [probabilities] `{layer}`: [head][query][key]; `{layer, head}`: [query][key];
 *                                        `{all}`: [layer][head][query][key]
 * @property {Float32Array} [queries]     `{layer, head}`: [token][d] (after the rotary rotation, ModernBERT)
 * @property {Float32Array} [keys]        `{layer, head}`: [token][d]
 * @property {Float32Array} [positionScores] `{layer, head}`: [query][key], DeBERTa's relative-position
 *                                        terms, already scaled; empty for other families
 * @property {Float32Array} [rollout]     `{rollout}`: [query][key]
 */

/**
 * `Session.igStart(options, workers)`: an Integrated Gradients run, driven
 * by the core in worker 0 (pool.js integratedGradients).
 * @typedef {object} IgStarted
 * @property {object} job      what any worker needs to compute points of the path
 *                             (`igSum`, `igScores`): the input, baseline, layer and
 *                             scalar; passed back as it came
 * @property {number} steps    points of the quadrature (0 for `auto`)
 * @property {boolean} auto    `n_steps: "auto"`: rounds until the tolerance is met
 * @property {number} batch    steps per forward/backward pass
 * @property {number} target   what is explained (class, label, vocabulary id, 0/1 start/end)
 * @property {string} target_label
 * @property {number|null} token  the token whose output is explained
 * @property {number} size     length of a gradient sum: tokens × hidden size
 * @property {IgRound|null} round  the first round's work
 */

/**
 * The work of one round: fixed steps are one round of jobs; `auto` is
 * rounds of one job per interval, and the scores at the intervals' ends.
 * @typedef {object} IgRound
 * @property {{alphas: number[], weights: number[]}[]} jobs  each one `igSum`, in any worker
 * @property {number[]} scores_at   where the driver needs F (`igScores`); empty for fixed steps
 */

/**
 * `Session.igSubmit(sums, scores)`: the round's gradient sums (f64, one
 * after the other in the order of its jobs) and scores, taken.
 * @typedef {object} IgSubmitted
 * @property {IgProgress|null} progress  where an `auto` run stands (null for fixed steps)
 * @property {IgRound|null} round        the next round (null once the run is done: igFinish)
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
 * `igPath(text, pair, options)`: Integrated Gradients point by point (a
 * fixed `n_steps`). The running sum Σ_{j≤k} weights[j] · contributions[j]
 * ends, at k = n − 1, on `attributions`.
 * @typedef {object} IgPath
 * @property {number[]} alphas          the quadrature's points, ascending
 * @property {number[]} weights         their weights (summing to 1)
 * @property {number[]} scores          F(x′ + α_k (x − x′)) at each point
 * @property {number[]} contributions   [k][token]: Σ over the width of ∂F/∂x at α_k times (x − x′)
 * @property {number} tokens            tokens of the input (a row of contributions)
 * @property {number[]} curve_alphas    41 evenly spaced α in [0, 1]
 * @property {number[]} curve_scores    F there (forward passes only)
 * @property {number} score             F(x)
 * @property {number} baseline_score    F(x′)
 * @property {number[]} attributions    as the explanation's (igFinish's) from the same gradients
 * @property {number} delta             Σ attributions − (F(x) − F(x′))
 * @property {string} integration       the rule
 * @property {number} target
 * @property {string} target_label
 * @property {number|null} token
 */

// ---- the dataset workbench ----------------------------------------------------------------

/**
 * `predictBatch(texts, pairs, pooled)`: many rows at once (a block of 64
 * consecutive rows gives the floats of `bertlens analyze`).
 * @typedef {object} BatchPrediction
 * @property {number} rows
 * @property {number} classes
 * @property {number} dim                 length of a pooled vector (0 unless asked for)
 * @property {Int32Array} predicted       per row: the predicted class, -1 when the row could not be run
 * @property {Float32Array} probabilities [row][class]
 * @property {Float32Array} vectors       [row][dim]: the vector the head reads (zeros for a failed row)
 * @property {Uint8Array} truncated       per row: 1 when the text was cut to the model's length
 * @property {(string|null)[]} errors     per row: why it could not be run
 */

/**
 * `matchLabels(labels)`: labels matched to the model's classes by name,
 * name up to case, or index (the core's `match_label`).
 * @typedef {object} LabelMatch
 * @property {Int32Array} indices   per label: its class, or -1
 * @property {{label: string, count: number, rows: number[]}[]} unmatched  most frequent first;
 *           `rows`: the first few 0-based rows that carry it
 */

/**
 * `metrics(truth, predicted)`: scikit-learn's accuracy, confusion matrix
 * and classification report over the classes that occur.
 * @typedef {{label: string, index: number|null, precision: number, recall: number, f1: number, support: number}} ClassMetrics
 * @typedef {object} Metrics
 * @property {number} accuracy
 * @property {number} support       pairs counted
 * @property {{labels: string[], indices: number[], matrix: number[][]}} confusion  matrix[true][predicted]
 * @property {ClassMetrics[]} per_class
 * @property {ClassMetrics} macro_avg
 * @property {ClassMetrics} weighted_avg
 */

/**
 * `rowWords(first, texts, pairs, method)`: each row's words and their
 * attributions toward its predicted class; row `i`'s `counts[i]` words follow
 * the words of the rows before it. `classWords(predicted, wrong, counts,
 * words, scores, top)` sums them per class: `{[class]: ClassWords}`.
 * @typedef {{words: string[], scores: Float32Array, counts: Uint32Array}} RowWords
 * @typedef {{word: string, total: number, mean: number, count: number}} WordStat
 * @typedef {{rows: number, toward: WordStat[], misclassified_rows: number, misclassified: WordStat[]}} ClassWords
 */

/**
 * `faithfulness(text, pair, row, options)`: every method's explanation of
 * the predicted class, evaluated as `bertlens analyze --faithfulness` does.
 * `methods` by name (`ig`, `saliency`, `input-x-gradient`, `rollout`, `random`).
 * @typedef {object} RowFaithfulness
 * @property {number} target        the predicted class
 * @property {number} probability   p(target)
 * @property {Record<string, {attributions: number[], comprehensiveness: (number|null)[], sufficiency: (number|null)[],
 *           aopc_comprehensiveness: number, aopc_sufficiency: number, deletion_curve: number[],
 *           infidelity: number|null, sensitivity_max: number|null}>} methods
 * @property {object[]} agreement    rank agreement of each pair of methods
 */

/**
 * `counterfactuals(text, pair, options)`: the fewest words replaced that change
 * a classifier's prediction, a token classifier's label of a token (`token`),
 * or move a question's answer to another span (`text` the question, `pair`
 * the context) (options: `target`, `max_edits`, `beam`, `candidates`,
 * `count`, `token`; defaults: the vocabulary's `counterfactual_defaults`).
 * @typedef {object} CounterfactualReport
 * @property {{label: string, probability: number, answer?: Answer}} original
 *           question answering: `label` is the answer's text
 * @property {string} [target]  the class asked for
 * @property {Counterfactual[]} counterfactuals  empty when none was found
 * @property {Counterfactual} [closest]  then, the text that came closest
 * @property {{words: number, vocabulary: number, depth: number, verified: number}} searched
 */

/**
 * @typedef {object} Counterfactual
 * @property {string} text
 * @property {string} [pair]
 * @property {{sequence?: number, start: number, end: number, from: string, to: string, token_id: number}[]} edits
 *           offsets in characters of the original text (the pair's with sequence 1)
 * @property {string} label        the model's prediction on `text`
 * @property {number} probability  its probability
 * @property {number} original_probability  the originally predicted class's, on `text`
 * @property {number} margin       in logits; above 0: the prediction changed as asked
 * @property {Answer} [answer]     question answering: the answer on `pair` (`label` is its text)
 */

/**
 * `anchor(text, pair, options)`: alibi's AnchorText (options: `threshold`,
 * `delta`, `tau`, `batch_size`, `coverage_samples`, `beam_size`, `seed`, …).
 * @typedef {object} Anchor
 * @property {number} predicted
 * @property {string} predicted_label
 * @property {{word: string, position: number, offsets: [number, number], precision: number, coverage: number}[]} words
 *           in the order the search added them; offsets in characters of the word's text
 * @property {number} precision
 * @property {number} coverage
 * @property {boolean} success       the precision reached the threshold
 * @property {number} samples        sentences the model ran on
 * @property {string[]} covered_true
 * @property {string[]} covered_false
 */

/**
 * `nearestRows(query, vectors, rows, k, skip)`: the nearest rows by cosine
 * similarity, most similar first.
 * @typedef {{rows: Uint32Array, similarity: Float32Array}} Nearest
 */

/**
 * Messages to the worker: `{id, type, payload}`; answers: `{id, result}`
 * or `{id, error, fatal?}` (fatal: the wasm instance trapped and the
 * worker must be replaced).
 * @typedef {{id: number, type: string, payload?: any}} Request
 * @typedef {{id: number, result?: any, error?: string, fatal?: boolean}} Reply
 */
