"""Board-side benchmark of a .tflite SR model: latency, memory, Multi-Adds/s, PSNR/SSIM.

Imports only keras_sr.lite, keras_sr.metrics and keras_sr.data.degrade (numpy,
Pillow, ai-edge-litert): it runs where TensorFlow is not installed.
`tflite/benchmark.py` is the command-line front end.
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

from keras_sr.data.degrade import is_image_file, load_image, make_lr
from keras_sr.lite.runtime import TFLiteSR
from keras_sr.metrics import psnr, ssim

__all__ = ["benchmark", "format_report", "default_data_root", "DEFAULT_INPUT"]

#: Default LR input size as (width, height): 320x180 LR is 1280x720 (720p) at x4.
DEFAULT_INPUT = (320, 180)


def default_data_root() -> Path:
    """$KERAS_SR_DATA, else `<repo root>/../shared/datasets` (the layout of a source checkout)."""
    env = os.environ.get("KERAS_SR_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _rss_bytes():
    """Current resident set size in bytes (Linux /proc), None where unavailable."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _peak_rss_bytes():
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS reports bytes, Linux KiB


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def benchmark(
    model_path,
    threads=None,
    no_xnnpack=False,
    input_size=None,
    runs=10,
    warmup=2,
    datasets=None,
    data_root=None,
    max_images=None,
) -> dict:
    """Measure a .tflite SR model on this machine.

    Args:
        model_path: the .tflite file.
        threads: interpreter threads (>= 1) or None for the runtime's default.
        no_xnnpack: disable the default XNNPACK delegate (reference kernels).
        input_size: LR input as (width, height), e.g. (320, 180) -> 1280x720 at x4.
            None: the model's fixed size, or DEFAULT_INPUT for a dynamic model.
        runs: timed runs (>= 1) after `warmup` untimed runs (>= 0), on random input.
        warmup: untimed runs before timing.
        datasets: names of folders under `data_root` (e.g. ["Set5", "Set14"]) to score
            PSNR/SSIM on: HR -> LR with `make_lr`, SR clipped to [0, 1], then
            `keras_sr.metrics.psnr/ssim` (Y channel, shave = scale), as evaluate does.
            Needs a dynamic-shape model.
        data_root: folder holding the datasets; None: `default_data_root()`.
        max_images: score at most this many images per dataset (sorted by name).

    Returns:
        A JSON-ready dict with keys: model, model_bytes, precision, scale,
        input_dtype, output_dtype, dynamic_shape, threads, xnnpack, input_wh,
        output_wh, warmup, runs, latency_ms {min, median, p90, mean},
        peak_rss_mb (ru_maxrss of the process so far), rss_delta_mb (RSS growth
        from loading the interpreter through the timed runs), multi_adds,
        gmacs_per_s (multi_adds / median latency), datasets ({name: {images, psnr,
        ssim, process_time_s}}; empty without `datasets`), versions.
    """
    if threads is not None:
        threads = _check_int(threads, "threads", 1)
    runs = _check_int(runs, "runs", 1)
    warmup = _check_int(warmup, "warmup", 0)
    if max_images is not None:
        max_images = _check_int(max_images, "max_images", 1)
    model_path = Path(model_path)

    rss0 = _rss_bytes()
    model = TFLiteSR(model_path, num_threads=threads, use_xnnpack=not no_xnnpack)
    if input_size is None:
        h, w = model.fixed_size or DEFAULT_INPUT[::-1]
    else:
        if len(input_size) != 2:
            raise ValueError(f"`input_size` must be (width, height). Received: input_size={input_size!r}")
        w, h = (_check_int(v, "input_size", 1) for v in input_size)
        if not model.is_dynamic and (h, w) != model.fixed_size:
            fh, fw = model.fixed_size
            raise ValueError(
                f"Model file '{model_path}' has a fixed input size {fw}x{fh} (width x height). "
                f"Received: input_size={w}x{h}"
            )
    if datasets and not model.is_dynamic:
        raise ValueError(
            f"Scoring `datasets` needs a dynamic-shape model (input (1, None, None, 3)); "
            f"model file '{model_path}' has a fixed input shape {model.input_shape}."
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
        "threads": threads,
        "xnnpack": not no_xnnpack,
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
    if datasets:
        root = Path(data_root) if data_root is not None else default_data_root()
        for name in datasets:
            result["datasets"][name] = _score_dataset(model, root / name, max_images)
    return result


def _score_dataset(model, folder, max_images):
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Dataset folder '{folder}' does not exist (set `data_root`/--data-root or $KERAS_SR_DATA)."
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))
    if not files:
        raise ValueError(f"Dataset folder '{folder}' holds no image files.")
    files = files[:max_images] if max_images else files
    scale = model.scale
    p, s, t = [], [], []
    for f in files:
        hr, lr = make_lr(load_image(f), scale)
        lr = lr.astype(np.float32) / 255.0
        t0 = time.perf_counter()
        sr = model.predict(lr)
        t.append(time.perf_counter() - t0)
        sr = np.clip(sr, 0.0, 1.0)
        p.append(psnr(sr, hr, scale))
        s.append(ssim(sr, hr, scale))
    return {
        "images": len(files),
        "psnr": float(np.mean(p)),
        "ssim": float(np.mean(s)),
        "process_time_s": float(np.mean(t)),
    }


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
        f"runtime    threads={r['threads'] if r['threads'] is not None else 'default'}, "
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
