"""The one place that names where the notebooks live on GitHub, and the tool that applies it.

    python notebooks/colab.py            # rewrite the badges and install URLs, strip outputs
    python notebooks/colab.py --check    # exit 1 when a notebook is not as this file says

`REPOSITORY` (owner/name on GitHub) and `BRANCH` make each notebook's "Open in Colab" badge
and the default `KERAS_SR_SOURCE` git URL of its install cell; `--check` also checks the Colab
links of the top-level README.md against them (rewrite those by hand). Change them here, run the
tool, commit the notebooks: tests/test_notebooks.py runs `--check`. The tool also strips
outputs, execution counts and widget state, so notebooks are committed clean.
Standard library only (notebooks are JSON).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

#: owner/name of the GitHub repository the notebooks are opened from. A placeholder until the
#: project is published: set it, run this tool, commit.
REPOSITORY = "keras-sr/keras-sr"
BRANCH = "main"
NOTEBOOKS = ("quickstart.ipynb", "train_div2k.ipynb", "deploy.ipynb")
HERE = Path(__file__).resolve().parent

BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\(.*$", re.M)
SOURCE_RE = re.compile(r'^KERAS_SR_SOURCE = "git\+[^"]*"', re.M)


def badge(name, repository=REPOSITORY, branch=BRANCH) -> str:
    """The Markdown badge that opens notebooks/`name` on Colab."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repository}/blob/{branch}/notebooks/{name})")


def install_source(repository=REPOSITORY, branch=BRANCH) -> str:
    """The pip source of the install cell: this repository at `branch`."""
    return f"git+https://github.com/{repository}.git@{branch}"


def synced(nb: dict, name: str) -> dict:
    """`nb` with its badge and install URL set from this file, and its outputs stripped."""
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            text = BADGE_RE.sub(badge(name), text)
        elif cell["cell_type"] == "code":
            text = SOURCE_RE.sub(f'KERAS_SR_SOURCE = "{install_source()}"', text)
            cell["outputs"], cell["execution_count"] = [], None
            cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
        cell["source"] = text.splitlines(keepends=True)
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info", "colab",
                                                                               "accelerator")}
    nb["metadata"].get("language_info", {}).pop("version", None)
    return nb


COLAB_LINK_RE = re.compile(r"https://colab\.research\.google\.com/github/([^)\s\"']+)")


def readme_problems(readme) -> list[str]:
    """Colab links in `readme` (the top-level README.md) that do not open REPOSITORY at BRANCH."""
    path = Path(readme)
    if not path.is_file():
        return []
    prefix = f"{REPOSITORY}/blob/{BRANCH}/notebooks/"
    return [f"{path.name}: Colab link to {link!r}; expected {prefix}NAME.ipynb (set in notebooks/colab.py)"
            for link in COLAB_LINK_RE.findall(path.read_text())
            if not link.startswith(prefix) or link[len(prefix):] not in NOTEBOOKS]


def problems(folder=HERE, readme=HERE.parent / "README.md") -> list[str]:
    """What differs between the notebooks in `folder` (and the Colab links of `readme`) and this file."""
    found = readme_problems(readme) if readme else []
    for name in NOTEBOOKS:
        path = Path(folder) / name
        if not path.is_file():
            found.append(f"{name}: missing")
            continue
        nb = json.loads(path.read_text())
        markdown = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
        if not markdown or badge(name) not in "".join(markdown[0]["source"]):
            found.append(f"{name}: the first Markdown cell lacks the badge {badge(name)}")
        if json.dumps(synced(json.loads(path.read_text()), name), sort_keys=True) != json.dumps(nb, sort_keys=True):
            found.append(f"{name}: not synced (outputs, execution counts, badge or install URL); run "
                         f"python notebooks/colab.py")
    return found


def write(folder=HERE) -> None:
    for name in NOTEBOOKS:
        path = Path(folder) / name
        if not path.is_file():
            continue
        nb = synced(json.loads(path.read_text()), name)
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report differences, change nothing (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or "notebooks are synced")
        return 1 if found else 0
    write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
