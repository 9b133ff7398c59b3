"""`keras-sr evaluate`: PSNR / SSIM and time per image (TensorFlow only for --weights)."""
from __future__ import annotations

import json

from keras_sr.cli import common

PAPER_DATASETS = ("Set5", "Set14", "BSD100", "Urban100")  # keras_sr.paths.PAPER_DATASETS


def build_parser():
    parser = common.make_parser(
        "evaluate", "PSNR / SSIM (Y channel, shave = scale) and ms per image on evaluation sets.",
        epilog="bicubic = PIL Image.BICUBIC upscaling of the PIL-bicubic LR (not MATLAB imresize).")
    common.add_model(parser, help="a shipped preset (its int8 file), 'bicubic' for the baseline, or the "
                                  "registered network of --weights without a sidecar")
    common.add_weights(parser)
    common.add_tflite(parser)
    common.add_scale(parser, help="upscaling factor (default: the model's; required for bicubic)")
    common.add_set(parser, help="config of --weights without a sidecar (repeatable)")
    common.add_eval(parser, default=list(PAPER_DATASETS),
                    help="evaluation sets: folders of HR images, .h5 files, or names under --data-root, then "
                         "$KERAS_SR_DATA (default: Set5 Set14 BSD100 Urban100)")
    common.deprecated(parser, "--datasets", "--eval", "eval", nargs="+")
    common.add_data_root(parser)
    common.add_eval_max_images(parser)
    common.deprecated(parser, "--max-images", "--eval-max-images", "eval_max_images", type=common.positive_int)
    parser.add_argument("--self-ensemble", action="store_true", help="average over the 8 flips/transposes")
    common.add_num_threads(parser)
    from keras_sr.cli.upscale import add_runtime

    add_runtime(parser)
    parser.add_argument("--tile", type=common.positive_int, metavar="T",
                        help="--runtime tflm: the LR tile to freeze a dynamic-shape model at")
    parser.add_argument("--overlap", type=common.non_negative_int, metavar="P",
                        help="--runtime tflm: context pixels per window side (default: the bundle's, else tile / 4)")
    common.add_json(parser)
    return parser


def run(args, parser):
    from keras_sr.cli.upscale import model_or_tflite

    model_or_tflite(args, parser)
    if args.weights is None and args.tflite is None and args.model is None:
        parser.error("name what to evaluate: --weights FILE, --tflite FILE, --model PRESET or --model bicubic")
    import sys

    from keras_sr.evaluate import evaluate, format_table, load_scored_model

    if (args.tile is not None or args.overlap is not None) and args.runtime != "tflm":
        parser.error("--tile and --overlap go with --runtime tflm")
    if args.runtime == "tflm":
        if args.model == "bicubic" or args.weights is not None:
            parser.error("--runtime tflm runs a .tflite: give --model PRESET or --tflite FILE")
        from keras_sr.cli.upscale import need_tile

        need_tile(args, parser)
    model, scale, source = load_scored_model(args.model, args.weights, args.tflite, args.scale,
                                             common.parse_set_options(args.config), args.num_threads,
                                             runtime=args.runtime, tile=args.tile, overlap=args.overlap)

    def progress(name, scores):
        if not args.json:
            print(f"{name}: {scores['psnr']:.2f} dB / {scores['ssim']:.4f} / {scores['ms_per_image']:.0f} ms "
                  f"({scores['count']} images)", file=sys.stderr, flush=True)

    result = evaluate(model, scale, args.eval, args.data_root, self_ensemble=args.self_ensemble,
                      eval_max_images=args.eval_max_images, progress=progress)
    result["source"] = source
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
