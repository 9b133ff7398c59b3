"""The browser page's speed against Python on the same machine, in the same run.

    python benchmarks/web_speed.py [--tile 128] [--runs 3] [--input 320x180] [--threads N] [--json FILE]

One x4 web bundle (fd_irb_edge_x4, frozen at --tile, as `keras-sr web` exports it) upscales
one real LR image of --input size (the centre of Set14's first image, resized):

* in headless Chromium (/usr/bin/chromium via puppeteer-core), through the page's
  `window.kerasSr.upscale` (LiteRT.js wasm, the threaded build when the page is
  cross-origin isolated, which `keras-sr web` makes it), served by `keras_sr.web`;
* in Python with ai-edge-litert (`keras_sr.lite` through `keras_sr.upscale.upscale_image`,
  XNNPACK) with as many threads as the page got, the same tiles and overlap.

Each side runs once to warm up, then --runs times (Python half before and half after the
browser, so a change in the machine's load falls on both); the medians are reported with the
ratio browser / Python, the CPU model, the load average and the date. Needs `npm ci` in tflite/web. Measures only:
no test asserts these numbers.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from model_card import cpu_name  # noqa: E402  (benchmarks/, the script's folder, is on sys.path)
DATA = Path(os.environ.get("KERAS_SR_DATA", REPO.parent / "shared" / "datasets"))
SCALE = 4


def test_image(width, height) -> np.ndarray:
    """uint8 (height, width, 3): a real photo's centre crop, resized to the LR size."""
    from PIL import Image

    folder = DATA / "Set14"
    files = sorted(p for p in folder.glob("*.png")) if folder.is_dir() else []
    if not files:
        raise SystemExit(f"no Set14 images under {folder}; set KERAS_SR_DATA")
    im = Image.open(files[0]).convert("RGB")
    side = min(im.width / width, im.height / height)
    cw, ch = int(width * side), int(height * side)
    box = ((im.width - cw) // 2, (im.height - ch) // 2, (im.width - cw) // 2 + cw, (im.height - ch) // 2 + ch)
    return np.asarray(im.crop(box).resize((width, height), Image.BICUBIC), np.uint8)


def python_times(model_path, lr, runs, num_threads):
    from keras_sr.upscale import load_predictor, upscale_image

    predictor = load_predictor(tflite=model_path, num_threads=num_threads)
    rgb = lr.astype(np.float32) / 255.0
    overlap = json.loads((Path(model_path).parent / "model.json").read_text())["overlap"]
    upscale_image(predictor, rgb, overlap=overlap, dtype=np.uint8)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        sr, _ = upscale_image(predictor, rgb, overlap=overlap, dtype=np.uint8)
        times.append(time.perf_counter() - start)
    return times, sr


def browser_times(url, lr, runs, folder):
    rgba = np.concatenate([lr, np.full(lr.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    raw = Path(folder) / "lr.rgba"
    raw.write_bytes(rgba.tobytes())
    proc = subprocess.run(["node", "bench/speed.mjs", url, str(raw), str(lr.shape[1]), str(lr.shape[0]), str(SCALE),
                           str(runs)], cwd=REPO / "tflite" / "web", capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"the browser run failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tile", type=int, default=128, help="LR tile of the bundle (default 128, keras-sr web's)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side after one warm-up (default 3)")
    parser.add_argument("--input", default="320x180", help="LR size WIDTHxHEIGHT (default 320x180)")
    parser.add_argument("--threads", type=int, help="interpreter threads on both sides (default: the page's, "
                        "the cores up to 8)")
    parser.add_argument("--json", help="also write the record to this file")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.input.lower().split("x"))

    from keras_sr.web import ensure_bundles, make_server

    lr = test_image(width, height)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="keras_sr_web_speed_") as folder:
        models = Path(folder) / "models"
        ensure_bundles(models, tile=args.tile, log=lambda *a: None)
        server = make_server(models, port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/" + (f"?threads={args.threads}" if args.threads else "")
            threads = args.threads or min(os.cpu_count() or 1, 8)
            py_times, _ = python_times(models / "x4" / "model.tflite", lr, (args.runs + 1) // 2, threads)
            browser = browser_times(url, lr, args.runs, folder)
        finally:
            server.shutdown()
            server.server_close()
        more, _ = python_times(models / "x4" / "model.tflite", lr, args.runs // 2 or 1, browser["num_threads"])
        py_times += more

    web_s, py_s = statistics.median(browser["seconds"]), statistics.median(py_times)
    record = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_name(), "cores": os.cpu_count(), "input": f"{width}x{height}", "scale": SCALE,
        "tile": args.tile, "tiles": browser["tiles"], "runs": args.runs,
        "browser": {"chromium": browser["chromium"], "threads": browser["threads"],
                    "num_threads": browser["num_threads"], "median_s": round(web_s, 3),
                    "seconds": [round(t, 3) for t in browser["seconds"]]},
        "python": {"runtime": "ai-edge-litert (XNNPACK)", "num_threads": browser["num_threads"],
                   "median_s": round(py_s, 3), "seconds": [round(t, 3) for t in py_times]},
        "ratio_browser_over_python": round(web_s / py_s, 2),
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "command": "python benchmarks/web_speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(f"{record['date']}  {record['cpu']} ({record['cores']} cores), 1-min load average "
          f"{record['load_average_1min'][0]} before, {record['load_average_1min'][1]} after")
    print(f"x4 {width}x{height} -> {SCALE * width}x{SCALE * height}, tile {args.tile}, {browser['tiles']} tiles, "
          f"{browser['num_threads']} thread(s), median of {args.runs} runs:")
    print(f"  browser  LiteRT.js wasm ({browser['chromium']}, threads={browser['threads']}): {web_s:.3f} s")
    print(f"  python   ai-edge-litert XNNPACK:                            {py_s:.3f} s")
    print(f"  ratio browser / python: {web_s / py_s:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return record


if __name__ == "__main__":
    main()
