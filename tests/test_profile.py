import json

import pytest

from keras_sr import models, profile
from tests.harness import tiny

# Reference README section 9: the paper's figures, x4, 320x180 LR input.
PAPER = {
    "rdn": (22_271_107, 1_309_213_900_800),
    "rdcab_recursive": (2_111_783, 749_117_403_648),
    "split": (1_218_677, 566_507_524_608),
    "fd_irb": (1_634_948, 293_330_535_936),
}
# Per-stage G Multi-Adds from the same table.
STAGES_G = {
    "fd_irb": dict(shallow=2.223, body=209.152, fusion=2.831, upsampler=42.467, tail=36.658),
    "split": dict(shallow=2.223, body=558.445, fusion=4.247, upsampler=1.593, tail=0.0),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_profiler_reproduces_the_paper_table(name):
    result = profile.profile_model(models.build(name, 4), (320, 180))
    assert (result["params"], result["multi_adds"]) == PAPER[name]
    assert sum(stage["multi_adds"] for stage in result["stages"].values()) == result["multi_adds"]
    assert sum(stage["params"] for stage in result["stages"].values()) == result["params"]
    for stage, giga in STAGES_G.get(name, {}).items():
        assert result["stages"][stage]["multi_adds"] / 1e9 == pytest.approx(giga, abs=5e-4)


def test_shared_layer_counted_once_for_params_and_per_call_for_multi_adds():
    one = profile.profile_model(models.build("fd_irb", 2, **tiny("fd_irb", recursions=1)), (16, 16))
    two = profile.profile_model(models.build("fd_irb", 2, **tiny("fd_irb", recursions=2)), (16, 16))
    # A second call adds only gff_0's wider input in params (num_features^2) ...
    nf = tiny("fd_irb")["num_features"]
    assert two["params"] - one["params"] == nf * nf
    # ... but the whole block's work again in Multi-Adds: every block kernel weight
    # once per LR pixel (16*16), the attention 1x1 convs once (they see one pixel).
    model = models.build("fd_irb", 2, **tiny("fd_irb", recursions=1))
    block = [l for l in model.layers if l.name.startswith("block_") and l.weights]
    per_pixel = sum(int(l.kernel.shape.num_elements()) for l in block if "conv_du" not in l.name)
    pooled = sum(int(l.kernel.shape.num_elements()) for l in block if "conv_du" in l.name)
    extra_body = two["stages"]["body"]["multi_adds"] - one["stages"]["body"]["multi_adds"]
    assert extra_body == per_pixel * 16 * 16 + pooled


def test_multi_adds_scale_with_input_pixels():
    model = models.build("rdn", 2, **tiny("rdn"))
    small = profile.profile_model(model, (10, 10))["multi_adds"]
    big = profile.profile_model(model, (20, 10))["multi_adds"]
    assert big == 2 * small


def test_cli_json(capsys):
    assert profile.main(["--model", "fd_irb", "--scale", "4", "--input", "320x180", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["params"] == PAPER["fd_irb"][0]
    assert payload["multi_adds"] == PAPER["fd_irb"][1]
    assert set(payload["stages"]) == set(profile.STAGES)


def test_cli_table_and_set(capsys):
    assert profile.main(["--model", "split", "--set", "recursions=2", "--input", "32x16"]) == 0
    out = capsys.readouterr().out
    assert "| split |" in out and "by stage" in out


@pytest.mark.parametrize("argv", [["--input", "320by180"], ["--model", "nope"], ["--model", "split", "--scale", "2"]])
def test_cli_bad_input(argv, capsys):
    assert profile.main(argv) == 2  # a user error: exit status 2 and one error line
    assert "error" in capsys.readouterr().err


def test_edge_network_is_under_both_limits():
    # The paper's open goal: < 1M parameters and < 100G Multi-Adds at x4 for a 1280x720 output.
    result = profile.profile_model(models.build("fd_irb_edge", 4), (320, 180))
    assert result["params"] < 1_000_000
    assert result["multi_adds"] < 100_000_000_000
    assert result["stages"]["tail"]["multi_adds"] == 0  # nothing runs at HR resolution
