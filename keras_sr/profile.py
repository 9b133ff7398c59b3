"""Parameters and Multi-Adds, counted from the Keras model graph.

    keras-sr profile --model fd_irb --scale 4 --input 320x180 [--set KEY=VALUE ...] [--json]

How keras-sr counts, everywhere (profile, train, cards, `keras-sr presets`):

* Parameters are **trainable** parameters, each shared weight once. The fixed
  (non-trainable) kernel of the bicubic skip (`BicubicUpsample`, 5 x 5 x 3 x 3s^2:
  3,600 at x4) is counted apart and named: `param_counts`, `describe_params`.
  `model.count_params()` adds the two (595,492 = 591,892 + 3,600 for fd_irb_edge x4).
* Multi-Adds count every call of every Conv2D / DepthwiseConv2D / Dense layer, so a
  shared layer counts once per call; shapes come from the graph re-run at the given
  input size. `multi_adds` is the trainable layers' work (the paper's convention);
  `multi_adds_fixed` is the bicubic skip's fixed conv (a dense 5 x 5 conv over all
  channels at LR size, as TFLite runs it); `multi_adds_total` is their sum, which is
  what `TFLiteSR.multi_adds` (and so `keras-sr benchmark`) counts from a converted file:
  fd_irb_edge x4 at 320x180: 61.62 G + 0.21 G = 61.83 G. Additions, pooling, the pixel
  shuffle and the attention statistics are not counted.

No TensorFlow import until a model is counted.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "STAGES",
    "stage_of",
    "param_counts",
    "count_params",
    "describe_params",
    "describe_multi_adds",
    "profile_model",
    "format_table",
    "format_stages",
    "main",
]

STAGES = ("shallow", "body", "fusion", "upsampler", "tail")
_STAGE_PREFIXES = (
    ("sfe", "shallow"),
    ("block", "body"),
    ("rdbs", "body"),
    ("gff", "fusion"),
    ("upscale", "upsampler"),
)
# What the fixed weights of each fixed-weight layer class are, for the one-line description.
_FIXED_WHAT = {"BicubicUpsample": "the bicubic skip's kernel"}


def stage_of(layer_name):
    """Stage of a layer from its name (the builders' naming convention)."""
    for prefix, stage in _STAGE_PREFIXES:
        if layer_name.startswith(prefix):
            return stage
    return "tail"


def _unwrap(layer):
    """The inner layer of a tfmot wrapper (pruning or QAT), else the layer itself."""
    return getattr(layer, "layer", layer)


def _size(weight):
    return int(np.prod(weight.shape))


def param_counts(model):
    """{'trainable': int, 'fixed': int, 'fixed_layers': [layer names]} for a Keras model.

    `trainable` counts each trainable weight once (shared layers once). `fixed` counts
    the non-trainable weights that are part of the network itself (the bicubic skip's
    kernel), not the bookkeeping variables of pruning or QAT wrappers (masks, ranges).
    """
    trainable = {id(w): _size(w) for w in model.trainable_weights}
    fixed, fixed_layers = {}, []
    for layer in model.layers:
        # A wrapper's own variables (masks, quantizer ranges) are not the network's: read the inner layer.
        own = [w for w in _unwrap(layer).non_trainable_weights if id(w) not in trainable and id(w) not in fixed]
        if own:
            fixed.update({id(w): _size(w) for w in own})
            fixed_layers.append(layer.name)
    return {"trainable": sum(trainable.values()), "fixed": sum(fixed.values()), "fixed_layers": fixed_layers}


def count_params(model):
    """Trainable parameters, each shared weight once."""
    return param_counts(model)["trainable"]


def _fixed_what(model, fixed_layers):
    kinds = set()
    for layer in model.layers:
        if layer.name in fixed_layers:
            kinds.add(_FIXED_WHAT.get(type(_unwrap(layer)).__name__, f"layer {layer.name!r}"))
    return " and ".join(sorted(kinds))


def describe_params(model_or_counts):
    """One line: '591,892 trainable parameters (+ 3,600 fixed in the bicubic skip's kernel)'.

    Takes a Keras model or a `param_counts` / `profile_model` result (or a card, which
    has `params` and `fixed_params`).
    """
    if isinstance(model_or_counts, dict):
        counts = model_or_counts
        trainable = counts.get("trainable", counts.get("params"))
        fixed = counts.get("fixed", counts.get("fixed_params")) or 0
        what = "the bicubic skip's kernel" if fixed else ""
    else:
        counts = param_counts(model_or_counts)
        trainable, fixed = counts["trainable"], counts["fixed"]
        what = _fixed_what(model_or_counts, counts["fixed_layers"])
    text = f"{trainable:,} trainable parameters"
    if fixed:
        text += f" (+ {fixed:,} fixed in {what})"
    return text


def describe_multi_adds(result):
    """One line from a `profile_model` result (or a card): what is counted and the sum.

    '61.62 G in trainable layers + 0.21 G in the fixed bicubic conv = 61.83 G Multi-Adds'
    """
    trainable = result.get("multi_adds", result.get("multi_adds_320x180"))
    fixed = result.get("multi_adds_fixed", result.get("multi_adds_320x180_fixed")) or 0
    if not fixed:
        return f"{trainable / 1e9:.2f} G Multi-Adds"
    return (f"{trainable / 1e9:.2f} G in trainable layers + {fixed / 1e9:.2f} G in the fixed bicubic conv "
            f"= {(trainable + fixed) / 1e9:.2f} G Multi-Adds")


def _node_macs(layer, input_shape, output_shape):
    from keras_sr._keras import keras

    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return int(np.prod(output_shape[1:])) * kh * kw
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        cin = input_shape[-1] // layer.groups
        return int(np.prod(output_shape[1:])) * kh * kw * cin
    if isinstance(layer, keras.layers.Dense):
        return int(np.prod(output_shape[1:])) * input_shape[-1]
    return 0


def _fixed_node_macs(layer, input_shape):
    """The bicubic skip's conv: its (5, 5, C, C*s*s) kernel once per LR pixel."""
    from keras_sr.layers import BicubicUpsample

    if isinstance(layer, BicubicUpsample):
        return int(np.prod(input_shape[1:3])) * _size(layer.kernel)
    return 0


def profile_model(model, input_hw=(180, 320), *, input_size=None):
    """Parameters and Multi-Adds of `model` for a (height, width) LR input.

    Returns:
        {'params': trainable parameters, 'fixed_params', 'fixed_layers',
         'multi_adds': trainable layers' Multi-Adds, 'multi_adds_fixed': the fixed
         bicubic conv's, 'multi_adds_total': both (= `TFLiteSR.multi_adds` of the
         converted model), 'input_hw': [h, w],
         'stages': {stage: {'params', 'multi_adds'}} (trainable layers only)}.

    `input_size=(width, height)` is the old keyword, kept for one release. The model is
    cloned onto a static (1, H, W, C) input so that every call of every layer has
    concrete shapes; the clone shares nothing with `model`.
    """
    from keras_sr._keras import keras

    if input_size is not None:
        import warnings

        warnings.warn("profile_model(input_size=(width, height)) is deprecated; pass input_hw=(height, width).",
                      DeprecationWarning, stacklevel=2)
        input_hw = (input_size[1], input_size[0])
    height, width = (int(v) for v in input_hw)
    channels = model.input_shape[-1]
    static_input = keras.Input(batch_size=1, shape=(height, width, channels))
    clone = keras.models.clone_model(model, input_tensors=static_input)
    stages = {stage: {"params": 0, "multi_adds": 0} for stage in STAGES}
    total_macs = fixed_macs = 0
    for layer in clone.layers:
        inner = _unwrap(layer)
        stage = stage_of(layer.name)
        for node in layer.inbound_nodes:
            input_shape = node.input_shapes
            output_shape = node.output_shapes
            if isinstance(input_shape, list):  # single-input layers only here
                input_shape = input_shape[0]
            macs = _node_macs(inner, tuple(input_shape), tuple(output_shape))
            stages[stage]["multi_adds"] += macs
            total_macs += macs
            fixed_macs += _fixed_node_macs(inner, tuple(input_shape))
    for layer in model.layers:
        params = sum(_size(w) for w in layer.trainable_weights)
        stages[stage_of(layer.name)]["params"] += params
    counts = param_counts(model)
    return {
        "params": counts["trainable"],
        "fixed_params": counts["fixed"],
        "fixed_layers": counts["fixed_layers"],
        "multi_adds": total_macs,
        "multi_adds_fixed": fixed_macs,
        "multi_adds_total": total_macs + fixed_macs,
        "input_hw": [height, width],
        "stages": stages,
    }


def format_table(rows, input_hw=(180, 320)):
    """rows: [(label, profile_model result)] -> a Markdown table (trainable and fixed apart)."""
    height, width = input_hw
    lines = [
        f"| model | trainable params | fixed params | Multi-Adds ({width}x{height} input) | G Multi-Adds "
        "| + G fixed | = G total |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['params']:,} | {r.get('fixed_params', 0):,} | {r['multi_adds']:,} | "
            f"{r['multi_adds'] / 1e9:.2f} | {r.get('multi_adds_fixed', 0) / 1e9:.2f} | "
            f"{r.get('multi_adds_total', r['multi_adds']) / 1e9:.2f} |"
        )
    lines += ["", "Params and G Multi-Adds: trainable layers (a shared layer's weights once, its work once per "
                  "call). Fixed: the bicubic skip's non-trainable 5x5 kernel and its conv. Total = what "
                  "`keras-sr benchmark` counts from the converted .tflite file."]
    return "\n".join(lines)


def format_stages(result):
    lines = ["| stage | trainable params | G Multi-Adds |", "|---|---:|---:|"]
    for stage, values in result["stages"].items():
        lines.append(f"| {stage} | {values['params']:,} | {values['multi_adds'] / 1e9:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    """`python -m keras_sr.profile` = `keras-sr profile`."""
    from keras_sr.cli.profile import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
