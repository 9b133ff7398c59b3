"""Choose the edge network by measurement: train every candidate with one fixed CPU budget.

    python benchmarks/edge_sweep.py train      # stage 1: equal-budget training (resumable)
    python benchmarks/edge_sweep.py measure    # stage 2: float/int8 PSNR, QAT, first latency
    python benchmarks/edge_sweep.py latency    # stage 3: int8 latency again, on a quiet machine
    python benchmarks/edge_sweep.py table      # print the Markdown table from the results

Every candidate is a configuration of the registered `fd_irb` builder (the structured
reductions it exposes: width, dense layers, recursions, attention statistic, tail), plus
`fd_irb` itself at the paper configuration. All rows use the same budget (BUDGET below):
equal steps, batch, patch, learning rate and schedule, the same seed and data.

Runs go to runs/sweep/<candidate>/ (not committed); the table goes to
benchmarks/results/edge_sweep.{json,md}. Each stage skips work whose outputs exist.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KERAS_SR_DATA", REPO.parent / "shared" / "datasets"))
RUNS = REPO / "runs" / "sweep"
RESULTS = REPO / "benchmarks" / "results"
TRAIN_H5 = REPO / "runs" / "data" / "train_x4.h5"

BUDGET = dict(epochs=3, steps_per_epoch=100, batch_size=16, patch_size=32, lr=1e-3, lr_schedule="constant", seed=0)
QAT_STEPS = 100
CALIBRATION_SAMPLES = 32
# QAT costs ~3x a float training step on this CPU; it runs for the sweep winner only.
QAT_FOR = ("F64 C5 U2 mean direct",)

CANDIDATES = {
    "fd_irb (paper)": {},
    "F48 C6 U3 mean direct": dict(num_features=48, num_layers=6, recursions=3, attention="mean", tail="direct"),
    "F48 C6 U3 contrast direct": dict(num_features=48, num_layers=6, recursions=3, attention="contrast", tail="direct"),
    "F64 C5 U2 mean direct": dict(num_features=64, num_layers=5, recursions=2, attention="mean", tail="direct"),
    "F32 C8 U3 mean irb16": dict(num_features=32, num_layers=8, recursions=3, attention="mean", irb_features=16),
}


def slug(name):
    return name.replace(" ", "_").replace("(", "").replace(")", "")


def set_args(config):
    args = []
    for key, value in config.items():
        args += ["--set", f"{key}={value}"]
        if key == "num_features":
            args += ["--set", f"growth_rate={value}"]
    return args


def run(cmd):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, cwd=REPO, capture_output=False)


def run_json(cmd):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    out = subprocess.run([str(c) for c in cmd], check=True, cwd=REPO, capture_output=True, text=True).stdout
    return json.loads(out[out.index("{") :])


def prepare_train_data():
    """One HDF5 of whole images: T91 + BSD200_first50, minus the 7 T91 images under 128 px."""
    if TRAIN_H5.exists():
        return
    from PIL import Image

    folder = TRAIN_H5.parent / "train_images"
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted((DATA / "train").glob("*/*.png")):
        if min(Image.open(source).size) >= BUDGET["patch_size"] * 4:
            target = folder / source.name
            if not target.exists():
                target.symlink_to(source)
    run([sys.executable, "-m", "keras_sr.prepare", "--images-dir", folder, "--output-path", TRAIN_H5, "--scale", 4, "--eval"])


def train_stage(names):
    prepare_train_data()
    for name in names:
        out = RUNS / slug(name)
        history = out / "history.json"
        if history.exists() and len(json.loads(history.read_text())) >= BUDGET["epochs"]:
            continue
        cmd = [sys.executable, "-m", "keras_sr.train", "--model", "fd_irb", "--scale", 4, *set_args(CANDIDATES[name])]
        cmd += ["--train", TRAIN_H5, "--eval", DATA / "Set5", "--output-dir", out]
        for key, value in BUDGET.items():
            cmd += [f"--{key.replace('_', '-')}", value]
        cmd += ["--resume"] if (out / "config.json").exists() else []
        run(cmd)


def measure_stage(names):
    results = json.loads((RESULTS / "edge_sweep.json").read_text()) if (RESULTS / "edge_sweep.json").exists() else {}
    for name in names:
        out = RUNS / slug(name)
        row = results.setdefault(name, {})
        weights = out / "best.weights.h5"
        if "params" not in row:
            row.update(run_json([sys.executable, "-m", "keras_sr", "profile", "--model", "fd_irb", *set_args(CANDIDATES[name]), "--json"]))
            row.pop("stages", None)
        if "float" not in row:
            row["float"] = run_json([sys.executable, "-m", "keras_sr", "evaluate", "--weights", weights, "--eval", "Set5", "Set14", "--data-root", DATA, "--json"])
        for kind, source in (("ptq", weights), ("qat", out / "qat" / "optimized.weights.h5")):
            if kind == "qat" and name not in QAT_FOR:
                continue
            if kind == "qat" and not source.exists():
                run([sys.executable, "-m", "keras_sr.optimize", "--weights", weights, "--qat", "--steps", QAT_STEPS,
                     "--train", TRAIN_H5, "--eval", DATA / "Set5", "--output-dir", out / "qat", "--lr", 1e-4])
            tflite = out / f"{kind}_int8.tflite"
            if not tflite.exists():
                run([sys.executable, "-m", "keras_sr.convert", "--weights", source, "--int8", "--calibration", TRAIN_H5,
                     "--calibration-samples", CALIBRATION_SAMPLES, "-o", tflite])
            if kind not in row:
                row[kind] = run_json([sys.executable, "tflite/benchmark.py", "--tflite", tflite, "--num-threads", 2, "--input", "320x180",
                                      "--runs", 5, "--eval", "Set5", "Set14", "--data-root", DATA, "--json"])
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "edge_sweep.json").write_text(json.dumps(results, indent=2))
    return results


def latency_stage(names):
    """Re-times every int8 model back to back (run it when nothing else is running)."""
    results = json.loads((RESULTS / "edge_sweep.json").read_text())
    for name in names:
        tflite = RUNS / slug(name) / "ptq_int8.tflite"
        if name in results and tflite.exists():
            timing = run_json([sys.executable, "tflite/benchmark.py", "--tflite", tflite, "--num-threads", 2, "--input", "320x180", "--runs", 10,
                               "--json"])
            results[name]["latency"] = timing["latency_ms"]
    (RESULTS / "edge_sweep.json").write_text(json.dumps(results, indent=2))
    return results


def table(results):
    lines = [
        f"Budget per row: {BUDGET['epochs'] * BUDGET['steps_per_epoch']} steps, batch {BUDGET['batch_size']}, LR patch "
        f"{BUDGET['patch_size']}, Adam lr {BUDGET['lr']} {BUDGET['lr_schedule']}, seed {BUDGET['seed']}, "
        f"T91+BSD200_first50 x4; QAT {QAT_STEPS} steps at lr 1e-4 (winner only: QAT costs ~3x a float step here). "
        f"int8: full-integer PTQ calibrated on {CALIBRATION_SAMPLES} training patches; latency: TFLite + XNNPACK, "
        "2 threads, 320x180 input.",
        "",
        "| candidate | params | G Multi-Adds | int8 ms | Set5 float | Set14 float | Set5 PTQ | Set14 PTQ | Set5 QAT | Set14 QAT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        def psnr(kind, dataset):
            try:
                return f"{row[kind]['datasets'][dataset]['psnr']:.2f}"
            except (KeyError, TypeError):
                return "—"
        ms = (row.get("latency") or row.get("ptq", {}).get("latency_ms", {})).get("median")
        lines.append(
            f"| {name} | {row.get('params', 0):,} | {row.get('multi_adds', 0) / 1e9:.1f} | {ms and f'{ms:.0f}' or '—'} | "
            f"{psnr('float', 'Set5')} | {psnr('float', 'Set14')} | {psnr('ptq', 'Set5')} | {psnr('ptq', 'Set14')} | "
            f"{psnr('qat', 'Set5')} | {psnr('qat', 'Set14')} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("train", "measure", "latency", "table"))
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="candidates to run (default: all)")
    args = parser.parse_args(argv)
    names = args.only or list(CANDIDATES)
    if args.stage == "train":
        train_stage(names)
    elif args.stage == "measure":
        results = measure_stage(names)
        (RESULTS / "edge_sweep.md").write_text(table(results) + "\n")
        print(table(results))
    elif args.stage == "latency":
        results = latency_stage(names)
        (RESULTS / "edge_sweep.md").write_text(table(results) + "\n")
        print(table(results))
    else:
        print(table(json.loads((RESULTS / "edge_sweep.json").read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
