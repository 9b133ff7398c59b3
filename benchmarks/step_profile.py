"""Per-op profile of one Keras training step, and the same step with XLA (issue 18).

    python benchmarks/step_profile.py [--models fd_irb fd_irb_edge] [--precisions float32 bfloat16]
        [--steps 3] [--warmup 2] [--top 12] [--no-xla] [--batch-size 16] [--patch-size 32] [--scale 4]
        [--output PREFIX]

For each model and precision, the train step of benchmarks/train_throughput.py (the shipped
weights, batch 16 of 32 px LR patches, x4, L1 + Adam, the compiled `train_function` on one
persistent iterator as `fit` runs it; bfloat16 = `keras-sr train --mixed-precision bfloat16`):

1. `--warmup` untimed steps, then `--steps` timed rounds, each one step without XLA and (unless
   `--no-xla`) one step of a second copy compiled with `jit_compile=True`, so both see the same
   machine load. Wall and CPU seconds per step, outside the profiler.
2. `--steps` more steps without XLA under `tf.profiler.experimental.start/stop` into a temporary
   folder; the host plane of the `*.xplane.pb` it writes is read with TensorFlow's own protobuf
   classes. TF op events are named "op name:op type" (`_MklNative*` types are TF's oneDNN kernels);
   an op's time is its self time (its event's duration minus the op events nested in it on the same
   thread) summed over all threads, so ops running at once on two threads both count, and on a
   busy machine time an op's thread waited for a core counts too. Shares of the op time are the
   thing to read; absolute milliseconds are inflated by the profiler and by other jobs.

Writes PREFIX.json (every step, every op type) and PREFIX.md (the top `--top` op types per model
and precision, the time by phase, the XLA comparison); default benchmarks/results/step_profile.
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train_throughput import (  # noqa: E402 - after the path set-up, as a script
    _keras_step, add_step_arguments, benchmark_batch, cpu_model, keras_train_step, starting_model, summary)

#: "name:Type" of a TF op event; TraceMe names ("ExecutorState::Process", "EagerLocalExecute: f") do not match.
OP_EVENT = re.compile(r"^(?P<name>[^:]+):(?P<type>[A-Za-z_][A-Za-z0-9_]*)$")
PHASES = ("forward", "backward", "optimizer", "other")


def xplane_pb2():
    """TensorFlow's XPlane protobuf module (its import path moved between TF releases)."""
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2 as module
    except ImportError:  # older or newer layouts
        try:
            from tsl.profiler.protobuf import xplane_pb2 as module
        except ImportError:
            from tensorflow.core.profiler.protobuf import xplane_pb2 as module
    return module


def read_xspaces(logdir):
    """The XSpace messages of every `*.xplane.pb` under `logdir`."""
    module = xplane_pb2()
    spaces = []
    for path in sorted(Path(logdir).rglob("*.xplane.pb")):
        space = module.XSpace()
        space.ParseFromString(path.read_bytes())
        spaces.append(space)
    if not spaces:
        raise FileNotFoundError(f"No *.xplane.pb under the profiler folder '{logdir}'.")
    return spaces


def phase_of(op_name):
    """forward / backward / optimizer / other, from the op's name scope."""
    first = op_name.split("/", 1)[0]
    if op_name.startswith("gradient_tape/") or re.fullmatch(r"AddN(_\d+)?", first):
        return "backward"  # AddN_k: sums of the gradients of a tensor used several times (grappler may turn
        # one into a TemporaryVariable + Assign + AssignAdd chain, "AddN_k/tmp_var_accum_j")
    if first == "Adam" or first.startswith(("Adam_", "LossScaleOptimizer")):
        return "optimizer"
    if "/" in op_name:  # the model's layers and the loss
        return "forward"
    return "other"  # unscoped: variable reads, the step counter and metric updates, the iterator


def op_events(space):
    """(op name, op type, self time in ps) of every TF op event on the host CPU plane of `space`.

    Self time = the event's duration minus the durations of the op events directly nested in it
    on the same line (thread).
    """
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            events = []
            for event in line.events:
                match = OP_EVENT.match(plane.event_metadata[event.metadata_id].name)
                if match:
                    events.append([event.offset_ps, event.duration_ps, match["name"], match["type"], event.duration_ps])
            events.sort(key=lambda e: (e[0], -e[1]))
            stack = []  # enclosing op events: [start, duration, name, type, self]
            for event in events:
                while stack and event[0] >= stack[-1][0] + stack[-1][1]:
                    stack.pop()
                if stack:
                    stack[-1][4] -= event[1]
                stack.append(event)
            for _, _, name, op_type, self_ps in events:
                yield name, op_type, max(self_ps, 0)


def aggregate(spaces, steps):
    """Op time per step by op type and by phase, from the XSpaces of a profile of `steps` steps.

    Returns dict(time="self", steps, total_ms (op time per step), ops=[dict(type, ms, share,
    count, phases={phase: ms})] busiest first (ms and count per step), phases={phase: dict(ms, share)}).
    """
    by_type = defaultdict(lambda: dict(ps=0, count=0, phases=defaultdict(int)))
    by_phase = defaultdict(int)
    for space in spaces:
        for name, op_type, self_ps in op_events(space):
            row, phase = by_type[op_type], phase_of(name)
            row["ps"] += self_ps
            row["count"] += 1
            row["phases"][phase] += self_ps
            by_phase[phase] += self_ps
    total = sum(row["ps"] for row in by_type.values())
    if not total:
        raise ValueError("The profile holds no TF op events on the host CPU plane.")
    per_step_ms = lambda ps: ps / 1e9 / steps  # noqa: E731 - picoseconds -> ms per step
    ops = [dict(type=op_type, ms=per_step_ms(row["ps"]), share=row["ps"] / total, count=row["count"] / steps,
                phases={p: per_step_ms(v) for p, v in sorted(row["phases"].items())})
           for op_type, row in by_type.items()]
    ops.sort(key=lambda r: -r["ms"])
    return dict(time="self", steps=steps, total_ms=per_step_ms(total), ops=ops,
                phases={p: dict(ms=per_step_ms(by_phase[p]), share=by_phase[p] / total) for p in PHASES})


def profile(run_step, steps, logdir=None):
    """Runs `run_step` `steps` times under the TF profiler; returns (aggregate(...), wall s of each step).

    The trace goes to `logdir`, or to a temporary folder removed afterwards.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="step_profile_") as tmp:
        folder = logdir or tmp
        walls = []
        tf.profiler.experimental.start(folder)
        try:
            for _ in range(steps):
                start = time.perf_counter()
                run_step()
                walls.append(time.perf_counter() - start)
        finally:
            tf.profiler.experimental.stop()
        return aggregate(read_xspaces(folder), steps), walls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_step_arguments(parser)
    parser.add_argument("--steps", type=int, default=3, help="timed rounds, and profiled steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of each step function first")
    parser.add_argument("--top", type=int, default=12, help="op types per table in OUTPUT.md")
    parser.add_argument("--no-xla", action="store_true", help="skip the jit_compile=True comparison")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "step_profile"),
                        help="writes OUTPUT.json and OUTPUT.md")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 1:
        parser.error(f"--steps and --warmup must be at least 1. Received: --steps {args.steps} --warmup {args.warmup}")
    if args.top < 1:
        parser.error(f"--top must be at least 1. Received: --top {args.top}")

    from keras_sr._keras import keras, tf
    from keras_sr.paths import portable_path

    load_at_start = os.getloadavg()
    command = " ".join(["python", "benchmarks/step_profile.py"] + list(argv if argv is not None else sys.argv[1:]))
    b, p, s = args.batch_size, args.patch_size, args.scale
    lr, hr = benchmark_batch(b, p, s)
    lr_t, hr_t = tf.constant(lr), tf.constant(hr)
    learning_rate = 1e-4

    def run_info():
        return dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), cpu=cpu_model(), cpus=os.cpu_count(),
                    command=command, tensorflow=tf.__version__, batch_size=b, patch_size=p, scale=s,
                    steps=args.steps, warmup=args.warmup, xla=not args.no_xla,
                    intra_op=tf.config.threading.get_intra_op_parallelism_threads() or "TF default",
                    load_at_start=list(load_at_start), load_at_end=list(os.getloadavg()))

    def log(message):
        print(message, file=sys.stderr, flush=True)

    records = []
    for name in args.models:
        config, weights, base = starting_model(name, s)
        base_weights = base.get_weights()
        for precision in args.precisions:
            keras.backend.clear_session()
            variants = {"no_xla": False} if args.no_xla else {"no_xla": False, "xla": True}
            run_step = {}
            for variant, jit in variants.items():
                _, _, run_step[variant] = keras_train_step(name, s, config, base_weights, precision, learning_rate,
                                                           jit, "fit", lr_t, hr_t)
            warmup = {}
            for variant, step in run_step.items():
                warmup[variant] = [round(_keras_step(step)[0], 3) for _ in range(args.warmup)]
            log(f"{name} {precision}: warm-up s/step {warmup}, load {os.getloadavg()[0]:.1f}")
            steps = {variant: [] for variant in run_step}
            for round_ in range(args.steps):
                for variant, step in run_step.items():
                    load = os.getloadavg()[0]
                    wall, cpu = _keras_step(step)
                    steps[variant].append(dict(wall=wall, cpu=cpu, load=load))
                log(f"  round {round_ + 1}: " + ", ".join(f"{v} {x[-1]['wall']:.2f} s (CPU {x[-1]['cpu']:.2f})"
                                                           for v, x in steps.items()))
            ops, profiled_walls = profile(run_step["no_xla"], args.steps)
            top = ", ".join(f"{r['type']} {r['share']:.0%}" for r in ops["ops"][:3])
            log(f"  profiled: {ops['total_ms']:.0f} ms of op time per step, {top}")
            record = dict(model=name, precision=precision, params=base.count_params(),
                          weights=weights and portable_path(weights), warmup=warmup, steps=steps,
                          summary={v: summary(x) for v, x in steps.items()},
                          load=[min(x["load"] for v in steps.values() for x in v),
                                max(x["load"] for v in steps.values() for x in v)],
                          profiled_walls=profiled_walls, profile=ops)
            if "xla" in steps:
                record["xla_over_no_xla"] = record["summary"]["xla"]["median"] / record["summary"]["no_xla"]["median"]
            records.append(record)
            _write(args.output, run_info(), records, args.top)  # after every configuration: a cut-short run keeps it
    print(_write(args.output, run_info(), records, args.top))
    return 0


def _write(output, run, records, top):
    from keras_sr.fileio import write_text

    text = report(run, records, top)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".json"), json.dumps(dict(run=run, results=records), indent=1) + "\n")
    write_text(out.with_suffix(".md"), text)
    return text


def report(run, records, top=12):
    """The Markdown that PREFIX.md holds."""
    lines = [f"Train step, batch {run['batch_size']}, LR patch {run['patch_size']}, x{run['scale']}, L1 + Adam, "
             f"as `fit` runs it; {run['cpu']}, {run['cpus']} CPUs; TF {run['tensorflow']}; {run['date']}; "
             f"load average (1, 5, 15 min) {_load(run['load_at_start'])} at start, {_load(run['load_at_end'])} "
             f"at end.", "", f"`{run['command']}`", "",
             f"Op time = self time of the TF op events on the host CPU plane, summed over threads, per step "
             f"(profiled over {run['steps']} steps after {run['warmup']} + {run['steps']} unprofiled ones); "
             f"share = of all op time; count = op events per step. The profiler and other jobs inflate the "
             f"milliseconds; the shares are what to compare.", ""]
    for r in records:
        prof, sm = r["profile"], r["summary"]["no_xla"]
        lines += [f"### {r['model']}, {precision_name(r['precision'])}", "",
                  f"Wall s/step without the profiler {sm['median']:.2f} (p90 {sm['p90']:.2f}), CPU s/step "
                  f"{sm['cpu_median']:.2f}; under the profiler {statistics.median(r['profiled_walls']):.2f}; op time "
                  f"{prof['total_ms']:.0f} ms/step. By phase: " + ", ".join(
                      f"{p} {prof['phases'][p]['share']:.1%}" for p in PHASES) + ".", "",
                  "| op type | ms/step | share | count/step | mostly in |", "|---|---:|---:|---:|---|"]
        for row in prof["ops"][:top]:
            main_phase = max(row["phases"], key=row["phases"].get)
            lines.append(f"| {row['type']} | {row['ms']:.1f} | {row['share']:.1%} | {row['count']:g} | {main_phase} |")
        rest = prof["ops"][top:]
        if rest:
            lines.append(f"| ({len(rest)} other types) | {sum(x['ms'] for x in rest):.1f} | "
                         f"{sum(x['share'] for x in rest):.1%} | {sum(x['count'] for x in rest):g} | |")
        lines.append("")
    xla = [r for r in records if "xla" in r["summary"]]
    if xla:
        lines += ["### XLA (`jit_compile=True`) against the default, stepped in turn", "",
                  "Wall seconds per step, median (p90) over the interleaved rounds; CPU = the process's CPU "
                  "seconds per step (median); first step = the first warm-up step (tracing, and XLA's compile).", "",
                  "| model | precision | no XLA s/step | XLA s/step | **XLA / no XLA** | CPU s no XLA | CPU s XLA "
                  "| first step no XLA, XLA | load |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in xla:
            a, x = r["summary"]["no_xla"], r["summary"]["xla"]
            lines.append(f"| {r['model']} | {r['precision']} | {a['median']:.2f} ({a['p90']:.2f}) | "
                         f"{x['median']:.2f} ({x['p90']:.2f}) | **{r['xla_over_no_xla']:.2f}** | "
                         f"{a['cpu_median']:.2f} | {x['cpu_median']:.2f} | "
                         f"{r['warmup']['no_xla'][0]:.1f}, {r['warmup']['xla'][0]:.1f} | "
                         f"{r['load'][0]:.1f}-{r['load'][1]:.1f} |")
    return "\n".join(lines) + "\n"


def precision_name(precision):
    return "mixed bfloat16" if precision == "bfloat16" else precision


def _load(values):
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
