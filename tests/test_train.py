"""train: a tiny fd_irb, 2-3 epochs of 2-3 steps, batch 2, LR patches 8x8, synthetic images."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_sr._keras import keras
from keras_sr import models
from keras_sr.checkpoints import load_model, save_model_weights
from keras_sr.data import open_pairs
from keras_sr.data.pipeline import read_train_patch
from keras_sr.prepare import prepare
from keras_sr.scoring import keras_predictor, score_items
from keras_sr.train import load_matching_weights, main, make_patch_dataset, make_schedule, train

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = dict(num_features=8, growth_rate=8, num_layers=3, recursions=1)
TINY_SET = [f"--set={k}={v}" for k, v in TINY.items()]
FAST = dict(steps_per_epoch=3, batch_size=2, patch_size=8, eval_max_images=2, quiet=True)
FAST_FLAGS = "--steps-per-epoch 3 --batch-size 2 --patch-size 8 --eval-max-images 2 --quiet".split()


def _image(h, w, seed):
    """Smooth colour image with some texture, so a network has something to learn."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 8.0
    channels = [np.sin(x * rng.uniform(0.5, 2) + y * rng.uniform(0.5, 2) + rng.uniform(0, 6)) for _ in range(3)]
    img = (np.stack(channels, -1) * 0.4 + 0.5) * 255 + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    (root / "train").mkdir()
    (root / "eval").mkdir()
    for i in range(3):
        Image.fromarray(_image(48 + 8 * i, 56, i)).save(root / "train" / f"t{i}.png")
    for i in range(2):
        Image.fromarray(_image(40, 44, 10 + i)).save(root / "eval" / f"e{i}.png")
    return root


def _run(data, out, *extra):
    return main(["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"),
                 "--eval", str(data / "eval"), "--output-dir", str(out), *FAST_FLAGS, *extra])


def _error(capsys, argv):
    """stderr of a run refused with exit code 2 (by the parser or by the library's check)."""
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    assert code == 2
    return capsys.readouterr().err


def test_schedule_step_cosine_constant():
    step = make_schedule(1e-4, "step", epochs=10, steps_per_epoch=5)  # drop at epoch 8 = step 40
    assert float(step(39)) == pytest.approx(1e-4) and float(step(40)) == pytest.approx(1e-5)
    cosine = make_schedule(1e-4, "cosine", epochs=10, steps_per_epoch=5, warmup_steps=10)
    assert float(cosine(0)) == pytest.approx(1e-5)  # warm-up: (0 + 1) / 10
    assert float(cosine(10)) == pytest.approx(1e-4) and float(cosine(50)) == pytest.approx(0, abs=1e-12)
    assert float(make_schedule(1e-4, "constant", 10, 5)(49)) == pytest.approx(1e-4)


def test_patch_stream_is_a_function_of_the_sample_index(data):
    source = open_pairs(data / "train", 4)
    whole = list(make_patch_dataset(source, 8, 2, seed=3).take(3).as_numpy_iterator())
    later = next(make_patch_dataset(source, 8, 2, seed=3, start_sample=4).as_numpy_iterator())
    assert whole[0][0].shape == (2, 8, 8, 3) and whole[0][1].shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(later[0], whole[2][0])
    np.testing.assert_array_equal(later[1], whole[2][1])
    other = next(make_patch_dataset(source, 8, 2, seed=4).as_numpy_iterator())
    assert not np.array_equal(other[1], whole[0][1])
    # Over all the items, an explicit index list is the same stream; over some, only they are read.
    listed = next(make_patch_dataset(source, 8, 2, seed=3, indices=[0, 1, 2]).as_numpy_iterator())
    np.testing.assert_array_equal(listed[1], whole[0][1])
    only = next(make_patch_dataset(source, 8, 2, seed=3, indices=[2]).as_numpy_iterator())
    for g in range(2):  # sample g: item 2, cropped by the generator of (seed, g)
        _, hr = read_train_patch(source, 2, 8, np.random.default_rng([3, 0, g]))
        np.testing.assert_array_equal(np.round(only[1][g] * 255).astype(np.uint8), hr)


def test_training_reduces_the_loss_on_a_fixed_batch(data):
    keras.utils.set_random_seed(0)
    model = models.build("fd_irb", 4, **TINY)
    lr, hr = next(make_patch_dataset(open_pairs(data / "train", 4), 8, 4, seed=0).as_numpy_iterator())
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.MeanAbsoluteError())
    before = model.evaluate(lr, hr, verbose=0)
    model.fit(lr, hr, epochs=30, batch_size=4, verbose=0)
    assert model.evaluate(lr, hr, verbose=0) < 0.95 * before  # the bicubic skip starts it low


def test_run_folder_contents(data, tmp_path):
    out = tmp_path / "run"
    assert _run(data, out, "--epochs", "2") == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "history.json", "history.csv", "ckpt", "best.weights.h5", "best.weights.json",
            "last.weights.h5", "last.weights.json"} <= names
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "fd_irb" and config["scale"] == 4
    assert config["config"] == models.resolve_config("fd_irb", 4, **TINY)
    assert config["command"] == "train" and config["status"] == "finished"
    assert config["command_line"].startswith("keras-sr train --model fd_irb")
    assert {"tensorflow", "tf_keras", "numpy", "python"} <= set(config["versions"])
    assert config["replay"]["epochs"] == 2 and config["replay"]["config"] == config["config"]
    assert config["start_time"] and config["options"]["loss"] == "l1" and config["options"]["lr"] == 1e-4
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert all(r["loss"] > 0 and r["psnr"] > 10 and 0 < r["ssim"] <= 1 and r["wall_time_s"] > 0 for r in history)
    # Step schedule: x0.1 from epoch int(0.8 * 2) = 1 on (0-based), as in the original.
    assert history[0]["lr"] == pytest.approx(1e-4) and history[1]["lr"] == pytest.approx(1e-5)
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,loss,lr,psnr,ssim")
    assert len(list((out / "ckpt").glob("ckpt-*.index"))) == 2
    assert list((out / "logs" / "train").glob("events.out.tfevents.*"))  # without the tensorboard package
    best_meta = json.loads((out / "best.weights.json").read_text())
    best_row = max(history, key=lambda r: r["psnr"])
    assert best_meta["epoch"] == best_row["epoch"] and best_meta["psnr"] == pytest.approx(best_row["psnr"])
    # The best weights reload through the sidecar and reproduce their PSNR.
    model, meta = load_model(out / "best.weights.h5")
    items = [(f"e{i}", *open_pairs(data / "eval", 4)[i]) for i in range(2)]
    assert score_items(keras_predictor(model), items, 4)["psnr"] == pytest.approx(best_meta["psnr"], abs=1e-9)


def test_resume_matches_an_uninterrupted_run_then_extends_the_schedule(data, tmp_path):
    common = dict(model="fd_irb", scale=4, train=data / "train", eval=data / "eval", config=TINY, **FAST)
    whole = train(output_dir=tmp_path / "a", epochs=3, **common)

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    stopped = train(output_dir=tmp_path / "b", epochs=3, callbacks=[StopAfterTwo()], **common)
    assert stopped["status"] == "stopped"
    assert json.loads((tmp_path / "b" / "last.weights.json").read_text())["epoch"] == 2
    saved, _ = load_model(tmp_path / "b" / "last.weights.h5")
    restored = {}

    class Capture(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            restored["weights"] = [w.copy() for w in self.model.get_weights()]

    resumed = train(output_dir=tmp_path / "b", epochs=3, resume=True, callbacks=[Capture()], quiet=True)
    for a, b in zip(restored["weights"], saved.get_weights()):
        np.testing.assert_array_equal(a, b)  # the checkpoint's weights, exactly
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3]
    for a, b in zip(resumed["model"].get_weights(), whole["model"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)  # optimizer state and data position too
    assert [r["loss"] for r in resumed["history"]] == pytest.approx([r["loss"] for r in whole["history"]], rel=1e-5)

    # A larger total recomputes the schedule: the drop moves from epoch 2 (0-based) to int(0.8 * 5) = 4.
    assert _run(data, tmp_path / "b", "--resume", "--epochs", "5") == 0
    history = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]
    assert [r["lr"] for r in history[3:]] == pytest.approx([1e-4, 1e-5])
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert [r["from_epoch"] for r in config["resumes"]] == [2, 3] and config["options"]["epochs"] == 5
    # Resuming a finished run to the same total does nothing.
    assert main(["--output-dir", str(tmp_path / "b"), "--resume", "--quiet"]) == 0
    assert len(json.loads((tmp_path / "b" / "history.json").read_text())) == 5


def test_init_weights_from_x2_skips_the_mismatched_layers(tmp_path, data, capsys):
    x2 = models.build("fd_irb", 2, **TINY)
    weights = save_model_weights(x2, tmp_path / "x2.weights.h5", {"model": "fd_irb", "scale": 2, "config": TINY})
    x4 = models.build("fd_irb", 4, **TINY)
    loaded, skipped = load_matching_weights(x4, weights)
    assert "sfe1" in loaded and "upscale_0" in loaded
    np.testing.assert_array_equal(x4.get_layer("sfe1").get_weights()[0], x2.get_layer("sfe1").get_weights()[0])
    reasons = dict(skipped)
    assert reasons["upscale_2"] == "not in the file" and "shapes" in reasons["bicubic"]

    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"), "--output-dir",
            str(tmp_path / "ft"), "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--patch-size", "8",
            "--init-weights", str(weights)]
    assert main(argv) == 0  # not --quiet: the surgery is reported
    out = capsys.readouterr().out
    assert "kept the initial weights of upscale_2: not in the file" in out
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["init_weights"] == str(weights)

    legacy = tmp_path / "legacy.h5"  # tf_keras's own .h5 layout, no sidecar
    x2.save_weights(str(legacy))
    fresh = models.build("fd_irb", 4, **TINY)
    assert load_matching_weights(fresh, legacy)[0] == loaded

    unrelated = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(5, 7, name="zz")])
    with pytest.raises(ValueError, match="no layer matches"):
        load_matching_weights(unrelated, weights)


def test_init_weights_from_fewer_recursions_starts_as_the_same_function(tmp_path):
    one = models.build("fd_irb", 4, **TINY)
    weights = save_model_weights(one, tmp_path / "u1.weights.h5", {"model": "fd_irb", "scale": 4, "config": TINY})
    two = models.build("fd_irb", 4, **{**TINY, "recursions": 2})
    loaded, skipped = load_matching_weights(two, weights)
    assert "gff_0" in loaded and skipped == []
    kernel = two.get_layer("gff_0").get_weights()[0]
    assert kernel.shape[2] == 2 * TINY["num_features"]
    assert not kernel[:, :, TINY["num_features"]:].any()
    x = np.random.default_rng(0).random((1, 12, 10, 3), np.float32)
    np.testing.assert_allclose(two(x).numpy(), one(x).numpy(), atol=1e-6)

    # Fewer recursions than the file: not a growth, so the fusion keeps its initial weights.
    back = models.build("fd_irb", 4, **TINY)
    grown = save_model_weights(two, tmp_path / "u2.weights.h5",
                               {"model": "fd_irb", "scale": 4, "config": {**TINY, "recursions": 2}})
    assert "shapes" in dict(load_matching_weights(back, grown)[1])["gff_0"]


@pytest.mark.parametrize("flag, policy", [(["--mixed-precision"], "bfloat16"),  # 'auto' on a CPU
                                          (["--mixed-precision", "float16"], "float16")])
def test_mixed_precision_trains_in_it_but_saves_and_scores_in_float32(data, tmp_path, flag, policy):
    out = tmp_path / "mp"
    assert _run(data, out, "--epochs", "1", "--steps-per-epoch", "2", *flag) == 0
    assert keras.mixed_precision.global_policy().name == "float32"  # restored
    assert json.loads((out / "config.json").read_text())["options"]["mixed_precision"] == policy
    model, meta = load_model(out / "last.weights.h5")
    assert meta["epoch"] == 1 and model.output.dtype == "float32"
    assert all(w.dtype == np.float32 for w in model.get_weights())
    # The per-epoch score is float32 inference of the saved weights, not the reduced-precision graph.
    source = open_pairs(data / "eval", 4)
    scores = score_items(keras_predictor(model), ((source.name(i), *source[i]) for i in range(2)), 4)
    assert scores["psnr"] == pytest.approx(json.loads((out / "history.json").read_text())[0]["psnr"], abs=1e-6)


def test_resume_keeps_the_runs_mixed_precision_and_refuses_a_loss_scale_switch(data, tmp_path, capsys):
    out = tmp_path / "bf16"
    assert _run(data, out, "--epochs", "1", "--mixed-precision", "bfloat16") == 0
    err = _error(capsys, ["--output-dir", str(out), "--resume", "--epochs", "2", "--mixed-precision", "float16"])
    assert "--mixed-precision" in err and "bfloat16" in err and "float16" in err
    assert main(["--output-dir", str(out), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["options"]["mixed_precision"] == "bfloat16"
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_saved_weights_hold_no_optimizer_state(data, tmp_path):
    out = tmp_path / "fp32"
    assert _run(data, out, "--epochs", "1") == 0
    model, _ = load_model(out / "last.weights.h5")  # uncompiled: its file holds the weights only
    model.save_weights(str(tmp_path / "plain.weights.h5"))
    # With Adam's state (two moments per weight plus its counters) the file would be ~2x larger.
    assert (out / "last.weights.h5").stat().st_size <= 1.05 * (tmp_path / "plain.weights.h5").stat().st_size


@pytest.mark.slow  # XLA compilation alone takes ~10 s here
def test_jit_compile_runs(data, tmp_path):
    assert _run(data, tmp_path / "jit", "--epochs", "1", "--steps-per-epoch", "1", "--jit-compile") == 0


def test_mirrored_strategy_on_two_logical_cpus(data, tmp_path):
    code = (
        "import sys, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from keras_sr.train import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "mirrored"
    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"),
            "--eval", str(data / "eval"), "--output-dir", str(out), *FAST_FLAGS,
            "--epochs", "1", "--steps-per-epoch", "2", "--strategy", "mirrored"]
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["replicas"] == 2 and config["options"]["strategy"] == "mirrored"
    assert json.loads((out / "history.json").read_text())[0]["loss"] > 0


# ------------------------------------------------------------------ errors


def test_no_train_explains_how_to_get_the_files(capsys):
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4"])
    assert "--train is required" in err and "DIV2K_x4.h5" in err and "DIV2K_x2.h5" in err
    assert "keras-sr prepare --images-dir DIV2K_train_HR --output-path DIV2K_x4.h5 --scale 4" in err


def test_missing_train_path(capsys, tmp_path):
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4", "--train", str(tmp_path / "nope.h5"),
                          "--output-dir", str(tmp_path / "r")])
    assert "nope.h5" in err and "does not exist" in err
    assert not (tmp_path / "r").exists()


def test_h5_of_another_scale(capsys, tmp_path, data):
    h5 = tmp_path / "x2.h5"
    prepare(data / "train", h5, 2)
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4", "--train", str(h5), "--output-dir", str(tmp_path / "r")])
    assert "x2.h5" in err and "does not match `scale`=4" in err


def test_items_smaller_than_the_patch_are_skipped_with_a_count(capsys, tmp_path, data):
    # LR sizes 12x14, 14x14, 16x14: a 13 px patch leaves out t0 only.
    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"), "--batch-size", "2",
            "--epochs", "1", "--steps-per-epoch", "1", "--quiet", "--output-dir", str(tmp_path / "r")]
    assert main(argv + ["--patch-size", "13"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 of 3 training items smaller than the 52x52 HR patch (--patch-size 13 at x4)" in out
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train_items"] == {"total": 3, "used": 2}
    # None fits: refused, with the patch size that would fit and the prepare flag.
    err = _error(capsys, argv + ["--patch-size", "15", "--output-dir", str(tmp_path / "r2")])
    assert "--patch-size 14 or less" in err and "keras-sr prepare --min-size 60" in err
    assert not (tmp_path / "r2").exists()


def test_empty_folder(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4", "--train", str(tmp_path / "empty"),
                          "--output-dir", str(tmp_path / "r")])
    assert "holds no images" in err


def test_existing_run_needs_resume_or_force(capsys, tmp_path, data):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "notes.txt").write_text("mine")
    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"), "--output-dir", str(out),
            *FAST_FLAGS, "--epochs", "1", "--steps-per-epoch", "1"]
    err = _error(capsys, argv)
    assert "already holds a run" in err and "--resume" in err and "--force" in err
    assert main(argv + ["--force"]) == 0
    assert json.loads((out / "config.json").read_text())["model"] == "fd_irb"
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are replaced


def test_resume_errors(capsys, tmp_path, data):
    err = _error(capsys, ["--output-dir", str(tmp_path / "none"), "--resume"])
    assert "no run to resume" in err
    out = tmp_path / "run"
    out.mkdir()
    saved = {"model": "fd_irb", "scale": 4, "config": models.resolve_config("fd_irb", 4, **TINY),
             "train_path": str(data / "train"), "eval_path": None, "options": {"epochs": 2}}
    (out / "config.json").write_text(json.dumps(saved))
    err = _error(capsys, ["--model", "rdcab_recursive", "--scale", "4", "--output-dir", str(out), "--resume"])
    assert "holds a run of model 'fd_irb' at x4" in err and "rdcab_recursive" in err
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4", "--set", "recursions=2", "--output-dir", str(out),
                          "--resume"])
    assert "recursions" in err and "differs" in err
    err = _error(capsys, ["--model", "fd_irb", "--scale", "4", "--resume", "--force", "--train", "x"])
    assert "exclude each other" in err


def test_bad_options(capsys, tmp_path, data):
    base = ["--model", "fd_irb", "--scale", "4", "--train", str(data / "train"), "--output-dir", str(tmp_path / "r")]
    assert "`lr_drop_at` must be a number in (0, 1]" in _error(capsys, base + ["--lr-drop-at", "1.5"])
    assert "--batch-size: expected an integer >= 1" in _error(capsys, base + ["--batch-size", "0"])
    assert "`scale` must be one of (4,)" in _error(capsys, ["--model", "split", "--scale", "2", "--train", "x"])
    assert "Unknown config key" in _error(capsys, base + ["--set", "depth=3"])


# ------------------------------------------------------------------ engine behaviour


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(data, tmp_path):
    class Poison(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # after epoch 1's checkpoint
            weights = self.model.get_weights()
            self.model.set_weights([np.full_like(w, np.nan) for w in weights])

    common = dict(model="fd_irb", scale=4, train=data / "train", config=TINY, epochs=2, steps_per_epoch=2,
                  batch_size=2, patch_size=8, quiet=True)
    result = train(output_dir=tmp_path / "nan", callbacks=[Poison()], **common)
    assert result["status"] == "nan" and [r["epoch"] for r in result["history"]] == [1]
    record = json.loads((tmp_path / "nan" / "config.json").read_text())
    assert record["status"] == "nan" and record["nan_at_step"] == 3
    assert [p.name for p in (tmp_path / "nan" / "ckpt").glob("ckpt-*.index")] == ["ckpt-1.index"]
    model, meta = load_model(tmp_path / "nan" / "last.weights.h5")
    assert meta["epoch"] == 1 and all(np.isfinite(w).all() for w in model.get_weights())
    resumed = train(output_dir=tmp_path / "nan", resume=True, quiet=True)
    assert resumed["status"] == "finished" and [r["epoch"] for r in resumed["history"]] == [1, 2]


def test_deprecated_flags_warn_and_still_work(data, tmp_path, capsys):
    out = tmp_path / "old"
    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"), "--batch-size", "2",
            "--patch-size", "8", "--steps-per-epoch", "1", "--epochs", "2", "--outputs-dir", str(out),
            "--checkpoint-every", "2", "--verbose", "0"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "`--outputs-dir` is deprecated" in err and "use `--output-dir`" in err
    assert "`--checkpoint-every` is deprecated" in err and "use `--checkpoint-every-epochs`" in err
    assert "`--verbose 0` is deprecated" in err
    assert json.loads((out / "config.json").read_text())["options"]["checkpoint_every_epochs"] == 2
    assert [p.name for p in (out / "ckpt").glob("ckpt-*.index")] == ["ckpt-2.index"]


def test_bare_eval_name_resolves_under_data_root_then_keras_sr_data(data, tmp_path, monkeypatch, capsys):
    root = tmp_path / "datasets"
    root.mkdir()
    shutil.copytree(data / "eval", root / "Tiny5")
    argv = ["--model", "fd_irb", "--scale", "4", *TINY_SET, "--train", str(data / "train"), "--eval", "Tiny5",
            *FAST_FLAGS, "--epochs", "1", "--steps-per-epoch", "1"]
    monkeypatch.delenv("KERAS_SR_DATA", raising=False)
    assert main(argv + ["--data-root", str(root), "--output-dir", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "history.json").read_text())[0]["psnr"] > 10
    capsys.readouterr()
    # Without --data-root: $KERAS_SR_DATA (the set resolves; the next check, of --init-weights, stops the run).
    monkeypatch.setenv("KERAS_SR_DATA", str(root))
    err = _error(capsys, argv + ["--output-dir", str(tmp_path / "b"), "--init-weights", str(tmp_path / "no.h5")])
    assert "`init_weights` file" in err and "does not exist" in err and "Tiny5" not in err
    monkeypatch.delenv("KERAS_SR_DATA")
    err = _error(capsys, argv + ["--output-dir", str(tmp_path / "c"), "--data-root", str(tmp_path)])
    assert "'Tiny5' not found" in err and not (tmp_path / "c").exists()


def test_a_run_file_runs_and_a_run_record_replays_exactly(data, tmp_path, capsys):
    run_file = tmp_path / "run.json"
    run_file.write_text(json.dumps({
        "command": "train", "model": "fd_irb", "scale": 4, "config": TINY, "train": str(data / "train"),
        "eval": str(data / "eval"),
        "output_dir": str(tmp_path / "x"), "epochs": 2, "steps_per_epoch": 2, "batch_size": 2, "patch_size": 8,
        "eval_max_images": 2, "lr_schedule": "cosine", "seed": 5, "quiet": True,
    }))
    assert main(["--config", str(run_file)]) == 0
    record = json.loads((tmp_path / "x" / "config.json").read_text())
    assert record["options"]["seed"] == 5 and record["options"]["lr_schedule"] == "cosine"
    # The record replays: same options, another folder (a flag given wins over the file).
    assert main(["--config", str(tmp_path / "x" / "config.json"), "--output-dir", str(tmp_path / "y"), "--quiet"]) == 0
    first, again = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("x", "y"))
    for key in ("epoch", "samples_seen", "lr"):
        assert [r[key] for r in again] == [r[key] for r in first]
    for key in ("loss", "psnr", "ssim"):
        assert [r[key] for r in again] == pytest.approx([r[key] for r in first], rel=1e-5)
    a, _ = load_model(tmp_path / "x" / "last.weights.h5")
    b, _ = load_model(tmp_path / "y" / "last.weights.h5")
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=0, atol=1e-6)
    replayed = json.loads((tmp_path / "y" / "config.json").read_text())
    assert replayed["replay"] == {**record["replay"], "output_dir": str(tmp_path / "y")}


def test_run_file_errors_name_the_file_and_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "fd_irb", "scale": 4, "epoch": 3}))
    err = _error(capsys, ["--config", str(bad)])
    assert "bad.json" in err and "unknown key 'epoch'" in err
    bad.write_text(json.dumps({"model": "fd_irb", "scale": 4, "lr_schedule": "linear"}))
    assert "`lr_schedule` must be one of" in _error(capsys, ["--config", str(bad)])
    assert "does not exist" in _error(capsys, ["--config", str(tmp_path / "none.json")])
    record = tmp_path / "opt.json"  # an optimize run's record
    record.write_text(json.dumps({"command": "optimize", "replay": {"weights": "w.weights.h5"}}))
    assert "record of a `keras-sr optimize` run" in _error(capsys, ["--config", str(record)])
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("model: fd_irb\nscale: 4\nepoch: 3\n")
    err = _error(capsys, ["--config", str(yaml_file)])
    try:
        import yaml  # noqa: F401
    except ImportError:
        assert "run.yaml" in err and "PyYAML is not installed" in err
    else:
        assert "run.yaml" in err and "unknown key 'epoch'" in err


def test_shipped_stage_files_fill_the_parsers():
    from keras_sr.cli import optimize as optimize_cli
    from keras_sr.cli import train as train_cli
    from keras_sr.training import apply_config_file

    parsers = {"train": train_cli.build_parser, "optimize": optimize_cli.build_parser}
    files = sorted((REPO_ROOT / "keras_sr" / "pretrained" / "configs").rglob("*.json"))
    seen = set()
    for path in files:
        command = json.loads(path.read_text()).get("command")
        if command not in parsers:
            continue
        parser = parsers[command]()
        args = parser.parse_args(["--config", str(path)])
        apply_config_file(args, parser)
        assert args.output_dir and args.output_dir.startswith("runs/"), path  # as written, relative
        assert args.train and args.eval, path
        seen.add(command)
    assert seen == set(parsers) or not files


def test_help_does_not_import_tensorflow():
    code = ("import sys, contextlib, io\n"
            "from keras_sr.cli import main\n"
            "for command in ('train', 'optimize'):\n"
            "    out = io.StringIO()\n"
            "    with contextlib.redirect_stdout(out):\n"
            "        try:\n"
            "            main([command, '--help'])\n"
            "        except SystemExit:\n"
            "            pass\n"
            "    assert '--output-dir' in out.getvalue() and 'exit codes' in out.getvalue(), out.getvalue()\n"
            "assert 'tensorflow' not in sys.modules\n"
            "import keras_sr.train, keras_sr.optimize.run, keras_sr.training\n"
            "assert 'tensorflow' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr


def test_resume_drops_a_best_weights_file_from_a_discarded_epoch(data, tmp_path):
    """Killed while checkpointing epoch 3 after saving its best weights: resume is from epoch 2,
    so best.weights.h5 (epoch 3) must go, and the re-run epoch 3 writes it again."""
    out = tmp_path / "run"
    assert _run(data, out, "--epochs", "2") == 0
    best = json.loads((out / "best.weights.json").read_text())
    best.update(epoch=3, psnr=999.0)  # what the killed epoch 3 left: a best the history no longer holds
    (out / "best.weights.json").write_text(json.dumps(best))
    assert _run(data, out, "--resume", "--epochs", "3") == 0
    best = json.loads((out / "best.weights.json").read_text())
    assert best["epoch"] == 3 and best["psnr"] < 999.0
    history = json.loads((out / "history.json").read_text())
    assert best["psnr"] == pytest.approx(history[-1]["psnr"])
