"""evaluate: metric wiring, dataset resolution, self-ensemble, the table/JSON output, errors."""
import json

import numpy as np
import pytest
from PIL import Image

from keras_sr import metrics, models
from keras_sr._keras import keras
from keras_sr.checkpoints import save_model_weights
from keras_sr.data import make_lr
from keras_sr.evaluate import bicubic_predictor, evaluate, main, resolve_dataset, super_resolve
from keras_sr.layers import PixelShuffle
from keras_sr.prepare import prepare
from tests.harness import tiny

TINY = tiny("fd_irb")


def _image(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 6.0
    img = np.stack([np.sin(x * rng.uniform(0.5, 2) + y * rng.uniform(0.5, 2)) for _ in range(3)], -1)
    return np.clip((img * 0.4 + 0.5) * 255 + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root with a folder 'Tiny' (3 images) and 'Tiny_x2.h5' / 'Tiny_x4.h5' made from it."""
    root = tmp_path_factory.mktemp("eval_root")
    (root / "Tiny").mkdir()
    for i, (h, w) in enumerate([(40, 44), (36, 52), (48, 40)]):
        Image.fromarray(_image(h, w, i)).save(root / "Tiny" / f"im{i}.png")
    prepare(root / "Tiny", root / "Tiny_x4.h5", 4, kind="eval", quiet=True)
    prepare(root / "Tiny", root / "H5only_x2.h5", 2, kind="eval", quiet=True)
    return root


def _equivariant_model(scale):
    """1x1 conv + nearest upsampling: commutes with every flip and transpose."""
    x = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(3, 1, kernel_initializer=keras.initializers.Constant(0.2987), name="mix")(x)
    y = keras.layers.UpSampling2D(scale, interpolation="nearest", name="up")(y)
    return keras.Model(x, y, name="pointwise")


def _general_model(scale):
    keras.utils.set_random_seed(1)
    x = keras.Input((None, None, 3))
    y = keras.layers.Conv2D(3 * scale * scale, 3, padding="same", name="conv")(x)
    return keras.Model(x, PixelShuffle(scale, name="shuffle")(y), name="general")


def test_bicubic_set5_x4_is_in_the_usual_range(data_root):
    result = evaluate("bicubic", 4, ["Set5"], data_root)
    d = result["datasets"]["Set5"]
    assert d["count"] == 5 and 27 < d["psnr"] < 30 and 0.75 < d["ssim"] < 0.85
    assert "PIL" in result["bicubic"] and "MATLAB" in result["bicubic"]


def test_scores_are_the_metrics_of_the_clipped_output(root):
    result = evaluate("bicubic", 4, ["Tiny"], root)
    rows = result["datasets"]["Tiny"]["images"]
    hr, lr = make_lr(np.asarray(Image.open(root / "Tiny" / "im1.png")), 4)
    sr = np.clip(bicubic_predictor(4)(lr[None].astype(np.float32) / 255)[0], 0, 1)
    assert rows[1]["name"] == "im1"
    assert rows[1]["psnr"] == metrics.psnr(sr, hr, 4) and rows[1]["ssim"] == metrics.ssim(sr, hr, 4)
    assert result["datasets"]["Tiny"]["psnr"] == pytest.approx(np.mean([r["psnr"] for r in rows]))
    # Outputs outside [0, 1] are clipped before scoring.
    assert super_resolve(lambda x: np.repeat(np.repeat(x, 4, 1), 4, 2) * 3 - 1, lr).min() >= 0


def test_dataset_names_resolve_to_folders_h5_files_and_paths(root):
    assert resolve_dataset("Tiny", root, 4) == root / "Tiny"
    assert resolve_dataset("H5only", root, 2) == root / "H5only_x2.h5"
    assert resolve_dataset(str(root / "Tiny_x4.h5"), None, 4) == root / "Tiny_x4.h5"
    folder = evaluate("bicubic", 4, ["Tiny"], root)["datasets"]["Tiny"]
    h5 = evaluate("bicubic", 4, [str(root / "Tiny_x4.h5")], root)["datasets"][str(root / "Tiny_x4.h5")]
    assert h5["psnr"] == folder["psnr"] and h5["ssim"] == folder["ssim"]
    with pytest.raises(FileNotFoundError, match="`eval` 'Nope' not found"):
        resolve_dataset("Nope", root, 4)


def test_bare_names_resolve_under_keras_sr_data(root, monkeypatch, tmp_path):
    from keras_sr.paths import resolve_eval

    monkeypatch.setenv("KERAS_SR_DATA", str(root))
    monkeypatch.chdir(tmp_path)  # no 'Tiny' here: the name must come from the data root
    assert resolve_eval("Tiny", 4) == root / "Tiny"
    assert resolve_eval("H5only", 2) == root / "H5only_x2.h5"
    assert main(["--model", "bicubic", "--scale", "4", "--eval", "Tiny"]) == 0


def test_self_ensemble_equals_plain_for_an_equivariant_model_only(root):
    from keras_sr.evaluate import make_predictor

    lr = _image(9, 13, 5)
    predict = make_predictor(_equivariant_model(4))
    np.testing.assert_allclose(super_resolve(predict, lr, True), super_resolve(predict, lr), atol=1e-6)
    plain = evaluate(_equivariant_model(4), 4, ["Tiny"], root)["datasets"]["Tiny"]
    ensemble = evaluate(_equivariant_model(4), 4, ["Tiny"], root, self_ensemble=True)["datasets"]["Tiny"]
    assert ensemble["psnr"] == pytest.approx(plain["psnr"], abs=1e-6)
    model = _general_model(4)
    plain = evaluate(model, 4, ["Tiny"], root)["datasets"]["Tiny"]
    ensemble = evaluate(model, 4, ["Tiny"], root, self_ensemble=True)["datasets"]["Tiny"]
    assert abs(ensemble["psnr"] - plain["psnr"]) > 1e-3


def test_cli_table_and_json(root, tmp_path, capsys):
    model = models.build("fd_irb", 4, **TINY)
    weights = save_model_weights(model, tmp_path / "w.weights.h5", {"model": "fd_irb", "scale": 4, "config": TINY})
    assert main(["--weights", str(weights), "--data-root", str(root), "--eval", "Tiny", "--eval-max-images", "2"]) == 0
    out = capsys.readouterr().out
    assert "| dataset | images | PSNR (dB) | SSIM | ms / image |" in out and "| Tiny | 2 |" in out

    # The old spellings --datasets and --max-images still work, with a warning naming the new flags.
    assert main(["--model", "fd_irb", "--weights", str(weights), "--scale", "4", "--data-root", str(root),
                 "--datasets", "Tiny", "Tiny_x4.h5", "--json", "--max-images", "1"]) == 0
    captured = capsys.readouterr()
    assert "use `--eval`" in captured.err and "use `--eval-max-images`" in captured.err
    result = json.loads(captured.out)
    assert result["model"] == "fd_irb" and result["scale"] == 4 and result["source"] == str(weights)
    assert set(result["datasets"]) == {"Tiny", "Tiny_x4.h5"}
    d = result["datasets"]["Tiny"]
    assert {"path", "count", "psnr", "ssim", "ms_per_image", "images"} <= set(d) and d["count"] == 1
    assert d["psnr"] == result["datasets"]["Tiny_x4.h5"]["psnr"]

    assert main(["--model", "bicubic", "--scale", "4", "--data-root", str(root), "--eval", "Tiny"]) == 0
    assert "PIL Image.BICUBIC" in capsys.readouterr().out


def test_presets_and_tflite_files_are_scored_without_tensorflow_in_the_loop(root, capsys):
    from keras_sr import presets

    assert main(["--model", "fd_irb_edge_x4", "--data-root", str(root), "--eval", "Tiny", "--json"]) == 0
    by_preset = json.loads(capsys.readouterr().out)
    tflite = str(presets.get("fd_irb_edge_x4").tflite)
    assert main(["--tflite", tflite, "--data-root", str(root), "--eval", "Tiny", "--json"]) == 0
    by_file = json.loads(capsys.readouterr().out)
    assert by_preset["datasets"]["Tiny"]["psnr"] == by_file["datasets"]["Tiny"]["psnr"]
    assert by_file["source"].endswith("fd_irb_edge_x4_int8.tflite") and by_file["datasets"]["Tiny"]["count"] == 3


def _error(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err


def test_errors(root, tmp_path, capsys):
    common = ["--data-root", str(root), "--eval", "Tiny"]
    assert "name what to evaluate" in _error(capsys, ["--scale", "4", *common])
    assert "not a preset" in _error(capsys, ["--model", "fd_irb", "--scale", "4", *common])
    assert "does not exist" in _error(capsys, ["--weights", str(tmp_path / "no.weights.h5"), *common])
    model = models.build("fd_irb", 4, **TINY)
    weights = save_model_weights(model, tmp_path / "w.weights.h5", {"model": "fd_irb", "scale": 4, "config": TINY})
    err = _error(capsys, ["--model", "rdn", "--weights", str(weights), *common])
    assert "does not match the weights" in err
    err = _error(capsys, ["--weights", str(weights), "--data-root", str(root), "--eval", "Missing"])
    assert "`eval` 'Missing' not found" in err
    # An evaluation file of another scale.
    err = _error(capsys, ["--model", "bicubic", "--scale", "4", "--eval", str(root / "H5only_x2.h5")])
    assert "does not match `scale`=4" in err
    assert "expected an integer >= 1" in _error(capsys, ["--model", "bicubic", "--scale", "4", *common,
                                                          "--eval-max-images", "0"])
    assert "takes no `weights`" in _error(capsys, ["--model", "bicubic", "--scale", "4", "--weights", "x", *common])
