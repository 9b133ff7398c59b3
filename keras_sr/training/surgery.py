"""Weight surgery beside the checkpoints: start a model from another model's weights.

`load_matching_weights` copies the layers whose names and shapes match (fine-tuning
x4 from x2 keeps the body, re-initialises the upsampler); from a model with fewer
recursions the global fusion grows zero inputs, so the grown model starts as the same
function (`init_weights` of `keras_sr.training.train`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["load_matching_weights", "GLOBAL_FUSION_INPUT"]

# The 1x1 conv that fuses the outputs of the U recursions (models.common.global_fusion).
GLOBAL_FUSION_INPUT = "gff_0"


def _read_source_weights(path):
    """{layer name: [arrays]} of a weights file.

    A keras-sr `.weights.h5` (Keras-v3 layout, whose groups are not named after the
    layers) is read by rebuilding its model from the sidecar; a legacy tf_keras .h5
    (root attribute `layer_names`) is read directly.
    """
    import h5py

    from keras_sr.checkpoints import load_model, read_meta, sidecar_path

    if read_meta(path) is not None:
        source, _ = load_model(path)
        return {layer.name: layer.get_weights() for layer in source.layers if layer.weights}
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"`init_weights` {path} is not a Keras .h5 weights file: {error}") from None
    with f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"`init_weights` {path} has no sidecar {sidecar_path(path).name} saying which model it "
                "belongs to, and is not a legacy tf_keras .h5 file (no 'layer_names')."
            )
        weights = {}
        for raw in group.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group[name].attrs.get("weight_names", [])]
            if names:
                weights[name] = [np.asarray(group[name][n]) for n in names]
        return weights


def _grow_fusion_inputs(arrays, wanted):
    """gff_0 weights of a model with fewer recursions, zero for the extra outputs.

    The shared block computes the first recursions exactly as before, and zero fusion
    weights ignore the new ones, so the grown model starts as the same function. Other
    shape changes are returned unchanged (and then skipped by the caller).
    """
    kernel, *rest = arrays
    wanted_kernel, *wanted_rest = wanted
    grows_inputs_only = (
        kernel.ndim == 4 and kernel.shape[:2] == wanted_kernel[:2] and kernel.shape[3] == wanted_kernel[3]
        and kernel.shape[2] < wanted_kernel[2] and [a.shape for a in rest] == list(wanted_rest)
    )
    if not grows_inputs_only:
        return arrays
    padding = np.zeros((*kernel.shape[:2], wanted_kernel[2] - kernel.shape[2], kernel.shape[3]), kernel.dtype)
    return [np.concatenate([kernel, padding], axis=2), *rest]


def load_matching_weights(model, path):
    """Copy into `model` the layers of a weights file whose names and shapes match.

    Returns `(loaded, skipped)`: layer names, and `(name, reason)` pairs for layers of
    `model` that kept their initial weights (absent from the file or shaped differently,
    e.g. the upsampler and the bicubic skip when fine-tuning x4 from x2).
    From a model with fewer recursions (config `recursions=U`), the global fusion's
    extra inputs start at zero, so training starts from the source model's output.
    """
    from keras_sr.checkpoints import check_weights_file

    path = check_weights_file(path, "init_weights")  # missing, empty, truncated or not HDF5: named
    source = _read_source_weights(path)
    loaded, skipped = [], []
    for layer in model.layers:
        current = layer.get_weights()
        if not current:
            continue
        if layer.name not in source:
            skipped.append((layer.name, "not in the file"))
            continue
        arrays = source[layer.name]
        shapes, wanted = [a.shape for a in arrays], [c.shape for c in current]
        if layer.name == GLOBAL_FUSION_INPUT and shapes != wanted:
            arrays = _grow_fusion_inputs(arrays, wanted)
            shapes = [a.shape for a in arrays]
        if shapes != wanted:
            skipped.append((layer.name, f"shapes {shapes} in the file, {wanted} in the model"))
            continue
        layer.set_weights(arrays)
        loaded.append(layer.name)
    if not loaded:
        raise ValueError(
            f"`init_weights` {path}: no layer matches the model by name and shape "
            f"(skipped: {[name for name, _ in skipped]})."
        )
    return loaded, skipped
