"""`keras-sr optimize`: prune and/or quantization-aware-train trained weights (resumable run folder).

    keras-sr optimize --weights runs/fd_irb_x4/best.weights.h5 --train DIV2K_x4.h5 --eval Set5 \\
        --prune --qat --steps 2000 --output-dir runs/fd_irb_x4_opt

The parser imports no TensorFlow; `keras_sr.training.optimize` is imported once the
flags are parsed.
"""
from __future__ import annotations

from pathlib import Path

from keras_sr.cli import _run_flags as flags
from keras_sr.cli.common import UsageError, positive_int, require, run_main

__all__ = ["build_parser", "run", "main"]

_NO_SIDECAR = "for weights without a sidecar"


def build_parser():
    from keras_sr.training.options import OPTIMIZE_DEFAULTS as d
    from keras_sr.training.options import PRUNE_SCHEDULES

    parser = flags.make_run_parser(
        "optimize", "Prune and/or quantization-aware-train trained keras-sr weights (resumable run folder).",
        "With --prune and --qat: prune, strip, then pruning-preserving QAT, --steps each.",
        weights_help="trained float weights FILE.weights.h5 (its FILE.weights.json sidecar names the model)",
        model_help=f"model name, {_NO_SIDECAR}", scale_help=f"upscaling factor, {_NO_SIDECAR}",
        set_help=f"model config, {_NO_SIDECAR} (repeatable)")
    flags.add_run_flags(parser, d, eval_help="evaluation set scored before and after (Y-PSNR, SSIM): a folder of HR "
                                       "images, an .h5 file, or a name (Set5) under --data-root, then $KERAS_SR_DATA",
                  output_help="run folder (required)")
    parser.add_argument("--prune", action="store_true", default=None, help="magnitude-prune every Conv2D")
    parser.add_argument("--sparsity", type=flags.fraction, metavar="F",
                        help=f"target kernel sparsity in [0, 1) (default {d['sparsity']})")
    parser.add_argument("--schedule", choices=PRUNE_SCHEDULES,
                        help="pruning schedule: polynomial (default: 0 -> target at 75%% of the steps) or constant")
    parser.add_argument("--m-by-n", metavar="M:N", help="structured sparsity, e.g. 2:4 (replaces --sparsity)")
    parser.add_argument("--qat", action="store_true", default=None, help="quantization-aware training (int8)")
    parser.add_argument("--steps", type=positive_int, metavar="N", help="optimizer steps per phase (required)")
    parser.add_argument("--calibration-batches", type=positive_int, metavar="N",
                        help=f"batches for the QAT range calibration (default {d['calibration_batches']})")
    flags.add_checkpoint_every(parser, "step", d["checkpoint_every_steps"])
    parser.add_argument("--run-eagerly", action="store_true", default=None,
                        help="fit and evaluate without tf.function (debugging, tiny runs; default: off)")
    return parser


def run(args, parser) -> int:
    from keras_sr.training.options import OPTIMIZE_DEFAULTS, parse_m_by_n

    command_line = flags.start(args, parser)
    require(parser, ("--weights", args.weights), ("--train", args.train), ("--eval", args.eval),
            ("--steps", args.steps), ("--output-dir", args.output_dir))
    if not (args.prune or args.qat):
        raise UsageError("nothing to do: pass --prune, --qat or both (prune, then pruning-preserving QAT)")
    if not args.prune and (args.sparsity is not None or args.schedule is not None or args.m_by_n is not None):
        raise UsageError("--sparsity, --schedule and --m-by-n need --prune")
    if args.m_by_n is not None:
        try:
            args.m_by_n = parse_m_by_n(args.m_by_n)
        except ValueError:
            raise UsageError(f"--m-by-n must look like M:N, e.g. 2:4. Received: {args.m_by_n!r}") from None

    from keras_sr.training import optimize

    try:
        record = optimize(
            weights=args.weights, train=args.train, eval=args.eval, output_dir=args.output_dir, steps=args.steps,
            prune=bool(args.prune), qat=bool(args.qat), model=args.model, scale=args.scale, config=args.config,
            resume=args.resume, force=args.force, data_root=args.data_root, quiet=args.quiet,
            command_line=command_line, **{key: getattr(args, key) for key in OPTIMIZE_DEFAULTS},
        )
    except KeyboardInterrupt:
        flags.interrupted(args.output_dir)
        raise
    if record["status"] != "finished":
        print(f"Run stopped ({record['status']}); --resume continues it: {args.output_dir}")
        return 1
    print(f"Optimized weights: {Path(args.output_dir) / 'optimized.weights.h5'}")
    return 0


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
