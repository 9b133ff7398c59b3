"""The flags `keras-sr train` and `keras-sr optimize` share, and their common steps. No TensorFlow."""
from __future__ import annotations

import argparse
import shlex
import sys

from keras_sr.cli.common import (
    UsageError,
    add_config_file,
    make_parser,
    add_data_root,
    add_eval,
    add_eval_max_images,
    add_force,
    add_output_dir,
    add_quiet,
    add_resume,
    add_seed,
    add_model,
    add_scale,
    add_set,
    add_train,
    add_weights,
    deprecated,
    parse_set_options,
    positive_int,
)

__all__ = ["make_run_parser", "add_run_flags", "add_checkpoint_every", "start", "fraction", "interrupted"]

_REPLAY_EPILOG = "--config FILE takes the options from a run file or from a run's config.json; flags given win."


def fraction(text):
    """A number in [0, 1) (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1). Received: {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1). Received: {text!r}")
    return value


def make_run_parser(command, description, epilog, model_help, scale_help, set_help=None, weights_help=None):
    """The parser of a run command (train, optimize): the model flags (`--weights` first when
    `weights_help` is given), its epilog ending with the replay line."""
    parser = make_parser(command, description, epilog=f"{epilog}\n{_REPLAY_EPILOG}")
    if weights_help is not None:
        add_weights(parser, help=weights_help)
    add_model(parser, help=model_help)
    add_scale(parser, help=scale_help)
    if set_help is None:
        add_set(parser)
    else:
        add_set(parser, help=set_help)
    return parser


def add_run_flags(parser, defaults, eval_help, output_help):
    """Data, patches, run folder and replay flags; `defaults` are the command's option defaults."""
    add_train(parser)
    add_eval(parser, nargs=None, help=eval_help)
    add_data_root(parser)
    add_eval_max_images(parser)
    parser.add_argument("--batch-size", type=positive_int, metavar="N",
                        help=f"global batch size (default {defaults['batch_size']})")
    parser.add_argument("--patch-size", type=positive_int, metavar="PX",
                        help=f"LR patch side in pixels; smaller training items are skipped "
                             f"(default {defaults['patch_size']})")
    parser.add_argument("--lr", type=float, help=f"Adam learning rate (default {defaults['lr']})")
    add_output_dir(parser, help=output_help)
    deprecated(parser, "--outputs-dir", "--output-dir", "output_dir")
    add_resume(parser)
    add_force(parser, help="start afresh in an --output-dir that holds a run (only the run's own files are deleted)")
    add_seed(parser, help=f"seed of the weights and the patch stream (default {defaults['seed']})")
    add_config_file(parser)
    add_quiet(parser)


def add_checkpoint_every(parser, unit, default):
    """--checkpoint-every-{unit}s, with the old --checkpoint-every as an alias."""
    flag = f"--checkpoint-every-{unit}s"
    parser.add_argument(flag, type=positive_int, metavar="N", help=f"{unit}s between checkpoints (default {default})")
    deprecated(parser, "--checkpoint-every", flag, flag[2:].replace("-", "_"), type=positive_int)


def start(args, parser):
    """Applies `--config`, checks --resume/--force, parses --set; returns the command line to record."""
    from keras_sr.training.runconfig import apply_config_file

    apply_config_file(args, parser)
    if args.resume and args.force:
        raise UsageError("--resume and --force exclude each other")
    args.config = parse_set_options(args.config) or None
    return f"{parser.prog} {shlex.join(args.argv)}"


def interrupted(output_dir):
    print(f"\nInterrupted. Continue from the last checkpoint with --resume --output-dir {output_dir}",
          file=sys.stderr)
