"""Board-side benchmark of a .tflite SR model: latency, memory, Multi-Adds/s, PSNR/SSIM.

Imports only keras_sr.lite, keras_sr.scoring, keras_sr.metrics and keras_sr.data
(numpy, Pillow, ai-edge-litert): it runs where TensorFlow is not installed.
`keras-sr benchmark` and `tflite/benchmark.py` are its command-line front ends.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

try:
    import resource
except ImportError:  # Windows
    resource = None

from keras_sr.lite.runtime import TFLiteSR, note_unverified
from keras_sr.paths import data_root as default_data_root
from keras_sr.scoring import batch_predictor, score_sets
from keras_sr.validation import available_memory_bytes, check_int, check_num_threads, check_optional_int

__all__ = ["benchmark", "format_report", "default_data_root", "DEFAULT_INPUT_HW"]

#: Default LR input size as (height, width): 320x180 LR is 1280x720 (720p) at x4.
DEFAULT_INPUT_HW = (180, 320)


def _rss_bytes():
    """Current resident set size in bytes (Linux /proc), None where unavailable."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# Float32 values held per LR pixel besides input and output: a few live activation
# tensors of the edge models' 64 channels (an upper estimate; int8 models use a quarter).
_ACTIVATION_FLOATS_PER_PIXEL = 8 * 64


def _estimated_bytes(h, w, channels, scale):
    """A rough upper estimate of the memory one benchmark at LR size h x w needs, in bytes."""
    per_pixel = 4 * (channels + 2 * channels * scale * scale + _ACTIVATION_FLOATS_PER_PIXEL)
    return 2 * int(h) * int(w) * per_pixel


def _available_bytes():
    return available_memory_bytes()


def _peak_rss_bytes():
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def benchmark(
    tflite,
    num_threads=None,
    use_xnnpack=True,
    input_hw=None,
    runs=10,
    warmup=2,
    eval=None,
    data_root=None,
    eval_max_images=None,
) -> dict:
    """Measure a .tflite SR model on this machine.

    Args:
        tflite: the .tflite file.
        num_threads: interpreter threads (>= 1) or None for the runtime's default.
        use_xnnpack: TFLite's default XNNPACK delegate (False: reference kernels).
        input_hw: LR input as (height, width), e.g. (180, 320) -> 1280x720 at x4.
            None: the model's fixed size, or DEFAULT_INPUT_HW for a dynamic model.
        runs: timed runs (>= 1) after `warmup` untimed runs (>= 0), on random input.
        warmup: untimed runs before timing.
        eval: evaluation sets (names or paths, `keras_sr.paths.resolve_eval`) to score
            PSNR/SSIM on with `keras_sr.scoring`, as evaluate does. Needs a
            dynamic-shape model.
        data_root: where bare names are looked up first.
        eval_max_images: score at most this many images per set (sorted by name).

    Returns:
        A JSON-ready dict with keys: model, model_bytes, precision, scale,
        input_dtype, output_dtype, dynamic_shape, threads, xnnpack, input_wh,
        output_wh, warmup, runs, latency_ms {min, median, p90, mean},
        peak_rss_mb (ru_maxrss of the process so far), rss_delta_mb (RSS growth
        from loading the interpreter through the timed runs), multi_adds,
        gmacs_per_s (multi_adds / median latency), datasets ({name: {images, psnr,
        ssim, process_time_s}}; empty without `datasets`), versions.
    """
    num_threads = check_num_threads(num_threads)
    runs = check_int(runs, "runs", 1)
    warmup = check_int(warmup, "warmup", 0)
    eval_max_images = check_optional_int(eval_max_images, "eval_max_images", 1)
    if isinstance(eval, str):
        eval = [eval]
    model_path = Path(tflite)

    rss0 = _rss_bytes()
    model = TFLiteSR(model_path, num_threads=num_threads, use_xnnpack=use_xnnpack)
    note_unverified(model)
    if input_hw is None:
        h, w = model.fixed_size or DEFAULT_INPUT_HW
    else:
        if len(input_hw) != 2:
            raise ValueError(f"`input_hw` must be (height, width). Received: input_hw={input_hw!r}")
        h, w = (check_int(v, "input_hw", 1) for v in input_hw)
        if not model.is_dynamic and (h, w) != model.fixed_size:
            raise ValueError(
                f"Model file '{model_path}' has a fixed input size (height, width) {model.fixed_size}. "
                f"Received: input_hw={(h, w)}"
            )
    if eval and not model.is_dynamic:
        raise ValueError(
            f"Scoring `eval` needs a dynamic-shape model (input (1, None, None, 3)); "
            f"model file '{model_path}' has a fixed input shape {model.input_shape}."
        )

    need, available = _estimated_bytes(h, w, model.channels, model.scale), _available_bytes()
    if available is not None and need > available:
        raise ValueError(
            f"`input_hw`={(h, w)} needs about {need / 2**30:.1f} GiB (input, output and the interpreter's "
            f"activations, twice: timing and the Multi-Adds count); this machine has {available / 2**30:.1f} GiB "
            "available. Benchmark a smaller input size."
        )
    x = np.random.default_rng(0).random((h, w, model.channels), dtype=np.float32)
    for _ in range(warmup):
        model.predict(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        y = model.predict(x)
        times.append(time.perf_counter() - t0)
    rss1 = _rss_bytes()
    peak = _peak_rss_bytes()
    times_ms = np.asarray(times) * 1e3
    median_ms = float(np.median(times_ms))

    # Counted after timing: it builds and runs a second, delegate-free interpreter.
    macs = model.multi_adds(h, w)
    result = {
        "model": str(model_path),
        "model_bytes": model_path.stat().st_size,
        "precision": model.precision,
        "scale": model.scale,
        "input_dtype": model.input_dtype.name,
        "output_dtype": model.output_dtype.name,
        "dynamic_shape": model.is_dynamic,
        "num_threads": num_threads,
        "xnnpack": use_xnnpack,
        "input_wh": [w, h],
        "output_wh": [int(y.shape[1]), int(y.shape[0])],
        "warmup": warmup,
        "runs": runs,
        "latency_ms": {
            "min": float(times_ms.min()),
            "median": median_ms,
            "p90": float(np.percentile(times_ms, 90)),
            "mean": float(times_ms.mean()),
        },
        "peak_rss_mb": None if peak is None else peak / 2**20,
        "rss_delta_mb": None if rss0 is None or rss1 is None else (rss1 - rss0) / 2**20,
        "multi_adds": macs,
        "gmacs_per_s": macs / (median_ms / 1e3) / 1e9 if median_ms > 0 else None,
        "datasets": {},
        "versions": _versions(),
    }
    if eval:
        scores = score_sets(batch_predictor(model.predict), eval, model.scale, data_root, eval_max_images)
        result["datasets"] = {
            name: {"images": d["count"], "psnr": d["psnr"], "ssim": d["ssim"],
                   "process_time_s": d["ms_per_image"] / 1e3, "path": d["path"]}
            for name, d in scores.items()
        }
    return result


def _versions():
    try:
        from importlib.metadata import version

        litert = version("ai-edge-litert")
    except Exception:  # noqa: BLE001 - a version string is informative, never required
        litert = None
    return {
        "ai_edge_litert": litert,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def format_report(r: dict) -> str:
    """Human-readable summary of a `benchmark` result (datasets as 'PSNR / SSIM / ProcessTime')."""
    lat = r["latency_ms"]
    w, h = r["input_wh"]
    ow, oh = r["output_wh"]
    lines = [
        f"model      {r['model']} ({r['model_bytes'] / 1024:.1f} KiB, {r['precision']}, x{r['scale']}, "
        f"input {r['input_dtype']}, {'dynamic' if r['dynamic_shape'] else 'fixed'} shape)",
        f"runtime    num_threads={r['num_threads'] if r['num_threads'] is not None else 'default'}, "
        f"xnnpack={'on' if r['xnnpack'] else 'off'}, ai-edge-litert {r['versions']['ai_edge_litert']}",
        f"input      {w}x{h} (WxH) -> {ow}x{oh}",
        f"latency    min {lat['min']:.2f} ms, median {lat['median']:.2f} ms, p90 {lat['p90']:.2f} ms "
        f"({r['runs']} runs after {r['warmup']} warm-up)",
        "memory     peak RSS "
        + ("n/a" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.1f} MiB")
        + ("" if r["rss_delta_mb"] is None else f", interpreter +{r['rss_delta_mb']:.1f} MiB"),
        f"compute    {r['multi_adds'] / 1e9:.3f} G Multi-Adds/frame, "
        + ("n/a" if r["gmacs_per_s"] is None else f"{r['gmacs_per_s']:.2f} G Multi-Adds/s"),
    ]
    if r["datasets"]:
        lines.append(f"{'dataset':<10} PSNR / SSIM / ProcessTime")
        for name, d in r["datasets"].items():
            lines.append(
                f"{name:<10} {d['psnr']:.2f} / {d['ssim']:.4f} / {d['process_time_s']:.3f}s  ({d['images']} images)"
            )
    return "\n".join(lines)
