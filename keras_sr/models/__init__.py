"""The keras-sr networks: `build(name, scale=4, **config)` (or `build(preset)`) and `names()`."""
from keras_sr.models.registry import build, names, resolve_config, spec, supported_scales

__all__ = ["build", "names", "resolve_config", "spec", "supported_scales"]
