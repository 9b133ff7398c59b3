// keras-sr in the browser: load the web bundles (keras-sr export --target web) with LiteRT.js and
// upscale tile by tile. Browser-only (fetch, crypto.subtle, ImageData); the plan itself is plan.js.
import { loadLiteRt, loadAndCompile, supportsFeature, Tensor } from '@litertjs/core';

import {
  checkCanvasSize, hasAlpha, isGray, planTiles, readWindow, resizeBicubic, toLuma, writeKept,
} from './plan.js';

/** Scales the page looks for, one bundle folder `x{scale}` each under the models URL. */
export const SCALES = [2, 3, 4];
const FETCH_TIMEOUT_MS = 60000;
const LOAD_TIMEOUT_MS = 120000;

/** Rejects with `message` when `promise` has not settled after `ms`: nothing waits forever. */
export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function fetchChecked(url, what) {
  let response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-cache' });
  } catch (error) {
    throw new Error(`${what} could not be fetched from ${url}: ${error.name === 'TimeoutError'
      ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : error.message}`);
  }
  if (!response.ok) {
    throw new Error(`${what} is missing: ${url} answered ${response.status} ${response.statusText}. ` +
      'Export it with `keras-sr web` (or keras-sr export --target web).');
  }
  return response;
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function quantOf(io) {
  return io && io.dtype !== 'float32' ? { scale: io.scale, zero_point: io.zero_point } : null;
}

function typedArrayFor(dtype, n) {
  const types = { float32: Float32Array, int8: Int8Array, uint8: Uint8Array };
  if (!types[dtype]) throw new Error(`The bundle's input dtype ${dtype} is not supported (float32, int8, uint8).`);
  return new types[dtype](n);
}

/**
 * Load one bundle: model.json, then model.tflite checked against its SHA-256, compiled for wasm.
 * @returns {Promise<{scale:number, tile:[number,number], overlap:number, facts:object, model:object}>}
 */
export async function loadBundle(baseUrl, scale, numThreads) {
  const url = new URL(`x${scale}/`, baseUrl);
  const what = `The x${scale} model bundle`;
  const factsResponse = await fetchChecked(new URL('model.json', url), `${what}'s model.json`);
  let facts;
  try {
    facts = await factsResponse.json();
  } catch (error) {
    throw new Error(`${what}'s model.json is not valid JSON: ${error.message}`);
  }
  if (facts.scale !== scale || !Array.isArray(facts.tile) || facts.tile.length !== 2 || !facts.sha256) {
    throw new Error(`${what}'s model.json does not describe an x${scale} web bundle (scale, tile, sha256). ` +
      `Received: scale=${facts.scale}, tile=${JSON.stringify(facts.tile)}`);
  }
  const bytes = new Uint8Array(await (await fetchChecked(new URL('model.tflite', url), `${what}'s model.tflite`))
    .arrayBuffer());
  const digest = await sha256Hex(bytes);
  if (digest !== facts.sha256) {
    throw new Error(`${what}'s model.tflite has the wrong SHA-256: ${digest.slice(0, 16)}..., model.json records ` +
      `${facts.sha256.slice(0, 16)}... The file is damaged or from another export: run keras-sr web --force.`);
  }
  let model;
  try {
    model = await loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads } });
  } catch (error) {
    throw new Error(`${what}'s model.tflite did not compile in LiteRT.js: ${error.message || error}`);
  }
  const shape = Array.from(model.getInputDetails()[0].shape);
  const [th, tw] = facts.tile;
  if (shape.join() !== [1, th, tw, 3].join()) {
    throw new Error(`${what}'s model.tflite takes input shape [${shape}], model.json says tile ${tw}x${th}.`);
  }
  return { scale, tile: [th, tw], overlap: facts.overlap, facts, model };
}

/**
 * Load LiteRT.js and every bundle it finds: the threaded wasm build at `numThreads` (default: the cores, at
 * most 8) when that is > 1 and the page is cross-origin isolated, else the single-threaded one.
 * @returns {Promise<{bundles: Map<number, object>, errors: Map<number, Error>, threads: boolean, numThreads: number}>}
 */
export async function loadAll(wasmUrl, modelsUrl, onStatus = () => {}, { numThreads: numThreadsWanted } = {}) {
  const wanted = Math.max(1, Math.min(numThreadsWanted || navigator.hardwareConcurrency || 1, 8));
  const threads = wanted > 1 && Boolean(globalThis.crossOriginIsolated) &&
    await supportsFeature('threads').catch(() => false);
  const numThreads = threads ? wanted : 1;
  onStatus(`loading LiteRT.js (${threads ? `wasm, ${numThreads} threads` : 'wasm, 1 thread'})`);
  try {
    await withTimeout(loadLiteRt(wasmUrl, { threads }), LOAD_TIMEOUT_MS,
      `LiteRT.js did not load within ${LOAD_TIMEOUT_MS / 1000} s from ${wasmUrl}`);
  } catch (error) {
    throw new Error(`LiteRT.js could not be loaded from ${wasmUrl} (run npm ci in tflite/web): ${error.message}`);
  }
  const bundles = new Map();
  const errors = new Map();
  for (const scale of SCALES) {
    onStatus(`loading the x${scale} model`);
    try {
      bundles.set(scale, await withTimeout(loadBundle(modelsUrl, scale, numThreads), LOAD_TIMEOUT_MS,
        `The x${scale} model bundle did not load within ${LOAD_TIMEOUT_MS / 1000} s`));
    } catch (error) {
      errors.set(scale, error);
    }
  }
  return { bundles, errors, threads, numThreads };
}

// Give the page a chance to paint between tiles (progress bar) without the 1 s clamp of a
// background tab's setTimeout.
function nextTurn() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

async function runWindow(bundle, input) {
  const tensor = new Tensor(input, [1, bundle.tile[0], bundle.tile[1], 3]);
  let outputs;
  try {
    outputs = await bundle.model.run(tensor);
  } finally {
    tensor.delete();
  }
  const out = await outputs[0].moveTo('wasm');
  try {
    return out.toTypedArray().slice();
  } finally {
    out.delete();
  }
}

/**
 * Upscale RGBA pixels tile by tile, as keras-sr upscale does with a fixed-shape model.
 *
 * @param {object} bundle from loadBundle.
 * @param {{data: Uint8ClampedArray, width: number, height: number}} image the LR RGBA pixels.
 * @param {(block: ImageData, x: number, y: number) => void} sink receives each finished output block
 *     (RGBA, alpha and gray already applied) with its top-left corner in the output.
 * @param {(done: number, total: number) => void} onProgress called after each tile.
 * @returns {Promise<{tiles: number, seconds: number, width: number, height: number}>}
 */
export async function upscaleTiles(bundle, image, sink, onProgress = () => {}) {
  const { width: w, height: h, data } = image;
  const s = bundle.scale;
  const [th, tw] = bundle.tile;
  checkCanvasSize(w, h, s);
  const start = performance.now();
  const gray = isGray(data);
  let alpha = null;
  if (hasAlpha(data)) {
    const a = new Uint8Array(w * h);
    for (let i = 0; i < w * h; i++) a[i] = data[i * 4 + 3];
    alpha = resizeBicubic(a, w, h, s * w, s * h);
  }
  const { tiles } = planTiles(h, w, th, tw, bundle.overlap);
  const inputDetails = bundle.facts.input || { dtype: 'float32' };
  const inQuant = quantOf(inputDetails);
  const outQuant = quantOf(bundle.facts.output);
  const input = typedArrayFor(inputDetails.dtype || 'float32', th * tw * 3);
  let done = 0;
  onProgress(0, tiles.length);
  for (const tile of tiles) {
    readWindow(data, w, h, tile.y0, tile.x0, th, tw, input, inQuant);
    const sr = await runWindow(bundle, input);
    const bw = s * (tile.kx1 - tile.kx0);
    const bh = s * (tile.ky1 - tile.ky0);
    const block = new ImageData(bw, bh);
    const px = block.data;
    writeKept(sr, tile, s, tw, px, bw, outQuant, s * tile.kx0, s * tile.ky0);
    if (gray) toLuma(px);
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        px[(y * bw + x) * 4 + 3] = alpha ? alpha[(s * tile.ky0 + y) * s * w + s * tile.kx0 + x] : 255;
      }
    }
    sink(block, s * tile.kx0, s * tile.ky0);
    done += 1;
    onProgress(done, tiles.length);
    await nextTurn();
  }
  return { tiles: tiles.length, seconds: (performance.now() - start) / 1000, width: s * w, height: s * h };
}

/** Decode an image file (Blob) to RGBA ImageData; a clear error for a file that is not an image. */
export async function decodeImage(blob, name = blob.name || 'the file') {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (error) {
    throw new TypeError(`'${name}' is not an image this browser can decode (PNG, JPEG, WebP, GIF, BMP)` +
      `${blob.type ? `; its type is ${blob.type}` : ''}.`);
  }
  try {
    if (bitmap.width * bitmap.height > 268435456) {
      throw new RangeError(`'${name}' (${bitmap.width}x${bitmap.height}) is too large for the browser's canvas.`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}
