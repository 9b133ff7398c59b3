"""Weights and TFLite models shipped inside the package (no downloads).

Each shipped model is a preset (`keras_sr.presets`, `keras-sr presets`): for the preset
`<model>_x<scale>` the files are `<model>_x<scale>.weights.h5` (+ `.weights.json` sidecar)
for Keras, `<model>_x<scale>_int8.tflite` (+ `.tflite.json` conversion record) for boards,
and the model card `<model>_x<scale>.md` (+ `.json`, the measurements) written by
`benchmarks/model_card.py`. `configs/<preset>/` holds the config files of the stages that
made each one. No TensorFlow import here.

Both path functions take `(name, scale)`: a registry model and a scale, or a preset name
alone (`weights_path("fd_irb_edge_x4")`).
"""
import warnings
from pathlib import Path

from keras_sr import presets

PRETRAINED_DIR = Path(__file__).resolve().parent
# The model `keras-sr upscale` and `keras-sr demo` use by default (presets.default(scale)).
DEFAULT_MODEL = "fd_irb_edge"

__all__ = ["PRETRAINED_DIR", "DEFAULT_MODEL", "shipped", "weights_path", "tflite_path"]


def shipped():
    """Names of the shipped files (weights and .tflite)."""
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if p.suffix in (".h5", ".tflite"))


def _stem(name, scale, function):
    """`<model>_x<scale>` from (model, scale) or from a preset name alone."""
    if scale is None:
        if presets.is_preset(name):
            return name
        raise ValueError(f"`{function}` needs a `scale` with a model name, or a preset name "
                         f"({presets.names()}). Received: name={name!r}, scale=None")
    if presets.is_preset(name):
        preset = presets.get(name)
        if scale != preset.scale:
            raise ValueError(f"Preset {name!r} is x{preset.scale}. Received: scale={scale!r}")
        return name
    return presets.preset_name(name, scale)


def weights_path(name, scale=None):
    """The shipped `.weights.h5` file of model `name` at `scale` (or of the preset `name`).

    Raises:
        ValueError: when no such file ships, listing those that do.
    """
    path = PRETRAINED_DIR / f"{_stem(name, scale, 'weights_path')}.weights.h5"
    if not path.is_file():
        raise ValueError(
            f"No pretrained weights for model {name!r} at scale={scale}: '{path.name}' is not shipped. "
            f"Shipped: {shipped() or 'none'}"
        )
    return path


def tflite_path(name=None, scale=None, /, precision="int8", **kwargs):
    """The shipped `.tflite` file of model `name` at `scale` (or of the preset `name`).

    Same argument order as `weights_path`: `tflite_path("fd_irb_edge", 4)` or
    `tflite_path("fd_irb_edge_x4")`. The old order `tflite_path(scale, name=...)`
    still works for this release, with a DeprecationWarning.

    Raises:
        FileNotFoundError: when no such file ships, listing those that do.
    """
    legacy = False
    if isinstance(name, int) and not isinstance(name, bool):  # old order: (scale, name)
        name, scale, legacy = scale, name, True
    if "scale" in kwargs:
        if scale is not None:
            raise TypeError("tflite_path() got multiple values for argument 'scale'")
        scale = kwargs.pop("scale")
    if "name" in kwargs:
        if name is not None:
            raise TypeError("tflite_path() got multiple values for argument 'name'")
        name = kwargs.pop("name")
    if kwargs:
        raise TypeError(f"tflite_path() got unexpected keyword arguments {sorted(kwargs)}")
    if name is None:  # the old default
        name, legacy = DEFAULT_MODEL, True
    if legacy:
        warnings.warn("tflite_path(scale, name=...) is deprecated and will be removed in the next release; "
                      "call tflite_path(name, scale) like weights_path(name, scale), or "
                      "keras_sr.presets.get(name).tflite.", DeprecationWarning, stacklevel=2)
    path = PRETRAINED_DIR / f"{_stem(name, scale, 'tflite_path')}_{precision}.tflite"
    if not path.is_file():
        raise FileNotFoundError(
            f"No pretrained {precision} TFLite model for model {name!r} at scale={scale}: '{path.name}' is not "
            f"shipped (shipped: {shipped() or 'none'}). Pass --tflite FILE.tflite (or --weights W)."
        )
    return path
