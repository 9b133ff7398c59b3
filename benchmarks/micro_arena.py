"""TFLite Micro arena of the shipped int8 models at 16x16, 24x24 and 32x32 LR tiles.

    python benchmarks/micro_arena.py          # writes benchmarks/results/micro_arena.{json,md}
    python benchmarks/micro_arena.py fd_irb_micro_x2   # measures these presets again, keeps the other rows

Each cell is a real `keras-sr export --target micro` (keras_sr.export.export) into a scratch
folder: the shape freeze, the static TFLM checks, the smallest arena that allocates in TFLM's
own interpreter (bisection, to the byte), one invoke on a real image tile and its PSNR against
LiteRT. A model that fails the micro checks is reported with the reason; its arena is then
measured with allocation only (no invoke). Invoke times are TFLM's reference kernels on this
machine's CPU (named in the output), not a microcontroller's.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_sr import presets  # noqa: E402
from keras_sr.export import export, freeze_tflite  # noqa: E402
from keras_sr.lite import tflm  # noqa: E402
from model_card import cpu_name  # noqa: E402  (benchmarks/, the script's folder, is on sys.path)
from keras_sr.lite.tflm import measure_arena  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
MODELS = ("fd_irb_micro_x2", "fd_irb_micro_x4", "fd_irb_edge_x2", "fd_irb_edge_x3", "fd_irb_edge_x4", "fd_irb_x4")
TILES = (16, 24, 32)


def _allocates(path, arena):
    # One child per probe: with an int8 SQRT, TFLM can crash (SIGSEGV) on a too-small arena
    # instead of returning an error, which would end a bisection run inside one process.
    code = ("import sys; from tflite_micro.python.tflite_micro import runtime; "
            "runtime.Interpreter.from_bytes(open(sys.argv[1], 'rb').read(), arena_size=int(sys.argv[2]))")
    return subprocess.run([sys.executable, "-c", code, str(path), str(arena)], capture_output=True).returncode == 0


def allocation_arena(path):
    """The smallest arena TFLM allocates `path` with (no invoke), one child process per probe."""
    try:
        return tflm.bisect_arena(lambda arena: _allocates(path, arena))
    except RuntimeError:
        return None


def measure(name, tile, scratch):
    out = scratch / f"{name}_{tile}"
    try:
        facts = export(model=name, target="micro", tile=(tile, tile), output_dir=out, log=lambda *a: None)
    except ValueError as error:
        frozen = scratch / f"{name}_{tile}.tflite"
        frozen.write_bytes(freeze_tflite(presets.get(name).tflite.read_bytes(), (tile, tile)))
        arena = allocation_arena(frozen)
        return {"model": name, "tile": tile, "ok": False, "reason": str(error), "arena_bytes": arena,
                "flash_bytes": frozen.stat().st_size}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    m = facts["micro"]
    return {"model": name, "tile": tile, "ok": True, "arena_bytes": m["arena_bytes"], "flash_bytes": facts["size_bytes"],
            "multi_adds_per_tile": facts["multi_adds_per_tile"], "tflm_vs_litert_psnr_db": m["tflm_vs_litert_psnr_db"],
            "tflm_invoke_s": m["tflm_invoke_s"], "tflite_micro": m["tflite_micro"]}


def table(result):
    lines = [f"TFLite Micro arena of the shipped int8 models ({result['date']}, tflite-micro "
             f"{result['tflite_micro']}, invoke times on {result['cpu']}, TFLM reference kernels).", "",
             "| model | LR tile | arena (bytes) | flash (bytes) | G Multi-Adds / tile | TFLM vs LiteRT (dB) | "
             "TFLM invoke, this CPU (s) | micro checks |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        if r["ok"]:
            lines.append(f"| `{r['model']}` | {r['tile']}x{r['tile']} | {r['arena_bytes']:,} | {r['flash_bytes']:,} | "
                         f"{r['multi_adds_per_tile'] / 1e9:.3f} | {r['tflm_vs_litert_psnr_db']:.1f} | "
                         f"{r['tflm_invoke_s']:.2f} | pass |")
        else:
            reason = r["reason"].split(";")[0].split(" (")[0]
            arena = "not measurable" if r["arena_bytes"] is None else f"{r['arena_bytes']:,} (allocation only)"
            lines.append(f"| `{r['model']}` | {r['tile']}x{r['tile']} | {arena} | "
                         f"{r['flash_bytes']:,} | — | — | — | **fails**: {reason} |")
    fails = sorted({r["model"] for r in result["rows"] if not r["ok"]})
    if fails:
        lines += ["", "Why a model fails: " + "; ".join(
            f"`{m}`: {next(r['reason'] for r in result['rows'] if r['model'] == m)}" for m in fails)]
    return "\n".join(lines) + "\n"


def main(argv=None):
    names = list(sys.argv[1:] if argv is None else argv) or [m for m in MODELS if presets.is_preset(m)]
    unknown = [n for n in names if not presets.is_preset(n)]
    if unknown:
        raise SystemExit(f"not shipped presets: {unknown}; choose from {presets.names()}")
    path = RESULTS / "micro_arena.json"
    kept = [r for r in json.loads(path.read_text())["rows"] if r["model"] not in names] if path.is_file() else []
    scratch = Path(tempfile.mkdtemp(prefix="micro_arena_"))
    rows = []
    try:
        for name in names:
            for tile in TILES:
                t0 = time.time()
                rows.append(measure(name, tile, scratch))
                print(f"{name} {tile}x{tile}: arena {rows[-1]['arena_bytes']} ok={rows[-1]['ok']} "
                      f"({time.time() - t0:.1f} s)", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    order = {m: i for i, m in enumerate(MODELS)}
    rows = sorted(kept + rows, key=lambda r: (order.get(r["model"], len(MODELS)), r["model"], r["tile"]))
    ok = [r for r in rows if r["ok"]]
    result = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "cpu": cpu_name(),
              "tflite_micro": ok[0]["tflite_micro"] if ok else None, "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "micro_arena.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "micro_arena.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
