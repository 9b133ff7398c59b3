// The plain-JS plan against the Python side's golden data (tile windows, Pillow's bicubic of alpha).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  checkCanvasSize, planTiles, resizeBicubic, roundHalfEven, tileWindows, toLuma, toUint8,
} from '../src/plan.js';
import { fixtureDir, readMeta } from '../testing/harness.js';

const dir = fixtureDir();
const meta = readMeta(dir);

test('tileWindows reproduces keras_sr.lite.tiling.tile_windows', () => {
  for (const [length, tile, overlap, expected] of meta.windows) {
    assert.deepEqual(tileWindows(length, tile, overlap), expected, `length=${length} tile=${tile} overlap=${overlap}`);
  }
});

test('planTiles covers the image once, windows tile-sized, small images padded', () => {
  for (const [h, w] of [[128, 128], [57, 86], [30, 40], [1, 1], [200, 65]]) {
    const { tiles } = planTiles(h, w, 64, 64, 16);
    const seen = new Uint8Array(h * w);
    for (const t of tiles) {
      assert.equal(t.y1 - t.y0, 64);
      assert.equal(t.x1 - t.x0, 64);
      for (let y = t.ky0; y < t.ky1; y++) for (let x = t.kx0; x < t.kx1; x++) seen[y * w + x] += 1;
    }
    assert.ok(seen.every((n) => n === 1), `${h}x${w}: every LR pixel kept exactly once`);
  }
  assert.equal(planTiles(100, 100, 20, 20, 16).overlap, 9); // capped at (tile - 1) / 2, as keras-sr upscale
});

test("resizeBicubic is Pillow's Image.resize(BICUBIC) on the alpha channel, exactly", () => {
  const [w, h] = meta.alpha;
  const [ow, oh] = meta.alpha_ref;
  const src = readFileSync(join(dir, 'alpha.rgba'));
  const ref = readFileSync(join(dir, 'alpha_ref.rgba'));
  const alpha = Uint8Array.from({ length: w * h }, (_, i) => src[i * 4 + 3]);
  const out = resizeBicubic(alpha, w, h, ow, oh);
  let differ = 0;
  for (let i = 0; i < ow * oh; i++) if (out[i] !== ref[i * 4 + 3]) differ += 1;
  assert.equal(differ, 0, `${differ} alpha values differ from Pillow's`);
});

test('toUint8, roundHalfEven and toLuma follow numpy and Pillow', () => {
  assert.deepEqual([-0.1, 0, 0.5 / 255, 1.5 / 255, 0.5, 1, 2].map(toUint8), [0, 0, 1, 2, 128, 255, 255]);
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4].map(roundHalfEven), [0, 2, 2, -0, -2, 2]);
  const luma = toLuma(new Uint8ClampedArray([255, 0, 0, 255, 10, 200, 30, 7]));
  assert.deepEqual([...luma], [76, 76, 76, 255, 124, 124, 124, 7]);
});

test('checkCanvasSize refuses outputs over the browser canvas limits', () => {
  assert.doesNotThrow(() => checkCanvasSize(4000, 4000, 4));
  assert.throws(() => checkCanvasSize(8200, 2, 4), /too large for the browser: 8200x2 upscaled x4 is 32800x8/);
  assert.throws(() => checkCanvasSize(5000, 5000, 4), /too large/);
});
