"""`keras-sr web`: export the web bundles when missing and serve the browser page on 127.0.0.1. No TensorFlow."""
from __future__ import annotations

import argparse

from keras_sr.cli import common

DEFAULT_TILE = 128  # keras_sr.web.DEFAULT_TILE, repeated so --help imports nothing heavy
DEFAULT_PORT = 8000  # keras_sr.web.DEFAULT_PORT


def port_number(text):
    value = common.non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port in [0, 65535]. Received: {text!r}")
    return value


def build_parser():
    parser = common.make_parser(
        "web", "Serve the super-resolution page (tflite/web/, LiteRT.js) on 127.0.0.1 with Python's http.server, "
               "after exporting the x2/x3/x4 web bundles of the shipped int8 models when they are missing.",
        epilog="example: (cd tflite/web && npm ci)   # once, online: the page's pinned dependencies\n"
               "         keras-sr web --port 8000       # then open the printed URL; works offline\n"
               "         keras-sr web --export-only --output-dir site/models   # bundles only, for another server")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, metavar="P",
                        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)")
    common.add_output_dir(parser, "the bundle folder, one x2/x3/x4 folder each (default: tflite/web/models)")
    parser.add_argument("--tile", type=common.int_at_least(3), default=DEFAULT_TILE, metavar="T",
                        help=f"square LR tile the bundles are frozen at (default {DEFAULT_TILE})")
    common.add_force(parser, help="export the bundles again even when they match")
    parser.add_argument("--export-only", action="store_true",
                        help="export the bundles and exit, without serving (to host the page elsewhere)")
    return parser


def run(args, parser):
    if args.export_only:
        from pathlib import Path

        from keras_sr.web import PAGE_DIR, ensure_bundles

        output_dir = Path(args.output_dir) if args.output_dir else PAGE_DIR / "models"
        ensure_bundles(output_dir, tile=args.tile, force=args.force)
        print(f"web bundles ready in {output_dir}: the page loads them from models/ beside its index.html "
              "(any static server; send COOP/COEP headers for its threaded build)")
        return 0
    from keras_sr.web import serve

    try:
        serve(port=args.port, output_dir=args.output_dir, tile=args.tile, force=args.force)
    except OSError as error:
        if isinstance(error, (FileNotFoundError, PermissionError)):
            raise
        raise ValueError(f"cannot serve on 127.0.0.1:{args.port}: {error.strerror or error}") from error
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
