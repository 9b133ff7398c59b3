"""Atomic file output (no TensorFlow): a crash never leaves a half-written file."""
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

#: A leftover untouched this long (seconds) is from a run that died, not from one still writing.
STALE_AFTER_S = 120


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path, overwrite=True, suffix=".tmp"):
    """Yields a temporary path beside `path`; when the block succeeds, moves it into place.

    The file gets the usual permissions (0666 minus the umask; mkstemp alone gives 0600).
    With `overwrite=False` the final move fails with FileExistsError if `path` exists,
    even if it appeared while the block ran (a hard link never replaces a file).
    `suffix` matters to writers that choose a format from the name (".weights.h5").
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"Output folder '{folder}' of '{path}' does not exist.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' already exists; pass force=True (--force) to overwrite it.")
    remove_stale_temps(path, suffix)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"'{path}' already exists; pass force=True (--force) to overwrite it.") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _is_stale(path, now):
    try:
        return now - path.lstat().st_mtime >= STALE_AFTER_S
    except OSError:  # removed meanwhile
        return False


def remove_stale(paths, why):
    """Removes the files or folders in `paths` untouched for STALE_AFTER_S, saying so on stderr.

    Returns the removed paths.
    """
    now, removed = time.time(), []
    for path in paths:
        path = Path(path)
        if not _is_stale(path, now):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        print(f"keras-sr: removed '{path}', {why}.", file=sys.stderr)
        removed.append(path)
    return removed


def remove_stale_temps(path, suffix=".tmp"):
    """Removes the temporary files `atomic_output(path)` leaves when a run is killed: `.NAME.XXXXXXXX<suffix>`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}{re.escape(suffix)}")
    try:
        names = [p for p in folder.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    return remove_stale(names, f"a temporary file of '{path.name}' left by an interrupted run")


def write_bytes(path, data, overwrite=True):
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_text(path, text, overwrite=True):
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text)
    return Path(path)
