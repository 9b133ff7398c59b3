"""Magnitude pruning of keras-sr models with tfmot.

`prune_model` wraps every built-in Conv2D in a `PruneLowMagnitude` wrapper and
nothing else (the keras-sr layers have no prunable weights: the bicubic kernel is
fixed, Scale is one number). A shared (recursive) Conv2D gets one wrapper and so
one mask for all of its calls. `fit` needs `pruning_callbacks()`; `strip` removes the
wrappers and leaves a float model of the original structure whose kernels hold zeros.

Sparsity makes the compressed file smaller, not the model faster: TFLite's CPU
kernels (builtin and XNNPACK) run CONV_2D dense, so Multi-Adds are unchanged and a
zero weight is still multiplied. `sparsity_report` says so in its output.
"""
import numpy as np

from keras_sr._keras import keras
from keras_sr.validation import check_int

import tensorflow_model_optimization as tfmot  # noqa: E402  (after keras_sr._keras)

__all__ = [
    "SCHEDULES",
    "prune_model",
    "pruning_callbacks",
    "strip",
    "is_pruned",
    "prunable_layers",
    "sparsity_report",
    "m_by_n_violations",
    "MULTI_ADDS_NOTE",
]

SCHEDULES = ("constant", "polynomial")
PRUNABLE_CLASSES = (keras.layers.Conv2D,)  # DepthwiseConv2D is a subclass
MULTI_ADDS_NOTE = (
    "Multi-Adds are unchanged by pruning: TFLite CPU kernels (builtin and XNNPACK) run "
    "CONV_2D dense, so every zero weight is still multiplied. Sparsity only shrinks the "
    "compressed model file."
)

_sparsity = tfmot.sparsity.keras




def _schedule(schedule, target_sparsity, begin_step, end_step, frequency):
    if schedule not in SCHEDULES:
        raise ValueError(f"`schedule` must be one of {SCHEDULES}. Received: schedule={schedule!r}")
    if isinstance(target_sparsity, bool) or not isinstance(target_sparsity, (int, float)) or not (
        0.0 <= float(target_sparsity) < 1.0
    ):
        raise ValueError(
            f"`target_sparsity` must be a number in [0, 1). Received: target_sparsity={target_sparsity!r}"
        )
    begin_step = check_int(begin_step, "begin_step", 0)
    frequency = check_int(frequency, "frequency", 1)
    if schedule == "constant":
        end_step = -1 if end_step is None else check_int(end_step, "end_step", begin_step)
        return _sparsity.ConstantSparsity(float(target_sparsity), begin_step, end_step, frequency)
    valid_end = isinstance(end_step, (int, np.integer)) and not isinstance(end_step, bool) and end_step > begin_step
    if not valid_end:
        raise ValueError(
            "`end_step` must be an integer > `begin_step` with schedule='polynomial' (sparsity "
            f"ramps from 0 at begin_step to target_sparsity at end_step). Received: "
            f"begin_step={begin_step}, end_step={end_step!r}"
        )
    return _sparsity.PolynomialDecay(0.0, float(target_sparsity), begin_step, int(end_step), frequency=frequency)


def _check_m_by_n(m_by_n):
    if m_by_n is None:
        return None
    try:
        m, n = (int(v) for v in m_by_n)
    except (TypeError, ValueError):
        raise ValueError(
            f"`m_by_n` must be None or a pair (m, n) such as (2, 4). Received: m_by_n={m_by_n!r}"
        ) from None
    if not 0 < m < n:
        raise ValueError(f"`m_by_n` must satisfy 0 < m < n, e.g. (2, 4). Received: m_by_n={m_by_n!r}")
    return m, n


def is_pruned(model):
    """True when `model` holds tfmot pruning wrappers."""
    return any(type(layer).__name__ == "PruneLowMagnitude" for layer in model.layers)


def prunable_layers(model):
    """The layers of `model` that `prune_model` wraps (built-in Conv2D), each once."""
    return [layer for layer in model.layers if isinstance(_unwrap(layer), PRUNABLE_CLASSES)]


def _unwrap(layer):
    return getattr(layer, "layer", layer)


def prune_model(
    model,
    schedule="constant",
    target_sparsity=0.5,
    begin_step=0,
    end_step=None,
    frequency=100,
    m_by_n=None,
):
    """A copy of a float keras-sr model with every Conv2D wrapped for magnitude pruning.

    The copy has fresh layers holding copies of the weights, so training it does not
    change `model`.

    Args:
        model: a flat functional float model (`keras_sr.models.build`).
        schedule: "constant" (`target_sparsity` from `begin_step` on, re-pruned
            every `frequency` steps) or "polynomial" (0 at `begin_step` rising to
            `target_sparsity` at `end_step`, tfmot's PolynomialDecay, power 3).
        target_sparsity: fraction of each kernel set to zero, in [0, 1). Ignored
            with `m_by_n`, whose sparsity is m / n.
        begin_step, end_step, frequency: in optimizer steps. `end_step` None means
            "never stop" for "constant" and is required for "polynomial".
        m_by_n: None, or (m, n) such as (2, 4): m zeros in every n consecutive kernel
            values along the input-channel axis (TFLite's [C_out, H, W, C_in] layout).

    Returns:
        The pruning model. Train it with `callbacks=pruning_callbacks()`.
    """
    pruning_schedule = _schedule(schedule, target_sparsity, begin_step, end_step, frequency)
    m_by_n = _check_m_by_n(m_by_n)
    if is_pruned(model):
        raise ValueError(f"Model {model.name!r} already has pruning wrappers.")
    if not prunable_layers(model):
        raise ValueError(f"Model {model.name!r} has no Conv2D layer to prune.")

    def wrap(layer):
        fresh = layer.__class__.from_config(layer.get_config())
        if isinstance(layer, PRUNABLE_CLASSES):
            return _sparsity.prune_low_magnitude(
                fresh, pruning_schedule=pruning_schedule, sparsity_m_by_n=m_by_n
            )
        return fresh

    pruned = keras.models.clone_model(model, clone_function=wrap)
    for layer in model.layers:
        if layer.weights:
            _unwrap(pruned.get_layer(_wrapped_name(pruned, layer.name))).set_weights(layer.get_weights())
    return pruned


def _wrapped_name(model, name):
    # tfmot names a pruning wrapper "prune_low_magnitude_<layer>".
    for candidate in (name, "prune_low_magnitude_" + name):
        try:
            model.get_layer(candidate)
            return candidate
        except ValueError:
            continue
    raise ValueError(f"Layer {name!r} not found in model {model.name!r}")


def pruning_callbacks(log_dir=None):
    """Callbacks `fit` needs for a pruning model: UpdatePruningStep (required, else the
    wrapper fails), plus PruningSummaries (sparsity per layer in TensorBoard) when
    `log_dir` is given."""
    callbacks = [_sparsity.UpdatePruningStep()]
    if log_dir is not None:
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            # tf.summary.scalar needs it; without it fit fails at the first epoch.
            raise ImportError("`log_dir` needs the tensorboard package (pip install tensorboard).")
        callbacks.append(_sparsity.PruningSummaries(log_dir=str(log_dir)))
    return callbacks


def strip(model):
    """The float model without pruning wrappers (tfmot `strip_pruning`); kernels keep their zeros.

    Its output equals the pruning model's output; its layers are the pruning model's
    inner layers (shared, not copied).
    """
    return _sparsity.strip_pruning(model)


def _kernel(layer):
    # The variable, not `layer.kernel`: a QAT wrapper replaces that attribute by its
    # fake-quantized tensor.
    for weight in layer.weights:
        if weight.name.split("/")[-1].startswith("kernel") and "_min" not in weight.name and "_max" not in weight.name:
            return weight
    return None


def _conv_kernels(model):
    """[(layer name, kernel variable)] of every Conv2D in a float, pruned or QAT model."""
    out = []
    for layer in model.layers:
        inner = _unwrap(layer)
        if isinstance(inner, PRUNABLE_CLASSES):
            # In a pruning wrapper the inner layer owns the kernel; in a QAT wrapper
            # too (the wrapper lists it among its weights).
            kernel = _kernel(inner)
            if kernel is None:
                kernel = _kernel(layer)
            out.append((inner.name, kernel))
    return out


def sparsity_report(model):
    """Sparsity of every Conv2D kernel and of the whole model.

    Works on float, pruning, stripped and QAT models. Every weight is counted once,
    so a shared layer counts once however often it is called.

    Returns:
        {"layers": [{"name", "params", "nonzero", "sparsity"}] (Conv2D kernels),
         "kernels": {"params", "nonzero", "sparsity"} (all Conv2D kernels),
         "total": {"params", "nonzero", "sparsity"} (all trainable weights, biases and
         scalars included), "multi_adds_saved": 0, "note": MULTI_ADDS_NOTE}
    """
    layers = []
    for name, kernel in _conv_kernels(model):
        values = kernel.numpy()
        nonzero = int(np.count_nonzero(values))
        layers.append(
            {"name": name, "params": int(values.size), "nonzero": nonzero, "sparsity": 1.0 - nonzero / values.size}
        )
    kernel_params = sum(entry["params"] for entry in layers)
    kernel_nonzero = sum(entry["nonzero"] for entry in layers)
    seen = {}
    for weight in model.trainable_weights:
        seen[id(weight)] = weight
    total_params = sum(int(np.prod(w.shape)) for w in seen.values())
    total_nonzero = sum(int(np.count_nonzero(w.numpy())) for w in seen.values())

    def frac(nonzero, params):
        return 1.0 - nonzero / params if params else 0.0

    return {
        "layers": layers,
        "kernels": {
            "params": kernel_params, "nonzero": kernel_nonzero, "sparsity": frac(kernel_nonzero, kernel_params)
        },
        "total": {"params": total_params, "nonzero": total_nonzero, "sparsity": frac(total_nonzero, total_params)},
        "multi_adds_saved": 0,
        "note": MULTI_ADDS_NOTE,
    }


def m_by_n_violations(kernel, m_by_n=(2, 4)):
    """Groups of a Conv2D kernel (H, W, C_in, C_out) that break the m:n pattern.

    Groups are n consecutive input channels at one (h, w, c_out), the layout tfmot
    and TFLite use. A trailing group of r < n channels must hold at least
    max(0, m - (n - r)) zeros (tfmot pads it with zeros). Returns the number of
    offending groups (0 when the pattern holds).
    """
    m, n = _check_m_by_n(m_by_n)
    values = np.asarray(kernel)
    if values.ndim != 4:
        raise ValueError(f"`kernel` must be a Conv2D kernel (H, W, C_in, C_out). Received shape {values.shape}")
    rows = np.moveaxis(values, 2, -1).reshape(-1, values.shape[2])  # (H*W*C_out, C_in)
    bad = 0
    for start in range(0, rows.shape[1], n):
        group = rows[:, start : start + n]
        need = max(0, m - (n - group.shape[1]))
        bad += int(np.sum(np.sum(group == 0, axis=1) < need))
    return bad
