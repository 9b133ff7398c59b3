"""The one scoring loop: read, make LR, run any predictor, Y-PSNR / SSIM. No TensorFlow.

A predictor maps a float32 (1, h, w, 3) batch in [0, 1] to (1, s*h, s*w, 3). It can be
a TFLite runtime (`TFLiteSR.predict` wrapped by `batch_predictor`), a Keras model
(`keras_predictor`, which imports TensorFlow when called) or `bicubic_predictor`.
Used by `evaluate`, `convert`'s verification, the board benchmark, the demo and the
per-epoch evaluation of training runs, so every tool reports the same number.

Metrics are `keras_sr.metrics`: BT.601 Y channel, border shave = scale, float64,
MATLAB conventions. The output is clipped to [0, 1] first.
"""
from __future__ import annotations

import time

import numpy as np

from keras_sr import metrics

__all__ = [
    "BICUBIC_NOTE",
    "keras_predictor",
    "batch_predictor",
    "bicubic_predictor",
    "super_resolve",
    "score_items",
    "eval_items",
    "score_sets",
]

BICUBIC_NOTE = "bicubic = PIL Image.BICUBIC upscaling of the PIL-bicubic LR (not MATLAB imresize)"


def keras_predictor(model):
    """A predictor over a Keras model: one tf.function with a (1, None, None, 3) signature,
    so images of any size share a trace. Imports TensorFlow."""
    from keras_sr._keras import tf

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def forward(x):
        return tf.cast(model(x, training=False), tf.float32)

    def predict(x):
        return forward(tf.constant(x, tf.float32)).numpy()

    return predict


def batch_predictor(predict_one):
    """Turns an (h, w, 3) -> (sh, sw, 3) function (such as `TFLiteSR.predict`) into a predictor."""

    def predict(x):
        return np.stack([predict_one(image) for image in x])

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


def _transforms():
    """The 8 symmetries of the square as (forward, inverse) on (H, W, C) arrays."""
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


def score_items(predict, items, scale, self_ensemble=False, warm_up=True, reference=None):
    """Mean Y-PSNR / SSIM (shave = scale) and forward ms per image over `(name, lr, hr)` uint8 items.

    `warm_up` runs the first image once outside the timing (tracing, allocation).
    `reference`, a second predictor (say the Keras model a .tflite file came from), adds
    per image its own PSNR against HR and the PSNR / max abs difference of `predict`'s
    output against it.

    Returns:
        {"psnr", "ssim", "ms_per_image", "count", "images": [{"name", "lr_hw", "psnr", "ssim", "ms"
        (+ "psnr_reference", "psnr_vs_reference", "max_abs_vs_reference")}]}.
    """
    rows = []
    for name, lr, hr in items:
        if warm_up and not rows:
            super_resolve(predict, lr, self_ensemble)
        t = time.perf_counter()
        sr = super_resolve(predict, lr, self_ensemble)
        ms = (time.perf_counter() - t) * 1000.0
        if sr.shape != hr.shape:
            raise ValueError(f"Image {name!r}: the model gave {sr.shape} for LR {lr.shape}; HR is {hr.shape}.")
        row = {"name": name, "lr_hw": list(lr.shape[:2]), "psnr": metrics.psnr(sr, hr, scale),
               "ssim": metrics.ssim(sr, hr, scale), "ms": ms}
        if reference is not None:
            ref = super_resolve(reference, lr, self_ensemble)
            row.update(psnr_reference=metrics.psnr(ref, hr, scale), psnr_vs_reference=metrics.psnr(sr, ref, scale),
                       max_abs_vs_reference=float(np.max(np.abs(sr - ref))))
        rows.append(row)
    if not rows:
        raise ValueError("No images to score.")
    return {
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "ms_per_image": float(np.mean([r["ms"] for r in rows])),
        "count": len(rows),
        "images": rows,
    }


def eval_items(source, scale, max_images=None):
    """`(name, lr, hr)` uint8 items of a PairSource, an .h5 file or a folder of HR images.

    Every LR image comes from `keras_sr.data.make_lr` (folders) or the file (.h5).
    """
    from keras_sr.data.sources import PairSource, open_pairs

    if not isinstance(source, PairSource):
        source = open_pairs(source, scale)  # errors surface here, not at the first next()
    count = len(source) if max_images is None else min(len(source), max_images)

    def items():
        for i in range(count):
            lr, hr = source[i]
            yield source.name(i), lr, hr

    return items()


def score_sets(predict, eval, scale, data_root=None, max_images=None, self_ensemble=False, warm_up=True,
               progress=None):
    """Score `predict` on each evaluation set.

    Args:
        eval: names or paths (see `keras_sr.paths.resolve_eval`); every one is resolved
            before any is scored, so a typo fails at once.
        progress: optional callable(name, scores) called as each set finishes.

    Returns:
        {name: {"path", "count", "psnr", "ssim", "ms_per_image", "images"}}.
    """
    from keras_sr.paths import resolve_eval
    from keras_sr.validation import check_optional_int

    check_optional_int(max_images, "max_images", 1)
    if isinstance(eval, str) or not eval:
        eval = [eval] if isinstance(eval, str) else eval
    if not eval:
        raise ValueError("`eval` is empty; name at least one evaluation set (e.g. Set5).")
    paths = {str(name): resolve_eval(name, scale, data_root) for name in eval}
    result = {}
    for name, path in paths.items():
        scores = score_items(predict, eval_items(path, scale, max_images), scale, self_ensemble, warm_up)
        result[name] = {"path": str(path), **scores}
        if progress is not None:
            progress(name, scores)
    return result
