"""Score a model on the benchmark sets: Y-PSNR / SSIM (shave = scale) and time per image.

    keras-sr evaluate --weights runs/fd_irb_x4/best.weights.h5 --eval Set5 Set14 BSD100 Urban100
    keras-sr evaluate --model fd_irb_edge_x4 --eval Set5          (a preset's int8 file, no TensorFlow)
    keras-sr evaluate --tflite model.tflite --eval Set5
    keras-sr evaluate --model bicubic --scale 4 --eval Set5

Every LR image comes from `keras_sr.data.make_lr` (modcrop + PIL bicubic downscaling);
an evaluation name resolves as `keras_sr.paths.resolve_eval` says (a path, or a name
under `data_root`, then `$KERAS_SR_DATA`). Images run whole, one at a time (batch 1);
the output is clipped to [0, 1] and quantised like MATLAB's im2uint8 before
`keras_sr.metrics` scores it. The loop is `keras_sr.scoring`, shared with every tool.

`bicubic` is the bicubic baseline *as this project computes it*: PIL's BICUBIC filter
(a = -0.5) for the upscaling as for the downscaling. SR papers usually quote MATLAB
`imresize` bicubic (antialiased downscaling, a = -0.5 too); numbers differ slightly.

`self_ensemble` averages the outputs for the 8 flips/transposes of the input (EDSR's x8).
Processing time is the wall time of the forward pass(es) per image in ms, on this machine,
excluding the first (tracing) call and the metric computation.
"""
from __future__ import annotations

from pathlib import Path

from keras_sr.paths import PAPER_DATASETS
from keras_sr.scoring import (BICUBIC_NOTE, batch_predictor, bicubic_predictor, keras_predictor, score_items,
                              score_sets, super_resolve)

__all__ = ["evaluate", "load_scored_model", "format_table", "main", "BICUBIC_NOTE", "PAPER_DATASETS",
           "super_resolve", "bicubic_predictor", "make_predictor", "score_items", "resolve_dataset"]

#: The old name of `keras_sr.scoring.keras_predictor`.
make_predictor = keras_predictor


def resolve_dataset(name, data_root, scale):
    """The old name of `keras_sr.paths.resolve_eval` (argument order kept)."""
    from keras_sr.paths import resolve_eval

    return resolve_eval(name, scale, data_root)


def load_scored_model(model=None, weights=None, tflite=None, scale=None, config=None, num_threads=None,
                      runtime="litert", tile=None, overlap=None):
    """What `evaluate` scores, from the flags: (model object, scale, description).

    `model` "bicubic" (needs `scale`), a preset name (its int8 file), or a registered
    network for `weights` without a sidecar; `tflite` any .tflite file; `weights` a
    Keras checkpoint (imports TensorFlow). `runtime`="tflm" runs the .tflite in TFLite
    Micro's interpreter tile by tile (`tile`, `overlap`: see `keras_sr.lite.tflm.TFLMSR`).
    """
    from keras_sr import presets

    if model == "bicubic":
        if weights is not None or tflite is not None:
            raise ValueError("`model`='bicubic' takes no `weights` or `tflite`.")
        if scale is None:
            raise ValueError("`model`='bicubic' needs `scale`. Received: scale=None")
        return "bicubic", scale, "bicubic"
    if weights is not None:
        from keras_sr.checkpoints import load_model

        keras_model, meta = load_model(weights, name=model, scale=scale, config=config)
        return keras_model, meta["scale"], str(weights)
    if tflite is None and model is None:
        raise ValueError("Name what to evaluate: `weights`, `tflite`, a preset `model` or model='bicubic'.")
    if tflite is None and not presets.is_preset(model):
        raise ValueError(f"`model`={model!r} is not a preset (available: {presets.names()}) or 'bicubic'; "
                         "a registered network needs `weights`.")
    from keras_sr.lite.runtime import TFLiteSR, note_unverified
    from keras_sr.upscale import RUNTIMES, tflite_file

    if runtime not in RUNTIMES:
        raise ValueError(f"`runtime` must be one of {RUNTIMES}. Received: runtime={runtime!r}")
    path = tflite_file(model, tflite, scale)
    if runtime == "tflm":
        from keras_sr.lite.tflm import TFLMSR

        sr = TFLMSR(path, tile=tile, overlap=overlap)
        if scale is not None and sr.scale != scale:
            raise ValueError(f"'{path}' upscales x{sr.scale}, which does not match `scale`. Received: scale={scale}")
        return sr, sr.scale, f"{path} (TFLM, tile {sr.tile[1]}x{sr.tile[0]}, overlap {sr.overlap})"
    runtime = TFLiteSR(path, num_threads=num_threads)
    note_unverified(runtime)
    if scale is not None and runtime.scale != scale:
        raise ValueError(f"'{path}' upscales x{runtime.scale}, which does not match `scale`. Received: scale={scale}")
    return runtime, runtime.scale, str(path)


def evaluate(model, scale, eval=PAPER_DATASETS, data_root=None, self_ensemble=False, eval_max_images=None,
             progress=None, datasets=None, max_images=None):
    """Y-PSNR / SSIM (shave = scale) and forward time of `model` on each evaluation set.

    Args:
        model: a Keras model (RGB in [0, 1], any size), a `TFLiteSR` runtime, or "bicubic".
        scale: upscaling factor.
        eval: names or paths of evaluation sets (see `keras_sr.paths.resolve_eval`).
        data_root: where bare names are looked up first.
        self_ensemble: average the outputs for the 8 flips/transposes of each input.
        eval_max_images: score only the first N images of each set.
        progress: optional callable(name, scores) called as each set finishes.
        datasets, max_images: the old names of `eval` and `eval_max_images`.

    Returns:
        {"model", "scale", "self_ensemble", "eval_max_images", "metric", "datasets":
        {name: {"path", "count", "psnr", "ssim", "ms_per_image", "images": [...]}}}.
    """
    eval = datasets if datasets is not None else eval
    eval_max_images = max_images if max_images is not None else eval_max_images
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.lite.tflm import TFLMSR

    if isinstance(model, str):
        if model != "bicubic":
            raise ValueError(f"`model` must be a Keras model, a TFLiteSR or 'bicubic'. Received: model={model!r}")
        predict, name = bicubic_predictor(scale), "bicubic"
    elif isinstance(model, TFLiteSR):
        predict, name = batch_predictor(model.predict), Path(model.model_path).name
    elif isinstance(model, TFLMSR):
        predict, name = batch_predictor(model.predict), f"{Path(model.source_path).name} (TFLM)"
    else:
        predict, name = keras_predictor(model), model.name
    result = {
        "model": name,
        "scale": scale,
        "self_ensemble": bool(self_ensemble),
        "eval_max_images": eval_max_images,
        "metric": f"Y (BT.601) PSNR/SSIM, shave {scale}; LR = modcrop + PIL bicubic (keras_sr.data.make_lr)",
    }
    if name == "bicubic":
        result["bicubic"] = BICUBIC_NOTE
    result["datasets"] = score_sets(predict, eval, scale, data_root, eval_max_images, self_ensemble,
                                    warm_up=name != "bicubic", progress=progress)
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
    """`python -m keras_sr.evaluate`: the same as `keras-sr evaluate`."""
    from keras_sr.cli.evaluate import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
