"""Plot a training run's eval PSNR per epoch, with the bicubic baseline, and print a Markdown table.

    python benchmarks/plot_history.py RUN_DIR [RUN_DIR2 ...] [--output RUN_DIR/psnr.png] [--bicubic DB] [--force]

Reads RUN_DIR/history.json (written by `python -m keras_sr.train`) and RUN_DIR/config.json.
Several run folders are stages of one training (e.g. a second stage started with
`--init-weights` from the first): they are chained, and the x axis counts training steps.
The bicubic line is `--bicubic` when given, else computed with `keras_sr.evaluate` on the
run's eval set (PIL bicubic, the same Y-PSNR and image cap as the run). Never overwrites
the PNG without --force.
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bicubic_psnr(config):
    """Y-PSNR of PIL bicubic on the run's eval set (None when the run had none)."""
    if not config.get("eval_path"):
        return None
    from keras_sr.evaluate import evaluate

    limit = (config.get("options") or {}).get("eval_max_images")
    result = evaluate("bicubic", config["scale"], [config["eval_path"]], None, max_images=limit)
    return result["datasets"][config["eval_path"]]["psnr"]


def markdown_table(history, bicubic):
    lines = [
        "| stage | epoch | steps | loss | lr | PSNR (dB) | SSIM | vs bicubic (dB) | wall time (h) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in history:
        psnr = r.get("psnr")
        ssim = r.get("ssim")
        gain = f"{psnr - bicubic:+.2f}" if psnr is not None and bicubic is not None else "-"
        psnr_text = "-" if psnr is None else f"{psnr:.3f}"
        ssim_text = "-" if ssim is None else f"{ssim:.4f}"
        lines.append(
            f"| {r['stage']} | {r['epoch']} | {r['steps']} | {r['loss']:.5f} | {r['lr']:.3g} | {psnr_text} | {ssim_text} | {gain} | "
            f"{r['total_wall_s'] / 3600:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", help="folder(s) written by keras_sr.train (hold history.json)")
    parser.add_argument("--output", help="PNG to write (default RUN_DIR/psnr.png)")
    parser.add_argument("--bicubic", type=float, help="bicubic PSNR in dB (default: computed on the run's eval set)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing PNG")
    args = parser.parse_args(argv)

    history, steps, wall = [], 0, 0.0
    for stage, run_dir in enumerate(args.run_dirs, start=1):
        run = Path(run_dir)
        history_path = run / "history.json"
        if not history_path.is_file():
            parser.error(f"{history_path} not found; give a run folder written by python -m keras_sr.train")
        config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
        per_epoch = (config.get("options") or {}).get("steps_per_epoch", 1)
        for row in json.loads(history_path.read_text()):
            history.append({**row, "stage": stage, "steps": steps + row["epoch"] * per_epoch,
                            "total_wall_s": wall + row["wall_time_s"]})
        if history:
            steps, wall = history[-1]["steps"], history[-1]["total_wall_s"]
    if not history:
        parser.error(f"{args.run_dirs} hold no epochs yet")
    run = Path(args.run_dirs[0])
    output = Path(args.output) if args.output else run / "psnr.png"
    if output.exists() and not args.force:
        parser.error(f"{output} exists; pass --force to overwrite it")
    bicubic = args.bicubic if args.bicubic is not None else bicubic_psnr(config)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    points = [(r["steps"], r["psnr"]) for r in history if r.get("psnr") is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    if points:
        ax.plot(*zip(*points), marker="o" if len(points) < 30 else None, label=config.get("model", "model"))
    if bicubic is not None:
        ax.axhline(bicubic, color="gray", linestyle="--", label=f"bicubic (PIL) {bicubic:.2f} dB")
    eval_name = Path(config["eval_path"]).name if config.get("eval_path") else "eval set"
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for previous, row in zip(history, history[1:]):
        if row["stage"] != previous["stage"]:  # where the next stage starts
            ax.axvline(previous["steps"], color="k", alpha=0.15)
    ax.set_xlabel("training steps (batch 16)")
    ax.set_ylabel(f"Y-PSNR on {eval_name} (dB)")
    runs = " + ".join(Path(d).name for d in args.run_dirs)
    if len(runs) > 60:  # the run folders are listed in the Markdown table; keep the title on the plot
        runs = f"{len(args.run_dirs)} stages (grey lines)"
    ax.set_title(f"{config.get('model', '?')} x{config.get('scale', '?')}: {runs}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    print(markdown_table(history, bicubic))
    print(f"\nWrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
