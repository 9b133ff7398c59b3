// The page's plain-JS core: no DOM, no LiteRT. Runs in the browser and under `node --test`.
//
// It mirrors the Python side so the page's output matches `keras-sr upscale --tflite BUNDLE/model.tflite`:
//   tileWindows   keras_sr.lite.tiling.tile_windows (the window plan, unchanged)
//   planTiles     keras_sr.upscale.upscale_image for a fixed-shape model (edge padding of a small image)
//   toUint8       keras_sr.metrics.to_uint8 (floor(255 x + 0.5) after clipping)
//   resizeBicubic Pillow's Image.resize(BICUBIC) on one 8-bit channel (how the alpha channel is upscaled)
//   luma          Pillow's convert("L") (a gray input is saved gray)

/** Browser canvas limits (Chromium): a side and an area a canvas or ImageData can hold. */
export const MAX_CANVAS_SIDE = 32767;
export const MAX_CANVAS_AREA = 268435456; // 16384 x 16384

/**
 * Split one axis of `length` LR pixels into windows of `tile` pixels.
 * @returns {Array<[number, number, number, number]>} [winStart, winEnd, keepStart, keepEnd] per window.
 */
export function tileWindows(length, tile, overlap) {
  if (length <= tile) return [[0, length, 0, length]];
  const windows = [];
  let start = 0;
  let keepStart = 0;
  for (;;) {
    const end = start + tile;
    const keepEnd = end >= length ? length : end - overlap;
    windows.push([start, end, keepStart, keepEnd]);
    if (keepEnd === length) return windows;
    keepStart = keepEnd;
    start = Math.min(keepEnd - overlap, length - tile);
  }
}

/**
 * The tile plan of an LR image for a model fixed at tileH x tileW.
 *
 * As keras-sr upscale does for a fixed-shape model: the overlap is capped at (min tile - 1) / 2,
 * an image smaller than the tile is edge-padded up to it (windows then reach past the image: read
 * them with clamped coordinates), and the output is cropped back to scale * (h, w).
 * @returns {{tiles: Array<{y0:number,y1:number,x0:number,x1:number,ky0:number,ky1:number,kx0:number,kx1:number}>,
 *            overlap: number}}
 */
export function planTiles(h, w, tileH, tileW, overlap) {
  overlap = Math.min(overlap, Math.floor((Math.min(tileH, tileW) - 1) / 2));
  const rows = tileWindows(Math.max(h, tileH), tileH, overlap);
  const cols = tileWindows(Math.max(w, tileW), tileW, overlap);
  const tiles = [];
  for (const [y0, y1, ky0, ky1] of rows) {
    for (const [x0, x1, kx0, kx1] of cols) {
      // Kept parts that lie wholly in the padding are cropped away anyway: skip them.
      if (ky0 >= h || kx0 >= w) continue;
      tiles.push({ y0, y1, x0, x1, ky0, ky1: Math.min(ky1, h), kx0, kx1: Math.min(kx1, w) });
    }
  }
  return { tiles, overlap };
}

/** Throws when an output of outW x outH cannot live in a browser canvas / ImageData. */
export function checkCanvasSize(w, h, scale) {
  const outW = w * scale;
  const outH = h * scale;
  if (outW > MAX_CANVAS_SIDE || outH > MAX_CANVAS_SIDE || outW * outH > MAX_CANVAS_AREA) {
    throw new RangeError(
      `The image is too large for the browser: ${w}x${h} upscaled x${scale} is ${outW}x${outH} pixels, over the ` +
        `canvas limits of ${MAX_CANVAS_SIDE} pixels a side and ${MAX_CANVAS_AREA.toLocaleString('en-US')} pixels ` +
        'in all. Use a smaller image (or crop it), or keras-sr upscale on the command line.');
  }
}

/** float in [0, 1] -> uint8 as MATLAB's im2uint8: clip, then floor(255 x + 0.5). */
export function toUint8(x) {
  const v = x <= 0 ? 0 : x >= 1 ? 1 : x;
  return Math.floor(v * 255 + 0.5); // float64, as numpy does it
}

/** numpy's round (half to even), for quantizing an integer input tensor. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Fill `dst` (Float32Array th*tw*3 or an integer typed array) with the window of `rgba` at (y0, x0),
 * coordinates clamped to the image (= edge padding), as the model's input tensor.
 * @param {{scale:number, zero_point:number}|null} quant the input's quantization, null for float input.
 */
export function readWindow(rgba, w, h, y0, x0, th, tw, dst, quant = null) {
  let i = 0;
  for (let y = y0; y < y0 + th; y++) {
    const row = Math.min(y, h - 1) * w;
    for (let x = x0; x < x0 + tw; x++) {
      const p = (row + Math.min(x, w - 1)) * 4;
      for (let c = 0; c < 3; c++) {
        const v = Math.fround(rgba[p + c] / 255);
        dst[i++] = quant ? quantize(v, quant, dst) : v;
      }
    }
  }
  return dst;
}

function quantize(v, quant, dst) {
  const q = roundHalfEven(Math.fround(v / quant.scale) + quant.zero_point);
  const [lo, hi] = dst instanceof Int8Array ? [-128, 127] : [0, 255];
  return Math.min(hi, Math.max(lo, q));
}

/**
 * Write the kept part of one SR window into `out` (RGBA bytes, outW wide), alpha left alone.
 * @param {ArrayLike<number>} sr the model output, (scale*th, scale*tw, 3) row-major.
 * @param {{scale:number, zero_point:number}|null} quant the output's quantization, null for float output.
 * `outX0`, `outY0` shift where the block lands (0 for a whole-image buffer; the block's own corner for a tile buffer).
 */
export function writeKept(sr, tile, s, tw, out, outW, quant = null, outX0 = 0, outY0 = 0) {
  const srW = s * tw;
  for (let y = s * tile.ky0; y < s * tile.ky1; y++) {
    const srRow = (y - s * tile.y0) * srW;
    const outRow = (y - outY0) * outW;
    for (let x = s * tile.kx0; x < s * tile.kx1; x++) {
      const si = (srRow + x - s * tile.x0) * 3;
      const oi = (outRow + x - outX0) * 4;
      for (let c = 0; c < 3; c++) {
        const v = quant ? Math.fround((sr[si + c] - quant.zero_point) * quant.scale) : sr[si + c];
        out[oi + c] = toUint8(v);
      }
    }
  }
}

/** True when every pixel has R = G = B (a gray image decoded to RGBA). */
export function isGray(rgba) {
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  }
  return true;
}

/** True when some pixel is not fully opaque. */
export function hasAlpha(rgba) {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return true;
  return false;
}

/** Pillow's RGB -> L: (19595 R + 38470 G + 7471 B + 0x8000) >> 16, written to R, G and B. */
export function toLuma(rgba) {
  for (let i = 0; i < rgba.length; i += 4) {
    const l = (rgba[i] * 19595 + rgba[i + 1] * 38470 + rgba[i + 2] * 7471 + 0x8000) >>> 16;
    rgba[i] = rgba[i + 1] = rgba[i + 2] = l;
  }
  return rgba;
}

// ---------------------------------------------------------------- Pillow's bicubic resize (8-bit)

const PRECISION_BITS = 32 - 8 - 2;

function bicubic(x) {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output pixel, the first input pixel and
// fixed-point weights.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const bounds = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const k = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const wgt = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = wgt;
      ww += wgt;
    }
    const kk = new Int32Array(xmax);
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? k[x] / ww : k[x];
      kk[x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds.push([xmin, kk]);
  }
  return bounds;
}

function clip8(ss) {
  const v = Math.floor(ss / (1 << PRECISION_BITS));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow's `Image.resize((outW, outH), Image.BICUBIC)` of one 8-bit channel: horizontal pass, then vertical,
 * each rounded to 8 bits, as Pillow does.
 * @param {Uint8Array|Uint8ClampedArray} src channel values, w*h, row-major.
 * @returns {Uint8Array} outW*outH values.
 */
export function resizeBicubic(src, w, h, outW, outH) {
  const tmp = new Uint8Array(outW * h);
  const hc = coefficients(w, outW);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < outW; xx++) {
      const [xmin, kk] = hc[xx];
      let ss = 1 << (PRECISION_BITS - 1);
      for (let x = 0; x < kk.length; x++) ss += src[y * w + xmin + x] * kk[x];
      tmp[y * outW + xx] = clip8(ss);
    }
  }
  const out = new Uint8Array(outW * outH);
  const vc = coefficients(h, outH);
  for (let yy = 0; yy < outH; yy++) {
    const [ymin, kk] = vc[yy];
    for (let x = 0; x < outW; x++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < kk.length; y++) ss += tmp[(ymin + y) * outW + x] * kk[y];
      out[yy * outW + x] = clip8(ss);
    }
  }
  return out;
}

/** PSNR in dB between two equal-length byte arrays over the RGB channels of RGBA data. */
export function psnrRgb(a, b) {
  if (a.length !== b.length) throw new RangeError(`psnrRgb: lengths differ (${a.length} vs ${b.length})`);
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = a[i + c] - b[i + c];
      se += d * d;
      n++;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / n));
}
