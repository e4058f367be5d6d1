// What the end-to-end tests share beyond the harness: the CLI's answer to
// compare with, closeness, driving the page (type, explain, wait), and
// axe-core's serious and critical violations (injected from node_modules).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, binary } from './harness.mjs';

export const DEFAULT_MODEL = path.join(ROOT, 'www/models/minilm-intent');
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
const AXE = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/axe-core/axe.min.js'), 'utf8');

/** `bertlens explain --json ARGS`, parsed. */
export function cli(...args) {
  return JSON.parse(execFileSync(binary(), ['explain', '--json', ...args], { cwd: ROOT, encoding: 'utf8' }));
}

/** A fixture's goldens (transformers + Captum). */
export function golden(name) {
  return JSON.parse(readFileSync(path.join(FIXTURES, name, 'expected.json'), 'utf8'));
}

/** max |a − b| ≤ tol · max(1, max |b|) */
export function assertClose(what, got, want, tol) {
  assert.equal(got.length, want.length, `${what}: lengths`);
  const scale = Math.max(1, ...want.map(Math.abs));
  got.forEach((g, i) => {
    assert.ok(Math.abs(g - want[i]) <= tol * scale, `${what}[${i}]: ${g} vs ${want[i]}`);
  });
}

/**
 * Serves fixture folders from the page's models/ (as a model hub would):
 * returns their URLs by name, and a function that removes them.
 */
export function serveFixtures(names) {
  const dirs = names.map((n) => path.join(ROOT, 'www/models', `e2e-${n}`));
  names.forEach((n, i) => cpSync(path.join(FIXTURES, n), dirs[i], { recursive: true }));
  return {
    url: (n) => `models/e2e-${n}/`,
    remove: () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

/**
 * Waits until `predicate(state, arg)` holds with no work in progress, and
 * fails at once with the page's message if the run ends in an error.
 */
export async function settle(page, predicate, arg, timeout = 120000) {
  const handle = await page.waitForFunction(
    ([src, a]) => {
      const s = globalThis.bertlens.state;
      if (s.busy || s.loading) return false;
      if (s.runMessage?.kind === 'error') return { error: s.runMessage.text };
      return new Function('s', 'a', `return (${src})(s, a)`)(s, a) ? { ok: true } : false;
    },
    [predicate.toString(), arg],
    { timeout },
  );
  const out = await handle.jsonValue();
  assert.equal(out.error, undefined, `the page says: ${out.error}`);
}

/** Types a text (and its pair, for a sentence pair) and explains it. */
export async function explainText(page, text, pair = null, { expectError = false } = {}) {
  await page.fill('#text', text);
  if (pair !== null) {
    await page.check('#pair-on');
    await page.fill('#pair', pair);
  }
  await page.click('#explain');
  await page.waitForFunction(
    (t) => {
      const s = globalThis.bertlens.state;
      return !s.busy && s.input?.text === t && (s.explanation || s.runMessage);
    },
    text,
    { timeout: 120000 },
  );
  if (expectError) return;
  const message = await page.evaluate(() => globalThis.bertlens.state.runMessage);
  assert.equal(message, null, `the page says: ${message?.text}`);
}

/** Types a question and its context and explains them. */
export async function askQuestion(page, question, context) {
  await page.fill('#question', question);
  await page.fill('#context', context);
  await page.click('#explain');
  await settle(page, (s, q) => s.input?.text === q && s.explanation && !s.preview, question);
}

/** Opens a model from a URL (relative to the page's) through the form, and waits until it is in use. */
export async function loadUrl(page, address) {
  const url = new URL(address, page.url()).href;
  await page.fill('#model-url', url);
  await page.click('#url-form button');
  await page.waitForFunction(
    (u) => {
      const s = globalThis.bertlens.state;
      return !s.loading && !s.busy && (s.model?.name === u || s.modelMessage);
    },
    url,
    { timeout: 60000 },
  );
  const message = await page.evaluate(() => globalThis.bertlens.state.modelMessage);
  assert.equal(message, null, `the page says: ${message?.text}`);
}

/** The scores of the record's word importance, as shown. */
export const shownScores = (page) => page.$$eval('#record mark.tok', (marks) => marks.map((m) => Number(m.dataset.score)));

/** The explanation the page shows. */
export const shown = (page) => page.evaluate(() => globalThis.bertlens.state.explanation);

/** Every row of the neuron view's table, as numbers (once the head's maps are in). */
export async function neuronRows(page) {
  await page.waitForSelector('#neuron-table');
  return page.$$eval('#neuron-table tbody tr', (trs) =>
    trs.map((tr) => {
      const num = (sel) => (tr.querySelector(sel) ? Number(tr.querySelector(sel).dataset.value) : null);
      const soft = tr.querySelector('.softmax');
      return {
        key: Number(tr.dataset.key),
        dot: num('.dot'),
        scaled: num('.scaled'),
        position: num('.position'),
        score: num('.score'),
        softmax: Number(soft.dataset.value),
        attention: Number(soft.dataset.attention),
        masked: soft.dataset.masked === 'true',
      };
    }),
  );
}

/**
 * axe-core's serious and critical violations on the page as it is, as
 * `{id, impact, help, targets}`; axe walks open shadow roots itself.
 */
async function violations(page) {
  if (!(await page.evaluate(() => Boolean(globalThis.axe)))) await page.addScriptTag({ content: AXE });
  return page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => `${JSON.stringify(n.target)}${n.failureSummary ? `: ${n.failureSummary.split('\n').slice(1).join(' ').trim()}` : ''}`) }));
  });
}

/** Fails with each violation's rule, impact and failing targets. */
export async function assertAccessible(page, where) {
  const found = await violations(page);
  const report = found.map((v) => `  ${v.id} (${v.impact}: ${v.help})\n${v.targets.slice(0, 8).map((t) => `    ${t}`).join('\n')}`).join('\n');
  assert.equal(found.length, 0, `${where}: ${found.length} serious or critical axe violation(s):\n${report}`);
}
