"""keras_sr.convert: every registered model x every precision converts, verifies and matches Keras."""
import json

import numpy as np
import pytest
from PIL import Image

from keras_sr import checkpoints, convert, models
from keras_sr._keras import keras, tf
from keras_sr.lite.runtime import TFLiteSR

# Small configs and one supported scale per model; a newly registered model gets a generic one.
SMALL = {
    "fd_irb": (4, dict(num_features=8, growth_rate=8, num_layers=3, recursions=2)),
    "rdn": (2, dict(num_features=8, growth_rate=8, num_blocks=2, num_layers=2)),
    "rdcab_recursive": (3, dict(num_features=8, growth_rate=8, num_layers=2, recursions=2)),
    "split": (4, dict(num_features=8, growth_rate=8, num_layers=3, recursions=2)),
}
GENERIC = dict(num_features=8, growth_rate=8, num_blocks=2, num_layers=3, recursions=2)
FLOATS = (np.float16, np.float32, np.float64)


def small(name):
    if name in SMALL:
        return SMALL[name]
    defaults = models.spec(name).defaults
    return models.supported_scales(name)[-1], {k: v for k, v in GENERIC.items() if k in defaults}


def synthetic_images(folder, count=2, size=(96, 72)):
    """Smooth gradients plus texture: HR images for calibration/eval without the datasets."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    for i in range(count):
        img = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), np.sin(4 * (xx + yy))], -1) * 0.35 + 0.5
        img = img + 0.08 * rng.standard_normal((h, w, 3))
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def set_squeeze(model, bias, kernel=None):
    """Set the bias (and kernel) of every attention squeeze conv (`*_conv_du_0`, 1x1 + ReLU)."""
    for layer in model.layers:
        if layer.name.endswith("_conv_du_0"):
            k, b = layer.get_weights()
            layer.set_weights([k if kernel is None else np.full_like(k, kernel), np.full_like(b, bias)])


def build_small(name, scale, config):
    keras.utils.set_random_seed(0)
    model = models.build(name, scale, **config)
    # With 8 features the squeeze conv has one channel; a random init can leave its ReLU always 0,
    # an int8 range XNNPACK refuses (see test_verify_reports_a_model_xnnpack_cannot_run).
    set_squeeze(model, 1.0)
    return model


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return synthetic_images(tmp_path_factory.mktemp("hr"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory, images):
    """{name: {"model", "scale", "weights", precision: (path, report)}} for every model x precision."""
    out = tmp_path_factory.mktemp("tflite")
    result = {}
    for name in models.names():
        scale, config = small(name)
        model = build_small(name, scale, config)
        weights = checkpoints.save_model_weights(
            model, out / f"{name}.weights.h5", {"model": name, "scale": scale, "config": config}
        )
        entry = {"model": model, "scale": scale, "weights": weights}
        for precision in convert.PRECISIONS:
            data = convert.convert_model(
                model, precision, calibration=images, calibration_samples=4, scale=scale
            )
            path = out / f"{name}_{precision}.tflite"
            path.write_bytes(data)
            entry[precision] = (path, convert.verify(path, model, precision, images, scale, max_eval_size=24))
        result[name] = entry
    return result


def _op_types(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver)
    return [
        (op["op_name"], [np.dtype(t).type for t in op["operand_types"]], [np.dtype(t).type for t in op["result_types"]])
        for op in it._get_ops_details()
    ]


@pytest.mark.parametrize("name", models.names())
@pytest.mark.parametrize("precision", convert.PRECISIONS)
def test_every_precision_converts_and_verifies(converted, name, precision):
    path, report = converted[name][precision]
    assert report["ok"], report["problems"]
    assert report["flex_ops"] == [] and report["custom_ops"] == []
    assert report["input_shape"] == [1, None, None, 3]
    assert report["eval"]["images"] == 2
    assert report["eval"]["psnr_vs_keras"] >= convert.MIN_PSNR_VS_KERAS[precision]
    runtime = TFLiteSR(path)
    assert runtime.scale == converted[name]["scale"]
    assert runtime.predict(np.zeros((7, 9, 3), np.float32)).shape == (7 * runtime.scale, 9 * runtime.scale, 3)


@pytest.mark.parametrize("name", models.names())
def test_float32_tflite_equals_keras(converted, name):
    path, _ = converted[name]["float32"]
    x = np.random.default_rng(0).random((16, 20, 3), dtype=np.float32)
    expected = converted[name]["model"](x[None], training=False).numpy()[0]
    np.testing.assert_allclose(TFLiteSR(path).predict(x), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", models.names())
def test_int8_has_only_int8_compute_ops(converted, name):
    path, report = converted[name]["int8"]
    assert report["float_ops"] == []
    ops = _op_types(path)
    # With float32 I/O the only float tensors are the input of the first QUANTIZE and the output of
    # the last DEQUANTIZE.
    for k, (op, ins, outs) in enumerate(ops):
        floats_in = [t for t in ins if t in FLOATS]
        floats_out = [t for t in outs if t in FLOATS]
        if op == "QUANTIZE" and floats_in:
            assert not floats_out and k == 0, (k, op, ins, outs)
        elif op == "DEQUANTIZE":
            assert not floats_in and k == len(ops) - 1, (k, op, ins, outs)
        else:
            assert not floats_in and not floats_out, (k, op, ins, outs)
    assert "CONV_2D" in [op for op, _, _ in ops]


def test_verify_reports_a_model_xnnpack_cannot_run(images):
    scale, config = SMALL["rdcab_recursive"]
    model = build_small("rdcab_recursive", scale, config)
    set_squeeze(model, -100.0)  # a dead ReLU: its int8 output range collapses to ~0
    data = convert.convert_model(model, "int8", calibration=images, calibration_samples=2, scale=scale)
    report = convert.verify(data, model, "int8", images, scale, max_eval_size=16)
    assert not report["ok"]
    assert any("XNNPACK" in p for p in report["problems"]), report["problems"]
    assert report["eval"]["images"] == 2  # evaluated with the reference kernels instead


def test_float_ops_are_found_in_a_dynamic_range_model(converted):
    path, _ = converted["rdn"]["dynamic"]
    report = convert.verify(path, None, "int8", None, 2)
    assert not report["ok"]
    assert any("CONV_2D" in op for op in report["float_ops"])


def _bicubic_resize_model():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    x = keras.layers.Lambda(lambda t: tf.image.resize(t, tf.shape(t)[1:3] * 2, "bicubic"))(x)
    return keras.Model(inputs, x)


def test_flex_ops_are_refused_with_a_clear_message():
    model = _bicubic_resize_model()
    with pytest.raises(convert.ConversionError, match=r"Flex.*ResizeBicubic.*BicubicUpsample"):
        convert.convert_model(model)


def _flex_tflite():
    """A .tflite with a FlexResizeBicubic op (converted with TF Select allowed)."""
    model = _bicubic_resize_model()

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def serve(x):
        return model(x)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    return converter.convert()


def test_verify_rejects_a_file_with_flex_ops():
    report = convert.verify(_flex_tflite(), None, "float32", None, 2)
    assert not report["ok"]
    assert report["flex_ops"] == ["FlexResizeBicubic"]
    assert "Flex" in report["problems"][0]


def _cli(converted, images, out, *extra):
    return convert.main(
        ["--weights", str(converted["rdn"]["weights"]), "--eval-data", str(images), "-o", str(out), *extra]
    )


def test_cli_writes_model_and_run_record_and_refuses_to_overwrite(converted, images, tmp_path, capsys):
    out = tmp_path / "rdn.tflite"
    assert _cli(converted, images, out, "--input", "24x16") == 0
    record = json.loads((tmp_path / "rdn.tflite.json").read_text())
    assert record["model"] == "rdn" and record["scale"] == 2 and record["precision"] == "float32"
    assert record["command"][:3] == ["python", "-m", "keras_sr.convert"]
    assert record["versions"]["tensorflow"] == tf.__version__
    assert record["report"]["ok"] and record["report"]["input_shape"] == [1, 16, 24, 3]
    assert "wrote" in capsys.readouterr().out
    before = out.read_bytes()
    with pytest.raises(SystemExit) as exit_info:
        _cli(converted, images, out, "--float16")
    assert exit_info.value.code == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert _cli(converted, images, out, "--float16", "--force") == 0
    assert json.loads((tmp_path / "rdn.tflite.json").read_text())["precision"] == "float16"


def test_cli_int8_with_uint8_io(converted, images, tmp_path):
    out = tmp_path / "rdn_int8.tflite"
    code = _cli(
        converted, images, out, "--int8", "--io", "uint8", "--calibration", str(images), "--calibration-samples", "3"
    )
    assert code == 0
    runtime = TFLiteSR(out)
    assert runtime.input_dtype == np.uint8 and runtime.output_dtype == np.uint8
    assert json.loads((tmp_path / "rdn_int8.tflite.json").read_text())["report"]["float_ops"] == []


def test_cli_scale_must_agree_with_the_sidecar(converted, images, tmp_path, capsys):
    with pytest.raises(SystemExit):
        _cli(converted, images, tmp_path / "x.tflite", "--scale", "4")
    assert "scale" in capsys.readouterr().err
    assert not (tmp_path / "x.tflite").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--io", "uint8"], "--io uint8 needs --int8"),
        (["--float16", "--io", "int8"], "--io int8 needs --int8"),
        (["--float16", "--int8"], "not allowed with argument"),
        (["--dynamic", "--calibration", "x"], "with --int8 only"),
        (["--input", "32"], "WIDTHxHEIGHT"),
    ],
)
def test_cli_rejects_bad_flags(converted, images, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        _cli(converted, images, tmp_path / "x.tflite", *flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.tflite").exists()


def test_library_rejects_integer_io_for_float_models(converted):
    with pytest.raises(ValueError, match="`io`='uint8' needs precision='int8'"):
        convert.convert_model(converted["rdn"]["model"], "float16", io="uint8")
    with pytest.raises(ValueError, match="calibration"):
        convert.convert_model(converted["rdn"]["model"], "int8")


def test_a_model_failing_verification_is_not_written(converted, images, tmp_path, monkeypatch, capsys):
    flex = _flex_tflite()
    monkeypatch.setattr(convert, "convert_model", lambda *args, **kwargs: flex)
    out = tmp_path / "bad.tflite"
    assert _cli(converted, images, out) == 1
    assert not out.exists() and not (tmp_path / "bad.tflite.json").exists()
    assert (tmp_path / "bad.tflite.rejected").stat().st_size > 0
    assert not json.loads((tmp_path / "bad.tflite.rejected.json").read_text())["report"]["ok"]
    assert "failed verification" in capsys.readouterr().err


def test_verify_on_real_images(converted, data_root):
    path, _ = converted["rdn"]["float32"]
    model = converted["rdn"]["model"]
    report = convert.verify(path, model, "float32", data_root / "Set5", 2, max_eval_size=32, max_images=2)
    assert report["ok"], report["problems"]
    assert report["eval"]["images"] == 2 and report["eval"]["max_abs_vs_keras"] < 1e-4


def test_qat_checkpoint_converts_to_int8_only(images, tmp_path):
    qat = pytest.importorskip("keras_sr.optimize.qat")
    scale, config = SMALL["rdcab_recursive"]
    keras.utils.set_random_seed(0)
    model = qat.quantize_model(models.build("rdcab_recursive", scale, **config))
    weights = checkpoints.save_model_weights(
        model, tmp_path / "qat.weights.h5", {"model": "rdcab_recursive", "scale": scale, "config": config, "qat": True}
    )
    with pytest.raises(ValueError, match="QAT.*precision='int8'"):
        convert.convert_model(model, "float16")
    out = tmp_path / "qat.tflite"
    flags = ["--int8", "--calibration", str(images), "--calibration-samples", "3", "--eval-data", str(images)]
    assert convert.main(["--weights", str(weights), *flags, "-o", str(out)]) == 0
    report = json.loads((tmp_path / "qat.tflite.json").read_text())["report"]
    assert report["ok"] and report["float_ops"] == []
