"""`keras-sr train`: train a network on random LR/HR patches (resumable run folder).

    keras-sr train --model fd_irb --scale 4 --train DIV2K_x4.h5 --eval Set5
    keras-sr train --config run.json              # a run written down (JSON or YAML)
    keras-sr train --config runs/x/config.json --output-dir runs/y   # run x again

The parser imports no TensorFlow; `keras_sr.training.train` is imported once the flags
are parsed.
"""
from __future__ import annotations

from pathlib import Path

from keras_sr.cli import _run_flags as flags
from keras_sr.cli.common import UsageError, positive_int, run_main

__all__ = ["build_parser", "run", "main"]


def build_parser():
    from keras_sr.training.options import LOSSES, MIXED_PRECISIONS, SCHEDULES, STRATEGIES, TRAIN_DEFAULTS as d

    parser = flags.make_run_parser(
        "train", "Train a keras-sr network on random LR/HR patches (resumable run folder).",
        "Defaults are the original project's. With --resume, options not given are the run's.",
        model_help="network to train (a registered name; keras-sr profile lists them)", scale_help="upscaling factor")
    flags.add_run_flags(parser, d, eval_help="evaluation set scored after every epoch (Y-PSNR, SSIM; the best weights "
                                       "are kept): a folder of HR images, an .h5 file, or a name (Set5) under "
                                       "--data-root, then $KERAS_SR_DATA",
                  output_help="run folder (default runs/MODEL_xSCALE)")
    parser.add_argument("--init-weights", metavar="FILE",
                        help="start from these weights (layers matching by name and shape; fewer recursions grow)")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help=f"total epochs (default {d['epochs']})")
    parser.add_argument("--steps-per-epoch", type=positive_int, metavar="N",
                        help=f"steps per epoch (default {d['steps_per_epoch']})")
    parser.add_argument("--lr-schedule", choices=SCHEDULES,
                        help="step: x0.1 at --lr-drop-at of the epochs (default); cosine: to 0 over the run; constant")
    parser.add_argument("--lr-drop-at", type=float, metavar="F",
                        help=f"fraction of the epochs for the step drop, in (0, 1] (default {d['lr_drop_at']})")
    parser.add_argument("--warmup-steps", type=int, metavar="N", help="linear warm-up steps (default 0)")
    parser.add_argument("--loss", choices=LOSSES, help="l1 (default) or l2")
    parser.add_argument("--teacher-weight", type=float, metavar="W",
                        help="distillation: the loss is (1 - W) loss(HR) + W loss(teacher's output), W in [0, 1]; "
                             "--train must hold a teacher's outputs (keras-sr teach) (default 0: no teacher)")
    flags.add_checkpoint_every(parser, "epoch", d["checkpoint_every_epochs"])
    parser.add_argument("--strategy", choices=STRATEGIES, help="tf.distribute strategy (default: the default one)")
    parser.add_argument("--mixed-precision", nargs="?", const="auto", choices=(*MIXED_PRECISIONS, "auto"),
                        help="mixed policy: bfloat16 (CPUs with AVX512-BF16/AMX; about 4x faster here) or "
                             "float16 (GPUs, with loss scaling); alone, 'auto' picks by device. The weights, "
                             "the loss and the per-epoch evaluation stay float32 (default: off)")
    parser.add_argument("--jit-compile", action="store_true", default=None,
                        help="XLA-compile the train step (default: off)")
    return parser


def run(args, parser) -> int:
    from keras_sr.training.options import TRAIN_DATA_HELP, TRAIN_DEFAULTS

    command_line = flags.start(args, parser)
    if not args.resume:
        if args.model is None or args.scale is None:
            raise UsageError("--model and --scale are required (unless --resume continues a run in --output-dir)")
        if args.train is None:
            raise UsageError("--train is required: " + TRAIN_DATA_HELP)
    elif args.output_dir is None and (args.model is None or args.scale is None):
        raise UsageError("--resume needs --output-dir (or --model and --scale for the default runs/MODEL_xSCALE)")

    from keras_sr.training import train

    output_dir = args.output_dir or f"runs/{args.model}_x{args.scale}"
    try:
        result = train(
            model=args.model, scale=args.scale, train=args.train, eval=args.eval, config=args.config,
            output_dir=output_dir, resume=args.resume, force=args.force, init_weights=args.init_weights,
            data_root=args.data_root, quiet=args.quiet, command_line=command_line,
            **{key: getattr(args, key) for key in TRAIN_DEFAULTS},
        )
    except KeyboardInterrupt:
        flags.interrupted(output_dir)
        raise
    if not result.get("chief", True):
        print("This worker is not the chief of the multi-worker run: the chief (worker 0) wrote the run folder.")
    else:
        if result["best_epoch"] is not None:
            print(f"Best eval PSNR {result['best_psnr']:.3f} dB at epoch {result['best_epoch']}: "
                  f"{Path(result['output_dir']) / 'best.weights.h5'}")
        print(f"Run folder: {result['output_dir']}")
    if result["status"] != "finished":
        print(f"The run stopped ({result['status']}); --resume continues it from its last checkpoint.")
        return 1
    return 0


def main(argv=None) -> int:
    return run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
