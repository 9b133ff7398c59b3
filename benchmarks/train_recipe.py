"""What each training choice is worth on this CPU: the edge network under one compute budget.

    python benchmarks/train_recipe.py [--base-steps 500] [--only NAME ...]   # resumable
    python benchmarks/train_recipe.py --table                               # print the table

Every variant trains `fd_irb_edge` x4 from scratch through `python -m keras_sr.train` on the
same data (runs/data/train160_x4.h5: T91 + 50 BSD200 images of at least 160 px) with the same
seed, and is given the same number of LR pixels (steps x batch x patch^2): the base
recipe's `--base-steps` steps of batch 16, LR patch 40. A variant that changes the batch or
the patch changes the number of steps to match. Each is scored on Set5 and Set14 (float
Keras, Y-PSNR, shave 4) at its end. Mixed bfloat16 throughout (its float32 comparison is
the `bf16 vs float32` row, at a quarter of the budget because float32 is ~4x slower).

Runs go to runs/recipe/<variant>/ (not committed); results to
benchmarks/results/train_recipe.{json,md}. A variant whose run has finished is not rerun.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = Path(os.environ.get("KERAS_SR_DATA", REPO.parent / "shared" / "datasets"))
RUNS = REPO / "runs" / "recipe"
RESULTS = REPO / "benchmarks" / "results"
TRAIN_H5 = REPO / "runs" / "data" / "train160_x4.h5"

BASE = dict(batch_size=16, patch_size=40, lr=1e-3, lr_schedule="cosine", warmup_steps=0, mixed_precision="bfloat16")
# name -> (changes to BASE, fraction of the base pixel budget)
VARIANTS = {
    "base: batch 16, patch 40, cosine, no warm-up": ({}, 1.0),
    "patch 32 (1.56x the steps)": (dict(patch_size=32), 1.0),
    "batch 32 (0.5x the steps)": (dict(batch_size=32), 1.0),
    "constant lr": (dict(lr_schedule="constant"), 1.0),
    "warm-up 100 steps": (dict(warmup_steps=100), 1.0),
    "lr 5e-4": (dict(lr=5e-4), 1.0),
    "bf16 at 1/4 budget": ({}, 0.25),
    "float32 at 1/4 budget": (dict(mixed_precision=None), 0.25),
}


def slug(name):
    return "".join(c if c.isalnum() else "_" for c in name.split(" (")[0]).strip("_")


def steps_for(options, fraction, base_steps):
    base_pixels = base_steps * BASE["batch_size"] * BASE["patch_size"] ** 2
    return max(2, round(fraction * base_pixels / (options["batch_size"] * options["patch_size"] ** 2)))


def train_variant(name, base_steps):
    changes, fraction = VARIANTS[name]
    options = {**BASE, **changes}
    steps = steps_for(options, fraction, base_steps)
    out = RUNS / slug(name)
    history = out / "history.json"
    if history.is_file() and len(json.loads(history.read_text())) == 2:
        return out, options, steps
    cmd = [sys.executable, "-m", "keras_sr.train", "--model", "fd_irb_edge", "--scale", "4",
           "--train", TRAIN_H5, "--eval", DATA / "Set5", "--output-dir", out, "--seed", "0",
           "--epochs", "2", "--steps-per-epoch", str(steps // 2)]
    for key in ("batch_size", "patch_size", "lr", "lr_schedule", "warmup_steps"):
        cmd += [f"--{key.replace('_', '-')}", str(options[key])]
    if options["mixed_precision"]:
        cmd += ["--mixed-precision", options["mixed_precision"]]
    cmd += ["--resume"] if (out / "config.json").is_file() else []
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=REPO)
    return out, options, steps


def score(out):
    from keras_sr.checkpoints import load_model
    from keras_sr.evaluate import evaluate

    model, _ = load_model(out / "last.weights.h5")
    result = evaluate(model, 4, ["Set5", "Set14"], DATA)
    return {name: round(d["psnr"], 3) for name, d in result["datasets"].items()}


def table(results):
    lines = ["| variant | steps | batch | patch | lr | schedule | warm-up | precision | wall min | Set5 | Set14 |",
             "|---|---:|---:|---:|---:|---|---:|---|---:|---:|---:|"]
    for name, r in results.items():
        o = r["options"]
        lines.append(f"| {name} | {r['steps']} | {o['batch_size']} | {o['patch_size']} | {o['lr']:g} | "
                     f"{o['lr_schedule']} | {o['warmup_steps']} | {o['mixed_precision'] or 'float32'} | "
                     f"{r['wall_s'] / 60:.1f} | {r['psnr']['Set5']:.2f} | {r['psnr']['Set14']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-steps", type=int, default=500, help="steps of the base recipe (batch 16, patch 40)")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="train these variants only")
    parser.add_argument("--table", action="store_true", help="print the table of the saved results")
    args = parser.parse_args(argv)
    results_path = RESULTS / "train_recipe.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    if not args.table:
        if not TRAIN_H5.is_file():
            raise SystemExit(f"{TRAIN_H5} not found: make it with python -m keras_sr.prepare (see the README).")
        from keras_sr.fileio import write_text

        for name in args.only or VARIANTS:
            out, options, steps = train_variant(name, args.base_steps)
            history = json.loads((out / "history.json").read_text())
            results[name] = {"options": options, "steps": steps, "wall_s": history[-1]["wall_time_s"],
                             "psnr": score(out), "run": str(out.relative_to(REPO))}
            write_text(results_path, json.dumps(results, indent=2))
        write_text(RESULTS / "train_recipe.md", table(results) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
