"""The firmware sample's plain C++ part (tflite/micro/sr_tiling.*), built with g++, against Python golden data.

Its tile plan must equal `keras_sr.lite.tiling.tile_windows`, and its stitched RGB888 result must
equal `upscale_tiled` + `metrics.to_uint8` bit for bit, for float32 and int8 model tensors. The
model is a stand-in whose output depends on the whole tile (the TFLM layer is not compiled here).
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from keras_sr.lite.tiling import tile_windows, upscale_tiled
from keras_sr.metrics import to_uint8
from tests.conftest import REPO_ROOT

MICRO = REPO_ROOT / "tflite" / "micro"


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed (.ci/run installs it)")
    exe = tmp_path_factory.mktemp("micro") / "golden_main"
    # -ffp-contract=off: no fused multiply-adds, so float32 arithmetic matches numpy's step by step.
    subprocess.run([gxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2", "-ffp-contract=off", "-I", str(MICRO),
                    str(MICRO / "tests" / "golden_main.cc"), str(MICRO / "sr_tiling.cc"), "-o", str(exe)], check=True)
    return exe


def test_tflm_layer_is_not_compiled_here_and_says_so():
    readme = (MICRO / "README.md").read_text()
    assert "not compiled" in readme.lower()
    assert "#include" not in (MICRO / "sr_tiling.h").read_text().split("namespace")[0].replace(
        "#include <cstddef>", "").replace("#include <cstdint>", "")  # no TFLM include in the plain part


def test_tile_plan_matches_python(golden):
    cases = [(length, tile, overlap) for length in (1, 5, 12, 13, 24, 37, 100, 181)
             for tile, overlap in ((12, 0), (12, 3), (12, 5), (16, 4), (24, 6), (32, 8), (7, 3))]
    for length, tile, overlap in cases:
        out = subprocess.run([str(golden), "plan", str(length), str(tile), str(overlap)], capture_output=True,
                             text=True, check=True).stdout.split("\n")
        got = [tuple(map(int, line.split())) for line in out if line.strip()]
        assert got == tile_windows(length, tile, overlap), (length, tile, overlap)
    bad = subprocess.run([str(golden), "plan", "30", "8", "4"], capture_output=True, text=True, check=True).stdout
    assert bad.strip() == "error"  # tile <= 2 * overlap


def quantize(x, scale, zp):
    return np.clip(np.rint(x / np.float32(scale)) + zp, -128, 127).astype(np.int8)


def dequantize(q, scale, zp):
    return np.float32(scale) * (q.astype(np.float32) - np.float32(zp))


@pytest.mark.parametrize("fmt", [("float32", 0, 0, "float32", 0, 0), ("int8", 1 / 255, -128, "int8", 1 / 200, -100)],
                         ids=["float32", "int8"])
@pytest.mark.parametrize("shape,tile,overlap,scale", [((23, 37), (12, 12), 3, 2), ((16, 40), (16, 12), 2, 4),
                                                      ((12, 12), (12, 12), 0, 3)])
def test_stitched_image_matches_python_bit_for_bit(golden, tmp_path, fmt, shape, tile, overlap, scale):
    in_type, in_scale, in_zp, out_type, out_scale, out_zp = fmt
    in_scale, out_scale = np.float32(in_scale), np.float32(out_scale)
    h, w = shape
    lr = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)

    def model(win):
        x = win if in_type == "float32" else dequantize(quantize(win, in_scale, in_zp), in_scale, in_zp)
        v = np.float32(0.5) * np.repeat(np.repeat(x, scale, 0), scale, 1) + np.float32(0.25) * x[0, 0]
        return v if out_type == "float32" else dequantize(quantize(v, out_scale, out_zp), out_scale, out_zp)

    expected = to_uint8(upscale_tiled(model, lr.astype(np.float32) / np.float32(255), scale, tile=tile,
                                      overlap=overlap))
    (tmp_path / "lr.bin").write_bytes(lr.tobytes())
    subprocess.run([str(golden), "upscale", str(tmp_path / "lr.bin"), str(h), str(w), str(tile[0]), str(tile[1]),
                    str(overlap), str(scale), in_type, repr(float(in_scale)), str(in_zp), out_type,
                    repr(float(out_scale)), str(out_zp), str(tmp_path / "hr.bin")], check=True)
    got = np.frombuffer((tmp_path / "hr.bin").read_bytes(), np.uint8).reshape(scale * h, scale * w, 3)
    assert np.array_equal(got, expected)
    assert len(np.unique(got)) > 10  # a real image, not a constant
