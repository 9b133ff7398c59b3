"""Quantization-aware training (QAT) of keras-sr models with tfmot.

`quantize_model(model)` returns a copy of `model` with fake-quant nodes: built-in
Conv2D / Add / Concatenate / ReLU get tfmot's default 8-bit configs, the keras-sr
layers and `Multiply` get the configs of `keras_sr.optimize.quantize_configs`,
chosen by layer class. Shared (recursive) layers stay shared: one wrapper, one set
of weights, one activation range for all of its calls.

A QAT model is saved with `keras_sr.checkpoints.save_model_weights(..., meta with
"qat": True, "qat_scheme": scheme)` and restored with `checkpoints.load_model`,
which rebuilds the float graph, calls `quantize_model` and loads the weights
(a `.keras` file of a QAT model does not reload with tfmot 0.8.1 and tf_keras 2.21).
"""
import contextlib

import numpy as np

from keras_sr._keras import keras, tf
from keras_sr.optimize.quantize_configs import config_for_layer, custom_objects

import tensorflow_model_optimization as tfmot  # noqa: E402  (after keras_sr._keras)

__all__ = [
    "SCHEMES",
    "quantize_model",
    "quantize_scope",
    "is_quantized",
    "calibrate",
    "activation_ranges",
    "restore_sparsity_masks",
]

SCHEMES = ("default", "prune_preserve")

_tfq = tfmot.quantization.keras


def _scheme(name):
    if name == "default":
        return _tfq.default_8bit.Default8BitQuantizeScheme()
    if name == "prune_preserve":
        return tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme()
    raise ValueError(f"`scheme` must be one of {SCHEMES}. Received: scheme={name!r}")


def quantize_scope():
    """`tfmot.quantization.keras.quantize_scope` with every keras-sr layer and config registered."""
    return _tfq.quantize_scope(custom_objects())


def is_quantized(model):
    """True when `model` holds tfmot QAT wrappers."""
    return any(isinstance(layer, _tfq.QuantizeWrapperV2) for layer in model.layers)


def _untrain_fixed_weights(model):
    """Moves non-trainable quantized weights (the bicubic kernel) to the wrappers' non-trainable lists.

    QuantizeWrapper.build appends every weight its QuantizeConfig quantizes to the
    wrapper's `_trainable_weights`, trainable or not, so BicubicUpsample's fixed kernel
    would be trained in QAT. Leaving it there also breaks `.weights.h5` files: tf_keras
    saves `_trainable_weights + _non_trainable_weights` as they are, but on loading
    first re-tracks the variables it finds in the wrapper's `_weight_vars` and adds
    the (non-trainable) kernel to `_non_trainable_weights` a second time ("Layer
    'quant_bicubic' expected 7 variables, but received 6"). In the non-trainable
    list it is neither trained nor counted twice.
    """
    for layer in _wrappers(model):
        for weight in [w for w in layer._trainable_weights if not w.trainable]:
            layer._trainable_weights.remove(weight)
            if not any(weight is w for w in layer._non_trainable_weights):
                layer._non_trainable_weights.append(weight)


def quantize_model(model, scheme="default", per_channel_bicubic=True, warmup_shape=(1, 8, 8, 3)):
    """A QAT copy of a float keras-sr model (the input model is left untouched).

    Args:
        model: a flat functional float model from `keras_sr.models.build` (weights
            are carried over), or a pruned model after `keras_sr.optimize.prune.strip`.
        scheme: "default" (tfmot's 8-bit scheme) or "prune_preserve"
            (`Default8BitPrunePreserveQuantizeScheme`: conv kernels keep their zeros
            through QAT; use it on a stripped pruned model).
        per_channel_bicubic: quantize the fixed bicubic kernel with one scale per
            output channel (as tfmot does for Conv2D kernels), else one per tensor.
        warmup_shape: input shape of the one `training=True` call made after
            `quantize_apply`, on a ramp over [0, 1]. Weight ranges start at +-6 and
            the input range at [0, 0]; only a training call sets them (to the weights'
            min/max and to [0, 1]); without it `predict` returns near zero.
            Activation ranges move by 0.1% in that call (EMA decay 0.999): use
            `calibrate` to set them from data. None skips the call.

    Returns:
        The QAT model (QuantizeWrapperV2 layers), input (None, None, 3) as `model`'s.
    """
    _scheme(scheme)  # validate before the slow part
    if is_quantized(model):
        raise ValueError(f"Model {model.name!r} is already quantization-aware; pass the float model.")

    def annotate(layer):
        # The original layer object goes into the annotation (as tfmot's own
        # quantize_annotate_model does); quantize_apply copies it with its weights.
        return _tfq.quantize_annotate_layer(layer, quantize_config=config_for_layer(layer, per_channel_bicubic))

    with quantize_scope():
        annotated = keras.models.clone_model(model, clone_function=annotate)
        qat = _tfq.quantize_apply(annotated, scheme=_scheme(scheme))
    _untrain_fixed_weights(qat)
    if warmup_shape is not None:
        # A ramp over [0, 1]: the input quantizer (AllValuesQuantizer) starts at [0, 0]
        # and only widens, so a zero warm-up input would leave every input at zero.
        ramp = np.linspace(0.0, 1.0, int(np.prod(warmup_shape)), dtype=np.float32).reshape(warmup_shape)
        qat(tf.constant(ramp), training=True)
    return qat


def _wrappers(model):
    return [layer for layer in model.layers if isinstance(layer, _tfq.QuantizeWrapperV2)]


def _moving_average_ranges(model):
    """[(name, min_var, max_var)] of every activation/output range that tfmot tracks with
    an EMA (MovingAverageQuantizer): the ones that start at +-6."""
    ranges = []
    for layer in _wrappers(model):
        for activation in getattr(layer, "_quantize_activations", []):
            if isinstance(activation.quantizer, _tfq.quantizers.MovingAverageQuantizer):
                for attr in ("_pre_activation_vars", "_post_activation_vars"):
                    found = getattr(activation, attr, None)
                    if found:
                        ranges.append((f"{layer.name}{attr[:-5]}", found["min_var"], found["max_var"]))
        quantizers = getattr(layer, "_output_quantizers", [])
        if quantizers and isinstance(quantizers[0], _tfq.quantizers.MovingAverageQuantizer):
            found = layer._output_quantizer_vars
            ranges.append((f"{layer.name}_output", found["min_var"], found["max_var"]))
    return ranges


def activation_ranges(model):
    """{name: (min, max)} of every EMA-tracked activation range of a QAT model."""
    return {name: (float(lo.numpy().min()), float(hi.numpy().max())) for name, lo, hi in _moving_average_ranges(model)}


@contextlib.contextmanager
def _running_min_max():
    """While active, tfmot's EMA activation quantizers keep a running min/max instead.

    tfmot hard-codes the EMA decay (0.999) in MovingAverageQuantizer, so its ranges
    need thousands of steps to move from their +-6 start. This swaps, for the
    duration, the function the quantizer calls (`quant_ops.MovingAvgQuantize`) for one
    that widens [min, max] to the batch range and then fake-quantizes in eval mode.
    Only eager calls see the swap (a traced tf.function keeps what it traced).
    """
    from tensorflow_model_optimization.python.core.quantization.keras import quant_ops

    original = quant_ops.MovingAvgQuantize

    def running(inputs, min_var, max_var, per_channel=False, ema_decay=0.999, name_prefix="MovingAvgQuantize",
                is_training=True, num_bits=8, narrow_range=False, symmetric=False):
        if is_training:
            axes = list(range(inputs.shape.rank - 1)) if per_channel else None
            min_var.assign(tf.minimum(min_var, tf.reduce_min(inputs, axis=axes)))
            max_var.assign(tf.maximum(max_var, tf.reduce_max(inputs, axis=axes)))
        return original(inputs, min_var, max_var, per_channel=per_channel, ema_decay=ema_decay,
                        name_prefix=name_prefix, is_training=False, num_bits=num_bits,
                        narrow_range=narrow_range, symmetric=symmetric)

    quant_ops.MovingAvgQuantize = running
    try:
        yield
    finally:
        quant_ops.MovingAvgQuantize = original


def calibrate(model, batches, min_width=0.01):
    """Sets every activation range of a fresh QAT model from data (min/max calibration).

    Right after `quantize_model` the activation ranges are +-6 and move with an EMA
    of decay 0.999, so a QAT run of a few hundred steps trains against ranges far
    wider than the activations (e.g. 47/1000 of a unit step for an image in [0, 1]).
    This resets them to 0 and widens each to the min/max seen over `batches`, in
    graph order (every layer sees inputs quantized with already calibrated ranges).
    Training afterwards continues the EMA from these values. Weight ranges are set
    from the weights as in any training call.

    Args:
        model: a QAT model from `quantize_model`.
        batches: iterable of float32 input batches (N, H, W, 3) in [0, 1], or of
            (lr, hr) pairs (the hr part is ignored).
        min_width: a range narrower than this is widened upwards to it. A unit that
            is always 0 on the calibration data (a dead ReLU, e.g. the 1-channel
            attention squeeze of a small model) would otherwise get the range [0, 0],
            an int8 scale of ~4e-9, and XNNPACK refuses the converted model
            ("failed to create XNNPACK runtime").

    Returns:
        `activation_ranges(model)` after calibration.
    """
    if not is_quantized(model):
        raise ValueError(f"Model {model.name!r} is not quantization-aware; call quantize_model first.")
    for _, lo, hi in _moving_average_ranges(model):
        lo.assign(tf.zeros_like(lo))
        hi.assign(tf.zeros_like(hi))
    seen = 0
    with _running_min_max():
        for batch in batches:
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            model(tf.convert_to_tensor(batch, tf.float32), training=True)
            seen += 1
    if not seen:
        raise ValueError("`batches` is empty: calibration needs at least one batch.")
    for _, lo, hi in _moving_average_ranges(model):
        hi.assign(tf.maximum(hi, lo + min_width))
    return activation_ranges(model)


def restore_sparsity_masks(model):
    """Recomputes the prune-preserve masks of a QAT model from its current kernels.

    tfmot's prune-preserving weight quantizer takes its mask (kernel != 0) once, when
    the wrapper is built, as a constant: it is not a variable, so it is neither saved
    nor restored. A model rebuilt for loading gets masks from its random initial
    kernels (all ones), and further training would refill the zeros. Call this after
    loading weights (checkpoints.load_model does). Returns the number of masks reset.
    """
    count = 0
    for layer in _wrappers(model):
        for weight, _, quantizer_vars in getattr(layer, "_weight_vars", []):
            if "sparsity_mask" in quantizer_vars:
                quantizer_vars["sparsity_mask"] = tf.math.divide_no_nan(weight, weight)
                count += 1
    return count
