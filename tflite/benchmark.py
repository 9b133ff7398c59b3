"""Benchmark a super-resolution .tflite model on the board (no TensorFlow needed).

    python tflite/benchmark.py --tflite MODEL.tflite [--num-threads N] [--no-xnnpack] [--input 320x180]
        [--runs N] [--warmup N] [--eval Set5 Set14 ... [--data-root DIR]] [--json]

The same command as `keras-sr benchmark`, for a board that has the package's files but
no console script. `--input` is the LR size as WIDTHxHEIGHT: 320x180 is 1280x720 at x4.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("keras_sr") is None:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keras_sr.cli.benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
