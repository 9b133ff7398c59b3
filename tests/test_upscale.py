"""keras_sr.upscale: files and folders, any mode, tiling, and the user mistakes it must name."""
import numpy as np
import pytest
from PIL import Image

from keras_sr import checkpoints, convert, upscale
from keras_sr.metrics import psnr
from tests.test_convert import SMALL, build_small

# Receptive-field radius of the small test RDN (D=2, C=2, x2), in LR pixels:
# D*C + 4 LR convs + the HR output conv (1/2) = 8.5 -> 9 (see docs/tiling.md).
RDN_RADIUS = 9


def smooth_image(h, w, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(7 * xx + c) * np.cos(5 * yy - c) for c in range(channels)], -1) * 0.4 + 0.5
    return np.clip(img + 0.05 * rng.standard_normal(img.shape), 0, 1)


def save(path, img, mode=None):
    arr = (np.asarray(img) * 255).round().astype(np.uint8)
    Image.fromarray(arr.squeeze(), mode).save(path)
    return path


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """rdn (x2, local) and fd_irb (x4, attention) as float32 .tflite, a fixed-shape rdn, rdn weights."""
    out = tmp_path_factory.mktemp("models")
    paths = {}
    for name in ("rdn", "fd_irb"):
        scale, config = SMALL[name]
        model = build_small(name, scale, config)
        paths[name] = out / f"{name}.tflite"
        paths[name].write_bytes(convert.convert_model(model))
        if name == "rdn":
            paths["rdn_fixed"] = out / "rdn_fixed.tflite"
            paths["rdn_fixed"].write_bytes(convert.convert_model(model, input_hw=(24, 24)))
            paths["rdn_weights"] = checkpoints.save_model_weights(
                model, out / "rdn.weights.h5", {"model": "rdn", "scale": scale, "config": config}
            )
    return paths


def run(*args):
    return upscale.main([str(a) for a in args] + ["--quiet"])


def test_output_is_scale_times_the_input(models_dir, tmp_path):
    src = save(tmp_path / "in.png", smooth_image(13, 17))
    assert run(src, "-o", tmp_path / "out.png", "--tflite", models_dir["fd_irb"], "--scale", 4) == 0
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (68, 52) and im.mode == "RGB"


def test_folder_with_grayscale_and_alpha(models_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    save(src / "rgb.png", smooth_image(10, 12))
    save(src / "gray.png", smooth_image(9, 11, 1), "L")
    rgba = np.concatenate([smooth_image(8, 14), smooth_image(8, 14, 1, seed=1)], -1)
    save(src / "rgba.png", rgba, "RGBA")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert upscale.main([str(src), "-o", str(out), "--tflite", str(models_dir["rdn"])]) == 0  # progress bar on
    assert sorted(p.name for p in out.iterdir()) == ["gray.png", "rgb.png", "rgba.png"]
    for name, size, mode in (("rgb", (24, 20), "RGB"), ("gray", (22, 18), "L"), ("rgba", (28, 16), "RGBA")):
        with Image.open(out / f"{name}.png") as im:
            assert (im.size, im.mode) == (size, mode), name
    # Alpha is upscaled on its own with PIL bicubic.
    with Image.open(src / "rgba.png") as im:
        expected = np.asarray(im.getchannel("A").resize((28, 16), Image.BICUBIC))
    with Image.open(out / "rgba.png") as im:
        np.testing.assert_array_equal(np.asarray(im.getchannel("A")), expected)


def test_several_files_go_to_a_folder(models_dir, tmp_path):
    a = save(tmp_path / "a.png", smooth_image(8, 8))
    b = save(tmp_path / "b.bmp", smooth_image(6, 9))
    assert run(a, b, "-o", tmp_path / "out", "--tflite", models_dir["rdn"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.bmp"]


def test_tiled_equals_whole_image_for_a_local_model(models_dir):
    predictor = upscale.load_predictor(tflite=models_dir["rdn"])
    rgb = smooth_image(40, 52).astype(np.float32)
    whole, _ = upscale.upscale_image(predictor, rgb)
    tiled, _ = upscale.upscale_image(predictor, rgb, tile=24, overlap=RDN_RADIUS)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5)
    short, _ = upscale.upscale_image(predictor, rgb, tile=24, overlap=RDN_RADIUS - 5)
    assert np.abs(short - whole).max() > 1e-4  # the check above can fail


def test_fixed_shape_model_is_tiled_and_exact(models_dir):
    dynamic = upscale.load_predictor(tflite=models_dir["rdn"])
    fixed = upscale.load_predictor(tflite=models_dir["rdn_fixed"])
    assert fixed.fixed_size == (24, 24)
    rgb = smooth_image(30, 41).astype(np.float32)
    # The 24x24 windows keep (24 - 1) // 2 = 11 >= RDN_RADIUS pixels of context.
    tiled, _ = upscale.upscale_image(fixed, rgb)
    np.testing.assert_allclose(tiled, upscale.upscale_image(dynamic, rgb)[0], rtol=0, atol=1e-5)
    small, _ = upscale.upscale_image(fixed, rgb[:5, :7])  # padded up to 24x24, then cropped
    assert small.shape == (10, 14, 3)


def test_tiled_is_close_to_whole_image_for_an_attention_model(models_dir):
    predictor = upscale.load_predictor(tflite=models_dir["fd_irb"])
    rgb = smooth_image(48, 48).astype(np.float32)
    whole, _ = upscale.upscale_image(predictor, rgb)
    tiled, _ = upscale.upscale_image(predictor, rgb, tile=32, overlap=8)
    assert 0 < np.abs(tiled - whole).max() < 0.05  # global attention statistics: close, not exact
    assert psnr(tiled, whole, 4) > 40.0


def test_keras_checkpoint_path_matches_tflite(models_dir, tmp_path):
    src = save(tmp_path / "in.png", smooth_image(12, 10))
    assert run(src, "-o", tmp_path / "k.png", "--model", "rdn", "--weights", models_dir["rdn_weights"]) == 0
    assert run(src, "-o", tmp_path / "t.png", "--tflite", models_dir["rdn"]) == 0
    k = np.asarray(Image.open(tmp_path / "k.png"), np.int16)
    t = np.asarray(Image.open(tmp_path / "t.png"), np.int16)
    assert k.shape == (24, 20, 3) and np.abs(k - t).max() <= 1


def test_existing_output_needs_force(models_dir, tmp_path, capsys):
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    assert run(src, "-o", out, "--tflite", models_dir["rdn"]) == 2
    assert "already exist" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert run(src, "-o", out, "--tflite", models_dir["rdn"], "--force") == 0
    assert Image.open(out).size == (16, 16)


def test_unreadable_image_is_named_and_nothing_is_written(models_dir, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    save(src / "good.png", smooth_image(8, 8))
    (src / "broken.png").write_bytes(b"\x89PNG not really")
    assert run(src, "-o", tmp_path / "out", "--tflite", models_dir["rdn"]) == 2
    err = capsys.readouterr().err
    assert "Cannot read image file" in err and "broken.png" in err
    assert not (tmp_path / "out").exists()


def test_scale_mismatch_is_an_error(models_dir, tmp_path, capsys):
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    assert run(src, "-o", tmp_path / "out.png", "--tflite", models_dir["rdn"], "--scale", 4) == 2
    assert "upscales x2" in capsys.readouterr().err and not (tmp_path / "out.png").exists()
    assert run(src, "-o", tmp_path / "out.png", "--model", "rdn", "--weights", models_dir["rdn_weights"],
               "--scale", 3) == 2
    assert "scale" in capsys.readouterr().err


def test_bad_tiling_flags(models_dir, tmp_path, capsys):
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    assert run(src, "-o", tmp_path / "o.png", "--tflite", models_dir["rdn"], "--tile", 16) == 2  # overlap 16
    assert "`tile` must be greater than 2 x `overlap`" in capsys.readouterr().err
    assert run(src, "-o", tmp_path / "o.png", "--tflite", models_dir["rdn"], "--overlap", 4) == 2
    assert "--overlap needs --tile" in capsys.readouterr().err


def test_default_model_path_and_presets(tmp_path, capsys):
    from keras_sr import presets

    assert upscale.default_model_path(3) == presets.get("fd_irb_edge_x3").tflite
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    assert run(src, "-o", tmp_path / "out.png", "--scale", "5") == 2  # nothing shipped at x5
    assert "`scale` must be one of (2, 3, 4)" in capsys.readouterr().err
    assert run(src, "-o", tmp_path / "p.png", "--model", "fd_irb_x4") == 0  # a preset runs its int8 file
    assert Image.open(tmp_path / "p.png").size == (32, 32)


def test_model_name_without_weights_is_explained(tmp_path, capsys):
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    assert run(src, "-o", tmp_path / "out.png", "--model", "rdn") == 2
    err = capsys.readouterr().err
    assert "not a shipped preset" in err and "needs `weights`" in err


def test_old_model_file_spelling_still_works_with_a_warning(models_dir, tmp_path, capsys):
    src = save(tmp_path / "in.png", smooth_image(8, 8))
    assert run(src, "-o", tmp_path / "out.png", "--model", models_dir["rdn"], "--threads", 1) == 0
    err = capsys.readouterr().err
    assert "`--model " in err and "use `--tflite " in err and "`--threads` is deprecated" in err
    assert Image.open(tmp_path / "out.png").size == (16, 16)
