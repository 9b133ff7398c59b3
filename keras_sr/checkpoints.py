"""Weights files with a sidecar that says how to rebuild the model.

Every weights file keras-sr writes (`X.weights.h5`) gets `X.weights.json` beside it:
`{"model": name, "scale": s, "config": {...}, "qat": bool, "pruned": bool, ...}`.
`load_model(path)` rebuilds the right graph (QAT wrappers included) and loads the
weights, so convert/evaluate/upscale need only the weights path.
"""
import json
from pathlib import Path

from keras_sr import models
from keras_sr.fileio import atomic_output, write_text

SUFFIX = ".weights.h5"


def sidecar_path(weights_path):
    weights_path = Path(weights_path)
    name = weights_path.name
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else weights_path.stem
    return weights_path.with_name(stem + ".weights.json")


def atomic_write_text(path, text):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, text)


def save_model_weights(model, path, meta, overwrite=True):
    """Writes weights (atomically) and the sidecar. `meta` needs model, scale, config."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        raise ValueError(f"Weights path must end in {SUFFIX!r}. Received: {path}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass force=True (--force) to overwrite it")
    missing = {"model", "scale", "config"} - set(meta)
    if missing:
        raise ValueError(f"`meta` needs keys {sorted(missing)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if getattr(model, "optimizer", None) is not None:
        # Keras writes a compiled model's optimizer state into its weights file (Adam: 3x the
        # size). An uncompiled functional view over the same layers writes the same layout
        # without it; checkpoints (ckpt/) keep the optimizer for resuming.
        from keras_sr._keras import keras

        model = keras.Model(model.inputs, model.outputs, name=model.name)
    with atomic_output(path, suffix=SUFFIX) as tmp:  # the suffix makes Keras write HDF5
        model.save_weights(tmp)
    atomic_write_text(sidecar_path(path), json.dumps({"qat": False, "pruned": False, **meta}, indent=2))
    return path


def read_meta(weights_path):
    """The sidecar of `weights_path`, or None when there is none."""
    side = sidecar_path(weights_path)
    if not side.is_file():
        return None
    return json.loads(side.read_text())


def load_model(weights_path, name=None, scale=None, config=None):
    """Rebuilds the model a weights file belongs to and loads the weights.

    `name`, `scale` and `config` are needed only when the file has no sidecar
    (for example weights written by `keras_sr.port`); when both exist they must agree.
    """
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise FileNotFoundError(f"Weights file not found: {weights_path}")
    meta = read_meta(weights_path) or {}
    if meta:
        for key, given in (("model", name), ("scale", scale)):
            if given is not None and given != meta[key]:
                raise ValueError(
                    f"`{key}` does not match the weights: {weights_path} holds "
                    f"{key}={meta[key]!r}, received {key}={given!r}"
                )
        name, scale = meta["model"], meta["scale"]
        config = {**meta.get("config", {}), **(config or {})}
    elif name is None or scale is None:
        raise ValueError(
            f"{weights_path} has no sidecar {sidecar_path(weights_path).name}; "
            "give the model name and scale (`name`, `scale`; --model NAME --scale S)"
        )
    model = models.build(name, scale, **(config or {}))
    if meta.get("qat"):
        from keras_sr.optimize.qat import quantize_model

        # "qat_scheme": "prune_preserve" for pruning-preserving QAT (weights differ).
        model = quantize_model(model, scheme=meta.get("qat_scheme", "default"))
    try:
        model.load_weights(str(weights_path))
    except (ValueError, KeyError) as error:
        raise ValueError(
            f"{weights_path} does not fit model {name!r} at x{scale} with config {config or {}}: {error}"
        ) from error
    if meta.get("qat") and meta.get("qat_scheme") == "prune_preserve":
        from keras_sr.optimize.qat import restore_sparsity_masks

        # The masks are constants taken from the kernels at build time (random then).
        restore_sparsity_masks(model)
    return model, {"model": name, "scale": scale, "config": config or {}, **meta}
