"""teach + train --teacher-weight: a teacher's outputs stored beside the HR, and the distillation loss."""
import json

import h5py
import numpy as np
import pytest

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.checkpoints import save_model_weights
from keras_sr.data import open_pairs
from keras_sr.data.pipeline import make_patch_dataset
from keras_sr.prepare import prepare
from keras_sr.scoring import keras_predictor, super_resolve
from keras_sr.teach import TEACHER_GROUP, add_teacher_outputs
from keras_sr.training import train
from keras_sr.training.trainer import distillation_loss

TINY = dict(num_features=8, growth_rate=8, num_layers=3, recursions=1)
FAST = dict(epochs=1, steps_per_epoch=2, batch_size=2, patch_size=8, eval_max_images=1, quiet=True)


@pytest.fixture(scope="module")
def train_file(tmp_path_factory, hr_images):
    """An x2 training file of the synthetic images (five half-size crops each, LR 18x24)."""
    path = tmp_path_factory.mktemp("teach") / "train_x2.h5"
    prepare(hr_images, path, 2, quiet=True)
    return path


@pytest.fixture(scope="module")
def teacher_weights(tmp_path_factory):
    keras.utils.set_random_seed(1)
    path = tmp_path_factory.mktemp("teacher") / "teacher.weights.h5"
    model = models.build("fd_irb", 2, **TINY)
    save_model_weights(model, path, {"model": "fd_irb", "scale": 2, "config": models.resolve_config("fd_irb", 2, **TINY)})
    return path, model


@pytest.fixture(scope="module")
def taught(train_file, teacher_weights, tmp_path_factory):
    output = tmp_path_factory.mktemp("taught") / "train_x2_teacher.h5"
    count = add_teacher_outputs(train_file, teacher_weights[0], output, quiet=True)
    return output, count


def test_teach_copies_the_items_and_adds_the_teachers_outputs(train_file, teacher_weights, taught):
    output, count = taught
    source = open_pairs(train_file, 2)
    assert count == len(source) == 10
    predict = keras_predictor(teacher_weights[1])
    with h5py.File(train_file, "r") as original, h5py.File(output, "r") as f:
        assert set(f.keys()) == {"lr", "hr", "names", TEACHER_GROUP}
        assert f.attrs["scale"] == 2 and f.attrs["teacher"] == str(teacher_weights[0])
        for key in ("0", "7"):
            np.testing.assert_array_equal(f["lr"][key][()], original["lr"][key][()])
            np.testing.assert_array_equal(f["hr"][key][()], original["hr"][key][()])
            expected = np.round(super_resolve(predict, original["lr"][key][()]) * 255).astype(np.uint8)
            np.testing.assert_array_equal(f[TEACHER_GROUP][key][()], expected)
    assert open_pairs(output, 2).has_teacher and not source.has_teacher


def test_teach_refuses_to_overwrite_or_to_mix_scales(train_file, teacher_weights, taught, tmp_path):
    output, _ = taught
    before = output.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        add_teacher_outputs(train_file, teacher_weights[0], output, quiet=True)
    assert output.read_bytes() == before
    with pytest.raises(ValueError, match="`output` must differ from `train`"):
        add_teacher_outputs(train_file, teacher_weights[0], train_file, force=True, quiet=True)
    with pytest.raises(FileNotFoundError, match="preset name"):
        add_teacher_outputs(train_file, tmp_path / "missing.weights.h5", tmp_path / "out.h5", quiet=True)
    with pytest.raises(ValueError, match="upscales x4, but the training file is x2"):
        add_teacher_outputs(train_file, "fd_irb_edge_x4", tmp_path / "out.h5", quiet=True)
    assert not (tmp_path / "out.h5").exists()


def test_teacher_patches_follow_the_hr_crops_and_flips(train_file, tmp_path):
    # A "teacher" whose outputs are the HR itself: every target's two halves must then agree, flips included.
    mirror = tmp_path / "mirror.h5"
    with h5py.File(train_file, "r") as src, h5py.File(mirror, "w") as dst:
        for key in src.keys():
            src.copy(src[key], dst, name=key)
        dst.attrs.update(dict(src.attrs))
        src.copy(src["hr"], dst, name=TEACHER_GROUP)
    source = open_pairs(mirror, 2)
    with_teacher = list(make_patch_dataset(source, 8, 4, seed=5, teacher=True).take(3).as_numpy_iterator())
    plain = list(make_patch_dataset(source, 8, 4, seed=5).take(3).as_numpy_iterator())
    for (lr, target), (plain_lr, hr) in zip(with_teacher, plain):
        assert target.shape == (4, 16, 16, 6)
        np.testing.assert_array_equal(lr, plain_lr)  # the same stream of crops as without a teacher
        np.testing.assert_array_equal(target[..., :3], hr)
        np.testing.assert_array_equal(target[..., 3:], hr)


def test_distillation_loss_weighs_the_hr_and_the_teacher():
    rng = np.random.default_rng(0)
    output, hr, teacher = (rng.random((2, 4, 4, 3)).astype(np.float32) for _ in range(3))
    target = np.concatenate([hr, teacher], -1)
    mae = lambda a, b: float(np.mean(np.abs(a - b)))  # noqa: E731
    mse = lambda a, b: float(np.mean((a - b) ** 2))  # noqa: E731
    for w in (0.25, 1.0):
        got = float(keras.losses.get(distillation_loss("l1", w))(target, output).numpy().mean())
        assert got == pytest.approx((1 - w) * mae(hr, output) + w * mae(teacher, output), rel=1e-5)
    got = float(np.mean(distillation_loss("l2", 0.5)(target, output).numpy()))
    assert got == pytest.approx(0.5 * mse(hr, output) + 0.5 * mse(teacher, output), rel=1e-5)
    assert float(distillation_loss("l1", 0.0)(hr, output)) == pytest.approx(mae(hr, output), rel=1e-5)


def test_train_with_a_teacher_weight(taught, train_file, hr_images, tmp_path):
    output, _ = taught
    with pytest.raises(ValueError, match="keras-sr teach"):
        train("fd_irb", 2, train=train_file, config=TINY, output_dir=tmp_path / "refused", teacher_weight=0.5, **FAST)
    assert not (tmp_path / "refused").exists()
    with pytest.raises(ValueError, match="teacher_weight"):
        train("fd_irb", 2, train=output, config=TINY, output_dir=tmp_path / "bad", teacher_weight=1.5, **FAST)
    result = train("fd_irb", 2, train=output, eval=hr_images, config=TINY, output_dir=tmp_path / "run",
                   teacher_weight=0.5, **FAST)
    assert result["status"] == "finished" and np.isfinite(result["history"][-1]["loss"])
    assert json.loads((tmp_path / "run" / "config.json").read_text())["options"]["teacher_weight"] == 0.5


def test_teach_names_the_missing_flags(capsys):
    from keras_sr.cli import main

    assert main(["teach", "--train", "x.h5"]) == 2
    assert "the following arguments are required: --teacher, -o/--output" in capsys.readouterr().err
