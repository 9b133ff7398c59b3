// Shared by the node tests: the fixture the Python side makes, the page's server and headless Chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(WEB_DIR, '..', '..');
export const PYTHON = process.env.KERAS_SR_PYTHON || 'python3';
export const CHROMIUM = process.env.KERAS_SR_CHROMIUM || '/usr/bin/chromium';

/** The fixture folder: $KERAS_SR_WEB_FIXTURE (pytest makes it), else made here by tests/test_web.py. */
export function fixtureDir() {
  if (process.env.KERAS_SR_WEB_FIXTURE) return process.env.KERAS_SR_WEB_FIXTURE;
  const dir = mkdtempSync(join(tmpdir(), 'keras_sr_web_'));
  execFileSync(PYTHON, [join(REPO_ROOT, 'tests', 'test_web.py'), dir], { cwd: REPO_ROOT, stdio: 'inherit' });
  process.env.KERAS_SR_WEB_FIXTURE = dir;
  return dir;
}

export function readMeta(dir) {
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
}

/** `keras-sr web --port 0` on the fixture's bundles; resolves to {url, stop()} once it prints its URL. */
export function startServer(dir, tile) {
  const child = spawn(PYTHON, ['-m', 'keras_sr.cli.web', '--port', '0', '--tile', String(tile),
    '--output-dir', join(dir, 'models')], { cwd: REPO_ROOT, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`keras-sr web printed no URL within 60 s:\n${output}`));
    }, 60000);
    const onData = (data) => {
      output += data;
      const match = output.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ url: match[0], output: () => output, stop: () => child.kill() });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keras-sr web exited with ${code}:\n${output}`));
    });
  });
}

export async function launchChromium() {
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(join(tmpdir(), 'keras_sr_chromium_')),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Open the page and wait until it has finished loading its models (resolved or not). */
export async function openPage(browser, url, { onRequest } = {}) {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  if (onRequest) {
    await page.setRequestInterception(true);
    page.on('request', onRequest);
  }
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => ['ready', 'error', 'done'].includes(document.body.dataset.state),
    { timeout: 60000 });
  return page;
}

/** bytes (Buffer/Uint8Array) <-> base64, to move pixels in and out of page.evaluate. */
export const toBase64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
export const fromBase64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));
