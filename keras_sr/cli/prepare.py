"""`keras-sr prepare`: a folder of HR images -> an (LR, HR) .h5 file (no TensorFlow)."""
from __future__ import annotations

from keras_sr.cli import common


def build_parser():
    parser = common.make_parser(
        "prepare", "Write a folder of HR images as (LR, HR) pairs in an .h5 file (groups 'lr' and 'hr').",
        epilog="--kind train stores five half-size crops per image (the original project's files); --kind eval "
               "stores whole images. --min-size applies to each stored item: the crop for train, the image for "
               "eval. train's HR patch is --patch-size x scale pixels (128 at the default 32 and x4): prepare "
               "warns when items are smaller, and train skips them.")
    parser.add_argument("--images-dir", nargs="+", metavar="DIR",
                        help="folder(s) of HR images, read in the order given (e.g. T91 BSD200: the 291 set)")
    common.add_output(parser, "the .h5 file to write")
    common.deprecated(parser, "--output-path", "-o/--output", "output")
    common.add_scale(parser, help="super-resolution factor (required)")
    parser.add_argument("--kind", choices=("train", "eval"), default="train",
                        help="train: five half-size crops per image (default); eval: whole images")
    common.deprecated(parser, "--eval", "--kind eval", "kind", flag_value="eval")
    common.add_force(parser, help="overwrite an existing output file")
    parser.add_argument("--downscales", type=float, nargs="+", default=[1.0], metavar="F",
                        help="also store each image downscaled by these factors in (0, 1] (default: 1)")
    parser.add_argument("--min-size", type=common.non_negative_int, default=0, metavar="PX",
                        help="leave out items (the crop for --kind train, the image for --kind eval) whose shorter "
                             "side is below PX HR pixels")
    common.add_quiet(parser)
    common.add_config_file(parser)
    return parser


def run(args, parser):
    from keras_sr.training.runconfig import apply_config_file

    apply_config_file(args, parser)
    common.require(parser, ("--images-dir", args.images_dir), ("-o/--output", args.output), ("--scale", args.scale))
    from keras_sr.prepare import prepare

    n = prepare(args.images_dir, args.output, args.scale, kind=args.kind, force=args.force,
                downscales=args.downscales, min_size=args.min_size, quiet=args.quiet)
    print(f"Wrote {n} {args.kind} items to {args.output}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
