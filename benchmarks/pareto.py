"""The x4 Pareto front: PSNR against Multi-Adds and against int8 latency, as a picture.

    python benchmarks/pareto.py        # writes docs/pareto_x4.png and benchmarks/results/pareto_x4.{json,md}

Every shipped x4 preset is a measured point: its int8 Set5 / BSD100 Y-PSNR and Multi-Adds
come from its model card (written by benchmarks/model_card.py from measurements), and its
int8 latency for a 320x180 input (2 threads, XNNPACK) is measured here, all presets
interleaved in one run so their ratios hold on a busy machine. Published networks are
labelled points on the Multi-Adds panels only (no file of theirs runs here), with their
source in `PUBLISHED`. They were trained on other data (DIV2K, or 291 images for FSRCNN)
and scored on MATLAB-bicubic LR; keras-sr's cards use PIL-bicubic LR, so read the published
points as context, not as a same-protocol comparison.
"""
from __future__ import annotations

import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_sr import presets  # noqa: E402
from keras_sr.lite.runtime import TFLiteSR  # noqa: E402
from benchmarks.model_card import cpu_name  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
FIGURE = REPO / "docs" / "pareto_x4.png"
INPUT_HW = (180, 320)
THREADS = 2
ROUNDS, WARMUP = 7, 2

#: Published x4 figures: params, G Multi-Adds for a 1280x720 output, Set5 / BSD100 Y-PSNR (None: not quoted).
PUBLISHED = [
    {"name": "FSRCNN", "params": 12e3, "gmac": 4.6, "Set5": 30.71, "BSD100": 26.98,
     "source": "Dong et al. 2016, as tabulated by Ahn et al. 2018 (CARN, ECCV), Table 4"},
    {"name": "ESPCN", "params": 25e3, "gmac": 1.4, "Set5": 30.90, "BSD100": None,
     "source": "Shi et al. 2016; Set5 as quoted in issue 18; params and Multi-Adds counted from its "
               "3-layer (5x5x64, 3x3x32, 3x3x16) Y-channel layout; BSD100 not quoted here"},
    {"name": "CARN-M", "params": 412e3, "gmac": 32.5, "Set5": 31.92, "BSD100": 27.44,
     "source": "Ahn et al. 2018 (CARN, ECCV), Table 4"},
    {"name": "IMDN", "params": 715e3, "gmac": 40.9, "Set5": 32.21, "BSD100": 27.56,
     "source": "Hui et al. 2019 (IMDN, ACM MM), Table 3"},
    {"name": "FD & IRB (paper)", "params": 1.63e6, "gmac": 293.0, "Set5": 32.28, "BSD100": 27.64,
     "source": "the 2021 paper keras-sr ports; Multi-Adds as reproduced in ../shared/reference/README.md §9"},
]


def x4_presets():
    return [presets.get(name) for name in presets.names() if presets.get(name).scale == 4]


def measure_latency(files, rounds=ROUNDS, warmup=WARMUP, threads=THREADS):
    """{name: [ms, ...]} of {name: .tflite path} at INPUT_HW: one timed run per file per round,
    rounds interleaved, so that every file sees the same machine."""
    rng = np.random.default_rng(0)
    lr = rng.random(INPUT_HW + (3,), dtype=np.float32)
    runners = {name: TFLiteSR(path, num_threads=threads) for name, path in files.items()}
    for runner in runners.values():
        for _ in range(warmup):
            runner.predict(lr)
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.predict(lr)
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def draw(points, published, path, machine):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.2))
    for row, dataset in enumerate(("Set5", "BSD100")):
        ax_mac, ax_ms = axes[row]
        for p in points:
            ax_mac.scatter(p["gmac"], p[dataset], s=60, color="tab:blue", zorder=3)
            ax_mac.annotate(p["name"], (p["gmac"], p[dataset]), textcoords="offset points", xytext=(5, -11),
                            fontsize=8, color="tab:blue")
            ax_ms.scatter(p["int8_ms"], p[dataset], s=60, color="tab:blue", zorder=3)
            ax_ms.annotate(p["name"], (p["int8_ms"], p[dataset]), textcoords="offset points", xytext=(5, -11),
                           fontsize=8, color="tab:blue")
        for q in published:
            if q[dataset] is None:
                continue
            ax_mac.scatter(q["gmac"], q[dataset], s=50, marker="s", facecolor="none", edgecolor="tab:gray", zorder=2)
            ax_mac.annotate(q["name"], (q["gmac"], q[dataset]), textcoords="offset points", xytext=(5, 4),
                            fontsize=8, color="dimgray")
        front = sorted(points, key=lambda p: p["gmac"])
        best, line = -1e9, []
        for p in front:
            if p[dataset] > best:
                best = p[dataset]
                line.append(p)
        ax_mac.plot([p["gmac"] for p in line], [p[dataset] for p in line], color="tab:blue", lw=1, alpha=0.6)
        ax_mac.set_xlabel("G Multi-Adds, 320x180 -> 1280x720 (log)")
        ax_ms.set_xlabel(f"int8 latency, 320x180 input, {THREADS} threads (ms, this machine, log)")
        for ax in (ax_mac, ax_ms):
            ax.set_xscale("log")
            ax.margins(x=0.2, y=0.12)
            ax.set_ylabel(f"{dataset} Y-PSNR x4 (dB)")
            ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("keras-sr x4 presets (blue: int8 files, measured) and published networks (gray squares, quoted)",
                 fontsize=11)
    fig.text(0.01, 0.005, f"Latency: {machine}, measured in one run, presets interleaved. Published points use "
             "MATLAB-bicubic LR and other training data; keras-sr cards use PIL-bicubic LR.", fontsize=7.5)
    fig.tight_layout(rect=(0, 0.02, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    models = x4_presets()
    times = measure_latency({p.name: p.tflite for p in models})
    machine = f"{cpu_name()}, {os.cpu_count()} cores, {datetime.date.today().isoformat()}"
    points = []
    for p in models:
        ms = times[p.name]
        points.append({"name": p.name, "params": p.metrics["params"], "gmac": p.metrics["multi_adds_total"] / 1e9,
                       "Set5": p.psnr("Set5"), "BSD100": p.psnr("BSD100"),
                       "int8_ms": round(statistics.median(ms), 1), "int8_ms_p90": round(float(np.percentile(ms, 90)), 1)})
    draw(points, PUBLISHED, FIGURE, machine)
    RESULTS.mkdir(parents=True, exist_ok=True)
    facts = {"machine": machine, "input_hw": list(INPUT_HW), "threads": THREADS, "rounds": ROUNDS,
             "presets": points, "published": PUBLISHED}
    (RESULTS / "pareto_x4.json").write_text(json.dumps(facts, indent=2) + "\n")
    lines = [f"# x4 Pareto points ({machine})", "",
             "| point | params | G Multi-Adds | Set5 | BSD100 | int8 ms (p90) | source |", "|---|---:|---:|---:|---:|---:|---|"]
    lines += [f"| `{p['name']}` | {p['params']:,} | {p['gmac']:.2f} | {p['Set5']:.2f} | {p['BSD100']:.2f} | "
              f"{p['int8_ms']} ({p['int8_ms_p90']}) | model card + this run |" for p in points]
    lines += [f"| {q['name']} | {q['params']:,.0f} | {q['gmac']} | {q['Set5']} | {q['BSD100'] or '-'} | - | "
              f"{q['source']} |" for q in PUBLISHED]
    (RESULTS / "pareto_x4.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {FIGURE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
