"""Learning-rate schedules of a run: step, cosine or constant, with a linear warm-up."""
from __future__ import annotations

import math

from keras_sr._keras import keras, tf

__all__ = ["LearningRate", "make_schedule"]


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


def make_schedule(lr, lr_schedule, epochs, steps_per_epoch, lr_drop_at=0.8, warmup_steps=0):
    """The run's schedule; the step drop is at epoch int(lr_drop_at * epochs) (at least 1).

    The schedule is a function of the global step and of the *current* total: a run
    resumed to a larger `epochs` recomputes it (the step drop moves to `lr_drop_at` of
    the new total, a cosine stretches over it).
    """
    drop_epoch = max(int(lr_drop_at * epochs), 1)
    return LearningRate(lr, epochs * steps_per_epoch, lr_schedule, drop_epoch * steps_per_epoch, warmup_steps)
