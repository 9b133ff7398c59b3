"""`keras-sr demo`: the main job, on the shipped int8 model (no TensorFlow, no downloads)."""
from __future__ import annotations

from keras_sr.cli import common
from keras_sr.cli.upscale import model_or_tflite


def build_parser():
    parser = common.make_parser(
        "demo", "Upscale a sample image with the shipped int8 model; print PSNR and time, write a comparison.",
        epilog="The ground truth (scikit-image's astronaut, or --image) is downscaled with keras-sr's one "
               "degradation, then upscaled by bicubic and by the model.")
    parser.add_argument("--image", metavar="FILE", help="ground-truth image (default: scikit-image's astronaut)")
    common.add_scale(parser, help="upscaling factor (default 4)", default=4)
    common.add_model(parser, help="a shipped preset (default: the edge model at --scale; keras-sr presets)")
    common.add_tflite(parser)
    common.add_num_threads(parser, default=2)
    common.add_output(parser, "comparison image; an existing file is never overwritten (the next free name "
                              "is used)", default="demo_x4.png")
    return parser


def run(args, parser):
    model_or_tflite(args, parser)
    if args.model is not None and args.tflite is not None:
        parser.error("give one of --model and --tflite")
    from keras_sr.demo import run_demo

    result = run_demo(args.image, args.scale, args.output, model=args.model, tflite=args.tflite,
                      num_threads=args.num_threads)
    print(f"model        {result['model']}")
    print(f"input        {result['input']} LR -> x{args.scale}")
    print(f"bicubic      PSNR {result['psnr_bicubic']:.2f} dB  SSIM {result['ssim_bicubic']:.4f}")
    print(f"keras-sr     PSNR {result['psnr_model']:.2f} dB  SSIM {result['ssim_model']:.4f}  "
          f"({result['seconds'] * 1000:.0f} ms)")
    print(f"comparison   {result['output']}  (bicubic | keras-sr int8 | ground truth)")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
