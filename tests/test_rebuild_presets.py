"""Every shipped model can be rebuilt from its card's stage config files (on a short schedule).

For each preset, the config files its card lists (`keras_sr/pretrained/configs/`) are
replayed in order through `keras-sr SUB --config FILE`, from one working folder, with
flags that make each stage tiny: prepare reads two images, train runs 1 epoch of 2
steps, optimize 2 steps, convert calibrates on 2 patches and checks 1 image. The chain
must end in an int8 file of the preset's network and scale. The default suite rebuilds
the default preset (fd_irb_edge_x4, about 20 s); the other three take 35-50 s each and
run with `pytest -m slow tests/test_rebuild_presets.py`.
"""
import json
import shutil

import pytest

from keras_sr import presets
from keras_sr.paths import REPO_ROOT

# The default preset's chain runs in every suite; the others are slow.
IN_DEFAULT_SUITE = presets.default(4).name

# Flags given after `--config FILE`: they win over the file.
TINY = {
    "prepare": ["--force"],
    "train": ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--eval-max-images", "1"],
    "optimize": ["--steps", "2", "--batch-size", "2", "--calibration-batches", "1", "--eval-max-images", "1"],
    "convert": ["--calibration-samples", "2", "--force"],
}


@pytest.fixture
def workdir(tmp_path, data_root, monkeypatch):
    """A working folder with two training images, a one-image eval set and the shipped files in reach."""
    sources = sorted((data_root / "train" / "BSD200_first50").glob("*.png"))[:2]
    if len(sources) < 2 or not (data_root / "Set5" / "bird.png").is_file():
        pytest.skip(f"the training images or Set5 are missing under {data_root} (KERAS_SR_DATA)")
    images, eval_dir = tmp_path / "images", tmp_path / "eval"
    images.mkdir()
    eval_dir.mkdir()
    for source in sources:
        shutil.copy(source, images / source.name)
    shutil.copy(data_root / "Set5" / "bird.png", eval_dir / "bird.png")
    # Configs name shipped files relative to the repository (keras_sr/pretrained/...).
    (tmp_path / "keras_sr").symlink_to(REPO_ROOT / "keras_sr", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KERAS_SR_DATA", str(data_root))
    return tmp_path


@pytest.mark.parametrize("name", [name if name == IN_DEFAULT_SUITE else pytest.param(name, marks=pytest.mark.slow)
                                  for name in presets.names()])
def test_preset_rebuilds_from_its_stage_configs(name, workdir):
    from keras_sr import checkpoints
    from keras_sr.cli import main
    from keras_sr.lite.runtime import TFLiteSR

    preset = presets.get(name)
    assert preset.stages, f"the card of {name} lists no stage configs"
    last = {}
    for stage in preset.stages:
        config = json.loads((REPO_ROOT / stage).read_text())
        command = config["command"]
        argv = [command, "--config", str(REPO_ROOT / stage), *TINY[command]]
        if command == "prepare":
            argv += ["--images-dir", str(workdir / "images")]
        if command == "convert":
            argv += ["--eval", str(workdir / "eval")]
        assert main(argv) == 0, f"{name}: `keras-sr {' '.join(argv)}` failed"
        last[command] = config
    weights = workdir / last["train"]["output_dir"] / "last.weights.h5"
    model, meta = checkpoints.load_model(weights)
    assert (meta["model"], meta["scale"], meta["config"]) == (preset.model, preset.scale, dict(preset.config))
    assert model.count_params() > 0
    tflite = workdir / last["convert"]["output"]
    runtime = TFLiteSR(tflite)
    assert runtime.scale == preset.scale and runtime.precision == "int8"
