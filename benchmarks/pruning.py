"""Pruning `fd_irb` x4 toward the <1M-parameter goal, measured: one table against the dense
`fd_irb` and the edge model.

    python benchmarks/pruning.py        # writes benchmarks/results/pruning.{json,md}

The pruned models are made by the config files in `benchmarks/configs/fd_irb_x4_pruned/`
(`keras-sr optimize`: magnitude pruning or 2:4 sparsity, then pruning-preserving QAT;
`keras-sr convert --int8`). A row whose files are missing is reported as missing.

Per row:
- non-zero parameters of the float weights (`keras_sr.optimize.prune.sparsity_report`: every
  trainable weight, biases included) and non-zero int8 values in the `.tflite` file's
  Conv2D filters;
- the `.tflite` file's size, raw and gzip -9 (what sparsity buys on disk or over the air);
- int8 Y-PSNR on Set5 and BSD100 (shave = scale, `keras_sr.scoring`, as `keras-sr benchmark`);
- int8 latency for a 320x180 input, 2 threads, XNNPACK, the rows timed in turn in one loop
  so that they see the same machine.

Then whether any runtime here turns the zeros into speed:
- float32 latency of the dense float file against the pruned model converted with TFLite's
  sparse tensor encoding (`tf.lite.Optimize.EXPERIMENTAL_SPARSITY`), timed in turn;
- tfmot's own check for XNNPACK's sparse inference path
  (`PruneForLatencyOnXNNPack.ensure_model_supports_pruning`), run on the network.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from keras_sr.fileio import write_text  # noqa: E402
from keras_sr.paths import portable_path  # noqa: E402
from benchmarks.model_card import cpu_name  # noqa: E402
from benchmarks.pareto import measure_latency  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
PRETRAINED = REPO / "keras_sr" / "pretrained"
GOAL_NONZERO = 1_000_000

# (label, float weights counted for non-zeros, int8 file). The pruned rows' float weights are
# the stripped pruned model (`pruned.weights.h5`); QAT keeps its zeros (checked on the int8 file).
ROWS = (
    ("fd_irb_x4 (dense, shipped)", PRETRAINED / "fd_irb_x4.weights.h5", PRETRAINED / "fd_irb_x4_int8.tflite"),
    ("fd_irb_edge_x4 (shipped)", PRETRAINED / "fd_irb_edge_x4.weights.h5",
     PRETRAINED / "fd_irb_edge_x4_int8.tflite"),
    ("fd_irb_x4, magnitude 40 %", REPO / "runs/fd_irb_x4_prune40/pruned.weights.h5",
     REPO / "runs/fd_irb_x4_prune40/int8.tflite"),
    ("fd_irb_x4, 2:4", REPO / "runs/fd_irb_x4_prune2of4/pruned.weights.h5",
     REPO / "runs/fd_irb_x4_prune2of4/int8.tflite"),
)


def gzip_bytes(path):
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0))


def float_nonzero(weights):
    from keras_sr import checkpoints
    from keras_sr.optimize.prune import sparsity_report

    model, _ = checkpoints.load_model(weights)
    report = sparsity_report(model)
    return {"params": report["total"]["params"], "nonzero": report["total"]["nonzero"],
            "kernel_sparsity": report["kernels"]["sparsity"]}


def tflite_filter_nonzero(path):
    """(non-zero, total) int8 values in the file's CONV_2D filters, the fixed bicubic one included
    (no delegate, so that the constant tensors stay readable)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(path),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    # The recursive block's convs appear once per recursion, all reading one filter tensor.
    filter_indices = {op["inputs"][1] for op in interpreter._get_ops_details() if op["op_name"] == "CONV_2D"}
    nonzero = total = 0
    for index in sorted(filter_indices):
        if details[index]["dtype"] != np.int8:
            continue
        values = interpreter.get_tensor(index)
        nonzero += int(np.count_nonzero(values))
        total += int(values.size)
    return nonzero, total


def time_in_turn(paths, runs, warmup):
    """Median, p90 and min ms of each file on a 320x180 input, 2 threads, timed in turn."""
    times = measure_latency({str(p): p for p in paths}, rounds=runs, warmup=warmup)
    return [{"median": float(np.median(t)), "p90": float(np.percentile(t, 90)), "min": float(np.min(t))}
            for t in times.values()]


def scores(path, datasets, data_root):
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.scoring import batch_predictor, score_sets

    model = TFLiteSR(path, num_threads=2)
    result = score_sets(batch_predictor(model.predict), list(datasets), model.scale, data_root, None)
    return {name: {"psnr": d["psnr"], "ssim": d["ssim"], "images": d["count"]} for name, d in result.items()}


def sparse_encoding_check(dense_weights, pruned_weights, runs, warmup):
    """Float32 files of the dense and the pruned model, the pruned one with TFLite's sparse
    encoding; their latency in turn, and whether the encoding kept the zeros."""
    from keras_sr import checkpoints
    from keras_sr.convert import convert_model
    import tensorflow as tf

    scratch = Path(tempfile.mkdtemp(prefix="keras_sr_pruning_"))
    files = {}
    for label, weights, sparse in (("dense float32", dense_weights, False),
                                   ("pruned float32, sparse encoding", pruned_weights, True)):
        model, _ = checkpoints.load_model(weights)
        if sparse:
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
            data = converter.convert()
        else:
            data = convert_model(model, precision="float32")
        path = scratch / (label.split(",")[0].replace(" ", "_") + ".tflite")
        path.write_bytes(data)
        files[label] = path
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    ops = {}
    for label, path in files.items():
        interp = Interpreter(model_path=str(path),
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        names = [op["op_name"] for op in interp._get_ops_details()]
        ops[label] = {"DENSIFY": names.count("DENSIFY"), "CONV_2D": names.count("CONV_2D")}
    latency = time_in_turn(list(files.values()), runs, warmup)
    out = {label: {"bytes": p.stat().st_size, "gzip_bytes": gzip_bytes(p), "latency_ms": lat, **ops[label]}
           for (label, p), lat in zip(files.items(), latency)}
    for p in files.values():
        p.unlink()
    scratch.rmdir()
    return out


def xnnpack_sparse_policy_check(weights):
    """tfmot's check that a model has a subgraph XNNPACK's sparse inference can run; its message."""
    import tensorflow_model_optimization as tfmot

    from keras_sr import checkpoints

    model, _ = checkpoints.load_model(weights)
    try:
        tfmot.sparsity.keras.PruneForLatencyOnXNNPack().ensure_model_supports_pruning(model)
    except ValueError as error:
        return {"supported": False, "message": str(error).splitlines()[0]}
    return {"supported": True, "message": ""}


def table(result):
    lines = [
        f"fd_irb x4 pruned toward <1M parameters; {result['machine']}; {result['date']}.",
        "",
        f"`{result['command']}`",
        "",
        "Non-zero params: every trainable weight of the float weights, biases included (the pruned rows: the "
        "stripped pruned model, whose zeros pruning-preserving QAT keeps). int8 filter non-zeros: the int8 "
        "values of the file's CONV_2D filters. PSNR: Y, shave 4, int8 file. Latency: int8 file, 320x180 input, "
        "2 threads, XNNPACK; the rows timed in turn in one loop (median, p90 in brackets).",
        "",
        "| model | non-zero params | ≤ 1M | int8 filter non-zeros | .tflite | gzip -9 | Set5 | BSD100 | latency ms |",
        "|---|---:|:---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        if row.get("missing"):
            lines.append(f"| {row['label']} | missing: `{row['missing']}` | | | | | | | |")
            continue
        nz, tot = row["int8_filter_nonzero"], row["int8_filter_total"]
        s = row["scores"]
        lines.append(
            f"| {row['label']} | {row['nonzero']:,} of {row['params']:,} | "
            f"{'yes' if row['nonzero'] <= GOAL_NONZERO else 'no'} | {nz:,} ({1 - nz / tot:.1%} zero) | "
            f"{row['tflite_bytes'] / 1e6:.2f} MB | {row['gzip_bytes'] / 1e6:.2f} MB | "
            f"{s['Set5']['psnr']:.2f} | {s['BSD100']['psnr']:.2f} | "
            f"{row['latency_ms']['median']:.0f} ({row['latency_ms']['p90']:.0f}) |")
    sparse = result.get("sparse_encoding")
    if sparse:
        lines += ["", "Does a runtime here turn the zeros into speed? Float32 files, 320x180, 2 threads, XNNPACK, "
                  "timed in turn:", "",
                  "| file | bytes | gzip -9 | DENSIFY ops | latency ms |", "|---|---:|---:|---:|---:|"]
        for label, row in sparse.items():
            lines.append(f"| {label} | {row['bytes'] / 1e6:.2f} MB | {row['gzip_bytes'] / 1e6:.2f} MB | "
                         f"{row['DENSIFY']} | {row['latency_ms']['median']:.0f} ({row['latency_ms']['p90']:.0f}) |")
    policy = result.get("xnnpack_sparse_policy")
    if policy:
        verdict = "accepts" if policy["supported"] else "rejects"
        lines += ["", f"tfmot's `PruneForLatencyOnXNNPack` check {verdict} fd_irb for XNNPACK's sparse inference"
                  + (f": \"{policy['message']}\"" if policy["message"] else ".")]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed rounds (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each file first (default 2)")
    parser.add_argument("--data-root", default=None, help="where Set5 and BSD100 are (default $KERAS_SR_DATA)")
    parser.add_argument("--no-sparse-check", action="store_true", help="skip the float sparse-encoding check")
    parser.add_argument("--output", default=str(RESULTS / "pruning"), help="results stem (.json and .md)")
    args = parser.parse_args(argv)

    load = [os.getloadavg()[0]]
    rows, present = [], []
    for label, weights, tflite in ROWS:
        missing = next((p for p in (weights, tflite) if not p.exists()), None)
        if missing:
            rows.append({"label": label, "missing": portable_path(missing)})
            continue
        nz, tot = tflite_filter_nonzero(tflite)
        row = {"label": label, "weights": portable_path(weights), "tflite": portable_path(tflite),
               **float_nonzero(weights), "int8_filter_nonzero": nz, "int8_filter_total": tot,
               "tflite_bytes": tflite.stat().st_size, "gzip_bytes": gzip_bytes(tflite),
               "scores": scores(tflite, ("Set5", "BSD100"), args.data_root)}
        rows.append(row)
        present.append(row)
    for row, latency in zip(present, time_in_turn([REPO / r["tflite"] for r in present], args.runs, args.warmup)):
        row["latency_ms"] = latency
    result = {"machine": f"{cpu_name()}, {os.cpu_count()} cores",
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": "python benchmarks/pruning.py" + (" " + " ".join(argv) if argv else ""),
              "rows": rows}
    pruned = next((REPO / r["weights"] for r in present if "magnitude" in r["label"]), None)
    if not args.no_sparse_check and pruned is not None:
        result["sparse_encoding"] = sparse_encoding_check(ROWS[0][1], pruned, args.runs, args.warmup)
    result["xnnpack_sparse_policy"] = xnnpack_sparse_policy_check(ROWS[0][1])
    load.append(os.getloadavg()[0])
    result["load_average_1min"] = load
    stem = Path(args.output)
    write_text(stem.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    write_text(stem.with_suffix(".md"), table(result))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
