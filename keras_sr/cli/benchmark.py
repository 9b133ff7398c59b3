"""`keras-sr benchmark` (and `python tflite/benchmark.py` on a board): no TensorFlow anywhere."""
from __future__ import annotations

import argparse
import json

from keras_sr.cli import common


def build_parser(command="benchmark"):
    parser = common.make_parser(
        command, "Latency, memory, Multi-Adds/s and PSNR / SSIM of a .tflite SR model on this machine.",
        epilog="Latency is min / median / p90 over --runs timed runs after --warmup untimed ones, on random input "
               "of --input; memory is the process's peak RSS and the RSS growth around the interpreter; "
               "throughput is the model's own conv Multi-Adds at that size over the median latency. With --eval, "
               "PSNR / SSIM (Y, shave = scale) as keras-sr evaluate scores them.")
    common.add_tflite(parser, help="the .tflite model")
    common.add_model(parser, help="a shipped preset: benchmark its int8 file (keras-sr presets)")
    parser.add_argument("legacy_tflite", nargs="?", metavar="MODEL.tflite", help=argparse.SUPPRESS)
    common.add_num_threads(parser)
    common.add_xnnpack(parser)
    common.add_input_size(parser, help="LR input WIDTHxHEIGHT (default: the model's fixed size, else 320x180, "
                                       "i.e. 1280x720 at x4)")
    parser.add_argument("--runs", type=common.positive_int, default=10, metavar="N", help="timed runs (default 10)")
    parser.add_argument("--warmup", type=common.non_negative_int, default=2, metavar="N",
                        help="untimed warm-up runs (default 2)")
    common.add_eval(parser, help="evaluation sets to score: folders of HR images, .h5 files, or names under "
                                 "--data-root, then $KERAS_SR_DATA")
    common.deprecated(parser, "--datasets", "--eval", "eval", nargs="+")
    common.add_data_root(parser)
    common.add_eval_max_images(parser)
    common.deprecated(parser, "--max-images", "--eval-max-images", "eval_max_images", type=common.positive_int)
    common.add_json(parser)
    return parser


def run(args, parser):
    common.take_legacy_positional(args, parser, "legacy_tflite", "tflite", "--tflite")
    if args.tflite is None and args.model is None:
        parser.error("name the model: --tflite FILE or --model PRESET")
    if args.data_root is not None and not args.eval:
        parser.error("--data-root needs --eval")
    from keras_sr.lite.bench import benchmark, format_report
    from keras_sr.upscale import tflite_file

    result = benchmark(tflite_file(args.model, args.tflite), num_threads=args.num_threads,
                       use_xnnpack=args.use_xnnpack, input_hw=args.input_hw, runs=args.runs, warmup=args.warmup,
                       eval=args.eval, data_root=args.data_root, eval_max_images=args.eval_max_images)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
