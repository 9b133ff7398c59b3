"""Training step time of Keras against PyTorch on the same network and weights, measured in one run.

    python benchmarks/train_throughput.py [--models fd_irb fd_irb_edge] [--precisions float32 bfloat16]
        [--steps 16] [--warmup 2] [--batch-size 16] [--patch-size 32] [--scale 4] [--threads 2]
        [--jit-compile] [--intra-op N] [--inter-op N] [--keras-call {fit,train_on_batch}] [--keras-only]
        [--output PREFIX]

For each model and precision, one Keras train step (L1 loss, Adam, the compiled train function
that `keras-sr train` runs through `fit`, called on one persistent tf.data iterator as `fit` does:
`--keras-call train_on_batch` makes a new iterator per step, and such steps can stall, see
docs/speed.md; bfloat16 = the `mixed_bfloat16` policy and float32
output layer of `keras-sr train --mixed-precision bfloat16`) and the same step of the PyTorch
twin (benchmarks/torch_twin.py; bfloat16 = `torch.autocast("cpu", torch.bfloat16)`), in NCHW
and in channels_last, on one fixed random batch and the same starting weights (the shipped
pretrained ones where the model has them). After `--warmup` untimed steps of each, `--steps`
rounds run Keras, PyTorch NCHW, PyTorch channels_last in turn, so all three see the same
machine load. PyTorch runs in a spawned child process (no TensorFlow in it), so each side's
CPU time per step (time.process_time, all threads of its process) is its own.

The ratio is PyTorch median s/step (the faster layout) / Keras median s/step: > 1 means Keras
is faster. Writes PREFIX.json (every step: wall, CPU, 1-min load average; for Keras also CPU and run-queue
seconds per thread) and PREFIX.md
(default benchmarks/results/train_throughput). The machine may be shared: compare ratios
within one run, and read the load averages printed beside them.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LAYOUTS = ("nchw", "channels_last")
TWIN_MODELS = ("fd_irb", "fd_irb_edge", "fd_irb_micro")  # the registry names built by build_fd_irb


def cpu_model():
    """'AMD EPYC (avx512_bf16, avx512_vnni)': the model name and the flags that decide bf16/int8 speed."""
    name, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    wanted = [f for f in ("avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]
    return f"{name} ({', '.join(wanted) or 'no AVX-512'})"


def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary(steps):
    wall = [s["wall"] for s in steps]
    cpu = [s["cpu"] for s in steps]
    return dict(median=statistics.median(wall), p90=p90(wall), min=min(wall), max=max(wall),
                cpu_median=statistics.median(cpu), cpu_per_wall=statistics.median(c / w for c, w in zip(cpu, wall)))


def add_step_arguments(parser):
    """The flags that choose the benchmark's train step: networks, precisions, scale and batch."""
    parser.add_argument("--models", nargs="+", default=["fd_irb", "fd_irb_edge"])
    parser.add_argument("--precisions", nargs="+", choices=("float32", "bfloat16"), default=["float32", "bfloat16"])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--patch-size", type=int, default=32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_step_arguments(parser)
    parser.add_argument("--steps", type=int, default=16, help="timed rounds (one step of each side per round)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of each side first (tracing)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads, and Keras' intra-op default")
    parser.add_argument("--jit-compile", action="store_true", help="XLA-compile the Keras train step")
    parser.add_argument("--intra-op", type=int, help="tf intra-op threads (default: --threads)")
    parser.add_argument("--inter-op", type=int, help="tf inter-op threads (default: TF's choice)")
    parser.add_argument("--mixed-precision", choices=("bfloat16",), help="the same as --precisions bfloat16")
    parser.add_argument("--keras-call", choices=("fit", "train_on_batch"), default="fit",
                        help="fit: the compiled train_function on one persistent iterator, as fit runs it; "
                             "train_on_batch: a new single-batch iterator per step (its steps can stall, see docs/speed.md)")
    parser.add_argument("--keras-only", action="store_true",
                        help="time Keras alone (no PyTorch, no ratios; any registered model)")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "train_throughput"),
                        help="writes OUTPUT.json and OUTPUT.md")
    args = parser.parse_args(argv)
    if args.mixed_precision:
        args.precisions = [args.mixed_precision]
    no_twin = sorted(set(args.models) - set(TWIN_MODELS))
    if no_twin and not args.keras_only:
        parser.error(f"the PyTorch twin covers {TWIN_MODELS}; time {no_twin} with --keras-only")
    intra = args.intra_op or args.threads

    worker = None
    if not args.keras_only:
        from benchmarks import torch_twin  # imports torch; its ops only ever run in the worker process

        worker = torch_twin.Worker(args.threads)
    import numpy as np

    from keras_sr._keras import keras, tf

    from importlib.metadata import version

    def run_info():
        return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu=cpu_model(), cpus=os.cpu_count(),
                    command=" ".join(["python", "benchmarks/train_throughput.py"]
                                     + list(argv if argv is not None else sys.argv[1:])),
                    tensorflow=tf.__version__, torch=None if args.keras_only else version("torch"),
                    batch_size=b, patch_size=p, scale=s, torch_threads=None if args.keras_only else args.threads,
                    intra_op=intra, inter_op=args.inter_op or "TF default", jit_compile=args.jit_compile,
                    keras_call=args.keras_call,
                    env={k: v for k, v in os.environ.items()
                         if k.startswith(("TF_", "OMP_", "ONEDNN_", "DNNL_", "KMP_", "GOMP_"))
                         and k not in ("TF_CLI_CONFIG_FILE", "TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")},
                    load_at_end=os.getloadavg())

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)

    b, p, s = args.batch_size, args.patch_size, args.scale
    lr, hr = benchmark_batch(b, p, s)
    lr_t, hr_t = tf.constant(lr), tf.constant(hr)
    learning_rate = 1e-4
    records = []

    def log(message):
        print(message, file=sys.stderr, flush=True)

    from keras_sr.paths import portable_path

    try:
        for name in args.models:
            config, weights, base = starting_model(name, s)
            base_weights = base.get_weights()
            state = agreement = None
            if worker:
                keys = torch_twin.FdIrbTwin(s, **config).state_dict().keys()
                state = torch_twin.twin_state_dict(base, keys)
            for precision in args.precisions:
                mixed = precision if precision != "float32" else False
                keras.backend.clear_session()
                model, net, run_step = keras_train_step(name, s, config, base_weights, precision, learning_rate,
                                                        args.jit_compile, args.keras_call, lr_t, hr_t)
                keras_threads = []
                sides = {"keras": lambda: _keras_step(run_step, keras_threads)}
                if worker:
                    for layout in LAYOUTS:
                        key = (name, precision, layout)
                        worker.call("setup", key, dict(scale=s, config=config, state=state, lr=lr, hr=hr,
                                                       bf16=bool(mixed), channels_last=layout == "channels_last",
                                                       learning_rate=learning_rate))
                        sides[f"torch_{layout}"] = (lambda k=key: _torch_step(worker, k))
                    if agreement is None:  # float32 forward on the batch, before any step changed a weight
                        out = worker.call("forward", (name, precision, "nchw"), lr)
                        agreement = float(np.abs(out - base(lr).numpy()).max())
                        log(f"{name}: twin forward vs Keras forward, float32, max abs diff {agreement:.2e}")
                started = time.perf_counter()
                for side, step in sides.items():
                    for _ in range(args.warmup):
                        step()
                log(f"{name} {precision}: warm-up {time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.1f}")
                steps = {side: [] for side in sides}
                for round_ in range(args.steps):
                    for side, step in sides.items():
                        load = os.getloadavg()[0]
                        wall, cpu = step()
                        steps[side].append(dict(wall=wall, cpu=cpu, load=load))
                    log(f"  round {round_ + 1}: " + ", ".join(
                        f"{side} {v[-1]['wall']:.2f} s (CPU {v[-1]['cpu']:.2f})" for side, v in steps.items())
                        + f"; Keras threads [name, CPU s, wait s] {keras_threads[-1]['threads'][:4]}, "
                          f"runnable {keras_threads[-1]['runnable']}"
                        + f"; load {load:.1f}")
                for step, busy in zip(steps["keras"], keras_threads[-args.steps:]):
                    step.update(busy)
                if worker:
                    for layout in LAYOUTS:
                        worker.call("drop", (name, precision, layout))
                record = dict(model=name, precision=precision, params=base.count_params(),
                              weights=weights and portable_path(weights),
                              agreement_float32=agreement, steps=steps,
                              summary={side: summary(v) for side, v in steps.items()},
                              # median over Keras steps of (thread seconds on a CPU or waiting for one) / wall
                              keras_runnable=statistics.median(x["runnable"] for x in steps["keras"])
                              if all("runnable" in x for x in steps["keras"]) else None,
                              load=[statistics.median(x["load"] for v in steps.values() for x in v),
                                    max(x["load"] for v in steps.values() for x in v)])
                if worker:
                    sm = record["summary"]
                    baseline = min(LAYOUTS, key=lambda lay: sm[f"torch_{lay}"]["median"])
                    record["torch_baseline"] = baseline
                    record["ratio"] = sm[f"torch_{baseline}"]["median"] / sm["keras"]["median"]
                    record["ratio_cpu"] = sm[f"torch_{baseline}"]["cpu_median"] / sm["keras"]["cpu_median"]
                records.append(record)
                del model, net
                _write(args, run_info(), records)  # after every configuration: a cut-short run keeps what it measured
    finally:
        if worker:
            worker.close()

    print(_write(args, run_info(), records))
    return 0


def benchmark_batch(batch_size, patch_size, scale, seed=0):
    """The fixed random batch: float32 arrays LR (b, p, p, 3) and HR (b, p*s, p*s, 3), uniform in [0, 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lr = rng.uniform(size=(batch_size, patch_size, patch_size, 3)).astype(np.float32)
    hr = rng.uniform(size=(batch_size, patch_size * scale, patch_size * scale, 3)).astype(np.float32)
    return lr, hr


def starting_model(name, scale):
    """(config, shipped weights path or None, float32 model holding the starting weights).

    The shipped pretrained weights where the model has them, else a seeded (0) initialisation.
    """
    from keras_sr import models, pretrained
    from keras_sr._keras import keras

    config = models.resolve_config(name, scale)
    try:
        weights = str(pretrained.weights_path(name, scale))
    except Exception:  # noqa: BLE001 - no shipped weights for this model/scale: seeded init
        weights = None
    keras.utils.set_random_seed(0)
    return config, weights, models.build(name, scale, weights=weights)


def keras_train_step(name, scale, config, base_weights, precision, learning_rate, jit_compile, keras_call,
                     lr_t, hr_t):
    """(compiled model, net, run_step): one L1 + Adam train step of `name` as `keras-sr train` runs it.

    `precision` "float32" or "bfloat16" (the mixed_bfloat16 policy with a float32 output layer);
    `keras_call` "fit" (the compiled train_function on one persistent tf.data iterator, as `fit`
    runs it) or "train_on_batch" (a new single-batch iterator per call). `run_step()` runs one
    step and returns when it is done.
    """
    from keras_sr import models
    from keras_sr._keras import keras, tf
    from keras_sr.training import compile_for_training

    mixed = precision if precision != "float32" else False
    keras.mixed_precision.set_global_policy(f"mixed_{precision}" if mixed else "float32")
    try:
        net = models.build(name, scale, **config)
        net.set_weights(base_weights)
        model, _ = compile_for_training(net, learning_rate, "l1", mixed, jit_compile)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if keras_call == "fit":  # what fit does: one iterator for many steps, the compiled train_function
        iterator = iter(tf.data.Dataset.from_tensors((lr_t, hr_t)).repeat())
        train_function = model.make_train_function()
        run_step = lambda: train_function(iterator)["loss"].numpy()  # noqa: E731 - .numpy() waits for it
    else:  # a new single-batch tf.data iterator per call
        run_step = lambda: model.train_on_batch(lr_t, hr_t)  # noqa: E731
    return model, net, run_step


def _write(args, run, records):
    text = report(run, records)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(dict(run=run, results=records), indent=1) + "\n")
    out.with_suffix(".md").write_text(text)
    return text


def thread_cpu():
    """{thread id: (name, seconds on a CPU, seconds runnable but waiting for one)} of this process's
    threads, from Linux /proc/<pid>/task/*/schedstat ({} elsewhere)."""
    out = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            on_cpu, waiting = Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        out[tid] = (name, int(on_cpu) / 1e9, int(waiting) / 1e9)
    return out


def _keras_step(run_step, threads=None):
    """Wall and CPU seconds of one step. With `threads` (a list), appends the step's per-thread
    [name, CPU s, run-queue wait s] (busiest first) and `runnable`: the seconds threads were on a
    CPU or waiting for one, over the wall time = how many cores the process wanted on average
    (about 1 when its work is serialised, about 2 when it runs two threads at once), which other
    jobs on the machine do not change (they only move time from "on a CPU" to "waiting")."""
    before = thread_cpu() if threads is not None else None
    wall, cpu = time.perf_counter(), time.process_time()
    run_step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if threads is not None:
        after = thread_cpu()
        busy = []
        for tid, (name, on_cpu, waiting) in after.items():
            _, on0, wait0 = before.get(tid, (name, 0.0, 0.0))
            busy.append((on_cpu - on0, waiting - wait0, name))
        busy.sort(reverse=True)
        threads.append(dict(threads=[[name, round(c, 2), round(w, 2)] for c, w, name in busy if c + w >= 0.02],
                            runnable=round(sum(c + w for c, w, _ in busy) / wall, 2)))
    return wall, cpu


def _torch_step(worker, key):
    wall, cpu, _ = worker.call("step", key)
    return wall, cpu


def report(run, records):
    """The Markdown that PREFIX.md holds."""
    lines = [f"Train step, batch {run['batch_size']}, LR patch {run['patch_size']}, x{run['scale']}, L1 + Adam; "
             f"{run['cpu']}, {run['cpus']} CPUs; TF {run['tensorflow']} (Keras step as {run['keras_call']} runs it, "
             f"intra-op {run['intra_op']}, inter-op {run['inter_op']}, jit_compile={run['jit_compile']})"
             + (f", torch {run['torch']} ({run['torch_threads']} threads, own process)" if run["torch"] else "")
             + f"; {run['date']}.", "", f"`{run['command']}`" + (f" with {run['env']}" if run["env"] else ""), ""]
    if run["torch"]:
        lines += ["Ratio = PyTorch median s/step (faster layout) / Keras median s/step: > 1 means Keras is faster. "
                  "Seconds are wall time, median (p90) over the interleaved steps; CPU = the process's CPU seconds "
                  "per step (median); load = 1-minute load average during the steps (median, max).", "",
                  "| model | precision | Keras s/step | PyTorch NCHW s/step | PyTorch channels_last s/step | "
                  "**ratio** | ratio of CPU s | Keras CPU s | PyTorch CPU s (baseline) | load | twin vs Keras |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in records:
            sm, base = r["summary"], r["torch_baseline"]
            cell = lambda side: f"{sm[side]['median']:.2f} ({sm[side]['p90']:.2f})"  # noqa: E731
            lines.append(
                f"| {r['model']} | {r['precision']} | {cell('keras')} | {cell('torch_nchw')} | "
                f"{cell('torch_channels_last')} | **{r['ratio']:.2f}** | {r['ratio_cpu']:.2f} | "
                f"{sm['keras']['cpu_median']:.2f} | {sm['torch_' + base]['cpu_median']:.2f} ({base}) | "
                f"{r['load'][0]:.1f}, {r['load'][1]:.1f} | {r['agreement_float32']:.1e} |")
    else:
        lines += ["Runnable threads: per step, the seconds the process's threads spent on a CPU or waiting in the "
                  "run queue for one, over the wall time (median): ~1 = the work ran one thread at a time, ~2 = two "
                  "at once; other jobs on the machine do not change it.", "",
                  "| model | precision | Keras s/step median (p90) | min-max | CPU s/step | CPU/wall | runnable threads "
                  "| load |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in records:
            k, runnable = r["summary"]["keras"], r.get("keras_runnable")
            lines.append(f"| {r['model']} | {r['precision']} | {k['median']:.2f} ({k['p90']:.2f}) | "
                         f"{k['min']:.2f}-{k['max']:.2f} | {k['cpu_median']:.2f} | {k['cpu_per_wall']:.2f} | "
                         f"{'-' if runnable is None else f'{runnable:.2f}'} | "
                         f"{r['load'][0]:.1f}, {r['load'][1]:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
