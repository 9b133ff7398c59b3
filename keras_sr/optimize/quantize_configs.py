"""tfmot `QuantizeConfig`s for the keras-sr custom layers and `keras.layers.Multiply`.

tfmot's default 8-bit registry knows the built-in Conv2D, Add, Concatenate and
ReLU; every other layer in a model must carry a QuantizeConfig or `quantize_apply`
refuses the model. `config_for_layer(layer)` picks one by layer class:

| layer            | config                  | what is fake-quantized                       |
|------------------|-------------------------|----------------------------------------------|
| PixelShuffle     | NoOpQuantizeConfig      | nothing: DEPTH_TO_SPACE keeps its input scale |
| ChannelSlice     | OutputQuantizeConfig    | the slice (see below)                        |
| BicubicUpsample  | FixedKernelQuantizeConfig | its fixed 5x5 kernel (8 bit) + its output  |
| ChannelStats     | OutputQuantizeConfig    | the attention statistic (N, 1, 1, C)         |
| Multiply         | OutputQuantizeConfig    | the attended features                        |
| Scale            | ScaleQuantizeConfig     | the scalar (8 bit) + the output              |

ChannelSlice gets an output quantizer, not a no-op: in the split network one slice
feeds two Concatenates whose outputs have different ranges; with no fake-quant node
of its own, the converter must give STRIDED_SLICE the conv's scale at its input and a
concat's scale at its output, and fails with "'tfl.strided_slice' op quantization
parameters violate the same scale constraint" (seen with num_layers >= 3). With its own
range the converter inserts the requantization itself.

Layers whose class is not in the table get `None`: tfmot's registry handles them
or refuses them with its own error.
"""
from keras_sr._keras import keras  # first: sets TF_USE_LEGACY_KERAS before tfmot loads
from keras_sr.layers import BicubicUpsample, ChannelSlice, ChannelStats, PixelShuffle, Scale

import tensorflow_model_optimization as tfmot  # noqa: E402

_QuantizeConfig = tfmot.quantization.keras.QuantizeConfig
_quantizers = tfmot.quantization.keras.quantizers

__all__ = [
    "NoOpQuantizeConfig",
    "OutputQuantizeConfig",
    "FixedKernelQuantizeConfig",
    "ScaleQuantizeConfig",
    "config_for_layer",
    "custom_objects",
]


def _activation_quantizer():
    # What tfmot uses for layer outputs: asymmetric, per-tensor, EMA of the batch range.
    return _quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)


class NoOpQuantizeConfig(_QuantizeConfig):
    """Quantizes nothing: for ops that only move values (depth_to_space).

    TFLite runs them in int8 with the input's scale and zero point, so a fake-quant
    node at their output would only add a second, needless rounding.
    """

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


class OutputQuantizeConfig(NoOpQuantizeConfig):
    """Fake-quantizes only the layer's output (8 bit, asymmetric, per tensor).

    For layers without weights whose output needs its own range: the attention
    statistic (ChannelStats), the attention product (Multiply) and ChannelSlice.
    """

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]


class FixedKernelQuantizeConfig(_QuantizeConfig):
    """Quantizes a layer's fixed `kernel` weight (8 bit, symmetric, narrow range) and its output.

    Used for BicubicUpsample, whose non-trainable 5x5 kernel becomes an int8 CONV_2D
    weight in TFLite. The quantizer is `LastValueQuantizer`, the one tfmot uses for
    Conv2D kernels, so the range is the kernel's own min/max.

    Args:
        per_channel: one scale per output channel (as tfmot does for Conv2D), else one
            scale for the whole kernel.
    """

    def __init__(self, per_channel=True):
        self.per_channel = bool(per_channel)

    def _kernel_quantizer(self):
        return _quantizers.LastValueQuantizer(
            num_bits=8, per_axis=self.per_channel, symmetric=True, narrow_range=True
        )

    def get_weights_and_quantizers(self, layer):
        return [(layer.kernel, self._kernel_quantizer())]

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        (layer.kernel,) = quantize_weights

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]

    def get_config(self):
        return {"per_channel": self.per_channel}


class ScaleQuantizeConfig(_QuantizeConfig):
    """Quantizes the Scale layer's learnable scalar and its output."""

    def get_weights_and_quantizers(self, layer):
        return [
            (layer.scale, _quantizers.LastValueQuantizer(num_bits=8, per_axis=False, symmetric=True, narrow_range=True))
        ]

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        (layer.scale,) = quantize_weights

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [_activation_quantizer()]

    def get_config(self):
        return {}


def config_for_layer(layer, per_channel=True):
    """The QuantizeConfig for `layer`'s class, or None to leave it to tfmot's registry."""
    if isinstance(layer, PixelShuffle):
        return NoOpQuantizeConfig()
    if isinstance(layer, BicubicUpsample):
        return FixedKernelQuantizeConfig(per_channel=per_channel)
    if isinstance(layer, (ChannelStats, ChannelSlice, keras.layers.Multiply)):
        return OutputQuantizeConfig()
    if isinstance(layer, Scale):
        return ScaleQuantizeConfig()
    return None


def custom_objects():
    """Everything `quantize_scope` must know to deserialize a keras-sr QAT model."""
    return {
        "BicubicUpsample": BicubicUpsample,
        "ChannelSlice": ChannelSlice,
        "ChannelStats": ChannelStats,
        "PixelShuffle": PixelShuffle,
        "Scale": Scale,
        "NoOpQuantizeConfig": NoOpQuantizeConfig,
        "OutputQuantizeConfig": OutputQuantizeConfig,
        "FixedKernelQuantizeConfig": FixedKernelQuantizeConfig,
        "ScaleQuantizeConfig": ScaleQuantizeConfig,
    }
