"""Prune and/or quantization-aware-train trained keras-sr weights, resumably.

    python -m keras_sr.optimize --weights runs/fd_irb_x4/best.weights.h5 \\
        --train DIV2K_x4.h5 --eval Set5 --prune --qat --steps 2000 --outputs-dir runs/fd_irb_x4_opt

Phases, each of `--steps` optimizer steps (L1 loss, Adam, random LR patches from
`--train` through `keras_sr.train.make_patch_dataset`):

* `--prune`: magnitude pruning of every Conv2D (`keras_sr.optimize.prune`) to
  `--sparsity` (polynomial ramp reaching it at 75 % of the steps, or constant from
  step 0), or to an m:n pattern with `--m-by-n 2:4`; then the wrappers are stripped.
* `--qat`: quantization-aware training (`keras_sr.optimize.qat`); the activation
  ranges are first calibrated (min/max) on `--calibration-batches` batches, since
  tfmot's EMA would keep them near their +-6 start for thousands of steps.
* both: prune, strip, then pruning-preserving QAT (the zeros stay zeros).

The run folder holds `optimized.weights.h5` (+ `.weights.json` sidecar with the
`qat`, `qat_scheme`, `pruned` and sparsity keys `keras_sr.convert` and
`checkpoints.load_model` read), `run.json` (resolved options, command line, package
versions, per-phase results, eval PSNR before/after, sparsity report), TensorBoard
logs under `logs/`, and `checkpoints/<phase>/` (model + optimizer, every
`--checkpoint-every` steps and at the end) that `--resume` continues from.

The reported PSNR of a QAT model is that of the Keras fake-quant model; the int8
TFLite file made from it differs by a few int8 steps (see docs/STACK_NOTES.md).
Pruning does not reduce Multi-Adds (TFLite CPU kernels run dense).
"""
import json
import math
import platform
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

__all__ = ["optimize", "DEFAULTS", "OUTPUT_NAME", "RECORD_NAME"]

OUTPUT_NAME = "optimized.weights.h5"
PRUNED_NAME = "pruned.weights.h5"  # the stripped pruned model, input of the QAT phase
RECORD_NAME = "run.json"
_RUN_FILES = (OUTPUT_NAME, "optimized.weights.json", PRUNED_NAME, "pruned.weights.json", RECORD_NAME)
_RUN_DIRS = ("checkpoints", "logs")

DEFAULTS = dict(
    sparsity=0.5,
    schedule="polynomial",
    m_by_n=None,
    batch_size=16,
    patch_size=32,
    lr=1e-4,
    seed=0,
    calibration_batches=8,
    checkpoint_every=100,
    eval_max_images=None,
    run_eagerly=False,
)
# Options that must not change when a run is resumed.
_FIXED_ON_RESUME = ("weights", "model", "scale", "config", "prune", "qat", "steps", "sparsity", "schedule",
                    "m_by_n", "batch_size", "patch_size", "lr", "seed", "calibration_batches")


def _versions():
    import keras_sr
    from keras_sr._keras import keras, tf

    import tensorflow_model_optimization as tfmot

    return {
        "keras_sr": keras_sr.__version__,
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "tfmot": tfmot.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`--{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _validate(o):
    if not (o["prune"] or o["qat"]):
        raise ValueError("Nothing to do: pass --prune, --qat or both (prune, then pruning-preserving QAT).")
    _check_int(o["steps"], "steps", 1)
    for key in ("batch_size", "patch_size", "calibration_batches", "checkpoint_every"):
        _check_int(o[key], key.replace("_", "-"), 1)
    _check_int(o["seed"], "seed", 0)
    if o["eval_max_images"] is not None:
        _check_int(o["eval_max_images"], "eval-max-images", 1)
    sparsity = o["sparsity"]
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0.0 <= sparsity < 1.0:
        raise ValueError(f"`--sparsity` must be a number in [0, 1). Received: sparsity={sparsity!r}")
    from keras_sr.optimize.prune import SCHEDULES, _check_m_by_n

    if o["schedule"] not in SCHEDULES:
        raise ValueError(f"`--schedule` must be one of {SCHEDULES}. Received: schedule={o['schedule']!r}")
    _check_m_by_n(o["m_by_n"])
    if not (isinstance(o["lr"], (int, float)) and o["lr"] > 0):
        raise ValueError(f"`--lr` must be > 0. Received: lr={o['lr']!r}")


def _prune_steps(steps):
    """(end_step, frequency) of the polynomial schedule for a phase of `steps` steps:
    the target is reached at 75 % of the phase (the rest fine-tunes the sparse
    weights), masks are updated about 10 times on the way (every step at most 100)."""
    end_step = max(1, math.ceil(0.75 * (steps - 1)))
    frequency = max(1, min(100, end_step // 10))
    return end_step, frequency


def _clear_run(outputs_dir):
    for name in _RUN_FILES:
        (outputs_dir / name).unlink(missing_ok=True)
    for name in _RUN_DIRS:
        if (outputs_dir / name).is_dir():
            shutil.rmtree(outputs_dir / name)


def _write_record(outputs_dir, record):
    from keras_sr.checkpoints import atomic_write_text

    atomic_write_text(outputs_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))


def optimize(
    weights,
    train,
    eval,
    outputs_dir,
    steps,
    prune=False,
    qat=False,
    model=None,
    scale=None,
    config=None,
    resume=False,
    force=False,
    verbose=1,
    callbacks=None,
    command_line=None,
    **options,
):
    """Prune and/or QAT-train the model in `weights`; write the result to `outputs_dir`.

    Args:
        weights: a `.weights.h5` file of a float model (with its sidecar, or with
            `model`/`scale`/`config` when it has none).
        train: HDF5 file of (LR, HR) pairs or folder of HR images (training patches,
            and the QAT calibration batches).
        eval: HDF5 file or folder scored before and after (Y-PSNR / SSIM, shave = scale).
        outputs_dir: run folder.
        steps: optimizer steps per phase (>= 1).
        prune, qat: the phases to run (at least one).
        model, scale, config: for weights without a sidecar (must agree with it otherwise).
        resume: continue the unfinished run in `outputs_dir` (a finished run: nothing
            to do); options must be the run's.
        force: start afresh in an `outputs_dir` that holds a run.
        verbose: 0 silent, 1 progress bar, 2 one line per phase.
        callbacks: extra Keras callbacks for every phase's `fit` (a callback that sets
            `model.stop_training` stops the run after a checkpoint; `resume` continues).
        command_line: recorded in run.json.
        **options: keys of `DEFAULTS`: sparsity, schedule, m_by_n, batch_size,
            patch_size, lr, seed, calibration_batches, checkpoint_every, eval_max_images,
            run_eagerly (fit and evaluate without tf.function: for debugging and tiny runs).

    Returns:
        The run record (also in `outputs_dir/run.json`); its "status" is "finished",
        or "stopped" when a callback stopped training.

    Raises:
        FileNotFoundError, FileExistsError, ValueError with a message for the user.
    """
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"optimize() got unknown option(s) {unknown}. Allowed: {sorted(DEFAULTS)}")
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    if o["m_by_n"] is not None:
        o["m_by_n"] = list(o["m_by_n"])
    o.update(prune=bool(prune), qat=bool(qat), steps=steps)
    _validate(o)
    if resume and force:
        raise ValueError("--resume and --force exclude each other.")
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"`--weights` file not found: {weights}")
    outputs_dir = Path(outputs_dir)

    from keras_sr import checkpoints
    from keras_sr.data.sources import open_pairs

    meta = checkpoints.read_meta(weights) or {}
    if meta.get("qat") or meta.get("pruned"):
        raise ValueError(
            f"`--weights` {weights} holds an already optimized model (qat={meta.get('qat')}, "
            f"pruned={meta.get('pruned')}); start from the trained float weights."
        )

    record_path = outputs_dir / RECORD_NAME
    saved = json.loads(record_path.read_text()) if record_path.is_file() else None
    has_run = saved is not None or (outputs_dir / "checkpoints").is_dir()
    if has_run and not resume and not force:
        state = "a finished run" if saved and saved.get("status") == "finished" else "an unfinished run"
        raise FileExistsError(
            f"`--outputs-dir` '{outputs_dir}' already holds {state}; pass --resume to continue it "
            "or --force to start afresh (its run files are deleted)."
        )
    if resume and saved is None:
        raise FileNotFoundError(
            f"`--resume`: no run to resume in '{outputs_dir}' (no {RECORD_NAME}). Drop --resume to start one."
        )

    from keras_sr._keras import keras

    float_model, meta = checkpoints.load_model(weights, model, scale, config)
    name, scale = meta["model"], meta["scale"]
    from keras_sr import models
    from keras_sr.data.pipeline import check_patch_fits

    resolved = models.resolve_config(name, scale, **meta["config"])
    source = open_pairs(train, scale)
    check_patch_fits(source, o["patch_size"], scale)
    eval_source = open_pairs(eval, scale)

    fixed = {"weights": str(weights.resolve()), "model": name, "scale": scale, "config": resolved,
             **{k: o[k] for k in _FIXED_ON_RESUME if k in o}}
    if saved is not None:
        before = {k: saved["options"].get(k) for k in _FIXED_ON_RESUME}
        diff = {k: (before[k], fixed[k]) for k in _FIXED_ON_RESUME if before[k] != fixed[k]}
        if diff:
            raise ValueError(
                f"`--resume`: the run in '{outputs_dir}' was started with other options "
                f"{{option: (run, now)}}: {diff}. Resume with the run's options, or --force to start afresh."
            )
        if saved.get("status") == "finished":
            if verbose:
                print(f"Nothing to do: the run in {outputs_dir} is finished ({outputs_dir / OUTPUT_NAME}).")
            return saved
    elif has_run:  # force
        _clear_run(outputs_dir)

    def say(*args):
        if verbose:
            print(*args, flush=True)

    outputs_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(o["seed"])
    record = saved or {
        "status": "running",
        "start_time": _now(),
        "command_line": command_line,
        "options": {**fixed, **{k: o[k] for k in DEFAULTS}},
        "train_path": str(source.path),
        "eval_path": str(eval_source.path),
        "versions": _versions(),
        "phases": {},
        "resumes": [],
    }
    if saved is not None:
        record["resumes"].append({"time": _now(), "command_line": command_line, "versions": _versions()})
        record["status"] = "running"
    _write_record(outputs_dir, record)

    eval_items = list(range(len(eval_source)))[: o["eval_max_images"] or None]
    if "eval_before" not in record:
        t = time.perf_counter()
        record["eval_before"] = _evaluate(float_model, eval_source, eval_items, scale, o["run_eagerly"])
        say(f"Input model {name} x{scale}: eval PSNR {record['eval_before']['psnr']:.3f} dB "
            f"({time.perf_counter() - t:.1f} s)")
        _write_record(outputs_dir, record)

    phases = [p for p in ("prune", "qat") if o[p]]
    base_meta = {"model": name, "scale": scale, "config": resolved}
    current = float_model
    for index, phase in enumerate(phases):
        state = record["phases"].get(phase, {})
        if state.get("status") == "finished":
            if phase == "prune" and "qat" in phases:
                current, _ = checkpoints.load_model(outputs_dir / PRUNED_NAME)
            continue
        result = _run_phase(phase, index, current, o, source, outputs_dir, say, callbacks,
                            both=len(phases) == 2, verbose=verbose)
        current = result["model"]
        if result["record"]["status"] == "finished" and phase == "prune" and "qat" in phases:
            # Written before the phase is marked finished: a resume reads it.
            checkpoints.save_model_weights(
                current, outputs_dir / PRUNED_NAME,
                {**base_meta, "pruned": True, "sparsity": result["record"]["sparsity"]},
            )
        record["phases"][phase] = {**state, **result["record"]}
        if result["record"]["status"] != "finished":
            record["status"] = "stopped"
            _write_record(outputs_dir, record)
            where = f"phase {phase!r} at step {result['record']['steps_done']} of {o['steps']}"
            if result["record"]["status"] == "nan":
                say(f"Stopped in {where}: the loss became NaN (try a lower --lr). The last good checkpoint "
                    f"is in {outputs_dir / 'checkpoints' / phase}.")
            else:
                say(f"Stopped in {where}; --resume continues from {outputs_dir / 'checkpoints' / phase}.")
            return record
        _write_record(outputs_dir, record)

    from keras_sr.optimize.prune import sparsity_report

    report = sparsity_report(current)
    t = time.perf_counter()
    record["eval_after"] = _evaluate(current, eval_source, eval_items, scale, o["run_eagerly"])
    say(f"Optimized model: eval PSNR {record['eval_after']['psnr']:.3f} dB "
        f"(was {record['eval_before']['psnr']:.3f} dB; {time.perf_counter() - t:.1f} s)")
    out_meta = {
        **base_meta,
        "qat": o["qat"],
        "qat_scheme": ("prune_preserve" if o["prune"] else "default") if o["qat"] else None,
        "pruned": o["prune"],
        "sparsity": report["kernels"]["sparsity"] if o["prune"] else None,
        "m_by_n": o["m_by_n"] if o["prune"] else None,
        "source_weights": str(weights),
        "psnr": record["eval_after"]["psnr"],
        "eval_path": str(eval_source.path),
        "run": str(outputs_dir / RECORD_NAME),
    }
    checkpoints.save_model_weights(current, outputs_dir / OUTPUT_NAME, out_meta)
    _log_scalars(outputs_dir / "logs" / "eval", {"psnr_before": record["eval_before"]["psnr"],
                                                 "psnr_after": record["eval_after"]["psnr"],
                                                 "kernel_sparsity": report["kernels"]["sparsity"]})
    record.update(status="finished", end_time=_now(), output=str(outputs_dir / OUTPUT_NAME),
                  output_meta=out_meta, sparsity=report)
    _write_record(outputs_dir, record)
    if o["prune"]:
        say(f"Kernel sparsity {report['kernels']['sparsity']:.3f}. {report['note']}")
    say(f"Wrote {outputs_dir / OUTPUT_NAME}")
    return record


def _evaluate(model, eval_source, indices, scale, eagerly=False):
    from keras_sr.evaluate import make_predictor, score_items

    if eagerly:  # no tf.function trace: faster for a few tiny images

        def predict(x):
            return model(x, training=False).numpy()

    else:
        predict = make_predictor(model)
    scores = score_items(predict, ((eval_source.name(i), *eval_source[i]) for i in indices), scale, warm_up=False)
    return {"psnr": scores["psnr"], "ssim": scores["ssim"], "count": scores["count"],
            "images": [{"name": r["name"], "psnr": r["psnr"], "ssim": r["ssim"]} for r in scores["images"]]}


def _mask_sparsity(model):
    """Fraction of zeros in the pruning masks of a pruning model (what the kernels are once masked)."""
    total = zeros = 0
    for layer in model.layers:
        for _, mask, _ in getattr(layer, "pruning_vars", []):
            values = mask.numpy()
            total += values.size
            zeros += values.size - int(np.count_nonzero(values))
    return zeros / total if total else 0.0


class _ScalarLog:
    """TensorBoard scalar event files written with TF core only.

    `tf.summary.scalar` (and so keras.callbacks.TensorBoard and tfmot's
    PruningSummaries) raises TBNotInstalledError when the `tensorboard` package is
    missing, which TF 2.21 no longer installs. `tf.summary.write` with the "scalars"
    plugin metadata writes the same events, which TensorBoard reads as scalars.
    """

    def __init__(self, log_dir):
        from keras_sr._keras import tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(str(log_dir))
        self._metadata = tf.compat.v1.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def write(self, values, step):
        tf = self._tf
        with self._writer.as_default():
            for key, value in values.items():
                tf.summary.write(key, tf.constant(float(value), tf.float32), step=int(step), metadata=self._metadata)
        self._writer.flush()

    def close(self):
        self._writer.close()


def _log_scalars(log_dir, values, step=0):
    log = _ScalarLog(log_dir)
    log.write(values, step)
    log.close()


def _run_phase(phase, index, base, o, source, outputs_dir, say, extra_callbacks, both, verbose):
    """One phase (prune or qat) from `base`; returns {"model", "record"}."""
    from keras_sr._keras import keras, tf
    from keras_sr.optimize import prune as prune_lib
    from keras_sr.optimize import qat as qat_lib
    from keras_sr.train import make_patch_dataset

    steps = o["steps"]
    seed = o["seed"] + index  # each phase its own patch stream
    phase_record = {"steps": steps}
    if phase == "prune":
        end_step, frequency = _prune_steps(steps)
        if o["schedule"] == "constant":
            end_step = None
        work = prune_lib.prune_model(base, schedule=o["schedule"], target_sparsity=float(o["sparsity"]),
                                     begin_step=0, end_step=end_step, frequency=frequency,
                                     m_by_n=o["m_by_n"])
        phase_record.update(schedule=o["schedule"], target_sparsity=o["sparsity"], m_by_n=o["m_by_n"],
                            end_step=end_step, frequency=frequency)
    else:
        scheme = "prune_preserve" if both else "default"
        work = qat_lib.quantize_model(base, scheme=scheme)
        phase_record.update(scheme=scheme)

    optimizer = keras.optimizers.Adam(learning_rate=o["lr"])
    work.compile(optimizer=optimizer, loss=keras.losses.MeanAbsoluteError(), run_eagerly=bool(o["run_eagerly"]))
    optimizer.build(work.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=work, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(outputs_dir / "checkpoints" / phase), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        say(f"Phase {phase}: resumed from {manager.latest_checkpoint} (step {int(optimizer.iterations.numpy())})")
    elif phase == "qat":
        calibration = make_patch_dataset(source, o["patch_size"], o["batch_size"], o["seed"] + 100)
        ranges = qat_lib.calibrate(work, calibration.take(o["calibration_batches"]))
        phase_record["calibrated_ranges"] = len(ranges)
        manager.save(checkpoint_number=0)  # the calibrated ranges are part of the starting point
    done = int(optimizer.iterations.numpy())

    class Checkpointer(keras.callbacks.Callback):
        """Saves every `checkpoint_every` steps and at the end, never weights after a NaN loss."""

        def on_train_batch_end(self, batch, logs=None):
            step = int(optimizer.iterations.numpy())
            if not np.isfinite((logs or {}).get("loss", 0.0)):
                phase_record["nan_at_step"] = step
            elif step % o["checkpoint_every"] == 0 and step < steps:
                manager.save(checkpoint_number=step)

        def on_train_end(self, logs=None):
            if "nan_at_step" not in phase_record:
                manager.save(checkpoint_number=int(optimizer.iterations.numpy()))

    log_every = max(1, min(100, steps // 10))

    class Logger(keras.callbacks.Callback):
        """Loss (and, while pruning, kernel sparsity) to TensorBoard every `log_every` steps."""

        def on_train_begin(self, logs=None):
            self.log = _ScalarLog(outputs_dir / "logs" / phase)

        def on_train_batch_end(self, batch, logs=None):
            step = int(optimizer.iterations.numpy())
            phase_record["loss"] = float((logs or {}).get("loss", float("nan")))
            if step % log_every == 0 or step == steps:
                values = {"loss": phase_record["loss"]}
                if phase == "prune":
                    values["mask_sparsity"] = _mask_sparsity(work)
                self.log.write(values, step)

        def on_train_end(self, logs=None):
            self.log.close()

    if done < steps:
        callbacks = []
        if phase == "prune":
            # UpdatePruningStep must come first: it sets the step the masks follow.
            # (tfmot's PruningSummaries needs the tensorboard package; Logger does not.)
            callbacks += prune_lib.pruning_callbacks()
        callbacks += [Checkpointer(), Logger(), keras.callbacks.TerminateOnNaN()]
        callbacks += list(extra_callbacks or [])
        # The patch stream continues where the checkpoint left it (sample index = step * batch).
        dataset = make_patch_dataset(source, o["patch_size"], o["batch_size"], seed,
                                     start_sample=done * o["batch_size"])
        say(f"Phase {phase}: steps {done + 1}..{steps} of {o['batch_size']} patches "
            f"{o['patch_size']}x{o['patch_size']}")
        t = time.perf_counter()
        work.fit(dataset, epochs=1, steps_per_epoch=steps - done, callbacks=callbacks,
                 verbose=1 if verbose == 1 else 0)
        phase_record["fit_time_s"] = round(time.perf_counter() - t, 3)
    done = int(optimizer.iterations.numpy())
    phase_record["steps_done"] = done
    phase_record["status"] = "finished" if done >= steps else "stopped"
    if "nan_at_step" in phase_record:
        phase_record["status"] = "nan"
    if phase_record["status"] != "finished":
        return {"model": work, "record": phase_record}
    if phase == "prune":
        work = prune_lib.strip(work)
        report = prune_lib.sparsity_report(work)
        phase_record["sparsity"] = report["kernels"]["sparsity"]
        say(f"Phase prune: kernel sparsity {report['kernels']['sparsity']:.3f}")
    return {"model": work, "record": phase_record}


# --------------------------------------------------------------------------- CLI


def _parse_m_by_n(text):
    try:
        m, n = (int(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"`--m-by-n` must look like M:N, e.g. 2:4. Received: {text!r}") from None
    return m, n


def build_parser():
    import argparse

    from keras_sr.cli_utils import add_patch_training_arguments, add_run_folder_arguments

    parser = argparse.ArgumentParser(
        prog="python -m keras_sr.optimize",
        description="Prune and/or quantization-aware-train trained keras-sr weights (resumable).",
        epilog="With --prune and --qat: prune, strip, then pruning-preserving QAT, --steps each.",
    )
    d = DEFAULTS
    parser.add_argument("--weights", required=True, help="trained float weights (X.weights.h5, sidecar X.weights.json)")
    parser.add_argument("--model", help="model name, for weights without a sidecar")
    parser.add_argument("--scale", type=int, help="upscaling factor, for weights without a sidecar")
    parser.add_argument("--set", action="append", default=[], metavar="K=V",
                        help="model config, for weights without a sidecar (repeatable)")
    parser.add_argument("--train", required=True, help="HDF5 file of (LR, HR) pairs or a folder of HR images")
    parser.add_argument("--eval", required=True, help="HDF5 file or folder scored before and after (Y-PSNR)")
    parser.add_argument("--prune", action="store_true", help="magnitude-prune every Conv2D")
    parser.add_argument("--sparsity", type=float, help=f"target kernel sparsity in [0, 1) (default {d['sparsity']})")
    parser.add_argument("--schedule", help="polynomial (default: 0 -> target at 75%% of the steps) or constant")
    parser.add_argument("--m-by-n", metavar="M:N", help="structured sparsity, e.g. 2:4 (replaces --sparsity)")
    parser.add_argument("--qat", action="store_true", help="quantization-aware training (int8)")
    parser.add_argument("--steps", type=int, required=True, help="optimizer steps per phase")
    add_patch_training_arguments(parser, d)
    parser.add_argument("--calibration-batches", type=int,
                        help=f"batches for the QAT range calibration (default {d['calibration_batches']})")
    parser.add_argument("--checkpoint-every", type=int,
                        help=f"steps between checkpoints (default {d['checkpoint_every']})")
    parser.add_argument("--outputs-dir", required=True, help="run folder")
    add_run_folder_arguments(parser)
    parser.add_argument("--seed", type=int, help=f"seed of the patch stream (default {d['seed']})")
    parser.add_argument("--run-eagerly", action="store_true", default=None,
                        help="fit and evaluate without tf.function (debugging, tiny runs)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2,
                        help="0 silent, 1 progress bars, 2 one line per phase (default)")
    return parser


def main(argv=None) -> int:
    import shlex
    import sys

    from keras_sr.cli_utils import parse_set_options

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not (args.prune or args.qat):
        parser.error("nothing to do: pass --prune, --qat or both (prune, then pruning-preserving QAT)")
    if args.steps < 1:
        parser.error(f"`--steps` must be an integer >= 1. Received: {args.steps}")
    if args.sparsity is not None and not 0.0 <= args.sparsity < 1.0:
        parser.error(f"`--sparsity` must be in [0, 1). Received: {args.sparsity}")
    if args.resume and args.force:
        parser.error("--resume and --force exclude each other")
    if not args.prune and (args.sparsity is not None or args.schedule is not None or args.m_by_n is not None):
        parser.error("--sparsity, --schedule and --m-by-n need --prune")
    try:
        m_by_n = _parse_m_by_n(args.m_by_n) if args.m_by_n is not None else None
        record = optimize(
            weights=args.weights, train=args.train, eval=args.eval, outputs_dir=args.outputs_dir,
            steps=args.steps, prune=args.prune, qat=args.qat, model=args.model, scale=args.scale,
            config=parse_set_options(args.set) or None, resume=args.resume, force=args.force,
            verbose=args.verbose, command_line="python -m keras_sr.optimize " + shlex.join(argv),
            sparsity=args.sparsity, schedule=args.schedule, m_by_n=m_by_n, batch_size=args.batch_size,
            patch_size=args.patch_size, lr=args.lr, seed=args.seed,
            calibration_batches=args.calibration_batches, checkpoint_every=args.checkpoint_every,
            eval_max_images=args.eval_max_images, run_eagerly=args.run_eagerly,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.error(str(error))
    if record["status"] != "finished":
        print(f"Run stopped ({record['status']}); --resume continues it: {args.outputs_dir}")
        return 1
    print(f"Optimized weights: {record['output']}")
    return 0
