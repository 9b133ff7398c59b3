"""Where things live: the datasets (`KERAS_SR_DATA`), the shipped models, evaluation sets.

No TensorFlow import: the board runtime and every `--help` use this module.

A bare evaluation name (`Set5`) resolves under `data_root`, then under
`$KERAS_SR_DATA`, then under `../shared/datasets` beside a source checkout; anything
that exists as given (a folder of HR images or an `.h5` file) is used as is.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DATA_ENV",
    "REPO_ROOT",
    "PRETRAINED_DIR",
    "PAPER_DATASETS",
    "data_root",
    "resolve_eval",
    "portable_path",
    "expand_path",
]

#: The environment variable naming the datasets folder (Set5/, Set14/, ..., train/).
DATA_ENV = "KERAS_SR_DATA"
#: The source checkout (or the folder holding the installed package).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Weights, int8 files and cards shipped inside the package.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
#: The benchmark sets SR papers report, in their usual order.
PAPER_DATASETS = ("Set5", "Set14", "BSD100", "Urban100")
# A source checkout keeps the datasets beside it (the project's CI layout).
_CHECKOUT_DATA = REPO_ROOT.parent / "shared" / "datasets"
# How portable paths spell the data root and the repository in run records and cards.
_DATA_TOKEN = "$" + DATA_ENV
_REPO_TOKEN = "$KERAS_SR_REPO"


def data_root(explicit=None) -> Path:
    """`explicit` if given, else `$KERAS_SR_DATA`, else `../shared/datasets` of a checkout."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return _CHECKOUT_DATA


def _roots(explicit):
    roots = []
    if explicit is not None:
        roots.append(("--data-root", Path(explicit)))
    if os.environ.get(DATA_ENV):
        roots.append((DATA_ENV, Path(os.environ[DATA_ENV])))
    elif explicit is None:
        roots.append(("the checkout's ../shared/datasets", _CHECKOUT_DATA))
    return roots


def resolve_eval(name_or_path, scale=None, data_root=None) -> Path:
    """An evaluation set as a path.

    Tried in order: the path as given; then under `data_root`, then `$KERAS_SR_DATA`
    (or, without it, `../shared/datasets` beside a checkout): `ROOT/NAME` (a folder of HR
    images or an .h5 file) and `ROOT/NAME_x{scale}.h5` (`keras-sr prepare --kind eval`).

    Raises:
        FileNotFoundError: naming every place that was tried.
    """
    text = str(name_or_path)
    direct = expand_path(text)
    tried = [str(direct)]
    if direct.exists():
        return direct
    for _, root in _roots(data_root):
        candidates = [root / text]
        if scale is not None:
            candidates.append(root / f"{text}_x{scale}.h5")
        for candidate in candidates:
            tried.append(str(candidate))
            if candidate.exists():
                return candidate
    raise FileNotFoundError(
        f"`eval` {text!r} not found: tried {tried}. Expected a folder of HR images, an .h5 file "
        f"(keras-sr prepare --kind eval), or a name under --data-root or ${DATA_ENV}."
    )


def portable_path(path) -> str:
    """`path` for a run record or a card: relative to the data root or the repository.

    Paths under the data root become `$KERAS_SR_DATA/...`, paths in the repository
    become relative to it (`keras_sr/pretrained/...`); others stay as given. No machine's
    absolute path ends up in a committed file this way.
    """
    if path is None:
        return None
    p = Path(path)
    resolved = p.resolve() if p.exists() or p.is_absolute() else (Path.cwd() / p).resolve()
    for root, token in ((data_root(), _DATA_TOKEN), (REPO_ROOT, None)):
        try:
            relative = resolved.relative_to(Path(root).resolve())
        except ValueError:
            continue
        return relative.as_posix() if token is None else f"{token}/{relative.as_posix()}"
    return str(path)


def expand_path(text) -> Path:
    """The inverse of `portable_path`: `$KERAS_SR_DATA/x` under the data root; a
    repository-relative path that does not exist from here is taken from the repository."""
    text = str(text)
    if text == _DATA_TOKEN or text.startswith(_DATA_TOKEN + "/"):
        return data_root() / text[len(_DATA_TOKEN) + 1:]
    if text.startswith(_REPO_TOKEN + "/"):
        return REPO_ROOT / text[len(_REPO_TOKEN) + 1:]
    path = Path(text)
    if not path.is_absolute() and not path.exists() and (REPO_ROOT / path).exists():
        return REPO_ROOT / path
    return path
