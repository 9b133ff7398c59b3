"""`keras-sr presets`: the shipped models, with their counts and card PSNR (no TensorFlow)."""
from __future__ import annotations

import json

from keras_sr.cli import common

NOTE = ("Params: trainable parameters (the bicubic skip's fixed kernel apart). G Multi-Adds at a 320x180 LR "
        "input: trainable layers + the fixed bicubic conv = the total `keras-sr benchmark` counts from the int8 "
        "file. PSNR: Y channel, int8 file, from each card (keras_sr/pretrained/<preset>.md).")


def build_parser():
    parser = common.make_parser(
        "presets", "List the shipped models (presets): network, scale, parameters, Multi-Adds, card PSNR, files.",
        epilog="Use a preset with `keras-sr upscale --model NAME`, `keras_sr.models.build(NAME)` or "
               "`keras_sr.presets.get(NAME)`.")
    common.add_json(parser)
    return parser


def listing(as_json=False):
    """The presets as a Markdown table (or JSON text), read from the cards: fast, no TensorFlow."""
    from keras_sr import presets

    if as_json:
        return json.dumps({name: presets.get(name).to_dict() for name in presets.names()}, indent=2)
    lines = ["| preset | model | scale | trainable params | G Multi-Adds (320x180) | Set5 PSNR int8 | "
             "BSD100 PSNR int8 | int8 ms | files |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in presets.names():
        p = presets.get(name)
        m = p.metrics
        macs = f"{m['multi_adds'] / 1e9:.2f}"
        if m.get("multi_adds_fixed"):
            macs += f" + {m['multi_adds_fixed'] / 1e9:.2f} fixed = {m['multi_adds_total'] / 1e9:.2f}"
        files = ", ".join(f"`{path.name}`" for path in (p.weights, p.tflite, p.card))
        lines.append(f"| {name} | {p.model} | {p.scale} | {m['params']:,} | {macs} | {p.psnr('Set5'):.2f} | "
                     f"{p.psnr('BSD100'):.2f} | {m['int8_latency_ms']:.0f} | {files} |")
    return "\n".join(lines + ["", NOTE])


def run(args, parser):
    print(listing(as_json=args.json))
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
