"""Score a model on the benchmark sets: Y-PSNR / SSIM (shave = scale) and time per image.

    python -m keras_sr.evaluate --model fd_irb --weights runs/fd_irb_x4/best.weights.h5 --scale 4 \\
        --datasets Set5 Set14 BSD100 Urban100 --data-root ../shared/datasets

Every LR image comes from `keras_sr.data.make_lr` (modcrop + PIL bicubic downscaling);
a dataset name resolves to DATA_ROOT/NAME (a folder of HR images), DATA_ROOT/NAME_x{S}.h5
(an evaluation file from `keras_sr.prepare --eval`) or is a path itself. Images are run
whole, one at a time (batch 1); the output is clipped to [0, 1] and quantised like
MATLAB's im2uint8 before `keras_sr.metrics` scores it.

`--model bicubic` is the bicubic baseline *as this project computes it*: PIL's BICUBIC
filter (a = -0.5) for the upscaling as for the downscaling. SR papers usually quote
MATLAB `imresize` bicubic (antialiased downscaling, a = -0.5 too); numbers differ slightly.

`--self-ensemble` averages the outputs for the 8 flips/transposes of the input (EDSR's x8).
Processing time is the wall time of the forward pass(es) per image in ms, on this machine,
excluding the first (tracing) call and the metric computation.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from keras_sr import metrics
from keras_sr.cli_utils import parse_set_options

__all__ = ["evaluate", "main", "make_predictor", "bicubic_predictor", "super_resolve", "score_items",
           "resolve_dataset", "BICUBIC_NOTE"]

BICUBIC_NOTE = "bicubic = PIL Image.BICUBIC upscaling of the PIL-bicubic LR (not MATLAB imresize)"
PAPER_DATASETS = ("Set5", "Set14", "BSD100", "Urban100")


def make_predictor(model):
    """numpy (1, h, w, 3) float32 -> numpy (1, sh, sw, 3) float32 through a Keras model.

    One tf.function with a (1, None, None, 3) signature, so images of any size share a trace.
    """
    from keras_sr._keras import tf

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def forward(x):
        return tf.cast(model(x, training=False), tf.float32)

    def predict(x):
        return forward(tf.constant(x, tf.float32)).numpy()

    return predict


def bicubic_predictor(scale):
    """The bicubic baseline as a predictor: PIL BICUBIC upscaling of each uint8 image."""
    from PIL import Image

    def predict(x):
        out = []
        for img in x:
            u8 = metrics.to_uint8(img)
            h, w = u8.shape[:2]
            up = Image.fromarray(u8).resize((w * scale, h * scale), Image.BICUBIC)
            out.append(np.asarray(up, dtype=np.float32) / 255.0)
        return np.stack(out)

    return predict


# The 8 symmetries of the square as (forward, inverse) on (H, W, C) arrays.
def _transforms():
    result = []
    for k in range(4):
        for flip in (False, True):
            def fwd(a, k=k, flip=flip):
                a = a[:, ::-1] if flip else a
                return np.rot90(a, k)

            def inv(a, k=k, flip=flip):
                a = np.rot90(a, -k)
                return a[:, ::-1] if flip else a

            result.append((fwd, inv))
    return result


def super_resolve(predict, lr_uint8, self_ensemble=False):
    """Upscale one uint8 (h, w, 3) LR image; returns float32 (sh, sw, 3) clipped to [0, 1]."""
    x = lr_uint8.astype(np.float32) / 255.0
    if not self_ensemble:
        out = predict(x[None])[0]
    else:
        outs = [inv(predict(np.ascontiguousarray(fwd(x))[None])[0]) for fwd, inv in _transforms()]
        out = np.mean(outs, axis=0)
    return np.clip(out, 0.0, 1.0)


def score_items(predict, items, scale, self_ensemble=False, warm_up=True):
    """Mean Y-PSNR / SSIM (shave = scale) and forward ms per image over `(name, lr, hr)` items.

    Returns {"psnr", "ssim", "ms_per_image", "count", "images": [{"name", "psnr", "ssim", "ms"}]}.
    """
    rows = []
    for name, lr, hr in items:
        if warm_up and not rows:
            super_resolve(predict, lr, self_ensemble)  # trace/allocate outside the timing
        t = time.perf_counter()
        sr = super_resolve(predict, lr, self_ensemble)
        ms = (time.perf_counter() - t) * 1000.0
        if sr.shape != hr.shape:
            raise ValueError(f"Image {name!r}: the model gave {sr.shape} for LR {lr.shape}; HR is {hr.shape}.")
        rows.append({"name": name, "psnr": metrics.psnr(sr, hr, scale), "ssim": metrics.ssim(sr, hr, scale),
                     "ms": ms})
    if not rows:
        raise ValueError("No images to evaluate.")
    return {
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "ms_per_image": float(np.mean([r["ms"] for r in rows])),
        "count": len(rows),
        "images": rows,
    }


def resolve_dataset(name, data_root, scale):
    """A dataset name -> path: DATA_ROOT/NAME (HR folder), DATA_ROOT/NAME_x{S}.h5, or NAME as a path."""
    tried = []
    if data_root is not None:
        root = Path(data_root)
        for candidate in (root / name, root / f"{name}_x{scale}.h5"):
            tried.append(str(candidate))
            if candidate.exists():
                return candidate
    direct = Path(name)
    tried.append(str(direct))
    if direct.exists():
        return direct
    raise FileNotFoundError(
        f"Dataset {name!r} not found at scale x{scale}; tried {tried}. Give a folder of HR images, an "
        "evaluation .h5 (python -m keras_sr.prepare --eval) or a name under --data-root."
    )


def evaluate(model, scale, datasets, data_root=None, self_ensemble=False, max_images=None, verbose=False):
    """Y-PSNR / SSIM (shave = scale) and forward time of `model` on each dataset.

    Args:
        model: a Keras model (RGB in [0, 1], any size) or "bicubic" (PIL bicubic upscaling).
        scale: upscaling factor.
        datasets: names under `data_root` or paths (see `resolve_dataset`).
        data_root: folder holding the datasets (Set5/, Set14/, ... or NAME_x{S}.h5).
        self_ensemble: average the outputs for the 8 flips/transposes of each input.
        max_images: score only the first N images of each dataset.
        verbose: print a line per dataset as it finishes.

    Returns:
        {"model", "scale", "self_ensemble", "max_images", "metric", "datasets":
        {name: {"path", "count", "psnr", "ssim", "ms_per_image", "images": [...]}}}.
    """
    from keras_sr.data.pipeline import make_eval_items

    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"`max_images` must be an integer >= 1. Received: max_images={max_images!r}")
    if not datasets:
        raise ValueError("`datasets` is empty; name at least one (e.g. Set5).")
    is_bicubic = isinstance(model, str)
    if is_bicubic and model != "bicubic":
        raise ValueError(f"`model` must be a Keras model or 'bicubic'. Received: {model!r}")
    predict = bicubic_predictor(scale) if is_bicubic else make_predictor(model)
    paths = {name: resolve_dataset(name, data_root, scale) for name in datasets}  # all errors first
    result = {
        "model": "bicubic" if is_bicubic else model.name,
        "scale": scale,
        "self_ensemble": bool(self_ensemble),
        "max_images": max_images,
        "metric": f"Y (BT.601) PSNR/SSIM, shave {scale}; LR = modcrop + PIL bicubic (keras_sr.data.make_lr)",
        "datasets": {},
    }
    if is_bicubic:
        result["bicubic"] = BICUBIC_NOTE
    for name, path in paths.items():
        items = make_eval_items(path, scale)
        if max_images is not None:
            items = (item for k, item in zip(range(max_images), items))
        scores = score_items(predict, items, scale, self_ensemble=self_ensemble, warm_up=not is_bicubic)
        result["datasets"][name] = {"path": str(path), **scores}
        if verbose:
            print(f"{name}: {scores['psnr']:.2f} dB / {scores['ssim']:.4f} / {scores['ms_per_image']:.0f} ms "
                  f"({scores['count']} images)", file=sys.stderr, flush=True)
    return result


def format_table(result):
    """The paper's table (Markdown): dataset, images, PSNR, SSIM, ms per image."""
    title = f"{result['model']} x{result['scale']}" + (" + self-ensemble (x8)" if result["self_ensemble"] else "")
    lines = [f"{title}: {result['metric']}"]
    if "bicubic" in result:
        lines.append(result["bicubic"])
    lines += ["", "| dataset | images | PSNR (dB) | SSIM | ms / image |", "|---|---:|---:|---:|---:|"]
    for name, d in result["datasets"].items():
        lines.append(f"| {name} | {d['count']} | {d['psnr']:.2f} | {d['ssim']:.4f} | {d['ms_per_image']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m keras_sr.evaluate",
        description="PSNR / SSIM (Y channel, shave = scale) and ms per image on the benchmark sets.",
        epilog=BICUBIC_NOTE + ".",
    )
    parser.add_argument("--model", help="network name, or 'bicubic' for the baseline "
                        "(optional when --weights has a .weights.json sidecar)")
    parser.add_argument("--weights", help="Keras .weights.h5 file (keras_sr.train / keras_sr.port)")
    parser.add_argument("--scale", type=int, help="upscaling factor (optional when the sidecar gives it)")
    parser.add_argument("--set", action="append", default=[], metavar="K=V",
                        help="model config override for weights without a sidecar (repeatable)")
    parser.add_argument("--datasets", nargs="+", default=list(PAPER_DATASETS),
                        help="dataset names under --data-root or paths (default: Set5 Set14 BSD100 Urban100)")
    parser.add_argument("--data-root", help="folder with NAME/ (HR images) or NAME_x{S}.h5 (prepare --eval)")
    parser.add_argument("--self-ensemble", action="store_true", help="average over the 8 flips/transposes")
    parser.add_argument("--max-images", type=int, help="score only the first N images of each dataset")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)
    if args.max_images is not None and args.max_images < 1:
        parser.error(f"--max-images must be an integer >= 1. Received: --max-images {args.max_images}")
    try:
        config = parse_set_options(args.set)
        if args.model == "bicubic":
            if args.weights:
                parser.error("--model bicubic takes no --weights")
            if args.scale is None:
                parser.error("--model bicubic needs --scale")
            model, scale = "bicubic", args.scale
        else:
            if not args.weights:
                parser.error("--weights is required (or --model bicubic for the baseline)")
            from keras_sr.checkpoints import load_model

            model, meta = load_model(args.weights, name=args.model, scale=args.scale, config=config)
            scale = meta["scale"]
        result = evaluate(model, scale, args.datasets, args.data_root, self_ensemble=args.self_ensemble,
                          max_images=args.max_images, verbose=not args.json)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if args.weights:
        result["weights"] = str(args.weights)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
