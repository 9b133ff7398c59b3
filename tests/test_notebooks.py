"""The Colab notebooks run top to bottom in a real Jupyter kernel, unmodified but for their parameters.

Each notebook is executed by nbclient in a fresh folder with this interpreter's ipykernel, the
way papermill does it: a cell tagged `injected-parameters` goes right after the cell tagged
`parameters` and sets `SMOKE = True` and `DATA_ROOT` ($KERAS_SR_DATA). Everything else,
shell and magic lines included (they act only on Colab), runs as committed. A cell error fails
the test; then the files each notebook promises are checked. The committed notebooks must be
clean: no outputs, and the badge and install URL that notebooks/colab.py sets.
"""
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
nbclient = pytest.importorskip("nbclient", reason="needs the notebooks extra (nbclient, nbformat, ipykernel)")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")


def _colab_tool():
    spec = importlib.util.spec_from_file_location("notebooks_colab", NOTEBOOKS_DIR / "colab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COLAB = _colab_tool()

# What each notebook promises to leave in its working folder (file -> minimum size in bytes).
PROMISED = {
    "quickstart.ipynb": {"quickstart_comparison_x4.png": 10_000, "sample_lr_x4.png": 10_000},
    "train_div2k.ipynb": {"div2k_x4_int8.tflite": 10_000, "div2k_x4_int8.tflite.json": 100, "div2k_x4_int8.md": 200,
                          "runs/div2k_x4/best.weights.h5": 10_000, "runs/div2k_x4_qat/optimized.weights.h5": 10_000,
                          "div2k_x4.h5": 10_000},
    "deploy.ipynb": {"deploy/model_int8.tflite": 10_000, "deploy/model_int8.tflite.json": 100,
                     "deploy/bundles/micro/model_data.cc": 10_000, "deploy/bundles/android/model.json": 100,
                     "deploy/bundles/web/model.json": 100, "deploy/before_after.png": 10_000,
                     "deploy/psnr_vs_latency.png": 10_000, "deploy/keras_sr_deploy.zip": 10_000},
}


def _execute(nb, cwd, timeout=600):
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _with_parameters(path, **values):
    """The notebook with an `injected-parameters` cell after its `parameters` cell (papermill's way)."""
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged 'parameters', found {len(tagged)}"
    source = "\n".join(f"{k} = {v!r}" for k, v in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1, cell)
    return nb


def test_the_kernel_is_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")])
    out = _execute(nb, tmp_path, timeout=120).cells[0].outputs[0]["text"].strip()
    assert Path(out).resolve() == Path(sys.executable).resolve(), (out, sys.executable)


@pytest.mark.parametrize("name", COLAB.NOTEBOOKS)
def test_committed_notebook_is_clean_and_colab_ready(name):
    nb = json.loads((NOTEBOOKS_DIR / name).read_text())
    assert not [p for p in COLAB.problems() if p.startswith(name)]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "outputs must be stripped"
    first = "".join(code[0]["source"])
    # The first code cell installs on Colab only, from the one variable at its top.
    assert first.startswith("# On Colab") and 'IN_COLAB = "google.colab" in sys.modules' in first
    assert first.count("KERAS_SR_SOURCE = ") == 1 and "if IN_COLAB" in first
    assert ["parameters"] == [t for c in code for t in c["metadata"].get("tags", []) if t == "parameters"]
    # Shell and magic commands are Python calls guarded by IN_COLAB (a `!` or `%` line is not Python).
    for cell in code:
        for line in "".join(cell["source"]).splitlines():
            assert not line.lstrip().startswith(("!", "%")), f"{name}: {line!r}"


def test_colab_tool_finds_a_wrong_badge_and_leftover_outputs(tmp_path):
    for name in COLAB.NOTEBOOKS:
        nb = json.loads((NOTEBOOKS_DIR / name).read_text())
        text = json.dumps(nb).replace(COLAB.REPOSITORY, "someone/else")
        (tmp_path / name).write_text(text)
    assert len(COLAB.problems(tmp_path, readme=None)) == 2 * len(COLAB.NOTEBOOKS)  # no badge; not synced
    COLAB.write(tmp_path)
    assert len(COLAB.problems(tmp_path, readme=None)) == 0
    readme = tmp_path / "README.md"
    readme.write_text(f"[![Open In Colab](x)]({COLAB.badge('deploy.ipynb').split('](')[-1]}\n")
    assert COLAB.readme_problems(readme) == []
    readme.write_text("[b](https://colab.research.google.com/github/someone/else/blob/main/notebooks/deploy.ipynb)")
    assert len(COLAB.readme_problems(readme)) == 1


def _run_and_check(name, data_root, tmp_path, monkeypatch, promised, **parameters):
    monkeypatch.setenv("KERAS_SR_DATA", str(data_root))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    nb = _with_parameters(NOTEBOOKS_DIR / name, SMOKE=True, DATA_ROOT=str(data_root), **parameters)
    start = time.perf_counter()
    _execute(nb, tmp_path)
    print(f"{name} {parameters or ''}: executed in {time.perf_counter() - start:.1f} s")
    missing = {f: n for f, n in promised.items() if not (tmp_path / f).is_file() or (tmp_path / f).stat().st_size < n}
    assert not missing, f"{name} did not leave {sorted(missing)}; it left {sorted(os.listdir(tmp_path))}"
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images or name == "train_div2k.ipynb", f"{name} showed no image inline"
    return nb


# The default suite runs train_div2k without QAT (QAT = False: post-training int8 only): tfmot's QAT
# wrapping costs ~30 s even for the tiny network. The slow test below runs it as committed, QAT included.
@pytest.mark.parametrize("name, parameters", [pytest.param("quickstart.ipynb", {}, id="quickstart"),
                                              pytest.param("train_div2k.ipynb", {"QAT": False}, id="train_div2k"),
                                              pytest.param("deploy.ipynb", {}, id="deploy")])
def test_notebook_runs_top_to_bottom_with_the_smoke_budget(name, parameters, data_root, tmp_path, monkeypatch):
    promised = {f: n for f, n in PROMISED[name].items() if parameters.get("QAT", True) or "_qat/" not in f}
    _run_and_check(name, data_root, tmp_path, monkeypatch, promised, **parameters)


@pytest.mark.slow
def test_train_notebook_with_qat_runs_top_to_bottom(data_root, tmp_path, monkeypatch):
    nb = _run_and_check("train_div2k.ipynb", data_root, tmp_path, monkeypatch, PROMISED["train_div2k.ipynb"])
    card = (tmp_path / "div2k_x4_int8.md").read_text()
    assert "3 QAT steps" in card and "| Urban100 | 1 |" in card


# The install cell's Colab branch, run here with Colab faked: `google.colab` in sys.modules, keras_sr
# not yet importable, pip replaced by a recorder and the installed versions by two lists (before/after).
_FAKE_COLAB = '''
import importlib.util, subprocess, sys, types
from importlib import metadata
import numpy
sys.modules["google.colab"] = types.ModuleType("google.colab")
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "keras_sr" else _find(name, *a)
class _Dist:
    def __init__(self, name, version):
        self.metadata, self.version = {"Name": name}, version
_lists = iter([[_Dist("numpy", "1.0"), _Dist("Pillow", "1")], [_Dist("numpy", NUMPY_AFTER), _Dist("Pillow", "1"),
                                                                 _Dist("keras-sr", "0.1.0")]])
_owners = metadata.packages_distributions()  # the real module -> distribution map, read before faking
metadata.packages_distributions = lambda: _owners
metadata.distributions = lambda: next(_lists)
subprocess.run = lambda cmd, check: print("PIP", cmd[-1])
'''


def _install_cell(name):
    nb = json.loads((NOTEBOOKS_DIR / name).read_text())
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


@pytest.mark.parametrize("name", COLAB.NOTEBOOKS)
def test_install_cell_on_colab_installs_from_the_source_variable_and_asks_for_a_restart(name, tmp_path):
    import subprocess

    cell = _install_cell(name)
    extras = cell.split('EXTRAS = "')[1].split('"')[0]
    # A package the runtime had loaded (numpy) changed version: stop, name it, say to restart.
    run = subprocess.run([sys.executable, "-c", _FAKE_COLAB.replace("NUMPY_AFTER", "'2.0'") + cell],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 1 and "Restart needed" in run.stderr and "numpy 1.0 -> 2.0" in run.stderr, run.stderr
    assert f"PIP keras-sr[{extras}] @ {COLAB.install_source()}" in run.stdout
    # Nothing loaded changed: no restart; an uploaded wheel's path becomes a file URL.
    wheel = tmp_path / "keras_sr-0.1.0-py3-none-any.whl"
    local = cell.replace(f'KERAS_SR_SOURCE = "{COLAB.install_source()}"', f"KERAS_SR_SOURCE = {wheel.name!r}")
    run = subprocess.run([sys.executable, "-c", _FAKE_COLAB.replace("NUMPY_AFTER", "'1.0'") + local],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"PIP keras-sr[{extras}] @ {wheel.as_uri()}" in run.stdout and "Colab" in run.stdout
