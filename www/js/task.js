// What differs between tasks, as pure functions: the boxes a task reads,
// its examples, how its model and its explanation are described.

import { pct } from './tokens.js';

/** @typedef {string | {text: string, pair?: string} | {question: string, context: string}} Example */

export const TASK_NAMES = {
  'sequence-classification': 'text classification',
  'question-answering': 'question answering',
  'token-classification': 'token classification',
  'fill-mask': 'fill-mask',
  encoder: 'bare encoder',
};

/** Examples for a model that brings none (the page's own, per task). */
export function defaultExamples(task, maskToken = '[MASK]') {
  const m = maskToken ?? '[MASK]';
  switch (task) {
    case 'question-answering':
      return [
        { question: 'Where is the hotel?', context: 'The hotel is near the old bank in São Paulo.' },
        { question: 'Who wrote the letter?', context: 'The letter was written by Sarah, a naïve café owner, in the autumn of 1998.' },
      ];
    case 'token-classification':
      return ['My name is Wolfgang and I live in Berlin.', 'Sarah works at the Bank of England in London.'];
    case 'fill-mask':
      return [`The capital of France is ${m}.`, `I ${m} this movie, the acting was ${m}!`];
    case 'encoder':
      return [
        'The movie was wonderful, and the acting superb!',
        { text: 'Is the hotel near the station?', pair: 'Yes, it is a short walk away.' },
      ];
    default:
      return ['The movie was wonderful, and the acting superb!', "I didn't like it at all: boring plot, flat characters."];
  }
}

/** The boxes an example fills, by state field. */
export function exampleFields(example, task) {
  if (task === 'question-answering') {
    if (typeof example === 'string') return { question: example };
    return { question: example.question ?? example.text ?? '', context: example.context ?? example.pair ?? '' };
  }
  if (typeof example === 'string') return { text: example, pairOn: false };
  if (example.pair && (task === 'sequence-classification' || task === 'encoder')) {
    return { text: example.text, pair: example.pair, pairOn: true };
  }
  return { text: example.text ?? example.question ?? '', pairOn: false };
}

/** How an example is listed. */
export function exampleLabel(example) {
  if (typeof example === 'string') return example;
  if (example.question) return `${example.question} — ${example.context}`;
  return example.pair ? `${example.text} | ${example.pair}` : example.text;
}

/** The text boxes an example would write to, and whether any holds text. */
export function typedIn(s, fields) {
  return Object.keys(fields).some((k) => typeof s[k] === 'string' && s[k].trim() !== '' && s[k] !== fields[k]);
}

/** One line about a loaded model. */
export function summary(info) {
  const task = TASK_NAMES[info.task] ?? info.task;
  const what =
    info.task === 'sequence-classification'
      ? `, ${info.labels.length} classes${info.output === 'sigmoid' ? ' (sigmoid)' : ''}`
      : info.task === 'token-classification'
        ? `, ${info.labels.length} labels per token`
        : '';
  return `${info.architecture ?? info.model_type} (${task}): ${info.layers} layers × ${info.heads} heads${what}, up to ${info.max_tokens} tokens`;
}

export const PREDICTION_TITLES = {
  'sequence-classification': 'Prediction',
  'question-answering': 'Answer',
  'token-classification': 'Entities',
  'fill-mask': 'Fillers',
  encoder: 'Encoder',
};

export const ATTRIBUTION_TITLES = {
  'sequence-classification': 'Which tokens pushed it there',
  'question-answering': 'Which tokens point to the answer',
  'token-classification': "Which tokens decided this token's label",
  'fill-mask': 'Which tokens called for this filler',
  encoder: 'Attention rollout',
};

/** A token as the page shows it in a sentence: “Berlin” (token 15). */
export function tokenName(labels, i) {
  return i === null || i === undefined ? '' : `“${labels[i] ?? i}” (token ${i})`;
}

/** The best filler of the mask an explanation is of. */
function fillersOf(e) {
  return e.masks?.find((m) => m.token === e.token)?.fill ?? e.fill ?? [];
}

/**
 * The cells of Captum's record for any task: what the model predicted
 * (with its probability or score) and what is attributed; null for a bare
 * encoder, which predicts nothing.
 * @param {import('./types.js').Explanation} e
 * @param {string[]} labels  the tokens as shown
 */
export function recordOf(e, labels) {
  switch (e.task) {
    case 'question-answering':
      return {
        predicted: e.answer ? `“${e.answer.text}”` : '–',
        score: e.answer ? pct(e.answer.score) : null,
        target: e.target_label ? `answer ${e.target_label} at ${tokenName(labels, e.token)}` : '–',
      };
    case 'token-classification':
      return {
        predicted: e.predicted_label ?? '–',
        score: e.predicted === null || e.predicted === undefined ? null : pct(e.probabilities[e.predicted]),
        target: e.target_label ? `${e.target_label}${e.contrast_label ? ` versus ${e.contrast_label}` : ''} at ${tokenName(labels, e.token)}` : '–',
      };
    case 'fill-mask': {
      const best = fillersOf(e)[0];
      return {
        predicted: best ? `“${best.token}”` : '–',
        score: best ? pct(best.score) : null,
        target: e.target_label !== null && e.target_label !== undefined ? `“${e.target_label}” at the mask (token ${e.token})` : '–',
      };
    }
    case 'encoder':
      return null; // nothing predicted, nothing attributed but the rollout
    default:
      return {
        predicted: e.predicted_label ?? '–',
        score: e.predicted === null || e.predicted === undefined ? null : e.probabilities[e.predicted].toFixed(2),
        target: e.target_label ? `${e.target_label}${e.contrast_label ? ` versus ${e.contrast_label}` : ''}` : '–',
      };
  }
}

/** What an attribution is of, as a phrase: “the logit of B-LOC at “Berlin” (token 15)”. */
export function attributedWhat(e, labels) {
  const versus = e.contrast_label ? ` minus ${e.task === 'fill-mask' ? `“${e.contrast_label}”` : e.task === 'question-answering' ? `the ${e.contrast_label}` : e.contrast_label}'s` : '';
  switch (e.task) {
    case 'question-answering':
      return `the answer's ${e.target_label} ${e.output} at ${tokenName(labels, e.token)}${versus}`;
    case 'token-classification':
      return `the ${e.output} of ${e.target_label}${versus} at ${tokenName(labels, e.token)}`;
    case 'fill-mask':
      return `the ${e.output} of “${e.target_label}”${versus} at the mask (token ${e.token})`;
    default:
      return `${e.target_label}'s ${e.output}${versus}`;
  }
}

/** Which row of the rollout a score comes from, in words. */
export function rolloutRowText(e, labels, row) {
  const r = row || (e.task === 'sequence-classification' || e.task === 'encoder' || e.token === null ? 'cls' : 'token');
  if (r === 'mean') return 'how much the tokens, on average, draw on each input token';
  if (r === 'token' && e.token !== null && e.token !== undefined) return `how much ${tokenName(labels, e.token)} draws on each input token`;
  return `how much the top ${labels[0] ?? 'first token'} draws on each input token`;
}
