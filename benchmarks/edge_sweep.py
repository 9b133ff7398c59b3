"""Choose a network by measurement: train every candidate of a sweep with one fixed CPU budget.

    python benchmarks/edge_sweep.py train      # stage 1: equal-budget training (resumable)
    python benchmarks/edge_sweep.py measure    # stage 2: float/int8 PSNR, QAT, first latency
    python benchmarks/edge_sweep.py latency    # stage 3: int8 latency again, on a quiet machine
    python benchmarks/edge_sweep.py table      # print the Markdown table from the results
    python benchmarks/edge_sweep.py --sweep realtime train   # the real-time tier's sweep (issue 18)

Two sweeps: `edge` chose the edge network (`fd_irb_edge`); `realtime` looks for the real-time
tier, whose int8 latency must be at most a third of the shipped `fd_irb_edge_x4`'s: its latency
stage times the candidates and that file interleaved, in one run, and gives the ratio.

Every candidate is a configuration of the registered `fd_irb` builder (the structured
reductions it exposes: width, dense layers, recursions, attention statistic, tail), plus
`fd_irb` itself at the paper configuration in the edge sweep. All rows of a sweep use the same
budget: equal steps, batch, patch, learning rate and schedule, the same seed and data.

Runs go to runs/sweep/<candidate>/ (edge) or runs/sweep_realtime/<candidate>/ (not committed);
the tables go to benchmarks/results/<sweep>_sweep.{json,md}. Each stage skips work whose outputs exist.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
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


#: The real-time tier (issue 18): narrower and shallower than the edge network, trained on the 291 set.
REALTIME_CANDIDATES = {
    "F24 C4 U2 mean direct": dict(num_features=24, num_layers=4, recursions=2, attention="mean", tail="direct"),
    "F32 C4 U2 mean direct": dict(num_features=32, num_layers=4, recursions=2, attention="mean", tail="direct"),
    "F40 C4 U2 mean direct": dict(num_features=40, num_layers=4, recursions=2, attention="mean", tail="direct"),
    "F32 C5 U3 mean direct": dict(num_features=32, num_layers=5, recursions=3, attention="mean", tail="direct"),
    "F48 C4 U1 mean direct": dict(num_features=48, num_layers=4, recursions=1, attention="mean", tail="direct"),
}
REALTIME_BUDGET = dict(epochs=2, steps_per_epoch=500, batch_size=16, patch_size=40, lr=1e-3, lr_schedule="cosine",
                       warmup_steps=100, mixed_precision="bfloat16", seed=0)
TRAIN291_H5 = REPO / "runs" / "data" / "train291_ms6_x4.h5"
TRAIN291_PREPARE = REPO / "keras_sr" / "pretrained" / "configs" / "fd_irb_micro_x4" / "01_prepare_train291_ms6_x4.json"


@dataclass
class Sweep:
    name: str
    candidates: dict
    budget: dict
    train_h5: Path
    data: str
    qat_for: tuple = ()
    reference: str | None = None  # a shipped preset timed beside the candidates (latency ratio)
    runs: Path = field(default=None)

    def __post_init__(self):
        self.runs = self.runs or REPO / "runs" / ("sweep" if self.name == "edge" else f"sweep_{self.name}")
        self.results = RESULTS / f"{self.name}_sweep.json"


SWEEPS = {
    "edge": Sweep("edge", CANDIDATES, BUDGET, TRAIN_H5, "T91+BSD200_first50 x4", QAT_FOR),
    "realtime": Sweep("realtime", REALTIME_CANDIDATES, REALTIME_BUDGET, TRAIN291_H5,
                      "the 291 set (T91 + BSD200) at six sizes x4", reference="fd_irb_edge_x4"),
}


def portable(value):
    """`value` with this checkout's and the data root's absolute paths written as relative / $KERAS_SR_DATA."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str):
        return value.replace(str(DATA.resolve()), "$KERAS_SR_DATA").replace(str(DATA), "$KERAS_SR_DATA").replace(
            str(REPO) + "/", "")
    return value


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


def prepare_train_data(sweep):
    """The sweep's training HDF5: edge, T91 + BSD200_first50 minus the 7 T91 images under 128 px;
    realtime, the 291 set as the micro preset's stage config writes it."""
    if sweep.train_h5.exists():
        return
    if sweep.train_h5 == TRAIN291_H5:
        run([sys.executable, "-m", "keras_sr", "prepare", "--config", TRAIN291_PREPARE])
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


def train_stage(sweep, names):
    prepare_train_data(sweep)
    for name in names:
        out = sweep.runs / slug(name)
        history = out / "history.json"
        if history.exists() and len(json.loads(history.read_text())) >= sweep.budget["epochs"]:
            continue
        cmd = [sys.executable, "-m", "keras_sr.train", "--model", "fd_irb", "--scale", 4, *set_args(sweep.candidates[name])]
        cmd += ["--train", sweep.train_h5, "--eval", DATA / "Set5", "--output-dir", out]
        for key, value in sweep.budget.items():
            cmd += [f"--{key.replace('_', '-')}", value]
        cmd += ["--resume"] if (out / "config.json").exists() else []
        run(cmd)


def measure_stage(sweep, names):
    results = json.loads(sweep.results.read_text()) if sweep.results.exists() else {}
    for name in names:
        out = sweep.runs / slug(name)
        row = results.setdefault(name, {})
        weights = out / "best.weights.h5"
        if "params" not in row:
            row.update(run_json([sys.executable, "-m", "keras_sr", "profile", "--model", "fd_irb",
                                 *set_args(sweep.candidates[name]), "--json"]))
            row.pop("stages", None)
        if "float" not in row:
            row["float"] = run_json([sys.executable, "-m", "keras_sr", "evaluate", "--weights", weights, "--eval", "Set5", "Set14", "--data-root", DATA, "--json"])
        for kind, source in (("ptq", weights), ("qat", out / "qat" / "optimized.weights.h5")):
            if kind == "qat" and name not in sweep.qat_for:
                continue
            if kind == "qat" and not source.exists():
                run([sys.executable, "-m", "keras_sr.optimize", "--weights", weights, "--qat", "--steps", QAT_STEPS,
                     "--train", sweep.train_h5, "--eval", DATA / "Set5", "--output-dir", out / "qat", "--lr", 1e-4])
            tflite = out / f"{kind}_int8.tflite"
            if not tflite.exists():
                try:
                    run([sys.executable, "-m", "keras_sr.convert", "--weights", source, "--int8", "--calibration",
                         sweep.train_h5, "--calibration-samples", CALIBRATION_SAMPLES, "-o", tflite])
                except subprocess.CalledProcessError:
                    # convert refused the file (e.g. XNNPACK cannot run it): the row says so instead of a score
                    row[kind] = {"error": f"keras-sr convert refused the {kind} int8 file (see {tflite.name}.rejected.json)"}
                    continue
            if kind not in row or "error" in row[kind]:
                row[kind] = run_json([sys.executable, "tflite/benchmark.py", "--tflite", tflite, "--num-threads", 2, "--input", "320x180",
                                      "--runs", 5, "--eval", "Set5", "Set14", "--data-root", DATA, "--json"])
        RESULTS.mkdir(parents=True, exist_ok=True)
        sweep.results.write_text(json.dumps(portable(results), indent=2))
    return results


def latency_stage(sweep, names, rounds=3):
    """Re-times every int8 model, and the sweep's reference preset, in `rounds` interleaved rounds of 5
    timed runs each (median of the round medians); run it when nothing else is running."""
    from keras_sr import presets

    results = json.loads(sweep.results.read_text())
    files = {name: sweep.runs / slug(name) / "ptq_int8.tflite" for name in names}
    files = {name: path for name, path in files.items() if name in results and path.exists()}
    if sweep.reference:
        files[sweep.reference] = presets.get(sweep.reference).tflite
    medians = {name: [] for name in files}
    for _ in range(rounds):
        for name, tflite in files.items():
            timing = run_json([sys.executable, "tflite/benchmark.py", "--tflite", tflite, "--num-threads", 2,
                               "--input", "320x180", "--runs", 5, "--json"])
            medians[name].append(timing["latency_ms"]["median"])
    for name, values in medians.items():
        results.setdefault(name, {})["latency"] = {"median": statistics.median(values), "round_medians": values}
    sweep.results.write_text(json.dumps(portable(results), indent=2))
    return results


def table(sweep, results):
    budget = sweep.budget
    extra = f", {budget['mixed_precision']} mixed precision" if budget.get("mixed_precision") else ""
    qat = (f"; QAT {QAT_STEPS} steps at lr 1e-4 (winner only: QAT costs ~3x a float step here)"
           if sweep.qat_for else "")
    lines = [
        f"Budget per row: {budget['epochs'] * budget['steps_per_epoch']} steps, batch {budget['batch_size']}, LR patch "
        f"{budget['patch_size']}, Adam lr {budget['lr']} {budget['lr_schedule']}{extra}, seed {budget['seed']}, "
        f"{sweep.data}{qat}. int8: full-integer PTQ calibrated on {CALIBRATION_SAMPLES} training patches; latency: "
        "TFLite + XNNPACK, 2 threads, 320x180 input."
        + (f" Latency ratio: against the shipped `{sweep.reference}` int8 file, timed interleaved in the same run "
           "(the real-time tier needs at most 0.33)." if sweep.reference else ""),
        "",
        "| candidate | params | G Multi-Adds | int8 ms | Set5 float | Set14 float | Set5 PTQ | Set14 PTQ | Set5 QAT | Set14 QAT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if sweep.reference:
        lines[-2] = lines[-2].replace("| int8 ms |", "| int8 ms | latency / edge |")
        lines[-1] = lines[-1].replace("|---:|---:|---:|", "|---:|---:|---:|---:|", 1)
    reference_ms = results.get(sweep.reference, {}).get("latency", {}).get("median") if sweep.reference else None
    for name, row in results.items():
        if name == sweep.reference:
            continue
        def psnr(kind, dataset):
            try:
                return f"{row[kind]['datasets'][dataset]['psnr']:.2f}"
            except (KeyError, TypeError):
                return "—"
        ms = (row.get("latency") or row.get("ptq", {}).get("latency_ms", {})).get("median")
        ratio = f" {ms / reference_ms:.2f} |" if ms and reference_ms else " — |" if sweep.reference else ""
        lines.append(
            f"| {name} | {row.get('params', 0):,} | {row.get('multi_adds', 0) / 1e9:.1f} | {ms and f'{ms:.0f}' or '—'} |{ratio} "
            f"{psnr('float', 'Set5')} | {psnr('float', 'Set14')} | {psnr('ptq', 'Set5')} | {psnr('ptq', 'Set14')} | "
            f"{psnr('qat', 'Set5')} | {psnr('qat', 'Set14')} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("train", "measure", "latency", "table"))
    parser.add_argument("--sweep", choices=list(SWEEPS), default="edge", help="which sweep (default: edge)")
    parser.add_argument("--only", nargs="+", help="candidates to run (default: all of the sweep)")
    args = parser.parse_args(argv)
    sweep = SWEEPS[args.sweep]
    names = args.only or list(sweep.candidates)
    unknown = [n for n in names if n not in sweep.candidates]
    if unknown:
        parser.error(f"--only: {unknown} are not candidates of the {sweep.name} sweep: {list(sweep.candidates)}")
    if args.stage == "train":
        train_stage(sweep, names)
        return 0
    if args.stage == "measure":
        results = measure_stage(sweep, names)
    elif args.stage == "latency":
        results = latency_stage(sweep, names)
    else:
        results = json.loads(sweep.results.read_text())
    text = table(sweep, results)
    if args.stage != "table":
        sweep.results.with_suffix(".md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
