"""Is the real-time tier real time? Its int8 latency against the edge network's, in one run.

    python benchmarks/realtime_latency.py            # the shipped presets, x4 and x2
    python benchmarks/realtime_latency.py --file fd_irb_realtime_x4=runs/fd_irb_realtime_x4_int8.tflite
    python benchmarks/realtime_latency.py --candidates   # shapes, before training: which can be real time?

Issue 18's goal for the real-time tier: at x4 and at x2, its int8 latency for a 320x180 input with
2 threads is at most a third of `fd_irb_edge`'s at the same scale, measured in the same run on the
same machine. `--candidates` answers it before any training: each shape of `CANDIDATES` is
built with fresh weights and converted to full int8 (calibrated on Set5 patches), since
latency depends on the shape, not on the weight values. Every file is timed in turn, round
after round (`pareto.measure_latency`), so a busy machine slows all of them alike and the
ratios hold. Writes benchmarks/results/realtime_latency.{json,md} (or realtime_candidates.{json,md}).
"""
from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.model_card import cpu_name  # noqa: E402
from benchmarks.pareto import INPUT_HW, THREADS, measure_latency  # noqa: E402
from keras_sr import presets  # noqa: E402
from keras_sr.fileio import write_bytes, write_text  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
GOAL_RATIO = 1 / 3
#: (real-time preset, the preset it is measured against)
PAIRS = (("fd_irb_realtime_x4", "fd_irb_edge_x4"), ("fd_irb_realtime_x2", "fd_irb_edge_x2"))
#: Shapes of the real-time sweep (benchmarks/edge_sweep.py) and the one-pass variants, all mean attention
#: and the direct tail: F = features, C = dense layers, U = passes of the shared block.
CANDIDATES = {
    "F24 C4 U2": dict(num_features=24, num_layers=4, recursions=2),
    "F32 C4 U2": dict(num_features=32, num_layers=4, recursions=2),
    "F32 C4 U3": dict(num_features=32, num_layers=4, recursions=3),
    "F36 C4 U2": dict(num_features=36, num_layers=4, recursions=2),
    "F40 C4 U2": dict(num_features=40, num_layers=4, recursions=2),
    "F40 C4 U1": dict(num_features=40, num_layers=4, recursions=1),
    "F48 C4 U1": dict(num_features=48, num_layers=4, recursions=1),
    "F48 C5 U1": dict(num_features=48, num_layers=5, recursions=1),
    "F48 C6 U1": dict(num_features=48, num_layers=6, recursions=1),
    "F64 C4 U1": dict(num_features=64, num_layers=4, recursions=1),
    "F32 C6 U2": dict(num_features=32, num_layers=6, recursions=2),
}


def candidate_files(folder, scales=(4, 2), calibration_samples=16, seeds=(0, 1, 2)):
    """{"F40 C4 U1 x4": path, ...}: every candidate shape at every scale as a fresh full-int8 file in
    `folder`; files already there are kept, so that a second run on a quiet machine only times.
    Fresh weights can leave a tensor with a near-zero int8 range, which XNNPACK refuses
    (docs/STACK_TRAPS.md): such a file is built again from the next seed."""
    from keras_sr import models
    from keras_sr._keras import keras
    from keras_sr.convert import calibration_patches, convert_model
    from keras_sr.paths import data_root

    files = {}
    for scale in scales:
        patches = calibration_patches(data_root() / "Set5", scale, samples=calibration_samples)
        for name, config in CANDIDATES.items():
            path = folder / f"{name.replace(' ', '_')}_x{scale}.tflite"
            files[f"{name} x{scale}"] = path
            for seed in seeds:
                if runnable({name: path})[0]:
                    break
                keras.utils.set_random_seed(seed)
                model = models.build("fd_irb", scale, growth_rate=config["num_features"], attention="mean",
                                     tail="direct", **config)
                write_bytes(path, convert_model(model, precision="int8", calibration=patches))
    return files


def runnable(files):
    """(files XNNPACK runs, {name: why not}): fresh weights can leave a tensor with a near-zero int8
    range, which XNNPACK refuses (docs/STACK_TRAPS.md); a file the interpreter refuses, for that or any
    other reason (a ValueError naming the file), is reported, not timed."""
    from keras_sr.lite.runtime import TFLiteSR

    ok, refused = {}, {}
    for name, path in files.items():
        if not Path(path).is_file():
            refused[name] = "not built"
            continue
        try:
            TFLiteSR(path, num_threads=THREADS).predict(np.zeros(INPUT_HW + (3,), np.float32))
            ok[name] = path
        except ValueError as error:
            refused[name] = str(error).splitlines()[0].replace(str(Path(path).parent) + "/", "")
    return ok, refused


def candidate_rows(times):
    """Each candidate's median over the edge file's median at the same scale."""
    medians = {name: statistics.median(ms) for name, ms in times.items()}
    rows = []
    for name, ms in medians.items():
        if name.startswith("fd_irb_edge"):
            continue
        scale = name.rsplit("x", 1)[1]
        ratio = ms / medians[f"fd_irb_edge_x{scale}"]
        rows.append({"candidate": name, "ms": ms, "ratio": ratio, "meets_goal": ratio <= GOAL_RATIO})
    return rows


def parse_file(text):
    """'NAME=PATH' -> (NAME, Path), for timing a file before it ships as NAME."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--file: expected NAME=PATH.tflite, got {text!r}")
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"--file {name}: no such file: {path}")
    return name, Path(path)


def shown(path):
    """`path` as the results may record it: relative to the repository, else its file name."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def summarize(times, pairs=PAIRS):
    """Median and p90 per file, and each real-time file's median over its reference's."""
    stats = {name: {"median": statistics.median(ms), "p90": float(np.percentile(ms, 90)), "runs": len(ms)}
             for name, ms in times.items()}
    rows = []
    for fast, reference in pairs:
        if fast not in stats or reference not in stats:
            continue
        ratio = stats[fast]["median"] / stats[reference]["median"]
        rows.append({"model": fast, "reference": reference, "ms": stats[fast], "reference_ms": stats[reference],
                     "ratio": ratio, "meets_goal": ratio <= GOAL_RATIO})
    return rows


def table(result):
    lines = [
        f"int8, {INPUT_HW[1]}x{INPUT_HW[0]} input, {THREADS} threads, LiteRT + XNNPACK, {result['rounds']} rounds "
        f"timed in turn. {result['machine']}, {result['date']}. `{result['command']}`",
        "",
        "| model | ms median (p90) | against | ms median (p90) | ratio | goal ≤ 1/3 |",
        "|---|---:|---|---:|---:|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['model']} | {row['ms']['median']:.1f} ({row['ms']['p90']:.1f}) | {row['reference']} | "
            f"{row['reference_ms']['median']:.1f} ({row['reference_ms']['p90']:.1f}) | {row['ratio']:.2f} | "
            f"{'met' if row['meets_goal'] else 'missed'} |")
    return "\n".join(lines) + "\n"


def candidate_table(result):
    lines = [
        f"Fresh weights, full int8 (calibrated on Set5 patches), {INPUT_HW[1]}x{INPUT_HW[0]} input, {THREADS} "
        f"threads, LiteRT + XNNPACK, {result['rounds']} rounds timed in turn with the shipped edge files. "
        f"{result['machine']}, {result['date']}. `{result['command']}`",
        "",
        "| candidate | int8 ms | latency / edge | goal ≤ 1/3 |",
        "|---|---:|---:|---|",
    ]
    for row in result["rows"]:
        lines.append(f"| {row['candidate']} | {row['ms']:.1f} | {row['ratio']:.2f} | "
                     f"{'met' if row['meets_goal'] else 'missed'} |")
    lines += [f"| {name} | — | — | not timed: {why} |" for name, why in result["refused"].items()]
    return "\n".join(lines) + "\n"


def write_results(output_dir, stem, result, text):
    """`stem`.json and `stem`.md in `output_dir`, each written whole or not at all; the table printed."""
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text(output_dir / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    write_text(output_dir / f"{stem}.md", text)
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=parse_file, action="append", default=[], metavar="NAME=PATH",
                        help="time this .tflite as NAME instead of the shipped preset's file (repeatable)")
    parser.add_argument("--candidates", action="store_true",
                        help="time fresh int8 files of the candidate shapes instead of the real-time presets")
    parser.add_argument("--work-dir", type=Path, default=REPO / "runs" / "realtime_candidates",
                        help="where --candidates keeps its int8 files (existing ones are reused)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    if args.candidates:
        return main_candidates(args)
    overrides = dict(args.file)
    names = [name for pair in PAIRS for name in pair]
    files = {}
    for name in names:
        if name in overrides:
            files[name] = overrides[name]
        elif name in presets.names():
            files[name] = presets.get(name).tflite
    missing = [name for name in names if name not in files]
    if missing:
        print(f"not timed (not shipped, and no --file): {', '.join(missing)}", file=sys.stderr)
    times = measure_latency(files, rounds=args.rounds)
    result = {
        "machine": f"{cpu_name()}, 2 threads",
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/realtime_latency.py" + "".join(
            f" --file {name}={shown(path)}" for name, path in overrides.items()),
        "rounds": args.rounds,
        "files": {name: str(Path(path).name) for name, path in files.items()},
        "times_ms": times,
        "rows": summarize(times),
    }
    write_results(args.output_dir, "realtime_latency", result, table(result))
    return 0


def main_candidates(args):
    args.work_dir.mkdir(parents=True, exist_ok=True)
    files = {f"fd_irb_edge_x{s}": presets.get(f"fd_irb_edge_x{s}").tflite for s in (4, 2)}
    files.update(candidate_files(args.work_dir))
    files, refused = runnable(files)
    times = measure_latency(files, rounds=args.rounds)
    result = {"machine": f"{cpu_name()}, 2 threads", "date": datetime.date.today().isoformat(),
              "command": "python benchmarks/realtime_latency.py --candidates", "rounds": args.rounds,
              "times_ms": times, "rows": candidate_rows(times), "refused": refused}
    write_results(args.output_dir, "realtime_candidates", result, candidate_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
