"""`keras-sr train --strategy multiworker`: two real workers (tf.distribute.MultiWorkerMirroredStrategy)
on 127.0.0.1, each a `keras-sr train` process with its own TF_CONFIG.

Checked: the two workers end with the same weights; only the chief writes the run folder (the
other worker writes nothing there, nor anywhere it leaves behind); a run whose worker is killed
resumes on both workers from the chief's last complete checkpoint and ends where an
uninterrupted run ends.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.harness import textured_image

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_SET = [f"--set={k}={v}" for k, v in dict(num_features=8, growth_rate=8, num_layers=2, recursions=1).items()]
EPOCHS = 4
# Per-worker batch 1 (global 2), LR patches 8x8: a step is milliseconds; the run is start-up and tracing.
FLAGS = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--steps-per-epoch", "2", "--batch-size", "2",
         "--patch-size", "8", "--eval-max-images", "1", "--lr-schedule", "constant", "--strategy", "multiworker",
         "--epochs", str(EPOCHS)]
# The entry point of `keras-sr train`, plus one thing a test needs from the worker that writes no
# files: its final weights, saved to $KSR_TEST_WEIGHTS (outside the run folder).
DRIVER = """
import os, sys
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from keras_sr.training import trainer
real_train = trainer.train
def train(*args, **kwargs):
    result = real_train(*args, **kwargs)
    np.savez(os.environ["KSR_TEST_WEIGHTS"], *result["model"].get_weights())
    return result
trainer.train = train
from keras_sr.cli.train import main
sys.exit(main(sys.argv[1:]))
"""
START_TIMEOUT_S = 600  # generous: a loaded machine is slow, never wrong


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mw_data")
    (root / "train").mkdir()
    (root / "eval").mkdir()
    for i in range(3):
        Image.fromarray(textured_image(40 + 8 * i, 48, i)).save(root / "train" / f"t{i}.png")
    Image.fromarray(textured_image(40, 40, 10)).save(root / "eval" / "e0.png")
    return root


def _free_ports(n):
    """`n` ports the kernel hands out as free (ephemeral), released for the workers to bind."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    """Two `keras-sr train` worker processes; worker 0 is the chief."""

    def __init__(self, tmp, data, output_dirs, extra, name):
        ports = _free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
        driver = tmp / "driver.py"
        driver.write_text(DRIVER)
        self.weights = [tmp / f"{name}-weights-{i}.npz" for i in range(2)]
        self.logs = [tmp / f"{name}-worker-{i}.log" for i in range(2)]
        self.procs = []
        for i in range(2):
            temp = tmp / f"{name}-tmp-{i}"  # the worker's TMPDIR: what it leaves there is seen
            temp.mkdir()
            env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": str(REPO_ROOT),
                   "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                   "KSR_TEST_WEIGHTS": str(self.weights[i]), "TMPDIR": str(temp),
                   "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
            argv = [sys.executable, str(driver), *FLAGS, "--train", str(data / "train"), "--eval",
                    str(data / "eval"), "--output-dir", str(output_dirs[i]), *extra]
            with open(self.logs[i], "w") as log:
                self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                   cwd=tmp, start_new_session=True))
        self.temps = [tmp / f"{name}-tmp-{i}" for i in range(2)]

    def log(self, i):
        return self.logs[i].read_text()

    def wait(self, timeout=START_TIMEOUT_S):
        """Both exit codes (a worker still running after `timeout` is killed and fails the test)."""
        deadline = time.monotonic() + timeout
        codes = []
        for i, proc in enumerate(self.procs):
            try:
                codes.append(proc.wait(max(deadline - time.monotonic(), 1)))
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"worker {i} still running after {timeout} s:\n{self.log(i)[-3000:]}")
        return codes

    def kill(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def final_weights(self):
        return [list(np.load(path).values()) for path in self.weights]


def _run_files(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())


def _assert_same_weights(a, b, **tol):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, **tol)


RUN_FILES = ("config.json", "history.json", "history.csv", "best.weights.h5", "best.weights.json", "last.weights.h5",
             "last.weights.json", "ckpt", "logs")


@pytest.fixture(scope="module")
def fresh(data, tmp_path_factory):
    """An uninterrupted two-worker run; the non-chief is given its own --output-dir, which must stay unmade."""
    tmp = tmp_path_factory.mktemp("mw_fresh")
    cluster = Cluster(tmp, data, [tmp / "run", tmp / "worker1_run"], [], "fresh")
    codes = cluster.wait()
    assert codes == [0, 0], f"{cluster.log(0)[-3000:]}\n{cluster.log(1)[-3000:]}"
    return cluster, tmp / "run", tmp / "worker1_run"


# What a kill can leave beside the run's files: an atomic write's temporary file and a checkpoint
# save's shards (removed by a later run once two minutes old; nothing refers to them).
_NAMES = "|".join(re.escape(name) for name in RUN_FILES)
LEFTOVER = re.compile(rf"\.({_NAMES})\.[A-Za-z0-9_]{{8}}(\.weights\.h5|\.tmp)|ckpt/ckpt-\d+_temp/.*|ckpt/checkpoint\.tmp\w+")


def _assert_consistent_run(run, killed=False):
    """History rows 1..EPOCHS once each, best.weights from the best kept epoch, only the run's own files."""
    history = json.loads((run / "history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(1, EPOCHS + 1))
    assert [row["samples_seen"] for row in history] == [4 * e for e in range(1, EPOCHS + 1)]
    best = json.loads((run / "best.weights.json").read_text())
    assert best["psnr"] == max(row["psnr"] for row in history)
    assert history[best["epoch"] - 1]["psnr"] == best["psnr"]
    files = [f for f in _run_files(run) if not (killed and LEFTOVER.fullmatch(f))]
    assert all(f.split("/")[0] in RUN_FILES for f in files), files
    assert not any("_temp" in f for f in files), files


def test_two_workers_agree_and_only_the_chief_writes(fresh):
    cluster, chief_run, other_run = fresh
    chief, other = cluster.final_weights()
    _assert_same_weights(chief, other, rtol=0, atol=0)
    # The run really trained, with both workers as replicas.
    record = json.loads((chief_run / "config.json").read_text())
    assert record["replicas"] == 2 and record["status"] == "finished"
    _assert_consistent_run(chief_run)
    # The non-chief wrote nothing in its --output-dir, and left nothing in its TMPDIR.
    assert not other_run.exists()
    assert [list(t.iterdir()) for t in cluster.temps] == [[], []]
    assert {"best.weights.h5", "last.weights.h5", "config.json", "ckpt/checkpoint"} <= set(_run_files(chief_run))


def _checkpoint_numbers(run):
    """The checkpoints listed in ckpt/checkpoint (the state file a save updates last)."""
    state = run / "ckpt" / "checkpoint"
    try:
        text = state.read_text()
    except FileNotFoundError:
        return []
    return [int(m) for m in re.findall(r'all_model_checkpoint_paths: "ckpt-(\d+)"', text)]


def test_a_killed_worker_resumes_from_the_last_checkpoint(data, tmp_path, fresh):
    run = tmp_path / "run"
    cluster = Cluster(tmp_path, data, [run, run], [], "killed")
    deadline = time.monotonic() + START_TIMEOUT_S
    while max(_checkpoint_numbers(run), default=0) < 2:
        if any(proc.poll() is not None for proc in cluster.procs) or time.monotonic() > deadline:
            cluster.kill()
            pytest.fail(f"no checkpoint 2 while the workers ran:\n{cluster.log(0)[-3000:]}\n{cluster.log(1)[-3000:]}")
        time.sleep(0.005)
    # SIGKILL the chief mid-run (it may be inside a save), then the other worker, which without
    # its peer can only fail (after a heartbeat timeout) or hang: the job is restarted.
    os.killpg(cluster.procs[0].pid, signal.SIGKILL)
    cluster.procs[0].wait()
    cluster.kill()
    assert [proc.returncode for proc in cluster.procs] == [-signal.SIGKILL] * 2, "the run ended before the kill"
    last = max(_checkpoint_numbers(run))
    assert 2 <= last < EPOCHS

    resumed = Cluster(tmp_path, data, [run, run], ["--resume"], "resumed")
    codes = resumed.wait()
    logs = [resumed.log(0), resumed.log(1)]
    assert codes == [0, 0], f"{logs[0][-3000:]}\n{logs[1][-3000:]}"
    for log in logs:  # both workers restored the chief's last complete checkpoint
        assert f"Resumed from {run / 'ckpt' / f'ckpt-{last}'} (epoch {last}, {4 * last} samples seen" in log, log
    chief, other = resumed.final_weights()
    _assert_same_weights(chief, other, rtol=0, atol=0)
    # Resuming continues the same patch stream and optimizer state: the uninterrupted run's weights.
    _assert_same_weights(chief, fresh[0].final_weights()[0], rtol=0, atol=1e-6)
    _assert_consistent_run(run, killed=True)
    assert [list(t.iterdir()) for t in resumed.temps] == [[], []]
