"""Atomic file output (no TensorFlow): a crash never leaves a half-written file."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


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


def write_bytes(path, data, overwrite=True):
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_text(path, text, overwrite=True):
    with atomic_output(path, overwrite=overwrite) as tmp:
        Path(tmp).write_text(text)
    return Path(path)
