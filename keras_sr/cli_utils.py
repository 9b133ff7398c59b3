"""Helpers shared by the command-line tools (no TensorFlow import)."""
import ast


def parse_set_options(items):
    """['num_features=32', 'recursions=2'] -> {'num_features': 32, 'recursions': 2}.

    Values are Python literals (ints, floats, None); anything else stays a string.
    """
    config = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"`--set` takes KEY=VALUE. Received: {item!r}")
        try:
            config[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            config[key.strip()] = value.strip()
    return config


def parse_size(text, argument="--input"):
    """'320x180' -> (320, 180) as (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"`{argument}` must look like WIDTHxHEIGHT, e.g. 320x180. Received: {text!r}") from None
    if width < 1 or height < 1:
        raise ValueError(f"`{argument}` must have positive sizes. Received: {text!r}")
    return width, height


def add_patch_training_arguments(parser, defaults):
    """--batch-size, --patch-size and --lr, shared by train and optimize (defaults shown in help)."""
    parser.add_argument("--batch-size", type=int, help=f"global batch size (default {defaults['batch_size']})")
    parser.add_argument("--patch-size", type=int, help=f"LR patch side in pixels (default {defaults['patch_size']})")
    parser.add_argument("--lr", type=float, help=f"Adam learning rate (default {defaults['lr']})")


def add_run_folder_arguments(parser):
    """--resume, --force and --eval-max-images: how a run folder is (re)used and scored."""
    parser.add_argument("--resume", action="store_true", help="continue the run in --outputs-dir")
    parser.add_argument("--force", action="store_true", help="start afresh in an --outputs-dir holding a run")
    parser.add_argument("--eval-max-images", type=int, help="score only the first N evaluation images")
