"""Access to the PyTorch golden vectors in ../shared/reference (KERAS_SR_REFERENCE)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# reference file -> (registered model, config that reproduces it)
REFERENCE_MODELS = {
    "rdn_small": ("rdn", dict(num_features=32, growth_rate=32, num_blocks=3, num_layers=4)),
    "rdcab_recursive": ("rdcab_recursive", {}),
    "split": ("split", {}),
    "fd_irb": ("fd_irb", {}),
}


def reference_dir():
    root = Path(os.environ.get("KERAS_SR_REFERENCE", REPO_ROOT.parent / "shared" / "reference"))
    if not root.is_dir():
        pytest.skip(f"PyTorch reference vectors not found at '{root}'; set KERAS_SR_REFERENCE.")
    return root


def load_reference(stem):
    """(path, npz dict with NHWC input/output, config dict)."""
    path = reference_dir() / f"{stem}_x4.npz"
    with np.load(path) as archive:
        data = {key: archive[key] for key in archive.files}
    for key in ("input", "output", "output_float64"):
        data[key] = data[key].transpose(0, 2, 3, 1)
    return path, data, json.loads(str(data["config"]))
