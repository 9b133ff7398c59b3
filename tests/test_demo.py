"""The main job on the shipped model: right output size, better than bicubic on real images."""
import numpy as np
import pytest
from PIL import Image

from keras_sr import demo, presets


# (model, scale) of every shipped pair of files: the edge network at each scale, fd_irb and the micro model at x4.
SHIPPED = [("fd_irb_edge", 4), ("fd_irb_edge", 3), ("fd_irb_edge", 2), ("fd_irb", 4), ("fd_irb_micro", 4)]


@pytest.mark.parametrize("name, scale", SHIPPED)
def test_demo_beats_bicubic_on_a_real_image(data_root, tmp_path, name, scale):
    image = data_root / "Set5" / "butterfly.png"
    result = demo.run_demo(image=image, scale=scale, output=tmp_path / "cmp.png", model=f"{name}_x{scale}")
    assert result["psnr_model"] > result["psnr_bicubic"] + 0.5
    assert result["ssim_model"] > result["ssim_bicubic"]
    hr_width, hr_height = Image.open(image).size
    panels = np.asarray(Image.open(result["output"]))
    # Three panels side by side, each the (modcropped) HR size, plus labels and gaps.
    assert panels.shape[1] >= 3 * (hr_width - hr_width % scale)
    assert panels.shape[0] >= hr_height - hr_height % scale


@pytest.mark.parametrize("name, scale", SHIPPED)
def test_shipped_model_output_has_the_right_size(name, scale):
    from keras_sr.lite import TFLiteSR

    runtime = TFLiteSR(presets.get(f"{name}_x{scale}").tflite, num_threads=2)
    lr = np.random.default_rng(0).random((23, 31, 3), dtype=np.float32)
    assert runtime.predict(lr).shape == (23 * scale, 31 * scale, 3)
    assert runtime.scale == scale and runtime.precision == "int8"


def test_demo_cli_prints_scores_and_takes_a_tflite_file(tmp_path, capsys):
    from keras_sr.cli import main

    tflite = presets.get("fd_irb_edge_x2").tflite
    assert main(["demo", "--scale", "2", "--tflite", str(tflite), "-o", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    assert "fd_irb_edge_x2_int8.tflite" in out and "bicubic      PSNR" in out and (tmp_path / "d.png").is_file()
    assert main(["demo", "--scale", "3", "--tflite", str(tflite), "-o", str(tmp_path / "e.png")]) == 2
    assert "upscales x2" in capsys.readouterr().err and not (tmp_path / "e.png").exists()


def test_demo_never_overwrites(tmp_path):
    first = demo.run_demo(output=tmp_path / "demo.png")
    second = demo.run_demo(output=tmp_path / "demo.png")
    assert first["output"] != second["output"]
    assert first["psnr_model"] > first["psnr_bicubic"]


def test_pretrained_keras_weights_load():
    from keras_sr import models

    for name, scale in SHIPPED:
        model = models.build(name, scale, weights="pretrained")
        assert model.output_shape == (None, None, None, 3)
        # The pixel shuffles multiply to `scale`: one x`scale` (edge network), two x2 (fd_irb).
        shuffles = [layer.block_size for layer in model.layers if hasattr(layer, "block_size")]
        assert np.prod(shuffles) == scale
    with pytest.raises(ValueError, match="not shipped"):
        models.build("rdn", 4, weights="pretrained")
