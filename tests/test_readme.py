"""The README is a user guide that can be copied: every command in it runs as written.

What runs, in one fresh folder per test module, with `KERAS_SR_DATA` pointing at the
datasets and this environment's `bin/` first on PATH (so `keras-sr` is the installed
console script):

* every ```bash / ```sh block, in document order, one line at a time (`bash -e -c LINE`),
  stopping at the first line that fails;
* every ```python block, in a fresh interpreter;
* every command of the task table (the `## Commands` section), after the blocks, since
  its examples use the files the walk-through writes. A command that the walk-through
  already ran (same words) is not run twice.

The one rule that leaves text out: installation steps and the test command itself.
In a bash line, the `&&`-separated parts that create or activate a virtual environment
(`python3 -m venv`, `. .venv/bin/activate`), install or build the package (`pip install`,
`pip wheel`, `python -m build`), or run this test suite (`python -m pytest`, which would
run this file again) are dropped; CI (`.ci/run`) ran them before the tests. Everything
else runs exactly as written; nothing is substituted. `test_install_section_*` check the
install section separately (the wheel it names is the wheel `pip wheel` builds).

One placeholder is allowed: a task-table input the project cannot ship (a PyTorch `.pth`:
torch is not a dependency). Its command still runs as written and must fail cleanly with
exit code 2 and an error naming that file: the flags parse, only the file is missing.

The walk-through trains for 5 steps and QAT-trains for 5 more (its budget is written in
the README itself), so this module takes about a minute or two on 2 cores; it stays in
the default suite because the newcomer path is what CI must prove.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"
TEXT = README.read_text()
BIN = Path(sys.executable).parent

#: `&&`-parts of a bash line that install (CI ran them) or run this suite; see the docstring.
INSTALL_STEP = re.compile(r"^(python3? -m venv\b|\. \.venv/bin/activate$|source \.venv/bin/activate$|"
                          r"(python3? -m )?pip3? (install|wheel)\b|python3? -m build\b|python3? -m pytest\b)")
#: Task-table inputs the reader supplies (see the docstring): file name -> why it cannot be here.
PLACEHOLDER_INPUTS = {"fd_irb_x4.pth": "a PyTorch state_dict of the original code (torch is not a dependency)"}
#: What the walk-through leaves in its folder.
WALKTHROUGH_OUTPUTS = ("my_images", "my_x4.h5", "runs/first/best.weights.h5", "runs/first/best.weights.json",
                       "runs/first_qat/optimized.weights.h5", "my_x4_int8.tflite", "baby_x4.png")
MAX_LINES = 300  # grew from 260 with the device targets (browser, Android, micro, Colab)


# --------------------------------------------------------------------------- reading the README


def sections(text=TEXT):
    """[(heading, body)] for every `## ` section, in order (the text before the first is '')."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return [("", parts[0])] + [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


def section(heading, text=TEXT):
    for name, body in sections(text):
        if name == heading:
            return body
    raise AssertionError(f"README has no '## {heading}' section. Sections: {[n for n, _ in sections(text)]}")


def fenced_blocks(text=TEXT, languages=("bash", "sh", "python")):
    """[(section heading, language, code)] of the fenced blocks in `languages`, in document order."""
    blocks = []
    for heading, body in sections(text):
        for lang, code in re.findall(r"^```(\w*)[^\n]*\n(.*?)^```", body, flags=re.M | re.S):
            if lang in languages:
                blocks.append((heading, lang, code))
    return blocks


def table(body):
    """The first Markdown table in `body` as a list of rows (lists of stripped cells), header excluded."""
    rows, started = [], False
    for line in body.splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells)
        elif started:
            break
    assert len(rows) >= 2 and set(rows[1][0]) <= set("-: "), f"no Markdown table in:\n{body[:300]}"
    return rows[2:]


def code_spans(cell):
    return re.findall(r"`([^`]+)`", cell)


def shell_lines(code):
    """The lines of a bash block, continuations joined, comments and blank lines dropped."""
    code = re.sub(r"\\\n\s*", " ", code)
    return [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def without_install_steps(line):
    """The line without its `&&`-parts that install or run the test suite ('' when nothing is left)."""
    line = re.sub(r"(^|\s)#.*$", "", line).strip()  # a trailing comment is prose, never a command
    kept = [part.strip() for part in line.split("&&") if not INSTALL_STEP.match(part.strip())]
    return " && ".join(kept)


def runnable_script(code):
    return "\n".join(filter(None, (without_install_steps(line) for line in shell_lines(code))))


def words(command):
    return " ".join(shlex.split(command, comments=True))


def task_table():
    """[(task, subcommand, command)] of the `## Commands` table."""
    rows = []
    for task, sub, example in table(section("Commands")):
        (command,) = code_spans(example)
        rows.append((task, code_spans(sub)[0], command))
    return rows


BASH_BLOCKS = [(h, code) for h, lang, code in fenced_blocks() if lang in ("bash", "sh")]
PYTHON_BLOCKS = [(h, code) for h, lang, code in fenced_blocks() if lang == "python"]
WALKTHROUGH_SECTION = "Your first model, end to end"


# --------------------------------------------------------------------------- running


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.fixture(scope="module")
def env(data_root):
    if shutil.which("keras-sr", path=str(BIN)) is None:
        pytest.fail(f"the `keras-sr` console script is not installed beside {sys.executable}: the README's "
                    "commands need it (pyproject [project.scripts]; reinstall with pip install -e .)")
    # Only what a reader's shell has: the environment, its bin/ first, and the data folder.
    return {**os.environ, "KERAS_SR_DATA": str(data_root), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run_bash(script, cwd, env, timeout=900):
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def explain(result):
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}"


class Ran:
    """What running the README's bash blocks did: one entry per command line, in order."""

    def __init__(self):
        self.lines = []  # (section, line, CompletedProcess, seconds)

    def of(self, heading):
        return [(line, result, seconds) for h, line, result, seconds in self.lines if h == heading]

    def find(self, command):
        for _, line, result, seconds in self.lines:
            if words(line) == words(command):
                return result
        return None


@pytest.fixture(scope="module")
def ran_blocks(workdir, env):
    """Runs every bash block in order in `workdir`, one line at a time; stops at the first failure.

    The lines of a block share the folder and the environment (not shell variables: the
    README sets none).
    """
    ran = Ran()
    for heading, code in BASH_BLOCKS:
        for line in filter(None, runnable_script(code).splitlines()):
            start = time.perf_counter()
            result = run_bash(line, workdir, env)
            ran.lines.append((heading, line, result, time.perf_counter() - start))
            if result.returncode != 0:
                return ran
    return ran


# --------------------------------------------------------------------------- the README's shape


def test_readme_is_a_short_user_guide():
    n = len(TEXT.splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines; keep it under {MAX_LINES} and move details to docs/"
    names = [name for name, _ in sections()]
    for needed in ("Quickstart", "Install", WALKTHROUGH_SECTION, "Commands", "The flag vocabulary",
                   "Shipped models", "Status (2026-11-26)", "Where the details live"):
        assert any(name.startswith(needed.split(" (")[0]) for name in names), f"README lost its '{needed}' section"


def test_blocks_are_found_and_only_install_steps_are_left_out():
    assert len(BASH_BLOCKS) >= 3 and PYTHON_BLOCKS
    quickstart = [code for h, code in BASH_BLOCKS if h == "Quickstart"]
    assert runnable_script(quickstart[0]) == "keras-sr demo"
    for heading, code in BASH_BLOCKS:
        if heading == "Install":
            assert runnable_script(code) == "", "the install section should hold install steps only"
        elif heading != "Quickstart":
            assert runnable_script(code) == "\n".join(shell_lines(code)), f"a line of '{heading}' would be skipped"


def test_every_subcommand_has_a_task_table_row():
    from keras_sr.cli import COMMANDS

    rows = task_table()
    assert sorted(sub for _, sub, _ in rows) == sorted(COMMANDS)
    for _, sub, command in rows:
        assert command.startswith(f"keras-sr {sub}"), command


def test_relative_links_in_readme_and_docs_resolve():
    for md in [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if "://" in target:
                continue
            assert (md.parent / target).exists(), f"{md.relative_to(REPO_ROOT)} links to missing {target}"


# --------------------------------------------------------------------------- the install section


def test_install_section_names_the_wheel_pip_builds(tmp_path):
    """`pip wheel . --no-deps -w dist` gives the file the README installs, with only the runtime as requirements."""
    install = section("Install")
    names = set(re.findall(r"dist/(keras_sr-[\w.]+-py3-none-any\.whl)", install))
    assert len(names) == 1, names
    source = tmp_path / "src"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "runs", "outputs", "*.egg-info", "__pycache__", ".pytest_cache"))
    # No build isolation: the test must not reach a package index; the README's command may.
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                             "-w", "dist", "-q"], cwd=source, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, explain(result)
    built = [p.name for p in (source / "dist").glob("*.whl")]
    assert built == list(names), f"README installs {names}, pip built {built}"
    with zipfile.ZipFile(source / "dist" / built[0]) as whl:
        meta = whl.read(f"{built[0].split('-py3')[0]}.dist-info/METADATA").decode()
        entry_points = whl.read(f"{built[0].split('-py3')[0]}.dist-info/entry_points.txt").decode()
        files = whl.namelist()
    runtime = sorted(re.split(r"[<>=!~;\s\[]", line.split(":", 1)[1].strip())[0].lower()
                     for line in meta.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line)
    assert runtime == ["ai-edge-litert", "numpy", "pillow"], runtime
    for dependency in runtime:
        assert dependency in install, f"the install section should name the runtime dependency {dependency}"
    assert re.search(r"^keras-sr\s*=\s*keras_sr\.cli:main", entry_points, flags=re.M), entry_points
    assert "keras_sr/pretrained/fd_irb_edge_x4_int8.tflite" in files


NO_TF_CHECK = """
import sys
from keras_sr.cli import main
code = main({argv!r})
heavy = sorted(m for m in ("tensorflow", "tf_keras", "keras") if m in sys.modules)
assert code == 0, f"exit code {{code}}"
assert not heavy, f"imported {{heavy}}"
"""


@pytest.mark.parametrize("argv", [
    ["presets"],
    ["demo", "-o", "demo.png"],
    ["upscale", "{data}/Set5/bird.png", "-o", "bird.png"],
    ["benchmark", "--model", "fd_irb_edge_x4", "--input", "64x64", "--runs", "1", "--warmup", "0"],
], ids=lambda argv: argv[0])
def test_board_commands_run_without_tensorflow(argv, data_root, tmp_path):
    """The install section says a board runs these with the runtime only (no TensorFlow)."""
    assert f"`keras-sr {argv[0]}`" in section("Install") or f"`{argv[0]}`" in section("Install")
    argv = [a.format(data=data_root) for a in argv]
    result = subprocess.run([sys.executable, "-c", NO_TF_CHECK.format(argv=argv)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, explain(result)


# --------------------------------------------------------------------------- running it


def test_quickstart_runs(ran_blocks, workdir):
    runs = ran_blocks.of("Quickstart")
    assert runs, "the quickstart block did not run"
    for line, result, _ in runs:
        assert result.returncode == 0, f"{line}\n{explain(result)}"
    assert (workdir / "demo_x4.png").stat().st_size > 0
    assert "PSNR" in runs[-1][1].stdout


def test_newcomer_walkthrough_runs_as_written(ran_blocks, workdir):
    """prepare 10 images -> train -> evaluate -> QAT -> convert -> benchmark -> upscale."""
    (code,) = [code for heading, code in BASH_BLOCKS if heading == WALKTHROUGH_SECTION]
    lines = runnable_script(code).splitlines()
    runs = ran_blocks.of(WALKTHROUGH_SECTION)
    # The commands and their wall times, for `pytest -s`.
    print("\n" + "\n".join(f"{seconds:6.1f} s  exit {result.returncode}  {line[:110]}" for line, result, seconds in runs))
    for line, result, _ in runs:
        assert result.returncode == 0, f"{line}\n{explain(result)}"
    assert len(runs) == len(lines), f"an earlier block failed: {ran_blocks.lines[-1][1]}"
    for name in WALKTHROUGH_OUTPUTS:
        assert (workdir / name).exists(), f"the walk-through did not write {name}"
    assert len(list((workdir / "my_images").iterdir())) == 10


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs(index, workdir, env):
    heading, code = PYTHON_BLOCKS[index]
    result = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"python block of '{heading}':\n{explain(result)}"


@pytest.mark.parametrize("task,sub,command", task_table(), ids=[row[1] for row in task_table()])
def test_task_table_example_runs(task, sub, command, ran_blocks, workdir, env):
    earlier = ran_blocks.find(command)
    (walkthrough,) = [code for heading, code in BASH_BLOCKS if heading == WALKTHROUGH_SECTION]
    if earlier is None and words(command) in map(words, runnable_script(walkthrough).splitlines()):
        pytest.fail(f"the walk-through stopped before this line, at: {ran_blocks.lines[-1][1]}")
    if earlier is not None:
        # The walk-through ran these very words; it is not run twice.
        assert earlier.returncode == 0, f"{command}\n{explain(earlier)}"
        return
    placeholders = [name for name in PLACEHOLDER_INPUTS if name in shlex.split(command)]
    result = run_bash(command, workdir, env, timeout=600)
    if placeholders:
        assert not (workdir / placeholders[0]).exists()
        assert result.returncode == 2, f"{command!r} should parse and stop at the missing input:\n{explain(result)}"
        assert placeholders[0] in result.stderr and "Traceback" not in result.stderr, explain(result)
        return
    assert result.returncode == 0, f"{task}: {command}\n{explain(result)}"


# --------------------------------------------------------------------------- what the README quotes


def test_presets_table_quotes_the_model_cards():
    from keras_sr.paths import PRETRAINED_DIR

    rows = table(section("Shipped models"))
    assert rows, "no presets table"
    datasets = ("Set5", "Set14", "BSD100", "Urban100")
    for row in rows:
        (preset,) = code_spans(row[0])
        card = json.loads((PRETRAINED_DIR / f"{preset}.json").read_text())
        params, gmacs, ms, *psnr = row[1:8]
        assert params == f"{card['params']:,}", preset
        assert gmacs == f"{card['multi_adds_320x180_total'] / 1e9:.2f}", preset
        assert ms == f"{card['int8_latency_ms_320x180_2_threads']['median']:.0f}", preset
        assert psnr == [f"{card['scores'][d]['int8'][0]:.2f}" for d in datasets], preset
        assert f"keras_sr/pretrained/{preset}.md" in row[8] and (PRETRAINED_DIR / f"{preset}.md").is_file()
    card = json.loads((PRETRAINED_DIR / "fd_irb_edge_x4.json").read_text())
    bicubic = " / ".join(f"{card['scores'][d]['bicubic'][0]:.2f}" for d in datasets)
    assert f"Bicubic gets {bicubic} dB at x4" in section("Shipped models")


#: Which docs page quotes which `benchmarks/results/*.md` (written by the script of the same name).
QUOTED_RESULTS = {"tflite_precisions.md": "docs/speed.md", "edge_sweep.md": "docs/networks.md",
                  "train_recipe.md": "docs/training.md"}


@pytest.mark.parametrize("result", sorted(QUOTED_RESULTS))
def test_docs_quote_the_benchmark_results_verbatim(result):
    """Rerun a benchmark, then paste its results file into the page; a stale page fails here."""
    text = (REPO_ROOT / "benchmarks" / "results" / result).read_text().strip()
    page = (REPO_ROOT / QUOTED_RESULTS[result]).read_text()
    if result == "tflite_precisions.md":
        page = page.split("<!-- precisions:start -->\n", 1)[1].split("<!-- precisions:end -->", 1)[0]
        assert page.strip() == text, f"{QUOTED_RESULTS[result]}: the precisions block differs from {result}"
    else:
        assert text in page, f"{QUOTED_RESULTS[result]} does not quote benchmarks/results/{result}"


COPIED_RUNTIME_CHECK = """
import sys
from pathlib import Path
import keras_sr
from keras_sr.cli import main
assert Path(keras_sr.__file__).resolve().parent == Path.cwd().resolve() / "keras_sr", keras_sr.__file__
code = main(["benchmark", "--model", "fd_irb_edge_x4", "--input", "64x64", "--runs", "1", "--warmup", "0",
             "--eval", {set5!r}, "--eval-max-images", "1"])
code = code or main(["upscale", {bird!r}, "-o", "bird_x4.png", "--tile", "64"])
heavy = sorted(m for m in ("tensorflow", "tf_keras", "keras", "h5py") if m in sys.modules)
assert code == 0, f"exit code {{code}}"
assert not heavy, f"imported {{heavy}}"
"""


def test_board_copy_of_the_package_folder_runs_without_tensorflow(data_root, tmp_path):
    """docs/board.md: without pip, a copied `keras_sr/` folder runs the runtime commands."""
    assert "copy the `keras_sr/` folder" in (REPO_ROOT / "docs" / "board.md").read_text()
    shutil.copytree(REPO_ROOT / "keras_sr", tmp_path / "keras_sr", ignore=shutil.ignore_patterns("__pycache__"))
    script = COPIED_RUNTIME_CHECK.format(set5=str(data_root / "Set5"), bird=str(data_root / "Set5" / "bird.png"))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, explain(result)
