"""Shipped models as presets: one name -> network, scale, config, files, card and metrics.

A preset is what `keras_sr/pretrained/` ships for one model at one scale (keras-hub's
presets, without downloads): Keras weights, a full-int8 .tflite file, and a model card
(`.md` for people, `.json` with the measurements). `models.build("fd_irb_edge_x4")`
builds a preset with its weights, `keras-sr upscale --model fd_irb_edge_x4` runs its int8
file, and `keras-sr presets` lists them all.

The table below names the shipped presets; everything else about each one (config,
metrics, stage config files) is read from its card's `.json`, the record
`benchmarks/model_card.py` wrote from measurements. No TensorFlow import here.

Example:
    >>> from keras_sr import presets
    >>> presets.names()[:3]
    ['fd_irb_edge_x2', 'fd_irb_edge_x3', 'fd_irb_edge_x4']
    >>> presets.get("fd_irb_edge_x4").psnr("Set5")  # int8, from the card
    31.54...
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from keras_sr.paths import PRETRAINED_DIR, REPO_ROOT

__all__ = ["Preset", "PRESETS", "names", "get", "is_preset", "default", "preset_name", "CARD_INPUT_HW"]

#: The LR input size (height, width) the cards count Multi-Adds and time latency at (1280x720 at x4).
CARD_INPUT_HW = (180, 320)

# name -> (registry model, scale, one line). The files are `<name>.weights.h5`,
# `<name>_int8.tflite`, `<name>.md` and `<name>.json` in keras_sr/pretrained/.
_SHIPPED = {
    "fd_irb_edge_x2": ("fd_irb_edge", 2, "the edge network at x2 (body from the x4 stage-4 weights)"),
    "fd_irb_edge_x3": ("fd_irb_edge", 3, "the edge network at x3 (body from the x4 stage-4 weights)"),
    "fd_irb_edge_x4": ("fd_irb_edge", 4, "the edge network at x4 (body from the x2 model): the default"),
    "fd_irb_micro_x2": ("fd_irb_micro", 2, "the micro-class network at x2 for TFLite Micro boards (59 K parameters, "
                                           "arena under 256 KB at a 24x24 tile)"),
    "fd_irb_micro_x4": ("fd_irb_micro", 4, "the micro-class network at x4 for TFLite Micro boards (70 K parameters, "
                                           "arena under 256 KB at a 24x24 tile)"),
    "fd_irb_realtime_x2": ("fd_irb_realtime", 2, "the real-time tier at x2 for phone video (under a third of the "
                                                 "edge model's int8 latency; F40 C4 U1, body from its x4 run)"),
    "fd_irb_realtime_x4": ("fd_irb_realtime", 4, "the real-time tier at x4 for phone video (under a third of the "
                                                 "edge model's int8 latency; F48 C3 U2, two passes)"),
    "fd_irb_x2": ("fd_irb", 2, "the paper's FD & IRB network at x2 (15 layers from the edge weights)"),
    "fd_irb_x3": ("fd_irb", 3, "the paper's FD & IRB network at x3 (15 layers from the edge weights)"),
    "fd_irb_x4": ("fd_irb", 4, "the paper's FD & IRB network at x4 (15 layers from the edge weights)"),
}
# What `upscale` and `demo` use when no model is named: the edge network at the scale asked for.
_DEFAULT_MODEL = "fd_irb_edge"


def preset_name(model, scale):
    """The preset name of a registry model at a scale: ('fd_irb_edge', 4) -> 'fd_irb_edge_x4'."""
    return f"{model}_x{scale}"


@dataclass(frozen=True)
class Preset:
    """One shipped model.

    Attributes:
        name: the preset name, `<model>_x<scale>`.
        model: the registry name (`keras_sr.models.names()`) of its network.
        scale: its upscaling factor.
        description: one line.
        config: the resolved architecture config (from the weights' sidecar).
        weights: the Keras `.weights.h5` file (its `.weights.json` sidecar beside it).
        tflite: the full-int8 `.tflite` file (float32 input and output).
        card: the model card, Markdown.
        card_json: the card's measurements, JSON.
        stages: the config files that rebuild it, in replay order (repository-relative
            paths, `keras_sr/pretrained/configs/...`; see the README there).
        metrics: as the card recorded them: `params` (trainable), `fixed_params` (the
            bicubic skip's fixed kernel), `multi_adds` (trainable layers),
            `multi_adds_fixed`, `multi_adds_total` (what the int8 file computes), all at
            `CARD_INPUT_HW`; `psnr` and `ssim`: {dataset: {"bicubic", "float", "int8"}};
            `int8_latency_ms` (median, 2 threads, XNNPACK), `machine`, `date`.
    """

    name: str
    model: str
    scale: int
    description: str
    config: dict = field(repr=False)
    weights: Path = field(repr=False)
    tflite: Path = field(repr=False)
    card: Path = field(repr=False)
    card_json: Path = field(repr=False)
    stages: tuple = field(repr=False, default=())
    metrics: dict = field(repr=False, default_factory=dict)

    def psnr(self, dataset, precision="int8"):
        """The card's Y-PSNR (dB) on `dataset` for `precision` ("int8", "float" or "bicubic")."""
        return self._score("psnr", dataset, precision)

    def ssim(self, dataset, precision="int8"):
        """The card's Y-SSIM on `dataset` for `precision` ("int8", "float" or "bicubic")."""
        return self._score("ssim", dataset, precision)

    def _score(self, metric, dataset, precision):
        table = self.metrics[metric]
        if dataset not in table:
            raise ValueError(f"`dataset` must be one of {sorted(table)} for preset {self.name!r}. "
                             f"Received: dataset={dataset!r}")
        if precision not in table[dataset]:
            raise ValueError(f"`precision` must be one of {sorted(table[dataset])}. Received: precision={precision!r}")
        return table[dataset][precision]

    def to_dict(self):
        """JSON-ready: paths relative to the repository."""
        def rel(p):
            try:
                return Path(p).resolve().relative_to(REPO_ROOT).as_posix()
            except ValueError:
                return str(p)

        return {
            "name": self.name, "model": self.model, "scale": self.scale, "description": self.description,
            "config": dict(self.config),
            "files": {"weights": rel(self.weights), "tflite": rel(self.tflite), "card": rel(self.card),
                      "card_json": rel(self.card_json)},
            "stages": list(self.stages),
            "metrics": _plain(self.metrics),
        }


def _plain(value):
    if isinstance(value, MappingProxyType):
        value = dict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _load(name, model, scale, description):
    stem = PRETRAINED_DIR / name
    card_json = stem.with_suffix(".json")
    weights = PRETRAINED_DIR / f"{name}.weights.h5"
    tflite = PRETRAINED_DIR / f"{name}_int8.tflite"
    try:
        card = json.loads(card_json.read_text())
    except (OSError, ValueError) as error:
        raise RuntimeError(f"Preset {name!r}: cannot read its card '{card_json}': {error}") from error
    scores = card["scores"]
    metrics = {
        "params": card["params"],
        "fixed_params": card.get("fixed_params"),
        "multi_adds": card["multi_adds_320x180"],
        "multi_adds_fixed": card.get("multi_adds_320x180_fixed"),
        "multi_adds_total": card.get("multi_adds_320x180_total"),
        "psnr": {ds: {kind: pair[0] for kind, pair in row.items()} for ds, row in scores.items()},
        "ssim": {ds: {kind: pair[1] for kind, pair in row.items()} for ds, row in scores.items()},
        "int8_latency_ms": card["int8_latency_ms_320x180_2_threads"]["median"],
        "machine": card.get("machine"),
        "date": card.get("date"),
    }
    return Preset(
        name=name, model=model, scale=scale, description=description,
        config=MappingProxyType(dict(card["config"])),
        weights=weights, tflite=tflite, card=stem.with_suffix(".md"), card_json=card_json,
        stages=tuple(card.get("stages", ())),
        metrics=MappingProxyType(metrics),
    )


#: name -> Preset, one per shipped model.
PRESETS = MappingProxyType({name: _load(name, *entry) for name, entry in sorted(_SHIPPED.items())})


def names():
    """Preset names, sorted."""
    return sorted(PRESETS)


def is_preset(name):
    """True when `name` is a preset name (not a registry model name)."""
    return isinstance(name, str) and name in PRESETS


def get(name):
    """The Preset called `name`. Raises ValueError naming the presets when there is none."""
    if not is_preset(name):
        raise ValueError(f"Unknown preset {name!r}. Available: {names()}")
    return PRESETS[name]


def default(scale=4):
    """The preset `upscale` and `demo` use without a model: the edge network at `scale`."""
    scales = sorted(p.scale for p in PRESETS.values() if p.model == _DEFAULT_MODEL)
    if isinstance(scale, bool) or scale not in scales:
        raise ValueError(f"`scale` must be one of {tuple(scales)} (the shipped {_DEFAULT_MODEL} presets). "
                         f"Received: scale={scale!r}")
    return PRESETS[preset_name(_DEFAULT_MODEL, scale)]
