"""`TFLiteSR`: a super-resolution .tflite model behind a float-in, float-out `predict`.

Needs only ai-edge-litert and numpy; never imports TensorFlow.
"""
from __future__ import annotations

import os

import numpy as np

from keras_sr.validation import check_int, check_num_threads, check_pixels, check_sha256

try:  # ai-edge-litert is a base dependency; fail with a useful message when it is missing.
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
except ImportError as _e:  # pragma: no cover - exercised only on broken installs
    Interpreter = OpResolverType = None
    _IMPORT_ERROR = _e
else:
    _IMPORT_ERROR = None

__all__ = ["TFLiteSR", "MAC_OPS", "ModelRuntimeError", "note_unverified"]


class ModelRuntimeError(ValueError, RuntimeError):
    """The interpreter refused a model file (Flex ops, a delegate that cannot prepare it, ...).

    A ValueError, since the file is the caller's input (the CLIs exit with 2), and a
    RuntimeError, the class the interpreter itself raises.
    """

#: Ops whose multiply-adds `TFLiteSR.multi_adds` counts.
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")

# Ops whose (activation, weight) operand types decide the precision guess.
_WEIGHTED_OPS = MAC_OPS + ("BATCH_MATMUL",)

# Probe size for scale inference on dynamic models: large enough for a few
# downsampling steps, small enough to run in milliseconds.
_PROBE_HW = (24, 24)


class TFLiteSR:
    """A super-resolution TFLite model: LR float (H, W, 3) in [0, 1] -> SR float (sH, sW, 3).

    Works for float32, float16, dynamic-range and int8 models, with float32,
    uint8 or int8 input/output tensors, and with a dynamic (1, None, None, 3) or a
    fixed (1, H, W, 3) input shape.

    Args:
        model_path: path to the .tflite file.
        num_threads: CPU threads for the interpreter (>= 1), or None for its default.
        use_xnnpack: apply the default XNNPACK delegate (True, the fast path) or run
            the reference builtin kernels only (False).

    Example:
        >>> sr = TFLiteSR("model_x4.tflite", num_threads=2)
        >>> out = np.clip(sr.predict(lr), 0.0, 1.0)  # lr: float32 (H, W, 3) in [0, 1]
    """

    def __init__(self, model_path, num_threads=None, use_xnnpack=True):
        if _IMPORT_ERROR is not None:
            raise ImportError(
                "keras_sr.lite needs the ai-edge-litert package: `pip install ai-edge-litert`. "
                f"Import failed with: {_IMPORT_ERROR}"
            )
        num_threads = check_num_threads(num_threads)
        self.model_path = os.fspath(model_path)
        self.num_threads = num_threads
        self.use_xnnpack = bool(use_xnnpack)
        if not os.path.isfile(self.model_path):
            raise FileNotFoundError(f"Model file '{self.model_path}' does not exist.")
        self.sidecar = read_sidecar(self.model_path)
        #: True when the sidecar's SHA-256 matched the file; False when there is no hash to check.
        self.verified = bool(self.sidecar and self.sidecar.get("sha256"))
        if self.verified:  # written by keras-sr convert: the file must be the one it recorded
            check_sha256(self.model_path, self.sidecar["sha256"], sidecar_path(self.model_path))
        self._interpreter = self._make_interpreter(delegates=self.use_xnnpack, num_threads=num_threads)

        inp = self._interpreter.get_input_details()
        out = self._interpreter.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ValueError(
                f"Model file '{self.model_path}' must have exactly one input and one output tensor. "
                f"Received: {len(inp)} input(s), {len(out)} output(s)."
            )
        self._in, self._out = inp[0], out[0]
        sig = [int(d) for d in self._in["shape_signature"]]
        if len(sig) != 4:
            raise ValueError(
                f"Model file '{self.model_path}' must take an NHWC image batch (4-D input). "
                f"Received input shape {tuple(sig)}."
            )
        out_sig = [int(d) for d in self._out["shape_signature"]]
        if len(out_sig) != 4 or sig[3] not in (1, 3, 4) or out_sig[3] != sig[3]:
            raise ValueError(
                f"Model file '{self.model_path}' is not an image-to-image model: expected an NHWC image in and "
                f"out with the same 1, 3 or 4 channels. Received: input shape {tuple(sig)}, output shape "
                f"{tuple(out_sig)}."
            )
        self._signature = sig
        self._dynamic = sig[1] < 0 or sig[2] < 0
        self._alloc_shape = None  # the (1, H, W, C) the main interpreter is allocated for
        if not self._dynamic:
            self._allocate((1, sig[1], sig[2], sig[3]))
        self._scale = None
        self._precision = None

    # ------------------------------------------------------------------ properties
    @property
    def input_dtype(self) -> np.dtype:
        """dtype of the model's input tensor (float32, uint8 or int8)."""
        return np.dtype(self._in["dtype"])

    @property
    def output_dtype(self) -> np.dtype:
        """dtype of the model's output tensor (float32, uint8 or int8)."""
        return np.dtype(self._out["dtype"])

    @property
    def input_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the input tensor; (0.0, 0) for a float input."""
        s, z = self._in["quantization"]
        return float(s), int(z)

    @property
    def output_quantization(self) -> tuple[float, int]:
        """(scale, zero_point) of the output tensor; (0.0, 0) for a float output."""
        s, z = self._out["quantization"]
        return float(s), int(z)

    @property
    def is_dynamic(self) -> bool:
        """True when the model takes any H, W (converted with input shape (1, None, None, C))."""
        return self._dynamic

    @property
    def input_shape(self) -> tuple:
        """(1, H, W, C) of a fixed-shape model, (1, None, None, C) of a dynamic one."""
        h, w = self._signature[1:3]
        return (1, None if h < 0 else h, None if w < 0 else w, self._signature[3])

    @property
    def fixed_size(self):
        """(H, W) in LR pixels of a fixed-shape model, None for a dynamic one."""
        return None if self._dynamic else (self._signature[1], self._signature[2])

    @property
    def channels(self) -> int:
        return self._signature[3]

    @property
    def scale(self) -> int:
        """Upscaling factor, from the fixed shapes or from one run at a small probe size."""
        if self._scale is None:
            self._scale = self._infer_scale()
        return self._scale

    @property
    def precision(self) -> str:
        """Best guess of how the model was converted, from its tensor types.

        'int8' (integer activations in the conv/FC ops, whatever the I/O type),
        'int16x8', 'dynamic' (int8 weights, float activations), 'float16' (float16
        weights dequantized at load) or 'float32'.
        """
        if self._precision is None:
            self._precision = self._guess_precision()
        return self._precision

    def __repr__(self):
        return (
            f"TFLiteSR('{self.model_path}', input_shape={self.input_shape}, "
            f"input_dtype={self.input_dtype.name}, xnnpack={self.use_xnnpack}, threads={self.num_threads})"
        )

    # ------------------------------------------------------------------ inference
    def predict(self, lr) -> np.ndarray:
        """Upscale one image.

        Args:
            lr: float array (H, W, C) or (1, H, W, C) with values in [0, 1].

        Returns:
            float32 (sH, sW, C), or (1, sH, sW, C) for a batch-of-one input:
            the dequantized model output, not clipped.
        """
        x = np.asarray(lr)
        batched = x.ndim == 4
        if not (x.ndim == 3 or (batched and x.shape[0] == 1)) or x.shape[-1] != self.channels:
            raise ValueError(
                f"`lr` must have shape (H, W, {self.channels}) or (1, H, W, {self.channels}). "
                f"Received: shape={x.shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"`lr` must be a float array with values in [0, 1]. Received: dtype={x.dtype} "
                "(divide uint8 images by 255 first)."
            )
        if min(x.shape[-3:-1]) < 1:
            raise ValueError(f"`lr` is an empty image: it must be at least 1x1 pixels. Received: shape={x.shape}")
        check_pixels(x, "lr")
        if not batched:
            x = x[None]
        shape = tuple(int(d) for d in x.shape)
        if self._dynamic:
            if shape != self._alloc_shape:
                self._allocate(shape)
        elif shape != self._alloc_shape:
            raise ValueError(
                f"Model file '{self.model_path}' has a fixed input shape {self._alloc_shape}; "
                f"received an image of shape {shape}. Use keras_sr.lite.upscale_tiled with "
                f"tile={self.fixed_size}, or convert the model with a dynamic input shape."
            )
        self._interpreter.set_tensor(self._in["index"], _quantize(x, self.input_dtype, self.input_quantization))
        try:
            self._interpreter.invoke()
        except RuntimeError as e:
            raise self._runtime_error(e, f"running it on an input of shape {shape}") from e
        y = _dequantize(self._interpreter.get_tensor(self._out["index"]), self.output_quantization)
        return y if batched else y[0]

    __call__ = predict

    # ------------------------------------------------------------------ model analysis
    def ops(self) -> list[str]:
        """Op names of the model's nodes in execution order (before any delegation)."""
        it = self._make_interpreter(delegates=False)
        return [op["op_name"] for op in it._get_ops_details()]

    def multi_adds(self, h=None, w=None, include_fixed=True) -> int:
        """Multiply-adds of one inference at LR size h x w (default: the fixed size).

        Counted from the model's own CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and
        TRANSPOSE_CONV ops at that size: output elements x kernel h x kernel w x
        input channels per group (FULLY_CONNECTED: output elements x input features;
        TRANSPOSE_CONV: input elements x kernel h x kernel w x output channels).
        Elementwise ops, attention statistics and the like are not counted.

        This includes the bicubic skip's conv (a fixed 5x5 kernel, from a Keras layer
        named `bicubic`), which `keras_sr.profile` counts apart as `multi_adds_fixed`:
        the total here equals `profile_model(...)["multi_adds_total"]`, and
        `include_fixed=False` leaves that conv out, giving `profile_model(...)["multi_adds"]`
        (fd_irb_edge x4 at 320x180: 61.83 G and 61.62 G).
        """
        import re

        fixed_name = re.compile(r"(^|/)(quant_)?bicubic(/|;|$)")
        h, w = self._check_size(h, w)
        it = self._run_analysis(h, w)
        total = 0
        for op in it._get_ops_details():
            name = op["op_name"]
            if name not in MAC_OPS:
                continue
            shape = lambda t: [int(d) for d in it._get_tensor_details(t, 0)["shape"]]  # noqa: E731
            if not include_fixed and any(fixed_name.search(it._get_tensor_details(t, 0)["name"])
                                         for t in op["outputs"]):
                continue
            if name == "TRANSPOSE_CONV":
                o, kh, kw, _ = shape(op["inputs"][1])
                total += int(np.prod(shape(op["inputs"][2]), dtype=np.int64)) * kh * kw * o
                continue
            out_elems = int(np.prod(shape(op["outputs"][0]), dtype=np.int64))
            wshape = shape(op["inputs"][1])
            if name == "CONV_2D":
                total += out_elems * wshape[1] * wshape[2] * wshape[3]
            elif name == "DEPTHWISE_CONV_2D":
                total += out_elems * wshape[1] * wshape[2]
            else:  # FULLY_CONNECTED: weights (units, in_features)
                total += out_elems * wshape[1]
        return int(total)

    # ------------------------------------------------------------------ internals
    def _make_interpreter(self, delegates, num_threads=None):
        resolver = OpResolverType.AUTO if delegates else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            return Interpreter(
                model_path=self.model_path, num_threads=num_threads, experimental_op_resolver_type=resolver
            )
        except ValueError as e:
            raise ValueError(f"Cannot load model file '{self.model_path}' as a TFLite model: {e}") from e
        except RuntimeError as e:
            raise self._runtime_error(e, "loading it") from e

    def _runtime_error(self, error, doing):
        """The interpreter's RuntimeError as a ValueError naming the file (and Flex ops when they are the cause)."""
        text = str(error).strip().splitlines()
        first = text[0] if text else type(error).__name__
        if "Select TensorFlow op" in str(error) or "Flex" in str(error):
            return ModelRuntimeError(
                f"Model file '{self.model_path}' uses TensorFlow (Flex / Select TF) ops, which the LiteRT "
                "interpreter does not run; convert it with built-in ops only (keras-sr convert does). "
                f"The interpreter said: {first}"
            )
        return ModelRuntimeError(f"Model file '{self.model_path}' failed in the TFLite interpreter while {doing}: "
                                 f"{first}")

    def _allocate(self, shape):
        it = self._interpreter
        if self._dynamic or self._signature[0] < 0:
            it.resize_tensor_input(self._in["index"], list(shape), strict=False)
        try:
            it.allocate_tensors()
        except RuntimeError as e:
            raise self._runtime_error(e, f"allocating it for an input of shape {tuple(shape)}") from e
        self._alloc_shape = tuple(shape)

    def _check_size(self, h, w):
        if h is None and w is None:
            if self._dynamic:
                raise ValueError(
                    f"Model file '{self.model_path}' has a dynamic input shape; pass the LR size `h` and `w`."
                )
            return self.fixed_size
        h, w = check_int(h, "h", 1), check_int(w, "w", 1)
        if not self._dynamic and (h, w) != self.fixed_size:
            raise ValueError(
                f"Model file '{self.model_path}' has a fixed input size (H, W)={self.fixed_size}. "
                f"Received: h={h}, w={w}"
            )
        return int(h), int(w)

    def _run_analysis(self, h, w):
        """A delegate-free interpreter run once at (1, h, w, C): every tensor shape is then current.

        The run is needed because shapes computed from SHAPE ops (e.g. the RESHAPE
        around a FULLY_CONNECTED) are only known after invoke, and a separate
        delegate-free interpreter because XNNPACK can leave stale intermediate shapes.
        """
        it = self._make_interpreter(delegates=False, num_threads=self.num_threads)
        shape = [1, h, w, self.channels]
        if self._dynamic or self._signature[0] < 0:
            it.resize_tensor_input(self._in["index"], shape, strict=False)
        zero = _quantize(np.zeros(shape, np.float32), self.input_dtype, self.input_quantization)
        try:
            it.allocate_tensors()
            it.set_tensor(self._in["index"], zero)
            it.invoke()
        except RuntimeError as e:
            raise self._runtime_error(e, f"running it on an input of shape {tuple(shape)}") from e
        return it

    def _infer_scale(self) -> int:
        out_sig = [int(d) for d in self._out["shape_signature"]]
        if not self._dynamic and len(out_sig) == 4 and min(out_sig[1:3]) > 0:
            (h, w), (oh, ow) = self.fixed_size, out_sig[1:3]
        else:
            h, w = self.fixed_size or _PROBE_HW
            it = self._run_analysis(h, w)
            out_shape = it.get_tensor(self._out["index"]).shape
            if len(out_shape) != 4:
                raise ValueError(f"Model file '{self.model_path}' is not an image-to-image model: its output has "
                                 f"shape {tuple(out_shape)}, expected (1, H, W, C).")
            oh, ow = (int(d) for d in out_shape[1:3])
        if oh % h or ow % w or oh // h != ow // w:
            raise ValueError(
                f"Model file '{self.model_path}' is not an integer-scale SR model: "
                f"input (H, W)=({h}, {w}) gives output (H, W)=({oh}, {ow})."
            )
        return oh // h

    def _guess_precision(self) -> str:
        it = self._make_interpreter(delegates=False)
        ops = it._get_ops_details()
        act, wts = set(), set()
        for op in ops:
            if op["op_name"] in _WEIGHTED_OPS and len(op["operand_types"]) >= 2:
                act.add(np.dtype(op["operand_types"][0]))
                wts.add(np.dtype(op["operand_types"][1]))
        ints = {np.dtype(np.int8), np.dtype(np.uint8)}
        if act & ints:
            return "int8"
        if np.dtype(np.int16) in act:
            return "int16x8"
        if wts & ints:
            return "dynamic"
        f16 = any(np.dtype(t) == np.float16 for op in ops for t in op["operand_types"])
        if f16 or np.dtype(np.float16) in wts:
            return "float16"
        if not act and self.input_dtype in ints:
            return "int8"
        return "float32"


def note_unverified(runtime, file=None):
    """Prints the one-line note for a model file loaded without a SHA-256 to check (no-op when verified)."""
    import sys

    if not runtime.verified:
        print(f"note: '{runtime.model_path}' has no sidecar {os.path.basename(sidecar_path(runtime.model_path))} "
              "recording its SHA-256; loaded without verifying it.", file=file or sys.stderr)


def sidecar_path(model_path):
    """The record keras-sr convert writes beside a model: `model.tflite` -> `model.tflite.json`."""
    return os.fspath(model_path) + ".json"


def read_sidecar(model_path):
    """The record beside `model_path` as a dict, or None when there is none; a malformed one is named."""
    import json

    side = sidecar_path(model_path)
    if not os.path.isfile(side):
        return None
    try:
        with open(side, encoding="utf-8") as f:
            record = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"Sidecar '{side}' of model file '{model_path}' is not valid JSON: {e}") from e
    if not isinstance(record, dict):
        raise ValueError(f"Sidecar '{side}' of model file '{model_path}' must hold a JSON object. "
                         f"Received: {type(record).__name__}")
    return record


def _quantize(x: np.ndarray, dtype: np.dtype, quant) -> np.ndarray:
    """float -> the input tensor's dtype, with its (scale, zero_point) when it is an integer type."""
    if np.issubdtype(dtype, np.floating):
        return np.ascontiguousarray(x, dtype=dtype)
    scale, zero = quant
    if scale == 0:
        raise ValueError(f"Integer input tensor of dtype {dtype} has no quantization scale.")
    info = np.iinfo(dtype)
    q = np.round(np.asarray(x, np.float32) / np.float32(scale) + zero)
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, quant) -> np.ndarray:
    if np.issubdtype(y.dtype, np.floating):
        return y.astype(np.float32, copy=False)
    scale, zero = quant
    return ((y.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(np.float32)
