"""Parameters and Multi-Adds, counted from the Keras model graph.

    python -m keras_sr.profile --model fd_irb --scale 4 --input 320x180 [--set KEY=VALUE ...] [--json]

Parameters count each trainable weight once, so a shared layer counts once.
Multi-Adds count every call of every Conv2D / DepthwiseConv2D / Dense layer, so a
shared layer counts once per call; the shapes come from the graph re-run at the
given input size. Additions, pooling, pixel shuffle and the fixed bicubic skip are
not counted (the paper's convention).
"""
import argparse
import json

import numpy as np

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.cli_utils import parse_set_options, parse_size

STAGES = ("shallow", "body", "fusion", "upsampler", "tail")
_STAGE_PREFIXES = (
    ("sfe", "shallow"),
    ("block", "body"),
    ("rdbs", "body"),
    ("gff", "fusion"),
    ("upscale", "upsampler"),
)


def stage_of(layer_name):
    """Stage of a layer from its name (the builders' naming convention)."""
    for prefix, stage in _STAGE_PREFIXES:
        if layer_name.startswith(prefix):
            return stage
    return "tail"


def _node_macs(layer, input_shape, output_shape):
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


def _unwrap(layer):
    """The inner layer of a tfmot wrapper (pruning or QAT), else the layer itself."""
    return getattr(layer, "layer", layer)


def count_params(model):
    """Trainable parameters, each shared weight once."""
    seen = {}
    for weight in model.trainable_weights:
        seen[id(weight)] = int(np.prod(weight.shape))
    return sum(seen.values())


def profile_model(model, input_size=(320, 180)):
    """{'params', 'multi_adds', 'stages': {stage: {'params', 'multi_adds'}}} for an (W, H) input.

    The model is cloned onto a static (1, H, W, C) input so that every call of
    every layer has concrete shapes; the clone shares nothing with `model`.
    """
    width, height = input_size
    channels = model.input_shape[-1]
    static_input = keras.Input(batch_size=1, shape=(height, width, channels))
    clone = keras.models.clone_model(model, input_tensors=static_input)
    stages = {stage: {"params": 0, "multi_adds": 0} for stage in STAGES}
    total_macs = 0
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
    for layer in model.layers:
        params = sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
        stages[stage_of(layer.name)]["params"] += params
    return {"params": count_params(model), "multi_adds": total_macs, "stages": stages}


def format_table(rows, input_size):
    """rows: [(label, profile)] -> a Markdown table."""
    width, height = input_size
    lines = [
        f"| model | params | Multi-Adds ({width}x{height} input) | G Multi-Adds |",
        "|---|---:|---:|---:|",
    ]
    for label, result in rows:
        lines.append(f"| {label} | {result['params']:,} | {result['multi_adds']:,} | {result['multi_adds'] / 1e9:.1f} |")
    return "\n".join(lines)


def format_stages(result):
    lines = ["| stage | params | G Multi-Adds |", "|---|---:|---:|"]
    for stage, values in result["stages"].items():
        lines.append(f"| {stage} | {values['params']:,} | {values['multi_adds'] / 1e9:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_sr.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="+", default=None, help=f"one or more of {models.names()} (default: all)")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--input", default="320x180", help="LR input WIDTHxHEIGHT (320x180 gives 1280x720 at x4)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model config override")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    try:
        input_size = parse_size(args.input)
        config = parse_set_options(args.set)
        names = args.model or models.names()
        rows = []
        for name in names:
            if args.model is None and args.scale not in models.supported_scales(name):
                continue
            rows.append((name, profile_model(models.build(name, args.scale, **config), input_size)))
    except ValueError as error:
        parser.error(str(error))
    if args.json:
        payload = rows[0][1] if len(rows) == 1 else {name: result for name, result in rows}
        print(json.dumps(payload, indent=2))
        return 0
    print(format_table(rows, input_size))
    for name, result in rows:
        print(f"\n{name} x{args.scale}, by stage:\n{format_stages(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
