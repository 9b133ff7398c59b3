"""Training throughput (LR patches / s) of the seed networks on this CPU, next to PyTorch.

    python benchmarks/train_throughput.py [--models fd_irb split rdcab_recursive] [--steps 3]
        [--warmup 2] [--batch-size 16] [--patch-size 32] [--jit-compile]
        [--intra-op N] [--inter-op N] [--scale 4] [--mixed-precision {float16,bfloat16}]

One Keras train step (L1 loss, Adam, the compiled `model.train_function` that
`keras-sr train` runs through `fit`; with `--mixed-precision` the same mixed policy and
float32 output layer as `keras-sr train --mixed-precision`) on a fixed random batch, timed after `--warmup`
steps (the first traces the graph); median of `--steps` timed steps. The data pipeline
is not timed (it runs in parallel, prefetched). The PyTorch figures are from
../shared/reference/README.md section 10 (torch 2.13 CPU, 2 threads, same batch/patch).
Prints a Markdown table; the machine is shared, so compare runs made back to back.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# PyTorch train step (s) at batch 16, LR patch 32, x4, 2 threads (reference README section 10).
PYTORCH_STEP_S = {"fd_irb": 1.41, "split": 2.48, "rdcab_recursive": 3.6}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["fd_irb", "split", "rdcab_recursive"])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing)")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the train step")
    parser.add_argument("--mixed-precision", choices=("float16", "bfloat16"),
                        help="train under this mixed policy (bfloat16: AVX512-BF16/AMX CPUs)")
    parser.add_argument("--intra-op", type=int, help="tf intra-op threads (default: TF's choice)")
    parser.add_argument("--inter-op", type=int, help="tf inter-op threads (default: TF's choice)")
    args = parser.parse_args(argv)

    from keras_sr._keras import keras, tf
    from keras_sr import models
    from keras_sr.training import compile_for_training

    if args.intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)

    rng = tf.random.Generator.from_seed(0)
    b, p, s = args.batch_size, args.patch_size, args.scale
    lr = rng.uniform((b, p, p, 3))
    hr = rng.uniform((b, p * s, p * s, 3))
    rows = []
    for name in args.models:
        keras.backend.clear_session()
        if args.mixed_precision:
            keras.mixed_precision.set_global_policy(f"mixed_{args.mixed_precision}")
        model, _ = compile_for_training(models.build(name, s), 1e-4, "l1", args.mixed_precision or False,
                                        args.jit_compile)
        t = time.perf_counter()
        for _ in range(args.warmup):
            model.train_on_batch(lr, hr)
        warm = time.perf_counter() - t
        times, cpu = [], []
        for _ in range(args.steps):
            t, c = time.perf_counter(), time.process_time()
            model.train_on_batch(lr, hr)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        step, cpu_step = statistics.median(times), statistics.median(cpu)
        rows.append((name, model.count_params(), step, min(times), max(times), cpu_step))
        print(f"{name}: median {step:.2f} s/step over {args.steps} (min {min(times):.2f}, max {max(times):.2f}), "
              f"CPU {cpu_step:.2f} s/step; warm-up {warm:.1f} s", file=sys.stderr, flush=True)

    threads = f"intra {args.intra_op or 'default'}, inter {args.inter_op or 'default'}"
    print(f"\nTrain step, batch {b}, LR patch {p}x{p}, x{s}, L1 + Adam; {os.cpu_count()} CPUs, {threads}, "
          f"jit_compile={args.jit_compile}, policy {args.mixed_precision or 'float32'}, TF {tf.__version__}; load average {os.getloadavg()[0]:.1f} at the end\n")
    cores = os.cpu_count()
    print(f"CPU s/step is the process's CPU time; CPU / {cores} is the wall time the step would take with the "
          "cores to itself and perfect scaling (a lower bound, robust to other jobs on a shared machine).\n")
    print("| model | params | Keras wall s/step (min-max) | Keras CPU s/step | CPU / cores | Keras patches/s "
          "(wall; CPU / cores) | PyTorch s/step | PyTorch patches/s | Keras / PyTorch speed (wall; CPU / cores) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, params, step, lo, hi, cpu_step in rows:
        ideal = cpu_step / cores
        torch_step = PYTORCH_STEP_S.get(name)
        torch_cols = (f"{torch_step:.2f} | {b / torch_step:.1f} | {torch_step / step:.2f}x; {torch_step / ideal:.2f}x"
                      if torch_step and b == 16 and p == 32 and s == 4 else "- | - | -")
        print(f"| {name} | {params:,} | {step:.2f} ({lo:.2f}-{hi:.2f}) | {cpu_step:.2f} | {ideal:.2f} | "
              f"{b / step:.1f}; {b / ideal:.1f} | {torch_cols} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
