"""Benchmark a super-resolution .tflite model on the board (no TensorFlow needed).

    python tflite/benchmark.py MODEL.tflite [--threads N] [--no-xnnpack] [--input 320x180]
        [--runs N] [--warmup N] [--datasets Set5 Set14 ... [--data-root DIR]] [--json]

`--input` is the LR size as WIDTHxHEIGHT: 320x180 is 1280x720 at x4. Latency is
min/median/p90 over --runs timed runs after --warmup untimed ones; memory is the
process's peak RSS and the RSS growth around the interpreter; throughput is the
model's own conv/FC Multi-Adds at that size divided by the median latency.
With --datasets, PSNR/SSIM (Y channel, shave = scale) are scored on each dataset's
HR images degraded by keras_sr.data.degrade.make_lr, as `evaluate` does.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

if importlib.util.find_spec("keras_sr") is None:  # running from a source checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keras_sr.lite.bench import DEFAULT_INPUT, benchmark, format_report  # noqa: E402


def _parse_wh(text):
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m or min(int(m.group(1)), int(m.group(2))) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 320x180. Received: {text!r}")
    return int(m.group(1)), int(m.group(2))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmark.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2],
    )
    p.add_argument("model_path", metavar="MODEL.tflite", help="the .tflite model")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: runtime default)")
    p.add_argument("--no-xnnpack", action="store_true", help="disable the default XNNPACK delegate")
    p.add_argument(
        "--input", dest="input_size", type=_parse_wh, default=None, metavar="WxH",
        help=f"LR input WIDTHxHEIGHT (default: the fixed size, else {DEFAULT_INPUT[0]}x{DEFAULT_INPUT[1]}, "
        "i.e. 1280x720 at x4)",
    )
    p.add_argument("--runs", type=int, default=10, help="timed runs (default: 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed warm-up runs (default: 2)")
    p.add_argument("--datasets", nargs="+", default=None, metavar="NAME", help="e.g. Set5 Set14 BSD100 Urban100")
    p.add_argument("--data-root", default=None, metavar="DIR", help="folder of the datasets (default: $KERAS_SR_DATA)")
    p.add_argument("--max-images", type=int, default=None, metavar="N", help="score at most N images per dataset")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag, value, minimum in (("--threads", args.threads, 1), ("--runs", args.runs, 1),
                                 ("--warmup", args.warmup, 0), ("--max-images", args.max_images, 1)):
        if value is not None and value < minimum:
            parser.error(f"`{flag}` must be >= {minimum}. Received: {value}")
    if args.data_root is not None and not args.datasets:
        parser.error("`--data-root` needs `--datasets`.")
    if not Path(args.model_path).is_file():
        parser.error(f"Model file '{args.model_path}' does not exist.")
    kwargs = {k: v for k, v in vars(args).items() if k != "json"}
    try:
        result = benchmark(**kwargs)
    except (FileNotFoundError, ValueError) as e:
        print(f"benchmark.py: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
