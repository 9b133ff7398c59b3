"""keras_sr.lite: TFLite runtime == Keras, tiling exactness, image IO, the board benchmark."""
import importlib.util
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_sr.lite import TFLiteSR, read_image, side_by_side, tile_windows, upscale_tiled, write_image
from keras_sr.lite.bench import benchmark

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXED_HW = (12, 10)
# Toy model: conv3x3 (3->8) + depthwise3x3 + dense (8->12) + depth_to_space(2).
# Receptive-field radius 2 LR pixels; Multi-Adds per LR pixel = 8*9*3 + 8*9 + 12*8.
TOY_MACS_PER_PIXEL = 8 * 9 * 3 + 8 * 9 + 12 * 8
TOY_RADIUS = 2


def _build_toy(keras, tf, input_hw=(None, None)):
    class DepthToSpace(keras.layers.Layer):
        def call(self, x):
            return tf.nn.depth_to_space(x, 2)

    keras.utils.set_random_seed(0)
    inputs = keras.Input((*input_hw, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Dense(12)(x)
    return keras.Model(inputs, DepthToSpace()(x))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The Keras toy model and its .tflite files: f32 dynamic, f32 fixed, f16, int8 with uint8 I/O."""
    pytest.importorskip("tensorflow", reason="making the test .tflite files needs TensorFlow")
    from keras_sr._keras import keras, tf

    out = tmp_path_factory.mktemp("toy")
    model = _build_toy(keras, tf)
    fixed = _build_toy(keras, tf, FIXED_HW)
    fixed.set_weights(model.get_weights())

    def convert(m, name, **opts):
        c = tf.lite.TFLiteConverter.from_keras_model(m)
        for k, v in opts.items():
            setattr(c, k, v)
        path = out / f"{name}.tflite"
        with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": harmless here
            warnings.simplefilter("ignore", UserWarning)
            path.write_bytes(c.convert())
        return path

    def representative():
        rng = np.random.default_rng(1)
        for _ in range(8):
            yield [rng.random((1, 16, 16, 3), dtype=np.float32)]

    paths = {
        "f32": convert(model, "f32"),
        "fixed": convert(fixed, "fixed"),
        "f16": convert(model, "f16", optimizations=[tf.lite.Optimize.DEFAULT],
                       target_spec=_spec(tf, supported_types=[tf.float16])),
        "int8": convert(model, "int8", optimizations=[tf.lite.Optimize.DEFAULT],
                        representative_dataset=representative,
                        target_spec=_spec(tf, supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]),
                        inference_input_type=tf.uint8, inference_output_type=tf.uint8),
    }
    return {"keras": lambda x: model(x[None], training=False).numpy()[0], **paths}


def _spec(tf, **kw):
    spec = tf.lite.TargetSpec()
    for k, v in kw.items():
        setattr(spec, k, v)
    return spec


def _rand(h, w, seed=0):
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


# ---------------------------------------------------------------------------- runtime
def test_float_matches_keras_and_resizes(toy):
    sr = TFLiteSR(toy["f32"], num_threads=1)
    assert sr.is_dynamic and sr.input_shape == (1, None, None, 3) and sr.fixed_size is None
    for h, w in [(12, 10), (17, 9), (12, 10)]:  # resize, resize again, back
        x = _rand(h, w, seed=h)
        y = sr.predict(x)
        assert y.shape == (2 * h, 2 * w, 3) and y.dtype == np.float32
        np.testing.assert_allclose(y, toy["keras"](x), atol=1e-5)
    assert sr.predict(x[None]).shape == (1, 2 * h, 2 * w, 3)  # a batch of one keeps its batch axis


def test_no_xnnpack_matches(toy):
    x = _rand(9, 11)
    a = TFLiteSR(toy["f32"]).predict(x)
    b = TFLiteSR(toy["f32"], use_xnnpack=False).predict(x)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_fixed_shape(toy):
    sr = TFLiteSR(toy["fixed"])
    assert not sr.is_dynamic and sr.fixed_size == FIXED_HW and sr.input_shape == (1, *FIXED_HW, 3)
    x = _rand(*FIXED_HW)
    np.testing.assert_allclose(sr.predict(x), toy["keras"](x), atol=1e-5)
    with pytest.raises(ValueError, match=r"fixed input shape \(1, 12, 10, 3\).*\(1, 8, 8, 3\)"):
        sr.predict(_rand(8, 8))


def test_int8_uint8_io(toy):
    sr = TFLiteSR(toy["int8"])
    assert sr.input_dtype == np.uint8 and sr.output_dtype == np.uint8
    in_scale, _ = sr.input_quantization
    out_scale, _ = sr.output_quantization
    assert 0 < in_scale < 0.01 and out_scale > 0
    x = _rand(16, 14, seed=3)
    y, ref = sr.predict(x), toy["keras"](x)
    assert y.dtype == np.float32
    err = np.abs(y - ref)
    assert err.max() <= 4 * out_scale and err.mean() <= out_scale, (err.max() / out_scale, err.mean() / out_scale)


@pytest.mark.parametrize("name, precision", [("f32", "float32"), ("fixed", "float32"), ("f16", "float16"),
                                             ("int8", "int8")])
def test_scale_and_precision(toy, name, precision):
    sr = TFLiteSR(toy[name])
    assert sr.scale == 2
    assert sr.precision == precision


def test_multi_adds_and_ops(toy):
    dyn, fixed = TFLiteSR(toy["f32"]), TFLiteSR(toy["fixed"])
    assert dyn.multi_adds(7, 9) == TOY_MACS_PER_PIXEL * 7 * 9
    assert fixed.multi_adds() == TOY_MACS_PER_PIXEL * FIXED_HW[0] * FIXED_HW[1]
    assert TFLiteSR(toy["int8"]).multi_adds(5, 6) == TOY_MACS_PER_PIXEL * 30
    ops = dyn.ops()
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "DEPTH_TO_SPACE"} <= set(ops)
    with pytest.raises(ValueError, match="dynamic input shape"):
        dyn.multi_adds()
    with pytest.raises(ValueError, match="fixed input size"):
        fixed.multi_adds(8, 8)


def test_bad_inputs(toy, tmp_path):
    missing = tmp_path / "missing.tflite"
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        TFLiteSR(missing)
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer" * 8)
    with pytest.raises(ValueError, match="garbage.tflite"):
        TFLiteSR(garbage)
    with pytest.raises(ValueError, match="`num_threads`.*Received: num_threads=0"):
        TFLiteSR(toy["f32"], num_threads=0)
    sr = TFLiteSR(toy["f32"])
    with pytest.raises(ValueError, match="dtype=uint8"):
        sr.predict(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"shape=\(4, 4, 4\)"):
        sr.predict(np.zeros((4, 4, 4), np.float32))


# ---------------------------------------------------------------------------- tiling
def _local_model(image, radius=2):
    """x2 SR whose output is a purely local function (zero-padded box filter of `radius`)."""
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)))
    h, w = image.shape[:2]
    k = 2 * radius + 1
    out = sum(padded[i : i + h, j : j + w] * (1 + i + 3 * j) for i in range(k) for j in range(k))
    return np.repeat(np.repeat(out, 2, axis=0), 2, axis=1)


@pytest.mark.parametrize("hw, tile, overlap", [((23, 31), 9, 2), ((23, 31), (7, 12), 3), ((5, 40), 11, 2),
                                               ((8, 8), 16, 4), ((20, 20), 5, 2)])
def test_tiling_exact_for_local_model(hw, tile, overlap):
    x = _rand(*hw).astype(np.float64)
    tiled = upscale_tiled(_local_model, x, 2, tile=tile, overlap=overlap)
    np.testing.assert_array_equal(tiled, _local_model(x))


def test_tiling_needs_enough_overlap():
    x = _rand(23, 31).astype(np.float64)
    assert not np.allclose(upscale_tiled(_local_model, x, 2, tile=9, overlap=1), _local_model(x))


def test_tile_windows_cover_axis():
    for length in range(1, 40):
        for tile, overlap in [(5, 2), (8, 0), (9, 3), (16, 4)]:
            wins = tile_windows(length, tile, overlap)
            assert wins[0][2] == 0 and wins[-1][3] == length
            for (a, b, ks, ke), nxt in zip(wins, wins[1:] + [None]):
                assert 0 <= a <= ks < ke <= b <= length
                assert b - a == min(tile, length)
                assert ks - a >= overlap or a == 0
                assert b - ke >= overlap or b == length
                if nxt:
                    assert nxt[2] == ke


def test_tiling_tflite(toy):
    x = _rand(30, 27, seed=5)
    dyn, fixed = TFLiteSR(toy["f32"]), TFLiteSR(toy["fixed"])
    whole = upscale_tiled(dyn.predict, x, dyn.scale)
    np.testing.assert_allclose(upscale_tiled(dyn.predict, x, 2, tile=9, overlap=TOY_RADIUS), whole, atol=1e-5)
    # A fixed-shape model covers any image at least as large as its input, exactly.
    np.testing.assert_allclose(upscale_tiled(fixed.predict, x, 2, tile=FIXED_HW, overlap=TOY_RADIUS), whole,
                               atol=1e-5)


def test_tiling_bad_arguments():
    x = _rand(10, 10)
    with pytest.raises(ValueError, match=r"greater than 2 \* `overlap`.*tile=4, overlap=2"):
        upscale_tiled(_local_model, x, 2, tile=4, overlap=2)
    with pytest.raises(ValueError, match="`overlap` must be an integer >= 0"):
        upscale_tiled(_local_model, x, 2, tile=8, overlap=-1)
    with pytest.raises(ValueError, match="`tile` must be an integer >= 1"):
        upscale_tiled(_local_model, x, 2, tile=0)
    with pytest.raises(ValueError, match="`tile` must be an int or an"):
        upscale_tiled(_local_model, x, 2, tile=(4, 4, 4))
    with pytest.raises(ValueError, match="for scale=3"):
        upscale_tiled(_local_model, x, 3, tile=6, overlap=1)
    with pytest.raises(ValueError, match=r"`image` must have shape \(H, W, C\)"):
        upscale_tiled(_local_model, x[..., 0], 2)


# ---------------------------------------------------------------------------- image IO
def test_image_io_rgb_roundtrip_and_overwrite(tmp_path):
    rgb = (np.random.default_rng(0).random((6, 7, 3)) * 255).astype(np.uint8)
    src = tmp_path / "in.png"
    Image.fromarray(rgb).save(src)
    x, alpha, mode = read_image(src)
    assert x.dtype == np.float32 and x.shape == (6, 7, 3) and alpha is None and mode == "RGB"
    out = tmp_path / "out.png"
    write_image(out, x)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), rgb)
    with pytest.raises(FileExistsError, match="out.png.*overwrite=True"):
        write_image(out, np.zeros_like(x))
    np.testing.assert_array_equal(np.asarray(Image.open(out)), rgb)  # untouched
    write_image(out, np.full_like(x, 2.0), overwrite=True)  # clipped to 255
    assert np.asarray(Image.open(out)).min() == 255
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temp files left


def test_image_io_gray_and_alpha(tmp_path):
    g = np.arange(20, dtype=np.uint8).reshape(4, 5) * 12
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    x, alpha, mode = read_image(tmp_path / "g.png")
    assert mode == "L" and alpha is None and x.shape == (4, 5, 3)
    write_image(tmp_path / "g_out.png", x, mode=mode)
    back = Image.open(tmp_path / "g_out.png")
    assert back.mode == "L"
    np.testing.assert_array_equal(np.asarray(back), g)

    rgba = np.dstack([np.full((4, 5, 3), 100, np.uint8), g])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    x, alpha, mode = read_image(tmp_path / "a.png")
    assert mode == "RGBA" and alpha.shape == (4, 5)
    np.testing.assert_allclose(alpha * 255, g, atol=1e-3)
    write_image(tmp_path / "a_out.png", x, alpha=alpha, mode=mode)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a_out.png")), rgba)

    la = Image.fromarray(np.dstack([g, 255 - g]), "LA")
    la.save(tmp_path / "la.png")
    x, alpha, mode = read_image(tmp_path / "la.png")
    assert mode == "LA"
    np.testing.assert_allclose(alpha * 255, 255 - g, atol=1e-3)
    with pytest.raises(ValueError, match="needs an `alpha`"):
        write_image(tmp_path / "la_out.png", x, mode="LA")


def test_image_io_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match="Cannot read image file .*bad.png"):
        read_image(bad)
    with pytest.raises(ValueError, match="unknown image extension"):
        write_image(tmp_path / "x.nope", np.zeros((2, 2, 3), np.float32))


def test_side_by_side():
    a = np.zeros((8, 10, 3), np.uint8)
    b = np.full((12, 6), 200, np.uint8)
    grid = side_by_side([("bicubic", a), ("ours", b)], gap=4)
    assert grid.dtype == np.uint8 and grid.ndim == 3 and grid.shape[2] == 3
    assert grid.shape[0] > 12 and grid.shape[1] >= 10 + 4 + 6
    strip = grid.shape[0] - 12  # label strip height: the taller panel fills the rest
    assert (grid == 200).all(-1).sum() == 12 * 6 and (grid[strip:] == 200).all(-1).sum() == 12 * 6
    assert (grid[:strip] < 128).any()  # some label ink
    with pytest.raises(ValueError, match="non-empty"):
        side_by_side([])


# ---------------------------------------------------------------------------- benchmark
BENCH_KEYS = {"model", "model_bytes", "precision", "scale", "input_dtype", "output_dtype", "dynamic_shape",
              "num_threads", "xnnpack", "input_wh", "output_wh", "warmup", "runs", "latency_ms", "peak_rss_mb",
              "rss_delta_mb", "multi_adds", "gmacs_per_s", "datasets", "versions"}


def _load_cli():
    spec = importlib.util.spec_from_file_location("tflite_benchmark", REPO_ROOT / "tflite" / "benchmark.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_function(toy):
    r = benchmark(toy["int8"], num_threads=1, input_hw=(6, 10), runs=3, warmup=1)
    assert set(r) == BENCH_KEYS
    assert set(r["latency_ms"]) == {"min", "median", "p90", "mean"}
    assert r["input_wh"] == [10, 6] and r["output_wh"] == [20, 12] and r["precision"] == "int8"
    assert r["multi_adds"] == TOY_MACS_PER_PIXEL * 60 and r["gmacs_per_s"] > 0
    assert r["latency_ms"]["min"] <= r["latency_ms"]["median"] <= r["latency_ms"]["p90"]
    with pytest.raises(ValueError, match=r"`num_threads` must be an integer in \[1, "):
        benchmark(toy["f32"], num_threads=0)
    with pytest.raises(ValueError, match=r"fixed input size \(height, width\) \(12, 10\)"):
        benchmark(toy["fixed"], input_hw=(8, 8))


def test_benchmark_cli_json(toy, capsys):
    cli = _load_cli()
    assert cli.main(["--tflite", str(toy["f32"]), "--json", "--input", "10x6", "--runs", "2", "--warmup", "1",
                     "--num-threads", "1", "--no-xnnpack"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) == BENCH_KEYS and r["runs"] == 2 and r["xnnpack"] is False and r["input_wh"] == [10, 6]
    assert cli.main(["--tflite", str(toy["fixed"]), "--runs", "2"]) == 0  # human-readable report, fixed size
    assert "median" in capsys.readouterr().out
    for bad, msg in [(["--num-threads", "0"], "--num-threads: expected an integer in [1, "),
                     (["--input", "320"], "expected WIDTHxHEIGHT"),
                     (["--runs", "0"], "--runs: expected an integer >= 1")]:
        assert cli.main(["--tflite", str(toy["f32"]), *bad]) == 2
        assert msg in capsys.readouterr().err


def test_benchmark_old_positional_path_still_works_with_a_warning(toy, capsys):
    assert _load_cli().main([str(toy["f32"]), "--runs", "1", "--warmup", "0", "--threads", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert "the positional " in captured.err and "use `--tflite " in captured.err and "`--threads` is deprecated" in captured.err
    assert json.loads(captured.out)["num_threads"] == 1


def test_benchmark_datasets(toy, data_root, capsys):
    if not (data_root / "Set5").is_dir():
        pytest.skip(f"Set5 not found under '{data_root}'.")
    cli = _load_cli()
    assert cli.main(["--tflite", str(toy["f32"]), "--input", "8x8", "--runs", "1", "--warmup", "0", "--eval", "Set5",
                     "--data-root", str(data_root), "--eval-max-images", "1"]) == 0
    out = capsys.readouterr().out
    assert "PSNR / SSIM / ProcessTime" in out and "Set5" in out
    r = benchmark(toy["f32"], input_hw=(8, 8), runs=1, warmup=0, eval=["Set5"], data_root=data_root,
                  eval_max_images=1)
    d = r["datasets"]["Set5"]
    assert d["images"] == 1 and np.isfinite(d["psnr"]) and 0 < d["ssim"] <= 1 and d["process_time_s"] > 0
    assert cli.main(["--tflite", str(toy["f32"]), "--eval", "NoSuchSet", "--data-root", str(data_root)]) == 2
    assert "NoSuchSet" in capsys.readouterr().err


def test_lite_does_not_import_tensorflow_modules():
    """Static check; the real proof (a venv without TensorFlow) is test_lite_no_tensorflow.py."""
    files = list((REPO_ROOT / "keras_sr" / "lite").glob("*.py")) + [REPO_ROOT / "tflite" / "benchmark.py"]
    for f in files:
        text = f.read_text()
        for needle in ("import tensorflow", "from tensorflow", "keras_sr._keras", "import tf_keras"):
            assert needle not in text, f"{f.name} contains {needle!r}"
    assert os.path.isfile(REPO_ROOT / "keras_sr" / "lite" / "__init__.py")
