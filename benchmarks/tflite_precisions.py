"""Keras float vs TFLite float32 / float16 / dynamic-range / int8, XNNPACK on and off.

    python benchmarks/tflite_precisions.py [--models fd_irb split ...] [--runs 3] [--input 320x180]

For each network at x4: latency at a 320x180 input (1280x720 output) with 2 threads,
file size, PSNR of the output against the Keras float model on Set5 (LR centre crops of
at most 128 px, `keras_sr.convert.verify`) and achieved G Multi-Adds/s. Weights: the
ported PyTorch reference weights where they exist (fd_irb, split, rdcab_recursive; the
reference vectors hold seeded initialisations, not trained weights), a shipped
pretrained model where there is one, else seeded random init (rdn: the reference file is
the reduced rdn_small, so the full RDN runs with random weights). int8 is calibrated on 32
real patches from the training images. Results: benchmarks/results/tflite_precisions.{json,md}.

Peak of this CPU (2 cores of an AVX-512 VNNI Xeon at 2.6 GHz): int8 VPDPBUSD on zmm does
64 u8 x s8 multiply-adds per instruction; with 2 such ports per core that is 128 MACs per
cycle per core, so 2 x 128 x 2.6e9 = 666 G int8 Multi-Adds/s. Float32 FMA on zmm is 16
MACs, 2 ports: 2 x 32 x 2.6e9 = 166 G Multi-Adds/s. (AMX tiles would go higher; XNNPACK
does not use them here.)
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from keras_sr import checkpoints, models, port, profile
from keras_sr.cli.common import parse_wxh
from keras_sr.convert import convert_model, verify
from keras_sr.fileio import write_text
from keras_sr.lite import TFLiteSR

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KERAS_SR_DATA", REPO.parent / "shared" / "datasets"))
REFERENCE = Path(os.environ.get("KERAS_SR_REFERENCE", REPO.parent / "shared" / "reference"))
RESULTS = REPO / "benchmarks" / "results"
PRECISIONS = ("float32", "float16", "dynamic", "int8")
PEAK_GMACS = {"int8": 666.0, "float32": 166.0}


def load(name):
    reference = REFERENCE / f"{name}_x4.npz"
    if reference.exists():
        return port.port(reference, name, 4), "ported reference weights (seeded init)"
    shipped = REPO / "keras_sr" / "pretrained" / f"{name}_x4.weights.h5"
    if shipped.exists():
        return checkpoints.load_model(shipped)[0], "shipped pretrained weights"
    from keras_sr._keras import keras

    keras.utils.set_random_seed(0)
    return models.build(name, 4), "random init (seed 0)"


def time_runs(predict, x, runs, warmup=1):
    for _ in range(warmup):
        predict(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def measure(name, input_hw, runs):
    model, weights = load(name)
    height, width = input_hw
    # Trainable layers only (the paper's convention; profile counts the fixed bicubic conv apart).
    macs = profile.profile_model(model, input_hw=(height, width))["multi_adds"]
    x = np.random.default_rng(0).random((1, height, width, 3), dtype=np.float32)
    rows = [{"variant": "Keras float32", "ms": time_runs(lambda a: model(a, training=False), x, runs), "bytes": None, "psnr_vs_float": None}]
    with tempfile.TemporaryDirectory() as tmp:
        for precision in PRECISIONS:
            data = convert_model(model, precision, calibration=DATA / "train" / "BSD200_first50", calibration_samples=32, scale=4)
            path = Path(tmp) / f"{name}_{precision}.tflite"
            path.write_bytes(data)
            report = verify(path, model, precision, DATA / "Set5", 4, max_images=5)
            psnr = (report.get("eval") or {}).get("psnr_vs_keras")
            for xnnpack in (True, False):
                runtime = TFLiteSR(path, num_threads=2, use_xnnpack=xnnpack)
                rows.append({
                    "variant": f"TFLite {precision}, XNNPACK {'on' if xnnpack else 'off'}",
                    "ms": time_runs(runtime.predict, x[0], runs),
                    "bytes": len(data),
                    "psnr_vs_float": psnr,
                    "ok": report["ok"],
                    "problems": report["problems"],
                })
    for row in rows:
        row["gmacs_per_s"] = macs / 1e9 / (row["ms"] / 1000)
    return {"model": name, "weights": weights, "multi_adds": macs, "input": f"{width}x{height}", "rows": rows}


def table(results):
    lines = []
    for result in results:
        lines += [
            f"**{result['model']}** x4, {result['input']} input, {result['multi_adds'] / 1e9:.1f} G Multi-Adds, {result['weights']}",
            "",
            "| variant | latency ms | G Multi-Adds/s | file MB | PSNR vs Keras float (Set5) |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in result["rows"]:
            size = f"{row['bytes'] / 1e6:.2f}" if row["bytes"] else "—"
            psnr = f"{row['psnr_vs_float']:.1f} dB" if row["psnr_vs_float"] else "—"
            flag = "" if row.get("ok", True) else " (failed its checks: " + "; ".join(row["problems"])[:80] + ")"
            lines.append(f"| {row['variant']}{flag} | {row['ms']:.0f} | {row['gmacs_per_s']:.0f} | {size} | {psnr} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["fd_irb_edge", "fd_irb", "split", "rdcab_recursive", "rdn"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--input", default="320x180")
    args = parser.parse_args(argv)
    path = RESULTS / "tflite_precisions.json"
    results = {r["model"]: r for r in json.loads(path.read_text())} if path.exists() else {}
    for name in args.models:
        print(f"measuring {name} ...", flush=True)
        results[name] = measure(name, parse_wxh(args.input), args.runs)
        RESULTS.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(list(results.values()), indent=2))
        write_text(RESULTS / "tflite_precisions.md", table(results.values()))
    print(table(results.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
