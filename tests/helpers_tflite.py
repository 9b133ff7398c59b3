"""Small int8 TFLite helpers for the optimization tests.

`convert_int8` hands the converter a `tf.Module` that holds only the model's
variables as the trackable object, not the Keras model: the converter writes a
SavedModel of that object, and for a Keras QAT model that means tracing every
wrapper's call (~8 s for a tiny model) while the holder takes ~2 s. The .tflite
bytes are identical (checked for a tiny split x4 QAT model). Passing no trackable
object at all (~0.7 s) takes TF's deprecated frozen-graph path.
"""
import numpy as np

from keras_sr._keras import tf

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # pragma: no cover - ai-edge-litert is a base dependency
    Interpreter = tf.lite.Interpreter

_TF_TYPES = {np.int8: tf.int8, np.uint8: tf.uint8}


def convert_int8(model, calibration, input_hw, io=np.int8):
    """Full-integer TFLite bytes of `model` for a fixed (1, H, W, 3) input.

    Args:
        model: float or QAT Keras model.
        calibration: list of float32 arrays (1, H, W, 3) in [0, 1] (representative data).
        input_hw: (H, W) of the input.
        io: np.int8 or np.uint8 input/output tensors.
    """
    height, width = input_hw

    @tf.function(input_signature=[tf.TensorSpec((1, height, width, 3), tf.float32)])
    def serve(lr):
        return model(lr, training=False)

    holder = tf.Module()
    holder.model_variables = list(model.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], holder)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.asarray(c, np.float32)] for c in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = _TF_TYPES[io]
    converter.inference_output_type = _TF_TYPES[io]
    return bytes(converter.convert())


def interpreter(content):
    it = Interpreter(model_content=content)
    it.allocate_tensors()
    return it


def run_int8(content, x):
    """Runs a (1, H, W, 3) float input through an int8/uint8-I/O model.

    Returns (y, x_used, out_scale): the dequantized output, the dequantized input
    actually fed (compare the Keras model on it, not on `x`), the output scale.
    """
    it = interpreter(content)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    info = np.iinfo(inp["dtype"])
    q = np.clip(np.round(x / in_scale + in_zero), info.min, info.max).astype(inp["dtype"])
    it.set_tensor(inp["index"], q)
    it.invoke()
    y = (it.get_tensor(out["index"]).astype(np.float32) - out_zero) * out_scale
    x_used = (q.astype(np.float32) - in_zero) * in_scale
    return y, x_used, out_scale


def op_table(content):
    """[(op name, [input dtypes], [output dtypes])] of every op (dtypes as numpy names)."""
    it = interpreter(content)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    table = []
    for op in it._get_ops_details():
        ins = [dtypes[i] for i in op["inputs"] if i >= 0]
        outs = [dtypes[i] for i in op["outputs"] if i >= 0]
        table.append((op["op_name"], ins, outs))
    return table
