"""`keras-sr upscale`: upscale image files (TensorFlow only for --weights)."""
from __future__ import annotations

from pathlib import Path

from keras_sr.cli import common

DEFAULT_OVERLAP = 16  # keras_sr.upscale.DEFAULT_OVERLAP, repeated so --help imports nothing heavy


def build_parser():
    parser = common.make_parser(
        "upscale", "Upscale image files with a shipped preset, a .tflite file or Keras weights.",
        epilog="Without --model/--tflite/--weights: the default preset at --scale (the int8 edge model).")
    parser.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders")
    common.add_output(parser, "output file (one input file) or folder", required=True)
    common.add_model(parser, help="a shipped preset such as fd_irb_x4 (keras-sr presets); with --weights, the "
                                  "registered network of weights without a sidecar")
    common.add_tflite(parser, help="any .tflite model file")
    common.add_weights(parser, help="Keras weights FILE.weights.h5: run it with Keras (needs TensorFlow)")
    common.add_scale(parser, help="upscaling factor (default: the model's; picks the default preset's scale)")
    common.add_set(parser, help="config of --weights without a sidecar (repeatable)")
    parser.add_argument("--tile", type=common.positive_int, metavar="T", help="LR window size in pixels "
                        "(default: the whole image)")
    parser.add_argument("--overlap", type=common.non_negative_int, metavar="P",
                        help=f"context pixels per window side (default {DEFAULT_OVERLAP})")
    common.add_num_threads(parser)
    common.add_xnnpack(parser)
    add_runtime(parser)
    common.add_force(parser)
    common.add_quiet(parser)
    return parser


def add_runtime(parser):
    parser.add_argument("--runtime", choices=("litert", "tflm"), default="litert",
                        help="litert (default) or tflm: TensorFlow Lite Micro's interpreter, tile by tile, the "
                             "microcontroller's computation (a dynamic-shape model needs --tile; default overlap: "
                             "the bundle's model.json, else tile / 4)")


def need_tile(args, parser):
    """--runtime tflm runs a fixed shape: a dynamic-shape model without --tile is a usage error."""
    if args.tile is not None or args.weights is not None:
        return
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.upscale import tflite_file

    path = tflite_file(args.model, args.tflite, args.scale)
    if TFLiteSR(path, use_xnnpack=False).is_dynamic:
        parser.error(f"--runtime tflm needs --tile T for '{path}', which has a dynamic input shape (TFLite Micro "
                     "runs fixed shapes; or give --tflite BUNDLE/model.tflite from keras-sr export)")


def model_or_tflite(args, parser):
    """`--model FILE.tflite` was the old spelling of `--tflite FILE`: move it, with a warning."""
    model = getattr(args, "model", None)
    if model is not None and (str(model).lower().endswith(".tflite") or Path(model).is_file()):
        if args.tflite is not None:
            parser.error("give one of --model and --tflite")
        common.warn_deprecated(parser, f"--model {model}", f"--tflite {model}")
        args.tflite, args.model = model, None


def run(args, parser):
    model_or_tflite(args, parser)
    if args.overlap is not None and args.tile is None and args.runtime != "tflm":
        parser.error("--overlap needs --tile.")
    if sum(x is not None for x in (args.model, args.tflite)) > 1 or (args.tflite and args.weights):
        parser.error("give one of --model (a preset), --tflite and --weights (--model NAME may go with --weights)")
    from keras_sr.upscale import upscale_files

    if args.runtime == "tflm":
        need_tile(args, parser)

    written = upscale_files(
        args.inputs, args.output, model=args.model, tflite=args.tflite, weights=args.weights, scale=args.scale,
        config=common.parse_set_options(args.config), tile=args.tile,
        overlap=(None if args.runtime == "tflm" else DEFAULT_OVERLAP) if args.overlap is None else args.overlap,
        num_threads=args.num_threads, use_xnnpack=args.use_xnnpack, force=args.force, progress=not args.quiet,
        runtime=args.runtime,
    )
    print(f"wrote {written[0]}" if len(written) == 1 else f"wrote {len(written)} images to {args.output}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
