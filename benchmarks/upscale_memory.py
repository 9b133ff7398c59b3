"""Peak memory of `keras-sr upscale --tile` on a large image, against the goal.

    python benchmarks/upscale_memory.py            # writes benchmarks/results/upscale_memory.{json,md}
    python benchmarks/upscale_memory.py --source OTHER_CHECKOUT --label before   # another version of keras-sr

The input is a 3000x2000 LR image: a mosaic of real Urban100 images ($KERAS_SR_DATA; a smooth
synthetic image where the data is absent). Each case is one `python -m keras_sr upscale` child
process with the shipped x4 int8 model and 256-pixel tiles; its peak resident memory is the
child's own ru_maxrss (os.wait4), so the benchmark's memory is not counted. The goal: the peak
stays below 1.3 times the uint8 output (12000x8000x3 bytes = 288 MB) plus 300 MB.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_sr.data.imageio import list_images, load_image  # noqa: E402
from keras_sr.paths import data_root  # noqa: E402
from model_card import cpu_name  # noqa: E402  (benchmarks/, the script's folder, is on sys.path)

RESULTS = REPO / "benchmarks" / "results"
LR_SIZE = (2000, 3000)  # (H, W)
SCALE = 4
TILE = 256
GOAL_OUTPUT_FACTOR, GOAL_MARGIN_BYTES = 1.3, 300e6


def mosaic(h, w):
    """An (h, w, 3) uint8 image tiled from real Urban100 images, or a synthetic one without data."""
    folder = data_root() / "Urban100"
    if not folder.is_dir():
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([np.sin(xx / (37 + 9 * c)) * np.cos(yy / (23 + 7 * c)) for c in range(3)], -1)
        return ((img * 0.45 + 0.5) * 255).astype(np.uint8), "synthetic (no Urban100 under $KERAS_SR_DATA)"
    out = np.zeros((h, w, 3), np.uint8)
    images = iter(list_images(folder, "Urban100") * 100)
    y = 0
    while y < h:
        x, row_h = 0, 0
        while x < w:
            tile = load_image(next(images))
            th, tw = min(tile.shape[0], h - y), min(tile.shape[1], w - x)
            out[y : y + th, x : x + tw] = tile[:th, :tw]
            x, row_h = x + tw, max(row_h, th)
        y += row_h
    return out, "mosaic of Urban100 images"


def run_case(source, lr_path, out_path):
    """(peak RSS bytes, seconds, exit code, stderr tail) of one upscale child process."""
    command = [sys.executable, "-m", "keras_sr", "upscale", str(lr_path), "-o", str(out_path), "--model",
               f"fd_irb_edge_x{SCALE}", "--tile", str(TILE), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(source))
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, seconds, child.returncode, err[-400:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO, help="the keras-sr checkout to measure (default: this one)")
    parser.add_argument("--label", help="name of this measurement in the results (default: the source's git commit)")
    parser.add_argument("--formats", nargs="+", default=[".png", ".jpg"], help="output suffixes to measure")
    args = parser.parse_args(argv)
    if args.label is None:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.source, capture_output=True, text=True)
        args.label = head.stdout.strip() or "this checkout"

    h, w = LR_SIZE
    output_bytes = h * w * SCALE * SCALE * 3
    goal = GOAL_OUTPUT_FACTOR * output_bytes + GOAL_MARGIN_BYTES
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_sr_memory_") as scratch:
        lr, content = mosaic(h, w)
        lr_path = Path(scratch) / "lr.png"
        Image.fromarray(lr).save(lr_path)
        del lr
        for suffix in args.formats:
            peak, seconds, code, err = run_case(args.source.resolve(), lr_path, Path(scratch) / f"sr{suffix}")
            row = {"label": args.label, "output": suffix, "exit_code": code, "peak_rss_bytes": peak,
                   "seconds": round(seconds, 1), "peak_over_output": round(peak / output_bytes, 2),
                   "meets_goal": code == 0 and peak < goal}
            if code != 0:
                row["stderr"] = err
            rows.append(row)
            print(f"{args.label} {suffix}: exit {code}, peak {peak / 1e6:,.0f} MB ({peak / output_bytes:.2f} x the "
                  f"output), {seconds:.0f} s; goal < {goal / 1e6:,.0f} MB: {'met' if row['meets_goal'] else 'NOT met'}")
    facts = {"date": datetime.date.today().isoformat(), "cpu": cpu_name(), "cores": os.cpu_count(),
             "input": f"{w}x{h} LR, {content}", "scale": SCALE, "tile": TILE,
             "model": f"fd_irb_edge_x{SCALE} (int8)", "output_bytes": output_bytes, "goal_bytes": int(goal),
             "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "upscale_memory.json"
    previous = json.loads(path.read_text())["rows"] if path.is_file() else []
    facts["rows"] = [r for r in previous if r["label"] != args.label] + rows
    path.write_text(json.dumps(facts, indent=2) + "\n")
    lines = [f"# Peak memory of `keras-sr upscale --tile {TILE}`, {w}x{h} LR x{SCALE}",
             "", f"{facts['date']}, {facts['cpu']} ({facts['cores']} cores); input: {facts['input']}; "
             f"output {output_bytes / 1e6:.0f} MB as uint8; goal: peak < 1.3 x output + 300 MB = {goal / 1e6:,.0f} MB.",
             "", "| version | output | peak RSS | peak / output | time | goal |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['output']} | {r['peak_rss_bytes'] / 1e6:,.0f} MB | {r['peak_over_output']} | "
              f"{r['seconds']} s | {'met' if r['meets_goal'] else 'not met'} |" for r in facts["rows"]]
    (RESULTS / "upscale_memory.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(REPO)} and upscale_memory.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
