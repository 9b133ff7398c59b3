"""benchmarks/torch_twin.py: the PyTorch twin computes what the Keras model computes, on its weights.

The twin is what benchmarks/train_throughput.py times Keras against, so a ratio is only fair if
the two run the same network: same forward, and the same training step (L1, Adam).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch twin needs torch (pip install keras-sr[bench])")

from benchmarks import torch_twin  # noqa: E402
from keras_sr import models, port  # noqa: E402
from keras_sr.training import compile_for_training  # noqa: E402
from tests.harness import tiny  # noqa: E402
from tests.reference import load_reference  # noqa: E402

NAMES = ("fd_irb", "fd_irb_edge")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One thread: with two, every tiny op of this test waits at an OpenMP barrier, and on a busy
    2-core machine the other thread is often descheduled (seconds per step instead of ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny_pair(name, scale, seed=0):
    """A tiny Keras model (3 dense layers, so the identity chain is exercised) and its twin."""
    config = models.resolve_config(name, scale, **tiny(name, num_layers=3))
    from keras_sr._keras import keras

    keras.utils.set_random_seed(seed)
    net = models.build(name, scale, **config)
    # Random biases too (Keras initialises them to zero), so a bias mix-up would show.
    for layer in net.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.random.default_rng(seed).normal(0, 0.1, layer.bias.shape).astype(np.float32))
    return net, torch_twin.twin_from_keras(net, scale, config)


def test_twin_reproduces_the_pytorch_reference_vectors():
    path, data, config = load_reference("fd_irb")
    state = port.load_state_dict(path)
    twin = torch_twin.build_twin(4, models.resolve_config("fd_irb", 4), state).eval()
    with torch.no_grad():
        out = twin(torch_twin.nchw(data["input"])).numpy().transpose(0, 2, 3, 1)
    assert np.abs(out - data["output"]).max() <= 1e-5
    # The reverse port gives back exactly the reference state_dict from the ported Keras model.
    back = torch_twin.twin_state_dict(port.port(path, "fd_irb", 4), state.keys())
    assert sorted(back) == sorted(state) and all(np.array_equal(back[k], state[k]) for k in state)


@pytest.mark.parametrize("scale", (2, 3, 4))
@pytest.mark.parametrize("name", NAMES)
def test_twin_forward_equals_keras_forward(name, scale):
    net, twin = _tiny_pair(name, scale)
    x = np.random.default_rng(1).uniform(size=(2, 13, 17, 3)).astype(np.float32)
    with torch.no_grad():
        out = twin.eval()(torch_twin.nchw(x)).numpy().transpose(0, 2, 3, 1)
    expected = net(x).numpy()
    assert out.shape == expected.shape == (2, 13 * scale, 17 * scale, 3)
    assert np.abs(out - expected).max() <= 1e-5


@pytest.mark.parametrize("name", NAMES)
def test_training_steps_agree(name):
    """Two L1 + Adam steps on the same batch move both sides' weights the same way."""
    net, twin = _tiny_pair(name, 4, seed=2)
    rng = np.random.default_rng(3)
    lr = rng.uniform(size=(2, 12, 12, 3)).astype(np.float32)
    hr = rng.uniform(size=(2, 48, 48, 3)).astype(np.float32)
    learning_rate = 1e-3
    before = {k: v.detach().numpy().copy() for k, v in twin.state_dict().items()}
    model, _ = compile_for_training(net, learning_rate, "l1")
    model.run_eagerly = True  # the same train_step, without tracing it (seconds on 2 busy cores)
    optimizer = torch_twin.adam(twin, learning_rate)
    for _ in range(2):
        keras_loss = float(model.train_on_batch(lr, hr))
        torch_loss = float(torch_twin.train_step(twin, optimizer, torch_twin.nchw(lr), torch_twin.nchw(hr)))
        assert abs(keras_loss - torch_loss) <= 1e-5
    after_keras = torch_twin.twin_state_dict(net, before.keys())
    moved = max(np.abs(after_keras[k] - before[k]).max() for k in before)
    assert moved > learning_rate  # two steps of about learning_rate each: the weights did move
    diff = max(np.abs(after_keras[k] - twin.state_dict()[k].numpy()).max() for k in before)
    assert diff <= 1e-3 * learning_rate  # measured: about 1e-7 after two steps that moved weights by 2e-3
