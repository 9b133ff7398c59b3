"""Outputs written in strips: the PNG stream, the other formats' canvas, and `upscale_to_file`.

`upscale_to_file` must write the pixels `upscale_image` + `write_image` write, while holding
one band of tiles at a time; a failure must leave no file behind.
"""
import numpy as np
import pytest
from PIL import Image

from keras_sr.data.imageio import StripWriter, canvas_bytes_per_pixel, write_image
from keras_sr.upscale import job_bytes, load_predictor, upscale_files, upscale_image, upscale_to_file

SUFFIXES = {"RGB": (".png", ".jpg", ".bmp", ".webp"), "RGBA": (".png", ".webp"), "L": (".png", ".jpg", ".bmp"),
            "LA": (".png",)}


def photo(h=61, w=47, seed=0):
    """A smooth image with noise: stands for a photo and exercises every PNG filter branch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(6 * xx + c) * np.cos(4 * yy - c) for c in range(3)], -1) * 0.4 + 0.5
    return np.clip(img + 0.04 * rng.standard_normal(img.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("mode,suffix", [(m, s) for m, suffixes in SUFFIXES.items() for s in suffixes])
def test_strips_give_the_pixels_of_one_write(tmp_path, mode, suffix):
    rgb = (photo() * 255).round().astype(np.uint8)
    alpha = (np.random.default_rng(1).random(rgb.shape[:2]) * 255).astype(np.uint8) if "A" in mode else None
    h, w = rgb.shape[:2]
    with StripWriter(tmp_path / f"strips{suffix}", w, h, mode) as writer:
        for row in range(0, h, 13):  # uneven bands, the last one short
            writer.write(rgb[row : row + 13], None if alpha is None else alpha[row : row + 13])
    write_image(tmp_path / f"whole{suffix}", rgb, alpha, mode=mode)
    with Image.open(tmp_path / f"strips{suffix}") as strips, Image.open(tmp_path / f"whole{suffix}") as whole:
        assert strips.mode == whole.mode and strips.size == (w, h)
        np.testing.assert_array_equal(np.asarray(strips), np.asarray(whole))


def test_an_unfinished_or_failed_write_leaves_no_file(tmp_path):
    rgb = np.zeros((10, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="5 of 10 rows"):
        with StripWriter(tmp_path / "short.png", 8, 10) as writer:
            writer.write(rgb[:5])
    with pytest.raises(RuntimeError, match="interrupted"):
        with StripWriter(tmp_path / "failed.png", 8, 10) as writer:
            writer.write(rgb[:5])
            raise RuntimeError("interrupted")
    with pytest.raises(ValueError, match=r"shape \(n, 8, 3\)"):
        with StripWriter(tmp_path / "wrong.png", 8, 10) as writer:
            writer.write(np.zeros((10, 9, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output, no temporary file


def test_an_existing_output_is_kept_without_overwrite(tmp_path):
    out = tmp_path / "kept.png"
    out.write_bytes(b"user data")
    with pytest.raises(FileExistsError, match="kept.png"):
        StripWriter(out, 4, 4)
    assert out.read_bytes() == b"user data"


@pytest.fixture(scope="module")
def predictor():
    return load_predictor(model="fd_irb_edge_x2")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("tile", [None, 24])
def test_upscale_to_file_writes_what_upscale_image_returns(predictor, tmp_path, mode, tile):
    rgb = photo()
    alpha = np.linspace(0, 1, rgb.shape[0] * rgb.shape[1], dtype=np.float32).reshape(rgb.shape[:2])
    alpha = alpha if mode == "RGBA" else None
    tiles = []
    upscale_to_file(predictor, rgb, tmp_path / "strips.png", alpha=alpha, mode=mode, tile=tile, overlap=6,
                    on_tile=lambda: tiles.append(1))
    sr, sr_alpha = upscale_image(predictor, rgb, alpha, tile=tile, overlap=6, dtype=np.uint8)
    write_image(tmp_path / "whole.png", sr, sr_alpha, mode=mode)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "strips.png")),
                                  np.asarray(Image.open(tmp_path / "whole.png")))
    # 61x47 in 24-pixel windows with 6 pixels of context: 5 rows of 3 windows.
    assert len(tiles) == (1 if tile is None else 5 * 3)


def test_a_long_single_image_shows_progress_by_tiles(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray((photo(70, 70) * 255).astype(np.uint8)).save(src)
    upscale_files([src], tmp_path / "out.png", model="fd_irb_edge_x2", tile=24, overlap=4, progress=True)
    err = capsys.readouterr().err
    assert "in.png" in err and "/16 " in err and "tile/s" in err  # 70 px in 24-pixel windows keeping 16: 4x4
    upscale_files([src], tmp_path / "quiet.png", model="fd_irb_edge_x2", tile=24, overlap=4, progress=False)
    assert "tile" not in capsys.readouterr().err


def test_the_estimate_counts_a_canvas_only_for_formats_not_written_in_strips():
    assert canvas_bytes_per_pixel("x.png") == 0 and canvas_bytes_per_pixel("x.PNG") == 0
    assert canvas_bytes_per_pixel("x.jpg") == 4 and canvas_bytes_per_pixel("x.bmp", "L") == 1
    # 3000x2000 at x4 in 256-pixel tiles, against the memory goal (1.3 x the uint8 output + 300 MB):
    # the PNG job's upper estimate is within it, a JPEG's (whole output held by Pillow) is not.
    png, jpg = job_bytes(2000, 3000, 4, 256, canvas_bytes=0), job_bytes(2000, 3000, 4, 256, canvas_bytes=4)
    goal = 1.3 * 12000 * 8000 * 3 + 300e6
    assert png < goal < jpg
