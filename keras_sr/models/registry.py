"""Name -> builder registry. Defaults are the paper configurations."""
import inspect
from dataclasses import dataclass, field
from typing import Callable

from keras_sr.models.fd_irb import build_fd_irb
from keras_sr.models.rdcab_recursive import build_rdcab_recursive
from keras_sr.models.rdn import build_rdn
from keras_sr.models.split import build_split


@dataclass(frozen=True)
class ModelSpec:
    builder: Callable
    defaults: dict
    scales: tuple = (2, 3, 4)
    # Minimum value of each integer config key, and which keys must be equal/divisible.
    minimums: dict = field(default_factory=dict)
    equal_widths: bool = True  # growth_rate must equal num_features
    width_multiple: int = 1  # num_features must be a multiple of this
    choices: dict = field(default_factory=dict)  # string-valued keys and their allowed values
    description: str = ""


def _builder_defaults(builder):
    """The builder's keyword defaults (its signature holds the paper configuration)."""
    return {name: p.default for name, p in inspect.signature(builder).parameters.items() if name != "scale"}


# Upper bounds of the integer config keys, for every model: a config from a sidecar or `--set`
# beyond them (num_features=65536, num_blocks=3000) would take minutes or all memory to build,
# so it is refused at once. Several times the paper configurations (64 channels, 16 blocks).
MAXIMUMS = dict(num_features=512, growth_rate=512, irb_features=512, distill_features=512, num_blocks=64,
                num_layers=32, recursions=32)

_FD_IRB_DEFAULTS = _builder_defaults(build_fd_irb)
_FD_IRB_MINIMUMS = dict(num_features=2, growth_rate=2, num_layers=2, recursions=1, irb_features=1, distill_features=1)
_FD_IRB_CHOICES = dict(attention=("contrast", "mean", "none"), tail=("irb", "direct"))


def _fd_irb(description, **config):
    """A registered fd_irb configuration: the builder's defaults with `config` over them."""
    return ModelSpec(build_fd_irb, {**_FD_IRB_DEFAULTS, **config}, minimums=_FD_IRB_MINIMUMS, width_multiple=2,
                     choices=_FD_IRB_CHOICES, description=description)


_REGISTRY = {
    "rdn": ModelSpec(
        build_rdn,
        _builder_defaults(build_rdn),
        minimums=dict(num_features=1, growth_rate=1, num_blocks=1, num_layers=1),
        description="Residual Dense Network, the 22M-parameter baseline",
    ),
    "rdcab_recursive": ModelSpec(
        build_rdcab_recursive,
        _builder_defaults(build_rdcab_recursive),
        minimums=dict(num_features=1, growth_rate=1, num_layers=1, recursions=1),
        equal_widths=False,
        description="one shared residual dense channel-attention block applied U times",
    ),
    "split": ModelSpec(
        build_split,
        _builder_defaults(build_split),
        # The original upsampler hard-codes 48 = 3 * 4 * 4 channels: x4 only.
        scales=(4,),
        minimums=dict(num_features=4, growth_rate=4, num_layers=2, recursions=1),
        width_multiple=4,
        description="RDCAB-RecursiveSRNet with IMDN-style channel split",
    ),
    "fd_irb": _fd_irb("feature distillation + information refinement block at HR"),
    # The edge network: the fd_irb configuration that won the equal-budget sweep
    # (benchmarks/edge_sweep.py) under 1M parameters and 100G Multi-Adds at x4, 320x180.
    "fd_irb_edge": _fd_irb("fd_irb reduced for edge boards: 5 dense layers, U=2, mean attention, no HR tail",
                           num_layers=5, recursions=2, attention="mean", tail="direct"),
    # The micro-class network: the smallest fd_irb measured to fit a TFLM arena of 256 KB at a 24x24 LR
    # tile and 150 KB of flash at x4, int8 (benchmarks/results/micro_candidates.md).
    "fd_irb_micro": _fd_irb("fd_irb for microcontrollers: 24 features, 4 dense layers, U=2, mean attention, no HR tail",
                            num_features=24, growth_rate=24, num_layers=4, recursions=2, attention="mean",
                            tail="direct"),
    # The real-time tier for phone video: the micro network's shape at 40 features with one pass of the
    # shared block. Two passes measured 0.38x the edge network's int8 latency, over the tier's 1/3; one pass
    # 0.21-0.23x (docs/networks.md, benchmarks/results/realtime_candidates.md). This default is the x2
    # preset's shape; the x4 preset is F48 C3 U2 (num_features=48, num_layers=3, recursions=2), as its card says.
    "fd_irb_realtime": _fd_irb("fd_irb for real-time video: 40 features, 4 dense layers, U=1, mean attention, "
                               "no HR tail", num_features=40, growth_rate=40, num_layers=4, recursions=1,
                               attention="mean", tail="direct"),
}


def names():
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def spec(name):
    if name not in _REGISTRY:
        raise ValueError(f"Unknown model {name!r}. Available: {names()}")
    return _REGISTRY[name]


def supported_scales(name):
    return spec(name).scales


def resolve_config(name, scale=4, **config):
    """Validated full config (defaults filled in). Raises ValueError naming the bad argument."""
    model_spec = spec(name)
    if scale not in model_spec.scales:
        raise ValueError(
            f"`scale` must be one of {model_spec.scales} for model {name!r}. Received: scale={scale!r}"
        )
    unknown = sorted(set(config) - set(model_spec.defaults))
    if unknown:
        raise ValueError(
            f"Unknown config key(s) {unknown} for model {name!r}. Allowed: {sorted(model_spec.defaults)}"
        )
    resolved = {**model_spec.defaults, **config}
    for key, value in resolved.items():
        if value is None and model_spec.defaults[key] is None:
            continue
        if key in model_spec.choices:
            if value not in model_spec.choices[key]:
                raise ValueError(
                    f"`{key}` must be one of {model_spec.choices[key]} for model {name!r}. Received: {key}={value!r}"
                )
            continue
        minimum, maximum = model_spec.minimums.get(key, 1), MAXIMUMS.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(
                f"`{key}` must be an integer >= {minimum} for model {name!r}. Received: {key}={value!r}"
            )
        if maximum is not None and value > maximum:
            raise ValueError(
                f"`{key}` must be an integer in [{minimum}, {maximum}] for model {name!r} (larger networks "
                f"would take minutes or all memory to build). Received: {key}={value!r}"
            )
    if model_spec.equal_widths and resolved["growth_rate"] != resolved["num_features"]:
        raise ValueError(
            f"`growth_rate` must equal `num_features` for model {name!r} (the block's residual "
            f"adds need equal widths). Received: growth_rate={resolved['growth_rate']}, "
            f"num_features={resolved['num_features']}"
        )
    if resolved["num_features"] % model_spec.width_multiple:
        raise ValueError(
            f"`num_features` must be a multiple of {model_spec.width_multiple} for model {name!r}. "
            f"Received: num_features={resolved['num_features']}"
        )
    return resolved


def build(name, scale=None, weights=None, **config):
    """Builds a flat functional tf_keras model, input (None, None, 3) RGB in [0, 1].

    Args:
        name: one of `names()`, or a shipped preset (`keras_sr.presets.names()`, such
            as "fd_irb_edge_x4"), which builds the preset's config with its weights.
        scale: upscaling factor, one of `supported_scales(name)` (default 4); for a
            preset, None or the preset's own scale.
        weights: None (random init; for a preset, its shipped weights), "pretrained"
            (the weights shipped in `keras_sr/pretrained`, default config only) or a
            `.weights.h5` path.
        **config: architecture keys (num_features, growth_rate, num_blocks,
            num_layers, recursions, ...); unspecified keys take the paper defaults.
            Not allowed with a preset, whose config is fixed by its weights.
    """
    if name not in _REGISTRY:
        from keras_sr import presets

        if presets.is_preset(name):
            return _build_preset(presets.get(name), scale, weights, config)
        raise ValueError(f"Unknown model {name!r}. Available: {names()} (or a preset: {presets.names()})")
    scale = 4 if scale is None else scale
    resolved = resolve_config(name, scale, **config)
    model = spec(name).builder(scale, **resolved)
    model._name = name  # builders shared by several registry entries name the model after the entry
    if weights == "pretrained":
        from keras_sr import pretrained

        if config:
            raise ValueError(
                f"`weights='pretrained'` needs the default config of {name!r}. Received config overrides: {config}"
            )
        weights = pretrained.weights_path(name, scale)
    if weights is not None:
        from keras_sr.checkpoints import load_weights_into

        load_weights_into(model, weights, describe=f"model {name!r} at x{scale} with config {resolved}")
    return model


def _build_preset(preset, scale, weights, config):
    if scale is not None and scale != preset.scale:
        raise ValueError(f"Preset {preset.name!r} is x{preset.scale}; `scale` must be {preset.scale} or None. "
                         f"Received: scale={scale!r}")
    if config:
        raise ValueError(f"Preset {preset.name!r} has a fixed config ({dict(preset.config)}); build "
                         f"{preset.model!r} to change it. Received config overrides: {config}")
    if weights in (None, "pretrained"):
        weights = preset.weights
    return build(preset.model, preset.scale, weights=weights, **preset.config)
