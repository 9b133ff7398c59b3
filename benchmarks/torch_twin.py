"""A PyTorch twin of keras-sr's `fd_irb` family, for timing Keras against PyTorch in one run.

Benchmark-only code: torch is not a keras-sr dependency (`pip install keras-sr[bench]`).

`FdIrbTwin(scale, **config)` takes any config that `keras_sr.models.resolve_config("fd_irb" or
"fd_irb_edge", scale, ...)` accepts. Its modules carry the original PyTorch state_dict names
(`sfe1`, `recursive_SR.0.rdbs.layer3_sub`, `upscale.0`, `convIRB_1.0`, ...), so it loads the
reference `.npz` files as they are, and `twin_from_keras` gives it the weights of a Keras model
by running `keras_sr.port`'s mapping backwards (layer names through `port.keras_layer_name`,
HWIO -> OIHW, the depth_to_space channel permutation undone); the result is checked by mapping
it forwards again with `port.convert_state_dict`, which must give the Keras weights back exactly.

`train_step(model, optimizer, lr, hr, bf16)` is one training step as `keras-sr train` takes it
(L1 loss, Adam with Keras' epsilon convention; bfloat16 = `torch.autocast("cpu")`, the loss in
float32). `Worker` runs twins in a separate process, so that PyTorch's threads never share a
process (or its CPU-time counter) with TensorFlow's.
"""
import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

KERAS_ADAM = dict(beta1=0.9, beta2=0.999, epsilon=1e-7)  # tf_keras Adam defaults (keras-sr uses them)


def _conv(cin, cout, k, bias=True):
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


class ChannelStats(nn.Module):
    """mean, or mean + population std over H, W (N, C, 1, 1); `epsilon` under the root when training."""

    def __init__(self, mode, epsilon=1e-8):
        super().__init__()
        self.mode, self.epsilon = mode, epsilon

    def forward(self, y):
        mean = y.mean((2, 3), keepdim=True)
        if self.mode == "mean":
            return mean
        variance = (y - mean).square().mean((2, 3), keepdim=True)
        if self.training:
            variance = variance + self.epsilon
        return variance.sqrt() + mean


class FdBlock(nn.Module):
    """The shared feature-distillation block (`recursive_SR.0.rdbs` in the original)."""

    def __init__(self, num_features, num_layers, distill, attention):
        super().__init__()
        self.num_layers = num_layers
        for k in range(1, num_layers):
            setattr(self, f"layer{k}", _conv(num_features * k, num_features, 3))
            setattr(self, f"layer{k}_sub", _conv(num_features, distill, 1))
        setattr(self, f"layer{num_layers}", _conv(num_features * num_layers, distill, 3))
        self.lff = _conv(distill * num_layers, num_features, 1)
        self.attention = attention
        if attention != "none":
            hidden = max(num_features // 16, 1)
            self.stats = ChannelStats(attention)
            self.conv_du = nn.Sequential(_conv(num_features, hidden, 1), nn.ReLU(), _conv(hidden, num_features, 1),
                                         nn.Sigmoid())

    def forward(self, h):
        chain, distilled, previous = [h], [], h
        for k in range(1, self.num_layers):
            inp = h if k == 1 else torch.cat(chain, 1)
            out = F.relu(getattr(self, f"layer{k}")(inp) + previous)  # identity before the ReLU, as published
            distilled.append(getattr(self, f"layer{k}_sub")(h if k == 1 else out))  # layer1_sub reads h
            chain.append(out)
            previous = out
        distilled.append(getattr(self, f"layer{self.num_layers}")(torch.cat(chain, 1)))
        y = self.lff(torch.cat(distilled, 1))
        if self.attention != "none":
            y = y * self.conv_du(self.stats(y))
        return y + h


class _Recursive(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.rdbs = block


class FdIrbTwin(nn.Module):
    """fd_irb / fd_irb_edge / fd_irb_micro in PyTorch (NCHW, RGB in [0, 1]); arguments as `build_fd_irb`."""

    def __init__(self, scale, num_features=64, growth_rate=64, num_layers=8, recursions=3, irb_features=None,
                 distill_features=None, attention="contrast", tail="irb"):
        super().__init__()
        del growth_rate  # equals num_features (the registry checks it)
        nf, s = num_features, scale
        distill = nf // 2 if distill_features is None else distill_features
        irb = nf // 2 if irb_features is None else irb_features
        self.scale, self.recursions, self.tail = s, recursions, tail
        self.sfe1, self.sfe2 = _conv(3, nf, 3), _conv(nf, nf, 3)
        self.recursive_SR = nn.ModuleList([_Recursive(FdBlock(nf, num_layers, distill, attention))])
        self.gff = nn.Sequential(_conv(nf * recursions, nf, 1), _conv(nf, nf, 3))
        if tail == "direct":
            self.upscale = nn.Sequential(_conv(nf, 3 * s * s, 3), nn.PixelShuffle(s))
        else:
            if s == 4:
                self.upscale = nn.Sequential(_conv(nf, 4 * nf, 3), nn.PixelShuffle(2), _conv(nf, 4 * nf, 3),
                                             nn.PixelShuffle(2))
            else:
                self.upscale = nn.Sequential(_conv(nf, nf * s * s, 3), nn.PixelShuffle(s))
            self.middle_pointwise = _conv(nf, irb, 1)
            for k in range(1, 5):
                setattr(self, f"convIRB_{k}", nn.Sequential(_conv(irb, irb, 3, bias=False), nn.ReLU()))
            self.convIRB = nn.Sequential(_conv(irb, 3, 3, bias=False))

    def forward(self, x):
        f_minus1 = self.sfe1(x)
        h = self.sfe2(f_minus1)
        block, outputs = self.recursive_SR[0].rdbs, []
        for _ in range(self.recursions):
            h = block(h)
            outputs.append(h)
        y = self.gff(torch.cat(outputs, 1) if len(outputs) > 1 else outputs[0]) + f_minus1
        y = self.upscale(y)
        if self.tail != "direct":
            y = self.middle_pointwise(y)
            for k in range(1, 5):
                y = getattr(self, f"convIRB_{k}")(y)
            y = self.convIRB(y)
        return y + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)


def twin_state_dict(keras_model, keys):
    """PyTorch state_dict (name -> float32 ndarray, OIHW) for `keys` from a Keras fd_irb model.

    `keras_sr.port`'s mapping run backwards; checked by running it forwards again.
    """
    from keras_sr import port

    state = {}
    for key in keys:
        prefix, _, param = key.rpartition(".")
        layer = keras_model.get_layer(port.keras_layer_name(prefix))
        value = {"weight": layer.kernel, "bias": getattr(layer, "bias", None)}[param].numpy()
        if param == "weight":
            value = value.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        block_size = port._shuffle_block_size(keras_model, layer)
        if block_size:  # undo the PyTorch -> depth_to_space output-channel permutation
            perm = port._to_depth_to_space_order(np.arange(value.shape[0]), block_size)
            value = value[np.argsort(perm)]
        state[key] = np.ascontiguousarray(value, np.float32)
    # Forwards again: every Keras weight must come back bit for bit, and no key may be left over.
    for name, arrays in port.convert_state_dict(state, keras_model).items():
        for mine, theirs in zip(arrays, keras_model.get_layer(name).get_weights()):
            if not np.array_equal(mine, theirs):
                raise AssertionError(f"Reverse port of layer {name!r} does not round-trip")
    return state


def build_twin(scale, config, state=None):
    """FdIrbTwin for a resolved config, loaded (strictly) from a numpy state_dict when given."""
    model = FdIrbTwin(scale, **config)
    if state is not None:
        model.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()}, strict=True)
    return model


def twin_from_keras(keras_model, scale, config):
    """A twin holding `keras_model`'s weights. `config`: its resolved config (`models.resolve_config`)."""
    keys = FdIrbTwin(scale, **config).state_dict().keys()
    return build_twin(scale, config, twin_state_dict(keras_model, keys))


def adam(model, learning_rate):
    """torch Adam set up like tf_keras' (beta1, beta2; epsilon is set per step by `train_step`)."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(KERAS_ADAM["beta1"], KERAS_ADAM["beta2"]))


def train_step(model, optimizer, lr, hr, bf16=False):
    """One L1 + Adam step; returns the loss. lr, hr: NCHW float32 tensors.

    tf_keras adds epsilon to sqrt(v) before the bias correction sqrt(1 - beta2^t) is applied,
    torch after it: torch's eps = Keras' epsilon / sqrt(1 - beta2^t) makes the two updates equal.
    """
    model.train()
    for group in optimizer.param_groups:
        state = optimizer.state.get(group["params"][0], {})
        t = int(state.get("step", 0)) + 1
        group["eps"] = KERAS_ADAM["epsilon"] / math.sqrt(1 - KERAS_ADAM["beta2"] ** t)
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(lr)
    loss = F.l1_loss(out.float(), hr)
    loss.backward()
    optimizer.step()
    return loss.detach()


def nchw(array, channels_last=False):
    tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(array, np.float32).transpose(0, 3, 1, 2)))
    return tensor.contiguous(memory_format=torch.channels_last) if channels_last else tensor


def _serve(conn, threads):
    """Worker loop (child process): holds twins by key; answers setup / forward / step / quit."""
    torch.set_num_threads(threads)
    runs = {}
    while True:
        command, key, payload = conn.recv()
        try:
            if command == "quit":
                conn.send(("ok", None))
                return
            if command == "setup":
                torch.manual_seed(0)
                model = build_twin(payload["scale"], payload["config"], payload["state"])
                cl = payload["channels_last"]
                if cl:
                    model = model.to(memory_format=torch.channels_last)
                runs[key] = dict(model=model, optimizer=adam(model, payload["learning_rate"]), bf16=payload["bf16"],
                                 lr=nchw(payload["lr"], cl), hr=nchw(payload["hr"], cl))
                conn.send(("ok", None))
            elif command == "forward":
                run = runs[key]
                run["model"].eval()
                with torch.no_grad():
                    out = run["model"](nchw(payload, False)).float().numpy().transpose(0, 2, 3, 1)
                conn.send(("ok", out))
            elif command == "step":
                run = runs[key]
                wall, cpu = time.perf_counter(), time.process_time()
                loss = train_step(run["model"], run["optimizer"], run["lr"], run["hr"], run["bf16"])
                conn.send(("ok", (time.perf_counter() - wall, time.process_time() - cpu, float(loss))))
            elif command == "drop":
                runs.pop(key, None)
                conn.send(("ok", None))
            else:
                raise ValueError(f"unknown command {command!r}")
        except Exception as error:  # noqa: BLE001 - reported to the parent, which raises it
            conn.send(("error", f"{type(error).__name__}: {error}"))


class Worker:
    """PyTorch in a child process (spawned: no TensorFlow in it), driven step by step."""

    def __init__(self, threads=2):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, threads), daemon=True)
        self._process.start()
        child.close()

    def call(self, command, key=None, payload=None):
        self._conn.send((command, key, payload))
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"PyTorch worker failed on {command!r} {key!r}: {value}")
        return value

    def close(self):
        try:
            self.call("quit")
        finally:
            self._process.join(10)
