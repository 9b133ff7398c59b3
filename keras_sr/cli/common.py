"""The flag vocabulary and the exit-code contract shared by every `keras-sr` subcommand.

No TensorFlow import: parsers are built from this module alone, so `--help` is quick.
Each `add_*` function adds one concept under its one spelling, with `dest` equal to
the library keyword it feeds. Old spellings stay for one release as hidden aliases that
print a deprecation line naming the new flag.

Exit codes: 0 success, 2 bad usage or input (one `error:` line), 1 a failure inside
the run (a traceback only with --verbose), 130 interrupted.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import traceback

__all__ = [
    "EXIT_CODES",
    "make_parser",
    "run_main",
    "UsageError",
    "deprecated",
    "warn_deprecated",
    "positive_int",
    "int_at_least",
    "take_legacy_positional",
    "non_negative_int",
    "add_model",
    "add_weights",
    "add_tflite",
    "add_scale",
    "add_set",
    "add_eval",
    "add_data_root",
    "add_eval_max_images",
    "add_train",
    "add_output",
    "add_output_dir",
    "add_force",
    "add_resume",
    "add_num_threads",
    "add_xnnpack",
    "add_input_size",
    "add_json",
    "add_quiet",
    "add_seed",
    "add_config_file",
    "parse_set_options",
    "require",
    "parse_wxh",
]

EXIT_CODES = "exit codes: 0 success, 2 bad usage or input, 1 failure during the run, 130 interrupted"

#: Exceptions that mean "the user's input is wrong": exit 2 with their message.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
               PermissionError, ImportError, KeyError)


class UsageError(ValueError):
    """Bad usage detected after parsing; reported like a parser error (exit 2)."""


# --------------------------------------------------------------------------- parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def make_parser(command, description, epilog=None):
    """An ArgumentParser named `keras-sr COMMAND` with --verbose and the exit-code epilog."""
    text = EXIT_CODES if not epilog else f"{epilog}\n\n{EXIT_CODES}"
    parser = argparse.ArgumentParser(prog=f"keras-sr {command}", description=description, epilog=text,
                                     formatter_class=_Formatter, allow_abbrev=False)
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's log lines and full tracebacks")
    return parser


class _Deprecated(argparse.Action):
    """A hidden old spelling: stores like the new flag and says which flag replaces it."""

    def __init__(self, option_strings, dest, new=None, flag_value=None, **kwargs):
        self.new, self.flag_value = new, flag_value
        if flag_value is not None:
            kwargs["nargs"] = 0
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        warn_deprecated(parser, option_string, self.new)
        setattr(namespace, self.dest, self.flag_value if self.flag_value is not None else values)


def warn_deprecated(parser, old, new):
    """The one deprecation line: names the old spelling and the flag that replaces it."""
    print(f"{parser.prog}: warning: `{old}` is deprecated and will be removed in the next release; "
          f"use `{new}`.", file=sys.stderr)


def deprecated(parser, old, new, dest, flag_value=None, **kwargs):
    """Adds the hidden alias `old` for the flag `new` (same `dest`)."""
    parser.add_argument(old, dest=dest, action=_Deprecated, new=new, flag_value=flag_value,
                        help=argparse.SUPPRESS, **kwargs)


# --------------------------------------------------------------------------- values


def require(parser, *flags):
    """Exit 2, as argparse does for required flags, naming each `(flag, value)` whose value is missing.

    Flags that a `--config` file may supply are checked here, after it is read, not by argparse."""
    missing = [flag for flag, value in flags if value is None or (not value and value != 0)]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")


def parse_set_options(items):
    """['num_features=32', 'recursions=2'] -> {'num_features': 32, 'recursions': 2}.

    Values are Python literals (ints, floats, None); anything else stays a string.
    """
    config = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"`--set` takes KEY=VALUE. Received: {item!r}")
        try:
            config[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            config[key.strip()] = value.strip()
    return config


def parse_wxh(text):
    """'320x180' -> (180, 320): WIDTHxHEIGHT on the command line, (height, width) in the library."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or min(int(m.group(1)), int(m.group(2))) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT with positive sizes, such as 320x180. "
                                         f"Received: {text!r}")
    return int(m.group(2)), int(m.group(1))


def int_at_least(minimum):
    """An argparse `type` taking integers >= `minimum`, with the one message for a bad value."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}. Received: {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


positive_int = _positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def take_legacy_positional(args, parser, legacy, new, flag):
    """A positional path that became the flag `flag` (dest `new`): move it over, with a warning."""
    value = getattr(args, legacy)
    if value is None:
        return
    if getattr(args, new) is not None:
        parser.error(f"give the file once, with {flag}")
    warn_deprecated(parser, f"the positional {value}", f"{flag} {value}")
    setattr(args, new, value)


# --------------------------------------------------------------------------- vocabulary


def add_model(parser, help="a registered network (keras-sr profile lists them) or a shipped preset "
                           "such as fd_irb_edge_x4 (keras-sr presets)", **kwargs):
    parser.add_argument("--model", metavar="NAME", help=help, **kwargs)


def add_weights(parser, help="Keras weights FILE.weights.h5 (its FILE.weights.json sidecar names the model)",
                **kwargs):
    parser.add_argument("--weights", metavar="FILE", help=help, **kwargs)


def add_tflite(parser, help="a .tflite model file", **kwargs):
    parser.add_argument("--tflite", metavar="FILE", help=help, **kwargs)


def add_scale(parser, help="upscaling factor (default: the model's)", **kwargs):
    parser.add_argument("--scale", type=_positive_int, metavar="S", help=help, **kwargs)


def add_set(parser, help="model config override, e.g. --set recursions=3 (repeatable)"):
    parser.add_argument("--set", dest="config", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_eval(parser, nargs="+", default=None, help=None):
    """`--eval NAME_OR_PATH`: a folder of HR images, an .h5 file, or a name under --data-root / $KERAS_SR_DATA."""
    if help is None:
        help = ("evaluation set(s): a folder of HR images, an .h5 file, or a name (Set5, Set14, BSD100, "
                "Urban100) under --data-root, then $KERAS_SR_DATA")
    parser.add_argument("--eval", nargs=nargs, default=default, metavar="NAME_OR_PATH", help=help)


def add_data_root(parser):
    parser.add_argument("--data-root", metavar="DIR",
                        help="where bare --eval names are looked up first (then $KERAS_SR_DATA)")


def add_eval_max_images(parser):
    parser.add_argument("--eval-max-images", type=_positive_int, metavar="N",
                        help="score only the first N images of each evaluation set")


def add_train(parser, **kwargs):
    parser.add_argument("--train", metavar="PATH",
                        help="training data: an .h5 file of (LR, HR) pairs (keras-sr prepare) or a folder of HR "
                             "images", **kwargs)


def add_output(parser, help, **kwargs):
    parser.add_argument("-o", "--output", metavar="FILE", help=help, **kwargs)


def add_output_dir(parser, help, **kwargs):
    parser.add_argument("--output-dir", metavar="DIR", help=help, **kwargs)


def add_force(parser, help="overwrite existing outputs"):
    parser.add_argument("--force", action="store_true", help=help)


def add_resume(parser):
    parser.add_argument("--resume", action="store_true", help="continue the run in --output-dir")


def _num_threads(text):
    from keras_sr.validation import max_num_threads

    most = max_num_threads()
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= most:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, {most}] ({os.cpu_count() or 1} CPUs here; "
                                         f"more threads only oversubscribe). Received: {text!r}")
    return value


_num_threads.__name__ = "thread count"


def add_num_threads(parser, default=None):
    cpus = os.cpu_count() or 1
    parser.add_argument("--num-threads", type=_num_threads, default=default, metavar="N",
                        help=f"TFLite interpreter threads (default: {default or 'the runtime default'}; "
                             f"this machine has {cpus} CPUs)")
    deprecated(parser, "--threads", "--num-threads", "num_threads", type=_num_threads)


def add_xnnpack(parser):
    parser.add_argument("--xnnpack", dest="use_xnnpack", action=argparse.BooleanOptionalAction, default=True,
                        help="use TFLite's default XNNPACK delegate (--no-xnnpack: reference kernels)")


def add_input_size(parser, help="LR input WIDTHxHEIGHT, e.g. 320x180 (1280x720 at x4)", **kwargs):
    parser.add_argument("--input", dest="input_hw", type=parse_wxh, metavar="WxH", help=help, **kwargs)


def add_json(parser):
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_quiet(parser):
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_seed(parser, help="random seed (default 0)"):
    parser.add_argument("--seed", type=int, metavar="N", help=help)


def add_config_file(parser):
    parser.add_argument("--config", dest="config_file", metavar="FILE",
                        help="a run written down as JSON or YAML (keys are this command's long flags with "
                             "underscores); flags given on the command line win")


# --------------------------------------------------------------------------- running


def _message(error):
    if isinstance(error, KeyError):
        return f"missing key {error}"
    return str(error) or type(error).__name__


def _legacy_verbose_level(argv):
    """Removes an old `--verbose 0|1|2` (a progress level) from `argv` (in place); returns the level or None."""
    for i, item in enumerate(argv[:-1]):
        if item == "--verbose" and argv[i + 1] in ("0", "1", "2"):
            level = argv[i + 1]
            del argv[i:i + 2]
            return level
    return None


def run_main(build_parser, run, argv=None):
    """Parse `argv`, call `run(args, parser)`, and turn what happens into an exit code.

    Always returns the code (never raises SystemExit), so `main([...])` is testable.
    `run` returns 0 or an int exit code. User errors (`USER_ERRORS`, argparse errors)
    print one `error:` line and give 2; anything else gives 1 with a one-line summary
    (the traceback with --verbose); Ctrl-C gives 130.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    legacy_level = _legacy_verbose_level(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a parser error (2): returned, so callers get an int
        return int(exit_.code or 0)
    if legacy_level is not None:
        # `--verbose 0|1|2` was train's progress level; quiet is now --quiet.
        print(f"{parser.prog}: warning: `--verbose {legacy_level}` is deprecated; progress is on by default, "
              "--quiet turns it off, and --verbose alone shows TensorFlow's logs and tracebacks.", file=sys.stderr)
        if legacy_level == "0" and hasattr(args, "quiet"):
            args.quiet = True
    verbose = args.verbose
    previous = os.environ.get("KERAS_SR_VERBOSE")
    if verbose:  # read by keras_sr._keras when TensorFlow is first imported
        os.environ["KERAS_SR_VERBOSE"] = "1"
    args.argv = argv
    try:
        return int(run(args, parser) or 0)
    except SystemExit as exit_:  # parser.error() inside `run`
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        print(f"\n{parser.prog}: interrupted.", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        if verbose:
            traceback.print_exc()
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {_message(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - reported as one line; the traceback with --verbose
        if verbose:
            traceback.print_exc()
        print(f"{parser.prog}: error: the run failed: {type(error).__name__}: {_message(error)}"
              + ("" if verbose else " (--verbose shows the traceback)"), file=sys.stderr)
        return 1
    finally:
        if previous is None:
            os.environ.pop("KERAS_SR_VERBOSE", None)
        else:
            os.environ["KERAS_SR_VERBOSE"] = previous
