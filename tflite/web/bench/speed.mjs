// Time window.kerasSr.upscale in headless Chromium: node bench/speed.mjs URL RGBA_FILE WIDTH HEIGHT SCALE RUNS
// Prints one JSON line: {seconds: [...], tiles, threads, num_threads, chromium}. Used by benchmarks/web_speed.py.
import { readFileSync } from 'node:fs';

import { launchChromium, openPage, toBase64 } from '../testing/harness.js';

const [url, rgbaPath, width, height, scale, runs] = process.argv.slice(2);
const browser = await launchChromium();
try {
  const page = await openPage(browser, url);
  const info = await page.evaluate(() => window.kerasSr.ready);
  const result = await page.evaluate(async (b64, w, h, s, n) => {
    const raw = Uint8ClampedArray.from(atob(b64), (c) => c.charCodeAt(0));
    const image = new ImageData(raw, w, h);
    const seconds = [];
    let tiles = 0;
    for (let i = 0; i < n + 1; i++) { // the first run warms up (XNNPACK packs weights) and is not counted
      const t0 = performance.now();
      await window.kerasSr.upscale(image, { scale: s, onProgress: (_, total) => { tiles = total; } });
      if (i > 0) seconds.push((performance.now() - t0) / 1000);
    }
    return { seconds, tiles };
  }, toBase64(readFileSync(rgbaPath)), Number(width), Number(height), Number(scale), Number(runs));
  console.log(JSON.stringify({ ...result, threads: info.threads, num_threads: info.numThreads,
    chromium: await browser.version() }));
} finally {
  await browser.close();
}
