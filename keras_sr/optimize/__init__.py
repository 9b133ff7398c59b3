"""Pruning, quantization-aware training and their CLI (`python -m keras_sr.optimize`).

    from keras_sr.optimize import prune_model, strip, sparsity_report, quantize_model

Submodules: `qat` (quantize_model, calibrate, ...), `prune` (prune_model, strip,
sparsity_report, ...), `quantize_configs` (tfmot QuantizeConfigs by layer class),
`run` (the `optimize` pipeline and CLI). Attributes load lazily, so importing this
package does not import TensorFlow.
"""
import importlib

_EXPORTS = {
    "quantize_model": "qat",
    "calibrate": "qat",
    "quantize_scope": "qat",
    "is_quantized": "qat",
    "restore_sparsity_masks": "qat",
    "prune_model": "prune",
    "strip": "prune",
    "sparsity_report": "prune",
    "pruning_callbacks": "prune",
    "m_by_n_violations": "prune",
    "optimize": "run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"keras_sr.optimize.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'keras_sr.optimize' has no attribute {name!r}")
