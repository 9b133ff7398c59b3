"""TensorFlow Lite Micro on this machine: the microcontroller's computation, run by TFLM's own interpreter.

Needs the `tflite-micro` package (`pip install keras-sr[micro]`) and numpy; never imports
TensorFlow. TFLM aborts the whole process on some bad inputs (a 1x1 placeholder shape
gives SIGABRT without a message), so every TFLM call here runs in a child process
(`python -m keras_sr.lite.tflm REQUEST.json`) and a crash becomes a `RuntimeError`.

TFLM needs a fixed input shape: give it a model frozen at its tile size
(`keras_sr.export.freeze_tflite`, or a bundle's `model.tflite` from `keras-sr export`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["TFLMSR", "measure_arena", "tflm_available", "run_request"]

#: The most arena the bisection tries (bytes): well above what a tile model needs.
MAX_ARENA = 256 * 1024 * 1024


def tflm_available() -> bool:
    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        return False
    return True


def _require():
    if not tflm_available():
        raise ImportError("TFLite Micro needs the tflite-micro package: `pip install keras-sr[micro]`")


def run_request(request: dict, timeout=None) -> dict:
    """Runs one request in a child process and returns its JSON answer.

    Raises:
        RuntimeError: the child failed or was killed (TFLM aborts on some inputs); the
            message holds the end of its output.
    """
    _require()
    with tempfile.TemporaryDirectory(prefix="keras_sr_tflm_") as tmp:
        request = dict(request, answer=os.path.join(tmp, "answer.json"), tmp=tmp)
        for key in ("image",):
            if key in request and not isinstance(request[key], str):
                path = os.path.join(tmp, f"{key}.npy")
                np.save(path, np.asarray(request[key], dtype=np.float32))
                request[key] = path
        path = os.path.join(tmp, "request.json")
        Path(path).write_text(json.dumps(request))
        proc = subprocess.run([sys.executable, "-m", "keras_sr.lite.tflm", path], capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0 or not os.path.isfile(request["answer"]):
            tail = (proc.stdout + proc.stderr).strip()[-1500:]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
            raise RuntimeError(f"the TFLite Micro interpreter failed ({how}): {tail or 'no message'}")
        answer = json.loads(Path(request["answer"]).read_text())
        if "output" in answer:
            answer["output"] = np.load(answer["output"])
        if answer.get("error"):
            raise RuntimeError(answer["error"])
        return answer


def measure_arena(model_path, probe=None, timeout=600, invoke=True) -> dict:
    """The smallest arena (bytes) TFLM's interpreter allocates `model_path` with, found by bisection.

    Args:
        model_path: a fixed-shape .tflite file.
        probe: optional float (H, W, C) input to run once with that arena (default: mid-grey).
        invoke: False: allocate only (the output is then the probe itself).

    Returns:
        {"arena": bytes, "output": the model's output for `probe`, "invoke_s": seconds of one invoke}.
    """
    request = {"kind": "arena", "model": os.fspath(model_path), "invoke": bool(invoke)}
    if probe is not None:
        request["image"] = probe
    return run_request(request, timeout=timeout)


class TFLMSR:
    """A .tflite model run tile by tile through TFLite Micro's interpreter: float LR in, float SR out.

    Args:
        model_path: a .tflite file. A fixed-shape one (a bundle's model.tflite) runs as is; a
            dynamic-shape one is frozen at `tile` first (weights kept exactly).
        tile: (H, W) LR tile (or an int), required for a dynamic-shape file; for a fixed-shape one
            it must be None or the model's size.
        overlap: context pixels per window side (default: the bundle's model.json beside the
            file, else a quarter of the tile).
        arena: arena size in bytes (default: measured once, by bisection).

    Example:
        >>> sr = TFLMSR("bundle/model.tflite")
        >>> out = sr.predict(lr)  # lr: float32 (H, W, 3) in [0, 1]
    """

    def __init__(self, model_path, tile=None, overlap=None, arena=None):
        _require()
        from keras_sr.lite.runtime import TFLiteSR
        from keras_sr.validation import check_int

        self.source_path = self.model_path = os.fspath(model_path)
        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(f"Model file '{self.model_path}' does not exist.")
        if tile is not None:
            tile = tuple(check_int(t, "tile", 1) for t in (tile if isinstance(tile, (tuple, list)) else (tile, tile)))
        lite = TFLiteSR(self.model_path, use_xnnpack=False)
        self._tmp = None
        if lite.is_dynamic:
            if tile is None:
                raise ValueError(f"TFLite Micro needs a fixed input shape, and '{self.model_path}' has a dynamic one "
                                 "(1, None, None, 3): give `tile`, the LR tile size to freeze it at (or export a "
                                 "bundle with keras-sr export)")
            from keras_sr.export.freeze import freeze_tflite

            self._tmp = tempfile.TemporaryDirectory(prefix="keras_sr_tflm_model_")
            frozen = Path(self._tmp.name) / "model.tflite"
            frozen.write_bytes(freeze_tflite(Path(self.model_path).read_bytes(), tile))
            self.model_path = str(frozen)
        elif tile is not None and tuple(tile) != tuple(lite.fixed_size):
            raise ValueError(f"'{self.model_path}' has a fixed input of {lite.fixed_size[1]}x{lite.fixed_size[0]} "
                             f"pixels; `tile` must be that size or None. Received: tile={tile[1]}x{tile[0]}")
        self.tile = tuple(tile) if tile is not None else tuple(lite.fixed_size)
        self.scale = lite.scale
        if overlap is None:
            card = Path(self.source_path).with_name("model.json")
            facts = json.loads(card.read_text()) if card.is_file() else {}
            overlap = facts.get("overlap") if facts.get("tile") == list(self.tile) else None
            overlap = max(1, min(self.tile) // 4) if overlap is None else overlap
        self.overlap = check_int(overlap, "overlap", 0)
        if min(self.tile) <= 2 * self.overlap:
            raise ValueError(f"`tile` must be greater than 2 * `overlap`. Received: tile={self.tile[1]}x{self.tile[0]}, "
                             f"overlap={self.overlap}")
        self.arena = int(arena) if arena is not None else measure_arena(self.model_path)["arena"]

    def __repr__(self):
        return (f"TFLMSR('{self.source_path}', tile={self.tile[1]}x{self.tile[0]}, overlap={self.overlap}, "
                f"x{self.scale}, arena={self.arena:,} bytes)")

    def upscale(self, image, overlap=None) -> np.ndarray:
        """float (H, W, C) LR -> float (sH, sW, C) SR, tile by tile (keras_sr.lite.tiling's plan).

        An image smaller than the tile is edge-padded to it and the output cropped.
        """
        image = np.asarray(image, dtype=np.float32)
        answer = run_request({"kind": "upscale", "model": self.model_path, "arena": self.arena, "image": image,
                              "tile": list(self.tile), "scale": self.scale,
                              "overlap": int(self.overlap if overlap is None else overlap)})
        return answer["output"]

    predict = upscale


# --------------------------------------------------------------------------- the child process


def _interpreter(model_bytes, arena):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model_bytes, arena_size=int(arena))


def _fits(model_bytes, arena):
    try:
        _interpreter(model_bytes, arena)
    except RuntimeError:
        return False
    return True


def bisect_arena(fits):
    """The smallest arena size (bytes) for which `fits(size)` is true: doubling from 64 KiB up to
    MAX_ARENA, then bisecting to the byte. Raises RuntimeError when even MAX_ARENA does not fit."""
    hi = 64 * 1024
    while not fits(hi):
        if hi >= MAX_ARENA:
            raise RuntimeError(f"TFLM could not allocate the model even with an arena of {MAX_ARENA} bytes")
        hi *= 2
    lo = hi // 2 if hi > 64 * 1024 else 0  # lo fails (or is 0), hi fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _min_arena(model_bytes):
    return bisect_arena(lambda arena: _fits(model_bytes, arena))


def _invoke(interp, x):
    interp.set_input(x[None].astype(np.float32), 0)
    interp.invoke()
    return np.asarray(interp.get_output(0))[0]


def _child(request):
    import time

    model_bytes = Path(request["model"]).read_bytes()
    answer = {}
    if request["kind"] == "arena":
        arena = _min_arena(model_bytes)
        interp = _interpreter(model_bytes, arena)
        shape = [int(v) for v in interp.get_input_details(0)["shape"]]
        x = np.load(request["image"]) if "image" in request else np.full(shape[1:], 0.5, np.float32)
        t0 = time.perf_counter()
        y = _invoke(interp, x) if request.get("invoke", True) else x
        answer = {"arena": arena, "invoke_s": time.perf_counter() - t0}
    elif request["kind"] == "upscale":
        from keras_sr.lite.tiling import upscale_tiled

        interp = _interpreter(model_bytes, request["arena"])
        th, tw = request["tile"]
        image = np.load(request["image"])
        h, w = image.shape[:2]
        if h < th or w < tw:  # a fixed-shape model takes whole tiles: pad the image to one
            image = np.pad(image, ((0, max(0, th - h)), (0, max(0, tw - w)), (0, 0)), mode="edge")
        y = upscale_tiled(lambda win: _invoke(interp, win), image, request["scale"], tile=(th, tw),
                          overlap=request["overlap"])
        s = request["scale"]
        y = y[: s * h, : s * w]
    else:
        raise ValueError(f"unknown request kind {request['kind']!r}")
    out = os.path.join(request["tmp"], "output.npy")
    np.save(out, y)
    answer["output"] = out
    Path(request["answer"]).write_text(json.dumps(answer))


if __name__ == "__main__":
    _child(json.loads(Path(sys.argv[1]).read_text()))
