import numpy as np
import pytest

from keras_sr import models, port
from tests.reference import REFERENCE_MODELS, load_reference


@pytest.mark.parametrize("stem", sorted(REFERENCE_MODELS))
def test_reference_weights_reproduce_pytorch_output(stem):
    path, data, config = load_reference(stem)
    name, model_config = REFERENCE_MODELS[stem]
    model = port.port(path, name, scale=config["scale"], config=model_config)
    assert model.count_params() - sum(
        int(np.prod(w.shape)) for w in model.non_trainable_weights
    ) == config["num_params"]
    out = model(data["input"]).numpy()
    assert out.shape == data["output"].shape
    assert np.abs(out - data["output"]).max() <= 1e-5


def test_cli_writes_weights_that_load_weights_accepts(tmp_path):
    path, data, _ = load_reference("fd_irb")
    out = tmp_path / "fd_irb_x4.weights.h5"
    assert port.main(["--torch-weights", str(path), "--model", "fd_irb", "-o", str(out)]) == 0
    model = models.build("fd_irb", 4)
    model.load_weights(str(out))
    assert np.abs(model(data["input"]).numpy() - data["output"]).max() <= 1e-5
    # refuses to overwrite without --force: exit code 2 (bad input)
    assert port.main(["--torch-weights", str(path), "--model", "fd_irb", "-o", str(out)]) == 2
    assert port.main(["--torch-weights", str(path), "--model", "fd_irb", "-o", str(out), "--force"]) == 0


def test_cli_set_options_reach_the_model(tmp_path):
    path, _, _ = load_reference("rdn_small")
    out = tmp_path / "rdn_small.weights.h5"
    args = [str(path), "--model", "rdn", "-o", str(out)]  # the deprecated positional SRC still works
    for key, value in REFERENCE_MODELS["rdn_small"][1].items():
        args += ["--set", f"{key}={value}"]
    assert port.main(args) == 0 and out.is_file()


def _state(stem):
    return port.load_state_dict(load_reference(stem)[0])


def test_missing_unexpected_and_misshaped_keys_are_all_listed():
    state = _state("split")
    del state["sfe1.bias"]
    state["extra.weight"] = np.zeros((1,), np.float32)
    state["gff.1.weight"] = state["gff.1.weight"][:, :10]
    with pytest.raises(ValueError) as info:
        port.apply_state_dict(state, models.build("split", 4))
    message = str(info.value)
    assert "missing keys" in message and "sfe1 <- bias" in message
    assert "unexpected keys: ['extra.weight']" in message
    assert "mis-shaped keys" in message and "gff.1.weight" in message


def test_wrong_model_for_the_file_is_refused():
    with pytest.raises(ValueError, match="does not match model 'rdcab_recursive'"):
        port.apply_state_dict(_state("fd_irb"), models.build("rdcab_recursive", 4))


def test_pth_without_torch_or_unknown_suffix(tmp_path):
    pth = tmp_path / "model.pth"
    pth.write_bytes(b"not really")
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs PyTorch"):
            port.load_state_dict(pth)
    bad = tmp_path / "model.ckpt"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"must end in .npz, .pth or .pt"):
        port.load_state_dict(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        port.load_state_dict(tmp_path / "absent.npz")


def test_pth_files_from_the_original_code_are_read(tmp_path):
    torch = pytest.importorskip("torch")
    state = _state("split")
    pth = tmp_path / "split.pth"
    # DataParallel-style prefix, as saved by the original training scripts.
    torch.save({f"module.{k}": torch.from_numpy(v) for k, v in state.items()}, pth)
    loaded = port.load_state_dict(pth)
    assert sorted(loaded) == sorted(state)
