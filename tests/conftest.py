"""Shared fixtures. Real data is found through KERAS_SR_DATA (default: ../shared/datasets).

Tiny models and their conversions are session-scoped (`tiny_models`): a .tflite that
several test files need is converted once per test process (each xdist worker has its
own session), on first use.
"""
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


@pytest.fixture(scope="session")
def hr_images(tmp_path_factory) -> Path:
    """Two synthetic 96x72 HR PNGs (`harness.synthetic_images`): calibration/eval data without the datasets."""
    from tests import harness

    return harness.synthetic_images(tmp_path_factory.mktemp("hr_images"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, hr_images):
    """A `harness.TinyModels`: tiny models, weights and .tflite files made once per session."""
    from tests import harness

    return harness.TinyModels(tmp_path_factory.mktemp("tiny_models"), hr_images)
