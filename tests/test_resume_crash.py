"""`keras-sr train --resume` after a run killed while it saved an epoch.

A subprocess runs `keras-sr train` and is made to die (`os._exit`, no clean-up, as a SIGKILL)
at one point of epoch CRASH's save, deterministically:

* "shards": the checkpoint's shards are written to `ckpt/ckpt-N_temp/`, not yet merged;
* "state": the checkpoint files are complete, `ckpt/checkpoint` does not list them yet;
* "best_sidecar": best.weights.h5 holds the new best epoch, its sidecar still the old one.

In every case epoch CRASH's history row and best weights are written (they come before the
checkpoint) and must be discarded on resume: the run resumes from epoch CRASH - 1, its history
stops there, and best.weights.h5 holds the weights of the best epoch the history keeps, at once
and after the run goes on. A same-seed uninterrupted run gives each epoch's weights and scores.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.harness import textured_image

from keras_sr._keras import keras
from keras_sr.checkpoints import load_model
from keras_sr.train import main, train

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = dict(num_features=8, growth_rate=8, num_layers=2, recursions=1)
EPOCHS = 4
FAST = dict(steps_per_epoch=2, batch_size=2, patch_size=8, eval_max_images=2, lr=1e-3, lr_schedule="constant")
FLAGS = ["--model", "fd_irb", "--scale", "4", *[f"--set={k}={v}" for k, v in TINY.items()], "--steps-per-epoch", "2",
         "--batch-size", "2", "--patch-size", "8", "--eval-max-images", "2", "--lr", "1e-3", "--lr-schedule",
         "constant", "--quiet"]
# `keras-sr train`, made to exit at $KSR_CRASH ("point:epoch") as a killed process would.
DRIVER = """
import os, sys
point, epoch = os.environ["KSR_CRASH"].split(":")
epoch = int(epoch)
state = {"saving": None}

def crash(*args, **kwargs):
    sys.stdout.flush()
    os._exit(137)

from keras_sr.training import engine
real_save = engine.Phase.save
def save(self, number):
    state["saving"] = int(number)
    try:
        return real_save(self, number)
    finally:
        state["saving"] = None
engine.Phase.save = save

if point == "shards":
    from tensorflow.python.checkpoint import functional_saver
    real_merge = functional_saver.gen_io_ops.merge_v2_checkpoints
    def merge(*args, **kwargs):
        if state["saving"] == epoch:
            crash()
        return real_merge(*args, **kwargs)
    functional_saver.gen_io_ops.merge_v2_checkpoints = merge
elif point == "state":
    from tensorflow.python.checkpoint import checkpoint_management
    real_update = checkpoint_management.update_checkpoint_state_internal
    def update(*args, **kwargs):
        if state["saving"] == epoch:
            crash()
        return real_update(*args, **kwargs)
    checkpoint_management.update_checkpoint_state_internal = update
elif point == "best_sidecar":
    import json
    from keras_sr import checkpoints
    real_write = checkpoints.atomic_write_text
    def write(path, text):
        if path.name == "best.weights.json" and json.loads(text).get("epoch") == epoch:
            crash()
        return real_write(path, text)
    checkpoints.atomic_write_text = write

from keras_sr.cli.train import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash_data")
    for folder, sizes in (("train", [(40, 48), (48, 48), (56, 48)]), ("eval", [(40, 44), (44, 40)])):
        (root / folder).mkdir()
        for i, (h, w) in enumerate(sizes):
            Image.fromarray(textured_image(h, w, i + 10 * (folder == "eval"))).save(root / folder / f"{folder}{i}.png")
    return root


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """The uninterrupted run: its history, each epoch's weights, and the epoch the runs crash in."""
    weights = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch + 1] = self.model.get_weights()

    out = tmp_path_factory.mktemp("reference") / "run"
    result = train(model="fd_irb", scale=4, config=TINY, train=data / "train", eval=data / "eval", output_dir=out,
                   epochs=EPOCHS, quiet=True, callbacks=[Snapshot()], **FAST)
    history = result["history"]
    # The crash has to land on an epoch that sets a new best (so it writes best.weights.h5), with
    # a checkpoint before it to resume from.
    psnr = [row["psnr"] for row in history]
    new_best = [e for e in range(2, EPOCHS + 1) if psnr[e - 1] > max(psnr[:e - 1])]
    assert new_best, f"no epoch after the first improves on the ones before: {psnr}"
    return {"history": history, "weights": weights, "crash": new_best[0]}


def _crash_run(data, out, point, epoch):
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": str(REPO_ROOT), "KSR_CRASH": f"{point}:{epoch}",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    argv = [*FLAGS, "--train", str(data / "train"), "--eval", str(data / "eval"), "--output-dir", str(out),
            "--epochs", str(EPOCHS)]
    return subprocess.run([sys.executable, "-c", DRIVER, *argv], capture_output=True, text=True, env=env,
                          timeout=900)


def _checkpoint_state(out):
    text = (out / "ckpt" / "checkpoint").read_text()
    return text.splitlines()[0].split('"')[1]  # model_checkpoint_path: "ckpt-N"


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-6)


def _assert_matches_reference(out, reference, upto):
    """history = the reference's first `upto` rows; best/last.weights.h5 = the reference's weights."""
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, upto + 1))
    for row, ref in zip(history, reference["history"]):
        assert row["psnr"] == pytest.approx(ref["psnr"], abs=1e-6) and row["samples_seen"] == ref["samples_seen"]
    psnr = [row["psnr"] for row in history]
    best_epoch = int(np.argmax(psnr)) + 1
    best = json.loads((out / "best.weights.json").read_text())
    assert best["epoch"] == best_epoch and best["psnr"] == pytest.approx(max(psnr), abs=1e-6)
    # load_model checks the sidecar's sha256: the file is the one the sidecar describes.
    _assert_same(load_model(out / "best.weights.h5")[0].get_weights(), reference["weights"][best_epoch])
    last = json.loads((out / "last.weights.json").read_text())
    assert last["epoch"] == upto
    _assert_same(load_model(out / "last.weights.h5")[0].get_weights(), reference["weights"][upto])


@pytest.mark.parametrize("point", ["shards", "state", "best_sidecar"])
def test_resume_after_a_kill_while_saving_an_epoch(data, tmp_path, reference, point):
    crash = reference["crash"]
    out = tmp_path / "run"
    result = _crash_run(data, out, point, crash)
    assert result.returncode == 137, result.stdout[-2000:] + result.stderr[-3000:]
    # What the kill left: epoch `crash` in the history and, but for "best_sidecar", as best.weights.h5.
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["epoch"] == crash
    if point == "shards":
        assert (out / "ckpt" / f"ckpt-{crash}_temp").is_dir() and not (out / "ckpt" / f"ckpt-{crash}.index").exists()
    if point == "state":
        assert (out / "ckpt" / f"ckpt-{crash}.index").is_file()
    assert _checkpoint_state(out) == f"ckpt-{crash - 1}"
    if point == "best_sidecar":
        assert json.loads((out / "best.weights.json").read_text())["epoch"] < crash
    else:
        assert json.loads((out / "best.weights.json").read_text())["epoch"] == crash

    # Resumed with nothing more to do, the run folder already agrees with the checkpoint.
    assert main(["--resume", "--output-dir", str(out), "--epochs", str(crash - 1), "--quiet"]) == 0
    _assert_matches_reference(out, reference, crash - 1)
    # Resumed to the end: the uninterrupted run, epoch for epoch.
    assert main(["--resume", "--output-dir", str(out), "--quiet"]) == 0
    _assert_matches_reference(out, reference, EPOCHS)


def test_resume_from_a_checkpoint_of_a_release_without_the_best_weights(data, tmp_path, reference, monkeypatch):
    """Checkpoints used not to hold the best weights: resuming from one takes them from best.weights.h5,
    so the next checkpoints hold them (else a later resume would think no epoch had been scored)."""
    import tensorflow as tf

    from keras_sr.training import engine

    out = tmp_path / "run"
    real_init = engine.Phase.__init__

    def older_release(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._best_vars = None
        self.checkpoint = self._core_checkpoint
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(kwargs["ckpt_dir"]), max_to_keep=2)

    with monkeypatch.context() as patch:
        patch.setattr(engine.Phase, "__init__", older_release)
        train(model="fd_irb", scale=4, config=TINY, train=data / "train", eval=data / "eval", output_dir=out,
              epochs=2, quiet=True, **FAST)
    assert not any(name.startswith("best/") for name, _ in tf.train.list_variables(str(out / "ckpt" / "ckpt-2")))

    phases = []
    real_restore = engine.Phase.restore

    def restore(self):
        phases.append(self)
        return real_restore(self)

    monkeypatch.setattr(engine.Phase, "restore", restore)
    assert main(["--resume", "--output-dir", str(out), "--epochs", "2", "--quiet"]) == 0
    (phase,) = phases
    best = json.loads((out / "best.weights.json").read_text())
    assert not phase.best_restored and phase.best == (best["psnr"], best["epoch"])
    _assert_same(phase.best_values(), reference["weights"][best["epoch"]])
    _assert_matches_reference(out, reference, 2)
