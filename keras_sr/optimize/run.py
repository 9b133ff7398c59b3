"""`python -m keras_sr.optimize` (= `keras-sr optimize`) and the names older code imports from here.

The prune and QAT phases run on the one engine in `keras_sr.training` (`optimize`); the
flags are in `keras_sr.cli.optimize`. Importing this module does not import TensorFlow.
"""
import importlib

from keras_sr.training.options import OPTIMIZE_DEFAULTS as DEFAULTS

__all__ = ["optimize", "main", "DEFAULTS", "OUTPUT_NAME", "RECORD_NAME"]

_EXPORTS = ("optimize", "OUTPUT_NAME", "PRUNED_NAME", "RECORD_NAME")


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module("keras_sr.training.compress"), name)
    raise AttributeError(f"module 'keras_sr.optimize.run' has no attribute {name!r}")


def main(argv=None) -> int:
    from keras_sr.cli.optimize import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
