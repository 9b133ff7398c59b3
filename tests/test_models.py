"""What the registry and the builders promise beyond the harness (tests/test_harness.py runs
build, output shape, flat graph, JSON / weights round trips and TFLite parity for every model)."""
import pytest

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.layers import BicubicUpsample
from tests.harness import tiny

RECURSIVE = [name for name in models.names() if "recursions" in models.spec(name).defaults]
# Whether each published network has the bicubic skip (BicubicUpsample).
BICUBIC_SKIP = {"rdn": False, "rdcab_recursive": False, "split": True, "fd_irb": True, "fd_irb_edge": True, "fd_irb_micro": True}


@pytest.mark.parametrize("name", RECURSIVE)
def test_recursive_block_is_shared(name):
    model = models.build(name, 4, **tiny(name, recursions=3))
    block_convs = [l for l in model.layers if l.name.startswith("block_") and isinstance(l, keras.layers.Conv2D)]
    assert block_convs
    for layer in block_convs:
        assert len(layer.inbound_nodes) == 3, layer.name
    # One more recursion adds only the wider gff_0 input, never a second block.
    bigger = models.build(name, 4, **tiny(name, recursions=4))
    nf = tiny(name)["num_features"]
    assert bigger.count_params() - model.count_params() == nf * nf


@pytest.mark.parametrize("name, published", sorted(BICUBIC_SKIP.items()))
def test_bicubic_skip_present_only_where_published(name, published):
    model = models.build(name, 4, **tiny(name))
    assert any(isinstance(layer, BicubicUpsample) for layer in model.layers) == published


def test_names():
    assert models.names() == ["fd_irb", "fd_irb_edge", "fd_irb_micro", "fd_irb_realtime", "rdcab_recursive", "rdn", "split"]


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
    model = models.build("fd_irb", 4, **tiny("fd_irb", **config))
    names = {layer.name for layer in model.layers}
    assert not names & set(absent)
    assert set(present) <= names


def test_fd_irb_string_options_are_validated():
    with pytest.raises(ValueError, match=r"`attention` must be one of \('contrast', 'mean', 'none'\).*Received: attention='max'"):
        models.build("fd_irb", 4, attention="max")
