"""Device bundles: a .tflite frozen at a tile shape, its facts, and a target's extras. No TensorFlow.

    export(model="fd_irb_edge_x4", target="micro", tile=(24, 24), output_dir="bundle")

writes `bundle/` with
    model.tflite   the model with its input fixed to (1, H, W, 3) (weights copied exactly)
    model.json     scale, tile, recommended overlap, I/O dtypes and quantization, ops, SHA-256,
                   size, Multi-Adds per tile; for micro the arena measured in TFLM
and for `target="micro"` also model_data.cc / model_data.h (the model as a 16-byte-aligned
C array), op_resolver.h (a MicroMutableOpResolver with the model's ops) and README.md.
The folder is written under a temporary name and renamed at the end: an error leaves no
partial bundle.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from keras_sr.export.freeze import freeze_tflite, tensor_io, tflite_ops
from keras_sr.validation import check_int

__all__ = ["export", "TARGETS", "freeze_tflite", "tflite_ops", "parse_bytes", "probe_tile", "recommended_overlap"]

TARGETS = ("micro", "android", "web")
#: Square LR tile sizes `ram_budget` chooses from.
BUDGET_TILES = tuple(range(8, 65, 4))
#: Least PSNR (dB) between TFLM's and LiteRT's outputs on a real image tile.
MIN_TFLM_PSNR = 40.0


def parse_bytes(text) -> int:
    """'256K' -> 262144, '1M' -> 1048576, '300000' -> 300000 (K and M are 1024-based)."""
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)[bB]?\s*", str(text))
    if not m:
        raise ValueError(f"`ram_budget` must be a byte count such as 262144, 256K or 1M. Received: {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def recommended_overlap(tile) -> int:
    """Context pixels per window side suggested for `tile` = (H, W): a quarter of the smaller side."""
    return max(1, min(tile) // 4)


def probe_tile(tile, scale) -> np.ndarray:
    """A real-image LR tile, float32 (H, W, 3) in [0, 1]: the centre of scikit-image's astronaut
    after keras-sr's degradation (a smooth synthetic pattern when scikit-image is missing)."""
    h, w = tile
    try:
        from keras_sr.data.degrade import make_lr
        from keras_sr.demo import sample_image

        _, lr = make_lr(sample_image(), scale)
        lr = np.asarray(lr, dtype=np.float32)
        if lr.max() > 1.0:
            lr = lr / 255.0
        y0, x0 = max(0, (lr.shape[0] - h) // 2), max(0, (lr.shape[1] - w) // 2)
        if lr.shape[0] >= h and lr.shape[1] >= w:
            return np.ascontiguousarray(lr[y0:y0 + h, x0:x0 + w, :3])
    except ImportError:
        pass
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([0.5 + 0.4 * np.sin(xx / 3 + k) * np.cos(yy / 5 - k) for k in range(3)], -1).astype(np.float32)


def _psnr(a, b) -> float:
    mse = float(np.mean((np.clip(a, 0, 1).astype(np.float64) - np.clip(b, 0, 1)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _source(model, tflite):
    if (model is None) == (tflite is None):
        raise ValueError(f"Give one of `model` (a shipped preset) and `tflite` (a file). "
                         f"Received: model={model!r}, tflite={tflite!r}")
    if tflite is not None:
        path = Path(tflite)
        if not path.is_file():
            raise FileNotFoundError(f"`tflite` file '{path}' does not exist.")
        return path, path.name
    from keras_sr import presets

    if not presets.is_preset(model):
        raise ValueError(f"`model` must be a shipped preset (one of {presets.names()}); Keras weights are "
                         f"converted first with `keras-sr convert`. Received: model={model!r}")
    return Path(presets.get(model).tflite), model


def _convert_weights(weights, precision, calibration, folder, log):
    """`weights` converted to a verified .tflite in `folder` (dynamic shape; the bundle freezes it)."""
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"`weights` file '{weights}' does not exist.")
    from keras_sr.convert import convert

    output = folder / f"{weights.name.removesuffix('.weights.h5')}_{precision}.tflite"
    log(f"converting '{weights.name}' to {precision} TFLite (keras_sr.convert)")
    convert(weights, output, precision=precision, calibration=calibration)
    return output


def _litert(model_bytes, x):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=bytes(model_bytes),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.set_tensor(inp["index"], x[None].astype(inp["dtype"]))
    it.invoke()
    return it.get_tensor(out["index"])[0].astype(np.float32)


def _micro_measure(frozen, tmp, scale, tile, log):
    """Arena and TFLM-vs-LiteRT agreement of a frozen model; raises ValueError when it fails a check."""
    from keras_sr.lite.tflm import measure_arena

    path = Path(tmp) / "probe.tflite"
    path.write_bytes(frozen)
    probe = probe_tile(tile, scale)
    try:
        measured = measure_arena(path, probe=probe)
    except RuntimeError as error:
        raise ValueError(f"the model does not allocate and run in TensorFlow Lite Micro's interpreter at tile "
                         f"{tile[1]}x{tile[0]}: {error}") from error
    psnr = _psnr(measured["output"], _litert(frozen, probe))
    if psnr < MIN_TFLM_PSNR:
        raise ValueError(f"TFLite Micro's output differs from LiteRT's on a real image tile: PSNR {psnr:.1f} dB "
                         f"< {MIN_TFLM_PSNR} dB")
    log(f"  tile {tile[1]}x{tile[0]}: arena {measured['arena']:,} bytes, TFLM vs LiteRT {psnr:.1f} dB")
    return {"arena_bytes": int(measured["arena"]), "tflm_vs_litert_psnr_db": round(psnr, 2),
            "tflm_invoke_s": round(measured["invoke_s"], 3)}


def _pick_tile(source_bytes, tmp, scale, budget, max_tile, log):
    """The largest square tile (<= max_tile) whose measured arena fits `budget`, by bisection."""
    sizes = [t for t in BUDGET_TILES if max_tile is None or t <= min(max_tile)]
    if not sizes:
        raise ValueError(f"`tile` must be at least {BUDGET_TILES[0]} pixels with `ram_budget`. Received: {max_tile}")
    measured = {}

    def fits(size):
        m = _micro_measure(freeze_tflite(source_bytes, (size, size)), tmp, scale, (size, size), log)
        measured[size] = m
        return m["arena_bytes"] <= budget

    lo, hi = -1, len(sizes)  # sizes[lo] fits (or lo = -1), sizes[hi] does not (or hi = len)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(sizes[mid]):
            lo = mid
        else:
            hi = mid
    if lo < 0:
        smallest = sizes[0]
        raise ValueError(f"no tile fits `ram_budget`={budget:,} bytes: the smallest tried, {smallest}x{smallest}, "
                         f"needs an arena of {measured[smallest]['arena_bytes']:,} bytes")
    return (sizes[lo], sizes[lo]), measured[sizes[lo]]


def _readme(facts, source_name):
    t = facts["tile"]
    m = facts["micro"]
    lines = [
        f"# {source_name} for TensorFlow Lite Micro (x{facts['scale']}, {t[1]}x{t[0]} LR tile)", "",
        "Written by `keras-sr export --target micro`. Numbers measured at export, in TFLM's own interpreter.", "",
        f"- **Arena to reserve:** {m['arena_bytes']:,} bytes (the smallest that allocates; "
        f"`constexpr size_t kArenaSize = {m['arena_bytes']};`, plus a little margin for your TFLM build)",
        f"- **Flash:** {facts['size_bytes']:,} bytes of model data (`model_data.cc`, 16-byte aligned)",
        f"- **Ops ({len(facts['ops'])}):** {', '.join(facts['ops'])} (registered in `op_resolver.h`)",
        f"- **Input:** 1x{t[0]}x{t[1]}x3 {facts['input']['dtype']}; **output:** "
        f"1x{facts['scale'] * t[0]}x{facts['scale'] * t[1]}x3 {facts['output']['dtype']}",
        f"- **Multi-Adds per tile:** {facts['multi_adds_per_tile']:,}",
        f"- **TFLM vs LiteRT on a real image tile:** {m['tflm_vs_litert_psnr_db']} dB PSNR", "",
        "## Tile plan", "",
        f"Cut the LR image into {t[1]}x{t[0]} windows that overlap by {2 * facts['overlap']} pixels: each window "
        f"keeps its centre and drops {facts['overlap']} pixels of context on every side that is not the image "
        "border; the last window of a row or column is shifted back inside the image so that every window has "
        "the full tile size. This is `keras_sr.lite.tiling.tile_windows`, and `tflite/micro/` implements it in "
        "plain C++.", "",
        "## Files", "",
        "- `model.tflite`: the model at the fixed tile shape; `model.json`: the facts above",
        "- `model_data.cc`, `model_data.h`: `g_model_data[]` and `g_model_data_len`",
        "- `op_resolver.h`: `ModelOpResolver` and `RegisterModelOps(resolver)`", "",
    ]
    return "\n".join(lines)


def export(model=None, tflite=None, target="micro", tile=None, overlap=None, output_dir=None, ram_budget=None,
           force=False, log=print, weights=None, precision="float32", calibration=None, *, source_name=None) -> dict:
    """Writes a device bundle for `target`; returns the facts written to model.json (plus `output_dir`).

    Args:
        model: a shipped preset name; or `tflite`: any .tflite file; or `weights`: a Keras
            `.weights.h5` checkpoint, converted and verified first by `keras_sr.convert.convert`
            (needs TensorFlow) at `precision` ("float32" or "int8": full int8, calibrated on
            `calibration`, default $KERAS_SR_DATA/train/T91). Give one.
        target: "micro", "android" or "web".
        tile: (H, W) LR pixels of the fixed input. With `ram_budget` it is the largest tile tried
            (default: the largest that fits).
        overlap: context pixels per window side the bundle recommends (default: a quarter of the tile).
        output_dir: the bundle folder.
        ram_budget: micro only: bytes (or '256K') the arena must fit in; picks the tile.
        force: replace an existing `output_dir`.

    Raises:
        ValueError: bad arguments, or the model fails a check of the target (the message names the op,
            size or argument).
    """
    if target not in TARGETS:
        raise ValueError(f"`target` must be one of {TARGETS}. Received: target={target!r}")
    if output_dir is None:
        raise ValueError("`output_dir` is required: the bundle folder to write")
    out = Path(output_dir)
    if out.exists() and not force:
        raise FileExistsError(f"`output_dir` '{out}' exists; pass force=True (--force) to replace it")
    if ram_budget is not None:
        if target != "micro":
            raise ValueError(f"`ram_budget` applies to target='micro' only. Received: target={target!r}")
        ram_budget = parse_bytes(ram_budget) if isinstance(ram_budget, str) else check_int(ram_budget, "ram_budget", 1)
    if tile is not None:
        tile = tuple(check_int(t, "tile", 1) for t in (tile if isinstance(tile, (tuple, list)) else (tile, tile)))
    if weights is not None:
        if model is not None or tflite is not None:
            raise ValueError(f"Give one of `model`, `tflite` and `weights`. Received: model={model!r}, "
                             f"tflite={tflite!r}, weights={weights!r}")
        if precision not in ("float32", "int8"):
            raise ValueError(f"`precision` must be 'float32' or 'int8'. Received: precision={precision!r}")
        if target == "micro" and precision != "int8":
            raise ValueError("`target='micro'` needs a full-int8 model: pass precision='int8' (--int8) to convert "
                             "`weights`.")
        converted = Path(tempfile.mkdtemp(prefix="keras_sr_export_convert_"))
        try:
            tflite = _convert_weights(weights, precision, calibration, converted, log)
            return export(tflite=tflite, target=target, tile=tile, overlap=overlap, output_dir=output_dir,
                          ram_budget=ram_budget, force=force, log=log, source_name=Path(weights).name)
        finally:
            shutil.rmtree(converted, ignore_errors=True)
    if precision != "float32" or calibration is not None:
        raise ValueError("`precision` and `calibration` convert `weights`; a preset or a .tflite file is exported as "
                         f"it is. Received: precision={precision!r}, calibration={calibration!r}")
    source_override = source_name
    src_path, source_name = _source(model, tflite)
    source_name = source_override or source_name
    source_bytes = src_path.read_bytes()

    from keras_sr.export import micro
    from keras_sr.lite.delegation import xnnpack_partitions
    from keras_sr.lite.runtime import TFLiteSR

    if tile is None and ram_budget is None:
        fixed = TFLiteSR(src_path, use_xnnpack=False).fixed_size
        if fixed is None:
            raise ValueError(f"`tile` is required for '{src_path.name}', which has a dynamic input shape (the fixed "
                             "LR input size of the bundle), unless `ram_budget` picks it")
        tile = tuple(fixed)

    if target == "micro":
        if micro.is_float_model(source_bytes):
            raise ValueError(f"'{src_path.name}' is a float model; `target='micro'` needs a full-int8 model "
                             "(keras-sr convert --int8)")
        micro.check_ops(source_bytes)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        scratch = Path(tempfile.mkdtemp(prefix="keras_sr_export_"))
        try:
            probe = TFLiteSR(src_path, use_xnnpack=False)
            scale = probe.scale
            micro_facts = None
            if ram_budget is not None:
                log(f"finding the largest tile whose TFLM arena fits {ram_budget:,} bytes")
                tile, micro_facts = _pick_tile(source_bytes, scratch, scale, ram_budget, tile, log)
                log(f"picked tile {tile[1]}x{tile[0]}: arena {micro_facts['arena_bytes']:,} bytes "
                    f"<= ram_budget {ram_budget:,}")
            overlap = recommended_overlap(tile) if overlap is None else check_int(overlap, "overlap", 0)
            if min(tile) <= 2 * overlap:
                raise ValueError(f"`tile` must be greater than 2 * `overlap` (each window keeps `overlap` pixels of "
                                 f"context on both sides). Received: tile={tile[1]}x{tile[0]}, overlap={overlap}")
            frozen = freeze_tflite(source_bytes, tile)
            if target == "micro" and micro_facts is None:
                micro_facts = _micro_measure(frozen, scratch, scale, tile, log)
            (tmp / "model.tflite").write_bytes(frozen)
            lite = TFLiteSR(tmp / "model.tflite", use_xnnpack=False)
            ops = tflite_ops(frozen)
            facts = {
                "target": target, "source": source_name, "source_sha256": hashlib.sha256(source_bytes).hexdigest(),
                "scale": scale, "tile": list(tile), "overlap": overlap, "precision": lite.precision,
                **tensor_io(frozen), "ops": ops, "sha256": hashlib.sha256(frozen).hexdigest(),
                "size_bytes": len(frozen), "multi_adds_per_tile": int(lite.multi_adds()),
            }
            if target != "micro":
                # Phones and browsers run XNNPACK: one partition, or ops fall back to reference kernels.
                facts["xnnpack"] = xnnpack_partitions(frozen)
                if not facts["xnnpack"]["one_partition"]:
                    log(f"note: XNNPACK runs this model in {facts['xnnpack']['partitions']} partitions; "
                        f"{', '.join(facts['xnnpack']['undelegated'])} run on TFLite's reference kernels "
                        "(slower on the device)")
            if target == "micro":
                facts["micro"] = {**micro_facts, "tflite_micro": _tflm_version()}
                cc, h = micro.c_array_files(frozen)
                (tmp / "model_data.cc").write_text(cc)
                (tmp / "model_data.h").write_text(h)
                (tmp / "op_resolver.h").write_text(micro.op_resolver_header(ops))
                (tmp / "README.md").write_text(_readme(facts, source_name))
            (tmp / "model.json").write_text(json.dumps(facts, indent=2) + "\n")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        os.chmod(tmp, 0o755)  # mkdtemp's 0700 is for the scratch name only
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(facts, output_dir=str(out))


def _tflm_version():
    try:
        from importlib.metadata import version

        return version("tflite-micro")
    except Exception:  # noqa: BLE001 - informational only
        return None
