"""How much of a .tflite model TFLite's default XNNPACK delegate takes, and in how many parts.

A phone or a board runs fast only when XNNPACK takes the whole graph as one partition: every
op it leaves out runs on TFLite's reference CPU kernels, and every extra partition adds a copy
in and out of the delegate. `xnnpack_partitions` applies the delegate the way `keras-sr
upscale` does and reads the result from the interpreter: one DELEGATE node per partition, and
the ops left in the execution plan, found from the tensors that cross a partition's border.
No TensorFlow import (LiteRT only).

Example:
    >>> from keras_sr.lite.delegation import xnnpack_partitions
    >>> xnnpack_partitions("keras_sr/pretrained/fd_irb_edge_x4_int8.tflite")["partitions"]
    1
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["xnnpack_partitions", "check_one_partition"]

# A dynamic model is allocated at this LR size: delegation does not depend on it.
_PROBE_HW = (16, 16)


def _interpreter(model):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    source = {"model_path": str(model)} if isinstance(model, (str, Path)) else {"model_content": bytes(model)}
    interpreter = Interpreter(**source, num_threads=1, experimental_op_resolver_type=OpResolverType.AUTO)
    inp = interpreter.get_input_details()[0]
    if any(d < 0 for d in inp["shape_signature"]):
        shape = list(inp["shape_signature"])
        shape[1:3] = _PROBE_HW
        interpreter.resize_tensor_input(inp["index"], [max(1, d) for d in shape])
    interpreter.allocate_tensors()
    return interpreter


def xnnpack_partitions(model) -> dict:
    """Partitions of `model` (a path or flatbuffer bytes) under the default XNNPACK delegate.

    Returns:
        {"partitions": DELEGATE nodes, "ops": ops of the model, "delegated_ops": ops inside
         the partitions, "undelegated": sorted names of the op types left outside (with counts,
         e.g. ["LOCAL_RESPONSE_NORMALIZATION x1"]), "one_partition": partitions == 1 and
         nothing left outside}.
    """
    interpreter = _interpreter(model)
    nodes = interpreter._get_ops_details()
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    model_nodes = [n for n in nodes if n["op_name"] != "DELEGATE"]
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}
    graph_outputs = {d["index"] for d in interpreter.get_output_details()}
    producer = {int(t): n for n in model_nodes for t in n["outputs"]}

    # An op stays outside the delegate when its output feeds a partition or is a graph output
    # no partition produces; walk back from those tensors to the partitions' outputs.
    delegate_outputs = {int(t) for n in delegates for t in n["outputs"]}
    frontier = [int(t) for n in delegates for t in n["inputs"] if int(t) in producer]
    frontier += [t for t in graph_outputs if t not in delegate_outputs and t in producer]
    outside, seen = {}, set()  # node index -> node; tensors already walked
    while frontier:
        tensor = frontier.pop()
        if tensor in seen or tensor in delegate_outputs or tensor in graph_inputs:
            continue
        seen.add(tensor)
        node = producer.get(tensor)
        if node is None or node["index"] in outside:
            continue
        outside[node["index"]] = node
        frontier.extend(int(t) for t in node["inputs"] if int(t) >= 0)
    outside = list(outside.values())
    names = sorted({n["op_name"] for n in outside})
    undelegated = [f"{name} x{sum(n['op_name'] == name for n in outside)}" for name in names]
    return {
        "partitions": len(delegates),
        "ops": len(model_nodes),
        "delegated_ops": len(model_nodes) - len(outside),
        "undelegated": undelegated,
        "one_partition": len(delegates) == 1 and not outside,
    }


def check_one_partition(model, name="model") -> dict:
    """`xnnpack_partitions(model)`, or a ValueError naming what breaks the single partition."""
    report = xnnpack_partitions(model)
    if not report["one_partition"]:
        outside = ", ".join(report["undelegated"]) or "none"
        raise ValueError(
            f"{name}: XNNPACK must run the whole graph as one partition; it made {report['partitions']} "
            f"partition(s) and left {report['ops'] - report['delegated_ops']} of {report['ops']} ops on the "
            f"reference kernels (op types outside: {outside}). Replace those ops with ones XNNPACK delegates.")
    return report
