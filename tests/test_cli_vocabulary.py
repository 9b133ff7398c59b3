"""One flag vocabulary: the README's table is what every `keras-sr` parser uses.

For each row of the README's `## The flag vocabulary` table (concept, flag, library
keyword) and each subcommand parser (`keras_sr.cli.<sub>.build_parser()`):

* a visible option whose `dest` is the row's keyword is spelled exactly as the row says;
* a visible option spelled as the row's flag feeds the row's keyword;
* no deprecated spelling is visible (old spellings are hidden aliases that name their
  replacement, and the replacement is a visible flag of the same parser);
* across all subcommands, one `dest` has one spelling and one spelling one `dest`.

`keras-sr --help` and `keras-sr SUB --help` must exit 0 without importing TensorFlow
(or Keras); their wall times are printed (`pytest -s`), never asserted.
"""
from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import time

import pytest

from keras_sr.cli import COMMANDS
from tests.conftest import REPO_ROOT
from tests.test_readme import code_spans, section, table

#: Old spellings that must never be a visible flag (they print a warning naming the new one).
DEPRECATED = ("--outputs-dir", "--output-path", "--threads", "--checkpoint-every", "--datasets", "--eval-data",
              "--max-images")
#: Modules that `--help` must not import.
HEAVY = ("tensorflow", "tf_keras", "keras", "tensorflow_model_optimization", "h5py")


def vocabulary():
    """[(concept, flags, keyword)] from the README; keyword '—' means the flag's own name."""
    rows = []
    for concept, flag_cell, keyword_cell in table(section("The flag vocabulary")):
        flags = tuple(span.split()[0] for span in code_spans(flag_cell) if span.startswith("-"))
        assert flags, f"no flag in the README row {concept!r}"
        spans = code_spans(keyword_cell)
        keyword = spans[0] if spans else flags[-1].lstrip("-").replace("-", "_")
        rows.append((concept, flags, keyword))
    return rows


VOCABULARY = vocabulary()


def parser_of(sub):
    try:
        module = importlib.import_module(f"keras_sr.cli.{sub}")
    except ModuleNotFoundError as error:
        pytest.fail(f"keras_sr.cli.{sub} does not exist yet ({error})")
    return module.build_parser()


def visible(action):
    return action.help != argparse.SUPPRESS


def options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_readme_table_has_the_vocabulary():
    keywords = [keyword for _, _, keyword in VOCABULARY]
    assert len(set(keywords)) == len(keywords), "a keyword appears in two rows"
    for needed in ("model", "weights", "tflite", "scale", "config", "train", "eval", "data_root", "eval_max_images",
                   "output", "output_dir", "force", "resume", "config_file", "num_threads", "use_xnnpack",
                   "input_hw", "json", "quiet", "verbose"):
        assert needed in keywords, f"the README's flag table lost `{needed}`"
    old = section("The flag vocabulary").split("Old spellings", 1)[1]
    for flag in DEPRECATED:
        assert f"`{flag}`" in old, f"the README should list the deprecated {flag}"


@pytest.mark.parametrize("sub", list(COMMANDS))
def test_parser_uses_the_readme_vocabulary(sub):
    parser = parser_of(sub)
    problems = []
    for concept, flags, keyword in VOCABULARY:
        for action in options(parser):
            if not visible(action):
                continue
            if action.dest == keyword and set(action.option_strings) != set(flags):
                problems.append(f"{concept}: `{'/'.join(action.option_strings)}` should be spelled "
                                f"`{'/'.join(flags)}`")
            if set(action.option_strings) & set(flags) and action.dest != keyword:
                problems.append(f"{concept}: `{'/'.join(action.option_strings)}` feeds `{action.dest}`, "
                                f"the README says `{keyword}`")
        for action in parser._actions:
            if not action.option_strings and visible(action) and action.dest == keyword:
                problems.append(f"{concept}: a positional argument takes `{keyword}`; use `{flags[-1]}`")
    assert not problems, f"keras-sr {sub}:\n" + "\n".join(problems)


@pytest.mark.parametrize("sub", list(COMMANDS))
def test_no_deprecated_spelling_is_visible(sub):
    parser = parser_of(sub)
    shown = {flag for action in options(parser) if visible(action) for flag in action.option_strings}
    assert not shown & set(DEPRECATED), f"keras-sr {sub} shows deprecated flags {sorted(shown & set(DEPRECATED))}"
    if sub == "prepare":
        assert "--eval" not in shown, "prepare's boolean --eval is now --kind eval"
    for action in options(parser):
        new = getattr(action, "new", None)
        if visible(action) or new is None:
            continue
        replacement = [word for word in re.split(r"[\s/]+", new) if word.startswith("-")]
        assert replacement and set(replacement) <= shown, (
            f"keras-sr {sub}: hidden `{action.option_strings[0]}` points to `{new}`, which is not a visible flag")


def test_one_spelling_per_dest_across_subcommands():
    spellings, dests = {}, {}
    for sub in COMMANDS:
        try:
            parser = importlib.import_module(f"keras_sr.cli.{sub}").build_parser()
        except ModuleNotFoundError:
            continue  # reported by the parametrised tests
        for action in options(parser):
            if not visible(action):
                continue
            # Flags storing constants (convert's --float16 / --dynamic / --int8) are values of one concept.
            dest = action.dest if action.nargs != 0 else f"{action.dest}={action.const!r}"
            spellings.setdefault(dest, {}).setdefault(tuple(sorted(action.option_strings)), []).append(sub)
            for flag in action.option_strings:
                dests.setdefault(flag, {}).setdefault(dest, []).append(sub)
    problems = [f"`{dest}` is spelled {forms}" for dest, forms in spellings.items() if len(forms) > 1]
    problems += [f"`{flag}` feeds {targets}" for flag, targets in dests.items() if len(targets) > 1]
    assert not problems, "\n".join(problems)


HELP_CHECK = """
import sys, time
start = time.perf_counter()
from keras_sr.cli import main
try:
    code = main({argv!r})
except SystemExit as stop:
    code = stop.code
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("SECONDS", time.perf_counter() - start)
assert code in (0, None), f"exit code {{code}}"
assert not heavy, f"--help imported {{heavy}}"
"""


@pytest.mark.parametrize("argv", [["--help"]] + [[sub, "--help"] for sub in COMMANDS],
                         ids=["keras-sr"] + list(COMMANDS))
def test_help_works_without_tensorflow(argv):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", HELP_CHECK.format(argv=argv, heavy=HEAVY)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    assert result.returncode == 0, f"keras-sr {' '.join(argv)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "usage:" in result.stdout
    inside = re.search(r"SECONDS ([\d.]+)", result.stdout).group(1)
    print(f"keras-sr {' '.join(argv)}: {wall:.2f} s with the interpreter, {float(inside):.2f} s in main")
