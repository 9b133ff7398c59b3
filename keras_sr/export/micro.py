"""The `--target micro` part of a bundle: TFLM checks, C array, op resolver, README.

TF-free. The static checks read the flatbuffer; the dynamic ones run TFLM's own
interpreter in a child process (keras_sr.lite.tflm).
"""
from __future__ import annotations

import numpy as np

__all__ = ["TFLM_OPS", "check_ops", "c_array_files", "op_resolver_header", "MAX_CONCAT_INPUTS"]

#: Builtin op -> the MicroMutableOpResolver method that registers TFLM's kernel for it.
TFLM_OPS = {
    "ABS": "AddAbs", "ADD": "AddAdd", "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul",
    "CAST": "AddCast", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "DEPTH_TO_SPACE": "AddDepthToSpace", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize",
    "DIV": "AddDiv", "EXP": "AddExp", "FULLY_CONNECTED": "AddFullyConnected", "HARD_SWISH": "AddHardSwish",
    "LEAKY_RELU": "AddLeakyRelu", "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum", "MEAN": "AddMean", "MINIMUM": "AddMinimum", "MIRROR_PAD": "AddMirrorPad",
    "MUL": "AddMul", "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize",
    "REDUCE_MAX": "AddReduceMax", "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear", "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor",
    "RSQRT": "AddRsqrt", "SLICE": "AddSlice", "SOFTMAX": "AddSoftmax", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQRT": "AddSqrt", "SQUARE": "AddSquare",
    "SQUARED_DIFFERENCE": "AddSquaredDifference", "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub",
    "SUM": "AddSum", "TANH": "AddTanh", "TRANSPOSE": "AddTranspose", "TRANSPOSE_CONV": "AddTransposeConv",
}

#: TFLM's CONCATENATION kernel takes at most this many inputs (kMaxInputNum).
MAX_CONCAT_INPUTS = 10

#: Ops TFLM has only as float kernels.
FLOAT_ONLY = ("SQRT",)


def _model(model_bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema, schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)


def check_ops(model_bytes) -> list[str]:
    """The static TFLM checks; returns the ops (sorted), raises ValueError naming the first op that fails.

    Checks: every op has a TFLM kernel; no CONCATENATION has more than 10 inputs; no
    float-only op (SQRT) runs on int8 tensors.
    """
    schema, model = _model(model_bytes)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    int8 = {schema.TensorType.INT8, schema.TensorType.UINT8, schema.TensorType.INT16}
    codes = [names.get(max(int(c.builtinCode), int(c.deprecatedBuiltinCode)), "?") for c in model.operatorCodes]
    graph = model.subgraphs[0]
    for op in graph.operators:
        name = codes[op.opcodeIndex]
        if name not in TFLM_OPS:
            raise ValueError(f"op {name} has no TensorFlow Lite Micro kernel: the model cannot run on a "
                             f"microcontroller (TFLM ops: {', '.join(sorted(TFLM_OPS))})")
        inputs = [i for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        if name == "CONCATENATION" and len(inputs) > MAX_CONCAT_INPUTS:
            raise ValueError(f"op CONCATENATION has {len(inputs)} inputs; TensorFlow Lite Micro takes at most "
                             f"{MAX_CONCAT_INPUTS} (kMaxInputNum)")
        if name in FLOAT_ONLY and any(graph.tensors[i].type in int8 for i in inputs):
            raise ValueError(f"op {name} runs on int8 tensors, and TensorFlow Lite Micro has only a float {name} "
                             "kernel (an int8 model fails at invoke with 'INT8 != FLOAT32'); RSQRT has an int8 "
                             "kernel: compute std as var * rsqrt(var + eps)")
    return sorted(set(codes[op.opcodeIndex] for op in graph.operators))


def is_float_model(model_bytes) -> bool:
    """True when the model's weighted ops (convolutions) carry float weights."""
    schema, model = _model(model_bytes)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [names.get(max(int(c.builtinCode), int(c.deprecatedBuiltinCode)), "?") for c in model.operatorCodes]
    graph = model.subgraphs[0]
    weighted = [op for op in graph.operators
                if codes[op.opcodeIndex] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")]
    floats = (schema.TensorType.FLOAT32, schema.TensorType.FLOAT16)
    return any(graph.tensors[op.inputs[0]].type in floats for op in weighted) or not weighted


def c_array_files(model_bytes, name="g_model_data", header="model_data.h") -> tuple[str, str]:
    """(model_data.cc, model_data.h) text: a 16-byte-aligned `const unsigned char` array and its length."""
    data = np.frombuffer(bytes(model_bytes), dtype=np.uint8)
    rows = []
    for start in range(0, data.size, 12):
        rows.append("  " + ", ".join(f"0x{b:02x}" for b in data[start:start + 12]) + ",")
    guard = header.upper().replace(".", "_").replace("-", "_") + "_"
    h = (f"// The model flatbuffer as a C array (written by `keras-sr export --target micro`).\n"
         f"#ifndef {guard}\n#define {guard}\n\n"
         f"extern const unsigned char {name}[];\nextern const unsigned int {name}_len;\n\n#endif  // {guard}\n")
    cc = (f"// The model flatbuffer ({data.size} bytes), 16-byte aligned as TFLM requires, like `xxd -i` writes it.\n"
          f'#include "{header}"\n\n'
          f"alignas(16) const unsigned char {name}[] = {{\n" + "\n".join(rows) + "\n};\n"
          f"const unsigned int {name}_len = {data.size};\n")
    return cc, h


def op_resolver_header(ops) -> str:
    """op_resolver.h: a MicroMutableOpResolver with exactly one Add...() call per op of the model."""
    calls = [TFLM_OPS[op] for op in ops]
    lines = ["// The TFLM kernels this model needs, and no others (written by `keras-sr export --target micro`).",
             "#ifndef OP_RESOLVER_H_", "#define OP_RESOLVER_H_", "",
             '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"', "",
             f"constexpr int kNumOps = {len(calls)};",
             "using ModelOpResolver = tflite::MicroMutableOpResolver<kNumOps>;", "",
             "// Registers the model's ops; returns kTfLiteOk or the first failing status.",
             "inline TfLiteStatus RegisterModelOps(ModelOpResolver& resolver) {"]
    for call in calls:
        lines.append(f"  if (resolver.{call}() != kTfLiteOk) return kTfLiteError;")
    lines += ["  return kTfLiteOk;", "}", "", "#endif  // OP_RESOLVER_H_", ""]
    return "\n".join(lines)
