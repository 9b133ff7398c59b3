"""`keras-sr`: one command, one subcommand per task.

    keras-sr SUBCOMMAND [flags]        keras-sr SUBCOMMAND --help

Each subcommand's parser lives in `keras_sr.cli.<name>` and imports no TensorFlow;
the library it calls is imported only once the flags have been parsed.
`python -m keras_sr.<name>` runs the same code.
"""
from __future__ import annotations

import importlib
import sys

from keras_sr.cli.common import EXIT_CODES

__all__ = ["COMMANDS", "main"]

#: subcommand -> one-line description (the module is keras_sr.cli.<subcommand>).
COMMANDS = {
    "demo": "upscale a sample image with the shipped int8 model; print PSNR and time",
    "upscale": "upscale image files with a preset, a .tflite file or Keras weights",
    "presets": "list the shipped models with their parameters, Multi-Adds and card PSNR",
    "prepare": "write a folder of HR images as an (LR, HR) .h5 file",
    "teach": "add a teacher network's outputs to an .h5 training file (for distillation)",
    "train": "train a network on random LR/HR patches (resumable run folder)",
    "optimize": "prune and/or quantization-aware-train trained weights (resumable run folder)",
    "convert": "Keras weights -> a verified .tflite file (float32 down to full int8)",
    "evaluate": "PSNR / SSIM (Y, shave = scale) and time per image on evaluation sets",
    "benchmark": "latency, memory and PSNR of a .tflite model on this machine (no TensorFlow)",
    "profile": "parameters and Multi-Adds of the registered networks",
    "port": "import PyTorch weights (.pth or reference .npz) into Keras weights",
    "export": "a device bundle (micro / android / web): .tflite frozen at a tile shape, model.json, extras",
    "web": "serve the in-browser page (LiteRT.js) on 127.0.0.1, exporting its x2/x3/x4 bundles when missing",
}


def _usage():
    width = max(map(len, COMMANDS))
    lines = ["usage: keras-sr SUBCOMMAND [flags]   (keras-sr SUBCOMMAND --help for its flags)", "",
             "Small, fast single-image super-resolution for edge boards.", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    lines += ["", "flags shared by every subcommand: --verbose (TensorFlow logs, tracebacks)", EXIT_CODES]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print(_usage(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        import keras_sr

        print(f"keras-sr {keras_sr.__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(_usage(), file=sys.stderr)
        print(f"\nkeras-sr: error: unknown subcommand {name!r}. Choose from: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"keras_sr.cli.{name}")
    return module.main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
