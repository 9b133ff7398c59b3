// The page in headless Chromium (puppeteer-core driving /usr/bin/chromium), served by `keras-sr web`.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';

import { psnrRgb } from '../src/plan.js';
import {
  REPO_ROOT, fixtureDir, fromBase64, launchChromium, openPage, readMeta, startServer, toBase64,
} from '../testing/harness.js';

const dir = fixtureDir();
const meta = readMeta(dir);
const results = {};
let server;
let browser;
let page;

before(async () => {
  [server, browser] = await Promise.all([startServer(dir, meta.tile), launchChromium()]);
  results.chromium = await browser.version();
  page = await openPage(browser, server.url);
  await page.setViewport({ width: 1180, height: 900 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.stop();
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 1));
});

// Upscale raw RGBA bytes through window.kerasSr.upscale; returns {width, height, data, seconds}.
async function upscaleRaw(target, bytes, width, height, scale) {
  const out = await target.evaluate(async (b64, w, h, s) => {
    const raw = Uint8ClampedArray.from(atob(b64), (c) => c.charCodeAt(0));
    const t0 = performance.now();
    const progress = [];
    const sr = await window.kerasSr.upscale(new ImageData(raw, w, h), { scale: s,
      onProgress: (done, total) => progress.push([done, total]) });
    const seconds = (performance.now() - t0) / 1000;
    let text = '';
    for (let i = 0; i < sr.data.length; i += 0x8000) text += String.fromCharCode(...sr.data.subarray(i, i + 0x8000));
    return { width: sr.width, height: sr.height, data: btoa(text), seconds, progress };
  }, toBase64(bytes), width, height, scale);
  return { ...out, data: fromBase64(out.data) };
}

const stateAfter = (target) => target.waitForFunction(
  () => ['done', 'error'].includes(document.body.dataset.state), { timeout: 60000 })
  .then(() => target.evaluate(() => ({ state: document.body.dataset.state,
    message: document.getElementById('message').textContent })));

async function chooseFile(target, path) {
  await target.evaluate(() => { document.body.dataset.state = 'waiting'; });
  const input = await target.$('#file');
  await input.uploadFile(path);
  return stateAfter(target);
}

test('window.kerasSr.ready resolves with the x2, x3 and x4 models', async () => {
  const info = await page.evaluate(() => window.kerasSr.ready);
  assert.deepEqual(info.scales, [2, 3, 4]);
  assert.deepEqual(info.errors, {});
  results.threads = info.threads;
  results.num_threads = info.numThreads;
});

test(`a Set5 image x4 matches keras-sr upscale --tflite (PSNR >= 45 dB, exact size)`, async () => {
  const [w, h] = meta.lr;
  const out = await upscaleRaw(page, readFileSync(join(dir, 'lr.rgba')), w, h, 4);
  assert.deepEqual([out.width, out.height], meta.ref);
  const ref = readFileSync(join(dir, 'ref.rgba'));
  const psnr = psnrRgb(out.data, ref);
  let alphaOk = true;
  for (let i = 3; i < ref.length; i += 4) alphaOk &&= out.data[i] === 255;
  let differ = 0;
  for (let i = 0; i < ref.length; i++) if (out.data[i] !== ref[i]) differ += 1;
  Object.assign(results, { psnr_db: Number.isFinite(psnr) ? psnr : 'Infinity', values_differing: differ,
    size: [out.width, out.height], api_seconds: out.seconds });
  console.log(`${meta.image} LR ${w}x${h} x4: PSNR ${psnr.toFixed(2)} dB vs keras-sr upscale ` +
    `(${differ} values differ), ${out.seconds.toFixed(2)} s`);
  assert.ok(psnr >= 45, `PSNR ${psnr.toFixed(2)} dB < 45 dB`);
  assert.ok(alphaOk, 'an opaque image stays opaque');
  assert.deepEqual(out.progress, Array.from({ length: 10 }, (_, i) => [i, 9]), 'progress after every tile');
});

test('alpha is kept as keras-sr upscale keeps it (Pillow bicubic), on an image smaller than the tile', async () => {
  const [w, h] = meta.alpha;
  const out = await upscaleRaw(page, readFileSync(join(dir, 'alpha.rgba')), w, h, 4);
  assert.deepEqual([out.width, out.height], meta.alpha_ref);
  const ref = readFileSync(join(dir, 'alpha_ref.rgba'));
  let alphaDiff = 0;
  for (let i = 3; i < ref.length; i += 4) alphaDiff = Math.max(alphaDiff, Math.abs(out.data[i] - ref[i]));
  const psnr = psnrRgb(out.data, ref);
  results.alpha = { max_alpha_diff: alphaDiff, rgb_psnr_db: Number.isFinite(psnr) ? psnr : 'Infinity' };
  assert.equal(alphaDiff, 0);
  assert.ok(psnr >= 45, `RGB PSNR ${psnr.toFixed(2)} dB < 45 dB`);
});

test('the page: pick a scale, choose a file, comparison view, slider, stats, Download PNG; screenshot', async () => {
  await page.click('input[name=scale][value="2"]');
  const first = await chooseFile(page, join(dir, 'lr.png'));
  assert.equal(first.state, 'done', first.message);
  assert.equal(await page.evaluate(() => document.getElementById('sr').width), 256);
  // Picking another scale runs the image again.
  await page.evaluate(() => { document.body.dataset.state = 'waiting'; });
  await page.click('input[name=scale][value="4"]');
  const { state, message } = await stateAfter(page);
  assert.equal(state, 'done', message);
  const view = await page.evaluate(() => ({
    stats: document.getElementById('stats').textContent,
    compare: !document.getElementById('compare').hidden,
    download: !document.getElementById('download').disabled,
    sr: [document.getElementById('sr').width, document.getElementById('sr').height],
    progressHidden: document.getElementById('progress').hidden,
  }));
  assert.match(view.stats, /128x128 -> 512x512 \(x4\) in [\d.]+ s, 9 tiles, [\d.]+ tiles\/s/);
  assert.ok(view.compare && view.download && view.progressHidden);
  assert.deepEqual(view.sr, [512, 512]);
  // Drag the comparison handle to a third of the width and zoom there.
  const box = await (await page.$('#view')).boundingBox();
  await page.mouse.move(box.x + box.width / 3, box.y + box.height * 0.45);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.45, { steps: 4 });
  await page.mouse.up();
  const slider = await page.evaluate(() => Number(document.getElementById('slider').value));
  assert.ok(slider > 350 && slider < 450, `slider at ${slider}`);
  // Download PNG: catch the link the button clicks and decode what it points to.
  const download = await page.evaluate(() => new Promise((resolve) => {
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      HTMLAnchorElement.prototype.click = click;
      fetch(this.href).then((r) => r.blob()).then((blob) => createImageBitmap(blob).then((bitmap) =>
        resolve({ name: this.download, type: blob.type, size: [bitmap.width, bitmap.height] })));
    };
    document.getElementById('download').click();
  }));
  assert.deepEqual(download, { name: 'lr_x4.png', type: 'image/png', size: [512, 512] });
  const shot = process.env.KERAS_SR_SCREENSHOT || join(REPO_ROOT, 'docs', 'web_screenshot.png');
  mkdirSync(dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  results.screenshot = shot.startsWith(REPO_ROOT) ? 'docs/web_screenshot.png' : 'temporary';
});

test('a file that is not an image (chosen or dropped): message on the page, error from the API', async () => {
  const { state, message } = await chooseFile(page, join(dir, 'not_image.png'));
  assert.equal(state, 'error');
  assert.match(message, /'not_image\.png' is not an image this browser can decode/);
  // Dropped rather than chosen: the same message.
  const dropped = await page.evaluate(() => {
    document.body.dataset.state = 'waiting';
    const data = new DataTransfer();
    data.items.add(new File(['not pixels'], 'notes.txt', { type: 'text/plain' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true,
      cancelable: true }));
  }).then(() => stateAfter(page));
  assert.equal(dropped.state, 'error');
  assert.match(dropped.message, /'notes\.txt' is not an image this browser can decode .*text\/plain/);
  const error = await page.evaluate(() => window.kerasSr.decode(new Blob(['hello'], { type: 'text/plain' }))
    .then(() => 'decoded', (e) => e.message));
  assert.match(error, /is not an image this browser can decode .*text\/plain/);
});

test("an image too large for the browser's canvas: message on the page, error from the API", async () => {
  const { state, message } = await chooseFile(page, join(dir, 'wide.png'));
  assert.equal(state, 'error');
  assert.match(message, /too large for the browser: 8200x2 upscaled x4 is 32800x8 pixels/);
  const error = await page.evaluate(() => window.kerasSr.upscale(new ImageData(8200, 2), { scale: 4 })
    .then(() => 'upscaled', (e) => e.message));
  assert.match(error, /too large for the browser/);
  const badScale = await page.evaluate(() => window.kerasSr.upscale(new ImageData(8, 8), { scale: 5 })
    .then(() => 'upscaled', (e) => e.message));
  assert.match(badScale, /`scale` must be one of \(2, 3, 4\)\. Received: scale=5/);
});

test('a bundle with the wrong hash and a missing bundle: messages on the page, errors from the API', async () => {
  const tflite = readFileSync(join(dir, 'models', 'x4', 'model.tflite'));
  const damaged = Buffer.from(tflite);
  damaged[damaged.length - 100] ^= 0xff;
  const bad = await openPage(browser, server.url, {
    onRequest: (request) => {
      const url = request.url();
      if (url.endsWith('/models/x4/model.tflite')) {
        request.respond({ status: 200, contentType: 'application/octet-stream', body: damaged });
      } else if (url.includes('/models/x3/')) {
        request.respond({ status: 404, contentType: 'text/plain', body: 'not found' });
      } else {
        request.continue();
      }
    },
  });
  try {
    const info = await bad.evaluate(() => window.kerasSr.ready);
    assert.deepEqual(info.scales, [2]);
    const message = await bad.evaluate(() => document.getElementById('message').textContent);
    assert.match(message, /x4 model bundle's model\.tflite has the wrong SHA-256/);
    assert.match(message, /x3 model bundle's model\.json is missing: .* answered 404/);
    const errors = await bad.evaluate(() => Promise.all([4, 3].map((scale) => window.kerasSr
      .upscale(new ImageData(8, 8), { scale }).then(() => 'upscaled', (e) => e.message))));
    assert.match(errors[0], /The x4 model is unavailable: .*wrong SHA-256/);
    assert.match(errors[1], /The x3 model is unavailable: .*missing/);
  } finally {
    await bad.close();
  }
});

test('no bundle at all: ready rejects, the page says so', async () => {
  const none = await openPage(browser, `${server.url}?models=nowhere/`);
  try {
    const error = await none.evaluate(() => window.kerasSr.ready.then(() => 'resolved', (e) => e.message));
    assert.match(error, /No model could be loaded from .*nowhere\//);
    const message = await none.evaluate(() => document.getElementById('message').textContent);
    assert.match(message, /No model could be loaded/);
  } finally {
    await none.close();
  }
});
