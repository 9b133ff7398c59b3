"""android_sample/core (plain Java 17) on the JVM: its JUnit 4 tests against golden data from keras-sr.

The module fixture exports the shipped int8 model with `keras-sr export --target android` into
tmp_path, writes the golden data (android_sample/core/golden.py: tile plans, pixel/quantization
arithmetic, a real Set5 image's tiles and stitched result, and `keras-sr upscale --tflite` on the whole
image), then runs android_sample/core/run-tests once (javac + JUnitCore, no Gradle). Each test here
checks one JUnit class's result. The real-model test runs the bundle's model.tflite through LiteRT's
C API (libLiteRt.so of the ai-edge-litert wheel, via JNA) and must be byte-identical to keras-sr upscale.
Skipped with a reason where javac, junit4, hamcrest or JNA are missing (.ci/run installs them).
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

ANDROID = REPO_ROOT / "android_sample"
CORE = ANDROID / "core"
JARS = Path(os.environ.get("JAVA_JARS", "/usr/share/java"))
JUNIT_CLASSES = ("TilePlanTest", "PixelTensorsTest", "ModelBundleTest", "UpscalerTest", "BicubicTest",
                 "LiteRtUpscaleTest")


def _missing_tools():
    missing = [tool for tool in ("javac", "java") if shutil.which(tool) is None]
    missing += [str(JARS / jar) for jar in ("junit4.jar", "hamcrest-core.jar", "jna.jar") if not (JARS / jar).is_file()]
    return missing


def _litert_lib():
    try:
        import ai_edge_litert
    except ImportError:
        return None
    lib = Path(ai_edge_litert.__file__).parent / "libLiteRt.so"
    return lib if lib.is_file() else None


def _golden_module():
    spec = importlib.util.spec_from_file_location("android_core_golden", CORE / "golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """`keras-sr export --model fd_irb_edge_x4 --target android --tile 64` into tmp_path (the CLI's main)."""
    from keras_sr.cli.export import main

    out = tmp_path_factory.mktemp("android") / "bundle"
    assert main(["--model", "fd_irb_edge_x4", "--target", "android", "--tile", "64", "--output-dir", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def junit(request, tmp_path_factory, data_root):
    """Golden data + one run of android_sample/core/run-tests; returns (golden dir, JUnit output, failures)."""
    missing = _missing_tools()
    if missing:
        pytest.skip(f"the JVM tests need {', '.join(missing)} (apt-get install default-jdk-headless junit4 "
                    "libjna-java; .ci/run does)")
    if not (data_root / "Set5" / "woman.png").is_file():
        pytest.skip(f"Set5 not found under '{data_root}'")
    bundle = request.getfixturevalue("bundle")  # exported only once the tools are known to be there
    golden = tmp_path_factory.mktemp("android_golden")
    _golden_module().make(golden, image=data_root / "Set5" / "woman.png", bundle=bundle)
    env = dict(os.environ, BUILD_DIR=str(tmp_path_factory.mktemp("android_build")), PYTHON=sys.executable,
               JAVA_JARS=str(JARS), LITERT_LIB=str(_litert_lib() or ""))
    proc = subprocess.run([str(CORE / "run-tests"), str(golden)], capture_output=True, text=True, env=env,
                          timeout=300)
    out = proc.stdout + proc.stderr
    if "Tests run:" not in out and not re.search(r"^OK \(\d+ tests?\)", out, re.M):
        pytest.fail(f"run-tests did not run JUnit (exit {proc.returncode}):\n{out[-4000:]}")
    failures = re.findall(r"^\d+\) (\w+)\(org\.kerassr\.core\.(\w+)\)\n(.*)$", out, re.M)
    return golden, out, failures, proc.returncode


@pytest.mark.parametrize("junit_class", [c for c in JUNIT_CLASSES if c != "LiteRtUpscaleTest"])
def test_junit_class_passes(junit, junit_class):
    _, out, failures, _ = junit
    mine = [f"{method}: {message}" for method, cls, message in failures if cls == junit_class]
    assert not mine, f"{junit_class} failed:\n" + "\n".join(mine)


def test_junit_ran_every_test_class(junit):
    _, out, failures, returncode = junit
    assert (returncode == 0) == (not failures), out[-2000:]
    found = sorted(p.stem for p in (CORE / "src" / "test" / "java").rglob("*Test.java"))
    assert found == sorted(JUNIT_CLASSES)
    count = re.search(r"^OK \((\d+) tests\)|Tests run: (\d+)", out, re.M)
    assert count and int(count.group(1) or count.group(2)) >= 21


def test_real_model_on_the_jvm_is_byte_identical_to_keras_sr_upscale(junit):
    golden, out, failures, _ = junit
    if _litert_lib() is None:
        pytest.skip("ai-edge-litert's libLiteRt.so is not installed (pip install keras-sr[jvm])")
    mine = [f"{method}: {message}" for method, cls, message in failures if cls == "LiteRtUpscaleTest"]
    assert not mine, "\n".join(mine)
    assert "byte-identical to keras-sr upscale" in out, out[-2000:]  # ran, not skipped by an Assume
    expected = np.fromfile(golden / "whole" / "expected.rgb", np.uint8)
    java = np.fromfile(golden / "whole" / "java.rgb", np.uint8)
    assert expected.size == 228 * 4 * 344 * 4 * 3  # woman.png (228x344) at x4
    assert java.size == expected.size and np.array_equal(java, expected)


def test_core_has_no_android_imports_and_no_model_copies_are_committed():
    sources = list((CORE / "src" / "main" / "java").rglob("*.java"))
    assert sources
    for path in sources:
        imports = re.findall(r"^import\s+([\w.]+)", path.read_text(), re.M)
        assert not [i for i in imports if i.startswith(("android.", "androidx.", "com.google", "kotlin"))], path
    tracked = subprocess.run(["git", "ls-files", "android_sample"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=False).stdout.split()
    assert not [t for t in tracked if t.endswith((".tflite", ".jar", ".apk", ".class"))]


def test_readme_says_what_is_and_is_not_verified_here():
    text = (ANDROID / "README.md").read_text().lower()
    for phrase in ("not built here", "byte-identical", "android studio", "run-tests", "keras-sr export --model"):
        assert phrase in text, phrase
