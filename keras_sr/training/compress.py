"""`optimize`: the prune and QAT phases of the engine, from trained float weights.

Phases, each of `steps` optimizer steps (L1 loss, Adam, random LR patches from `train`
through `keras_sr.data.pipeline.make_patch_dataset`):

* prune: magnitude pruning of every Conv2D (`keras_sr.optimize.prune`) to `sparsity`
  (polynomial ramp reaching it at 75 % of the steps, or constant from step 0), or to an
  m:n pattern (`m_by_n=(2, 4)`); then the wrappers are stripped.
* qat: quantization-aware training (`keras_sr.optimize.qat`); the activation ranges
  are first calibrated (min/max) on `calibration_batches` batches, since tfmot's EMA
  would keep them near their +-6 start for thousands of steps.
* both: prune, strip, then pruning-preserving QAT (the zeros stay zeros).

The run folder holds `optimized.weights.h5` (+ `.weights.json` sidecar with the `qat`,
`qat_scheme`, `pruned`, `sparsity` and `m_by_n` keys `keras_sr.convert` and
`checkpoints.load_model` read), `pruned.weights.h5` (the stripped pruned model, input of
the QAT phase), `config.json` (the record: options, command line, versions, per-phase
results under "phases", eval PSNR before/after, sparsity report), `history.json`/`.csv`
(a row per checkpoint period of each phase), TensorBoard scalars under `logs/<phase>/`
and `logs/eval/`, and `ckpt/<phase>/` (model + optimizer + samples seen, every
`checkpoint_every_steps` steps, when a callback stops the run, and at the end) that
`resume` continues from.

The reported PSNR of a QAT model is that of the Keras fake-quant model; the int8 TFLite
file made from it differs by a few int8 steps. Pruning does not reduce Multi-Adds
(TFLite CPU kernels run dense).
"""
from __future__ import annotations

import math
import time

import numpy as np

from keras_sr._keras import keras
from keras_sr.training.engine import Engine, Evaluator, Phase, log_scalars
from keras_sr.training.options import (
    OPTIMIZE_DEFAULTS,
    check_optimize_options,
    merge_options,
    parse_m_by_n,
    take_renamed,
)
from keras_sr.training.run_folder import RECORD_NAME, RunFolder, add_resume, new_record
from keras_sr.training.runconfig import replay_options

__all__ = ["optimize", "OUTPUT_NAME", "PRUNED_NAME", "RECORD_NAME"]

OUTPUT_NAME = "optimized.weights.h5"
PRUNED_NAME = "pruned.weights.h5"  # the stripped pruned model, input of the QAT phase
# What an older release wrote (run.json, checkpoints/<phase>/): deleted by force.
_LEGACY = ("run.json", "checkpoints")
# Options that must not change when a run is resumed.
_FIXED_ON_RESUME = ("weights", "model", "scale", "config", "prune", "qat", "steps", "sparsity", "schedule",
                    "m_by_n", "batch_size", "patch_size", "lr", "seed", "calibration_batches")


def _prune_steps(steps):
    """(end_step, frequency) of the polynomial schedule for a phase of `steps` steps:
    the target is reached at 75 % of the phase (the rest fine-tunes the sparse
    weights), masks are updated about 10 times on the way (every step at most 100)."""
    end_step = max(1, math.ceil(0.75 * (steps - 1)))
    frequency = max(1, min(100, end_step // 10))
    return end_step, frequency


def _mask_sparsity(model):
    """Fraction of zeros in the pruning masks of a pruning model (what the kernels are once masked)."""
    total = zeros = 0
    for layer in model.layers:
        for _, mask, _ in getattr(layer, "pruning_vars", []):
            values = mask.numpy()
            total += values.size
            zeros += values.size - int(np.count_nonzero(values))
    return {"mask_sparsity": zeros / total if total else 0.0}


def optimize(
    weights=None,
    train=None,
    eval=None,
    output_dir=None,
    steps=None,
    prune=False,
    qat=False,
    model=None,
    scale=None,
    config=None,
    resume=False,
    force=False,
    data_root=None,
    quiet=False,
    callbacks=None,
    command_line=None,
    **options,
):
    """Prune and/or QAT-train the model in `weights`; write the result to `output_dir`.

    Args:
        weights: a `.weights.h5` file of a float model (with its sidecar, or with
            `model`/`scale`/`config` when it has none).
        train: HDF5 file of (LR, HR) pairs or folder of HR images (training patches,
            and the QAT calibration batches); items smaller than a patch are left out.
        eval: evaluation set scored before and after (Y-PSNR / SSIM, shave = scale): a
            folder, an .h5 file or a name under `data_root` / `$KERAS_SR_DATA`.
        output_dir: run folder.
        steps: optimizer steps per phase (>= 1).
        prune, qat: the phases to run (at least one).
        model, scale, config: for weights without a sidecar (must agree with it otherwise).
        resume: continue the unfinished run in `output_dir` (a finished run: nothing
            to do); options must be the run's.
        force: start afresh in an `output_dir` that holds a run.
        data_root: where a bare `eval` name is looked up first.
        quiet: no progress bars, no messages.
        callbacks: extra Keras callbacks for every phase's `fit` (a callback that sets
            `model.stop_training` stops the run after a checkpoint; `resume` continues).
        command_line: recorded in config.json.
        **options: keys of `OPTIMIZE_DEFAULTS`: sparsity, schedule, m_by_n, batch_size,
            patch_size, lr, seed, calibration_batches, checkpoint_every_steps,
            eval_max_images, run_eagerly (fit and evaluate without tf.function: for
            debugging and tiny runs).

    Returns:
        The run record (also in `output_dir/config.json`); its "status" is "finished",
        "stopped" when a callback stopped training, or "nan".

    Raises:
        FileNotFoundError, FileExistsError, ValueError with a message for the user.
    """
    from keras_sr import checkpoints, models
    from keras_sr.data.pipeline import fitting_items
    from keras_sr.data.sources import open_pairs
    from keras_sr.paths import portable_path, resolve_eval
    from keras_sr.validation import check_file

    renamed = take_renamed(options, "checkpoint_every_steps")
    output_dir = renamed.pop("output_dir", output_dir)
    quiet = renamed.pop("quiet", quiet)
    options.update(renamed)
    o = merge_options(OPTIMIZE_DEFAULTS, options, "optimize")
    if not prune and any(options.get(k) is not None for k in ("sparsity", "schedule", "m_by_n")):
        raise ValueError("`sparsity`, `schedule` and `m_by_n` need `prune=True` (--prune).")
    if o["m_by_n"] is not None:
        o["m_by_n"] = parse_m_by_n(o["m_by_n"])
    o.update(prune=bool(prune), qat=bool(qat), steps=steps)
    check_optimize_options(o)
    for key, value in (("train", train), ("eval", eval), ("output_dir", output_dir)):
        if value is None:
            raise ValueError(f"`{key}` is required.")
    weights = check_file(weights, "weights")
    folder = RunFolder(output_dir, "optimize", weights=(OUTPUT_NAME, PRUNED_NAME), legacy=_LEGACY)
    saved = folder.open(resume, force)

    meta = checkpoints.read_meta(weights) or {}
    if meta.get("qat") or meta.get("pruned"):
        raise ValueError(
            f"`weights` {weights} holds an already optimized model (qat={meta.get('qat')}, "
            f"pruned={meta.get('pruned')}); start from the trained float weights."
        )
    float_model, meta = checkpoints.load_model(weights, model, scale, config)
    name, scale = meta["model"], meta["scale"]
    resolved = models.resolve_config(name, scale, **meta["config"])
    source = open_pairs(train, scale)
    kept = fitting_items(source, o["patch_size"], scale)
    eval_source = open_pairs(resolve_eval(eval, scale, data_root), scale)

    fixed = {"weights": portable_path(weights), "model": name, "scale": scale, "config": resolved,
             **{k: o[k] for k in _FIXED_ON_RESUME if k in o}}
    if saved is not None:
        before = {k: saved["options"].get(k) for k in _FIXED_ON_RESUME}
        diff = {k: (before[k], fixed[k]) for k in _FIXED_ON_RESUME if before[k] != fixed[k]}
        if diff:
            raise ValueError(
                f"`resume`: the run in '{folder.path}' was started with other options "
                f"{{option: (run, now)}}: {diff}. Resume with the run's options, or start afresh with --force."
            )
        if saved.get("status") == "finished":
            if not quiet:
                print(f"Nothing to do: the run in {folder.path} is finished ({folder.path / OUTPUT_NAME}).")
            return saved
    elif folder.has_run():
        folder.clear()  # force; everything above is checked first

    options_record = {**fixed, **{k: o[k] for k in OPTIMIZE_DEFAULTS}}
    if saved is not None:
        changed = {k: (saved["options"].get(k), v) for k, v in options_record.items() if saved["options"].get(k) != v}
        record = add_resume(saved, command_line, changed, tfmot=True)
        record["options"] = options_record
    else:
        replay = replay_options({"weights": weights, "train": source.path, "eval": eval_source.path,
                                 "output_dir": folder.path, "prune": o["prune"], "qat": o["qat"], "steps": o["steps"],
                                 **{k: o[k] for k in OPTIMIZE_DEFAULTS},
                                 "m_by_n": ":".join(map(str, o["m_by_n"])) if o["m_by_n"] else None})
        if not checkpoints.read_meta(weights):
            replay.update(model=name, scale=scale, config=resolved)
        record = new_record("optimize", command_line, options_record, replay, tfmot=True)
        record.update(train_path=portable_path(source.path), train_items={"total": len(source), "used": len(kept)},
                      eval_path=portable_path(eval_source.path), output_dir=portable_path(folder.path), phases={})
    folder.path.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(o["seed"])
    folder.write_record(record)
    run = dict(folder=folder, record=record, o=o, source=source, kept=kept, eval_source=eval_source,
               float_model=float_model, meta={"model": name, "scale": scale, "config": resolved},
               weights=weights, quiet=quiet, callbacks=callbacks)
    return _run(**run)


def _run(folder, record, o, source, kept, eval_source, float_model, meta, weights, quiet, callbacks):
    from keras_sr import checkpoints
    from keras_sr.data.pipeline import skipped_items_message
    from keras_sr.optimize.prune import sparsity_report
    from keras_sr.paths import portable_path

    history = folder.read_history() if record["resumes"] else []
    engine = Engine(folder, quiet=quiet, callbacks=callbacks, history=history)
    if len(kept) < len(source):
        print(skipped_items_message(len(kept), len(source), o["patch_size"], meta["scale"]), flush=True)
    evaluate = Evaluator(eval_source, meta["scale"], o["eval_max_images"], eagerly=bool(o["run_eagerly"]))
    if "eval_before" not in record:
        t = time.perf_counter()
        record["eval_before"] = evaluate(float_model)
        engine.say(f"Input model {meta['model']} x{meta['scale']}: eval PSNR {record['eval_before']['psnr']:.3f} dB "
                   f"({time.perf_counter() - t:.1f} s)")
        folder.write_record(record)

    phases = [p for p in ("prune", "qat") if o[p]]
    current = float_model
    for index, name in enumerate(phases):
        state = record["phases"].get(name, {})
        if state.get("status") == "finished":
            if name == "prune" and "qat" in phases:
                current, _ = checkpoints.load_model(folder.path / PRUNED_NAME)
            continue
        current, phase_record = _run_phase(engine, name, index, current, o, source, kept, both=len(phases) == 2)
        if phase_record["status"] == "finished" and name == "prune" and "qat" in phases:
            # Written before the phase is marked finished: a resume reads it.
            checkpoints.save_model_weights(current, folder.path / PRUNED_NAME,
                                           {**meta, "pruned": True, "sparsity": phase_record["sparsity"]})
        record["phases"][name] = {**state, **phase_record}
        if phase_record["status"] != "finished":
            record["status"] = "stopped" if phase_record["status"] == "stopped" else "nan"
            folder.write_record(record)
            where = f"phase {name!r} at step {phase_record['steps_done']} of {o['steps']}"
            if phase_record["status"] == "nan":
                engine.say(f"Stopped in {where}: the loss became NaN (try a lower `lr`). The last good checkpoint "
                           f"is in {folder.path / 'ckpt' / name}.")
            else:
                engine.say(f"Stopped in {where}; resume continues from {folder.path / 'ckpt' / name}.")
            return record
        folder.write_record(record)

    report = sparsity_report(current)
    t = time.perf_counter()
    record["eval_after"] = evaluate(current)
    engine.say(f"Optimized model: eval PSNR {record['eval_after']['psnr']:.3f} dB "
               f"(was {record['eval_before']['psnr']:.3f} dB; {time.perf_counter() - t:.1f} s)")
    out_meta = {
        **meta,
        "qat": o["qat"],
        "qat_scheme": ("prune_preserve" if o["prune"] else "default") if o["qat"] else None,
        "pruned": o["prune"],
        "sparsity": report["kernels"]["sparsity"] if o["prune"] else None,
        "m_by_n": o["m_by_n"] if o["prune"] else None,
        "source_weights": portable_path(weights),
        "psnr": record["eval_after"]["psnr"],
        "eval_path": portable_path(eval_source.path),
        "run": portable_path(folder.record_path),
    }
    checkpoints.save_model_weights(current, folder.path / OUTPUT_NAME, out_meta)
    log_scalars(folder.path / "logs" / "eval", {"psnr_before": record["eval_before"]["psnr"],
                                                "psnr_after": record["eval_after"]["psnr"],
                                                "kernel_sparsity": report["kernels"]["sparsity"]})
    from keras_sr.training.run_folder import now

    record.update(status="finished", end_time=now(), output=portable_path(folder.path / OUTPUT_NAME),
                  output_meta=out_meta, sparsity=report)
    folder.write_record(record)
    if o["prune"]:
        engine.say(f"Kernel sparsity {report['kernels']['sparsity']:.3f}. {report['note']}")
    engine.say(f"Wrote {folder.path / OUTPUT_NAME}")
    return record


def _run_phase(engine, name, index, base, o, source, kept, both):
    """One phase (prune or qat) from `base`; returns (model, phase record)."""
    from keras_sr.data.pipeline import make_patch_dataset
    from keras_sr.optimize import prune as prune_lib
    from keras_sr.optimize import qat as qat_lib

    steps = o["steps"]
    seed = o["seed"] + index  # each phase its own patch stream
    phase_record = {"steps": steps}
    extra_callbacks, scalars = [], None
    if name == "prune":
        end_step, frequency = _prune_steps(steps)
        if o["schedule"] == "constant":
            end_step = None
        work = prune_lib.prune_model(base, schedule=o["schedule"], target_sparsity=float(o["sparsity"]),
                                     begin_step=0, end_step=end_step, frequency=frequency, m_by_n=o["m_by_n"])
        phase_record.update(schedule=o["schedule"], target_sparsity=o["sparsity"], m_by_n=o["m_by_n"],
                            end_step=end_step, frequency=frequency)
        # UpdatePruningStep must come first: it sets the step the masks follow.
        extra_callbacks, scalars = prune_lib.pruning_callbacks(), _mask_sparsity
    else:
        scheme = "prune_preserve" if both else "default"
        work = qat_lib.quantize_model(base, scheme=scheme)
        phase_record.update(scheme=scheme)

    optimizer = keras.optimizers.Adam(learning_rate=o["lr"])
    work.compile(optimizer=optimizer, loss=keras.losses.MeanAbsoluteError(), run_eagerly=bool(o["run_eagerly"]))
    optimizer.build(work.trainable_variables)
    phase = Phase(
        name, work, optimizer, batch_size=o["batch_size"], ckpt_dir=engine.folder.path / "ckpt" / name,
        dataset=lambda start: make_patch_dataset(source, o["patch_size"], o["batch_size"], seed,
                                                 start_sample=start, indices=kept),
        steps=steps, period=o["checkpoint_every_steps"], learning_rate=o["lr"], scalars=scalars,
        callbacks=extra_callbacks, log_every=max(1, min(100, steps // 10)),
    )
    restored = phase.restore()
    if restored:
        engine.say(f"Phase {name}: resumed from {restored} (step {phase.steps_done})")
    elif name == "qat":
        calibration = make_patch_dataset(source, o["patch_size"], o["batch_size"], o["seed"] + 100, indices=kept)
        ranges = qat_lib.calibrate(work, calibration.take(o["calibration_batches"]))
        phase_record["calibrated_ranges"] = len(ranges)
        phase.save(0)  # the calibrated ranges are part of the starting point
    done = phase.steps_done
    engine.history = [r for r in engine.history if r.get("phase") != name or r.get("step", 0) <= done]
    if done < steps:
        engine.say(f"Phase {name}: steps {done + 1}..{steps} of {o['batch_size']} patches "
                   f"{o['patch_size']}x{o['patch_size']}")
    outcome = engine.run_phase(phase)
    phase_record.update(steps_done=outcome["steps_done"], status=outcome["status"])
    if outcome["loss"] is not None:
        phase_record["loss"] = outcome["loss"]
    if outcome["fit_time_s"]:
        phase_record["fit_time_s"] = outcome["fit_time_s"]
    if outcome["nan_at_step"] is not None:
        phase_record["nan_at_step"] = outcome["nan_at_step"]
    if outcome["status"] != "finished":
        return work, phase_record
    if name == "prune":
        work = prune_lib.strip(work)
        report = prune_lib.sparsity_report(work)
        phase_record["sparsity"] = report["kernels"]["sparsity"]
        engine.say(f"Phase prune: kernel sparsity {report['kernels']['sparsity']:.3f}")
    return work, phase_record
