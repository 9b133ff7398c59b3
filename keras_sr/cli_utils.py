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
