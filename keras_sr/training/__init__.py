"""The one run engine: train, prune and QAT are phases of it.

    from keras_sr.training import train, optimize, load_run_config

* `train(...)`  (`trainer`): epochs of steps on random LR/HR patches, scored after each.
* `optimize(...)` (`compress`): prune and/or QAT phases of steps from trained weights.
* `engine`: `Engine`, `Phase`, `Evaluator`, `ScalarLog`: fit with resumable
  checkpoints, history rows, TensorBoard scalars, the per-period evaluation.
* `run_folder`: the folder's names, the record (`config.json`), resume/force rules.
* `runconfig`: run files (`--config run.json|run.yaml`), the record's `replay` key.
* `schedules`: `LearningRate`, `make_schedule`; `surgery`: `load_matching_weights`.
* `options`: defaults and checks (no TensorFlow).

Importing this package does not import TensorFlow; the names below load on first use.
"""
import importlib

# submodule -> the names it exports here
_MODULES = {
    "trainer": ("train", "compile_for_training"),
    "compress": ("optimize",),
    "engine": ("Engine", "Phase", "Evaluator", "ScalarLog"),
    "schedules": ("LearningRate", "make_schedule"),
    "surgery": ("load_matching_weights",),
    "runconfig": ("load_run_config", "apply_config_file", "REPLAY_KEY"),
    "run_folder": ("RunFolder",),
    "options": ("TRAIN_DEFAULTS", "OPTIMIZE_DEFAULTS"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError(f"module 'keras_sr.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keras_sr.training.{_HOME[name]}"), name)
