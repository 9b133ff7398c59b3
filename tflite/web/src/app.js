// The page: file input / drop, scale choice, progress, bicubic vs keras-sr slider and zoom, download;
// and the JS API `window.kerasSr`. `document.body.dataset.state` says where the page is:
// loading, ready, running, done or error (the tests wait on it).
import { checkCanvasSize } from './plan.js';
import { decodeImage, loadAll, SCALES, upscaleTiles } from './sr.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const MODELS_URL = new URL(params.get('models') || 'models/', location.href);
const WASM_URL = new URL('node_modules/@litertjs/core/wasm/', location.href).href;
// ?threads=N: interpreter threads (1: the single-threaded wasm build); default: the cores, at most 8.
const NUM_THREADS = Number(params.get('threads')) || undefined;

let loaded = null; // {bundles, errors, threads, numThreads}
let queue = Promise.resolve(); // one upscale at a time: a compiled model is not re-entrant

function setState(state) {
  document.body.dataset.state = state;
}

function showMessage(text) {
  const box = $('message');
  box.textContent = text;
  box.hidden = !text;
}

function fail(error) {
  console.error(error);
  showMessage(error && error.message ? error.message : String(error));
  $('progress').hidden = true;
  setState('error');
}

// Nothing fails silently: an error nobody caught still reaches the message box.
window.addEventListener('error', (event) => fail(event.error || new Error(event.message)));
window.addEventListener('unhandledrejection', (event) => fail(event.reason));

function describeLoad({ bundles, errors, threads, numThreads }) {
  const ok = [...bundles.keys()].map((s) => `x${s}`).join(', ');
  const engine = threads ? `wasm, ${numThreads} threads` : 'wasm, 1 thread';
  return `ready: ${ok || 'no models'} (LiteRT.js ${engine})` +
    (errors.size ? `; ${errors.size} model(s) unavailable` : '');
}

const ready = (async () => {
  setState('loading');
  const result = await loadAll(WASM_URL, MODELS_URL, (text) => { $('status').textContent = `${text}…`; },
    { numThreads: NUM_THREADS });
  loaded = result;
  for (const input of document.querySelectorAll('input[name=scale]')) {
    const scale = Number(input.value);
    if (!result.bundles.has(scale)) {
      input.disabled = true;
      input.parentElement.classList.add('unavailable');
      input.parentElement.title = result.errors.get(scale)?.message || '';
    }
  }
  if (result.errors.size) showMessage([...result.errors.values()].map((e) => e.message).join('\n'));
  if (!result.bundles.size) {
    throw new Error(`No model could be loaded from ${MODELS_URL.href}: ` +
      [...result.errors.values()].map((e) => e.message).join(' '));
  }
  const checked = document.querySelector('input[name=scale]:checked');
  if (checked.disabled) document.querySelector('input[name=scale]:not(:disabled)').checked = true;
  $('status').textContent = describeLoad(result);
  setState(result.errors.size ? 'error' : 'ready');
  return {
    scales: [...result.bundles.keys()],
    errors: Object.fromEntries([...result.errors].map(([s, e]) => [s, e.message])),
    threads: result.threads,
    numThreads: result.numThreads,
  };
})();
ready.catch((error) => {
  $('status').textContent = 'not ready';
  fail(error);
});

async function bundleFor(scale) {
  if (!SCALES.includes(scale)) {
    throw new RangeError(`\`scale\` must be one of (${SCALES.join(', ')}). Received: scale=${scale}`);
  }
  await ready;
  const bundle = loaded.bundles.get(scale);
  if (!bundle) throw new Error(`The x${scale} model is unavailable: ${loaded.errors.get(scale).message}`);
  return bundle;
}

function checkImageData(image) {
  if (!image || typeof image.width !== 'number' || typeof image.height !== 'number' ||
      !(image.data instanceof Uint8ClampedArray) || image.data.length !== image.width * image.height * 4) {
    throw new TypeError('`imageData` must be an ImageData (or {data: Uint8ClampedArray RGBA, width, height}).');
  }
  if (image.width < 1 || image.height < 1) {
    throw new RangeError(`\`imageData\` is empty: ${image.width}x${image.height} pixels.`);
  }
}

/** Serialize runs: each waits for the previous one, whatever its outcome. */
function exclusive(job) {
  const run = queue.then(job, job);
  queue = run.catch(() => {});
  return run;
}

// ------------------------------------------------------------------ the JS API

window.kerasSr = {
  /** Resolves to {scales, errors, threads, numThreads} once the models are loaded; rejects when none loads. */
  ready,
  /**
   * Upscale RGBA pixels with the x`scale` model, tile by tile.
   * @param {ImageData} imageData the LR image.
   * @param {{scale?: number, onProgress?: (done: number, total: number) => void}} options
   * @returns {Promise<ImageData>} the SR image, scale times larger (alpha upscaled bicubically, as keras-sr upscale).
   */
  async upscale(imageData, { scale = 4, onProgress } = {}) {
    checkImageData(imageData);
    checkCanvasSize(imageData.width, imageData.height, scale);
    const bundle = await bundleFor(scale);
    return exclusive(async () => {
      const out = new ImageData(imageData.width * scale, imageData.height * scale);
      const sink = (block, x, y) => {
        for (let row = 0; row < block.height; row++) {
          out.data.set(block.data.subarray(row * block.width * 4, (row + 1) * block.width * 4),
            ((y + row) * out.width + x) * 4);
        }
      };
      await upscaleTiles(bundle, imageData, sink, onProgress);
      return out;
    });
  },
  /** Decode an image Blob/File to ImageData; rejects with a clear error for a file that is not an image. */
  decode: (blob) => decodeImage(blob),
  /** The page's own flow for a File: what dropping it does (resolves when the result is shown). */
  open: (file) => openFile(file),
};

// ------------------------------------------------------------------ the page

let current = null; // {image: ImageData, name}
let lastRun = null;

function selectedScale() {
  return Number(document.querySelector('input[name=scale]:checked').value);
}

async function openFile(file) {
  showMessage('');
  try {
    current = { image: await decodeImage(file), name: file.name || 'image' };
  } catch (error) {
    current = null;
    fail(error);
    throw error;
  }
  return runPage();
}

function drawBicubic(image, canvas, scale) {
  const src = new OffscreenCanvas(image.width, image.height);
  src.getContext('2d').putImageData(image, 0, 0);
  canvas.width = image.width * scale;
  canvas.height = image.height * scale;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
}

function runPage() {
  if (!current) return Promise.resolve();
  const { image, name } = current;
  const scale = selectedScale();
  return exclusive(async () => {
    try {
      checkCanvasSize(image.width, image.height, scale);
      const bundle = await bundleFor(scale);
      setState('running');
      showMessage('');
      $('download').disabled = true;
      const progress = $('progress');
      progress.hidden = false;
      progress.value = 0;
      const sr = $('sr');
      drawBicubic(image, $('bicubic'), scale);
      sr.width = image.width * scale;
      sr.height = image.height * scale;
      const ctx = sr.getContext('2d');
      ctx.clearRect(0, 0, sr.width, sr.height);
      $('compare').hidden = false;
      $('stats').textContent = `${name}: ${image.width}x${image.height} -> ${sr.width}x${sr.height}`;
      // Tiles go straight to the canvas: the page never holds the whole output as one array.
      const result = await upscaleTiles(bundle, image, (block, x, y) => ctx.putImageData(block, x, y),
        (done, total) => {
          progress.max = total;
          progress.value = done;
          $('status').textContent = `x${scale}: tile ${done} of ${total}`;
        });
      lastRun = { name, scale, ...result };
      $('stats').textContent = `${name}: ${image.width}x${image.height} -> ${result.width}x${result.height} ` +
        `(x${scale}) in ${result.seconds.toFixed(2)} s, ${result.tiles} tiles, ` +
        `${(result.tiles / result.seconds).toFixed(1)} tiles/s`;
      $('status').textContent = describeLoad(loaded);
      progress.hidden = true;
      $('download').disabled = false;
      setSlider(Number($('slider').value) / 1000);
      zoomAt(0.5, 0.5);
      setState('done');
      return lastRun;
    } catch (error) {
      fail(error);
      throw error;
    }
  });
}

// Comparison: keras-sr (on top) is shown right of the handle, bicubic left of it.
function setSlider(fraction) {
  const pct = `${(100 * Math.min(1, Math.max(0, fraction))).toFixed(2)}%`;
  $('sr').style.clipPath = `inset(0 0 0 ${pct})`;
  $('handle').style.left = pct;
  $('slider').value = String(Math.round(1000 * fraction));
}

function zoomAt(fx, fy) {
  const src = $('sr');
  const size = 64; // output pixels shown, 4x enlarged
  const x = Math.round(Math.min(Math.max(fx * src.width - size / 2, 0), Math.max(src.width - size, 0)));
  const y = Math.round(Math.min(Math.max(fy * src.height - size / 2, 0), Math.max(src.height - size, 0)));
  for (const [from, to] of [['bicubic', 'zoom-bicubic'], ['sr', 'zoom-sr']]) {
    const ctx = $(to).getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, 256, 256);
    ctx.drawImage($(from), x, y, size, size, 0, 0, 256, 256);
  }
}

function wire() {
  $('file').addEventListener('change', () => {
    const file = $('file').files[0];
    if (file) openFile(file).catch(() => {});
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) openFile(file).catch(() => {});
  });
  for (const input of document.querySelectorAll('input[name=scale]')) {
    input.addEventListener('change', () => runPage().catch(() => {}));
  }
  $('slider').addEventListener('input', () => setSlider(Number($('slider').value) / 1000));
  const view = $('view');
  let dragging = false;
  const at = (event) => {
    const box = view.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
  };
  view.addEventListener('pointerdown', (event) => {
    dragging = true;
    view.setPointerCapture(event.pointerId);
    const [fx, fy] = at(event);
    setSlider(fx);
    zoomAt(fx, fy);
  });
  view.addEventListener('pointermove', (event) => { if (dragging) setSlider(at(event)[0]); });
  view.addEventListener('pointerup', () => { dragging = false; });
  $('download').addEventListener('click', () => {
    $('sr').toBlob((blob) => {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${(lastRun?.name || 'image').replace(/\.[^.]+$/, '')}_x${lastRun?.scale || ''}.png`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, 'image/png');
  });
}

wire();
