"""Proof that the board-side runtime needs no TensorFlow.

A clean virtual environment (no system site-packages, which may hold TensorFlow)
gets only numpy, pillow and ai-edge-litert from the package index (pip's cache
makes this ~10 s). There, keras_sr.lite loads .tflite files made here with
TensorFlow, reproduces the Keras output, tiles, and runs tflite/benchmark.py.
"""
import json
import os
import subprocess
import textwrap
import venv
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNTIME_PACKAGES = ("numpy", "pillow", "ai-edge-litert")

SCRIPT = textwrap.dedent(
    """
    import contextlib, importlib.util, io, json, sys
    import numpy as np
    from keras_sr.lite import TFLiteSR, upscale_tiled

    f32, int8, x_path, ref_path, bench = sys.argv[1:6]
    x, ref = np.load(x_path), np.load(ref_path)
    sr = TFLiteSR(f32, num_threads=1)
    y = sr.predict(x)
    np.testing.assert_allclose(y, ref, atol=1e-5)
    np.testing.assert_allclose(upscale_tiled(sr.predict, x, sr.scale, tile=7, overlap=2), y, atol=1e-5)
    q = TFLiteSR(int8)
    assert q.precision == "int8" and q.input_dtype == np.uint8, (q.precision, q.input_dtype)
    assert np.abs(q.predict(x) - ref).max() <= 4 * q.output_quantization[0]
    assert sr.multi_adds(5, 6) == 30 * (8 * 9 * 3 + 12 * 9 * 8)

    spec = importlib.util.spec_from_file_location("tflite_benchmark", bench)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["--tflite", int8, "--json", "--input", "8x6", "--runs", "2", "--warmup", "1"])
    assert rc == 0 and json.loads(out.getvalue())["precision"] == "int8"

    assert "tensorflow" not in sys.modules, "keras_sr.lite imported TensorFlow"
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass
    else:
        raise AssertionError("TensorFlow is importable in the clean venv; the test proves nothing")
    print("NO_TF_OK")
    """
)


def _make_models(tmp_path):
    """Two-conv + depth_to_space x2 toy model: float32 and int8 (uint8 I/O) .tflite, plus a Keras reference."""
    pytest.importorskip("tensorflow", reason="making the test .tflite files needs TensorFlow")
    from keras_sr._keras import keras, tf

    class DepthToSpace(keras.layers.Layer):
        def call(self, x):
            return tf.nn.depth_to_space(x, 2)

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(12, 3, padding="same")(x)
    model = keras.Model(inputs, DepthToSpace()(x))

    def representative():
        rng = np.random.default_rng(1)
        for _ in range(8):
            yield [rng.random((1, 16, 16, 3), dtype=np.float32)]

    paths = {}
    for name in ("f32", "int8"):
        c = tf.lite.TFLiteConverter.from_keras_model(model)
        if name == "int8":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.representative_dataset = representative
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            c.inference_input_type = c.inference_output_type = tf.uint8
        paths[name] = tmp_path / f"{name}.tflite"
        with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": harmless here
            warnings.simplefilter("ignore", UserWarning)
            paths[name].write_bytes(c.convert())
    x = np.random.default_rng(2).random((13, 11, 3), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "ref.npy", model(x[None], training=False).numpy()[0])
    return paths


def _pins():
    pins = []
    for name in RUNTIME_PACKAGES:
        try:  # the versions of this environment, so pip's cache usually has the wheels
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def _run(cmd, env=None, timeout=300):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO_ROOT)


def test_runtime_without_tensorflow(tmp_path):
    paths = _make_models(tmp_path)

    env_dir = tmp_path / "venv"
    try:
        venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(env_dir)
    except (subprocess.CalledProcessError, OSError) as e:
        pytest.skip(f"Cannot create a virtual environment with pip here (ensurepip missing?): {e}")
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    install = _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *_pins()])
    if install.returncode != 0:
        pytest.skip(
            "pip could not install the runtime packages into a clean venv (no package index reachable?): "
            + install.stderr.strip()[-500:]
        )

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    with_path = dict(env, PYTHONPATH=str(REPO_ROOT))
    script = tmp_path / "check.py"
    script.write_text(SCRIPT)
    bench = REPO_ROOT / "tflite" / "benchmark.py"
    args = [str(paths["f32"]), str(paths["int8"]), str(tmp_path / "x.npy"), str(tmp_path / "ref.npy"), str(bench)]
    r = _run([str(python), str(script), *args], env=with_path)
    assert r.returncode == 0 and "NO_TF_OK" in r.stdout, r.stdout + r.stderr

    # The CLI as a board runs it: no PYTHONPATH, it finds the checkout itself.
    r = _run([str(python), str(bench), str(paths["f32"]), "--json", "--input", "8x6", "--runs", "2"], env=env)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["scale"] == 2 and result["input_wh"] == [8, 6] and result["multi_adds"] > 0
