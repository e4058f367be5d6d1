// Shared by the end-to-end tests: the local server (bertlens serve) and
// Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = path.join(ROOT, 'target', 'e2e');

/** The bertlens binary: $BERTLENS_BIN, else the one `cargo test` built, else the release one. */
export function binary() {
  const candidates = [process.env.BERTLENS_BIN, 'target/debug/bertlens', 'target/release/bertlens'];
  for (const c of candidates) {
    if (c && existsSync(path.resolve(ROOT, c))) return path.resolve(ROOT, c);
  }
  throw new Error('no bertlens binary: run cargo build -p bertlens-cli');
}

/** Starts `bertlens serve` on a free loopback port; resolves to {url, stop}. */
export function startServer(dir = 'www') {
  return new Promise((resolve, reject) => {
    const child = spawn(binary(), ['serve', '--dir', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => reject(new Error(`bertlens serve did not start: ${err}`)), 15000);
    child.stderr.on('data', (chunk) => {
      err += chunk;
      const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => child.kill() });
      }
    });
    child.on('exit', (code) => reject(new Error(`bertlens serve exited (${code}): ${err}`)));
  });
}

/**
 * Chromium as installed by Debian, headless, with nothing running in the
 * background; with `webgpu`, its WebGPU adapter (SwiftShader, on the CPU).
 */
export async function launch({ webgpu = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      webgpu ? '--enable-unsafe-webgpu' : '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that records every request and every console error or dialog. */
export async function open(browser, url, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const log = { requests: [], errors: [], dialogs: [], failed: [] };
  const pending = new Set();
  page.on('request', (r) => {
    log.requests.push(r.url());
    pending.add(r);
  });
  page.on('requestfinished', (r) => pending.delete(r));
  page.on('requestfailed', (r) => {
    pending.delete(r);
    log.failed.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('console', (m) => m.type() === 'error' && log.errors.push(m.text()));
  page.on('pageerror', (e) => log.errors.push(String(e)));
  page.on('dialog', async (d) => {
    log.dialogs.push(d.message());
    await d.dismiss();
  });
  try {
    await page.goto(url);
  } catch (e) {
    const waiting = [...pending].map((r) => r.url()).join(', ');
    throw new Error(`${e.message}\nrequests still pending: ${waiting || 'none'}`);
  }
  return { page, context, log };
}

export async function shot(page, name, options = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, ...options });
  return file;
}

/** Waits until the page is idle: a model loaded and no work in progress. */
export async function idle(page, timeout = 60000) {
  await page.waitForFunction(
    () => {
      const s = globalThis.bertlens?.state;
      return s && s.model && !s.loading && !s.busy;
    },
    null,
    { timeout },
  );
}

/**
 * `bertlens serve`, Chromium, and a page of it on the default model, loaded
 * (and, with `explained`, its first explanation shown): {server, browser, page, log, context}.
 */
export async function startPage({ width = 1280, height = 900, explained = false } = {}) {
  const server = await startServer();
  const browser = await launch();
  const { page, log, context } = await open(browser, `${server.url}/`, { width, height });
  await idle(page, 120000);
  if (explained) await page.waitForFunction(() => globalThis.bertlens.state.explanation, null, { timeout: 120000 });
  return { server, browser, page, log, context };
}

/** Closes what startPage started. */
export async function stopPage({ server, browser }) {
  await browser?.close();
  server?.stop();
}
