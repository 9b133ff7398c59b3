"""Fix the input shape of a .tflite file in its flatbuffer, without TensorFlow.

A model converted with a dynamic (1, None, None, C) input stores placeholder 1x1
shapes for its tensors; TFLite Micro and LiteRT.js need real ones. `freeze_tflite`
runs the model once in ai-edge-litert at the chosen size with the builtin kernels
only (with XNNPACK, intermediate tensors keep their placeholder shapes), reads
every tensor's shape and writes it (and `shape_signature`) into the flatbuffer.
Everything else, weights and quantization parameters included, is copied as is,
so a QAT int8 file stays the same model.
"""
from __future__ import annotations

import flatbuffers
import numpy as np

from keras_sr.validation import check_int

__all__ = ["freeze_tflite", "tflite_ops", "tensor_io"]


def _schema():
    # ai-edge-litert ships the TFLite schema with the flatbuffers object API (ModelT).
    from ai_edge_litert import schema_py_generated as schema

    return schema


def _builtin_names(schema):
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def tflite_ops(model_bytes) -> list[str]:
    """The builtin op names a .tflite flatbuffer uses, sorted, each once (custom ops as CUSTOM:name)."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    names = _builtin_names(schema)
    ops = set()
    for code in model.operatorCodes:
        op = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = names.get(op, f"BUILTIN_{op}")
        if name == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            name = f"CUSTOM:{custom}"
        ops.add(name)
    return sorted(ops)


def _interpreter(model_bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(model_content=bytes(model_bytes),
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def freeze_tflite(model_bytes, tile) -> bytes:
    """Returns `model_bytes` with its input fixed to (1, H, W, C), `tile` = (H, W) LR pixels.

    Raises:
        ValueError: the file is not a single-input NHWC image model, or does not run at that size.
    """
    h, w = (check_int(t, "tile", 1) for t in tile)
    it = _interpreter(model_bytes)
    inputs = it.get_input_details()
    if len(inputs) != 1 or len(inputs[0]["shape"]) != 4:
        raise ValueError(f"the model must have one NHWC image input. Received inputs: "
                         f"{[tuple(d['shape_signature']) for d in inputs]}")
    sig = [int(d) for d in inputs[0]["shape_signature"]]
    if sig[1] > 0 and sig[2] > 0:
        if (sig[1], sig[2]) != (h, w):
            raise ValueError(f"the model has a fixed input of {sig[2]}x{sig[1]} pixels and cannot be frozen at "
                             f"tile={w}x{h}; give a dynamic-shape .tflite or tile={sig[2]}x{sig[1]}")
        return bytes(model_bytes)
    try:
        it.resize_tensor_input(inputs[0]["index"], [1, h, w, sig[3]])
        it.allocate_tensors()
        it.invoke()  # zeros: the run only has to propagate shapes
    except RuntimeError as error:
        raise ValueError(f"the model does not run at tile={w}x{h}: {error}") from error
    shapes = {d["index"]: [int(v) for v in d["shape"]] for d in it.get_tensor_details()}

    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    if len(model.subgraphs) != 1:
        raise ValueError(f"the model must have one subgraph. Received: {len(model.subgraphs)}")
    for index, tensor in enumerate(model.subgraphs[0].tensors):
        shape = shapes.get(index)
        if shape is None:
            continue
        if tensor.shape is not None and len(tensor.shape) != len(shape):
            raise ValueError(f"tensor {index} ({tensor.name!r}) changed rank when run at tile={w}x{h}: "
                             f"{list(tensor.shape)} -> {shape}")
        tensor.shape = np.array(shape, dtype=np.int32)
        if tensor.shapeSignature is not None:
            tensor.shapeSignature = np.array(shape, dtype=np.int32)
    builder = flatbuffers.Builder(len(model_bytes) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tensor_io(model_bytes) -> dict:
    """Input and output tensor facts of a .tflite: shape, dtype and (scale, zero_point) each."""
    it = _interpreter(model_bytes)

    def facts(d):
        scale, zero = d["quantization"]
        return {"name": d["name"], "shape": [int(v) for v in d["shape_signature"]],
                "dtype": np.dtype(d["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}

    return {"input": facts(it.get_input_details()[0]), "output": facts(it.get_output_details()[0])}
