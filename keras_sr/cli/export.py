"""`keras-sr export`: a device bundle (fixed-shape .tflite, model.json, the target's extras). No TensorFlow."""
from __future__ import annotations

import argparse
import json
import re

from keras_sr.cli import common

TARGETS = ("micro", "android", "web")  # keras_sr.export.TARGETS, repeated so --help imports nothing heavy


def tile_size(text):
    """'24' -> (24, 24); '32x24' (WIDTHxHEIGHT) -> (24, 32)."""
    if re.fullmatch(r"\s*\d+\s*", str(text)):
        value = common.positive_int(text)
        return (value, value)
    return common.parse_wxh(text)


def byte_count(text):
    m = re.fullmatch(r"\s*(\d+)\s*([kKmM]?)[bB]?\s*", str(text))
    if not m or int(m.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"expected a byte count such as 262144, 256K or 1M. Received: {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def need_tile(args, parser):
    """A dynamic-shape model needs --tile (or --ram-budget); a fixed-shape file brings its own size."""
    from pathlib import Path

    from keras_sr import presets

    path = Path(args.tflite) if args.tflite else (presets.get(args.model).tflite if presets.is_preset(args.model)
                                                   else None)
    if path is None or not path.is_file():
        return  # the library names the bad model or file
    from keras_sr.lite.runtime import TFLiteSR

    if TFLiteSR(path, use_xnnpack=False).is_dynamic:
        parser.error(f"give --tile (the fixed LR input size) for '{path.name}', which has a dynamic input shape"
                     + (", or --ram-budget" if args.target == "micro" else ""))


def build_parser():
    parser = common.make_parser(
        "export", "Write a device bundle: the model frozen at a fixed LR tile shape (weights kept exactly), "
                  "model.json, and the target's extras (micro: C array, op resolver, README, checks in TFLM).",
        epilog="example: keras-sr export --model fd_irb_edge_x4 --target micro --tile 16 --output-dir bundle\n"
               "         keras-sr export --weights run/best.weights.h5 --int8 --target android --tile 64 "
               "--output-dir bundle\n"
               "         keras-sr export --model fd_irb_edge_x2 --target micro --ram-budget 256K --output-dir bundle")
    src = parser.add_mutually_exclusive_group(required=True)
    common.add_model(src, help="a shipped preset such as fd_irb_edge_x4 (keras-sr presets)")
    common.add_tflite(src, help="a .tflite file (int8 for --target micro)")
    common.add_weights(src, help="Keras weights FILE.weights.h5, converted and verified first (keras-sr convert; "
                                 "needs TensorFlow)")
    parser.add_argument("--int8", dest="precision", action="store_const", const="int8", default="float32",
                        help="with --weights: convert to full int8 (needed for --target micro); else float32")
    parser.add_argument("--calibration", metavar="DIR_OR_H5",
                        help="with --weights --int8: calibration images (default: $KERAS_SR_DATA/train/T91)")
    parser.add_argument("--target", choices=TARGETS, required=True, help="the device family of the bundle")
    parser.add_argument("--tile", type=tile_size, metavar="T|WxH",
                        help="LR input size of the frozen model: T (square) or WIDTHxHEIGHT; with --ram-budget, "
                             "the largest tile tried")
    parser.add_argument("--overlap", type=common.non_negative_int, metavar="P",
                        help="context pixels per window side recorded as recommended (default: tile / 4)")
    parser.add_argument("--ram-budget", type=byte_count, metavar="BYTES",
                        help="micro: pick the largest square tile whose TFLM arena fits, e.g. 256K")
    common.add_output_dir(parser, "the bundle folder to write", required=True)
    common.add_force(parser, help="replace an existing --output-dir")
    common.add_json(parser)
    return parser


def run(args, parser):
    if args.weights is None and (args.precision != "float32" or args.calibration is not None):
        parser.error("--int8 and --calibration convert --weights; a preset or a .tflite file is exported as it is.")
    if args.weights is not None and args.target == "micro" and args.precision != "int8":
        parser.error("--target micro needs a full-int8 model: add --int8 to convert --weights.")
    if args.weights is not None and args.tile is None and args.ram_budget is None:
        parser.error("give --tile (the fixed LR input size) with --weights, which converts to a dynamic shape"
                     + (", or --ram-budget" if args.target == "micro" else ""))
    if args.tile is None and args.ram_budget is None and args.weights is None:
        need_tile(args, parser)
    if args.ram_budget is not None and args.target != "micro":
        parser.error(f"--ram-budget applies to --target micro only. Received: --target {args.target}")
    from keras_sr.export import export

    facts = export(model=args.model, tflite=args.tflite, weights=args.weights, precision=args.precision,
                   calibration=args.calibration, target=args.target, tile=args.tile, overlap=args.overlap,
                   output_dir=args.output_dir, ram_budget=args.ram_budget, force=args.force,
                   log=(lambda *a, **k: None) if args.json else print)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        t = facts["tile"]
        extra = f", arena {facts['micro']['arena_bytes']:,} bytes" if "micro" in facts else ""
        print(f"wrote {args.output_dir}: {args.target} bundle, tile {t[1]}x{t[0]}, x{facts['scale']}, "
              f"{facts['size_bytes']:,} bytes{extra}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
