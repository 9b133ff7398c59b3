"""Train a super-resolution network on random LR/HR patches, resumably.

    python -m keras_sr.train --model fd_irb --scale 4 --train DIV2K_x4.h5 --eval Set5

Defaults are the original project's: L1 loss, Adam with lr 1e-4, batch 16, LR patches
32x32, lr x0.1 from epoch int(0.8 * epochs) on (`lr * 0.1 ** (epoch // int(0.8 * epochs))`
in the PyTorch scripts), Y-PSNR on the evaluation set after every epoch and the best
weights kept.

The run folder (`--outputs-dir`, default `runs/{model}_x{scale}`) holds:

* `config.json`   resolved options, model config, command line(s), versions, start time;
* `history.json`, `history.csv`   one row per epoch: loss, lr, psnr, ssim, times;
* `logs/`          TensorBoard event files;
* `ckpt/`          tf.train.Checkpoint of model + optimizer + epoch + data position
  (the last 2 kept), written every `--checkpoint-every` epochs and after the last one;
* `last.weights.h5` (written with each checkpoint) and `best.weights.h5` (best eval
  PSNR), both with a `.weights.json` sidecar that `keras_sr.checkpoints.load_model` reads.

Resuming (`--resume`) restores weights, optimizer state, the epoch and the position in
the patch stream, and continues to `--epochs` (the same or a larger total). The lr
schedule is a function of the global step and the *current* total: resuming to a larger
`--epochs` recomputes it (the step drop moves to 80 % of the new total, a cosine
stretches over the new total), so a run resumed to a larger total is not the same as a
run started with that total when the drop/decay has already happened.

The patch stream is a pure function of (seed, sample index): sample g comes from
pass g // N over the N training pairs (a permutation seeded by (seed, pass)) and its
crop/flip from a generator seeded by (seed, g). Resuming therefore only needs the
number of samples seen, which the checkpoint stores; no tf.data iterator state is saved.
"""
from __future__ import annotations

import argparse
import csv
import functools
import gc
import io
import json
import math
import platform
import shlex
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from keras_sr.cli_utils import add_patch_training_arguments, add_run_folder_arguments, parse_set_options

__all__ = ["train", "main", "LearningRate", "load_matching_weights", "make_patch_dataset", "DEFAULTS"]

#: Defaults of the training options (the original project's where it had one).
DEFAULTS = dict(
    epochs=100,
    steps_per_epoch=1000,
    batch_size=16,
    patch_size=32,
    lr=1e-4,
    lr_schedule="step",
    lr_drop_at=0.8,
    warmup_steps=0,
    loss="l1",
    checkpoint_every=1,
    seed=0,
    strategy="default",
    mixed_precision=False,
    eval_max_images=None,
    jit_compile=False,
)
SCHEDULES = ("step", "cosine", "constant")
LOSSES = ("l1", "l2")
STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
# --mixed-precision values: the compute dtype of the mixed policy. "auto" resolves to float16 on a
# GPU and bfloat16 otherwise (CPUs with AVX512-BF16/AMX run bfloat16 convolutions about 4x faster
# than float32 here; see the README's training section).
MIXED_PRECISIONS = ("float16", "bfloat16")
# The files and folders a run writes (replaced by --force; nothing else in the folder is touched).
_RUN_FILES = ("config.json", "history.json", "history.csv", "best.weights.h5", "best.weights.json",
              "last.weights.h5", "last.weights.json")
_RUN_DIRS = ("ckpt", "logs")

NO_TRAIN_MESSAGE = (
    "`--train` is required: an HDF5 file of (LR, HR) pairs or a folder of HR images.\n"
    "The original project trains on DIV2K_x2.h5, DIV2K_x3.h5, DIV2K_x4.h5 (the 800 DIV2K training "
    "images). Download DIV2K_train_HR from https://data.vision.ee.ethz.ch/cv/DIV2K/ and make the file "
    "for your scale with\n"
    "    python -m keras_sr.prepare --images-dir DIV2K_train_HR --output-path DIV2K_x4.h5 --scale 4\n"
    "or pass the folder itself (--train DIV2K_train_HR; LR images are then made on the fly)."
)


# --------------------------------------------------------------------------- schedule


def _keras():
    from keras_sr._keras import keras, tf

    return keras, tf


def _make_schedule_class():
    keras, tf = _keras()

    class LearningRate(keras.optimizers.schedules.LearningRateSchedule):
        """Learning rate as a function of the global step (optimizer.iterations).

        Args:
            base: peak learning rate.
            total_steps: epochs * steps_per_epoch of the whole run.
            kind: "step" (x0.1 from `drop_step` on), "cosine" (from `base` to 0 over
                the steps after the warm-up) or "constant".
            drop_step: first step with the dropped rate ("step" only).
            warmup_steps: linear warm-up from base / warmup_steps to base.
        """

        def __init__(self, base, total_steps, kind="step", drop_step=None, warmup_steps=0):
            self.base = float(base)
            self.total_steps = int(total_steps)
            self.kind = kind
            self.drop_step = int(drop_step if drop_step is not None else total_steps)
            self.warmup_steps = int(warmup_steps)

        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            base = tf.constant(self.base, tf.float32)
            if self.kind == "step":
                lr = tf.where(step < float(self.drop_step), base, base * 0.1)
            elif self.kind == "cosine":
                span = float(max(self.total_steps - self.warmup_steps, 1))
                progress = tf.clip_by_value((step - float(self.warmup_steps)) / span, 0.0, 1.0)
                lr = base * 0.5 * (1.0 + tf.cos(math.pi * progress))
            else:
                lr = base
            if self.warmup_steps > 0:
                lr = lr * tf.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
            return lr

        def get_config(self):
            return dict(base=self.base, total_steps=self.total_steps, kind=self.kind,
                        drop_step=self.drop_step, warmup_steps=self.warmup_steps)

    return LearningRate


def __getattr__(name):
    # `from keras_sr.train import LearningRate` builds the class on first use, so importing
    # this module for its CLI help does not import TensorFlow.
    if name == "LearningRate":
        cls = _make_schedule_class()
        globals()["LearningRate"] = cls
        return cls
    raise AttributeError(name)


def make_schedule(lr, lr_schedule, epochs, steps_per_epoch, lr_drop_at=0.8, warmup_steps=0):
    """The run's schedule; the step drop is at epoch int(lr_drop_at * epochs) (at least 1)."""
    drop_epoch = max(int(lr_drop_at * epochs), 1)
    return __getattr__("LearningRate")(
        lr, epochs * steps_per_epoch, lr_schedule, drop_epoch * steps_per_epoch, warmup_steps
    )


# --------------------------------------------------------------------------- data


def make_patch_dataset(source, patch_size, batch_size, seed, start_sample=0, augment=True):
    """Endless batches of random (lr, hr) float32 patches in [0, 1], resumable by sample index.

    Sample g (0, 1, 2, ...) is pair `perm(seed, g // N)[g % N]` of the N pairs, cropped
    and flipped by a generator seeded with (seed, g); the dataset starts at
    `start_sample`, so restarting at `samples_seen` continues the same stream.
    Reads use `keras_sr.data.pipeline.read_train_patch` (the same crops/augmentations
    as `make_train_dataset`).
    """
    from keras_sr._keras import tf
    from keras_sr.data.pipeline import read_train_patch

    n = len(source)
    hr_size = patch_size * source.scale

    @functools.lru_cache(maxsize=8)
    def order(pass_index):
        return np.random.default_rng([seed, 1, pass_index]).permutation(n)

    def read(g):
        g = int(g)
        i = int(order(g // n)[g % n])
        rng = np.random.default_rng([seed, 0, g])
        return read_train_patch(source, i, patch_size, rng, augment)

    def tf_read(g):
        lr, hr = tf.numpy_function(read, [g], [tf.uint8, tf.uint8], stateful=False)
        lr.set_shape((patch_size, patch_size, 3))
        hr.set_shape((hr_size, hr_size, 3))
        return tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0

    ds = tf.data.Dataset.counter(start=int(start_sample), dtype=tf.int64)
    ds = ds.map(tf_read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    options = tf.data.Options()
    # Every worker computes the whole (cheap) index stream and keeps its share.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------- weights


def _read_source_weights(path):
    """{layer name: [arrays]} of a weights file.

    A keras-sr `.weights.h5` (Keras-v3 layout, whose groups are not named after the
    layers) is read by rebuilding its model from the sidecar; a legacy tf_keras .h5
    (root attribute `layer_names`) is read directly.
    """
    import h5py

    from keras_sr.checkpoints import load_model, read_meta, sidecar_path

    if read_meta(path) is not None:
        source, _ = load_model(path)
        return {layer.name: layer.get_weights() for layer in source.layers if layer.weights}
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"`--init-weights` {path} is not a Keras .h5 weights file: {error}") from None
    with f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"`--init-weights` {path} has no sidecar {sidecar_path(path).name} saying which model it "
                "belongs to, and is not a legacy tf_keras .h5 file (no 'layer_names')."
            )
        weights = {}
        for raw in group.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group[name].attrs.get("weight_names", [])]
            if names:
                weights[name] = [np.asarray(group[name][n]) for n in names]
        return weights


# The 1x1 conv that fuses the outputs of the U recursions (models.common.global_fusion).
GLOBAL_FUSION_INPUT = "gff_0"


def _grow_fusion_inputs(arrays, wanted):
    """gff_0 weights of a model with fewer recursions, zero for the extra outputs.

    The shared block computes the first recursions exactly as before, and zero fusion
    weights ignore the new ones, so the grown model starts as the same function. Other
    shape changes are returned unchanged (and then skipped by the caller).
    """
    kernel, *rest = arrays
    wanted_kernel, *wanted_rest = wanted
    grows_inputs_only = (
        kernel.ndim == 4 and kernel.shape[:2] == wanted_kernel[:2] and kernel.shape[3] == wanted_kernel[3]
        and kernel.shape[2] < wanted_kernel[2] and [a.shape for a in rest] == list(wanted_rest)
    )
    if not grows_inputs_only:
        return arrays
    padding = np.zeros((*kernel.shape[:2], wanted_kernel[2] - kernel.shape[2], kernel.shape[3]), kernel.dtype)
    return [np.concatenate([kernel, padding], axis=2), *rest]


def load_matching_weights(model, path):
    """Copy into `model` the layers of a weights file whose names and shapes match.

    Returns `(loaded, skipped)`: layer names, and `(name, reason)` pairs for layers of
    `model` that kept their initial weights (absent from the file or shaped differently,
    e.g. the upsampler and the bicubic skip when fine-tuning x4 from x2).
    From a model with fewer recursions (`--set recursions=U`), the global fusion's
    extra inputs start at zero, so training starts from the source model's output.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`--init-weights` file not found: {path}")
    source = _read_source_weights(path)
    loaded, skipped = [], []
    for layer in model.layers:
        current = layer.get_weights()
        if not current:
            continue
        if layer.name not in source:
            skipped.append((layer.name, "not in the file"))
            continue
        arrays = source[layer.name]
        shapes, wanted = [a.shape for a in arrays], [c.shape for c in current]
        if layer.name == GLOBAL_FUSION_INPUT and shapes != wanted:
            arrays = _grow_fusion_inputs(arrays, wanted)
            shapes = [a.shape for a in arrays]
        if shapes != wanted:
            skipped.append((layer.name, f"shapes {shapes} in the file, {wanted} in the model"))
            continue
        layer.set_weights(arrays)
        loaded.append(layer.name)
    if not loaded:
        raise ValueError(
            f"`--init-weights` {path}: no layer matches the model by name and shape "
            f"(skipped: {[name for name, _ in skipped]})."
        )
    return loaded, skipped


# --------------------------------------------------------------------------- run folder


def _versions():
    import keras_sr
    from keras_sr._keras import keras, tf

    return {"keras_sr": keras_sr.__version__, "tensorflow": tf.__version__, "tf_keras": keras.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _has_tensorboard():
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _has_run(outputs_dir):
    return any((outputs_dir / name).exists() for name in ("config.json", "ckpt", "history.json"))


def _clear_run(outputs_dir):
    for name in _RUN_FILES:
        (outputs_dir / name).unlink(missing_ok=True)
    for name in _RUN_DIRS:
        if (outputs_dir / name).is_dir():
            shutil.rmtree(outputs_dir / name)


def _write_history(outputs_dir, rows):
    from keras_sr.checkpoints import atomic_write_text

    atomic_write_text(outputs_dir / "history.json", json.dumps(rows, indent=1))
    columns = ["epoch", "loss", "lr", "psnr", "ssim", "epoch_time_s", "eval_time_s", "wall_time_s", "samples_seen"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    atomic_write_text(outputs_dir / "history.csv", buffer.getvalue())


def _make_strategy(name):
    _, tf = _keras()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")


def _is_chief(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())


def _validate_options(o):
    def positive_int(key):
        v = o[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"`--{key.replace('_', '-')}` must be an integer >= 1. Received: {v!r}")

    for key in ("epochs", "steps_per_epoch", "batch_size", "patch_size", "checkpoint_every"):
        positive_int(key)
    if o["eval_max_images"] is not None:
        positive_int("eval_max_images")
    if not o["lr"] > 0:
        raise ValueError(f"`--lr` must be > 0. Received: {o['lr']!r}")
    if not 0 < o["lr_drop_at"] <= 1:
        raise ValueError(f"`--lr-drop-at` must be in (0, 1]. Received: {o['lr_drop_at']!r}")
    if o["warmup_steps"] < 0:
        raise ValueError(f"`--warmup-steps` must be >= 0. Received: {o['warmup_steps']!r}")
    for key, allowed in (("lr_schedule", SCHEDULES), ("loss", LOSSES), ("strategy", STRATEGIES)):
        if o[key] not in allowed:
            raise ValueError(f"`--{key.replace('_', '-')}` must be one of {allowed}. Received: {o[key]!r}")
    if o["seed"] < 0:
        raise ValueError(f"`--seed` must be >= 0. Received: {o['seed']!r}")
    if o["mixed_precision"] not in (False, *MIXED_PRECISIONS):
        raise ValueError(f"`--mixed-precision` must be one of {MIXED_PRECISIONS} (or 'auto'). "
                         f"Received: {o['mixed_precision']!r}")


def _resolve_mixed_precision(value):
    """False/None -> False; True (older runs and callers) -> "float16"; "auto" -> per device."""
    if value is None or value is False:
        return False
    if value is True:
        return "float16"
    if value == "auto":
        _, tf = _keras()
        return "float16" if tf.config.list_physical_devices("GPU") else "bfloat16"
    return value


def compile_for_training(net, learning_rate, loss="l1", mixed_precision=False, jit_compile=False):
    """The compiled model that `fit` trains for `net`, and its Adam optimizer.

    Under a mixed policy (`net` built while it is set) a weightless float32 layer ends the
    model, so the loss is computed in float32, and float16 gets loss scaling (bfloat16 has
    float32's range and needs none). `net` itself stays uncompiled under a mixed policy.
    """
    keras, _ = _keras()
    fit_model = net
    if mixed_precision:
        out = keras.layers.Activation("linear", dtype="float32", name="output_float32")(net.output)
        fit_model = keras.Model(net.input, out, name=net.name)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if mixed_precision == "float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    loss_fn = keras.losses.MeanAbsoluteError() if loss == "l1" else keras.losses.MeanSquaredError()
    fit_model.compile(optimizer=optimizer, loss=loss_fn, jit_compile=jit_compile)
    return fit_model, optimizer


# --------------------------------------------------------------------------- train


def train(
    model=None,
    scale=None,
    train=None,
    eval=None,
    config=None,
    outputs_dir=None,
    resume=False,
    force=False,
    init_weights=None,
    verbose=1,
    callbacks=None,
    command_line=None,
    **options,
):
    """Train `model` at `scale` on `train`, evaluating on `eval` after every epoch.

    Args:
        model: registered model name (`keras_sr.models.names()`); with `resume`, may be
            None (taken from the run's config.json).
        scale: upscaling factor.
        train: HDF5 file of (LR, HR) pairs or folder of HR images.
        eval: optional HDF5 file or folder scored (Y-PSNR/SSIM, shave = scale) each epoch.
        config: model config overrides (`--set K=V`).
        outputs_dir: run folder, default `runs/{model}_x{scale}`.
        resume: continue the run in `outputs_dir` from its latest checkpoint.
        force: start afresh in an `outputs_dir` holding a run (its run files are deleted).
        init_weights: .h5 weights to initialise from (layers matching by name and shape).
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.
        callbacks: extra Keras callbacks (run after the run's own ones).
        command_line: recorded in config.json.
        **options: the keys of `DEFAULTS` (epochs, steps_per_epoch, batch_size, patch_size,
            lr, lr_schedule, lr_drop_at, warmup_steps, loss, checkpoint_every, seed,
            strategy, mixed_precision, eval_max_images, jit_compile); None = default
            (or, with `resume`, the run's value).

    Returns:
        dict with `outputs_dir`, `history` (list of rows), `best_psnr`, `best_epoch`,
        `epochs`, `model` (the trained float32-output Keras model).

    Raises:
        ValueError / FileNotFoundError / FileExistsError with a message for the user.
    """
    from keras_sr import models
    from keras_sr.data.sources import open_pairs

    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"train() got unknown option(s) {unknown}. Allowed: {sorted(DEFAULTS)}")
    given = {k: v for k, v in options.items() if v is not None}
    config = dict(config or {})

    if outputs_dir is None:
        if model is None or scale is None:
            raise ValueError("`--outputs-dir` is required when --model/--scale are not given.")
        outputs_dir = Path("runs") / f"{model}_x{scale}"
    outputs_dir = Path(outputs_dir)

    saved = None
    if resume:
        config_path = outputs_dir / "config.json"
        if not config_path.is_file():
            raise FileNotFoundError(
                f"`--resume`: no run to resume in '{outputs_dir}' (no config.json). "
                "Drop --resume to start a new run there."
            )
        saved = json.loads(config_path.read_text())
        model = saved["model"] if model is None else model
        scale = saved["scale"] if scale is None else scale
        if model != saved["model"] or scale != saved["scale"]:
            raise ValueError(
                f"`--resume`: '{outputs_dir}' holds a run of model {saved['model']!r} at x{saved['scale']}; "
                f"received --model {model} --scale {scale}."
            )
        resolved = models.resolve_config(model, scale, **{**saved["config"], **config})
        if resolved != saved["config"]:
            diff = {k: (saved["config"].get(k), resolved.get(k)) for k in resolved
                    if saved["config"].get(k) != resolved.get(k)}
            raise ValueError(
                f"`--resume`: '{outputs_dir}' holds model {model!r} with config {saved['config']}; "
                f"the requested config differs in {{key: (run, requested)}} {diff}."
            )
        train = saved["train_path"] if train is None else train
        eval = saved.get("eval_path") if eval is None else eval
        opts = {**DEFAULTS, **saved["options"], **given}
        run_precision = _resolve_mixed_precision(saved["options"].get("mixed_precision"))
        opts["mixed_precision"] = _resolve_mixed_precision(opts["mixed_precision"])
        # float16 wraps Adam in a LossScaleOptimizer, whose checkpoint the others cannot read.
        if (opts["mixed_precision"] == "float16") != (run_precision == "float16"):
            raise ValueError(
                "`--mixed-precision` cannot switch to or from float16 on --resume (the checkpoint holds a "
                f"{'loss-scale ' if run_precision == 'float16' else 'plain '}optimizer). "
                f"The run uses {run_precision or 'float32'}; received {opts['mixed_precision'] or 'float32'}."
            )
        changed = {k: (saved["options"].get(k), v) for k, v in given.items() if saved["options"].get(k) != v}
        if opts["epochs"] < saved["options"]["epochs"] and opts["epochs"] < _latest_epoch(outputs_dir):
            raise ValueError(
                f"`--epochs` {opts['epochs']} is below the epochs the run has already done "
                f"({_latest_epoch(outputs_dir)}); resume to the same or a larger total."
            )
    else:
        if model is None or scale is None:
            raise ValueError("`--model` and `--scale` are required.")
        resolved = models.resolve_config(model, scale, **config)
        opts = {**DEFAULTS, **given}
        opts["mixed_precision"] = _resolve_mixed_precision(opts["mixed_precision"])
        changed = {}
    if train is None:
        raise ValueError(NO_TRAIN_MESSAGE)
    _validate_options(opts)

    source = open_pairs(train, scale)  # FileNotFoundError / ValueError name the path
    from keras_sr.data.pipeline import check_patch_fits

    check_patch_fits(source, opts["patch_size"], scale)
    eval_source = open_pairs(eval, scale) if eval is not None else None
    if init_weights is not None and not Path(init_weights).is_file():
        raise FileNotFoundError(f"`--init-weights` file not found: {init_weights}")

    if not resume and _has_run(outputs_dir):
        if not force:
            raise FileExistsError(
                f"`--outputs-dir` '{outputs_dir}' already holds a run; pass --resume to continue it "
                "or --force to start afresh (its run files are deleted)."
            )
        _clear_run(outputs_dir)

    return _run(model, scale, resolved, source, eval_source, outputs_dir, saved, opts, changed,
                init_weights, verbose, callbacks, command_line)


def _latest_epoch(outputs_dir):
    _, tf = _keras()
    latest = tf.train.latest_checkpoint(str(outputs_dir / "ckpt"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def _run(name, scale, resolved, source, eval_source, outputs_dir, saved, o, changed, init_weights,
         verbose, extra_callbacks, command_line):
    keras, tf = _keras()
    from keras_sr import models
    from keras_sr.checkpoints import atomic_write_text, save_model_weights
    from keras_sr.evaluate import make_predictor, score_items

    def say(*args):
        if verbose:
            print(*args, flush=True)

    strategy = _make_strategy(o["strategy"])
    chief = _is_chief(strategy)
    outputs_dir.mkdir(parents=True, exist_ok=True)

    keras.backend.clear_session()
    keras.utils.set_random_seed(o["seed"])
    previous_policy = keras.mixed_precision.global_policy()
    if o["mixed_precision"]:
        keras.mixed_precision.set_global_policy(f"mixed_{o['mixed_precision']}")
    try:
        total_steps = o["epochs"] * o["steps_per_epoch"]
        schedule = make_schedule(o["lr"], o["lr_schedule"], o["epochs"], o["steps_per_epoch"],
                                 o["lr_drop_at"], o["warmup_steps"])
        with strategy.scope():
            net = models.build(name, scale, **resolved)
            fit_model, optimizer = compile_for_training(net, schedule, o["loss"], o["mixed_precision"],
                                                        bool(o["jit_compile"]))
            optimizer.build(net.trainable_variables)
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        samples_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="samples_seen")
        checkpoint = tf.train.Checkpoint(model=net, optimizer=optimizer, epoch=epoch_var, samples_seen=samples_var)
        ckpt_dir = outputs_dir / "ckpt"
        if not chief:
            ckpt_dir = outputs_dir / f".ckpt-worker-{strategy.cluster_resolver.task_id}"
        manager = tf.train.CheckpointManager(checkpoint, str(ckpt_dir), max_to_keep=2)

        history = []
        best_psnr, best_epoch = -math.inf, None
        run_start = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if saved is not None and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            say(f"Resumed from {manager.latest_checkpoint} (epoch {int(epoch_var.numpy())}, "
                f"{int(samples_var.numpy())} samples seen, step {int(optimizer.iterations.numpy())})")
        elif init_weights is not None:
            loaded, skipped = load_matching_weights(net, init_weights)
            say(f"Initialised {len(loaded)} layers from {init_weights}")
            for layer_name, reason in skipped:
                say(f"  kept the initial weights of {layer_name}: {reason}")
        initial_epoch = int(epoch_var.numpy())
        if saved is not None:
            run_start = saved.get("start_time", run_start)
            if (outputs_dir / "history.json").is_file():
                history = [r for r in json.loads((outputs_dir / "history.json").read_text())
                           if r["epoch"] <= initial_epoch]
            best_meta = outputs_dir / "best.weights.json"
            if best_meta.is_file():
                meta = json.loads(best_meta.read_text())
                best_psnr, best_epoch = meta.get("psnr", -math.inf), meta.get("epoch")
            if changed:
                say(f"Options changed on resume {{option: (run, now)}}: {changed}")
        wall_offset = history[-1]["wall_time_s"] if history else 0.0

        record = {
            "model": name,
            "scale": scale,
            "config": resolved,
            "train_path": str(source.path),
            "eval_path": str(eval_source.path) if eval_source is not None else None,
            "options": o,
            "replicas": int(strategy.num_replicas_in_sync),
            "outputs_dir": str(outputs_dir),
            "command_line": (saved or {}).get("command_line", command_line),
            "start_time": run_start,
            "versions": _versions(),
            "schedule": schedule.get_config(),
            "resumes": (saved or {}).get("resumes", []),
        }
        if saved is not None:
            record["resumes"].append({"time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                      "from_epoch": initial_epoch, "epochs": o["epochs"],
                                      "command_line": command_line})
        if init_weights is not None and saved is None:
            record["init_weights"] = str(init_weights)
        if chief:
            atomic_write_text(outputs_dir / "config.json", json.dumps(record, indent=2, default=str))

        if initial_epoch >= o["epochs"]:
            say(f"Nothing to do: the run has done {initial_epoch} of --epochs {o['epochs']}.")
            return _result(outputs_dir, history, best_psnr, best_epoch, o, net)

        eval_indices = None
        if eval_source is not None:
            count = len(eval_source)
            eval_indices = list(range(min(count, o["eval_max_images"] or count)))
        if o["mixed_precision"]:
            # Scores are float32 inference, as users run it: a float32 twin of `net`, given the
            # current weights before each evaluation.
            keras.mixed_precision.set_global_policy("float32")
            eval_net = models.build(name, scale, **resolved)
            keras.mixed_precision.set_global_policy(f"mixed_{o['mixed_precision']}")
        else:
            eval_net = net
        predict = make_predictor(eval_net)
        meta_base = {"model": name, "scale": scale, "config": resolved}

        class RunRecorder(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                nonlocal best_psnr, best_epoch
                logs = logs if logs is not None else {}
                done = epoch + 1
                epoch_time = time.perf_counter() - self.t0
                seen = int(samples_var.numpy()) + o["steps_per_epoch"] * o["batch_size"]
                samples_var.assign(seen)
                epoch_var.assign(done)
                lr = float(schedule(tf.maximum(optimizer.iterations - 1, 0)))
                row = {"epoch": done, "loss": float(logs.get("loss", float("nan"))), "lr": lr,
                       "psnr": None, "ssim": None, "epoch_time_s": round(epoch_time, 3), "eval_time_s": None}
                if eval_indices is not None:
                    t = time.perf_counter()
                    if eval_net is not net:
                        eval_net.set_weights(net.get_weights())
                    scores = score_items(predict, ((eval_source.name(i), *eval_source[i]) for i in eval_indices),
                                         scale)
                    row.update(psnr=scores["psnr"], ssim=scores["ssim"],
                               eval_time_s=round(time.perf_counter() - t, 3))
                    logs["psnr"], logs["ssim"] = scores["psnr"], scores["ssim"]
                logs["lr"] = lr
                row["wall_time_s"] = round(wall_offset + time.perf_counter() - fit_start, 3)
                row["samples_seen"] = seen
                history.append(row)
                improved = row["psnr"] is not None and row["psnr"] > best_psnr
                if improved:
                    best_psnr, best_epoch = row["psnr"], done
                if chief:
                    if improved:
                        save_model_weights(net, outputs_dir / "best.weights.h5",
                                           {**meta_base, "psnr": row["psnr"], "ssim": row["ssim"], "epoch": done,
                                            "eval_path": str(eval_source.path),
                                            "eval_images": len(eval_indices)})
                    _write_history(outputs_dir, history)
                if done % o["checkpoint_every"] == 0 or done == o["epochs"]:
                    manager.save(checkpoint_number=done)
                    if chief:
                        save_model_weights(net, outputs_dir / "last.weights.h5",
                                           {**meta_base, "epoch": done, "psnr": row["psnr"], "ssim": row["ssim"]})

        dataset = make_patch_dataset(source, o["patch_size"], o["batch_size"], o["seed"],
                                     start_sample=int(samples_var.numpy()))
        callbacks = [RunRecorder(), keras.callbacks.TerminateOnNaN()]
        if chief and _has_tensorboard():
            callbacks.append(keras.callbacks.TensorBoard(str(outputs_dir / "logs"), update_freq="epoch",
                                                         profile_batch=0, write_graph=False))
        elif chief:
            say("TensorBoard is not installed (pip install tensorboard): no logs/ written.")
        callbacks += list(extra_callbacks or [])
        say(f"Training {name} x{scale} ({net.count_params():,} parameters) for epochs "
            f"{initial_epoch + 1}..{o['epochs']}, {o['steps_per_epoch']} steps of {o['batch_size']} "
            f"patches {o['patch_size']}x{o['patch_size']} on {strategy.num_replicas_in_sync} replica(s); "
            f"{total_steps} steps in all; run folder {outputs_dir}")
        fit_start = time.perf_counter()
        fit_model.fit(dataset, epochs=o["epochs"], initial_epoch=initial_epoch,
                      steps_per_epoch=o["steps_per_epoch"], callbacks=callbacks, verbose=verbose)
        return _result(outputs_dir, history, best_psnr, best_epoch, o, net)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _result(outputs_dir, history, best_psnr, best_epoch, o, net):
    return {"outputs_dir": outputs_dir, "history": history,
            "best_psnr": None if best_epoch is None else best_psnr, "best_epoch": best_epoch,
            "epochs": o["epochs"], "model": net}


# --------------------------------------------------------------------------- CLI


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m keras_sr.train",
        description="Train a keras-sr network on random LR/HR patches (resumable).",
        epilog="Defaults are the original project's. With --resume, options not given are the run's.",
    )
    d = DEFAULTS
    # No `choices=` from the registry: importing it imports TensorFlow, and --help should be quick.
    parser.add_argument("--model", help="network to train (a name from keras_sr.models.names())")
    parser.add_argument("--scale", type=int, help="upscaling factor")
    parser.add_argument("--set", action="append", default=[], metavar="K=V",
                        help="model config override, e.g. --set recursions=2 (repeatable)")
    parser.add_argument("--train", help="HDF5 file of (LR, HR) pairs (keras_sr.prepare) or a folder of HR images")
    parser.add_argument("--eval", help="HDF5 file or folder scored after every epoch (Y-PSNR, shave = scale)")
    parser.add_argument("--epochs", type=int, help=f"total epochs (default {d['epochs']})")
    parser.add_argument("--steps-per-epoch", type=int, help=f"(default {d['steps_per_epoch']})")
    add_patch_training_arguments(parser, d)
    parser.add_argument("--lr-schedule", choices=SCHEDULES, help="step: x0.1 at --lr-drop-at of the epochs "
                        "(default); cosine: to 0 over the run; constant")
    parser.add_argument("--lr-drop-at", type=float, help=f"fraction of the epochs for the step drop "
                        f"(default {d['lr_drop_at']})")
    parser.add_argument("--warmup-steps", type=int, help="linear warm-up steps (default 0)")
    parser.add_argument("--loss", choices=LOSSES, help="l1 (default) or l2")
    parser.add_argument("--outputs-dir", help="run folder (default runs/MODEL_xSCALE)")
    parser.add_argument("--checkpoint-every", type=int, help="epochs between checkpoints (default 1)")
    add_run_folder_arguments(parser)
    parser.add_argument("--seed", type=int, help="seed of the weights and the patch stream (default 0)")
    parser.add_argument("--init-weights", help="initialise from these .h5 weights (layers matching by name and shape)")
    parser.add_argument("--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: the default one)")
    parser.add_argument("--mixed-precision", nargs="?", const="auto", choices=(*MIXED_PRECISIONS, "auto"),
                        default=None,
                        help="mixed policy: bfloat16 (CPUs with AVX512-BF16/AMX; about 4x faster here) or "
                             "float16 (GPUs, with loss scaling); alone, 'auto' picks by device. The weights, "
                             "the loss and the per-epoch evaluation stay float32")
    parser.add_argument("--jit-compile", action="store_true", default=None, help="XLA-compile the train step")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar (default), 2 one line per epoch")
    return parser


def main(argv=None) -> int:
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not args.resume:
        if args.model is None or args.scale is None:
            parser.error("--model and --scale are required (unless --resume continues a run in --outputs-dir)")
        if args.train is None:
            parser.error(NO_TRAIN_MESSAGE)
    elif args.outputs_dir is None and (args.model is None or args.scale is None):
        parser.error("--resume needs --outputs-dir (or --model and --scale for the default runs/MODEL_xSCALE)")
    if args.resume and args.force:
        parser.error("--resume and --force exclude each other")
    try:
        config = parse_set_options(args.set)
        options = {k: getattr(args, k) for k in DEFAULTS}
        result = train(
            model=args.model, scale=args.scale, train=args.train, eval=args.eval, config=config,
            outputs_dir=args.outputs_dir, resume=args.resume, force=args.force,
            init_weights=args.init_weights, verbose=args.verbose,
            command_line="python -m keras_sr.train " + shlex.join(argv), **options,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.error(str(error))
    # Anything else is reported here rather than at interpreter exit: a tf.data iterator
    # (with numpy_function readers) still referenced by a traceback when Python finalises
    # can hang the process instead of letting it exit.
    except KeyboardInterrupt:
        print(f"\nInterrupted. Continue from the last checkpoint with --resume "
              f"(--outputs-dir {args.outputs_dir or 'runs/MODEL_xSCALE'}).", file=sys.stderr)
        result = None
        rc = 130
    except Exception:  # noqa: BLE001 - printed, then a clean exit code
        traceback.print_exc()
        result = None
        rc = 1
    if result is None:
        gc.collect()
        return rc
    if result["best_epoch"] is not None:
        print(f"Best eval PSNR {result['best_psnr']:.3f} dB at epoch {result['best_epoch']}: "
              f"{Path(result['outputs_dir']) / 'best.weights.h5'}")
    print(f"Run folder: {result['outputs_dir']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
