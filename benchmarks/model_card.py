"""Write the model card of a shipped model from measurements (never typed by hand).

    python benchmarks/model_card.py --name fd_irb_edge --scale 4 \\
        --weights keras_sr/pretrained/fd_irb_edge_x4.weights.h5 \\
        --tflite keras_sr/pretrained/fd_irb_edge_x4_int8.tflite \\
        --train-run runs/fd_irb_edge_x4 [--train-run runs/...more stages] [--qat-run runs/fd_irb_edge_x4_qat] \\
        --stage-config keras_sr/pretrained/configs/fd_irb_edge_x4/08_prepare_train_ms6_x4.json [...]

    python benchmarks/model_card.py --rerender keras_sr/pretrained/fd_irb_edge_x4.json [--stage-config ...]

It scores the float Keras weights (`keras_sr.evaluate`), the int8 TFLite file
(`keras_sr.lite.bench`, the board-side code) and the bicubic baseline on Set5, Set14,
BSD100 and Urban100, times the int8 model at 320x180 with 2 threads, reads the
training record(s) for data, steps, schedule and wall time, and writes
keras_sr/pretrained/<name>_x<scale>.md and .json.

`--retime CARD.json` times the int8 file again and rewrites the card, scores kept (for a card
scored beside other jobs, which slow the clock but not the PSNR).

`--rerender CARD.json` writes the card again from its stored measurements (nothing is
scored or timed again): the counts are recounted from the model graph and the int8 file
(deterministic), every path is made relative to the repository or to `$KERAS_SR_DATA`
(also in the weights' and the int8 file's sidecars), and `--stage-config` sets the config
files of the stages that rebuild the model (kept from the card when not given).
"""
import argparse
import json
import os
import platform
from datetime import date
from pathlib import Path

from keras_sr import profile
from keras_sr.fileio import write_text
from keras_sr.paths import PRETRAINED_DIR, REPO_ROOT, portable_path

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


CARD_INPUT_HW = (180, 320)  # (height, width): 1280x720 out at x4
# How a card times its int8 file: `measure` and `retime` alike.
CARD_TIMING = dict(num_threads=2, input_hw=CARD_INPUT_HW, runs=10, warmup=2)
# The micro-class goals (issue 14): TFLM arena and flash of the int8 file, Set5 PSNR through TFLM
# above FSRCNN (quoted: Dong et al. 2016, "Accelerating the Super-Resolution Convolutional Neural
# Network", Set5 Y-PSNR) and above bicubic by MICRO_BICUBIC_MARGIN_DB.
MICRO_GOALS = {"arena_bytes": 256 * 1024, "flash_bytes": 150 * 1024, "fsrcnn_set5_psnr": {2: 37.00, 3: 33.16, 4: 30.71},
               "fsrcnn_source": "Dong et al. 2016 (FSRCNN), Set5 Y-PSNR, quoted", "bicubic_margin_db": 2.0}
#: Microcontroller latency *estimates* (no board is here): Multi-Adds / (int8 MACs per cycle x clock) at
#: the core's peak int8 MAC rate, so a lower bound on the time; real kernels reach a fraction of the peak.
MCU_ESTIMATES = (
    {"core": "Cortex-M7 at 480 MHz", "hz": 480e6, "macs_per_cycle": 2,
     "source": "SMLAD, two 16-bit MACs per cycle, which CMSIS-NN's int8 kernels use after widening "
               "(Lai et al. 2018, CMSIS-NN, arXiv:1801.06601)"},
    {"core": "Cortex-M55 with Helium at 400 MHz", "hz": 400e6, "macs_per_cycle": 8,
     "source": "Helium (M-profile Vector Extension) on Cortex-M55: up to 8 int8 MACs per cycle (Arm's "
               "Cortex-M55 product brief); 400 MHz as on Alif Ensemble's high-performance core"},
)
#: A card's stage config files: the subcommand each one replays.
COMMANDS = ("prepare", "train", "optimize", "convert")


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# --------------------------------------------------------------------------- portable paths


def machine():
    """The card's machine line: CPU model and core count."""
    return f"{cpu_name()}, {os.cpu_count()} cores"


def portable_command(text):
    """A recorded command line with each absolute path token made portable (`portable_path`)."""
    if text is None:
        return None
    return " ".join(portable_path(token) if token.startswith("/") else token for token in str(text).split(" "))


def portable(value):
    """`value` (a card or a sidecar, nested) with every absolute path made portable."""
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [portable(item) for item in value]
    if isinstance(value, str) and "/" in value and "\n" not in value:
        return portable_command(value) if " " in value else (portable_path(value) if value.startswith("/") else value)
    return value


def repo_relative(path):
    """A stage config file as written in a card: relative to the repository."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        raise ValueError(f"`stage_config` {path} is not inside the repository {REPO_ROOT.name}/") from None


# --------------------------------------------------------------------------- measuring


def training_summary(run_dir):
    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    options = config.get("options", {})
    steps = options.get("steps_per_epoch", 0) * len(history)
    return portable({
        "run": portable_path(run_dir),
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
    })


def qat_summary(run_dir):
    run_dir = Path(run_dir)
    # Optimize runs write config.json; runs made before the one run engine wrote run.json.
    record_file = run_dir / "config.json" if (run_dir / "config.json").is_file() else run_dir / "run.json"
    record = json.loads(record_file.read_text())
    return portable({"run": portable_path(run_dir), "command_line": record.get("command_line"), "record": {
        k: record[k] for k in ("options", "eval", "steps", "wall_time_s") if k in record}})


def counts(name, scale, config, tflite):
    """Parameters and Multi-Adds at CARD_INPUT_HW, counted (not measured): trainable and fixed apart,
    and the int8 file's own count, which must equal their sum."""
    from keras_sr import models
    from keras_sr.lite.runtime import TFLiteSR

    model = models.build(name, scale, **(config or {}))
    result = profile.profile_model(model, input_hw=CARD_INPUT_HW)
    from_tflite = TFLiteSR(tflite).multi_adds(*CARD_INPUT_HW)
    if from_tflite != result["multi_adds_total"]:
        raise RuntimeError(f"{tflite}: {from_tflite:,} Multi-Adds in the int8 file, but the Keras graph counts "
                           f"{result['multi_adds']:,} + {result['multi_adds_fixed']:,} fixed")
    return {
        "params": result["params"],
        "fixed_params": result["fixed_params"],
        "fixed_layers": result["fixed_layers"],
        "multi_adds_320x180": result["multi_adds"],
        "multi_adds_320x180_fixed": result["multi_adds_fixed"],
        "multi_adds_320x180_total": result["multi_adds_total"],
        "multi_adds_320x180_tflite": from_tflite,
    }


def measure(name, scale, weights, tflite, data_root):
    from keras_sr import checkpoints
    from keras_sr.evaluate import evaluate
    from keras_sr.lite.bench import benchmark

    model, meta = checkpoints.load_model(weights)
    float_scores = evaluate(model, scale, eval=DATASETS, data_root=data_root)
    bicubic_scores = evaluate("bicubic", scale, eval=DATASETS, data_root=data_root)
    int8 = benchmark(tflite, **CARD_TIMING, eval=list(DATASETS), data_root=data_root)
    return {
        "model": name,
        "scale": scale,
        "config": meta.get("config"),
        **counts(name, scale, meta.get("config"), tflite),
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
        "machine": machine(),
        "paper": _paper_row(name, scale),
        "date": date.today().isoformat(),
    }


def micro_measure(tflite, scale, tile, data_root, eval=("Set5",)):
    """The int8 file exported for TFLM at `tile` (H, W) (`keras_sr.export.export`, target micro: arena
    bisected to the byte in TFLM's interpreter) and scored through TFLM tile by tile with the bundle's
    tile plan (`keras-sr evaluate --runtime tflm` on the bundle's model.tflite)."""
    import shutil
    import tempfile

    from keras_sr.evaluate import evaluate, load_scored_model
    from keras_sr.export import export
    from keras_sr.lite.tiling import tile_windows

    scratch = Path(tempfile.mkdtemp(prefix="keras_sr_card_micro_"))
    try:
        facts = export(tflite=tflite, target="micro", tile=tuple(tile), output_dir=scratch / "bundle",
                       log=lambda *a, **k: None)
        model, _, _ = load_scored_model(tflite=str(scratch / "bundle" / "model.tflite"), runtime="tflm")
        scores = evaluate(model, scale, eval=list(eval), data_root=data_root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    (h, w), overlap = facts["tile"], facts["overlap"]
    tiles = len(tile_windows(CARD_INPUT_HW[0], h, overlap)) * len(tile_windows(CARD_INPUT_HW[1], w, overlap))
    return {
        "tile": [h, w], "overlap": overlap, "arena_bytes": facts["micro"]["arena_bytes"],
        "flash_bytes": facts["size_bytes"], "multi_adds_per_tile": facts["multi_adds_per_tile"],
        "tiles_320x180": tiles, "multi_adds_320x180_tiled": tiles * facts["multi_adds_per_tile"],
        "tflm_vs_litert_psnr_db": facts["micro"]["tflm_vs_litert_psnr_db"],
        "tflm_invoke_s": facts["micro"]["tflm_invoke_s"], "tflite_micro": facts["micro"]["tflite_micro"],
        "scores": {name: [row["psnr"], row["ssim"]] for name, row in scores["datasets"].items()},
        "ms_per_image": {name: row["ms_per_image"] for name, row in scores["datasets"].items()},
        "goals": {k: v for k, v in MICRO_GOALS.items() if k != "fsrcnn_set5_psnr"}
        | {"fsrcnn_set5_psnr": MICRO_GOALS["fsrcnn_set5_psnr"].get(scale)},
    }


def _render_micro(card):
    m = card["micro"]
    goals = m["goals"]
    (h, w), met = m["tile"], (lambda ok: "met" if ok else "**missed**")
    lines = [
        "", "## Microcontroller (TensorFlow Lite Micro)", "",
        f"Measured by exporting the int8 file with `keras-sr export --target micro --tile {w}x{h}` "
        f"(`keras_sr.export`: the arena is the smallest that allocates and runs in TFLM's interpreter, bisected to "
        f"the byte) and scoring it through TFLM's interpreter tile by tile with the bundle's tile plan "
        f"(`keras-sr evaluate --runtime tflm`), tflite-micro {m['tflite_micro']}, reference kernels.", "",
        f"- LR tile {w}x{h}, overlap {m['overlap']}: arena {m['arena_bytes']:,} bytes (goal <= "
        f"{goals['arena_bytes']:,}: {met(m['arena_bytes'] <= goals['arena_bytes'])}); flash (the frozen "
        f"`model.tflite`) {m['flash_bytes']:,} bytes (goal <= {goals['flash_bytes']:,}: "
        f"{met(m['flash_bytes'] <= goals['flash_bytes'])})",
        f"- Multi-Adds: {m['multi_adds_per_tile'] / 1e6:.1f} M per {w}x{h} tile; a 320x180 frame takes "
        f"{m['tiles_320x180']} tiles, {m['multi_adds_320x180_tiled'] / 1e9:.2f} G (the whole frame at once: "
        f"{card['multi_adds_320x180_total'] / 1e9:.2f} G)",
        f"- TFLM vs LiteRT on one real image tile: {m['tflm_vs_litert_psnr_db']:.1f} dB PSNR; one TFLM invoke on "
        f"this CPU (not a microcontroller): {m['tflm_invoke_s']:.2f} s",
    ]
    for dataset, (psnr, ssim) in m["scores"].items():
        line = f"- {dataset} through TFLM, tile by tile: {psnr:.2f} dB / {ssim:.4f}"
        row = card["scores"].get(dataset)
        if row:
            line += f" (LiteRT, whole image: {row['int8'][0]:.2f} dB)"
        if dataset == "Set5" and row:
            fsrcnn, bicubic = goals.get("fsrcnn_set5_psnr"), row["bicubic"][0]
            if fsrcnn is not None:
                line += (f"; above FSRCNN's {fsrcnn:.2f} dB ({goals['fsrcnn_source']}): {met(psnr > fsrcnn)} "
                         f"({psnr - fsrcnn:+.2f} dB)")
            line += (f"; above bicubic ({bicubic:.2f} dB) by >= {goals['bicubic_margin_db']:.0f} dB: "
                     f"{met(psnr - bicubic >= goals['bicubic_margin_db'])} ({psnr - bicubic:+.2f} dB)")
        lines.append(line)
    lines += ["", "Latency on a microcontroller: an **estimate**, not a measurement (no board is here): Multi-Adds "
              "divided by the core's peak int8 MACs per cycle and its clock, so a lower bound; CMSIS-NN kernels "
              "reach a fraction of the peak.", ""]
    for core in MCU_ESTIMATES:
        rate = core["macs_per_cycle"] * core["hz"]
        lines.append(f"- {core['core']}, {core['macs_per_cycle']} int8 MACs/cycle ({core['source']}): "
                     f">= {m['multi_adds_per_tile'] / rate * 1e3:.0f} ms per {w}x{h} tile, "
                     f">= {m['multi_adds_320x180_tiled'] / rate:.1f} s per 320x180 frame")
    return lines


def _paper_row(name, scale):
    published = PAPER_RELATIVE.get(name, name)
    if scale != 4 or published not in PAPER_X4_PSNR:
        return None
    return {"model": published, "psnr": PAPER_X4_PSNR[published], "source": PAPER_X4_PSNR["source"]}


# --------------------------------------------------------------------------- rendering


def _stage_command(path):
    command = json.loads((REPO_ROOT / path).read_text()).get("command")
    if command not in COMMANDS:
        raise ValueError(f"Stage config {path} must have \"command\" in {COMMANDS}. Received: {command!r}")
    return command


def render(card):
    latency = card["int8_latency_ms_320x180_2_threads"]
    lines = [
        f"# Model card: {card['model']} x{card['scale']}",
        "",
        f"Written by `benchmarks/model_card.py` on {card['date']} ({card['machine']}). Every number below was "
        f"measured by that script{', except the paper column, which it quotes' if card.get('paper') else ''}; "
        "nothing is typed by hand.",
        "",
        f"- Preset: `{card['model']}_x{card['scale']}` (`keras_sr.models.build({card['model'] + '_x' + str(card['scale'])!r})`, "
        f"`keras-sr upscale --model {card['model']}_x{card['scale']}`)",
        f"- Architecture: `keras_sr.models.build({card['model']!r}, {card['scale']})`, config `{card['config']}`",
        f"- Parameters: {profile.describe_params(card)}",
        f"- Multi-Adds for a 320x180 input ({320 * card['scale']}x{180 * card['scale']} output): "
        f"{profile.describe_multi_adds(card)}",
    ]
    if card.get("multi_adds_320x180_tflite") is not None:
        lines[-1] += (f"; counted from the int8 file (`TFLiteSR.multi_adds`, what `keras-sr benchmark` prints): "
                      f"{card['multi_adds_320x180_tflite'] / 1e9:.2f} G")
    lines += [
        f"- Files: `{card['files']['weights']}` ({card['files']['weights_bytes'] / 1e6:.2f} MB), "
        f"`{card['files']['tflite']}` ({card['files']['tflite_bytes'] / 1e6:.2f} MB, full int8, float32 I/O)",
        f"- int8 latency, 320x180 input, 2 threads, XNNPACK: median {latency['median']:.0f} ms "
        f"(min {latency['min']:.0f}, p90 {latency['p90']:.0f})",
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
    if card.get("micro"):
        lines += _render_micro(card)
    lines += ["", "## Training", "", "The commands as they were run (the flag names of the time); paths are relative "
              "to the repository or to `$KERAS_SR_DATA`.", ""]
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
    if card.get("stages"):
        lines += [
            "", "## Stages (config files)", "",
            "These config files rebuild the model from the repository and the datasets (`$KERAS_SR_DATA`). Replay "
            "them in order from one working folder, each with `keras-sr COMMAND --config FILE` (flags given as well "
            "win; see `keras_sr/pretrained/configs/README.md`). They were transcribed from the commands above into "
            "the current flags; their outputs go under `runs/` of the working folder.", "",
        ]
        for k, path in enumerate(card["stages"], start=1):
            lines.append(f"{k}. `keras-sr {_stage_command(path)} --config {path}`")
        if card.get("stages_note"):
            lines += ["", card["stages_note"].strip()]
    lines += ["", card.get("notes", "")]
    return "\n".join(lines).rstrip() + "\n"


def write_card(card, output_dir):
    out = Path(output_dir) / f"{card['model']}_x{card['scale']}"
    write_text(out.with_suffix(".json"), json.dumps(card, indent=2, default=str) + "\n")
    write_text(out.with_suffix(".md"), render(card))
    return out


def retime(card_path, stages_note=None):
    """Time the card's int8 file again (as `measure` does) and rewrite the card; scores are kept.

    For a card whose scores were measured beside other jobs: the scores do not depend on the
    load, the latency does.
    """
    from keras_sr.lite.bench import benchmark

    card_path = Path(card_path)
    card = json.loads(card_path.read_text())
    timing = benchmark(card_path.parent / card["files"]["tflite"], **CARD_TIMING)
    card["int8_latency_ms_320x180_2_threads"] = timing["latency_ms"]
    card["machine"] = machine()
    if stages_note is not None:
        card["stages_note"] = stages_note
    return write_card(portable(card), card_path.parent)


def rerender(card_path, stage_configs=None, stages_note=None):
    """The card again from its stored measurements; counts recounted; paths made portable.

    The weights' and the int8 file's sidecars beside the card get portable paths too.
    """
    card_path = Path(card_path)
    card = json.loads(card_path.read_text())
    tflite = card_path.parent / card["files"]["tflite"]
    recount = counts(card["model"], card["scale"], card["config"], tflite)
    for key in ("params", "multi_adds_320x180"):
        if card.get(key) is not None and card[key] != recount[key]:
            raise RuntimeError(f"{card_path}: stored {key}={card[key]:,} but the model now counts {recount[key]:,}")
    card.update(recount)
    if stage_configs:
        card["stages"] = [repo_relative(path) for path in stage_configs]
    for path in card.get("stages", []):
        _stage_command(path)
    if stages_note is not None:
        card["stages_note"] = stages_note
    card = portable(card)
    for sidecar in (card_path.parent / card["files"]["weights"].replace(".weights.h5", ".weights.json"),
                    tflite.with_name(tflite.name + ".json")):
        if sidecar.is_file():
            write_text(sidecar, json.dumps(portable(json.loads(sidecar.read_text())), indent=2) + "\n")
    return write_card(card, card_path.parent)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rerender", metavar="CARD.json", help="write this card again from its stored measurements")
    parser.add_argument("--name")
    parser.add_argument("--scale", type=int)
    parser.add_argument("--weights")
    parser.add_argument("--tflite")
    parser.add_argument("--train-run", action="append", default=[], help="training run folder(s), in order")
    parser.add_argument("--qat-run", help="optimize run folder")
    parser.add_argument("--stage-config", action="append", default=[], metavar="FILE",
                        help="config files of the stages that rebuild the model, in replay order")
    parser.add_argument("--stages-note", metavar="FILE.md", help="a Markdown file said under the stage list")
    parser.add_argument("--notes", default="", help="a Markdown file whose text ends the card")
    parser.add_argument("--micro-tile", metavar="WxH",
                        help="also export the int8 file for TFLM at this LR tile (e.g. 24x24) and record its arena, "
                             "flash, Multi-Adds per tile and per 320x180 frame, and --micro-eval through TFLM")
    parser.add_argument("--micro-only", metavar="CARD.json",
                        help="measure only the microcontroller section of this card again (--micro-tile, "
                             "--micro-eval) and rewrite the card; its other measurements are kept")
    parser.add_argument("--retime", metavar="CARD.json",
                        help="time this card's int8 file again (on a quiet machine) and rewrite the card; its scores "
                             "are kept")
    parser.add_argument("--micro-eval", nargs="+", default=["Set5"], metavar="NAME",
                        help="evaluation sets scored through TFLM tile by tile with --micro-tile (default: Set5)")
    parser.add_argument("--data-root", default=None, help="datasets folder (default: $KERAS_SR_DATA)")
    parser.add_argument("--output-dir", default=PRETRAINED_DIR)
    args = parser.parse_args(argv)
    stages_note = Path(args.stages_note).read_text() if args.stages_note else None
    if args.micro_only:
        if not args.micro_tile:
            parser.error("--micro-only needs --micro-tile WxH")
        from keras_sr.paths import data_root

        card_path = Path(args.micro_only)
        card = json.loads(card_path.read_text())
        w, h = (int(v) for v in args.micro_tile.lower().split("x"))
        card["micro"] = micro_measure(card_path.parent / card["files"]["tflite"], card["scale"], (h, w),
                                      data_root(args.data_root), args.micro_eval)
        out = write_card(portable(card), card_path.parent)
        print(out.with_suffix(".md").read_text())
        return 0
    if args.retime:
        out = retime(args.retime, stages_note)
        print(out.with_suffix(".md").read_text())
        return 0
    if args.rerender:
        out = rerender(args.rerender, args.stage_config, stages_note)
        print(out.with_suffix(".md").read_text())
        return 0
    missing = [flag for flag in ("name", "scale", "weights", "tflite") if getattr(args, flag) is None]
    if missing:
        parser.error(f"the following arguments are required without --rerender: {', '.join('--' + m for m in missing)}")
    from keras_sr.paths import data_root

    card = measure(args.name, args.scale, args.weights, args.tflite, data_root(args.data_root))
    if args.micro_tile:
        w, h = (int(v) for v in args.micro_tile.lower().split("x"))
        card["micro"] = micro_measure(args.tflite, args.scale, (h, w), data_root(args.data_root), args.micro_eval)
    card["training"] = [training_summary(run) for run in args.train_run]
    card["qat"] = qat_summary(args.qat_run) if args.qat_run else None
    card["stages"] = [repo_relative(path) for path in args.stage_config]
    card["stages_note"] = stages_note or ""
    card["notes"] = Path(args.notes).read_text() if args.notes else ""
    out = write_card(portable(card), args.output_dir)
    print(out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
