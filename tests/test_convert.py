"""keras_sr.convert: every registered model converts, verifies and matches Keras at each precision.

The conversions come from the session-wide `tiny_models` fixture (tests/harness.py), so a
.tflite another file also needs (test_harness's float32 parity) is made once. The default
suite converts every model to float32 and int8, plus float16 and dynamic for one model
each; the rest of the model x precision matrix is marked slow (`pytest -m slow`).
"""
import hashlib
import json

import numpy as np
import pytest

from keras_sr import checkpoints, convert, models
from keras_sr._keras import keras, tf
from keras_sr.lite.runtime import TFLiteSR
from tests import harness

FLOATS = (np.float16, np.float32, np.float64)
# (model, precision) pairs of the default suite beyond float32 and int8 for every model.
DEFAULT_EXTRA = {("fd_irb", "float16"), ("rdn", "dynamic")}


# {name: (scale, tiny config)} and build_small: what tests/test_upscale.py builds its models from.
# The scales are `harness.tflite_scale`: rdn x2, rdcab_recursive x3, the others their largest.
SMALL = {name: (harness.tflite_scale(name), harness.tiny(name)) for name in models.names()}


def build_small(name, scale, config):
    """A seeded tiny model with its attention squeeze opened (see `harness.build_tiny`)."""
    keras.utils.set_random_seed(0)
    model = models.build(name, scale, **config)
    harness.set_attention_squeeze(model, 1.0)
    return model


def _matrix():
    for name in models.names():
        for precision in convert.PRECISIONS:
            default = precision in ("float32", "int8") or (name, precision) in DEFAULT_EXTRA
            yield pytest.param(name, precision, marks=() if default else pytest.mark.slow, id=f"{precision}-{name}")


@pytest.fixture(scope="module")
def images(hr_images):
    return hr_images


@pytest.fixture(scope="module")
def rdn(tiny_models):
    """The tiny rdn x2: its model, weights file and float32 / dynamic .tflite paths (shared)."""
    return {
        "model": tiny_models.model("rdn", 2),
        "weights": tiny_models.weights("rdn", 2),
        "float32": tiny_models.tflite("rdn", 2, "float32"),
        "dynamic": tiny_models.tflite("rdn", 2, "dynamic"),
    }


def _op_types(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_path=str(path), experimental_op_resolver_type=resolver)
    return [
        (op["op_name"], [np.dtype(t).type for t in op["operand_types"]], [np.dtype(t).type for t in op["result_types"]])
        for op in it._get_ops_details()
    ]


@pytest.mark.parametrize("name, precision", list(_matrix()))
def test_every_precision_converts_and_verifies(tiny_models, name, precision):
    scale = harness.tflite_scale(name)
    path, report = tiny_models.tflite(name, scale, precision), tiny_models.report(name, scale, precision)
    assert report["ok"], report["problems"]
    assert report["flex_ops"] == [] and report["custom_ops"] == []
    assert report["input_shape"] == [1, None, None, 3]
    assert report["eval"]["images"] == 2
    assert report["eval"]["psnr_vs_keras"] >= convert.MIN_PSNR_VS_KERAS[precision]
    runtime = TFLiteSR(path)
    assert runtime.scale == scale
    assert runtime.predict(np.zeros((7, 9, 3), np.float32)).shape == (7 * scale, 9 * scale, 3)
    if precision == "float32":  # test_harness's test_model checks the same file on random input
        assert report["eval"]["max_abs_vs_keras"] < harness.TFLITE_FLOAT_ATOL


@pytest.mark.parametrize("name", models.names())
def test_int8_has_only_int8_compute_ops(tiny_models, name):
    scale = harness.tflite_scale(name)
    path, report = tiny_models.tflite(name, scale, "int8"), tiny_models.report(name, scale, "int8")
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
    scale = harness.tflite_scale("rdcab_recursive")
    model = harness.build_tiny("rdcab_recursive", scale)
    harness.set_attention_squeeze(model, -100.0)  # a dead ReLU: its int8 output range collapses to ~0
    data = convert.convert_model(model, "int8", calibration=images, calibration_samples=2, scale=scale)
    report = convert.verify(data, model, "int8", images, scale, max_eval_size=16)
    assert not report["ok"]
    assert any("XNNPACK" in p for p in report["problems"]), report["problems"]
    assert report["eval"]["images"] == 2  # evaluated with the reference kernels instead


def test_float_ops_are_found_in_a_dynamic_range_model(rdn):
    report = convert.verify(rdn["dynamic"], None, "int8", None, 2)
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


def _cli(rdn, images, out, *extra):
    return convert.main(["--weights", str(rdn["weights"]), "--eval", str(images), "-o", str(out), *extra])


def test_cli_writes_model_and_run_record_and_refuses_to_overwrite(rdn, images, tmp_path, capsys):
    out = tmp_path / "rdn.tflite"
    assert _cli(rdn, images, out, "--input", "24x16") == 0
    record = json.loads((tmp_path / "rdn.tflite.json").read_text())
    assert record["model"] == "rdn" and record["scale"] == 2 and record["precision"] == "float32"
    assert record["command"][:2] == ["keras-sr", "convert"]
    assert record["versions"]["tensorflow"] == tf.__version__
    assert record["report"]["ok"] and record["report"]["input_shape"] == [1, 16, 24, 3]
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()  # checked by TFLiteSR on load
    assert "wrote" in capsys.readouterr().out
    before = out.read_bytes()
    assert _cli(rdn, images, out, "--float16") == 2  # a user error: exit status 2, nothing written
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == before
    assert _cli(rdn, images, out, "--float16", "--force") == 0
    assert json.loads((tmp_path / "rdn.tflite.json").read_text())["precision"] == "float16"


def test_cli_int8_with_uint8_io(rdn, images, tmp_path):
    out = tmp_path / "rdn_int8.tflite"
    code = _cli(
        rdn, images, out, "--int8", "--io", "uint8", "--calibration", str(images), "--calibration-samples", "3"
    )
    assert code == 0
    runtime = TFLiteSR(out)
    assert runtime.input_dtype == np.uint8 and runtime.output_dtype == np.uint8
    assert json.loads((tmp_path / "rdn_int8.tflite.json").read_text())["report"]["float_ops"] == []


def test_cli_scale_must_agree_with_the_sidecar(rdn, images, tmp_path, capsys):
    assert _cli(rdn, images, tmp_path / "x.tflite", "--scale", "4") == 2
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
def test_cli_rejects_bad_flags(rdn, images, tmp_path, capsys, flags, message):
    assert _cli(rdn, images, tmp_path / "x.tflite", *flags) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.tflite").exists()


def test_library_rejects_integer_io_for_float_models(rdn):
    with pytest.raises(ValueError, match="`io`='uint8' needs precision='int8'"):
        convert.convert_model(rdn["model"], "float16", io="uint8")
    with pytest.raises(ValueError, match="calibration"):
        convert.convert_model(rdn["model"], "int8")


def test_a_model_failing_verification_is_not_written(rdn, images, tmp_path, monkeypatch, capsys):
    flex = _flex_tflite()
    monkeypatch.setattr(convert, "convert_model", lambda *args, **kwargs: flex)
    out = tmp_path / "bad.tflite"
    assert _cli(rdn, images, out) == 1
    assert not out.exists() and not (tmp_path / "bad.tflite.json").exists()
    assert (tmp_path / "bad.tflite.rejected").stat().st_size > 0
    assert not json.loads((tmp_path / "bad.tflite.rejected.json").read_text())["report"]["ok"]
    assert "failed verification" in capsys.readouterr().err


def test_verify_on_real_images(rdn, data_root):
    report = convert.verify(rdn["float32"], rdn["model"], "float32", data_root / "Set5", 2, max_eval_size=32,
                            max_images=2)
    assert report["ok"], report["problems"]
    assert report["eval"]["images"] == 2 and report["eval"]["max_abs_vs_keras"] < 1e-4


def test_qat_checkpoint_converts_to_int8_only(images, tmp_path):
    qat = pytest.importorskip("keras_sr.optimize.qat")
    # One dense layer: a QAT model's conversion traces every wrapper (5.5 s at the tiny config's two).
    scale, config = harness.tflite_scale("rdcab_recursive"), harness.tiny("rdcab_recursive", num_layers=1)
    model = qat.quantize_model(build_small("rdcab_recursive", scale, config))
    weights = checkpoints.save_model_weights(
        model, tmp_path / "qat.weights.h5", {"model": "rdcab_recursive", "scale": scale, "config": config, "qat": True}
    )
    with pytest.raises(ValueError, match="QAT.*precision='int8'"):
        convert.convert_model(model, "float16")
    out = tmp_path / "qat.tflite"
    flags = ["--int8", "--calibration", str(images), "--calibration-samples", "3", "--eval", str(images)]
    assert convert.main(["--weights", str(weights), *flags, "-o", str(out)]) == 0
    report = json.loads((tmp_path / "qat.tflite.json").read_text())["report"]
    assert report["ok"] and report["float_ops"] == []
