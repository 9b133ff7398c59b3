"""Every registered layer and every registered model x scale through the shared harness.

A new layer needs one LAYER_CASES line; a new model needs nothing here.
"""
import pytest

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.layers import BicubicUpsample, ChannelSlice, ChannelStats, PixelShuffle, Scale
from tests import harness

# layer class -> (init kwargs, input shape, expected output shape, (trainable, non-trainable) weights)
LAYER_CASES = {
    BicubicUpsample: (dict(scale=3), (2, 8, 6, 3), (2, 24, 18, 3), (0, 1)),
    ChannelSlice: (dict(start=2, stop=5), (2, 8, 8, 8), (2, 8, 8, 3), (0, 0)),
    ChannelStats: (dict(mode="contrast", epsilon=1e-6), (2, 8, 8, 4), (2, 1, 1, 4), (0, 0)),
    PixelShuffle: (dict(block_size=2), (2, 8, 6, 12), (2, 16, 12, 3), (0, 0)),
    Scale: (dict(initial_value=0.5), (2, 8, 8, 4), (2, 8, 8, 4), (1, 0)),
}
# Second cases for layers whose options change the graph.
EXTRA_LAYER_CASES = [
    (ChannelStats, dict(mode="mean"), (2, 8, 8, 4), (2, 1, 1, 4), (0, 0)),
    (BicubicUpsample, dict(scale=2), (2, 5, 7, 3), (2, 10, 14, 3), (0, 1)),
]
ALL_LAYER_CASES = [(cls, *case) for cls, case in LAYER_CASES.items()] + EXTRA_LAYER_CASES


def test_every_layer_file_has_a_case():
    assert [cls.__name__ for cls in harness.layer_classes()] == sorted(cls.__name__ for cls in LAYER_CASES)


@pytest.mark.parametrize(
    "layer_cls, init_kwargs, input_shape, output_shape, weights",
    ALL_LAYER_CASES,
    ids=[f"{case[0].__name__}-{'-'.join(map(str, case[1].values()))}" for case in ALL_LAYER_CASES],
)
def test_layer(layer_cls, init_kwargs, input_shape, output_shape, weights):
    harness.run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape,
        output_shape,
        expected_num_trainable_weights=weights[0],
        expected_num_non_trainable_weights=weights[1],
    )


@pytest.mark.parametrize("name", models.names())
def test_tiny_config_is_valid_and_tiny(name):
    config = harness.tiny(name)
    model_spec = models.spec(name)
    for scale in harness.supported_scales(name):
        resolved = models.resolve_config(name, scale, **config)
    assert resolved["num_features"] <= 16 and resolved["growth_rate"] <= 16
    for key, value in config.items():
        assert value <= model_spec.defaults[key], key
    for key in model_spec.choices:  # the registered variant, shrunk: not a different network
        assert resolved[key] == model_spec.defaults[key]


def test_tiny_follows_the_spec():
    assert harness.tiny("rdn") == dict(num_features=8, growth_rate=8, num_blocks=2, num_layers=2)
    assert harness.tiny("fd_irb", recursions=3)["recursions"] == 3
    assert harness.MODEL_SCALES == [(n, s) for n in models.names() for s in models.supported_scales(n)]


@pytest.mark.parametrize("name, scale", harness.MODEL_SCALES)
def test_model(name, scale, tiny_models, tmp_path):
    # TFLite parity at one scale per model (the float32 conversion test_convert verifies too).
    harness.run_model_test(
        name, scale, tmp_dir=tmp_path, check_tflite=scale == harness.tflite_scale(name), tiny_models=tiny_models
    )


# ---------------------------------------------------------------------------- the harness catches mistakes
class _WrongShape(keras.layers.Layer):
    def call(self, inputs):
        return inputs[:, ::2]

    def compute_output_shape(self, input_shape):
        return input_shape


class _ForgetsItsArgument(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        config = super().get_config()
        config.pop("factor", None)
        return config


@pytest.mark.parametrize(
    "layer_cls, pattern",
    [(_WrongShape, "compute_output_shape"), (_ForgetsItsArgument, "lacks __init__ argument 'factor'")],
)
def test_run_layer_test_catches_a_broken_layer(layer_cls, pattern):
    init_kwargs = {"factor": 3.0} if layer_cls is _ForgetsItsArgument else {}
    expected = (2, 4, 8, 3) if layer_cls is _WrongShape else (2, 8, 8, 3)
    with pytest.raises(AssertionError, match=pattern):
        harness.run_layer_test(layer_cls, init_kwargs, (2, 8, 8, 3), expected, run_quantization=False)


def test_unregistered_layer_is_caught():
    class Unregistered(keras.layers.Layer):
        def call(self, inputs):
            return inputs

    with pytest.raises(AssertionError, match="not registered"):
        harness.run_layer_test(Unregistered, {}, (2, 4, 4, 3), (2, 4, 4, 3), run_quantization=False)


def test_run_model_test_compares_tflite_with_keras(monkeypatch, tiny_models):
    # A float .tflite whose output is off by 1e-3 must fail the parity check.
    real = harness.tflite_float32_outputs
    monkeypatch.setattr(harness, "tflite_float32_outputs", lambda content, batch: real(content, batch) + 1e-3)
    with pytest.raises(AssertionError, match="TFLite"):
        harness.run_model_test("rdn", 2, tiny_models=tiny_models)
