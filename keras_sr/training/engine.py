"""The run engine: phases trained by `fit`, with checkpoints, history, logs and scores.

A phase is a model, its optimizer and a resumable patch stream, trained for a number
of epochs (`train`) or steps (the prune and QAT phases of `optimize`). Its steps fall
into periods (an epoch, or `checkpoint_every_steps` steps); at the end of each period
the engine writes a history row (loss, lr, optional scores), TensorBoard scalars, and,
every `checkpoint_every` periods and at the end, a checkpoint of model + optimizer +
periods done + samples seen. The patch stream is a pure function of (seed, sample
index), so a resumed phase only needs the samples seen to continue exactly.

A non-finite loss stops the phase at once and nothing is saved after it: the last
checkpoint is the last good state.
"""
from __future__ import annotations

import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

from keras_sr._keras import keras, tf
from keras_sr.checkpoints import save_model_weights
from keras_sr.fileio import remove_stale

__all__ = ["Engine", "Phase", "Evaluator", "ScalarLog", "log_scalars"]


class ScalarLog:
    """TensorBoard scalar event files written with TF core only.

    `tf.summary.scalar` (and so the Keras TensorBoard callback and tfmot's
    PruningSummaries) raises TBNotInstalledError when the `tensorboard` package is
    missing, which TF 2.21 no longer installs. `tf.summary.write` with the "scalars"
    plugin metadata writes the same events, which TensorBoard reads as scalars.
    """

    def __init__(self, log_dir):
        self._writer = tf.summary.create_file_writer(str(log_dir))
        self._metadata = tf.compat.v1.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def write(self, values, step):
        with self._writer.as_default():
            for key, value in values.items():
                if value is not None:
                    tf.summary.write(key, tf.constant(float(value), tf.float32), step=int(step),
                                     metadata=self._metadata)
        self._writer.flush()

    def close(self):
        self._writer.close()


def log_scalars(log_dir, values, step=0):
    log = ScalarLog(log_dir)
    log.write(values, step)
    log.close()


class Evaluator:
    """Y-PSNR / SSIM (shave = scale) of a model on the first `max_images` items of `source`.

    Scores come from `keras_sr.scoring`, as every other tool reports them. `twin`: a
    float32 model of the same architecture that is given the weights before scoring
    (a mixed-precision run is scored as users run it). `eagerly`: call the model
    without a tf.function trace (quicker for a few tiny images).
    """

    def __init__(self, source, scale, max_images=None, eagerly=False, twin=None):
        self.source, self.scale = source, scale
        self.count = len(source) if max_images is None else min(len(source), max_images)
        self.eagerly, self.twin = eagerly, twin
        self._predictors = {}

    def _predictor(self, model):
        from keras_sr.scoring import keras_predictor

        if self.eagerly:
            return lambda x: model(x, training=False).numpy()
        if id(model) not in self._predictors:
            self._predictors[id(model)] = (model, keras_predictor(model))
        return self._predictors[id(model)][1]

    def __call__(self, model):
        """{"psnr", "ssim", "count", "images": [{"name", "psnr", "ssim"}]}."""
        from keras_sr.scoring import eval_items, score_items

        if self.twin is not None:
            self.twin.set_weights(model.get_weights())
            model = self.twin
        scores = score_items(self._predictor(model), eval_items(self.source, self.scale, self.count), self.scale,
                             warm_up=False)
        return {"psnr": scores["psnr"], "ssim": scores["ssim"], "count": scores["count"],
                "images": [{"name": r["name"], "psnr": r["psnr"], "ssim": r["ssim"]} for r in scores["images"]]}


class Phase:
    """One phase of a run and its checkpoint.

    Args:
        name: "train", "prune" or "qat" (logs/<name>/; `ckpt_dir` is the caller's).
        model: the model whose weights are checkpointed and saved.
        optimizer: built on the model's trainable variables (so a checkpoint restores it).
        fit_model: what `fit` trains (default `model`; a float32-output view under a
            mixed policy), compiled with `optimizer`.
        dataset: callable(start_sample) -> tf.data.Dataset of (lr, hr) batches.
        batch_size: global batch (samples per step).
        ckpt_dir: where the checkpoints go (the last 2 kept) and are restored from.
        chief: False on the non-chief workers of a multi-worker run: they restore from the
            chief's `ckpt_dir` (a folder all workers share) and write nothing there.
        epochs: train for this many epochs of `period` steps, or
        steps: train for this many steps, in periods of `period` steps.
        checkpoint_every: periods between checkpoints (and always at the end).
        learning_rate: a schedule of the step, or a number (recorded per row).
        evaluate: callable(model) -> scores, run at every period end; the best scores
            keep `best_weights`.
        best_weights, last_weights: file names in the run folder (`last` goes with each
            checkpoint), with `meta` for their sidecars (and `best_meta` for the best's).
        scalars: callable(model) -> {name: value} logged with the loss (e.g. mask sparsity).
        callbacks: Keras callbacks that must run before the engine's (pruning's step update).
    """

    def __init__(self, name, model, optimizer, dataset, batch_size, ckpt_dir, period, epochs=None, steps=None,
                 fit_model=None, checkpoint_every=1, learning_rate=None, evaluate=None, best_weights=None,
                 last_weights=None, meta=None, best_meta=None, scalars=None, callbacks=(), log_every=None,
                 chief=True):
        if (epochs is None) == (steps is None):
            raise ValueError("A phase runs for `epochs` or for `steps`, not both.")
        self.name, self.model, self.optimizer = name, model, optimizer
        self.fit_model = fit_model if fit_model is not None else model
        self.dataset, self.batch_size = dataset, batch_size
        self.period, self.epochs, self.steps = period, epochs, steps
        self.checkpoint_every = checkpoint_every
        self.learning_rate = learning_rate
        self.evaluate, self.best_weights, self.last_weights = evaluate, best_weights, last_weights
        self.meta, self.best_meta = dict(meta or {}), dict(best_meta or {})
        self.scalars = scalars
        self.callbacks = list(callbacks)
        self.log_every = log_every or period
        self.best = (-math.inf, None)  # (psnr, period) of the best weights so far
        # "epoch" and "samples_seen" are the names older train checkpoints used.
        self.periods_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.samples_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="samples_seen")
        core = dict(model=model, optimizer=optimizer, epoch=self.periods_var, samples_seen=self.samples_var)
        self._core_checkpoint = tf.train.Checkpoint(**core)  # what checkpoints of older runs hold
        self._best_vars = None
        if best_weights and evaluate is not None:
            # The best weights so far, their PSNR and period, go into each checkpoint: a resumed
            # run rewrites best.weights.h5 from them when the file comes from a period that the
            # checkpoint does not reach (a run killed after a new best, before its checkpoint).
            # Plain (not distributed) variables: only their values matter.
            with tf.init_scope():
                self._best_vars = dict(
                    weights=[tf.Variable(w.numpy(), trainable=False) for w in model.weights],
                    psnr=tf.Variable(-math.inf, dtype=tf.float64, trainable=False),
                    period=tf.Variable(0, dtype=tf.int64, trainable=False))
            core["best"] = tf.train.Checkpoint(**self._best_vars)
        self.checkpoint = tf.train.Checkpoint(**core)
        #: True when the restored checkpoint held the best weights (`best` then comes from it).
        self.best_restored = False
        self.chief = chief
        if chief:
            # A save killed midway leaves its shards in `ckpt-N_temp/`; no checkpoint refers to them.
            remove_stale(sorted(Path(ckpt_dir).glob("ckpt-*_temp")),
                         "the shards of a checkpoint save that an interrupted run left unfinished")
        # Reads only, until the first save: on a non-chief worker `ckpt_dir` is the chief's.
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(ckpt_dir), max_to_keep=2)

    @property
    def unit(self):
        return "epoch" if self.epochs is not None else "step"

    @property
    def periods_done(self):
        return int(self.periods_var.numpy())

    @property
    def samples_seen(self):
        return int(self.samples_var.numpy())

    @property
    def steps_done(self):
        return int(self.optimizer.iterations.numpy())

    def restore(self):
        """Restores the latest checkpoint, if any; returns its path or None."""
        latest = self.manager.latest_checkpoint
        if latest:
            has_best = any(name.startswith("best/") for name, _ in tf.train.list_variables(latest))
            self.best_restored = has_best and self._best_vars is not None
            checkpoint = self.checkpoint if self.best_restored else self._core_checkpoint
            checkpoint.restore(latest).assert_existing_objects_matched()
            if self.best_restored:
                period = int(self._best_vars["period"].numpy())
                self.best = (float(self._best_vars["psnr"].numpy()), period or None)
        return latest

    def keep_best(self, psnr, period, values=None):
        """Records the model's current weights (or `values`, in `model.weights` order) as the best,
        at `psnr` (dB) after `period`."""
        self.best = (psnr, period)
        if self._best_vars is not None:
            for var, weight in zip(self._best_vars["weights"], self.model.weights if values is None else values):
                var.assign(weight)
            self._best_vars["psnr"].assign(psnr)
            self._best_vars["period"].assign(period)

    def best_values(self):
        """The best weights kept in the checkpoint state (numpy arrays in `model.weights` order), or None."""
        if self._best_vars is None or not int(self._best_vars["period"].numpy()):
            return None
        return [var.numpy() for var in self._best_vars["weights"]]

    def save(self, number):
        if self.chief:
            self.manager.save(checkpoint_number=int(number))
            return
        # A non-chief worker of a multi-worker run saves too, as the Keras multi-worker guide
        # says: the save creates and updates Checkpoint's `save_counter` under the strategy,
        # which the workers must do in step. It writes to a temporary folder, deleted at once.
        folder = tempfile.mkdtemp(prefix="keras-sr-worker-ckpt-")
        try:
            tf.train.CheckpointManager(self.checkpoint, folder, max_to_keep=1).save(checkpoint_number=int(number))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def lr_at(self, step):
        lr = self.learning_rate
        if lr is None:
            return None
        return float(lr(max(step, 0))) if callable(lr) else float(lr)

    def columns(self):
        """The history.csv columns of this phase's rows."""
        head = ["epoch"] if self.unit == "epoch" else ["phase", "step"]
        scores = ["psnr", "ssim"] if self.evaluate is not None or self.unit == "epoch" else []
        extra = ["mask_sparsity"] if self.scalars is not None else []
        times = ["epoch_time_s", "eval_time_s"] if self.unit == "epoch" else ["time_s"]
        return [*head, "loss", "lr", *scores, *extra, *times, "wall_time_s", "samples_seen"]


class _PeriodEnd(keras.callbacks.Callback):
    """Counts steps; at each period end records, scores and checkpoints; stops on NaN."""

    def __init__(self, engine, phase, first_step, total):
        super().__init__()
        self.engine, self.phase = engine, phase
        self.step, self.total = first_step, total
        self.in_period = 0

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()

    def on_train_end(self, logs=None):
        # A step phase stopped by a callback keeps its steps (an epoch phase resumes at an epoch).
        if self.in_period and self.engine.nan_at_step is None and self.phase.unit == "step":
            self.phase.samples_var.assign_add(self.in_period * self.phase.batch_size)
            self.in_period = 0
            self.phase.save(self.step)

    def on_train_batch_end(self, batch, logs=None):
        phase = self.phase
        self.step += 1
        self.in_period += 1
        loss = float((logs or {}).get("loss", math.nan))
        if not math.isfinite(loss):
            self.engine.nan_at_step = self.step
            self.model.stop_training = True
            return
        self.engine.last_loss = loss
        if self.in_period == phase.period or self.step >= self.total:
            self._period_end(loss)
        elif self.step % phase.log_every == 0:
            values = {"loss": loss, **(phase.scalars(phase.model) if phase.scalars else {})}
            self.engine.log(phase, values, self.step)

    def _period_end(self, loss):
        phase, engine = self.phase, self.engine
        phase.samples_var.assign_add(self.in_period * phase.batch_size)
        phase.periods_var.assign_add(1)
        self.in_period = 0
        periods = phase.periods_done
        row = {"epoch": periods} if phase.unit == "epoch" else {"phase": phase.name, "step": self.step}
        row.update(loss=loss, lr=phase.lr_at(self.step - 1))
        elapsed = round(time.perf_counter() - self.t0, 3)
        if phase.scalars is not None:
            row.update(phase.scalars(phase.model))
        if phase.unit == "epoch":
            row.update(psnr=None, ssim=None, epoch_time_s=elapsed, eval_time_s=None)
        else:
            row["time_s"] = elapsed
        if phase.evaluate is not None:
            t = time.perf_counter()
            scores = phase.evaluate(phase.model)
            row.update(psnr=scores["psnr"], ssim=scores["ssim"], eval_time_s=round(time.perf_counter() - t, 3))
        row["wall_time_s"] = round(engine.wall_time(), 3)
        row["samples_seen"] = phase.samples_seen
        engine.add_row(phase, row, self.step)
        counter = {"epoch": periods} if phase.unit == "epoch" else {"step": self.step}
        if row.get("psnr") is not None and row["psnr"] > phase.best[0]:
            phase.keep_best(row["psnr"], periods)
            if phase.best_weights:
                engine.save_weights(phase.model, phase.best_weights,
                                    {**phase.meta, "psnr": row["psnr"], "ssim": row["ssim"], **counter,
                                     **phase.best_meta})
        if periods % phase.checkpoint_every == 0 or self.step >= self.total:
            phase.save(periods if phase.unit == "epoch" else self.step)
            if phase.last_weights:
                engine.save_weights(phase.model, phase.last_weights,
                                    {**phase.meta, **counter, "psnr": row.get("psnr"), "ssim": row.get("ssim")})
        self.t0 = time.perf_counter()


class Engine:
    """Runs the phases of one run in its `RunFolder`, keeping the history and the logs.

    Args:
        folder: the `RunFolder`.
        chief: write files (False on the non-chief workers of a multi-worker run).
        quiet: no progress bars and no messages.
        callbacks: extra Keras callbacks for every phase's `fit` (after the engine's);
            one that sets `model.stop_training` stops the run after the last checkpoint.
        wall_offset: seconds already spent by earlier sessions of the run.
    """

    def __init__(self, folder, chief=True, quiet=False, callbacks=None, history=(), wall_offset=0.0):
        self.folder, self.chief, self.quiet = folder, chief, quiet
        self.callbacks = list(callbacks or [])
        self.history = list(history)
        self.wall_offset = wall_offset
        self._clock = time.perf_counter()
        self._logs = {}
        self._views = {}
        self.nan_at_step = None
        self.last_loss = None

    def say(self, *args):
        if not self.quiet:
            print(*args, flush=True)

    def wall_time(self):
        return self.wall_offset + time.perf_counter() - self._clock

    def log(self, phase, values, step):
        if not self.chief:
            return
        if phase.name not in self._logs:
            self._logs[phase.name] = ScalarLog(self.folder.path / "logs" / phase.name)
        self._logs[phase.name].write(values, step)

    def add_row(self, phase, row, step):
        self.history.append(row)
        if self.chief:
            self.folder.write_history(self.history, phase.columns())
        scalars = {k: v for k, v in row.items() if k in ("loss", "lr", "psnr", "ssim", "mask_sparsity")}
        self.log(phase, scalars, step)

    def save_weights(self, model, name, meta):
        if self.chief:
            save_model_weights(self._views.get(id(model), model), self.folder.path / name, meta)

    def fit_verbosity(self):
        """Keras `fit` verbose: 0 with `quiet`, a progress bar on a terminal, else a line per epoch."""
        if self.quiet:
            return 0
        return 1 if sys.stdout.isatty() else 2

    def run_phase(self, phase):
        """Trains `phase` from where its (restored) state is to its end.

        Returns:
            {"status": "finished" | "stopped" | "nan", "steps_done", "nan_at_step",
             "loss" (the last finite running mean), "fit_time_s"}.
        """
        first = phase.steps_done
        if phase.epochs is not None:
            start_epoch = phase.periods_done
            remaining = max(phase.epochs - start_epoch, 0) * phase.period
            fit_args = dict(epochs=phase.epochs, initial_epoch=start_epoch, steps_per_epoch=phase.period)
        else:
            remaining = max(phase.steps - first, 0)
            fit_args = dict(epochs=1, steps_per_epoch=remaining)
        result = {"status": "finished", "steps_done": first, "nan_at_step": None, "loss": None, "fit_time_s": 0.0}
        if remaining == 0:
            return result
        self.nan_at_step, self.last_loss = None, None
        callbacks = [*phase.callbacks, _PeriodEnd(self, phase, first, first + remaining), *self.callbacks]
        if getattr(phase.model, "optimizer", None) is not None and id(phase.model) not in self._views:
            # `save_model_weights` saves a compiled model through an uncompiled view. Made inside
            # `fit`, on the chief only, the view's Keras counters would be variables of a
            # multi-worker strategy that the other workers never create: their initial broadcast
            # pairs with the others' next all-reduce and the run fails. Made here, on every worker
            # and outside the strategy's scope, they are plain local variables.
            self._views[id(phase.model)] = keras.Model(phase.model.inputs, phase.model.outputs,
                                                       name=phase.model.name)
        dataset = phase.dataset(phase.samples_seen)
        t = time.perf_counter()
        try:
            phase.fit_model.fit(dataset, callbacks=callbacks, verbose=self.fit_verbosity(), **fit_args)
        finally:
            log = self._logs.pop(phase.name, None)
            if log is not None:
                log.close()
        done = phase.steps_done
        if self.nan_at_step is not None:
            status = "nan"
        else:
            status = "finished" if done >= first + remaining else "stopped"
        result.update(status=status, steps_done=done, nan_at_step=self.nan_at_step, loss=self.last_loss,
                      fit_time_s=round(time.perf_counter() - t, 3))
        return result
