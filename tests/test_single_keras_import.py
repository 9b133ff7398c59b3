"""Exactly one module imports Keras (tfmot needs tf_keras, chosen in keras_sr/_keras.py)."""
import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_sr"
KERAS_IMPORT = re.compile(
    r"^\s*(import keras\b|from keras\b|import tf_keras|from tf_keras|from tensorflow import keras|import tensorflow\.keras|.*\btf\.keras\b)",
    re.M,
)


def test_only_keras_module_imports_keras():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "_keras.py" and KERAS_IMPORT.search(path.read_text())
    ]
    assert offenders == []
    assert "TF_USE_LEGACY_KERAS" in (PACKAGE / "_keras.py").read_text()


def test_tests_take_keras_from_keras_sr():
    # A test importing `keras` itself would get Keras 3, whose layers tf_keras models refuse.
    tests = Path(__file__).resolve().parent
    offenders = [
        path.name
        for path in tests.rglob("*.py")
        if path.name != Path(__file__).name and KERAS_IMPORT.search(path.read_text())
    ]
    assert offenders == []


def test_keras_is_tf_keras_even_if_the_user_did_not_set_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    code = "from keras_sr._keras import keras, tf; print(keras.__name__, tf.keras.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["tf_keras", "tf_keras.api._v2.keras"]


def test_importing_the_package_does_not_import_tensorflow():
    code = "import sys, keras_sr, keras_sr.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
