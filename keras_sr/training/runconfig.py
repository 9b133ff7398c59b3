"""A run written down in one file, and replayed from it. No TensorFlow.

A run file is a JSON (or, with PyYAML installed, YAML) object whose keys are the long
flags of the subcommand with underscores, and whose values are what the flags take:

    {"command": "train", "model": "fd_irb_edge", "scale": 4, "train": "$KERAS_SR_DATA/train/T91",
     "eval": "Set5", "steps_per_epoch": 500, "epochs": 20, "config": {"recursions": 2}}

`command` (optional) names the subcommand the file is for; `config` is the model config
(`--set`), as an object. Paths to read may start with `$KERAS_SR_DATA/` (see
`keras_sr.paths.expand_path`); `output_dir` is taken as written (relative to the
working folder). The run record a run writes
(`config.json` in its folder) is itself a run file: its `replay` key holds the options
the run started with, so `keras-sr train --config runs/x/config.json --output-dir runs/y`
runs it again. Flags given on the command line win over the file.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from keras_sr.paths import expand_path, portable_path

__all__ = ["REPLAY_KEY", "PATH_KEYS", "load_run_config", "apply_config_file", "replay_options"]

#: The key of a run record (config.json) that holds its replayable options.
REPLAY_KEY = "replay"
#: Options holding paths: made portable in records, expanded when read back.
PATH_KEYS = ("train", "eval", "weights", "init_weights", "output_dir", "data_root", "images_dir", "calibration",
             "tflite", "output")
OUTPUT_KEYS = ("output_dir", "output")
# Flags whose values are paths, whatever their name.
_PATH_METAVARS = ("PATH", "FILE", "DIR", "NAME_OR_PATH", "DIR_OR_H5")
# Flags that say how to run, not what: never taken from a record's `replay`.
_NOT_REPLAYED = ("resume", "force", "quiet", "verbose", "config_file")


def _read(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`config` file '{path}' does not exist.")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"'{path}' is a YAML file, but PyYAML is not installed: pip install pyyaml, "
                              "or write the run as JSON.") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"'{path}' is not valid YAML: {error}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"'{path}' is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"'{path}' must hold an object of options (flag names with underscores). "
                         f"Received: a {type(data).__name__}")
    return data


def load_run_config(path, command=None) -> dict:
    """The options of a run file, or of a run record's `replay` key.

    Args:
        path: a .json, .yaml or .yml file.
        command: the subcommand reading it (train, optimize, prepare, convert): a file or
            record whose "command" is another one is refused.

    Returns:
        {option: value}, paths expanded (`$KERAS_SR_DATA/...` -> the data root).
    """
    data = _read(path)
    recorded = data.get("command")
    if command is not None and recorded is not None and recorded != command:
        kind = "the record of a" if REPLAY_KEY in data else "a run file for a"
        raise ValueError(f"'{path}' is {kind} `keras-sr {recorded}` run, not `keras-sr {command}`.")
    if REPLAY_KEY in data:  # a run record
        data = data[REPLAY_KEY]
        if not isinstance(data, dict):
            raise ValueError(f"'{path}': `{REPLAY_KEY}` must be an object of options.")
    return {key: _expand(key, value) for key, value in data.items() if key != "command"}


def _expand(key, value, is_path=None):
    """Paths to read: `$KERAS_SR_DATA/...` and repository-relative names expanded."""
    if isinstance(value, list):
        return [_expand(key, v, is_path) for v in value]
    if not isinstance(value, str) or not (key in PATH_KEYS if is_path is None else is_path):
        return value
    if key in OUTPUT_KEYS and not value.startswith("$"):
        return value  # a folder to write: relative to the working folder, never redirected into the repository
    return str(expand_path(value))


def replay_options(options) -> dict:
    """`options` as a run record stores them: paths portable; None and False (a flag not
    given) left out, so every value is one the command line takes."""
    out = {}
    for key, value in options.items():
        if value is None or value is False or key in _NOT_REPLAYED:
            continue
        out[key] = portable_path(value) if key in PATH_KEYS else value
    return out


def _file_keys(parser):
    """{key: action} a run file may use: each visible long flag with underscores
    (`--steps-per-epoch` -> `steps_per_epoch`, `--int8` -> `int8`), and the dest of a flag
    that takes a value (`--set` -> `config`)."""
    keys = {}
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if action.dest in ("help", "verbose", "config_file"):
            continue
        for flag in action.option_strings:
            if flag.startswith("--"):
                keys.setdefault(flag[2:].replace("-", "_"), action)
        if action.nargs != 0:
            keys.setdefault(action.dest, action)
    return keys


_UNSET = object()


def _given_on_command_line(parser, args):
    """The dests the command line set (parsed again over a namespace of placeholders)."""
    argv = getattr(args, "argv", None)
    if argv is None:  # not from `run_main`: anything that is not its default counts as given
        return {dest for dest, value in vars(args).items() if value != parser.get_default(dest)}
    namespace = argparse.Namespace()
    for action in parser._actions:
        if action.dest != argparse.SUPPRESS:
            setattr(namespace, action.dest, [] if isinstance(action, argparse._AppendAction) else _UNSET)
    with contextlib.redirect_stderr(io.StringIO()):  # deprecation lines were printed on the first parse
        parsed = parser.parse_args(list(argv), namespace=namespace)
    return {dest for dest, value in vars(parsed).items() if value is not _UNSET and value != []}


def apply_config_file(args, parser):
    """Fill `args` from the file of `--config` (dest `config_file`); flags given win.

    Keys are the parser's long flags with underscores (or a valued flag's dest); an
    unknown key, or a value of the wrong kind, is a ValueError naming the file and the
    key. `config` (the model config, `--set`) merges key by key, `--set` winning. Paths
    to read are expanded (`$KERAS_SR_DATA/...`). Returns the options read from the file.
    """
    path = getattr(args, "config_file", None)
    if not path:
        return {}
    command = parser.prog.split()[-1]
    options = load_run_config(path, command)
    keys = _file_keys(parser)
    given = _given_on_command_line(parser, args)
    for key, value in options.items():
        action = keys.get(key)
        if action is None:
            raise ValueError(f"'{path}': unknown key {key!r} for `keras-sr {command}`. Keys are its long flags "
                             f"with underscores: {sorted(keys)}")
        if isinstance(action, argparse._AppendAction):
            if isinstance(value, dict):
                value = [f"{k}={v!r}" for k, v in value.items()]
            elif not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"'{path}': `{key}` must be an object such as {{\"recursions\": 2}}. "
                                 f"Received: {value!r}")
            setattr(args, action.dest, list(value) + list(getattr(args, action.dest, None) or []))
            continue
        if action.dest in given:
            continue
        value = _coerce(path, key, value, action)
        if value is not _UNSET:
            setattr(args, action.dest, value)
    return options


def _coerce(path, key, value, action):
    """`value` as the flag would store it; _UNSET for a flag the file leaves off."""
    if action.nargs == 0:  # store_true, store_const, --x/--no-x
        if not isinstance(value, bool):
            raise ValueError(f"'{path}': `{key}` must be true or false. Received: {value!r}")
        if isinstance(action, argparse.BooleanOptionalAction):
            return value != key.startswith("no_")
        return action.const if value else _UNSET
    if action.nargs in ("+", "*") or isinstance(action.nargs, int):
        values = value if isinstance(value, list) else [value]
        return [_coerce_one(path, key, v, action) for v in values]
    return _coerce_one(path, key, value, action)


def _coerce_one(path, key, value, action):
    if action.metavar in _PATH_METAVARS:
        value = _expand(key, value, is_path=True)
    if isinstance(value, str) and action.type is not None:
        try:
            value = action.type(value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as error:
            raise ValueError(f"'{path}': `{key}`: {error}") from None
    if action.type in (int, float) or getattr(action.type, "__name__", "").endswith("int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"'{path}': `{key}` must be a number. Received: {value!r}")
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"'{path}': `{key}` must be one of {list(action.choices)}. Received: {value!r}")
    return value
