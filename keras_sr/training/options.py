"""The options of the two run kinds, their defaults and their checks. No TensorFlow.

`train` runs epochs of `steps_per_epoch` steps; `optimize` runs a prune and/or a QAT
phase of `steps` steps each. Keys are the library keyword arguments, which are the
flags' dests (`--steps-per-epoch` -> `steps_per_epoch`); errors name the keywords.
"""
from __future__ import annotations

import warnings

from keras_sr.validation import check_choice, check_int, check_number, check_optional_int

__all__ = [
    "TRAIN_DEFAULTS",
    "OPTIMIZE_DEFAULTS",
    "SCHEDULES",
    "LOSSES",
    "STRATEGIES",
    "MIXED_PRECISIONS",
    "PRUNE_SCHEDULES",
    "NO_TRAIN_MESSAGE",
    "TRAIN_DATA_HELP",
    "check_train_options",
    "check_optimize_options",
    "parse_m_by_n",
]

#: Defaults of `train` (the original project's where it had one).
TRAIN_DEFAULTS = dict(
    epochs=100,
    steps_per_epoch=1000,
    batch_size=16,
    patch_size=32,
    lr=1e-4,
    lr_schedule="step",
    lr_drop_at=0.8,
    warmup_steps=0,
    loss="l1",
    teacher_weight=0.0,
    checkpoint_every_epochs=1,
    seed=0,
    strategy="default",
    mixed_precision=False,
    eval_max_images=None,
    jit_compile=False,
)
#: Defaults of `optimize` (its phases: prune, qat).
OPTIMIZE_DEFAULTS = dict(
    sparsity=0.5,
    schedule="polynomial",
    m_by_n=None,
    batch_size=16,
    patch_size=32,
    lr=1e-4,
    seed=0,
    calibration_batches=8,
    checkpoint_every_steps=100,
    eval_max_images=None,
    run_eagerly=False,
)
SCHEDULES = ("step", "cosine", "constant")
LOSSES = ("l1", "l2")
STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
# `mixed_precision` values: the compute dtype of the mixed policy. "auto" resolves to float16 on a
# GPU and bfloat16 otherwise (CPUs with AVX512-BF16/AMX run bfloat16 convolutions about 4x faster
# than float32 here; see the README's training section).
MIXED_PRECISIONS = ("float16", "bfloat16")
#: Pruning schedules (`keras_sr.optimize.prune.SCHEDULES`, repeated here so checks need no TF).
PRUNE_SCHEDULES = ("constant", "polynomial")

TRAIN_DATA_HELP = (
    "an HDF5 file of (LR, HR) pairs or a folder of HR images.\n"
    "The original project trains on DIV2K_x2.h5, DIV2K_x3.h5, DIV2K_x4.h5 (the 800 DIV2K training "
    "images). Download DIV2K_train_HR from https://data.vision.ee.ethz.ch/cv/DIV2K/ and make the file "
    "for your scale with\n"
    "    keras-sr prepare --images-dir DIV2K_train_HR --output-path DIV2K_x4.h5 --scale 4\n"
    "or pass the folder itself (--train DIV2K_train_HR; LR images are then made on the fly)."
)
NO_TRAIN_MESSAGE = "`train` is required: " + TRAIN_DATA_HELP

def take_renamed(kwargs, checkpoint_every_name):
    """Pops the old keyword names from `kwargs`, warns, and returns {new name: value}."""
    renamed = {}
    for old, new in (("outputs_dir", "output_dir"), ("checkpoint_every", checkpoint_every_name)):
        if old in kwargs:
            warnings.warn(f"`{old}` is deprecated; use `{new}`.", DeprecationWarning, stacklevel=3)
            renamed[new] = kwargs.pop(old)
    if "verbose" in kwargs:  # the old progress level: 0 was silent
        warnings.warn("`verbose` is deprecated; use `quiet`.", DeprecationWarning, stacklevel=3)
        renamed["quiet"] = not kwargs.pop("verbose")
    return renamed


def merge_options(defaults, options, what):
    """`defaults` updated with the options that are not None; unknown keys are a TypeError."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"{what}() got unknown option(s) {unknown}. Allowed: {sorted(defaults)}")
    return {**defaults, **{k: v for k, v in options.items() if v is not None}}


def _check_common(o):
    for key in ("batch_size", "patch_size"):
        check_int(o[key], key, 1)
    check_int(o["seed"], "seed", 0)
    check_optional_int(o["eval_max_images"], "eval_max_images", 1)
    check_number(o["lr"], "lr", 0, None, low_open=True)


def check_train_options(o):
    """Raises ValueError naming the first bad option of a `train` run."""
    for key in ("epochs", "steps_per_epoch", "checkpoint_every_epochs"):
        check_int(o[key], key, 1)
    _check_common(o)
    check_number(o["lr_drop_at"], "lr_drop_at", 0, 1, low_open=True)
    check_int(o["warmup_steps"], "warmup_steps", 0)
    check_choice(o["lr_schedule"], SCHEDULES, "lr_schedule")
    check_choice(o["loss"], LOSSES, "loss")
    check_number(o["teacher_weight"], "teacher_weight", 0, 1)
    check_choice(o["strategy"], STRATEGIES, "strategy")
    check_choice(o["mixed_precision"], (False, *MIXED_PRECISIONS), "mixed_precision")


def check_optimize_options(o):
    """Raises ValueError naming the first bad option of an `optimize` run."""
    if not (o["prune"] or o["qat"]):
        raise ValueError("Nothing to do: pass `prune=True`, `qat=True` or both (prune, then pruning-preserving "
                         "QAT); on the command line --prune, --qat.")
    for key in ("steps", "calibration_batches", "checkpoint_every_steps"):
        check_int(o[key], key, 1)
    _check_common(o)
    check_number(o["sparsity"], "sparsity", 0, 1, high_open=True)
    check_choice(o["schedule"], PRUNE_SCHEDULES, "schedule")
    if o["m_by_n"] is not None:
        m, n = parse_m_by_n(o["m_by_n"])
        if not 0 < m < n:
            raise ValueError(f"`m_by_n` must be (m, n) with 0 < m < n, such as (2, 4). "
                             f"Received: m_by_n={o['m_by_n']!r}")


def parse_m_by_n(value):
    """'2:4', (2, 4) or [2, 4] -> [2, 4]."""
    try:
        parts = value.split(":") if isinstance(value, str) else list(value)
        m, n = (int(v) for v in parts)
        if isinstance(value, str) or all(isinstance(v, int) and not isinstance(v, bool) for v in parts):
            return [m, n]
    except (TypeError, ValueError):
        pass
    raise ValueError(f"`m_by_n` must look like M:N or (m, n), such as 2:4. Received: m_by_n={value!r}")
