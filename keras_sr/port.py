"""PyTorch state_dict -> Keras weights for the keras-sr networks.

    keras-sr port --torch-weights SRC --model NAME [--scale S] [--set KEY=VALUE ...] -o OUT.weights.h5

SRC is a `.npz` in the reference format (keys `state_dict/<name>`) or a `.pth`
file saved by the original PyTorch code (needs torch installed). Conversions:
conv kernels OIHW -> HWIO; the output channels of a conv that feeds a pixel
shuffle are permuted from PyTorch's order to depth_to_space's.
"""
import zipfile
from pathlib import Path

import numpy as np

from keras_sr import models
from keras_sr._keras import keras
from keras_sr.checkpoints import save_model_weights
from keras_sr.layers import BicubicUpsample, PixelShuffle, Scale

# Prefix rewrites from PyTorch module paths to Keras layer names; then "." -> "_".
_BLOCK_PREFIXES = ("recursive_SR.0.rdcabs.", "recursive_SR.0.rdbs.")


def keras_layer_name(torch_prefix):
    """'recursive_SR.0.rdbs.layer3_sub' -> 'block_layer3_sub'."""
    for block_prefix in _BLOCK_PREFIXES:
        if torch_prefix.startswith(block_prefix):
            torch_prefix = "block." + torch_prefix[len(block_prefix) :]
    return torch_prefix.replace(".", "_")


def load_state_dict(path):
    """Reads a PyTorch state_dict as {name: float32 ndarray} from .npz or .pth."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"State dict file not found: {path}")
    if path.suffix == ".npz":
        try:  # allow_pickle=False: a pickle named .npz (or an object array inside one) is refused, never run
            with np.load(path, allow_pickle=False) as archive:
                state = {k[len("state_dict/") :]: archive[k] for k in archive.files if k.startswith("state_dict/")}
        except AttributeError:
            raise ValueError(f"State dict file '{path}' is a single .npy array, not an .npz archive of "
                             "'state_dict/<name>' arrays.") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"State dict file '{path}' is not a readable .npz archive (pickled data is refused): "
                             f"{type(e).__name__}: {e}") from None
        if not state:
            raise ValueError(f"{path} holds no 'state_dict/<name>' arrays (keys: {sorted(archive.files)[:10]})")
        return {k: np.asarray(v, np.float32) for k, v in state.items()}
    if path.suffix in (".pth", ".pt"):
        try:
            import torch
        except ImportError as error:
            raise ImportError(
                f"Reading {path} needs PyTorch, which is not installed. Install it "
                "(`pip install torch`) or convert the file to .npz where torch is available: "
                "np.savez(out, **{'state_dict/' + k: v.numpy() for k, v in sd.items()})"
            ) from error
        try:  # weights_only=True: a pickle that would run code is refused, never executed
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, EOFError, ...
            # torch's own message runs over many lines of advice; its first line says what failed.
            reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ValueError(f"State dict file '{path}' is not a readable PyTorch weights file (only tensors and "
                             f"plain containers are loaded): {type(e).__name__}: {reason}") from None
        if not isinstance(state, dict):
            raise ValueError(f"State dict file '{path}' must hold a dict of tensors. Received: {type(state).__name__}")
        for wrapper_key in ("state_dict", "model", "params"):
            if isinstance(state, dict) and wrapper_key in state and isinstance(state[wrapper_key], dict):
                state = state[wrapper_key]
        # DataParallel checkpoints prefix every key with "module.".
        return {k.removeprefix("module."): v.detach().cpu().float().numpy() for k, v in state.items()}
    raise ValueError(f"State dict file must end in .npz, .pth or .pt. Received: {path}")


def _shuffle_block_size(model, layer):
    """The r of the PixelShuffle this conv feeds (through Scale layers), or None."""
    consumers = [node.outbound_layer for node in layer._outbound_nodes]
    while len(consumers) == 1 and isinstance(consumers[0], Scale):
        consumers = [node.outbound_layer for node in consumers[0]._outbound_nodes]
    if len(consumers) == 1 and isinstance(consumers[0], PixelShuffle):
        return consumers[0].block_size
    return None


def _to_depth_to_space_order(array, block_size):
    """Output-channel permutation: Keras channel (i*r + j)*C + c <- PyTorch c*r*r + i*r + j."""
    r2 = block_size * block_size
    channels = array.shape[0] // r2
    perm = np.array([c * r2 + s for s in range(r2) for c in range(channels)])
    return array[perm]


def convert_state_dict(state, model):
    """Keras weights for `model` from a PyTorch state_dict, as {layer_name: [arrays]}.

    Every missing, unexpected or mis-shaped key is reported at once in a ValueError.
    """
    by_layer = {}
    for key in state:
        prefix, _, param = key.rpartition(".")
        by_layer.setdefault(keras_layer_name(prefix), {})[param] = key

    converted, missing, shape_errors = {}, [], []
    used = set()
    for layer in model.layers:
        if not layer.weights or isinstance(layer, BicubicUpsample):  # fixed kernels come from the builder
            continue
        params = by_layer.get(layer.name, {})
        if isinstance(layer, Scale):
            wanted = {"scale": layer.scale.shape}
        elif isinstance(layer, keras.layers.Conv2D):
            wanted = {"weight": layer.kernel.shape}
            if layer.use_bias:
                wanted["bias"] = layer.bias.shape
        else:
            raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) has no PyTorch mapping")
        arrays = []
        for param, keras_shape in wanted.items():
            key = params.get(param)
            if key is None:
                missing.append(f"{layer.name} <- {param}")
                continue
            used.add(key)
            value = state[key]
            if param == "weight":
                block_size = _shuffle_block_size(model, layer)
                if block_size:
                    value = _to_depth_to_space_order(value, block_size)
                value = value.transpose(2, 3, 1, 0) if value.ndim == 4 else value
            elif param == "bias":
                block_size = _shuffle_block_size(model, layer)
                if block_size:
                    value = _to_depth_to_space_order(value, block_size)
            if tuple(value.shape) != tuple(keras_shape):
                shape_errors.append(f"{key}: got {tuple(state[key].shape)}, model needs {tuple(keras_shape)} (Keras layout)")
            arrays.append(value)
        converted[layer.name] = arrays
    unexpected = sorted(set(state) - used)
    problems = []
    if missing:
        problems.append(f"missing keys for layers: {missing}")
    if unexpected:
        problems.append(f"unexpected keys: {unexpected}")
    if shape_errors:
        problems.append(f"mis-shaped keys: {shape_errors}")
    if problems:
        raise ValueError(f"State dict does not match model {model.name!r}: " + "; ".join(problems))
    return converted


def apply_state_dict(state, model):
    """Sets `model`'s weights from a PyTorch state_dict (validated first)."""
    for name, arrays in convert_state_dict(state, model).items():
        model.get_layer(name).set_weights(arrays)
    return model


def port(torch_weights, model, scale=4, config=None, output=None, force=False):
    """Builds `model` (a registered name), loads PyTorch weights from `torch_weights` (.pth or
    reference .npz), optionally saves them to `output` (.weights.h5 + sidecar).

    Returns the Keras model.
    """
    keras_model = models.build(model, scale, **(config or {}))
    apply_state_dict(load_state_dict(torch_weights), keras_model)
    if output is not None:
        meta = {"model": model, "scale": scale, "config": models.resolve_config(model, scale, **(config or {})),
                "ported_from": str(torch_weights)}
        save_model_weights(keras_model, output, meta, overwrite=force)
    return keras_model


def main(argv=None) -> int:
    """`python -m keras_sr.port`: the same as `keras-sr port`."""
    from keras_sr.cli.port import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
