"""Committed files hold no absolute path of the machine they were made on."""
import subprocess

import pytest

from tests.conftest import REPO_ROOT


def _tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                               timeout=60).stdout.split()
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout ({error})")
    for name in names:
        path = REPO_ROOT / name
        if path.suffix in (".h5", ".tflite", ".png", ".npz") or not path.is_file():
            continue
        yield name, path.read_text(errors="replace")


def test_no_absolute_path_of_this_checkout_or_its_data_is_committed(data_root):
    needles = {str(REPO_ROOT), str(data_root.resolve())}
    offenders = [f"{name}: {needle}" for name, text in _tracked_text_files() for needle in needles if needle in text]
    assert not offenders, f"absolute paths in committed files (use repo-relative or $KERAS_SR_DATA paths): {offenders}"
