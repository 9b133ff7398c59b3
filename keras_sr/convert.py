"""Keras weights -> a verified .tflite file.

    keras-sr convert --weights W [--model NAME --scale S --set KEY=VALUE ...]
        [--float16 | --dynamic | --int8] [--io float32|uint8|int8] [--input WxH]
        [--calibration DIR_OR_H5] [--calibration-samples N] [--eval NAME_OR_PATH]
        [--force] -o model.tflite

Precisions: float32 (no flag), `--float16` (float16 weights, float compute),
`--dynamic` (int8 weights, float activations) and `--int8` (full integer: only
TFLITE_BUILTINS_INT8 ops, activation ranges calibrated on real LR patches made by
`make_lr` from `--calibration`, default `$KERAS_SR_DATA/train/T91`). `--io` sets the
input/output tensor type of an int8 model; float models take and return float32.
Without `--input` the model takes any size, input shape (1, None, None, 3).

A QAT checkpoint (sidecar `"qat": true`) converts with `--int8` only; it still gets a
representative dataset, for the ops that have no fake-quant node (attention
statistics).

Every converted model is verified before it is written (`verify`): no Flex (TF
Select) or custom ops, with `--int8` no float tensor in any op except the
QUANTIZE/DEQUANTIZE pair at a float32 I/O, and the output of the TFLite model is
compared with the Keras model on real images (Set5 by default, LR cropped to at most
128x128): PSNR vs Keras above a per-precision floor (`MIN_PSNR_VS_KERAS`), and PSNR
vs the ground truth reported. A model that fails is not written to the requested
path; its bytes go to `OUT.rejected` and its report to `OUT.rejected.json`, and the
command exits with status 1. A model that passes is written atomically with its run
record `OUT.json` (command line, versions, report).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from keras_sr import checkpoints
from keras_sr._keras import tf
from keras_sr.data.sources import open_pairs
from keras_sr.fileio import write_bytes
from keras_sr.lite.runtime import TFLiteSR
from keras_sr.paths import data_root as default_data_root
from keras_sr.paths import portable_path, resolve_eval
from keras_sr.scoring import batch_predictor, keras_predictor, score_items
from keras_sr.validation import check_choice, check_int

__all__ = [
    "PRECISIONS",
    "IO_TYPES",
    "MIN_PSNR_VS_KERAS",
    "ConversionError",
    "VerificationError",
    "calibration_patches",
    "convert_model",
    "verify",
    "convert",
    "default_calibration_path",
    "default_eval_path",
    "main",
]

PRECISIONS = ("float32", "float16", "dynamic", "int8")
IO_TYPES = ("float32", "uint8", "int8")

#: Lowest PSNR (dB, Y channel, shave = scale) of the TFLite output vs the Keras float
#: output that `verify` accepts. Both outputs are rounded to uint8 before scoring, so
#: a float32 model that only differs by rounding noise scores far above 60 dB.
MIN_PSNR_VS_KERAS = {"float32": 60.0, "float16": 40.0, "dynamic": 30.0, "int8": 25.0}

#: Largest LR crop (pixels per side) that `verify` feeds the models.
DEFAULT_MAX_EVAL_SIZE = 128
DEFAULT_CALIBRATION_SAMPLES = 64
#: LR patch side used for calibration when the model takes any input size.
CALIBRATION_PATCH = 64

_TF_IO = {"float32": tf.float32, "uint8": tf.uint8, "int8": tf.int8}
_FLOATS = (np.float32, np.float16, np.float64)


class ConversionError(ValueError):
    """The model cannot be converted (e.g. it needs Flex ops); the message says why."""


class VerificationError(RuntimeError):
    """A converted model failed `verify`; `.report` holds the full report."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


# ---------------------------------------------------------------------------- data
def default_calibration_path() -> Path:
    """`<data root>/train/T91` ($KERAS_SR_DATA or ../shared/datasets)."""
    return default_data_root() / "train" / "T91"


def default_eval_path() -> Path:
    """`<data root>/Set5`."""
    return default_data_root() / "Set5"


def calibration_patches(source, scale, samples=DEFAULT_CALIBRATION_SAMPLES, input_hw=None, seed=0):
    """Real LR patches for int8 calibration.

    Args:
        source: HDF5 file or folder of HR images (LR made by `make_lr`), see `open_pairs`.
        scale: upscaling factor the LR images are made for.
        samples: number of patches (>= 1); images are visited in a seeded random
            order, one random patch per visit, cycling when there are fewer images.
        input_hw: (height, width) of a fixed-shape model: every patch has exactly
            that size (edge-padded when an image is smaller). None: square patches of
            `CALIBRATION_PATCH` pixels, or the whole LR image when it is smaller.
        seed: seed of the patch positions.

    Returns:
        A list of float32 arrays (1, h, w, 3) in [0, 1].
    """
    check_int(samples, "calibration_samples", 1)
    pairs = open_pairs(source, scale)
    rng = np.random.default_rng(seed)
    order = []
    while len(order) < samples:
        order.extend(rng.permutation(len(pairs)).tolist())
    patches = []
    for i in order[:samples]:
        h, w = pairs.lr_shape(i)
        if input_hw is None:
            ph, pw = min(CALIBRATION_PATCH, h), min(CALIBRATION_PATCH, w)
        else:
            ph, pw = input_hw
        ch, cw = min(ph, h), min(pw, w)
        top = int(rng.integers(0, h - ch + 1))
        left = int(rng.integers(0, w - cw + 1))
        if ch == cw:  # read_patch reads only the patch from an HDF5 file
            lr = pairs.read_patch(i, top, left, ch)[0]
        else:
            lr = pairs[i][0][top : top + ch, left : left + cw]
        if lr.shape[:2] != (ph, pw):
            lr = np.pad(lr, ((0, ph - lr.shape[0]), (0, pw - lr.shape[1]), (0, 0)), mode="edge")
        patches.append((lr.astype(np.float32) / 255.0)[None])
    return patches


# ---------------------------------------------------------------------------- convert
def _is_qat(model):
    return any(type(layer).__module__.startswith("tensorflow_model_optimization") for layer in model.layers)


def convert_model(
    model,
    precision="float32",
    io="float32",
    input_hw=None,
    calibration=None,
    calibration_samples=DEFAULT_CALIBRATION_SAMPLES,
    scale=None,
) -> bytes:
    """Convert a keras-sr model to a TFLite flatbuffer.

    Args:
        model: a float or QAT keras-sr model, input (None, None, 3) RGB in [0, 1].
        precision: "float32", "float16" (float16 weights), "dynamic" (int8 weights,
            float activations) or "int8" (full integer, TFLITE_BUILTINS_INT8 only).
        io: input/output tensor type, "float32", "uint8" or "int8"; integer types only
            with precision="int8".
        input_hw: (height, width) of the LR input for a fixed shape (1, H, W, 3);
            None gives the dynamic shape (1, None, None, 3).
        calibration: for "int8": a path (folder of HR images or HDF5 file, patches
            made by `calibration_patches`, needs `scale`), a list of float arrays
            (1, h, w, 3) in [0, 1], or a callable returning an iterable of them.
        calibration_samples: patches taken from a calibration path.
        scale: the model's upscaling factor (needed with a calibration path).

    Returns:
        The .tflite file contents.

    Raises:
        ValueError: bad arguments. ConversionError: the converter refused the model,
        e.g. because it needs Flex (TF Select) ops.
    """
    check_choice(precision, PRECISIONS, "precision")
    check_choice(io, IO_TYPES, "io")
    if io != "float32" and precision != "int8":
        raise ValueError(
            f"`io`={io!r} needs precision='int8' (--int8); a {precision} model takes and returns "
            f"float32. Received: io={io!r}, precision={precision!r}"
        )
    if _is_qat(model) and precision != "int8":
        raise ValueError(
            f"A quantization-aware (QAT) model converts with precision='int8' (--int8) only. "
            f"Received: precision={precision!r}"
        )
    if input_hw is None:
        shape = [1, None, None, 3]
    else:
        if len(input_hw) != 2:
            raise ValueError(f"`input_hw` must be (height, width). Received: input_hw={input_hw!r}")
        height, width = (check_int(v, "input_hw", 1) for v in input_hw)
        shape = [1, height, width, 3]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="lr")])
    def serve(lr):
        return model(lr, training=False)

    # The converter saves its trackable object first: the Keras model itself would be traced
    # whole (every QAT wrapper's call), a holder of its variables alone gives the same file
    # about 4x faster.
    holder = tf.Module()
    holder.model_variables = list(model.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif precision == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif precision == "int8":
        patches = _calibration_data(calibration, calibration_samples, input_hw, scale)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([p] for p in patches)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = _TF_IO[io]
        converter.inference_output_type = _TF_IO[io]
    try:
        return bytes(converter.convert())
    except Exception as error:  # noqa: BLE001 - the converter raises several unrelated types
        raise ConversionError(_explain_converter_error(error, precision)) from error


def _calibration_data(calibration, samples, input_hw, scale):
    if calibration is None:
        raise ValueError(
            "precision='int8' needs a representative dataset: pass `calibration` "
            "(--calibration DIR_OR_H5, a folder of HR images or an HDF5 file)."
        )
    if isinstance(calibration, (str, os.PathLike)):
        if scale is None:
            raise ValueError("`scale` is needed to make LR calibration patches from a path.")
        return calibration_patches(calibration, scale, samples, input_hw)
    data = calibration() if callable(calibration) else calibration
    patches = [np.asarray(p, np.float32) for p in data]
    if not patches:
        raise ValueError("`calibration` holds no samples.")
    for p in patches:
        if p.ndim != 4 or p.shape[0] != 1 or p.shape[-1] != 3:
            raise ValueError(f"Calibration samples must have shape (1, h, w, 3). Received: shape={p.shape}")
    return patches


def _explain_converter_error(error, precision):
    text = str(error)
    if "ERROR_NEEDS_FLEX_OPS" in text or "TF Select ops" in text or "neither a custom op nor a flex op" in text:
        found = re.findall(r"TF Select ops: ([^\n]+)", text)
        ops = sorted({op.strip() for line in found for op in line.split(",") if op.strip()})
        if not ops:
            ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither", text)))
        return (
            f"The model needs TensorFlow (Flex / TF Select) ops {ops or '(unnamed)'}, which the TFLite "
            "builtin runtimes (ai-edge-litert, XNNPACK, TFLite Micro) cannot run and which block int8. "
            "Replace them with builtin ops (e.g. keras_sr.layers.BicubicUpsample instead of "
            "tf.image.resize bicubic)."
        )
    if "ERROR_NEEDS_CUSTOM_OPS" in text:
        return f"The model needs custom ops, which keras-sr does not ship: {text.splitlines()[-1][:500]}"
    if precision == "int8" and ("int8" in text.lower() or "quantiz" in text.lower()):
        return f"Full-integer conversion failed (some op has no int8 kernel?): {text[-1500:]}"
    return f"TFLite conversion failed: {text[-1500:]}"


# ---------------------------------------------------------------------------- verify
def _op_table(interpreter):
    """[(op_name, [(tensor index, dtype) of inputs], [(index, dtype) of outputs])]."""
    table = []
    for op in interpreter._get_ops_details():
        def dtypes(indices):
            return [(int(i), np.dtype(interpreter._get_tensor_details(int(i), 0)["dtype"])) for i in indices if i >= 0]

        table.append((op["op_name"], dtypes(op["inputs"]), dtypes(op["outputs"])))
    return table


def _float_ops(table, io, model_inputs, model_outputs):
    """Ops of an int8 model that touch float tensors (allowed: the I/O (DE)QUANTIZE with io float32)."""
    offenders = []
    for k, (name, ins, outs) in enumerate(table):
        floats = [i for i, dt in ins + outs if dt.type in _FLOATS]
        if not floats:
            continue
        if io == "float32":
            float_out = any(dt.type in _FLOATS for _, dt in outs)
            float_in = any(dt.type in _FLOATS for _, dt in ins)
            if name == "QUANTIZE" and {i for i, _ in ins} <= model_inputs and not float_out:
                continue
            if name == "DEQUANTIZE" and {i for i, _ in outs} <= model_outputs and not float_in:
                continue
        in_types = ",".join(dt.name for _, dt in ins)
        out_types = ",".join(dt.name for _, dt in outs)
        offenders.append(f"#{k} {name} ({in_types} -> {out_types})")
    return offenders


def _eval_pairs(eval_data, scale, max_size, max_images, fixed_hw):
    pairs = open_pairs(eval_data, scale)
    n = len(pairs) if max_images is None else min(len(pairs), max_images)
    for i in range(n):
        lr, hr = pairs[i]
        h, w = lr.shape[:2]
        if fixed_hw is not None:
            ch, cw = fixed_hw
            if h < ch or w < cw:
                continue
        else:
            ch, cw = min(h, max_size), min(w, max_size)
        # A centred crop keeps the image's content; the HR crop is the area it covers.
        top, left = (h - ch) // 2, (w - cw) // 2
        yield (
            pairs.name(i),
            lr[top : top + ch, left : left + cw],
            hr[top * scale : (top + ch) * scale, left * scale : (left + cw) * scale],
        )


def verify(
    tflite_bytes_or_path,
    keras_model,
    precision,
    eval_data,
    scale,
    io="float32",
    max_eval_size=DEFAULT_MAX_EVAL_SIZE,
    max_images=None,
    min_psnr=None,
) -> dict:
    """Check a converted model; returns a JSON-ready report (it never raises on a failed check).

    Args:
        tflite_bytes_or_path: .tflite contents or path.
        keras_model: the model it was converted from (float or QAT), or None to
            skip the comparison with Keras.
        precision: the precision it was converted with (one of PRECISIONS).
        eval_data: folder of HR images or HDF5 file for the PSNR checks, or None.
        scale: upscaling factor; must match the model's.
        io: the I/O type it was converted with.
        max_eval_size: LR images are centre-cropped to at most this many pixels per side
            (a fixed-shape model gets crops of its own size; smaller images are skipped).
        max_images: score at most this many images.
        min_psnr: lowest accepted mean PSNR vs Keras in dB; None: MIN_PSNR_VS_KERAS[precision].

    Returns:
        dict with keys ok (bool), problems (list of str), precision, io, size_bytes,
        input_shape, input_dtype, output_dtype, scale, op_counts, flex_ops,
        custom_ops, float_ops (int8 only, else []), eval (None or {data, images,
        psnr_vs_keras, psnr_vs_keras_min, max_abs_vs_keras, psnr_tflite, psnr_keras,
        min_psnr, per_image}).
    """
    check_choice(precision, PRECISIONS, "precision")
    check_choice(io, IO_TYPES, "io")
    with tempfile.TemporaryDirectory(prefix="keras_sr_verify_") as tmp:
        if isinstance(tflite_bytes_or_path, (bytes, bytearray)):
            path = Path(tmp) / "model.tflite"
            path.write_bytes(tflite_bytes_or_path)
        else:
            path = Path(tflite_bytes_or_path)
        return _verify(path, keras_model, precision, eval_data, scale, io, max_eval_size, max_images, min_psnr)


def _verify(path, keras_model, precision, eval_data, scale, io, max_eval_size, max_images, min_psnr):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    problems = []
    report = {"ok": False, "problems": problems, "precision": precision, "io": io, "size_bytes": path.stat().st_size}
    try:
        interpreter = Interpreter(
            model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
    except ValueError as error:
        problems.append(f"not a loadable TFLite model: {error}")
        return report
    table = _op_table(interpreter)
    names = [name for name, _, _ in table]
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    report.update(
        input_shape=[int(d) if d >= 0 else None for d in inputs[0]["shape_signature"]],
        input_dtype=np.dtype(inputs[0]["dtype"]).name,
        output_dtype=np.dtype(outputs[0]["dtype"]).name,
        scale=scale,
        op_counts=dict(sorted(Counter(names).items())),
    )
    flex = sorted({n for n in names if n.startswith("Flex")})
    # Builtin ops are named like CONV_2D; a custom op shows up under its custom code.
    custom = sorted({n for n in names if not n.startswith("Flex") and (not n.isupper() or n == "CUSTOM")})
    report["flex_ops"], report["custom_ops"] = flex, custom
    if flex:
        problems.append(
            f"Flex (TF Select) ops {flex}: the builtin TFLite runtimes cannot run them; "
            "replace the layers that produce them with builtin ops"
        )
    if custom:
        problems.append(f"custom ops {custom}: keras-sr models must use builtin ops only")
    expected_in = "float32" if precision != "int8" else io
    for what, got in (("input", report["input_dtype"]), ("output", report["output_dtype"])):
        if got != expected_in:
            problems.append(f"{what} tensor is {got}, expected {expected_in} (precision={precision}, io={io})")
    report["float_ops"] = []
    if precision == "int8":
        model_inputs = {int(d["index"]) for d in inputs}
        model_outputs = {int(d["index"]) for d in outputs}
        report["float_ops"] = _float_ops(table, io, model_inputs, model_outputs)
        if report["float_ops"]:
            problems.append(
                f"{len(report['float_ops'])} op(s) of the int8 model use float tensors: "
                + "; ".join(report["float_ops"][:10])
            )
    if flex or custom:
        report["eval"] = None
        return report

    runtime = TFLiteSR(path)
    try:  # XNNPACK (the default delegate) prepares the graph on the first run
        runtime.predict(np.zeros((*(runtime.fixed_size or (8, 8)), 3), np.float32))
    except RuntimeError as error:
        hint = (
            " An int8 tensor with a near-zero range (e.g. a ReLU channel that is always 0 on the "
            "calibration data) is a known cause."
            if precision == "int8"
            else ""
        )
        problems.append(
            f"the default XNNPACK delegate cannot run the model ({str(error).strip()[:200]}).{hint} "
            "The evaluation uses the reference kernels instead."
        )
        runtime = TFLiteSR(path, use_xnnpack=False)
    got_scale = runtime.scale
    if scale is not None and got_scale != scale:
        problems.append(f"the model upscales x{got_scale}, expected x{scale}")
        report["eval"] = None
        return report
    report["eval"] = None
    if eval_data is not None:
        report["eval"] = _evaluate(
            runtime, keras_model, precision, eval_data, got_scale, max_eval_size, max_images, min_psnr
        )
        problems.extend(report["eval"].pop("problems"))
    report["ok"] = not problems
    return report


def _evaluate(runtime, keras_model, precision, eval_data, scale, max_size, max_images, min_psnr):
    floor = MIN_PSNR_VS_KERAS[precision] if min_psnr is None else min_psnr
    result = {"data": portable_path(eval_data), "images": 0, "min_psnr": floor, "per_image": {}, "problems": []}
    items = list(_eval_pairs(eval_data, scale, max_size, max_images, runtime.fixed_size))
    if not items:
        result["problems"].append(f"no evaluation image in '{eval_data}' fits the model's input size")
        return result
    reference = keras_predictor(keras_model) if keras_model is not None else None
    scores = score_items(batch_predictor(runtime.predict), items, scale, warm_up=False, reference=reference)
    for row in scores["images"]:
        entry = {"lr_hw": row["lr_hw"], "psnr_tflite": row["psnr"]}
        if reference is not None:
            entry.update(psnr_vs_keras=row["psnr_vs_reference"], max_abs_vs_keras=row["max_abs_vs_reference"],
                         psnr_keras=row["psnr_reference"])
        result["per_image"][row["name"]] = entry
    result["images"] = scores["count"]
    result["psnr_tflite"] = scores["psnr"]
    if reference is not None:
        vs_keras = [row["psnr_vs_reference"] for row in scores["images"]]
        # The mean of per-image MSEs, as one PSNR, keeps an identical image (inf dB) from hiding a bad one.
        mse = np.mean([10 ** (-p / 10) for p in vs_keras])
        result["psnr_vs_keras"] = float("inf") if mse == 0 else float(-10 * np.log10(mse))
        result["psnr_vs_keras_min"] = float(min(vs_keras))
        result["max_abs_vs_keras"] = float(max(row["max_abs_vs_reference"] for row in scores["images"]))
        result["psnr_keras"] = float(np.mean([row["psnr_reference"] for row in scores["images"]]))
        if floor is not None and result["psnr_vs_keras"] < floor:
            result["problems"].append(
                f"PSNR of the TFLite output vs the Keras output is {result['psnr_vs_keras']:.2f} dB, "
                f"below the {floor:.1f} dB accepted for {precision}"
            )
    return result


# ---------------------------------------------------------------------------- run + CLI
def _versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__}
    for dist in ("tf-keras", "tensorflow-model-optimization", "ai-edge-litert", "keras-sr"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    from keras_sr import __version__

    out["keras_sr_source"] = __version__
    return out


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _atomic_write_bytes(path, data):
    write_bytes(path, data)


def record_path(output):
    """The run record beside a model: `model.tflite` -> `model.tflite.json`."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def convert(
    weights,
    output,
    model=None,
    scale=None,
    config=None,
    precision="float32",
    io="float32",
    input_hw=None,
    calibration=None,
    calibration_samples=DEFAULT_CALIBRATION_SAMPLES,
    eval=None,
    data_root=None,
    force=False,
    max_eval_size=DEFAULT_MAX_EVAL_SIZE,
    command=None,
) -> dict:
    """Load weights, convert, verify, write `output` and `output.json`; the CLI's library half.

    Args:
        weights: a `.weights.h5` file; with a sidecar, `model`/`scale` may be omitted
            (and must agree when given).
        output: the .tflite path. The record goes to `output.json`.
        calibration: int8 only; None -> `default_calibration_path()` when it exists.
        eval: the evaluation set for the PSNR checks: a folder of HR images, an .h5
            file, or a name under `data_root`, then `$KERAS_SR_DATA` (see
            `keras_sr.paths.resolve_eval`). None -> Set5 when it is found (else no PSNR
            checks); False disables evaluation.
        data_root: where a bare `eval` name is looked up first.
        force: overwrite an existing `output` / `output.json`.
        command: the command line to store in the record.
        Other arguments: see `convert_model` and `verify`.

    Returns:
        The run record (dict with command, weights, output, model, scale, config,
        versions, report).

    Raises:
        FileExistsError, FileNotFoundError, ValueError: bad arguments (nothing written).
        ConversionError: the converter refused the model (nothing written).
        VerificationError: the model failed `verify`; it was written to
            `output.rejected` (report in `output.rejected.json`), not to `output`.
    """
    output = Path(output)
    if output.suffix != ".tflite":
        raise ValueError(f"`output` must end in .tflite. Received: {output}")
    for path in (output, record_path(output)):
        if path.exists() and not force:
            raise FileExistsError(f"Output file '{path}' already exists; pass force=True (--force) to overwrite it.")
    if not output.parent.is_dir():
        raise FileNotFoundError(f"Output folder '{output.parent}' does not exist.")
    if precision == "int8" and calibration is None:
        calibration = default_calibration_path()
        if not calibration.is_dir():
            raise ValueError(
                f"precision='int8' needs `calibration` images (--calibration DIR_OR_H5; the default "
                f"'{calibration}' does not exist; set KERAS_SR_DATA to the datasets folder)."
            )
    if precision == "int8" and isinstance(calibration, (str, os.PathLike)) and not Path(calibration).exists():
        raise FileNotFoundError(f"`calibration` '{calibration}' does not exist; expected a folder of images or an "
                                "HDF5 file.")
    keras_model, meta = checkpoints.load_model(weights, name=model, scale=scale, config=config)
    scale = meta["scale"]
    if eval is None:
        eval_data = default_eval_path() if default_eval_path().is_dir() else None
    elif eval is False:
        eval_data = None
    else:
        eval_data = resolve_eval(eval, scale, data_root)
    if meta.get("qat") and precision != "int8":
        raise ValueError(
            f"'{weights}' is a quantization-aware (QAT) checkpoint; convert it with precision='int8' (--int8). "
            f"Received: precision={precision!r}"
        )
    data = convert_model(
        keras_model,
        precision=precision,
        io=io,
        input_hw=input_hw,
        calibration=calibration,
        calibration_samples=calibration_samples,
        scale=scale,
    )
    report = verify(data, keras_model, precision, eval_data, scale, io=io, max_eval_size=max_eval_size)
    record = {
        "command": command,
        "weights": portable_path(weights),
        "output": portable_path(output),
        "model": meta["model"],
        "scale": scale,
        "config": meta.get("config", {}),
        "qat": bool(meta.get("qat")),
        "precision": precision,
        "io": io,
        "input_hw": list(input_hw) if input_hw else None,
        "calibration": (
            (portable_path(calibration) if isinstance(calibration, (str, os.PathLike)) else "in-memory samples")
            if precision == "int8"
            else None
        ),
        "calibration_samples": calibration_samples if precision == "int8" else None,
        "versions": _versions(),
        "report": report,
        # Checked by TFLiteSR when it loads the file: a corrupted or replaced model is refused.
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    text = json.dumps(_json_safe(record), indent=2)
    if not report["ok"]:
        rejected = output.with_name(output.name + ".rejected")
        _atomic_write_bytes(rejected, data)
        _atomic_write_bytes(record_path(rejected), text.encode())
        raise VerificationError(
            f"The converted model failed verification and was not written to '{output}' "
            f"(kept as '{rejected}' for inspection): " + "; ".join(report["problems"]),
            report,
        )
    _atomic_write_bytes(output, data)
    _atomic_write_bytes(record_path(output), text.encode())
    return record


def format_report(record) -> str:
    """A few lines for the terminal."""
    r = record["report"]
    lines = [
        f"wrote {record['output']} ({r['size_bytes'] / 1024:.1f} KiB, {record['precision']}, io {record['io']}, "
        f"input {r['input_shape']}, x{record['scale']})",
        "ops        " + ", ".join(f"{k} x{v}" for k, v in r["op_counts"].items()),
    ]
    if record["precision"] == "int8":
        lines.append("int8       every compute op is int8" if not r["float_ops"] else f"float ops  {r['float_ops']}")
    ev = r.get("eval")
    if ev and "psnr_vs_keras" in ev:
        lines.append(
            f"eval       {ev['images']} images of {ev['data']}: PSNR vs Keras {ev['psnr_vs_keras']:.2f} dB "
            f"(min {ev['psnr_vs_keras_min']:.2f}, max |diff| {ev['max_abs_vs_keras']:.2e}), "
            f"PSNR vs HR {ev['psnr_tflite']:.2f} dB (Keras {ev['psnr_keras']:.2f} dB)"
        )
    elif ev is None:
        lines.append("eval       skipped (no --eval and no Set5 under the data root)")
    lines.append(f"record     {record_path(record['output'])}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """`python -m keras_sr.convert`: the same as `keras-sr convert`."""
    from keras_sr.cli.convert import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
