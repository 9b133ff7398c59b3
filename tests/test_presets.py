"""Presets, cards, stage configs and the one way keras-sr counts parameters and Multi-Adds.

`keras_sr.presets` must agree with the files in keras_sr/pretrained/; every card must be
portable and list config files that chain from the repository and the datasets alone;
profile, the int8 file and the cards must count the same Multi-Adds (or name the part
that differs: the fixed bicubic conv).
"""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from keras_sr import presets, pretrained
from keras_sr.paths import PRETRAINED_DIR, REPO_ROOT

CONFIGS_DIR = PRETRAINED_DIR / "configs"
# The keys a stage config may hold: "command" plus the subcommand's long flags with underscores.
ALLOWED_KEYS = {
    "prepare": {"images_dir", "output", "scale", "kind", "downscales", "min_size", "force"},
    "train": {"model", "scale", "config", "train", "eval", "data_root", "epochs", "steps_per_epoch", "batch_size",
              "patch_size", "lr", "lr_schedule", "lr_drop_at", "warmup_steps", "loss", "checkpoint_every_epochs",
              "seed", "init_weights", "mixed_precision", "output_dir"},
    "optimize": {"weights", "train", "eval", "prune", "qat", "steps", "sparsity", "schedule", "m_by_n", "batch_size",
                 "patch_size", "lr", "seed", "calibration_batches", "checkpoint_every_steps", "output_dir"},
    "convert": {"weights", "output", "int8", "calibration", "eval"},
}
# Keys whose values are paths a stage reads, and what it writes.
READS = ("images_dir", "train", "init_weights", "weights", "calibration", "eval")
WRITES = ("output", "output_dir")
# An absolute path of some machine: "/x..." after a space, a quote, a backtick, "(" or "=".
ABSOLUTE = re.compile(r"(?:^|[\s\"'`(=])(/[A-Za-z][^\s\"'`)]*)")
TEXT_SUFFIXES = (".md", ".json")


def card(name):
    return json.loads((PRETRAINED_DIR / f"{name}.json").read_text())


def sidecar(path):
    return json.loads(path.with_name(path.name.replace(".weights.h5", ".weights.json")).read_text()) \
        if path.name.endswith(".weights.h5") else json.loads(path.with_name(path.name + ".json").read_text())


# --------------------------------------------------------------------------- the table


def test_one_preset_per_shipped_model():
    weights = sorted(p.name[: -len(".weights.h5")] for p in PRETRAINED_DIR.glob("*.weights.h5"))
    tflites = sorted(p.name[: -len("_int8.tflite")] for p in PRETRAINED_DIR.glob("*_int8.tflite"))
    cards = sorted(p.stem for p in PRETRAINED_DIR.glob("*.md"))
    assert presets.names() == weights == tflites == cards
    assert sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.suffix in (".h5", ".tflite")) == pretrained.shipped()


@pytest.mark.parametrize("name", presets.names())
def test_preset_agrees_with_its_files(name):
    preset = presets.get(name)
    assert preset.name == presets.preset_name(preset.model, preset.scale) == name
    for path in (preset.weights, preset.tflite, preset.card, preset.card_json):
        assert path.is_file() and path.parent == PRETRAINED_DIR
    recorded = card(name)
    for record in (recorded, sidecar(preset.weights), sidecar(preset.tflite)):
        assert (record["model"], record["scale"], record["config"]) == (preset.model, preset.scale, dict(preset.config))
    assert recorded["files"] == {**recorded["files"], "weights": preset.weights.name, "tflite": preset.tflite.name}
    m = preset.metrics
    assert (m["params"], m["fixed_params"], m["multi_adds"], m["multi_adds_fixed"], m["multi_adds_total"]) == (
        recorded["params"], recorded["fixed_params"], recorded["multi_adds_320x180"],
        recorded["multi_adds_320x180_fixed"], recorded["multi_adds_320x180_total"])
    assert m["int8_latency_ms"] == recorded["int8_latency_ms_320x180_2_threads"]["median"]
    text = preset.card.read_text()
    for dataset, row in recorded["scores"].items():
        assert preset.psnr(dataset) == row["int8"][0] and preset.ssim(dataset, "float") == row["float"][1]
        assert f"| {dataset} | " in text and f"{row['int8'][0]:.2f} / {row['int8'][1]:.4f}" in text
    assert list(preset.stages) == recorded["stages"]
    assert preset.to_dict()["files"]["weights"] == f"keras_sr/pretrained/{name}.weights.h5"


def test_default_is_the_edge_model_at_each_scale():
    assert [presets.default(s).name for s in (2, 3, 4)] == ["fd_irb_edge_x2", "fd_irb_edge_x3", "fd_irb_edge_x4"]
    with pytest.raises(ValueError, match=r"`scale` must be one of \(2, 3, 4\).*Received: scale=5"):
        presets.default(5)


def test_unknown_preset_names_the_available_ones():
    with pytest.raises(ValueError, match=re.escape(f"Unknown preset 'nope'. Available: {presets.names()}")):
        presets.get("nope")
    assert presets.is_preset("fd_irb_edge_x4") and not presets.is_preset("fd_irb_edge") and not presets.is_preset(4)
    with pytest.raises(ValueError, match="`dataset` must be one of"):
        presets.get("fd_irb_edge_x4").psnr("Set6")


def test_weights_path_and_tflite_path_take_the_same_arguments():
    assert pretrained.weights_path("fd_irb_edge", 4) == pretrained.weights_path("fd_irb_edge_x4") \
        == presets.get("fd_irb_edge_x4").weights
    assert pretrained.tflite_path("fd_irb_edge", 4) == pretrained.tflite_path("fd_irb_edge_x4") \
        == pretrained.tflite_path(name="fd_irb_edge", scale=4) == presets.get("fd_irb_edge_x4").tflite
    with pytest.raises(ValueError, match="is x4. Received: scale=2"):
        pretrained.weights_path("fd_irb_edge_x4", 2)
    with pytest.raises(FileNotFoundError, match="fd_irb_realtime_x3_int8.tflite"):
        pretrained.tflite_path("fd_irb_realtime", 3)


@pytest.mark.parametrize("call", [lambda: pretrained.tflite_path(3), lambda: pretrained.tflite_path(3, name="fd_irb_edge"),
                                  lambda: pretrained.tflite_path(scale=3), lambda: pretrained.tflite_path(3, "fd_irb_edge")])
def test_old_tflite_path_order_still_works_with_a_warning(call):
    with pytest.warns(DeprecationWarning, match=r"tflite_path\(name, scale\)"):
        assert call() == PRETRAINED_DIR / "fd_irb_edge_x3_int8.tflite"


def test_presets_and_pretrained_import_no_tensorflow():
    code = ("import sys; import keras_sr.presets, keras_sr.pretrained, keras_sr.profile, keras_sr.cli.profile; "
            "keras_sr.cli.profile.build_parser(); assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


# --------------------------------------------------------------------------- models.build(preset)


@pytest.fixture(scope="module")
def lr_image():
    return np.random.default_rng(0).random((1, 12, 10, 3), dtype=np.float32)


@pytest.mark.parametrize("name", ["fd_irb_edge_x2", "fd_irb_edge_x4"])
def test_build_preset_loads_its_weights(name, lr_image):
    from keras_sr import models

    preset = presets.get(name)
    built = models.build(name)
    reference = models.build(preset.model, preset.scale, **preset.config)
    reference.load_weights(str(preset.weights))
    np.testing.assert_array_equal(built(lr_image).numpy(), reference(lr_image).numpy())
    assert built.output_shape[1:] == (None, None, 3)
    # The old spelling gives the same weights.
    legacy = models.build(preset.model, preset.scale, weights="pretrained")
    np.testing.assert_array_equal(legacy(lr_image).numpy(), reference(lr_image).numpy())


def test_build_preset_rejects_another_scale_or_config():
    from keras_sr import models

    with pytest.raises(ValueError, match=r"'fd_irb_edge_x4' is x4.*Received: scale=2"):
        models.build("fd_irb_edge_x4", 2)
    with pytest.raises(ValueError, match="fixed config"):
        models.build("fd_irb_edge_x4", recursions=3)
    with pytest.raises(ValueError, match=r"Unknown model 'nope'.*preset"):
        models.build("nope")


# --------------------------------------------------------------------------- counting


def test_param_counts_name_the_fixed_bicubic_kernel():
    from keras_sr import models, profile

    model = models.build("fd_irb_edge", 4)
    counts = profile.param_counts(model)
    assert counts == {"trainable": 591_892, "fixed": 5 * 5 * 3 * 3 * 16, "fixed_layers": ["bicubic"]}
    assert counts["trainable"] + counts["fixed"] == model.count_params() == 595_492
    assert profile.count_params(model) == 591_892
    text = "591,892 trainable parameters (+ 3,600 fixed in the bicubic skip's kernel)"
    assert profile.describe_params(model) == text == profile.describe_params(card("fd_irb_edge_x4"))


def test_profile_input_is_height_width():
    from keras_sr import models, profile

    model = models.build("fd_irb_edge", 2, num_features=8, growth_rate=8)
    result = profile.profile_model(model, input_hw=(6, 10))
    assert result["input_hw"] == [6, 10]
    assert result["multi_adds_fixed"] == 6 * 10 * 5 * 5 * 3 * 3 * 4
    assert result["multi_adds_total"] == result["multi_adds"] + result["multi_adds_fixed"]
    with pytest.warns(DeprecationWarning):
        old = profile.profile_model(model, input_size=(10, 6))
    assert old == result


@pytest.mark.parametrize("name", presets.names())
def test_cards_count_multi_adds_one_way(name):
    recorded = card(name)
    scale = recorded["scale"]
    assert recorded["multi_adds_320x180_fixed"] == 180 * 320 * 5 * 5 * 3 * 3 * scale * scale
    assert recorded["multi_adds_320x180_total"] == recorded["multi_adds_320x180"] + recorded["multi_adds_320x180_fixed"]
    assert recorded["multi_adds_320x180_tflite"] == recorded["multi_adds_320x180_total"]
    assert recorded["fixed_params"] == 5 * 5 * 3 * 3 * scale * scale and recorded["fixed_layers"] == ["bicubic"]


@pytest.mark.parametrize("name", ["fd_irb_edge_x4", "fd_irb_x4"])
def test_int8_file_counts_what_profile_counts(name):
    """The board benchmark (`TFLiteSR.multi_adds`) and profile differ by exactly the fixed bicubic conv."""
    from keras_sr import models, profile
    from keras_sr.lite.runtime import TFLiteSR

    preset = presets.get(name)
    h, w = 9, 16
    result = profile.profile_model(models.build(preset.model, preset.scale, **preset.config), input_hw=(h, w))
    lite = TFLiteSR(preset.tflite)
    assert lite.multi_adds(h, w) == result["multi_adds_total"]
    assert lite.multi_adds(h, w, include_fixed=False) == result["multi_adds"]
    assert result["multi_adds_fixed"] == h * w * 5 * 5 * 3 * 3 * preset.scale ** 2


# --------------------------------------------------------------------------- cards and stage configs


def test_no_absolute_path_in_any_shipped_text_file():
    found = {}
    for path in sorted(PRETRAINED_DIR.rglob("*")):
        if path.suffix in TEXT_SUFFIXES:
            hits = ABSOLUTE.findall(path.read_text())
            if hits:
                found[str(path.relative_to(REPO_ROOT))] = hits
    assert not found, f"absolute paths: {found}"


def config_files():
    return sorted(CONFIGS_DIR.rglob("*.json"))


@pytest.mark.parametrize("path", config_files(), ids=lambda p: p.relative_to(CONFIGS_DIR).as_posix())
def test_config_file_names_only_known_flags(path):
    config = json.loads(path.read_text())
    command = config.pop("command", None)
    assert command in ALLOWED_KEYS, f"{path.name}: \"command\" must be one of {sorted(ALLOWED_KEYS)}"
    assert set(config) <= ALLOWED_KEYS[command], f"unknown keys {sorted(set(config) - ALLOWED_KEYS[command])}"
    for key in READS + WRITES:
        for value in np.atleast_1d(config.get(key, [])):
            assert not str(value).startswith("/"), f"{key} is absolute: {value}"
    if command == "convert":
        assert config["output"].startswith("runs/"), "a replay must not write over the shipped files"


def test_every_config_file_is_listed_by_a_card():
    listed = {stage for name in presets.names() for stage in presets.get(name).stages}
    assert {p.relative_to(REPO_ROOT).as_posix() for p in config_files()} == listed


@pytest.mark.parametrize("name", presets.names())
def test_card_stages_chain_from_the_repository_and_the_data(name):
    """Each stage reads only the datasets, shipped files, or what an earlier stage of the card wrote."""
    preset = presets.get(name)
    text = preset.card.read_text()
    written, commands, last_train = [], [], None
    for stage in preset.stages:
        assert f"--config {stage}`" in text, f"{name}.md does not list {stage}"
        config = json.loads((REPO_ROOT / stage).read_text())
        commands.append(config["command"])
        for key in READS:
            for value in np.atleast_1d(config.get(key, [])):
                value = str(value)
                if value.startswith("$KERAS_SR_DATA/"):
                    continue
                if value.startswith("keras_sr/pretrained/"):
                    assert (REPO_ROOT / value).is_file(), f"{stage}: {key} {value} is not shipped"
                    continue
                assert any(value == out or value.startswith(out + "/") for out in written), \
                    f"{stage}: {key} {value} is written by no earlier stage"
        written += [config[key] for key in WRITES if key in config]
        if config["command"] == "train":
            last_train = config
    assert commands[-2:] == ["optimize", "convert"] and commands[0] == "prepare"
    assert (last_train["model"], last_train["scale"]) == (preset.model, preset.scale)


# --------------------------------------------------------------------------- the commands


def test_presets_json_imports_no_tensorflow():
    code = ("import sys; from keras_sr.cli import main; main(['presets', '--json']); "
            "assert 'tensorflow' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    listing = json.loads(result.stdout)
    assert list(listing) == presets.names()
    x4 = listing["fd_irb_edge_x4"]
    assert (x4["model"], x4["scale"], x4["metrics"]["params"]) == ("fd_irb_edge", 4, 591_892)
    assert x4["files"]["tflite"] == "keras_sr/pretrained/fd_irb_edge_x4_int8.tflite"


def test_presets_table(capsys):
    from keras_sr.cli import main

    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "trainable params" in out and "| fd_irb_edge_x4 | fd_irb_edge | 4 | 591,892 | 61.62 + 0.21 fixed = 61.83 |" in out
    assert f"| {presets.get('fd_irb_x4').psnr('Set5'):.2f} |" in out


def test_profile_presets_flag_is_the_presets_listing(capsys):
    from keras_sr.cli import main

    assert main(["presets", "--json"]) == 0
    listing = capsys.readouterr().out
    assert main(["profile", "--presets", "--json"]) == 0
    assert capsys.readouterr().out == listing


def test_profile_json_and_table(capsys):
    from keras_sr.cli import main

    tiny = ["--set", "num_features=8", "--set", "growth_rate=8"]
    assert main(["profile", "--model", "fd_irb_edge", "--scale", "2", "--input", "10x6", *tiny, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["input_hw"] == [6, 10] and result["multi_adds_fixed"] == 6 * 10 * 5 * 5 * 3 * 3 * 4
    assert main(["profile", "--model", "fd_irb_edge", "--model", "fd_irb", "--input", "10x6", *tiny, "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"fd_irb_edge", "fd_irb"}
    assert main(["profile", "--model", "fd_irb_edge", "--input", "10x6", *tiny]) == 0
    out = capsys.readouterr().out
    assert "trainable params" in out and "fixed params" in out and "by stage" in out


def test_profile_of_a_preset_uses_its_config(capsys):
    from keras_sr.cli import main

    assert main(["profile", "--model", "fd_irb_edge_x2", "--input", "32x18", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"] == presets.get("fd_irb_edge_x2").metrics["params"]


@pytest.mark.parametrize("argv", [["--model", "nope"], ["--model", "split", "--scale", "2"],
                                  ["--model", "fd_irb_edge_x4", "--scale", "2"], ["--input", "320by180"],
                                  ["--model", "fd_irb_edge_x4", "--set", "recursions=3"]])
def test_profile_bad_usage_exits_2(argv, capsys):
    from keras_sr.cli import main

    assert main(["profile", *argv]) == 2
    assert "error" in capsys.readouterr().err
