"""Is the real-time tier real time? Its int8 latency against the edge network's, in one run.

    python benchmarks/realtime_latency.py            # the shipped presets, x4 and x2
    python benchmarks/realtime_latency.py --file fd_irb_realtime_x4=runs/fd_irb_realtime_x4_int8.tflite

Issue 18's goal for the real-time tier: at x4 and at x2, its int8 latency for a 320x180 input with
2 threads is at most a third of `fd_irb_edge`'s at the same scale, measured in the same run on the
same machine. Every file is timed in turn, round after round (`pareto.measure_latency`), so a busy
machine slows all of them alike and the ratios hold. Writes
benchmarks/results/realtime_latency.{json,md}.
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

RESULTS = REPO / "benchmarks" / "results"
GOAL_RATIO = 1 / 3
#: (real-time preset, the preset it is measured against)
PAIRS = (("fd_irb_realtime_x4", "fd_irb_edge_x4"), ("fd_irb_realtime_x2", "fd_irb_edge_x2"))


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=parse_file, action="append", default=[], metavar="NAME=PATH",
                        help="time this .tflite as NAME instead of the shipped preset's file (repeatable)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

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
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "realtime_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    text = table(result)
    (args.output_dir / "realtime_latency.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
