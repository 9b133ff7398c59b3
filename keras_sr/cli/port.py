"""`keras-sr port`: PyTorch weights -> Keras weights."""
from __future__ import annotations

import argparse

from keras_sr.cli import common


def build_parser():
    parser = common.make_parser(
        "port", "Import PyTorch weights (.pth of the original code, or a reference .npz) into Keras weights.",
        epilog="Conv kernels go OIHW -> HWIO; the output channels of a conv feeding a pixel shuffle are permuted "
               "to depth_to_space's order. A .pth needs torch installed.")
    parser.add_argument("--torch-weights", metavar="FILE", help="PyTorch state_dict: .pth or reference .npz")
    parser.add_argument("legacy_src", nargs="?", metavar="SRC", help=argparse.SUPPRESS)
    common.add_model(parser, help="the registered network the weights belong to", required=True)
    common.add_scale(parser, help="upscaling factor (default 4)", default=4)
    common.add_set(parser)
    common.add_output(parser, "OUT.weights.h5 (a .weights.json sidecar is written beside it)", required=True)
    common.add_force(parser, help="overwrite an existing output")
    return parser


def run(args, parser):
    common.take_legacy_positional(args, parser, "legacy_src", "torch_weights", "--torch-weights")
    if args.torch_weights is None:
        parser.error("the following arguments are required: --torch-weights")
    from keras_sr.port import port

    port(args.torch_weights, args.model, args.scale, common.parse_set_options(args.config), args.output,
         force=args.force)
    print(f"wrote {args.output}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)
