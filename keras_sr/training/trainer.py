"""`train`: the train phase of the engine (epochs of steps on random LR/HR patches).

Defaults are the original project's: L1 loss, Adam with lr 1e-4, batch 16, LR patches
32x32, lr x0.1 from epoch int(0.8 * epochs) on (`lr * 0.1 ** (epoch // int(0.8 * epochs))`
in the PyTorch scripts), Y-PSNR on the evaluation set after every epoch and the best
weights kept.

The run folder (`output_dir`, default `runs/{model}_x{scale}`) holds `config.json`,
`history.json`/`.csv` (one row per epoch: loss, lr, psnr, ssim, times), `logs/train/`,
`ckpt/` (model + optimizer + epoch + samples seen, the last 2 kept, every
`checkpoint_every_epochs` epochs and after the last), `last.weights.h5` (with each
checkpoint) and `best.weights.h5` (best eval PSNR), each with the sidecar
`keras_sr.checkpoints.load_model` reads.

`resume` restores weights, optimizer state, the epoch and the position in the patch
stream, and continues to `epochs` (the same or a larger total; see `make_schedule` for
what a larger total does to the schedule).

`strategy="multiworker"` (tf.distribute.MultiWorkerMirroredStrategy): every worker runs the
same command with its own TF_CONFIG. Only the chief (worker 0, or the "chief" task) writes the
run folder; the others write nothing there (their checkpoint saves, which the strategy needs
them to make, go to a temporary folder deleted at once) and resume from the chief's `ckpt/`,
so with `resume` the run folder must be one all workers can read (a shared file system).
"""
from __future__ import annotations

import json
from pathlib import Path

from keras_sr._keras import keras, tf
from keras_sr.profile import describe_params
from keras_sr.training.engine import Engine, Evaluator, Phase
from keras_sr.training.options import (
    MIXED_PRECISIONS,
    NO_TRAIN_MESSAGE,
    STRATEGIES,
    TRAIN_DEFAULTS,
    check_train_options,
    merge_options,
    take_renamed,
)
from keras_sr.training.run_folder import RunFolder, add_resume, new_record
from keras_sr.training.runconfig import replay_options
from keras_sr.training.schedules import make_schedule

__all__ = ["train", "compile_for_training", "TRAIN_WEIGHTS"]

#: The weights files a train run writes (each with its .weights.json sidecar).
TRAIN_WEIGHTS = ("best.weights.h5", "last.weights.h5")


def _make_strategy(name):
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


def _resolve_mixed_precision(value):
    """False/None -> False; True (older runs and callers) -> "float16"; "auto" -> per device."""
    if value is None or value is False:
        return False
    if value is True:
        return "float16"
    if value == "auto":
        return "float16" if tf.config.list_physical_devices("GPU") else "bfloat16"
    if value not in MIXED_PRECISIONS:
        raise ValueError(f"`mixed_precision` must be one of {MIXED_PRECISIONS} (or 'auto'). "
                         f"Received: mixed_precision={value!r}")
    return value


def distillation_loss(loss="l1", teacher_weight=0.0):
    """The training loss on a target of 3 channels (the HR) or, with `teacher_weight` W > 0, of 6 (the
    HR, then a teacher's output under the same patch): (1 - W) loss(HR) + W loss(teacher)."""
    if not teacher_weight:
        return keras.losses.MeanAbsoluteError() if loss == "l1" else keras.losses.MeanSquaredError()
    pixel_loss = keras.losses.mean_absolute_error if loss == "l1" else keras.losses.mean_squared_error
    w = float(teacher_weight)

    def loss_fn(target, output):
        return (1.0 - w) * pixel_loss(target[..., :3], output) + w * pixel_loss(target[..., 3:], output)

    return loss_fn


def compile_for_training(net, learning_rate, loss="l1", mixed_precision=False, jit_compile=False, teacher_weight=0.0):
    """The compiled model that `fit` trains for `net`, and its Adam optimizer.

    Under a mixed policy (`net` built while it is set) a weightless float32 layer ends the
    model, so the loss is computed in float32, and float16 gets loss scaling (bfloat16 has
    float32's range and needs none). `net` itself stays uncompiled under a mixed policy.
    `teacher_weight`: see `distillation_loss`.
    """
    fit_model = net
    if mixed_precision:
        out = keras.layers.Activation("linear", dtype="float32", name="output_float32")(net.output)
        fit_model = keras.Model(net.input, out, name=net.name)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if mixed_precision == "float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    fit_model.compile(optimizer=optimizer, loss=distillation_loss(loss, teacher_weight), jit_compile=jit_compile)
    return fit_model, optimizer


def _saved_options(saved):
    """The options of a saved record, older spellings renamed."""
    options = dict(saved.get("options", {}))
    if "checkpoint_every" in options:
        options["checkpoint_every_epochs"] = options.pop("checkpoint_every")
    return options


def _latest_epoch(output_dir):
    latest = tf.train.latest_checkpoint(str(Path(output_dir) / "ckpt"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def train(
    model=None,
    scale=None,
    train=None,
    eval=None,
    config=None,
    output_dir=None,
    resume=False,
    force=False,
    init_weights=None,
    data_root=None,
    quiet=False,
    callbacks=None,
    command_line=None,
    **options,
):
    """Train `model` at `scale` on `train`, evaluating on `eval` after every epoch.

    Args:
        model: registered model name (`keras_sr.models.names()`); with `resume`, may be
            None (taken from the run's config.json).
        scale: upscaling factor.
        train: HDF5 file of (LR, HR) pairs or folder of HR images. Items smaller than
            the HR patch are left out (one line says how many); none large enough is
            a ValueError.
        eval: optional evaluation set scored (Y-PSNR/SSIM, shave = scale) each epoch: a
            folder, an .h5 file or a name under `data_root` / `$KERAS_SR_DATA`.
        config: model config overrides (`--set K=V`).
        output_dir: run folder, default `runs/{model}_x{scale}`.
        resume: continue the run in `output_dir` from its latest checkpoint.
        force: start afresh in an `output_dir` holding a run (its run files are deleted).
        init_weights: weights to initialise from (layers matching by name and shape, see
            `keras_sr.training.load_matching_weights`).
        data_root: where a bare `eval` name is looked up first.
        quiet: no progress bars, no messages.
        callbacks: extra Keras callbacks (run after the run's own ones).
        command_line: recorded in config.json.
        **options: the keys of `TRAIN_DEFAULTS` (epochs, steps_per_epoch, batch_size,
            patch_size, lr, lr_schedule, lr_drop_at, warmup_steps, loss, teacher_weight,
            checkpoint_every_epochs, seed, strategy, mixed_precision, eval_max_images,
            jit_compile); None = default (or, with `resume`, the run's value).

    Returns:
        dict with `output_dir`, `history` (list of rows), `best_psnr`, `best_epoch`,
        `epochs`, `status` ("finished", "stopped" by a callback, "nan"), `model` (the
        trained float32-output Keras model).

    Raises:
        ValueError / FileNotFoundError / FileExistsError with a message for the user.
    """
    from keras_sr import models
    from keras_sr.data.pipeline import fitting_items
    from keras_sr.data.sources import open_pairs
    from keras_sr.paths import expand_path, resolve_eval

    renamed = take_renamed(options, "checkpoint_every_epochs")
    output_dir = renamed.pop("output_dir", output_dir)
    quiet = renamed.pop("quiet", quiet)
    options.update(renamed)
    merge_options(TRAIN_DEFAULTS, options, "train")  # unknown keys
    given = {k: v for k, v in options.items() if v is not None}
    config = dict(config or {})

    if output_dir is None:
        if model is None or scale is None:
            raise ValueError("`output_dir` is required when `model` and `scale` are not given.")
        output_dir = Path("runs") / f"{model}_x{scale}"
    folder = RunFolder(output_dir, "train", weights=TRAIN_WEIGHTS)
    output_dir = folder.path
    saved = folder.open(resume, force)

    changed = {}
    if saved is not None:
        run_options = _saved_options(saved)
        model = saved["model"] if model is None else model
        scale = saved["scale"] if scale is None else scale
        if model != saved["model"] or scale != saved["scale"]:
            raise ValueError(
                f"`resume`: '{output_dir}' holds a run of model {saved['model']!r} at x{saved['scale']}; "
                f"received model={model!r}, scale={scale!r}."
            )
        resolved = models.resolve_config(model, scale, **{**saved["config"], **config})
        if resolved != saved["config"]:
            diff = {k: (saved["config"].get(k), resolved.get(k)) for k in resolved
                    if saved["config"].get(k) != resolved.get(k)}
            raise ValueError(
                f"`resume`: '{output_dir}' holds model {model!r} with config {saved['config']}; "
                f"the requested config differs in {{key: (run, requested)}} {diff}."
            )
        train = expand_path(saved["train_path"]) if train is None else train
        if eval is None and saved.get("eval_path"):
            eval = expand_path(saved["eval_path"])
        o = {**TRAIN_DEFAULTS, **run_options, **given}
        run_precision = _resolve_mixed_precision(run_options.get("mixed_precision"))
        o["mixed_precision"] = _resolve_mixed_precision(o["mixed_precision"])
        # float16 wraps Adam in a LossScaleOptimizer, whose checkpoint the others cannot read.
        if (o["mixed_precision"] == "float16") != (run_precision == "float16"):
            raise ValueError(
                "`mixed_precision` cannot switch to or from float16 on resume (the checkpoint holds a "
                f"{'loss-scale ' if run_precision == 'float16' else 'plain '}optimizer). "
                f"The run uses {run_precision or 'float32'}; received {o['mixed_precision'] or 'float32'} "
                "(--mixed-precision)."
            )
        changed = {k: (run_options.get(k), v) for k, v in given.items() if run_options.get(k) != v}
        if o["epochs"] < run_options.get("epochs", 0) and o["epochs"] < _latest_epoch(output_dir):
            raise ValueError(
                f"`epochs`={o['epochs']} is below the epochs the run has already done "
                f"({_latest_epoch(output_dir)}); resume to the same or a larger total."
            )
    else:
        if model is None or scale is None:
            raise ValueError("`model` and `scale` are required.")
        resolved = models.resolve_config(model, scale, **config)
        o = {**TRAIN_DEFAULTS, **given}
        o["mixed_precision"] = _resolve_mixed_precision(o["mixed_precision"])
    if train is None:
        raise ValueError(NO_TRAIN_MESSAGE)
    check_train_options(o)

    source = open_pairs(train, scale)  # FileNotFoundError / ValueError name the path
    if o["teacher_weight"] and not source.has_teacher:
        raise ValueError(f"`teacher_weight`={o['teacher_weight']} needs a teacher's outputs in `train`, but "
                         f"'{source.path}' holds none (no group 'teacher'). Add them with keras-sr teach "
                         f"--teacher PRESET --train {source.path} -o FILE.h5, and train on FILE.h5.")
    kept = fitting_items(source, o["patch_size"], scale)
    eval_path = resolve_eval(eval, scale, data_root) if eval is not None else None
    eval_source = open_pairs(eval_path, scale) if eval_path is not None else None
    if init_weights is not None:  # missing, empty, truncated or not HDF5: refused before the run folder exists
        from keras_sr.checkpoints import check_weights_file

        check_weights_file(init_weights, "init_weights")
    # Made before the folder is touched: only the chief of a multi-worker run writes it (the
    # other workers restore from its checkpoints, in a folder all of them share, and write nothing).
    strategy = _make_strategy(o["strategy"])
    chief = _is_chief(strategy)
    if chief and saved is None and folder.has_run():
        folder.clear()  # force; everything above is checked first

    args = dict(name=model, scale=scale, resolved=resolved, source=source, kept=kept, eval_source=eval_source,
                folder=folder, saved=saved, o=o, changed=changed, init_weights=init_weights, quiet=quiet,
                callbacks=callbacks, command_line=command_line, strategy=strategy, chief=chief)
    return _run(**args)


def _record(name, scale, resolved, source, kept, eval_source, folder, o, init_weights, command_line, replicas,
            schedule):
    from keras_sr.paths import portable_path

    replay = replay_options({"model": name, "scale": scale, "config": resolved, "train": source.path,
                             "eval": eval_source.path if eval_source is not None else None,
                             "output_dir": folder.path, "init_weights": init_weights, **o})
    record = new_record("train", command_line, o, replay)
    record.update(
        model=name, scale=scale, config=resolved, train_path=portable_path(source.path),
        train_items={"total": len(source), "used": len(kept)},
        eval_path=portable_path(eval_source.path) if eval_source is not None else None,
        replicas=replicas, output_dir=portable_path(folder.path), schedule=schedule.get_config(),
    )
    if init_weights is not None:
        record["init_weights"] = portable_path(init_weights)
    return record


def _run(name, scale, resolved, source, kept, eval_source, folder, saved, o, changed, init_weights, quiet,
         callbacks, command_line, strategy, chief):
    from keras_sr import models
    from keras_sr.data.pipeline import make_patch_dataset, skipped_items_message
    from keras_sr.paths import portable_path
    from keras_sr.training.surgery import load_matching_weights

    output_dir = folder.path
    if chief:
        output_dir.mkdir(parents=True, exist_ok=True)
    if len(kept) < len(source):
        print(skipped_items_message(len(kept), len(source), o["patch_size"], scale), flush=True)

    keras.backend.clear_session()
    keras.utils.set_random_seed(o["seed"])
    previous_policy = keras.mixed_precision.global_policy()
    if o["mixed_precision"]:
        keras.mixed_precision.set_global_policy(f"mixed_{o['mixed_precision']}")
    try:
        schedule = make_schedule(o["lr"], o["lr_schedule"], o["epochs"], o["steps_per_epoch"],
                                 o["lr_drop_at"], o["warmup_steps"])
        with strategy.scope():
            net = models.build(name, scale, **resolved)
            fit_model, optimizer = compile_for_training(net, schedule, o["loss"], o["mixed_precision"],
                                                        bool(o["jit_compile"]), o["teacher_weight"])
            optimizer.build(net.trainable_variables)
        evaluator = None
        if eval_source is not None:
            twin = None
            if o["mixed_precision"]:
                # Scores are float32 inference, as users run it: a float32 twin of `net`.
                keras.mixed_precision.set_global_policy("float32")
                twin = models.build(name, scale, **resolved)
                keras.mixed_precision.set_global_policy(f"mixed_{o['mixed_precision']}")
            evaluator = Evaluator(eval_source, scale, o["eval_max_images"], twin=twin)
        ckpt_dir = output_dir / "ckpt"
        meta = {"model": name, "scale": scale, "config": resolved}
        best_meta = {}
        if evaluator is not None:
            best_meta = {"eval_path": portable_path(eval_source.path), "eval_images": evaluator.count}
        phase = Phase(
            "train", net, optimizer, fit_model=fit_model, batch_size=o["batch_size"], ckpt_dir=ckpt_dir,
            dataset=lambda start: make_patch_dataset(source, o["patch_size"], o["batch_size"], o["seed"],
                                                     start_sample=start, indices=kept,
                                                     teacher=bool(o["teacher_weight"])),
            epochs=o["epochs"], period=o["steps_per_epoch"], checkpoint_every=o["checkpoint_every_epochs"],
            learning_rate=schedule, evaluate=evaluator, best_weights="best.weights.h5",
            last_weights="last.weights.h5", meta=meta, best_meta=best_meta, chief=chief,
        )

        engine = Engine(folder, chief=chief, quiet=quiet, callbacks=callbacks)
        restored = phase.restore() if saved is not None else None
        if restored:
            engine.say(f"Resumed from {restored} (epoch {phase.periods_done}, {phase.samples_seen} samples seen, "
                       f"step {phase.steps_done})")
        elif init_weights is not None:
            loaded, skipped = load_matching_weights(net, init_weights)
            engine.say(f"Initialised {len(loaded)} layers from {init_weights}")
            for layer_name, reason in skipped:
                engine.say(f"  kept the initial weights of {layer_name}: {reason}")
        initial_epoch = phase.periods_done
        if saved is not None:
            rows = folder.read_history()
            engine.history = [r for r in rows if r["epoch"] <= initial_epoch]
            if chief and len(engine.history) < len(rows):
                # Epochs after the checkpoint (a run killed before it saved them) leave the history now.
                folder.write_history(engine.history, phase.columns())
            _match_weights_files(folder, engine, phase, name, scale, resolved, meta, best_meta, chief)
        if initial_epoch >= o["epochs"]:
            engine.say(f"Nothing to do: the run has done {initial_epoch} of `epochs`={o['epochs']}.")
            return _result(folder, engine, phase, o, net, "finished")
        if saved is not None:
            if changed:
                engine.say(f"Options changed on resume {{option: (run, now)}}: {changed}")
            record = add_resume(saved, command_line, changed, from_epoch=initial_epoch, epochs=o["epochs"])
            record.update(options=o, schedule=schedule.get_config())
        else:
            record = _record(name, scale, resolved, source, kept, eval_source, folder, o, init_weights, command_line,
                             int(strategy.num_replicas_in_sync), schedule)
        engine.wall_offset = engine.history[-1]["wall_time_s"] if engine.history else 0.0
        if chief:
            folder.write_record(record)

        engine.say(f"Training {name} x{scale} ({describe_params(net)}) for epochs "
                   f"{initial_epoch + 1}..{o['epochs']}, {o['steps_per_epoch']} steps of {o['batch_size']} "
                   f"patches {o['patch_size']}x{o['patch_size']} on {strategy.num_replicas_in_sync} replica(s); "
                   f"{o['epochs'] * o['steps_per_epoch']} steps in all; run folder {output_dir}")
        outcome = engine.run_phase(phase)
        if outcome["status"] == "nan":
            engine.say(f"Stopped at step {outcome['nan_at_step']}: the loss became NaN (try a lower `lr`). "
                       f"The last good checkpoint is in {output_dir / 'ckpt'}.")
        record.update(status=outcome["status"], epochs_done=phase.periods_done)
        if outcome["status"] == "nan":
            record["nan_at_step"] = outcome["nan_at_step"]
        if chief:
            folder.write_record(record)
        return _result(folder, engine, phase, o, net, outcome["status"])
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _weights_file_from(path, epoch):
    """Whether weights file `path` holds the weights its sidecar says, from `epoch`."""
    from keras_sr.checkpoints import sidecar_path
    from keras_sr.validation import sha256_file

    try:
        side = json.loads(sidecar_path(path).read_text())
        return side.get("epoch") == epoch and path.is_file() and side.get("sha256") == sha256_file(path)
    except (OSError, ValueError):
        return False


def _float32_model(name, scale, resolved):
    """A float32 build of the run's model, outside any strategy (to read or write weights files)."""
    from keras_sr import models

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return models.build(name, scale, **resolved)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _match_weights_files(folder, engine, phase, name, scale, resolved, meta, best_meta, chief):
    """Makes best/last.weights.h5 agree with the restored checkpoint and the history kept with it.

    A run killed between writing a period's weights files and checkpointing it (or in the middle
    of writing a weights file and its sidecar) leaves files from a period that the resumed run
    discards. `last` becomes the restored weights; `best` the best kept in the checkpoint (older
    checkpoints do not hold it: a best from a discarded epoch is then deleted).
    """
    from keras_sr.checkpoints import save_model_weights, sidecar_path

    epoch = phase.periods_done
    rows = {row["epoch"]: row for row in engine.history}
    best_path, last_path = folder.path / "best.weights.h5", folder.path / "last.weights.h5"
    if phase.best_restored:
        psnr, best_epoch = phase.best
        if best_epoch is None:
            stale = best_path.exists() or sidecar_path(best_path).exists()
            if stale and chief:
                for path in (best_path, sidecar_path(best_path)):
                    path.unlink(missing_ok=True)
            if stale:
                engine.say(f"Removed best.weights.h5: no epoch up to the checkpoint resumed from (epoch {epoch}) "
                           "was scored.")
        elif not _weights_file_from(best_path, best_epoch):
            if chief:
                holder = _float32_model(name, scale, resolved)
                holder.set_weights(phase.best_values())
                row = rows.get(best_epoch, {})
                save_model_weights(holder, best_path, {**meta, "psnr": psnr, "ssim": row.get("ssim"),
                                                       "epoch": best_epoch, **best_meta})
            engine.say(f"Rewrote best.weights.h5 from the checkpoint: the best epoch up to epoch {epoch} is "
                       f"{best_epoch} ({psnr:.3f} dB); the file held other weights (a run killed after writing it).")
    elif sidecar_path(best_path).is_file():
        best = json.loads(sidecar_path(best_path).read_text())
        best_epoch = best.get("epoch")
        if not isinstance(best_epoch, int) or best_epoch > epoch or not _weights_file_from(best_path, best_epoch):
            # A run killed while saving the checkpoint after a new best: that epoch is
            # discarded with the history, so its weights must not stay "best".
            if chief:
                for path in (best_path, sidecar_path(best_path)):
                    path.unlink(missing_ok=True)
            engine.say(f"Removed best.weights.h5: it came from epoch {best_epoch}, after the checkpoint "
                       f"resumed from (epoch {epoch}); the next evaluated epoch writes it again.")
        else:
            # A checkpoint of an older release: the file is the best so far; the next checkpoints hold it.
            holder = _float32_model(name, scale, resolved)
            holder.load_weights(best_path)
            phase.keep_best(best.get("psnr", -float("inf")), best_epoch, holder.weights)
    if epoch and not _weights_file_from(last_path, epoch):
        if chief:
            row = rows.get(epoch, {})
            save_model_weights(phase.model, last_path, {**meta, "epoch": epoch, "psnr": row.get("psnr"),
                                                        "ssim": row.get("ssim")})
        engine.say(f"Rewrote last.weights.h5 from the checkpoint resumed from (epoch {epoch}).")


def _result(folder, engine, phase, o, net, status):
    best_psnr, best_epoch = phase.best
    return {"output_dir": folder.path, "history": engine.history,
            "best_psnr": None if best_epoch is None else best_psnr, "best_epoch": best_epoch,
            "epochs": o["epochs"], "status": status, "model": net, "chief": phase.chief}
