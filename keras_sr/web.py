"""The browser page `tflite/web/`: its model bundles and a local server (standard library only).

    serve(port=8000, output_dir=None, tile=128)

exports the web bundles of the shipped int8 presets fd_irb_edge_x2/x3/x4 when they are
missing (`keras_sr.export.export(target="web")`, one folder `x{scale}` each), then serves
the page at http://127.0.0.1:PORT/ and the bundles under /models/ with Python's
`http.server`. The page needs its npm dependencies (`npm ci` in tflite/web): they are
served from its node_modules/, so it works offline.

The responses carry the cross-origin isolation headers (COOP/COEP) that let the page use
LiteRT.js's threaded WebAssembly build (SharedArrayBuffer).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["PAGE_DIR", "SCALES", "DEFAULT_TILE", "DEFAULT_PORT", "bundle_overlap", "ensure_bundles", "make_server",
           "serve", "main"]

#: The page's static files (index.html, src/, package.json, node_modules/ after `npm ci`).
PAGE_DIR = Path(__file__).resolve().parents[1] / "tflite" / "web"
#: Scales the page offers: one bundle of the preset fd_irb_edge_x{scale} each.
SCALES = (2, 3, 4)
#: LR tile the bundles are frozen at: larger tiles waste less work on context pixels.
DEFAULT_TILE = 128
DEFAULT_PORT = 8000
# keras_sr.upscale.DEFAULT_OVERLAP: the page then cuts the same windows as `keras-sr upscale`.
_UPSCALE_OVERLAP = 16


def bundle_overlap(tile) -> int:
    """The overlap recorded in a web bundle: what `keras-sr upscale --tflite BUNDLE/model.tflite` uses for
    that fixed tile (16 pixels, fewer for a tile of 32 or less), so the page and the CLI agree."""
    return min(_UPSCALE_OVERLAP, (int(tile) - 1) // 2)


def _bundle_ok(folder, preset, tile) -> bool:
    facts_path, model_path = Path(folder) / "model.json", Path(folder) / "model.tflite"
    if not (facts_path.is_file() and model_path.is_file()):
        return False
    try:
        facts = json.loads(facts_path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return (facts.get("target") == "web" and facts.get("source") == preset and facts.get("tile") == [tile, tile]
            and facts.get("overlap") == bundle_overlap(tile)
            and facts.get("sha256") == hashlib.sha256(model_path.read_bytes()).hexdigest())


def ensure_bundles(output_dir, tile=DEFAULT_TILE, scales=SCALES, force=False, log=print) -> list:
    """Exports the web bundle `output_dir/x{scale}` of fd_irb_edge_x{scale} for each scale unless a
    matching one is there (same preset, tile, overlap and a model.tflite with the recorded SHA-256).

    Args:
        output_dir: the folder holding one bundle folder per scale.
        tile: square LR tile size of the frozen models (> 2).
        scales: subset of SCALES.
        force: export again even when the bundles match.

    Returns:
        The bundle folders, in the order of `scales`.
    """
    from keras_sr.export import export
    from keras_sr.validation import check_int

    tile = check_int(tile, "tile", 3)
    bad = [s for s in scales if s not in SCALES]
    if bad:
        raise ValueError(f"`scales` must be taken from {SCALES}. Received: scales={tuple(scales)!r}")
    folders = []
    for scale in scales:
        preset, folder = f"fd_irb_edge_x{scale}", Path(output_dir) / f"x{scale}"
        if force or not _bundle_ok(folder, preset, tile):
            export(model=preset, target="web", tile=(tile, tile), overlap=bundle_overlap(tile), output_dir=folder,
                   force=True, log=lambda *a, **k: None)
            log(f"exported {folder} ({preset}, tile {tile}x{tile})")
        folders.append(folder)
    return folders


class _Handler(SimpleHTTPRequestHandler):
    """Static files: /models/... from the bundle folder, everything else from the page folder."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json", ".tflite": "application/octet-stream"}

    def __init__(self, *args, page_dir, models_dir, **kwargs):
        self.page_dir, self.models_dir = str(page_dir), str(models_dir)
        super().__init__(*args, directory=self.page_dir, **kwargs)

    def translate_path(self, path):
        bare = path.split("?", 1)[0].split("#", 1)[0]
        if bare == "/models" or bare.startswith("/models/"):
            self.directory, path = self.models_dir, path[len("/models"):] or "/"
        else:
            self.directory = self.page_dir
        return super().translate_path(path)

    def end_headers(self):
        # Cross-origin isolation: SharedArrayBuffer for the threaded wasm. no-cache: a re-exported
        # bundle is never mixed with a cached one.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        if os.environ.get("KERAS_SR_WEB_LOG"):
            super().log_message(format, *args)


def make_server(models_dir, port=DEFAULT_PORT, page_dir=None) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:`port` (0: any free port) for the page (default PAGE_DIR) and the bundles
    in `models_dir` (under /models/); not started."""
    page_dir = Path(PAGE_DIR if page_dir is None else page_dir)
    if not (page_dir / "index.html").is_file():
        raise FileNotFoundError(f"The web page '{page_dir}' is missing (index.html); it ships in the repository's "
                                "tflite/web/ folder.")
    if not (page_dir / "node_modules" / "@litertjs" / "core").is_dir():
        raise FileNotFoundError(f"The page's npm dependencies are not installed: run `npm ci` in '{page_dir}' "
                                "(once, online), then start the server again.")
    handler = functools.partial(_Handler, page_dir=page_dir, models_dir=Path(models_dir))
    return ThreadingHTTPServer(("127.0.0.1", int(port)), handler)


def serve(port=DEFAULT_PORT, output_dir=None, tile=DEFAULT_TILE, force=False, log=print):
    """Exports the bundles when missing, then serves the page on 127.0.0.1 until interrupted.

    Args:
        port: TCP port (0: any free port; the URL printed names it).
        output_dir: the bundle folder (default: tflite/web/models, which git ignores).
        tile: square LR tile of the bundles (see `ensure_bundles`).
        force: export the bundles again.
    """
    from keras_sr.validation import check_int

    port = check_int(port, "port", 0, 65535)
    output_dir = Path(output_dir) if output_dir is not None else PAGE_DIR / "models"
    server = make_server(output_dir, port)  # checks the page first: no export for a page that cannot run
    try:
        ensure_bundles(output_dir, tile=tile, force=force, log=log)
        host, bound = server.server_address[:2]
        log(f"serving keras-sr in the browser at http://{host}:{bound}/ (Ctrl-C stops)")
        sys.stdout.flush()
        server.serve_forever()
    finally:
        server.server_close()


def main(argv=None) -> int:
    """`python -m keras_sr.web`: the same as `keras-sr web`."""
    from keras_sr.cli.web import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
