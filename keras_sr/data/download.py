"""Download and unpack datasets: streamed, checksummed, resumable, atomic. No TensorFlow.

    from keras_sr.data import download
    folder = download.fetch(download.DIV2K["valid_hr"], "datasets")   # datasets/DIV2K_valid_HR/

`download_file(url, dest)` streams `url` into `dest.part`, resumes an interrupted transfer
with an HTTP Range request (`bytes=N-`; a server that answers 200 instead of 206 is read
again from the start), hashes while it writes, and only then renames the part file to
`dest`. With an expected SHA-256 a mismatch raises `ChecksumError` and the bytes are moved
aside to `dest.rejected`: they are never left under the complete name. Without one, the
hash of the first complete download is recorded in a sidecar `dest.sha256`
(`sha256sum -c` format), and a later call checks the file against it (`verify=True`).

`extract(archive, output_dir)` unpacks a .zip or .tar(.gz) into a scratch folder beside
the output and moves each top-level entry into place, so an interrupted extraction never
leaves a half-filled folder under its final name; members that would land outside the
output folder are refused. `fetch` is the two together, skipping what is already done.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["Remote", "DIV2K", "ChecksumError", "download_file", "extract", "fetch", "file_sha256", "read_sidecar"]

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Remote:
    """A file to download: its URL and, when known, its size in bytes and SHA-256 (hex).

    `folder` names the top-level folder the archive unpacks to; `checksum_source` says where
    `sha256` and `size` were published (they are checked, not trusted blindly).
    """

    url: str
    size: int | None = None
    sha256: str | None = None
    folder: str | None = None
    checksum_source: str = ""

    @property
    def name(self) -> str:
        return Path(unquote(urlparse(self.url).path)).name


_TFDS = ("published in tensorflow/datasets (tensorflow_datasets/url_checksums/div2k.txt); "
         "not downloaded and checked by keras-sr's CI, which has no network")

#: DIV2K (Agustsson & Timofte, NTIRE 2017) high-resolution images from the official site,
#: https://data.vision.ee.ethz.ch/cvl/DIV2K/ : 800 training and 100 validation PNGs.
DIV2K = {
    "train_hr": Remote("https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip", size=3_530_603_713,
                       sha256="9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
                       folder="DIV2K_train_HR", checksum_source=_TFDS),
    "valid_hr": Remote("https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip", size=448_993_893,
                       sha256="20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
                       folder="DIV2K_valid_HR", checksum_source=_TFDS),
}


class ChecksumError(ValueError):
    """The downloaded bytes do not have the expected SHA-256 (or size)."""


def file_sha256(path, chunk=CHUNK_BYTES) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def read_sidecar(path) -> str | None:
    """The SHA-256 recorded beside `path` (`path.sha256`), or None."""
    side = sidecar_path(path)
    try:
        text = side.read_text().split()
    except OSError:
        return None
    return text[0].lower() if text and len(text[0]) == 64 else None


def _write_atomic_text(path, text):
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _check_sha256(value, what="sha256"):
    if value is None:
        return None
    text = str(value).strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"`{what}` must be 64 hex digits (a SHA-256). Received: {what}={value!r}")
    return text


class _Progress:
    """tqdm when it is installed (notebook-aware through tqdm.auto), else a line every 10 %."""

    def __init__(self, enabled, total, initial, name, log):
        self.bar, self.total, self.done, self.name, self.log, self.next_pct = None, total, initial, name, log, 10
        if not enabled:
            self.log = None
            return
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name)
        except ImportError:
            pass

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.log and self.total:
            pct = 100 * self.done // self.total
            if pct >= self.next_pct:
                self.log(f"{self.name}: {pct}% of {self.total:,} bytes")
                self.next_pct = pct // 10 * 10 + 10

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _content_range_total(header):
    """'bytes 100-199/1000' or 'bytes */1000' -> 1000; None when absent or unknown."""
    if not header or "/" not in header:
        return None
    total = header.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def _stream_once(url, part, state, timeout, chunk, progress, name, log, size):
    """One HTTP request appending to `part` from its current length. Returns the total size if known.

    `state["digest"]` holds the hash of the bytes already in `part` and is updated with each new chunk.
    """
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "keras-sr"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:
            total = _content_range_total(error.headers.get("Content-Range"))
            if total == have:  # the part already holds every byte
                return total
            raise _Restart from None
        raise
    with response:
        status = getattr(response, "status", 200)
        if have and status == 206:
            start = response.headers.get("Content-Range", "")
            if not start.startswith(f"bytes {have}-"):
                raise _Restart
            total = _content_range_total(start)
            mode = "ab"
        else:
            if have:
                log(f"{name}: the server does not resume (HTTP {status}); downloading from the start")
                state["digest"] = hashlib.sha256()
                have = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else size
            mode = "wb"
        bar = _Progress(progress, total or size, have, name, log)
        try:
            with open(part, mode) as f:
                for block in iter(lambda: response.read(chunk), b""):
                    f.write(block)
                    state["digest"].update(block)
                    bar.update(len(block))
                f.flush()
                os.fsync(f.fileno())
        finally:
            bar.close()
    return total


class _Restart(Exception):
    """The part file cannot be continued: start again from byte 0."""


def _hash_of(path):
    digest = hashlib.sha256()
    if path.exists():
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK_BYTES), b""):
                digest.update(block)
    return digest


def download_file(url, dest, sha256=None, size=None, *, resume=True, verify=False, retries=3, timeout=60,
                  backoff=2.0, chunk_size=CHUNK_BYTES, progress=True, log=print) -> Path:
    """Downloads `url` to `dest` (a file path, or an existing folder to put the URL's file name in).

    Args:
        url: http(s) or file URL.
        dest: the complete file's path, or a folder.
        sha256: expected hex SHA-256, or None to record the hash of the first download in
            `dest.sha256` and check later calls against that record.
        size: expected size in bytes, or None.
        resume: continue `dest.part` left by an interrupted call (HTTP Range) instead of
            starting again.
        verify: re-hash an already complete `dest` against `sha256` or its sidecar (a
            complete file is otherwise trusted when its size matches).
        retries: further attempts after a dropped connection, each resuming where the last stopped.
        backoff: seconds before the first retry, doubled for each further one (at most 30).
        timeout: seconds without data before a connection counts as dropped.
        progress: show a progress bar (tqdm when installed).
        log: where messages go (`print`; `lambda *a: None` for silence).

    Returns:
        The path of the complete, checked file.

    Raises:
        ChecksumError: the bytes do not match `sha256` (or the sidecar, or `size`); they are
            moved to `dest.rejected`, never left as `dest`.
        urllib.error.URLError, OSError: the transfer failed `retries + 1` times; `dest.part`
            is kept, and the next call resumes it.
    """
    sha256 = _check_sha256(sha256)
    if size is not None and (isinstance(size, bool) or int(size) < 0):
        raise ValueError(f"`size` must be a byte count >= 0 or None. Received: size={size!r}")
    dest = Path(dest)
    name = Remote(url).name
    if dest.is_dir():
        dest = dest / name
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"`dest` folder '{dest.parent}' does not exist.")
    expected = sha256 or read_sidecar(dest)
    if dest.is_file():
        if size is not None and dest.stat().st_size != int(size):
            raise ChecksumError(f"'{dest}' holds {dest.stat().st_size:,} bytes, not the expected {int(size):,}; "
                                f"delete it to download {url} again.")
        recorded = read_sidecar(dest)
        if verify or recorded is None or (sha256 and recorded != sha256):
            got = file_sha256(dest)
            if expected and got != expected:
                raise ChecksumError(f"'{dest}' has SHA-256 {got}, not the expected {expected}; delete it to "
                                    f"download {url} again.")
            if recorded != got:
                _write_atomic_text(sidecar_path(dest), f"{got}  {dest.name}\n")
        log(f"{dest.name}: already downloaded")
        return dest

    part = dest.with_name(dest.name + ".part")
    if part.exists() and not resume:
        part.unlink()
    state = {"digest": _hash_of(part)}
    if part.exists():
        log(f"{name}: resuming at {part.stat().st_size:,} bytes")
    total, attempt = None, 0
    while True:
        try:
            total = _stream_once(url, part, state, timeout, chunk_size, progress, name, log, size)
            have = part.stat().st_size
            if total is not None and have < total:
                raise ConnectionError(f"the connection closed at {have:,} of {total:,} bytes")
            break
        except _Restart:
            log(f"{name}: the partial file cannot be continued; downloading from the start")
            part.unlink(missing_ok=True)
            state["digest"] = hashlib.sha256()
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
            if isinstance(error, urllib.error.HTTPError) and error.code < 500:
                raise
            attempt += 1
            if attempt > retries:
                raise
            log(f"{name}: {error}; retrying ({attempt}/{retries}), resuming at "
                f"{part.stat().st_size if part.exists() else 0:,} bytes")
            time.sleep(min(backoff * 2 ** (attempt - 1), 30))

    got, have = state["digest"].hexdigest(), part.stat().st_size
    problem = None
    if size is not None and have != int(size):
        problem = f"{have:,} bytes, not the expected {int(size):,}"
    elif expected and got != expected:
        problem = f"SHA-256 {got}, not the expected {expected}"
    if problem:
        rejected = dest.with_name(dest.name + ".rejected")
        os.replace(part, rejected)
        raise ChecksumError(f"the download of {url} has {problem}. The bytes are kept as '{rejected}' (not as "
                            f"'{dest.name}'); the next call downloads again.")
    os.replace(part, dest)
    if read_sidecar(dest) != got:
        _write_atomic_text(sidecar_path(dest), f"{got}  {dest.name}\n")
    log(f"{dest.name}: {have:,} bytes, SHA-256 {got}" + (" (checked)" if expected else " (recorded in "
                                                                                         f"{sidecar_path(dest).name})"))
    return dest


def _safe_member(root, name):
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"archive member '{name}' would be written outside '{root}'")
    return target


def _marker(output_dir, archive):
    return Path(output_dir) / f".{Path(archive).name}.extracted"


def extract(archive, output_dir, force=False, log=print) -> list[Path]:
    """Unpacks a .zip, .tar, .tar.gz or .tgz `archive` into `output_dir`; returns its top-level entries.

    Done once: a marker `output_dir/.ARCHIVE.extracted` lists the entries, and a later call
    returns them unless `force`. Entries are unpacked into a scratch folder and moved into
    place one by one (an existing entry of the same name is replaced).
    """
    archive, output_dir = Path(archive), Path(output_dir)
    if not archive.is_file():
        raise FileNotFoundError(f"`archive` '{archive}' does not exist.")
    output_dir.mkdir(parents=True, exist_ok=True)
    marker = _marker(output_dir, archive)
    if marker.is_file() and not force:
        entries = [output_dir / line for line in marker.read_text().splitlines() if line]
        if all(p.exists() for p in entries):
            log(f"{archive.name}: already extracted")
            return entries
    scratch = Path(tempfile.mkdtemp(dir=output_dir, prefix=f".{archive.name}.extracting-"))
    root = scratch.resolve()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    _safe_member(root, info.filename)
                z.extractall(scratch)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                members = t.getmembers()
                for m in members:
                    _safe_member(root, m.name)
                    if m.issym() or m.islnk() or m.isdev():
                        raise ValueError(f"archive member '{m.name}' is a link or a device; refused")
                t.extractall(scratch, members=members)
        else:
            raise ValueError(f"`archive` '{archive}' is neither a zip nor a tar file.")
        entries = []
        for item in sorted(scratch.iterdir()):
            final = output_dir / item.name
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            elif final.exists() or final.is_symlink():
                final.unlink()
            os.replace(item, final)
            entries.append(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _write_atomic_text(marker, "".join(f"{p.name}\n" for p in entries))
    log(f"{archive.name}: extracted {', '.join(p.name for p in entries)} into {output_dir}")
    return entries


def fetch(remote, root, *, keep_archive=True, progress=True, log=print, **kwargs) -> Path:
    """Downloads a `Remote` (or a URL) into `root` and unpacks it there; returns the unpacked folder.

    The folder is `root / remote.folder` when the remote names one, else `root` itself.
    Keyword arguments go to `download_file` (`resume`, `verify`, `retries`, `timeout`, ...).
    With `keep_archive=False` the archive is deleted once unpacked (its sidecar stays).
    """
    remote = remote if isinstance(remote, Remote) else Remote(str(remote))
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / remote.folder if remote.folder else root
    archive = root / remote.name
    marker = _marker(root, archive)
    if marker.is_file() and target.exists() and not archive.exists():
        log(f"{remote.name}: already extracted")
        return target
    path = download_file(remote.url, archive, sha256=remote.sha256, size=remote.size, progress=progress, log=log,
                         **kwargs)
    extract(path, root, log=log)
    if not keep_archive:
        path.unlink()
    if not target.exists():
        raise FileNotFoundError(f"'{remote.name}' did not unpack to '{target}'.")
    return target
