"""Sizing for a micro-class network: which fd_irb configurations fit a microcontroller.

    python benchmarks/micro_candidates.py     # writes benchmarks/results/micro_candidates.{json,md}

Untrained weights (arena and flash do not depend on their values): each candidate is an
`fd_irb_edge`-style configuration (mean attention: no SQRT; direct tail: no work at HR),
converted to full int8 with random calibration patches, then exported with
the export's steps at a 24x24 LR tile (freeze, TFLM op checks, arena measured in TFLM's own
interpreter). Goals of the micro model (issue 14): arena <= 256 KB at >= 24x24 LR, flash
<= 150 KB. PSNR needs training and is not measured here.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_sr.convert import convert_model  # noqa: E402
from keras_sr.export import freeze_tflite, micro  # noqa: E402
from keras_sr.lite.runtime import TFLiteSR  # noqa: E402
from keras_sr.lite.tflm import measure_arena  # noqa: E402
from keras_sr.models import registry  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
TILE = 24
ARENA_GOAL, FLASH_GOAL = 256 * 1024, 150 * 1024
BASE = dict(attention="mean", tail="direct")
CANDIDATES = [
    dict(num_features=16, num_layers=4, recursions=2),
    dict(num_features=24, num_layers=4, recursions=2),
    dict(num_features=24, num_layers=5, recursions=2),
    dict(num_features=32, num_layers=4, recursions=2),
    dict(num_features=32, num_layers=5, recursions=2),
    dict(num_features=32, num_layers=5, recursions=3),
    dict(num_features=40, num_layers=4, recursions=2),
]


def measure(config, scale, scratch):
    cfg = dict(BASE, growth_rate=config["num_features"], **config)
    model = registry.build("fd_irb", scale=scale, **cfg)
    rng = np.random.default_rng(0)
    patches = [rng.random((1, 32, 32, 3), dtype=np.float32) for _ in range(8)]
    path = scratch / "candidate.tflite"
    path.write_bytes(convert_model(model, precision="int8", calibration=patches))
    # The export's steps without its TFLM-vs-LiteRT PSNR check, which random weights need not pass.
    frozen = scratch / "frozen.tflite"
    frozen.write_bytes(freeze_tflite(path.read_bytes(), (TILE, TILE)))
    ops = micro.check_ops(frozen.read_bytes())
    arena, flash = measure_arena(frozen)["arena"], frozen.stat().st_size
    return {"scale": scale, **cfg, "params": int(model.count_params()), "arena_bytes": arena, "flash_bytes": flash,
            "multi_adds_per_tile": TFLiteSR(frozen, use_xnnpack=False).multi_adds(), "ops": ops,
            "fits": arena <= ARENA_GOAL and flash <= FLASH_GOAL}


def table(result):
    lines = [f"Micro-class candidates: untrained fd_irb configurations (attention=mean, tail=direct), full int8, "
             f"exported at a {TILE}x{TILE} LR tile, arena measured in TFLM ({result['date']}). Goals: arena <= "
             f"{ARENA_GOAL:,} bytes, flash <= {FLASH_GOAL:,} bytes.", "",
             "| scale | features | dense layers | recursions | params | arena (bytes) | flash (bytes) | "
             "M Multi-Adds / tile | fits both |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        lines.append(f"| x{r['scale']} | {r['num_features']} | {r['num_layers']} | {r['recursions']} | {r['params']:,} | "
                     f"{r['arena_bytes']:,} | {r['flash_bytes']:,} | {r['multi_adds_per_tile'] / 1e6:.1f} | "
                     f"{'yes' if r['fits'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main():
    scratch = Path(tempfile.mkdtemp(prefix="micro_candidates_"))
    rows = []
    try:
        for scale in (4, 2):
            for config in CANDIDATES:
                t0 = time.time()
                rows.append(measure(config, scale, scratch))
                r = rows[-1]
                print(f"x{scale} {config}: params {r['params']:,} arena {r['arena_bytes']:,} flash {r['flash_bytes']:,} "
                      f"({time.time() - t0:.1f} s)", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "tile": TILE, "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "micro_candidates.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "micro_candidates.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
