"""Pruning, QAT and the optimize CLI on tiny models (8 filters, 8-16 px inputs)."""
import json

import h5py
import numpy as np
import pytest
from PIL import Image

from keras_sr import checkpoints, models
from keras_sr._keras import keras, tf
from keras_sr.layers import BicubicUpsample, ChannelSlice, ChannelStats, PixelShuffle, Scale
from keras_sr.optimize import prune as prune_lib
from keras_sr.optimize import qat as qat_lib
from keras_sr.optimize import run as run_lib
from keras_sr.profile import count_params
from tests.helpers_tflite import convert_int8, op_table, run_int8

import tensorflow_model_optimization as tfmot  # noqa: E402

SMALL = dict(num_features=8, growth_rate=8, num_layers=3, num_blocks=2, recursions=2)
# Ops whose activations must be int8 in a full-integer model.
COMPUTE_OPS = {"CONV_2D", "ADD", "MUL", "CONCATENATION", "MEAN", "LOGISTIC", "DEPTH_TO_SPACE", "SQRT",
               "SQUARED_DIFFERENCE", "STRIDED_SLICE"}


def small(name, scale=None):
    """A tiny build of a registered model at its largest supported scale."""
    spec = models.spec(name)
    config = {k: v for k, v in SMALL.items() if k in spec.defaults}
    scale = scale or max(spec.scales)
    keras.utils.set_random_seed(0)  # the same initial weights in every run
    return models.build(name, scale, **config), scale, config


def images(n, hw=16, seed=0):
    """Smooth random images in [0, 1] (a coarse random field, upsampled)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, 4, 4, 3)).astype(np.float32)
    return tf.image.resize(coarse, (hw, hw), "bilinear").numpy().clip(0, 1)


def float_layer_classes(model):
    return {type(layer) for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}


# --------------------------------------------------------------------------- QAT


@pytest.mark.parametrize("name", models.names())
def test_qat_int8_tflite_matches_keras(name):
    model, scale, _ = small(name)
    qat = qat_lib.quantize_model(model)

    # Every layer class got wrapped (no unsupported-layer error, nothing left float).
    wrappers = [layer for layer in qat.layers if isinstance(layer, tfmot.quantization.keras.QuantizeWrapperV2)]
    wrapped = {type(layer.layer) for layer in wrappers}
    assert wrapped == float_layer_classes(model)
    # A shared Conv2D stays one wrapper that is called once per recursion.
    if "recursions" in models.spec(name).defaults:
        assert len(qat.get_layer("quant_block_lff").inbound_nodes) == SMALL["recursions"]

    x = images(3)
    qat_lib.calibrate(qat, [x[:2]])
    assert qat(x[2:]).shape == (1, 16 * scale, 16 * scale, 3)

    content = convert_int8(qat, [x[i : i + 1] for i in range(2)], (16, 16))
    table = op_table(content)
    seen = {op for op, _, _ in table}
    for op, ins, outs in table:
        assert "float32" not in ins + outs, f"{op} has a float tensor: {ins} -> {outs}"
        if op in COMPUTE_OPS:
            assert outs == ["int8"], f"{op} outputs {outs}"
    assert {"CONV_2D", "ADD", "DEPTH_TO_SPACE"} <= seen

    # Not bit-exact: TFLite requantizes every CONCATENATION input to one scale (the
    # Keras model rounds them at their own), and quantizes the ops that have no
    # fake-quant node (MEAN, SQRT, ...) from the representative data. With
    # calibrated (tight) ranges up to 5 steps were seen on a few pixels.
    y, x_used, out_scale = run_int8(content, x[2:])
    reference = qat(x_used, training=False).numpy()
    steps = np.abs(y - reference) / out_scale
    assert steps.max() <= 6.01, steps.max()
    assert steps.mean() <= 1.0, steps.mean()


def test_custom_layers_get_class_configs():
    from keras_sr.optimize import quantize_configs as qc

    assert isinstance(qc.config_for_layer(PixelShuffle(2)), qc.NoOpQuantizeConfig)
    assert type(qc.config_for_layer(ChannelStats())) is qc.OutputQuantizeConfig
    assert type(qc.config_for_layer(keras.layers.Multiply())) is qc.OutputQuantizeConfig
    # A slice feeding concats of different ranges needs its own range (see quantize_configs).
    assert type(qc.config_for_layer(ChannelSlice(0, 2))) is qc.OutputQuantizeConfig
    assert qc.config_for_layer(BicubicUpsample(2)).get_config() == {"per_channel": True}
    assert qc.config_for_layer(BicubicUpsample(2), per_channel=False).get_config() == {"per_channel": False}
    assert isinstance(qc.config_for_layer(Scale()), qc.ScaleQuantizeConfig)
    assert qc.config_for_layer(keras.layers.Conv2D(4, 3)) is None  # tfmot's default


def test_calibration_brings_qat_model_close_to_float():
    model, _, _ = small("rdcab_recursive")
    qat = qat_lib.quantize_model(model)
    x = images(2)
    expected = model(x).numpy()
    before = np.abs(qat(x).numpy() - expected).max()
    ranges = qat_lib.calibrate(qat, [x])
    after = np.abs(qat(x).numpy() - expected).max()
    assert after < before / 2
    assert all(lo <= 0 <= hi and hi - lo < 12 for lo, hi in ranges.values())  # no longer the +-6 start


def test_qat_checkpoint_round_trip(tmp_path):
    model, scale, config = small("split")
    qat = qat_lib.quantize_model(model, per_channel_bicubic=True)
    x = images(2)
    qat_lib.calibrate(qat, [x])
    qat(x, training=True)  # move the EMA ranges off their calibrated values
    path = checkpoints.save_model_weights(
        qat, tmp_path / "qat.weights.h5", {"model": "split", "scale": scale, "config": config, "qat": True}
    )
    loaded, meta = checkpoints.load_model(path)
    assert meta["qat"] and qat_lib.is_quantized(loaded)
    np.testing.assert_array_equal(loaded(x).numpy(), qat(x).numpy())
    # The fixed bicubic kernel is quantized but not trained.
    assert not [w.name for w in loaded.trainable_weights if "bicubic" in w.name]
    assert [w.name for w in loaded.non_trainable_weights].count("bicubic/kernel:0") == 1


def test_quantize_model_refuses_bad_input():
    model, _, _ = small("rdn")
    with pytest.raises(ValueError, match="scheme"):
        qat_lib.quantize_model(model, scheme="int4")


# --------------------------------------------------------------------------- pruning


def fit_steps(model, x, y, steps, callbacks=(), lr=1e-3):
    # Eagerly: tracing the train step costs 5-10 s for these models, a step ~0.3 s.
    model.compile(keras.optimizers.Adam(lr), "mae", run_eagerly=True)
    model.fit(x, y, batch_size=len(x), epochs=steps, callbacks=list(callbacks), verbose=0)


def test_pruning_sparsity_strip_and_prune_preserving_qat(tmp_path):
    model, scale, config = small("rdcab_recursive")
    x = images(2, hw=8)
    y = images(2, hw=8 * scale, seed=1)
    pruned = prune_lib.prune_model(model, schedule="constant", target_sparsity=0.5, frequency=1)
    fit_steps(pruned, x, y, steps=2, callbacks=prune_lib.pruning_callbacks())

    # The shared block conv: one wrapper (called once per recursion) with one mask.
    shared = pruned.get_layer("prune_low_magnitude_block_lff")
    assert len(shared.inbound_nodes) == SMALL["recursions"]
    assert [w.name for w in shared.weights if "mask" in w.name] == ["prune_low_magnitude_block_lff/mask:0"]

    stripped = prune_lib.strip(pruned)
    assert not prune_lib.is_pruned(stripped)
    np.testing.assert_array_equal(stripped(x).numpy(), pruned(x).numpy())

    report = prune_lib.sparsity_report(stripped)
    assert len(report["layers"]) == len(prune_lib.prunable_layers(model))
    for entry in report["layers"]:
        if entry["params"] >= 8:
            assert abs(entry["sparsity"] - 0.5) < 0.05, entry
    assert report["kernels"]["params"] == sum(e["params"] for e in report["layers"])
    assert report["kernels"]["nonzero"] == sum(e["nonzero"] for e in report["layers"])
    assert report["total"]["params"] == count_params(model)
    assert report["kernels"]["nonzero"] < report["total"]["nonzero"] < report["total"]["params"]
    assert report["multi_adds_saved"] == 0 and "Multi-Adds are unchanged" in report["note"]
    assert prune_lib.sparsity_report(model)["kernels"]["sparsity"] == 0  # the input model is untouched

    zeros = {e["name"]: e["nonzero"] for e in report["layers"]}
    pqat = qat_lib.quantize_model(stripped, scheme="prune_preserve")
    fit_steps(pqat, x, y, steps=2, lr=1e-2)
    assert {e["name"]: e["nonzero"] for e in prune_lib.sparsity_report(pqat)["layers"]} == zeros

    # Saved and rebuilt: the prune-preserve masks come back (they are not variables).
    path = checkpoints.save_model_weights(
        pqat, tmp_path / "pqat.weights.h5",
        {"model": "rdcab_recursive", "scale": scale, "config": config, "qat": True, "qat_scheme": "prune_preserve",
         "pruned": True},
    )
    loaded, _ = checkpoints.load_model(path)
    np.testing.assert_array_equal(loaded(x).numpy(), pqat(x).numpy())
    fit_steps(loaded, x, y, steps=1, lr=1e-2)
    assert {e["name"]: e["nonzero"] for e in prune_lib.sparsity_report(loaded)["layers"]} == zeros


def test_two_four_sparsity_pattern():
    model, scale, _ = small("split")
    x = images(2, hw=8)
    y = images(2, hw=8 * scale, seed=1)
    pruned = prune_lib.prune_model(model, schedule="constant", frequency=1, m_by_n=(2, 4))
    fit_steps(pruned, x, y, steps=1, callbacks=prune_lib.pruning_callbacks())
    stripped = prune_lib.strip(pruned)
    kernels = prune_lib._conv_kernels(stripped)
    assert kernels
    for name, kernel in kernels:
        assert prune_lib.m_by_n_violations(kernel.numpy(), (2, 4)) == 0, name
    wide = [k for _, k in kernels if k.shape[2] % 4 == 0]
    assert all(abs(1 - np.count_nonzero(k.numpy()) / k.numpy().size - 0.5) < 1e-9 for k in wide)
    # The checker itself finds a dense kernel wrong.
    assert prune_lib.m_by_n_violations(np.ones((3, 3, 8, 2)), (2, 4)) == 3 * 3 * 2 * 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(target_sparsity=1.0), "target_sparsity"),
        (dict(target_sparsity=-0.1), "target_sparsity"),
        (dict(schedule="cubic"), "schedule"),
        (dict(schedule="polynomial"), "end_step"),
        (dict(m_by_n=(4, 2)), "m_by_n"),
        (dict(frequency=0), "frequency"),
    ],
)
def test_prune_model_refuses_bad_arguments(kwargs, match):
    model, _, _ = small("rdn")
    with pytest.raises(ValueError, match=match):
        prune_lib.prune_model(model, **kwargs)


# --------------------------------------------------------------------------- CLI


CLI_MODEL = ("rdcab_recursive", 2, dict(num_features=8, growth_rate=8, num_layers=2, recursions=2))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder of tiny HR images (train/, eval/) and float weights of a tiny rdcab_recursive x2."""
    root = tmp_path_factory.mktemp("optimize")
    for folder, count in (("train", 2), ("eval", 1)):
        (root / folder).mkdir()
        for i in range(count):
            yy, xx = np.mgrid[0:48, 0:48]
            img = np.stack([(xx * 5 + 20 * i) % 256, (yy * 3) % 256, ((xx + yy) * 2) % 256], -1).astype(np.uint8)
            Image.fromarray(img).save(root / folder / f"{i}.png")
    name, scale, config = CLI_MODEL
    keras.utils.set_random_seed(0)
    model = models.build(name, scale, **config)
    checkpoints.save_model_weights(model, root / "float.weights.h5", {"model": name, "scale": scale, "config": config})
    model.save_weights(str(root / "bare.weights.h5"))  # no sidecar
    return root


def cli_args(ws, out, *extra):
    return ["--weights", str(ws / "float.weights.h5"), "--train", str(ws / "train"), "--eval", str(ws / "eval"),
            "--steps", "2", "--batch-size", "2", "--patch-size", "8", "--output-dir", str(out), "--quiet",
            "--run-eagerly", *extra]


def exit_code(argv):
    """The exit code of `keras-sr optimize ARGV` (a parser error raises SystemExit)."""
    try:
        return run_lib.main(argv)
    except SystemExit as exit:
        return exit.code


def test_cli_prune_then_qat_end_to_end(workspace, capsys):
    out = workspace / "run"
    assert run_lib.main(cli_args(workspace, out, "--prune", "--qat", "--sparsity", "0.5")) == 0

    meta = json.loads((out / "optimized.weights.json").read_text())
    assert meta["qat"] and meta["pruned"] and meta["qat_scheme"] == "prune_preserve"
    assert meta["sparsity"] == pytest.approx(0.5, abs=0.02)
    record = json.loads((out / "config.json").read_text())
    assert record["status"] == "finished" and record["command"] == "optimize"
    assert {"tensorflow", "tf_keras", "tfmot", "numpy"} <= set(record["versions"])
    assert record["command_line"].startswith("keras-sr optimize --weights")
    assert record["options"]["sparsity"] == 0.5 and record["options"]["steps"] == 2
    assert set(record["phases"]) == {"prune", "qat"} and record["phases"]["qat"]["steps_done"] == 2
    assert np.isfinite(record["eval_before"]["psnr"]) and np.isfinite(record["eval_after"]["psnr"])
    assert "Multi-Adds are unchanged" in record["sparsity"]["note"]
    for phase in ("prune", "qat", "eval"):
        assert list((out / "logs" / phase).glob("events.out.tfevents.*")), phase
    assert tf.train.latest_checkpoint(str(out / "ckpt" / "qat")).endswith("ckpt-2")
    history = json.loads((out / "history.json").read_text())
    assert [(r["phase"], r["step"]) for r in history] == [("prune", 2), ("qat", 2)]
    assert 0 < history[0]["mask_sparsity"] <= 0.5 and history[1]["lr"] == pytest.approx(1e-4)
    # The record replays through the parser: its `replay` keys are the command's flags.
    from keras_sr.training import load_run_config

    replay = load_run_config(out / "config.json", "optimize")
    assert replay["prune"] is True and replay["qat"] is True and replay["sparsity"] == 0.5 and replay["steps"] == 2
    dests = {a.dest for a in run_lib_parser()._actions}
    assert set(replay) <= dests

    # Ready for convert: it reloads as a pruning-preserving QAT model with its zeros, and
    # converts to an all-int8 model whose conv weights keep them. (test_convert runs a QAT
    # checkpoint through keras_sr.convert itself; its converter path is 4x slower.)
    loaded, _ = checkpoints.load_model(out / "optimized.weights.h5")
    assert qat_lib.is_quantized(loaded)
    report = prune_lib.sparsity_report(loaded)
    assert report["kernels"]["sparsity"] == pytest.approx(meta["sparsity"])
    x = images(2, hw=8)
    content = convert_int8(loaded, [x[:1], x[1:]], (8, 8))
    assert all("float32" not in ins + outs for _, ins, outs in op_table(content))
    y, x_used, out_scale = run_int8(content, x[:1])
    assert np.abs(y - loaded(x_used).numpy()).mean() <= out_scale
    zeros_keras = report["kernels"]["params"] - report["kernels"]["nonzero"]
    assert conv_weight_zeros(content) >= zeros_keras  # rounding may add zeros, never remove them

    # A finished run is refused without --resume / --force; --resume has nothing to do.
    capsys.readouterr()
    assert exit_code(cli_args(workspace, out, "--prune", "--qat", "--sparsity", "0.5")) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert run_lib.main(cli_args(workspace, out, "--prune", "--qat", "--sparsity", "0.5", "--resume")) == 0


def conv_weight_zeros(content):
    """Zeros in the constant weight tensors of every CONV_2D of a .tflite model."""
    from tests.helpers_tflite import interpreter

    it = interpreter(content)
    zeros = 0
    for op in it._get_ops_details():
        if op["op_name"] == "CONV_2D":
            zeros += int(np.sum(it.get_tensor(int(op["inputs"][1])) == 0))
    return zeros


class StopAfter(keras.callbacks.Callback):
    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.steps:
            self.model.stop_training = True


def test_qat_run_stops_and_resumes(workspace):
    common = dict(weights=workspace / "float.weights.h5", train=workspace / "train", eval=workspace / "eval",
                  steps=3, qat=True, batch_size=2, patch_size=8, quiet=True, calibration_batches=1, run_eagerly=True)
    whole = run_lib.optimize(output_dir=workspace / "whole", **common)
    stopped = run_lib.optimize(output_dir=workspace / "parts", callbacks=[StopAfter(1)], **common)
    assert stopped["status"] == "stopped" and stopped["phases"]["qat"]["steps_done"] == 1
    assert not (workspace / "parts" / "optimized.weights.h5").exists()
    assert tf.train.latest_checkpoint(str(workspace / "parts" / "ckpt" / "qat")).endswith("ckpt-1")
    with pytest.raises(ValueError, match="other options"):
        run_lib.optimize(output_dir=workspace / "parts", resume=True, **{**common, "lr": 1e-3})
    resumed = run_lib.optimize(output_dir=workspace / "parts", resume=True, **common)
    assert resumed["status"] == "finished" and len(resumed["resumes"]) == 1

    a = h5_arrays(workspace / "whole" / "optimized.weights.h5")
    b = h5_arrays(workspace / "parts" / "optimized.weights.h5")
    assert a.keys() == b.keys() and len(a) > 50
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert resumed["eval_after"]["psnr"] == pytest.approx(whole["eval_after"]["psnr"], abs=1e-3)


def h5_arrays(path):
    """{dataset path: array} of every layer array in a .weights.h5 file (not the loss tracker's)."""
    out = {}
    with h5py.File(path, "r") as f:
        def add(key, item):
            if isinstance(item, h5py.Dataset):
                out[key] = item[()]

        f["layers"].visititems(add)
    return out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--weights": "missing.weights.h5"}, "does not exist"),
        ({"--steps": "0"}, "--steps"),
        ({"--sparsity": "1.0"}, "--sparsity"),
        ({"--sparsity": "-0.5"}, "--sparsity"),
        ({"--m-by-n": "2-4"}, "--m-by-n"),
        ({"--schedule": "cubic"}, "--schedule"),
        ({"--weights": "bare.weights.h5"}, "--model NAME --scale S"),
        ({"drop": "--prune"}, "nothing to do"),
    ],
)
def test_cli_refuses_bad_input(workspace, tmp_path, capsys, change, message):
    args = cli_args(workspace, tmp_path / "out", "--prune")
    for flag, value in change.items():
        if flag == "drop":
            args.remove(value)
        elif flag == "--weights":
            args[args.index(flag) + 1] = str(workspace / value)
        else:
            args += [flag, value]
    assert exit_code(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "optimized.weights.h5").exists()


def test_cli_refuses_unfinished_run_without_resume(workspace, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "ckpt" / "prune").mkdir(parents=True)
    assert exit_code(cli_args(workspace, out, "--prune")) == 2
    assert "already holds a run" in capsys.readouterr().err
    (out / "config.json").write_text(json.dumps({"command": "optimize", "status": "stopped"}))
    assert exit_code(cli_args(workspace, out, "--prune")) == 2
    assert "already holds an unfinished run" in capsys.readouterr().err
    assert exit_code(cli_args(workspace, tmp_path / "fresh", "--prune", "--resume")) == 2
    assert "no run to resume" in capsys.readouterr().err
    legacy = tmp_path / "legacy"  # an older release's layout: refused, and --force deletes it
    (legacy / "checkpoints" / "qat").mkdir(parents=True)
    (legacy / "run.json").write_text("{}")
    assert exit_code(cli_args(workspace, legacy, "--qat", "--resume")) == 2
    assert "run.json, a run of an older keras-sr" in capsys.readouterr().err


def test_cli_aliases_and_run_files(workspace, tmp_path, capsys):
    run_file = tmp_path / "opt.json"
    run_file.write_text(json.dumps({"weights": str(workspace / "float.weights.h5"), "qat": True, "steps": 2,
                                    "train": str(workspace / "train"), "eval": str(workspace / "eval"),
                                    "sparsity": 0.3}))
    assert exit_code(["--config", str(run_file), "--output-dir", str(tmp_path / "o")]) == 2
    assert "--sparsity, --schedule and --m-by-n need --prune" in capsys.readouterr().err
    run_file.write_text(json.dumps({"weights": str(workspace / "float.weights.h5"), "qat": True, "step": 2}))
    assert exit_code(["--config", str(run_file)]) == 2
    assert "opt.json" in (err := capsys.readouterr().err) and "unknown key 'step'" in err
    args = cli_args(workspace, tmp_path / "o", "--qat", "--checkpoint-every", "5")
    args[args.index("--output-dir")] = "--outputs-dir"
    assert exit_code(args + ["--steps", "0"]) == 2  # refused by the parser, after the aliases were read
    err = capsys.readouterr().err
    assert "`--outputs-dir` is deprecated" in err and "`--checkpoint-every` is deprecated" in err
    assert "use `--checkpoint-every-steps`" in err and "--steps: expected an integer >= 1" in err


def run_lib_parser():
    from keras_sr.cli.optimize import build_parser

    return build_parser()
