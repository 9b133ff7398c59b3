"""notebooks/quickstart.ipynb runs top to bottom, as a Colab user would run it (in a fresh folder)."""
import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "quickstart.ipynb"


def _code_cells():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    # Shell and magic lines (`!pip ...`, `%...`) are Jupyter's, not Python's; they only install.
    return ["\n".join(line for line in "".join(c["source"]).splitlines() if not line.lstrip().startswith(("!", "%")))
            for c in cells if c["cell_type"] == "code"]


def test_notebook_code_cells_run_in_order(data_root, tmp_path):
    script = "\n\n".join(_code_cells())
    env = {**os.environ, "KERAS_SR_DATA": str(data_root), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    # What the cells promise to leave behind: the demo image, a trained run, its int8 file.
    assert (tmp_path / "demo_x4.png").stat().st_size > 0
    assert (tmp_path / "runs" / "notebook" / "best.weights.h5").is_file()
    assert (tmp_path / "runs" / "notebook_int8.tflite").stat().st_size > 0
    assert "fd_irb_edge" in result.stdout and "Set5" in result.stdout
