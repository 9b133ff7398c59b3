"""keras_sr.data.download against a local HTTP server (stdlib, 127.0.0.1) that honours Range.

The server serves a small zip made here; it can drop the connection part way (a transfer
that resumes), ignore Range (a server that cannot resume) and log the headers it got.
"""
import hashlib
import http.server
import io
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from keras_sr.data import download
from tests.conftest import REPO_ROOT

QUIET = dict(progress=False, log=lambda *a, **k: None, backoff=0)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        server = self.server
        body = server.files.get(self.path)
        server.requests.append((self.path, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and server.honour_range:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        chunk = body[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(chunk)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()
        if server.drop_after is not None:
            # Promise the whole body, send part of it, hang up: an interrupted transfer.
            cut, server.drop_after = server.drop_after, None
            self.wfile.write(chunk[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests, httpd.drop_after, httpd.honour_range = {}, [], None, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    httpd.url = lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _zip_bytes():
    """A zip holding folder `pairs/` with 3 incompressible 40 KB files (~120 KB in all)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(3):
            z.writestr(f"pairs/img_{i}.bin", hashlib.sha256(bytes([i])).digest() * 1280)
    return buf.getvalue()


@pytest.fixture
def served_zip(server):
    data = _zip_bytes()
    server.files["/data/pairs.zip"] = data
    return server.url("/data/pairs.zip"), data, hashlib.sha256(data).hexdigest()


def test_download_streams_checks_and_records_the_hash(served_zip, tmp_path):
    url, data, sha = served_zip
    path = download.download_file(url, tmp_path, sha256=sha, size=len(data), chunk_size=4096, **QUIET)
    assert path == tmp_path / "pairs.zip" and path.read_bytes() == data
    assert (tmp_path / "pairs.zip.sha256").read_text() == f"{sha}  pairs.zip\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.zip", "pairs.zip.sha256"]  # no .part left


def test_without_a_checksum_the_first_hash_is_recorded_and_later_checked(served_zip, tmp_path):
    url, data, sha = served_zip
    path = download.download_file(url, tmp_path, **QUIET)
    assert download.read_sidecar(path) == sha
    assert download.download_file(url, tmp_path, verify=True, **QUIET) == path  # no second transfer
    path.write_bytes(data[:-1] + b"x")  # corrupted on disk after the first download
    with pytest.raises(download.ChecksumError, match=f"not the expected {sha}"):
        download.download_file(url, tmp_path, verify=True, **QUIET)


def test_an_interrupted_transfer_resumes_with_a_range_request(served_zip, server, tmp_path):
    url, data, sha = served_zip
    server.drop_after = 50_000
    with pytest.raises(ConnectionError, match="50,000 of"):
        download.download_file(url, tmp_path, sha256=sha, retries=0, chunk_size=4096, **QUIET)
    # Atomic: only the part file exists, never a half file under the final name.
    assert not (tmp_path / "pairs.zip").exists()
    assert (tmp_path / "pairs.zip.part").stat().st_size == 50_000
    path = download.download_file(url, tmp_path, sha256=sha, chunk_size=4096, **QUIET)
    assert path.read_bytes() == data and not (tmp_path / "pairs.zip.part").exists()
    assert server.requests[-1] == ("/data/pairs.zip", "bytes=50000-")


def test_a_dropped_connection_is_retried_within_one_call(served_zip, server, tmp_path):
    url, data, sha = served_zip
    server.drop_after = 30_000
    path = download.download_file(url, tmp_path, sha256=sha, retries=2, **QUIET)
    assert path.read_bytes() == data
    assert [r for _, r in server.requests] == [None, "bytes=30000-"]


def test_a_server_that_ignores_range_is_read_from_the_start(served_zip, server, tmp_path):
    url, data, sha = served_zip
    (tmp_path / "pairs.zip.part").write_bytes(data[:1000])
    server.honour_range = False
    assert download.download_file(url, tmp_path, sha256=sha, **QUIET).read_bytes() == data


def test_a_complete_part_file_answered_416_is_kept(served_zip, tmp_path):
    url, data, sha = served_zip
    (tmp_path / "pairs.zip.part").write_bytes(data)
    assert download.download_file(url, tmp_path, sha256=sha, **QUIET).read_bytes() == data


def test_a_stale_part_that_is_longer_than_the_file_starts_again(served_zip, tmp_path):
    url, data, sha = served_zip
    (tmp_path / "pairs.zip.part").write_bytes(b"\0" * (len(data) + 10))
    assert download.download_file(url, tmp_path, sha256=sha, **QUIET).read_bytes() == data


def test_a_checksum_mismatch_is_a_clear_error_and_the_file_is_not_kept_as_complete(served_zip, tmp_path):
    url, data, sha = served_zip
    wrong = "0" * 64
    with pytest.raises(download.ChecksumError) as caught:
        download.download_file(url, tmp_path, sha256=wrong, **QUIET)
    message = str(caught.value)
    assert url in message and sha in message and wrong in message and "pairs.zip.rejected" in message
    assert not (tmp_path / "pairs.zip").exists() and not (tmp_path / "pairs.zip.part").exists()
    assert not (tmp_path / "pairs.zip.sha256").exists()
    assert (tmp_path / "pairs.zip.rejected").read_bytes() == data
    with pytest.raises(download.ChecksumError, match="bytes, not the expected"):
        download.download_file(url, tmp_path, size=len(data) + 1, **QUIET)
    assert not (tmp_path / "pairs.zip").exists()


def test_bad_arguments_and_http_errors_are_named(server, tmp_path):
    with pytest.raises(ValueError, match=r"`sha256` must be 64 hex digits.*Received: sha256='abc'"):
        download.download_file(server.url("/x.zip"), tmp_path, sha256="abc", **QUIET)
    with pytest.raises(FileNotFoundError, match="`dest` folder"):
        download.download_file(server.url("/x.zip"), tmp_path / "no" / "x.zip", **QUIET)
    with pytest.raises(download.urllib.error.HTTPError, match="404"):
        download.download_file(server.url("/missing.zip"), tmp_path, **QUIET)
    assert not list(tmp_path.iterdir())


def test_fetch_downloads_and_extracts_once(served_zip, server, tmp_path):
    url, data, sha = served_zip
    remote = download.Remote(url, size=len(data), sha256=sha, folder="pairs")
    folder = download.fetch(remote, tmp_path / "datasets", **QUIET)
    assert folder == tmp_path / "datasets" / "pairs"
    assert sorted(p.name for p in folder.iterdir()) == ["img_0.bin", "img_1.bin", "img_2.bin"]
    n = len(server.requests)
    assert download.fetch(remote, tmp_path / "datasets", **QUIET) == folder
    assert len(server.requests) == n  # nothing fetched again
    leftovers = [p.name for p in (tmp_path / "datasets").iterdir() if "extracting" in p.name or p.suffix == ".part"]
    assert not leftovers


def test_extract_refuses_members_outside_the_folder_and_leaves_nothing(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("ok/a.txt", "a")
        z.writestr("../escaped.txt", "b")
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="outside"):
        download.extract(evil, out, log=lambda *a: None)
    assert not (tmp_path / "escaped.txt").exists() and not list(out.iterdir())
    (tmp_path / "junk.zip").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        download.extract(tmp_path / "junk.zip", out, log=lambda *a: None)
    assert not list(out.iterdir())


def test_extract_reads_tar_archives_too(tmp_path):
    import tarfile

    src = tmp_path / "src" / "Set5"
    src.mkdir(parents=True)
    (src / "baby.png").write_bytes(b"png")
    with tarfile.open(tmp_path / "bench.tar.gz", "w:gz") as t:
        t.add(src, arcname="Set5")
    assert download.extract(tmp_path / "bench.tar.gz", tmp_path / "out", log=lambda *a: None) == [
        tmp_path / "out" / "Set5"]
    assert (tmp_path / "out" / "Set5" / "baby.png").read_bytes() == b"png"


def test_div2k_remotes_name_the_official_site():
    for remote in download.DIV2K.values():
        assert remote.url.startswith("https://data.vision.ee.ethz.ch/cvl/DIV2K/") and remote.url.endswith("_HR.zip")
        assert len(remote.sha256) == 64 and remote.size > 10**8 and remote.folder == Path(remote.name).stem
        assert "not downloaded and checked" in remote.checksum_source


def test_the_download_module_imports_no_tensorflow():
    code = "import sys, keras_sr.data.download; assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=60)
