import numpy as np
import pytest

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.layers import BicubicUpsample

# Small configurations of every registered model, so the suite stays fast.
SMALL = {
    "rdn": dict(num_features=8, growth_rate=8, num_blocks=2, num_layers=2),
    "rdcab_recursive": dict(num_features=8, growth_rate=8, num_layers=2, recursions=2),
    "split": dict(num_features=8, growth_rate=8, num_layers=3, recursions=2),
    "fd_irb": dict(num_features=8, growth_rate=8, num_layers=3, recursions=2),
    "fd_irb_edge": dict(num_features=8, growth_rate=8, num_layers=3, recursions=2),
}

CASES = [(name, scale) for name in models.names() for scale in models.supported_scales(name)]


def test_every_registered_model_has_a_small_config():
    assert sorted(SMALL) == models.names()


@pytest.mark.parametrize("name, scale", CASES)
def test_builds_and_runs_forward(name, scale):
    model = models.build(name, scale, **SMALL[name])
    x = np.random.default_rng(0).random((2, 7, 9, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 7 * scale, 9 * scale, 3)
    assert np.isfinite(y).all()
    assert model.input_shape == (None, None, None, 3)


@pytest.mark.parametrize("name", models.names())
def test_graph_is_flat_and_tfmot_friendly(name):
    model = models.build(name, max(models.supported_scales(name)), **SMALL[name])
    for layer in model.layers:
        assert not isinstance(layer, keras.Model), f"nested model {layer.name}"
        assert not isinstance(layer, keras.layers.Lambda), f"Lambda layer {layer.name}"
        assert "TFOpLambda" not in type(layer).__name__, f"inline tf op {layer.name}"


@pytest.mark.parametrize("name", ["rdcab_recursive", "split", "fd_irb", "fd_irb_edge"])
def test_recursive_block_is_shared(name):
    model = models.build(name, 4, **{**SMALL[name], "recursions": 3})
    block_convs = [l for l in model.layers if l.name.startswith("block_") and isinstance(l, keras.layers.Conv2D)]
    assert block_convs
    for layer in block_convs:
        assert len(layer.inbound_nodes) == 3, layer.name
    # One more recursion adds only the wider gff_0 input, never a second block.
    bigger = models.build(name, 4, **{**SMALL[name], "recursions": 4})
    nf = SMALL[name]["num_features"]
    assert bigger.count_params() - model.count_params() == nf * nf


@pytest.mark.parametrize("name", ["split", "fd_irb", "fd_irb_edge"])
def test_bicubic_skip_present_only_where_published(name):
    model = models.build(name, 4, **SMALL[name])
    assert any(isinstance(layer, BicubicUpsample) for layer in model.layers)


def test_model_serializes_to_json_and_back():
    model = models.build("fd_irb", 2, **SMALL["fd_irb"])
    restored = keras.models.model_from_json(model.to_json())
    restored.set_weights(model.get_weights())
    x = np.random.default_rng(1).random((1, 6, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(restored(x).numpy(), model(x).numpy(), atol=1e-6)


def test_names():
    assert models.names() == ["fd_irb", "fd_irb_edge", "rdcab_recursive", "rdn", "split"]


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(name="edsr"), r"Unknown model 'edsr'. Available: \['fd_irb'"),
        (dict(name="fd_irb", scale=5), r"`scale` must be one of \(2, 3, 4\) .*Received: scale=5"),
        (dict(name="split", scale=2), r"`scale` must be one of \(4,\) for model 'split'. Received: scale=2"),
        (dict(name="rdn", num_blocks=0), r"`num_blocks` must be an integer >= 1 .*Received: num_blocks=0"),
        (dict(name="fd_irb", recursions=2.5), r"`recursions` must be an integer .*Received: recursions=2.5"),
        (dict(name="fd_irb", num_blocks=3), r"Unknown config key\(s\) \['num_blocks'\] for model 'fd_irb'. Allowed"),
        (dict(name="rdn", growth_rate=32), r"`growth_rate` must equal `num_features`"),
        (dict(name="split", num_features=30, growth_rate=30), r"multiple of 4 .*Received: num_features=30"),
    ],
)
def test_bad_arguments_raise_clear_value_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        models.build(**kwargs)


@pytest.mark.parametrize(
    "config, absent, present",
    [
        (dict(attention="none"), ("block_conv_du_0", "block_stats_0"), ()),
        (dict(attention="mean"), (), ("block_conv_du_0",)),
        (dict(tail="direct"), ("middle_pointwise", "convIRB_0", "upscale_2"), ("upscale_0",)),
    ],
)
def test_fd_irb_reductions_change_the_graph(config, absent, present):
    model = models.build("fd_irb", 4, **SMALL["fd_irb"], **config)
    names = {layer.name for layer in model.layers}
    assert not names & set(absent)
    assert set(present) <= names


def test_fd_irb_string_options_are_validated():
    with pytest.raises(ValueError, match=r"`attention` must be one of \('contrast', 'mean', 'none'\).*Received: attention='max'"):
        models.build("fd_irb", 4, attention="max")
