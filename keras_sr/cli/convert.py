"""`keras-sr convert`: Keras weights -> a verified .tflite file."""
from __future__ import annotations

import sys

from keras_sr.cli import common

IO_TYPES = ("float32", "uint8", "int8")  # keras_sr.convert.IO_TYPES
DEFAULT_CALIBRATION_SAMPLES = 64  # keras_sr.convert.DEFAULT_CALIBRATION_SAMPLES


def build_parser():
    parser = common.make_parser(
        "convert", "Keras weights -> a verified .tflite file (float32 down to full int8).",
        epilog="Every file is verified before it is written: builtin ops only, with --int8 only int8 compute ops, "
               "and PSNR of the TFLite output against the Keras output on --eval (default Set5 when found). A model "
               "that fails goes to OUT.rejected and the command exits with 1.")
    common.add_weights(parser, help="Keras weights FILE.weights.h5 (required; its .weights.json sidecar names the "
                                    "model)")
    common.add_model(parser, help="the registered network of --weights without a sidecar")
    common.add_scale(parser, help="upscaling factor of --weights without a sidecar")
    common.add_set(parser, help="config of --weights without a sidecar (repeatable)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--float16", dest="precision", action="store_const", const="float16", help="float16 weights")
    group.add_argument("--dynamic", dest="precision", action="store_const", const="dynamic",
                       help="dynamic-range int8 weights")
    group.add_argument("--int8", dest="precision", action="store_const", const="int8", help="full-integer int8")
    parser.set_defaults(precision="float32")
    parser.add_argument("--io", default="float32", choices=IO_TYPES, help="input/output type (int8 models only)")
    common.add_input_size(parser, help="fixed LR input WIDTHxHEIGHT; default: any size (1, None, None, 3)")
    parser.add_argument("--calibration", metavar="DIR_OR_H5",
                        help="int8 calibration images (default: $KERAS_SR_DATA/train/T91)")
    parser.add_argument("--calibration-samples", type=common.positive_int, metavar="N",
                        help=f"calibration patches (default {DEFAULT_CALIBRATION_SAMPLES})")
    common.add_eval(parser, nargs=None, help="the evaluation set of the PSNR checks: a folder of HR images, an .h5 "
                                             "file, or a name under --data-root, then $KERAS_SR_DATA (default Set5)")
    common.deprecated(parser, "--eval-data", "--eval", "eval")
    common.add_data_root(parser)
    common.add_force(parser, help="overwrite an existing output")
    common.add_output(parser, "model.tflite (its record goes to model.tflite.json)")
    common.add_config_file(parser)
    return parser


def run(args, parser):
    from keras_sr.training.runconfig import apply_config_file

    apply_config_file(args, parser)
    common.require(parser, ("--weights", args.weights), ("-o/--output", args.output))
    if args.io != "float32" and args.precision != "int8":
        parser.error(f"--io {args.io} needs --int8; a {args.precision} model takes and returns float32.")
    if args.precision != "int8" and (args.calibration is not None or args.calibration_samples is not None):
        parser.error("--calibration and --calibration-samples are used with --int8 only.")
    from keras_sr.convert import VerificationError, convert, format_report

    try:
        record = convert(
            args.weights, args.output, model=args.model, scale=args.scale,
            config=common.parse_set_options(args.config), precision=args.precision, io=args.io,
            input_hw=args.input_hw, calibration=args.calibration,
            calibration_samples=args.calibration_samples or DEFAULT_CALIBRATION_SAMPLES, eval=args.eval,
            data_root=args.data_root, force=args.force, command=["keras-sr", "convert", *args.argv],
        )
    except VerificationError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    print(format_report(record))
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
