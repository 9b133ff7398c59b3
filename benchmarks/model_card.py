"""Write the model card of a shipped model from measurements (never typed by hand).

    python benchmarks/model_card.py --name fd_irb_edge --scale 4 \\
        --weights keras_sr/pretrained/fd_irb_edge_x4.weights.h5 \\
        --tflite keras_sr/pretrained/fd_irb_edge_x4_int8.tflite \\
        --train-run runs/fd_irb_edge_x4 [--train-run runs/...more stages] [--qat-run runs/fd_irb_edge_x4_qat]

It scores the float Keras weights (`keras_sr.evaluate`), the int8 TFLite file
(`keras_sr.lite.bench`, the board-side code) and the bicubic baseline on Set5, Set14,
BSD100 and Urban100, times the int8 model at 320x180 with 2 threads, reads the
training record(s) for data, steps, schedule and wall time, and writes
keras_sr/pretrained/<name>_x<scale>.md and .json.
"""
import argparse
import json
import os
import platform
from datetime import date
from pathlib import Path

from keras_sr import checkpoints, profile
from keras_sr.evaluate import evaluate
from keras_sr.fileio import write_text
from keras_sr.lite.bench import benchmark

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("Set5", "Set14", "BSD100", "Urban100")
# The paper's x4 PSNR (Y channel), quoted from the authors' README (GitHub
# HEEJOWOO/RDCAB-RecursiveSRNet-FD-IR): trained on DIV2K on an RTX 3090. Quoted, not measured;
# the card labels them so. keras-sr's ported networks map to these rows.
PAPER_X4_PSNR = {
    "source": "authors' README, HEEJOWOO/RDCAB-RecursiveSRNet-FD-IR (DIV2K training, RTX 3090)",
    "rdn": {"Set5": 32.47, "Set14": 28.81, "BSD100": 27.72, "Urban100": 26.61},
    "rdcab_recursive": {"Set5": 32.29, "Set14": 28.64, "BSD100": 27.62, "Urban100": 26.16},
    "split": {"Set5": 32.24, "Set14": 28.65, "BSD100": 27.62, "Urban100": 26.08},
    "fd_irb": {"Set5": 32.28, "Set14": 28.66, "BSD100": 27.64, "Urban100": 26.19},
}
# Our edge network is not in the paper; its nearest published relative is FD & IRB.
PAPER_RELATIVE = {"fd_irb_edge": "fd_irb"}


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def training_summary(run_dir):
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    options = config.get("options", {})
    steps = options.get("steps_per_epoch", 0) * len(history)
    return {
        "run": str(run_dir),
        "command_line": config.get("command_line"),
        "train_data": config.get("train_path"),
        "epochs": len(history),
        "steps": steps,
        "batch_size": options.get("batch_size"),
        "patch_size": options.get("patch_size"),
        "precision": f"mixed {options['mixed_precision']}" if options.get("mixed_precision") else "float32",
        "lr": options.get("lr"),
        "schedule": config.get("schedule"),
        "wall_time_s": history[-1].get("wall_time_s") if history else None,
        # A resume may change the epochs or the data; the record keeps each command.
        "resumes": [r.get("command_line") for r in config.get("resumes", [])],
        "best_eval_psnr": max((row.get("psnr") or 0) for row in history) if history else None,
    }


def qat_summary(run_dir):
    record = json.loads((Path(run_dir) / "run.json").read_text())
    return {"run": str(run_dir), "command_line": record.get("command_line"), "record": {
        k: record[k] for k in ("options", "eval", "steps", "wall_time_s") if k in record}}


def measure(name, scale, weights, tflite, data_root):
    model, meta = checkpoints.load_model(weights)
    counts = profile.profile_model(model, (320, 180))
    float_scores = evaluate(model, scale, DATASETS, data_root)
    bicubic_scores = evaluate("bicubic", scale, DATASETS, data_root)
    int8 = benchmark(tflite, threads=2, input_size=(320, 180), runs=10, warmup=2, datasets=list(DATASETS), data_root=data_root)
    return {
        "model": name,
        "scale": scale,
        "config": meta.get("config"),
        "params": counts["params"],
        "multi_adds_320x180": counts["multi_adds"],
        "files": {"weights": Path(weights).name, "tflite": Path(tflite).name,
                  "tflite_bytes": Path(tflite).stat().st_size, "weights_bytes": Path(weights).stat().st_size},
        "scores": {
            dataset: {
                "bicubic": [bicubic_scores["datasets"][dataset]["psnr"], bicubic_scores["datasets"][dataset]["ssim"]],
                "float": [float_scores["datasets"][dataset]["psnr"], float_scores["datasets"][dataset]["ssim"]],
                "int8": [int8["datasets"][dataset]["psnr"], int8["datasets"][dataset]["ssim"]],
            }
            for dataset in DATASETS
        },
        "int8_latency_ms_320x180_2_threads": int8["latency_ms"],
        "int8_peak_rss_mb": int8.get("peak_rss_mb"),
        "metric": float_scores["metric"],
        "bicubic_note": bicubic_scores.get("bicubic"),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "paper": _paper_row(name, scale),
        "date": date.today().isoformat(),
    }


def _paper_row(name, scale):
    published = PAPER_RELATIVE.get(name, name)
    if scale != 4 or published not in PAPER_X4_PSNR:
        return None
    return {"model": published, "psnr": PAPER_X4_PSNR[published], "source": PAPER_X4_PSNR["source"]}


def render(card):
    lines = [
        f"# Model card: {card['model']} x{card['scale']}",
        "",
        f"Written by `benchmarks/model_card.py` on {card['date']} ({card['machine']}). Every number below was "
        f"measured by that script{', except the paper column, which it quotes' if card.get('paper') else ''}; "
        "nothing is typed by hand.",
        "",
        f"- Architecture: `keras_sr.models.build({card['model']!r}, {card['scale']})`, config `{card['config']}`",
        f"- Parameters: {card['params']:,}; Multi-Adds for a 320x180 input "
        f"({320 * card['scale']}x{180 * card['scale']} output): "
        f"{card['multi_adds_320x180'] / 1e9:.1f} G",
        f"- Files: `{card['files']['weights']}` ({card['files']['weights_bytes'] / 1e6:.2f} MB), "
        f"`{card['files']['tflite']}` ({card['files']['tflite_bytes'] / 1e6:.2f} MB, full int8, float32 I/O)",
        f"- int8 latency, 320x180 input, 2 threads, XNNPACK: median {card['int8_latency_ms_320x180_2_threads']['median']:.0f} ms "
        f"(min {card['int8_latency_ms_320x180_2_threads']['min']:.0f}, p90 {card['int8_latency_ms_320x180_2_threads']['p90']:.0f})",
        "",
        "## Quality",
        "",
        f"{card['metric']}. {card.get('bicubic_note') or ''}",
        "",
    ]
    paper = card.get("paper")
    header = "| dataset | bicubic PSNR / SSIM | float PSNR / SSIM | int8 TFLite PSNR / SSIM |"
    if paper:
        header += f" paper {paper['model']} PSNR (quoted) |"
    lines += [header, "|---" * (header.count("|") - 1) + "|"]
    for dataset, scores in card["scores"].items():
        cells = [f"{p:.2f} / {s:.4f}" for p, s in (scores["bicubic"], scores["float"], scores["int8"])]
        if paper:
            cells.append(f"{paper['psnr'][dataset]:.2f}")
        lines.append(f"| {dataset} | {' | '.join(cells)} |")
    if paper:
        lines += ["", f"Paper column: {paper['model']} x{card['scale']}, quoted from the {paper['source']}, "
                      "which gives PSNR only."]
    lines += ["", "## Training", ""]
    for stage in card.get("training", []):
        lines.append(
            f"- `{stage['command_line']}`: {stage['steps']} steps ({stage['epochs']} epochs) of batch {stage['batch_size']}, "
            f"LR patch {stage['patch_size']}, {stage.get('precision', 'float32')}, lr {stage['lr']} schedule {stage['schedule']}; "
            f"wall time {stage['wall_time_s'] / 60:.0f} min on this CPU; data `{stage['train_data']}`"
        )
        for resume in stage.get("resumes", []):
            lines.append(f"  - resumed with `{resume}`")
    if card.get("qat"):
        lines.append(f"- QAT: `{card['qat']['command_line']}`")
    lines += ["", card.get("notes", "")]
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--tflite", required=True)
    parser.add_argument("--train-run", action="append", default=[], help="training run folder(s), in order")
    parser.add_argument("--qat-run", help="optimize run folder")
    parser.add_argument("--notes", default="", help="a Markdown file whose text ends the card")
    parser.add_argument("--data-root", default=os.environ.get("KERAS_SR_DATA", REPO.parent / "shared" / "datasets"))
    parser.add_argument("--output-dir", default=REPO / "keras_sr" / "pretrained")
    args = parser.parse_args(argv)
    card = measure(args.name, args.scale, args.weights, args.tflite, args.data_root)
    card["training"] = [training_summary(run) for run in args.train_run]
    card["qat"] = qat_summary(args.qat_run) if args.qat_run else None
    card["notes"] = Path(args.notes).read_text() if args.notes else ""
    out = Path(args.output_dir) / f"{args.name}_x{args.scale}"
    write_text(out.with_suffix(".json"), json.dumps(card, indent=2, default=str))
    write_text(out.with_suffix(".md"), render(card))
    print(render(card))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
