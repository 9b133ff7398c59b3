"""The run folder: the record (`config.json`), the history, and what resume/force may touch.

No TensorFlow at import. Every run, train or optimize, keeps the same names:

* `config.json`: the record. "command" (train/optimize), "command_line", "start_time",
  "versions", "options" (resolved), "replay" (the options to run it again, see
  `keras_sr.training.runconfig`), "resumes" (time, command line and changed options of
  each resume), "status" ("running", "finished", "stopped", "nan"), plus what the
  command adds (model, paths, per-phase results, scores);
* `history.json`, `history.csv`: one row per period (an epoch of train; a checkpoint
  period of a prune/QAT phase);
* `logs/<phase>/`: TensorBoard scalar events; `ckpt/` (train) or `ckpt/<phase>/`:
  resumable checkpoints;
* the command's weights files (`best`/`last.weights.h5`, `optimized.weights.h5`, ...).

`--force` deletes these names and nothing else in the folder.
"""
from __future__ import annotations

import csv
import io
import json
import platform
import shutil
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["RECORD_NAME", "RunFolder", "versions", "now"]

RECORD_NAME = "config.json"
_COMMON_FILES = (RECORD_NAME, "history.json", "history.csv")
_COMMON_DIRS = ("ckpt", "logs")


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions(tfmot=False):
    """Package versions for a run record (tfmot only when the run uses it)."""
    import numpy as np

    import keras_sr
    from keras_sr._keras import keras, tf

    out = {"keras_sr": keras_sr.__version__, "tensorflow": tf.__version__, "tf_keras": keras.__version__}
    if tfmot:
        import tensorflow_model_optimization

        out["tfmot"] = tensorflow_model_optimization.__version__
    out.update(numpy=np.__version__, python=platform.python_version())
    return out


class RunFolder:
    """One run's folder and the files it owns.

    Args:
        path: the folder (created when the run starts).
        command: "train" or "optimize" (recorded; a record of the other is refused).
        weights: the weights file names the command writes (their sidecars come along).
        legacy: names an older release wrote, deleted by `force`.
    """

    def __init__(self, path, command, weights=(), legacy=()):
        self.path = Path(path)
        self.command = command
        sidecars = [name.replace(".weights.h5", ".weights.json") for name in weights]
        self.files = (*_COMMON_FILES, *weights, *sidecars)
        self.dirs = _COMMON_DIRS
        self.legacy = tuple(legacy)

    @property
    def record_path(self):
        return self.path / RECORD_NAME

    def read_record(self):
        """The saved record, or None."""
        if not self.record_path.is_file():
            return None
        try:
            record = json.loads(self.record_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"'{self.record_path}' is not valid JSON ({error}); --force starts afresh.") from None
        if not isinstance(record, dict):
            raise ValueError(f"'{self.record_path}' does not hold a run record; --force starts afresh.")
        return record

    def has_run(self):
        names = (RECORD_NAME, "history.json", *self.dirs, *self.legacy)
        return any((self.path / name).exists() for name in names)

    def open(self, resume, force):
        """Checks that the folder can be used as asked; returns the saved record when resuming.

        Nothing is deleted here (see `clear`), so a later error leaves the folder as it was.

        Raises:
            ValueError: `resume` and `force` together, or a record of another command.
            FileExistsError: a run is there and neither `resume` nor `force` was given.
            FileNotFoundError: `resume` without a run.
        """
        if resume and force:
            raise ValueError("`resume` and `force` exclude each other (--resume, --force).")
        saved = self.read_record()
        if saved is not None and saved.get("command", self.command) != self.command:
            raise ValueError(f"`output_dir` '{self.path}' holds a run of `keras-sr {saved['command']}`, not of "
                             f"`keras-sr {self.command}`; choose another folder (--output-dir).")
        if resume:
            if saved is None:
                old = [name for name in self.legacy if (self.path / name).exists()]
                why = f" (it holds {old[0]}, a run of an older keras-sr: start afresh with --force)" if old else ""
                raise FileNotFoundError(f"`resume`: no run to resume in '{self.path}' (no {RECORD_NAME}){why}. "
                                        "Drop --resume to start one.")
            return saved
        if self.has_run() and not force:
            status = (saved or {}).get("status")
            state = {"finished": "a finished run", None: "a run"}.get(status, "an unfinished run")
            raise FileExistsError(
                f"`output_dir` '{self.path}' already holds {state}; continue it with --resume (`resume=True`) "
                "or start afresh with --force (`force=True`: only the run's own files are deleted)."
            )
        return None

    def clear(self):
        """Deletes the run's own files and folders (nothing else in the folder)."""
        for name in (*self.files, *self.legacy):
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        for name in self.dirs:
            if (self.path / name).is_dir():
                shutil.rmtree(self.path / name)

    def write_record(self, record):
        from keras_sr.checkpoints import atomic_write_text

        atomic_write_text(self.record_path, json.dumps(record, indent=2, default=str))

    def read_history(self):
        path = self.path / "history.json"
        return json.loads(path.read_text()) if path.is_file() else []

    def write_history(self, rows, columns):
        """history.json (every key) and history.csv (`columns`, blank for None)."""
        from keras_sr.checkpoints import atomic_write_text

        atomic_write_text(self.path / "history.json", json.dumps(rows, indent=1))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
        atomic_write_text(self.path / "history.csv", buffer.getvalue())


def new_record(command, command_line, options, replay, tfmot=False):
    """The keys every run record starts with."""
    return {
        "command": command,
        "status": "running",
        "command_line": command_line,
        "start_time": now(),
        "versions": versions(tfmot),
        "options": options,
        "replay": replay,
        "resumes": [],
    }


def add_resume(record, command_line, changed, tfmot=False, **extra):
    """Appends one resume (time, command line, changed options, versions) to `record`."""
    record.setdefault("resumes", []).append(
        {"time": now(), "command_line": command_line, "changed": changed, "versions": versions(tfmot), **extra})
    record["status"] = "running"
    return record
