"""The one set of argument checks. Numpy only; no TensorFlow.

Library errors name the keyword argument, what was expected and what was received
("`batch_size` must be an integer >= 1. Received: batch_size=0"); only a parser
names flags. Each check returns the value (converted where that is safe).
"""
from __future__ import annotations

import numbers
from pathlib import Path

__all__ = ["check_int", "check_number", "check_choice", "check_file", "check_optional_int"]


def check_int(value, name, minimum=None, maximum=None) -> int:
    """`value` as an int; a bool, float or string is refused, as is one outside [minimum, maximum]."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        if minimum is not None and maximum is not None:
            expected = f"an integer in [{minimum}, {maximum}]"
        elif minimum is not None:
            expected = f"an integer >= {minimum}"
        elif maximum is not None:
            expected = f"an integer <= {maximum}"
        else:
            expected = "an integer"
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    return int(value)


def check_optional_int(value, name, minimum=None, maximum=None):
    """None, or `check_int(value, ...)`."""
    return None if value is None else check_int(value, name, minimum, maximum)


def check_number(value, name, low=None, high=None, low_open=False, high_open=False) -> float:
    """`value` as a float within the interval; brackets in the message show which ends are open."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f" in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"`{name}` must be a number{span if (low, high) != (None, None) else ''}. "
                         f"Received: {name}={value!r}")
    return float(value)


def check_choice(value, allowed, name):
    """`value` if it is one of `allowed`."""
    if value not in tuple(allowed):
        raise ValueError(f"`{name}` must be one of {tuple(allowed)}. Received: {name}={value!r}")
    return value


def check_file(path, name, suffixes=None) -> Path:
    """`path` as a Path to an existing file, with one of `suffixes` (case-insensitive) if given."""
    if path is None:
        raise ValueError(f"`{name}` is required: a file path. Received: {name}=None")
    p = Path(path)
    if not p.is_file():
        what = "a folder" if p.is_dir() else "missing"
        raise FileNotFoundError(f"`{name}` file '{p}' does not exist ({what}).")
    if suffixes and not any(p.name.lower().endswith(s) for s in suffixes):
        raise ValueError(f"`{name}` must be a {' or '.join(suffixes)} file. Received: {name}='{p}'")
    return p
