"""The one set of argument checks. Numpy only; no TensorFlow.

Library errors name the keyword argument, what was expected and what was received
("`batch_size` must be an integer >= 1. Received: batch_size=0"); only a parser
names flags. Each check returns the value (converted where that is safe).
"""
from __future__ import annotations

import hashlib
import numbers
import os
from pathlib import Path

__all__ = ["check_int", "check_number", "check_choice", "check_file", "check_optional_int", "max_num_threads",
           "check_num_threads", "check_pixels", "sha256_file", "check_sha256", "available_memory_bytes"]

#: Interpreter threads allowed per CPU: more only oversubscribes, and a huge count crashes the runtime.
THREADS_PER_CPU = 4


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


def max_num_threads() -> int:
    """The most interpreter threads accepted: THREADS_PER_CPU x the CPUs of this machine (at least 4)."""
    return max(THREADS_PER_CPU * (os.cpu_count() or 1), 4)


def check_num_threads(value, name="num_threads"):
    """None, or an int in [1, max_num_threads()]."""
    return check_optional_int(value, name, 1, max_num_threads())


def check_pixels(x, name):
    """Refuses NaN / infinite pixels and float input that is clearly 0-255 rather than 0-1.

    `x` is a float array meant to hold values in [0, 1]; a little over- or undershoot
    (from an SR model's output fed back, for example) is allowed.
    """
    import numpy as np

    x = np.asarray(x)
    if x.size == 0 or not np.issubdtype(x.dtype, np.floating):
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise ValueError(f"`{name}` must hold finite values in [0, 1]. Received: {bad} NaN or infinite "
                         f"value(s) (shape={x.shape})")
    if hi > 2.0 or lo < -1.0:
        hint = " (it looks like 0-255: divide by 255)" if hi > 2.0 else ""
        raise ValueError(f"`{name}` must hold values in [0, 1]{hint}. Received: values in [{lo:g}, {hi:g}]")
    return x


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path, expected, sidecar):
    """Refuses `path` when its SHA-256 differs from `expected` (the hash its sidecar records)."""
    if expected is None:
        return
    actual = sha256_file(path)
    if actual != str(expected).lower():
        raise ValueError(f"Model file '{path}' does not match its sidecar '{sidecar}': the sidecar records "
                         f"sha256 {expected}, the file has sha256 {actual}. The file is corrupt or was replaced; "
                         "restore it, or rewrite it with the tool that made it.")


def available_memory_bytes():
    """Memory available to new allocations (Linux MemAvailable, else physical memory) in bytes, or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
