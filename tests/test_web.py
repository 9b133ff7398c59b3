"""The browser page tflite/web/ in headless Chromium: `node --test` run from pytest.

The Python side makes the fixture (`make_fixture`): the x2/x3/x4 web bundles at tile 64,
a real Set5 LR image (baby, 128x128 after keras-sr's x4 degradation) and its upscale by
`keras-sr upscale --tflite BUNDLE/model.tflite`, an RGBA image for the alpha path, golden
tile plans, and bad inputs. The node test (tflite/web/test/) serves the page with
`keras-sr web --port 0`, drives /usr/bin/chromium through puppeteer-core and asserts the
page's result against the CLI's (PSNR >= 45 dB, exact size) and the error messages.

Skips, with the reason, where node, chromium or the page's node_modules (`npm ci` in
tflite/web) are missing. `KERAS_SR_WRITE_SCREENSHOT=1` writes docs/web_screenshot.png;
otherwise the screenshot goes to a temporary folder.

    python tests/test_web.py DIR      # the fixture alone (what `npm test` makes when run by hand)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
WEB_DIR = REPO_ROOT / "tflite" / "web"
CHROMIUM = os.environ.get("KERAS_SR_CHROMIUM", "/usr/bin/chromium")
#: The bundles' tile in the test: small, so the Set5 image runs as 9 tiles with shifted last windows.
TILE = 64
#: (length, tile, overlap) cases whose `tile_windows` the JS plan must reproduce.
WINDOW_CASES = [(1, 64, 16), (57, 64, 16), (64, 64, 16), (65, 64, 16), (86, 64, 16), (128, 64, 16), (200, 64, 16),
                (1000, 128, 16), (70, 32, 15), (33, 16, 4), (17, 8, 3), (9, 3, 1)]


def make_fixture(folder, data_root):
    """Writes the files the node test reads into `folder`; returns its meta.json as a dict."""
    from PIL import Image

    from keras_sr.cli.upscale import main as upscale_main
    from keras_sr.data.degrade import make_lr
    from keras_sr.lite.tiling import tile_windows
    from keras_sr.web import ensure_bundles

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ensure_bundles(folder / "models", tile=TILE, log=lambda *a: None)
    model = folder / "models" / "x4" / "model.tflite"

    hr = np.asarray(Image.open(Path(data_root) / "Set5" / "baby.png").convert("RGB"))
    _, lr = make_lr(hr, 4)
    Image.fromarray(lr).save(folder / "lr.png")
    start = time.perf_counter()
    rc = upscale_main([str(folder / "lr.png"), "-o", str(folder / "ref.png"), "--tflite", str(model), "--quiet",
                       "--force"])
    python_s = time.perf_counter() - start
    assert rc == 0, "keras-sr upscale failed on the fixture"
    ref = np.asarray(Image.open(folder / "ref.png").convert("RGBA"))
    _raw(folder / "lr.rgba", lr)
    _raw(folder / "ref.rgba", ref)

    # An RGBA image smaller than the tile (edge padding) with a varied alpha channel.
    rng = np.random.default_rng(16)
    rgba = np.concatenate([lr[40:70, 30:70], rng.integers(0, 256, (30, 40, 1), dtype=np.uint8)], axis=-1)
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    rc = upscale_main([str(folder / "alpha.png"), "-o", str(folder / "alpha_ref.png"), "--tflite", str(model),
                       "--quiet", "--force"])
    assert rc == 0, "keras-sr upscale failed on the RGBA fixture"
    _raw(folder / "alpha.rgba", rgba)
    _raw(folder / "alpha_ref.rgba", np.asarray(Image.open(folder / "alpha_ref.png").convert("RGBA")))

    (folder / "not_image.png").write_text("This is a text file with an image's name.\n")
    Image.new("RGB", (8200, 2), (120, 130, 140)).save(folder / "wide.png")  # x4: 32800 px wide, over the limit
    windows = [[length, tile, overlap, [list(w) for w in tile_windows(length, tile, overlap)]]
               for length, tile, overlap in WINDOW_CASES]
    meta = {"lr": [lr.shape[1], lr.shape[0]], "ref": [ref.shape[1], ref.shape[0]], "alpha": [40, 30],
            "alpha_ref": [160, 120], "scale": 4, "tile": TILE, "image": "Set5/baby.png", "python_upscale_s": python_s,
            "windows": windows}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return meta


def _raw(path, pixels):
    rgba = pixels if pixels.shape[-1] == 4 else np.concatenate(
        [pixels, np.full(pixels.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    Path(path).write_bytes(np.ascontiguousarray(rgba, dtype=np.uint8).tobytes())


def _missing():
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not Path(CHROMIUM).is_file():
        return f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    for package in ("puppeteer-core", "@litertjs/core"):
        if not (WEB_DIR / "node_modules" / package).is_dir():
            return f"tflite/web/node_modules/{package} is missing: run `npm ci` in tflite/web"
    return None


def test_page_in_headless_chromium(tmp_path, data_root):
    import pytest

    reason = _missing()
    if reason:
        pytest.skip(reason)
    make_fixture(tmp_path / "fixture", data_root)
    env = dict(os.environ, KERAS_SR_WEB_FIXTURE=str(tmp_path / "fixture"), KERAS_SR_PYTHON=sys.executable,
               KERAS_SR_CHROMIUM=CHROMIUM)
    if not os.environ.get("KERAS_SR_WRITE_SCREENSHOT"):
        env["KERAS_SR_SCREENSHOT"] = str(tmp_path / "web_screenshot.png")
    proc = subprocess.run(["node", "--test", "--test-reporter=spec"], cwd=WEB_DIR, env=env, capture_output=True,
                          text=True, timeout=180)
    print(proc.stdout[-6000:], proc.stderr[-3000:])
    assert proc.returncode == 0, f"node --test failed in tflite/web:\n{proc.stdout[-8000:]}\n{proc.stderr[-3000:]}"
    results = json.loads((tmp_path / "fixture" / "results.json").read_text())
    print("web page results:", results)
    assert float(results["psnr_db"]) >= 45.0  # "Infinity" when bit-identical
    assert results["size"] == [4 * 128, 4 * 128]


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))
    print(json.dumps(make_fixture(sys.argv[1], os.environ.get("KERAS_SR_DATA", REPO_ROOT.parent / "shared" /
                                                                         "datasets")), indent=1))


# ---------------------------------------------------------------------- the server, without a browser


def _fake_page(folder):
    (folder / "node_modules" / "@litertjs" / "core").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>page</title>")
    return folder


def _get(url):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, b""


def test_server_serves_page_and_bundles_on_localhost_with_isolation_headers(tmp_path):
    import threading

    from keras_sr.web import make_server

    page = _fake_page(tmp_path / "page")
    (tmp_path / "models" / "x4").mkdir(parents=True)
    (tmp_path / "models" / "x4" / "model.json").write_text('{"scale": 4}')
    (tmp_path / "secret.txt").write_text("outside both folders")
    server = make_server(tmp_path / "models", port=0, page_dir=page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        status, headers, body = _get(base + "/")
        assert status == 200 and b"<title>page</title>" in body
        assert headers["cross-origin-opener-policy"] == "same-origin"
        assert headers["cross-origin-embedder-policy"] == "require-corp"
        status, headers, body = _get(base + "/models/x4/model.json?v=1")
        assert status == 200 and json.loads(body) == {"scale": 4}
        assert headers["content-type"].startswith("application/json")
        assert _get(base + "/models/x3/model.json")[0] == 404
        assert _get(base + "/models/../secret.txt")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_ensure_bundles_exports_once_and_again_when_damaged(tmp_path):
    from keras_sr.web import bundle_overlap, ensure_bundles

    logged = []
    (folder,) = ensure_bundles(tmp_path, tile=16, scales=(2,), log=logged.append)
    facts = json.loads((folder / "model.json").read_text())
    assert (facts["target"], facts["scale"], facts["tile"], facts["overlap"]) == ("web", 2, [16, 16], bundle_overlap(16))
    assert bundle_overlap(16) == 7 and bundle_overlap(128) == 16  # what keras-sr upscale uses for a fixed tile
    ensure_bundles(tmp_path, tile=16, scales=(2,), log=logged.append)
    assert len(logged) == 1, "a matching bundle is not exported again"
    model = folder / "model.tflite"
    model.write_bytes(model.read_bytes()[:-1] + b"\0")
    ensure_bundles(tmp_path, tile=16, scales=(2,), log=logged.append)
    assert len(logged) == 2, "a bundle whose model.tflite lost its SHA-256 is exported again"


def test_cli_web_says_what_is_missing(tmp_path, monkeypatch, capsys):
    import keras_sr.web
    from keras_sr.cli.web import main

    monkeypatch.setattr(keras_sr.web, "PAGE_DIR", tmp_path / "page")
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text("<!doctype html>")
    assert main(["--port", "0", "--output-dir", str(tmp_path / "models")]) == 2
    assert "run `npm ci` in" in capsys.readouterr().err
    assert not (tmp_path / "models").exists(), "nothing is exported for a page that cannot run"
    assert main(["--port", "70000"]) == 2
    assert "expected a TCP port in [0, 65535]" in capsys.readouterr().err
