"""Shared fixtures. Real data is found through KERAS_SR_DATA (default: ../shared/datasets)."""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Folder holding Set5/, Set14/, BSD100/, Urban100/, train/ (see its MANIFEST.md)."""
    root = Path(os.environ.get("KERAS_SR_DATA", REPO_ROOT.parent / "shared" / "datasets"))
    if not root.is_dir():
        pytest.skip(f"SR datasets not found at '{root}'; set KERAS_SR_DATA to the datasets folder.")
    return root
