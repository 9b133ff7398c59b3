"""`python -m keras_sr.train` (= `keras-sr train`) and the names older code imports from here.

The engine lives in `keras_sr.training` (`train`, `LearningRate`, `make_schedule`,
`compile_for_training`, `load_matching_weights`); the flags in `keras_sr.cli.train`.
Importing this module does not import TensorFlow: the library names load on first use.
"""
import importlib

from keras_sr.training.options import TRAIN_DEFAULTS as DEFAULTS

__all__ = ["train", "main", "LearningRate", "load_matching_weights", "make_patch_dataset", "make_schedule",
           "compile_for_training", "DEFAULTS"]

_EXPORTS = {
    "train": "keras_sr.training.trainer",
    "compile_for_training": "keras_sr.training.trainer",
    "LearningRate": "keras_sr.training.schedules",
    "make_schedule": "keras_sr.training.schedules",
    "load_matching_weights": "keras_sr.training.surgery",
    "make_patch_dataset": "keras_sr.data.pipeline",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'keras_sr.train' has no attribute {name!r}")


def main(argv=None) -> int:
    from keras_sr.cli.train import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
