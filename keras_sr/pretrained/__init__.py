"""Weights and TFLite models shipped inside the package (no downloads).

Files: `<model>_x<scale>.weights.h5` (+ `.weights.json` sidecar) for Keras,
`<model>_x<scale>_int8.tflite` for boards, and `<model>_x<scale>.md`, the model card
written by `benchmarks/model_card.py`. No TensorFlow import here.
"""
from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent
# The model `python -m keras_sr.upscale` and `python -m keras_sr.demo` use by default.
DEFAULT_MODEL = "fd_irb_edge"


def shipped():
    """Names of the shipped files (weights and .tflite)."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.suffix in (".h5", ".tflite"))


def weights_path(name, scale):
    path = PRETRAINED_DIR / f"{name}_x{scale}.weights.h5"
    if not path.is_file():
        raise ValueError(
            f"No pretrained weights for model {name!r} at scale={scale}: '{path.name}' is not shipped. "
            f"Shipped: {shipped() or 'none'}"
        )
    return path


def tflite_path(scale, name=DEFAULT_MODEL, precision="int8"):
    path = PRETRAINED_DIR / f"{name}_x{scale}_{precision}.tflite"
    if not path.is_file():
        raise FileNotFoundError(
            f"No pretrained {precision} TFLite model for scale={scale}: '{path.name}' is not shipped "
            f"(shipped: {shipped() or 'none'}). Pass --model FILE.tflite (or --model NAME --weights W)."
        )
    return path
