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
from keras_sr.validation import check_sha256, sha256_file

#: The first bytes of every HDF5 file (at offset 0 in the files Keras writes).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

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
        digest = sha256_file(tmp)
    # The hash is checked by load_model: a corrupted or replaced weights file is refused.
    record = {"qat": False, "pruned": False, **meta, "sha256": digest}
    atomic_write_text(sidecar_path(path), json.dumps(record, indent=2))
    return path


def check_weights_file(path, name="weights"):
    """`path` as a Path to an existing HDF5 file; a missing, empty, truncated or non-HDF5 file is named."""
    path = Path(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "missing"
        raise FileNotFoundError(f"`{name}` file '{path}' does not exist ({what}).")
    with open(path, "rb") as f:
        head = f.read(len(HDF5_SIGNATURE))
    if head != HDF5_SIGNATURE:
        got = "an empty file" if not head else f"a file starting with {head[:8]!r}"
        raise ValueError(f"`{name}` file '{path}' is not an HDF5 weights file (.weights.h5): expected the HDF5 "
                         f"signature, received {got}.")
    try:
        import h5py

        with h5py.File(path, "r") as f:
            f.visit(lambda _: None)
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        raise ValueError(f"`{name}` file '{path}' is a damaged HDF5 file (truncated or corrupt): {e}") from e
    return path


def load_weights_into(model, path, name="weights", describe=None, verify=True):
    """`model.load_weights(path)` with the file checked first and any reading error naming the file.

    With `verify`, a sidecar that records a SHA-256 must match the file.
    """
    path = check_weights_file(path, name)
    if verify:
        meta = read_meta(path)
        if meta:
            check_sha256(path, meta.get("sha256"), sidecar_path(path))
    try:
        model.load_weights(str(path))
    except (ValueError, KeyError, OSError, RuntimeError, TypeError) as error:
        what = describe or f"model {model.name!r}"
        raise ValueError(f"`{name}` file '{path}' does not fit {what}: {type(error).__name__}: {error}") from error
    return model


def read_meta(weights_path):
    """The sidecar of `weights_path`, or None when there is none."""
    side = sidecar_path(weights_path)
    if not side.is_file():
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"Sidecar '{side}' of weights file '{weights_path}' is not valid JSON: {e}") from e
    if not isinstance(meta, dict):
        raise ValueError(f"Sidecar '{side}' of weights file '{weights_path}' must hold a JSON object. "
                         f"Received: {type(meta).__name__}")
    missing = [key for key in ("model", "scale") if key not in meta]
    if missing:
        raise ValueError(f"Sidecar '{side}' of weights file '{weights_path}' lacks the key(s) {missing}; expected "
                         "at least {\"model\": NAME, \"scale\": S, \"config\": {...}}.")
    if not isinstance(meta.get("config", {}), dict):
        raise ValueError(f"Sidecar '{side}': \"config\" must be a JSON object. "
                         f"Received: config={meta['config']!r}")
    return meta


def load_model(weights_path, name=None, scale=None, config=None):
    """Rebuilds the model a weights file belongs to and loads the weights.

    `name`, `scale` and `config` are needed only when the file has no sidecar
    (for example weights written by `keras_sr.port`); when both exist they must agree.
    """
    weights_path = check_weights_file(weights_path)
    meta = read_meta(weights_path) or {}
    if meta:
        check_sha256(weights_path, meta.get("sha256"), sidecar_path(weights_path))
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
    load_weights_into(model, weights_path, verify=False,
                      describe=f"model {name!r} at x{scale} with config {config or {}}")
    if meta.get("qat") and meta.get("qat_scheme") == "prune_preserve":
        from keras_sr.optimize.qat import restore_sparsity_masks

        # The masks are constants taken from the kernels at build time (random then).
        restore_sparsity_masks(model)
    return model, {"model": name, "scale": scale, "config": config or {}, **meta}
