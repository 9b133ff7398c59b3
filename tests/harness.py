"""The shared test harness: tiny configs and one check routine for layers and for models.

keras-hub's `TestCase.run_layer_test` / `run_model_saving_test`, in plain functions:

- `tiny(name)`: the smallest useful config of a registered model (8 filters), derived
  from its registry spec (minimums, width_multiple, equal_widths), so a new registry
  entry needs no new test code. `MODEL_SCALES` lists every (name, scale) pair;
  `tflite_scale(name)` the one scale each model is converted at.
- `run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape)`: real
  output vs `compute_output_shape`, `get_config`/`from_config` and Keras serialization
  round trips, a mixed_bfloat16 policy, and QAT annotation of a model holding the layer.
- `run_model_test(name, scale)`: tiny build, output shape, flat tfmot-friendly graph,
  JSON and `.weights.h5` round trips, TFLite float32 parity with Keras.
- `TinyModels`: tiny models, weights files and .tflite conversions made once per test
  session on first use (conftest's `tiny_models` fixture), shared by every test file.

Parametrise over `layer_classes()` and `MODEL_SCALES` (see tests/test_harness.py).
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from keras_sr import checkpoints, models
from keras_sr._keras import keras, tf

#: Filters of every tiny model (house style: 8-16).
TINY_WIDTH = 8
#: Depth keys (blocks, layers, recursions) get this, or the registry minimum when higher:
#: two recursions still share a block, two layers still make a dense block.
TINY_COUNT = 2
#: The config keys `resolve_config` treats as widths (`equal_widths`, `width_multiple`).
WIDTH_KEYS = ("num_features", "growth_rate")
#: The input `run_model_test` feeds: batch 2, 16 x 16 RGB.
MODEL_INPUT_SHAPE = (2, 16, 16, 3)
#: Largest |TFLite float32 - Keras| accepted.
TFLITE_FLOAT_ATOL = 1e-4


# ---------------------------------------------------------------------------- configs
def tiny(name, **overrides):
    """The smallest valid config of registered model `name`, derived from its registry spec.

    Widths (`num_features`, `growth_rate`) become `TINY_WIDTH` rounded up to the spec's
    `width_multiple` and minimums (or the default when smaller); every other integer key becomes
    min(default, max(minimum, TINY_COUNT)); string choices and None defaults (derived
    widths) keep the registered default, so `tiny("fd_irb_edge")` is still the edge variant.

    Args:
        name: one of `models.names()`.
        **overrides: keys to set after shrinking (e.g. recursions=3).

    Returns:
        A config dict (the shrunk integer keys plus `overrides`) that
        `models.resolve_config` accepts at every supported scale.
    """
    model_spec = models.spec(name)
    config = {}
    width = max([TINY_WIDTH] + [model_spec.minimums.get(key, 1) for key in WIDTH_KEYS])
    width = -(-width // model_spec.width_multiple) * model_spec.width_multiple
    for key, default in model_spec.defaults.items():
        if key in model_spec.choices or default is None or isinstance(default, bool) or not isinstance(default, int):
            continue
        if key in WIDTH_KEYS:
            config[key] = min(default, width)
        else:
            config[key] = min(default, max(model_spec.minimums.get(key, 1), TINY_COUNT))
    config.update(overrides)
    for scale in model_spec.scales:
        models.resolve_config(name, scale, **config)  # a spec tiny() cannot satisfy fails here, by name
    return config


def supported_scales(name):
    return tuple(models.supported_scales(name))


def max_scale(name):
    return max(models.supported_scales(name))


#: x2 and x3 go through TFLite too: rdn at x2, rdcab_recursive at x3, every other model
#: (a newly registered one included) at its largest scale.
_TFLITE_SCALES = {"rdn": 2, "rdcab_recursive": 3}


def tflite_scale(name):
    """The one scale at which each model is converted to TFLite in the default suite."""
    scale = _TFLITE_SCALES.get(name, max_scale(name))
    return scale if scale in models.supported_scales(name) else max_scale(name)


#: Every registered model x every supported scale, as pytest parameters.
MODEL_SCALES = [(name, scale) for name in models.names() for scale in supported_scales(name)]
#: {name: supported scales}, for files that need a lookup rather than pytest parameters.
TINY_SCALES = {name: supported_scales(name) for name in models.names()}


def set_attention_squeeze(model, bias, kernel=None):
    """Sets the bias (and kernel) of every attention squeeze conv (`*_conv_du_0`, 1x1 + ReLU)."""
    for layer in model.layers:
        if layer.name.endswith("_conv_du_0"):
            k, b = layer.get_weights()
            layer.set_weights([k if kernel is None else np.full_like(k, kernel), np.full_like(b, bias)])


def build_tiny(name, scale, seed=0, **overrides):
    """`models.build(name, scale, **tiny(name, **overrides))` with a fixed seed, int8-safe.

    With 8 features the attention squeeze conv has one channel; a random init can leave
    its ReLU always 0, an int8 range XNNPACK refuses (see test_convert's
    test_verify_reports_a_model_xnnpack_cannot_run), so its bias is set to 1.
    """
    keras.utils.set_random_seed(seed)
    model = models.build(name, scale, **tiny(name, **overrides))
    set_attention_squeeze(model, 1.0)
    return model


def textured_image(h, w, seed):
    """A uint8 (h, w, 3) image of random sine stripes plus noise: small training/eval data for runs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 8.0
    channels = [np.sin(x * rng.uniform(0.5, 2) + y * rng.uniform(0.5, 2) + rng.uniform(0, 6)) for _ in range(3)]
    return np.clip((np.stack(channels, -1) * 0.4 + 0.5) * 255 + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def synthetic_images(folder, count=2, size=(96, 72)):
    """Smooth gradients plus texture: HR PNGs (width, height = `size`) for calibration/eval."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    for i in range(count):
        img = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), np.sin(4 * (xx + yy))], -1) * 0.35 + 0.5
        img = img + 0.08 * rng.standard_normal((h, w, 3))
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


# ---------------------------------------------------------------------------- layers
def layer_classes():
    """Every Keras layer class defined in a `keras_sr/layers/*.py` file, sorted by name.

    Found by importing each module of the package, so a new layer file is seen even
    before it is exported from `keras_sr.layers`.
    """
    import keras_sr.layers as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            is_layer = isinstance(value, type) and issubclass(value, keras.layers.Layer)
            if is_layer and value.__module__ == module.__name__:
                found[value.__name__] = value
    return [found[key] for key in sorted(found)]


def _inputs(input_shape, seed):
    """(data, shapes, multi): random float32 data in [0, 1) for one shape or a list of shapes."""
    multi = isinstance(input_shape, list)
    shapes = [tuple(s) for s in input_shape] if multi else [tuple(input_shape)]
    rng = np.random.default_rng(seed)
    arrays = [rng.random(s, dtype=np.float32) for s in shapes]
    return (arrays if multi else arrays[0]), shapes, multi


def _as_list(shape):
    return tf.TensorShape(shape).as_list()


def _functional(layer, shapes, multi):
    """A functional model Input(s) -> layer, with H and W unknown (as in every keras-sr model)."""
    inputs = [keras.Input((None, None, s[-1])) for s in shapes]
    outputs = layer(inputs if multi else inputs[0])
    return keras.Model(inputs, outputs)


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    *,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_mixed_precision=True,
    run_quantization=True,
    mixed_precision_policy="mixed_bfloat16",
    seed=0,
):
    """Checks one registered layer the way every keras-sr layer must behave.

    1. It builds and runs eagerly on random data in [0, 1): finite output of
       `expected_output_shape`, the expected weight counts.
    2. `compute_output_shape` gives the real output shape, and on an input with
       unknown H, W gives the shape of the symbolic functional output.
    3. `get_config` holds every `init_kwargs` entry; `from_config(get_config())` gives
       the same config; `keras.layers.serialize` names it `keras_sr>ClassName`
       (registered) and `deserialize`, without custom_objects, revives it through JSON
       with equal output; a functional model holding it survives `to_json` /
       `model_from_json` and a `.keras` save/load with identical output.
    4. Under `mixed_precision_policy` the output has the policy's compute dtype, the
       variables stay float32 and the values match float32 within bfloat16 precision.
    5. `keras_sr.optimize.qat.quantize_model` accepts a functional model holding the
       layer (so `quantize_configs` annotates its class), wraps it, and after
       calibration on the test data gives finite output close to the float model.

    Args:
        layer_cls: the layer class.
        init_kwargs: its constructor arguments.
        input_shape: (N, H, W, C) of the input, or a list of shapes for several inputs.
        expected_output_shape: (N, H', W', C') of the output.
        expected_num_trainable_weights, expected_num_non_trainable_weights: checked when given.
        run_mixed_precision, run_quantization: switch checks 4 and 5 off.
        mixed_precision_policy: "mixed_bfloat16" or "mixed_float16".
        seed: seed of the random input.
    """
    data, shapes, multi = _inputs(input_shape, seed)
    expected_output_shape = tuple(expected_output_shape)
    what = layer_cls.__name__

    # 1. build and call
    layer = layer_cls(**init_kwargs)
    output = layer(data)
    assert tuple(output.shape) == expected_output_shape, f"{what}: output {tuple(output.shape)}"
    output = output.numpy()
    assert np.isfinite(output).all(), f"{what}: non-finite output"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, f"{what}: trainable weights"
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, f"{what}: non-trainable"

    # 2. shape inference
    given = [tf.TensorShape(s) for s in shapes]
    inferred = layer.compute_output_shape(given if multi else given[0])
    assert tuple(_as_list(inferred)) == expected_output_shape, f"{what}.compute_output_shape gave {inferred}"
    unknown_hw = [tf.TensorShape((None, None, None, s[-1])) for s in shapes]
    inferred = _as_list(layer.compute_output_shape(unknown_hw if multi else unknown_hw[0]))
    symbolic = _functional(layer, shapes, multi).output_shape
    assert inferred == list(symbolic), f"{what}: compute_output_shape {inferred} != symbolic {symbolic}"
    assert tf.TensorShape(inferred).is_compatible_with(expected_output_shape), f"{what}: {inferred}"

    # 3. serialization
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert key in config, f"{what}.get_config() lacks __init__ argument {key!r}"
        assert config[key] == value, f"{what}.get_config()[{key!r}] = {config[key]!r}, given {value!r}"
    assert layer_cls.from_config(config).get_config() == config, f"{what}: from_config/get_config differ"
    serialized = keras.layers.serialize(layer)
    registered = f"keras_sr>{layer_cls.__name__}"
    assert serialized.get("registered_name") == registered, f"{what}: not registered as {registered!r}"
    assert keras.saving.get_registered_object(registered) is layer_cls
    revived = keras.layers.deserialize(json.loads(json.dumps(serialized)))
    assert type(revived) is layer_cls and revived.get_config() == config
    revived(data)
    revived.set_weights(layer.get_weights())
    np.testing.assert_array_equal(revived(data).numpy(), output, err_msg=f"{what}: deserialized layer")

    model = _functional(layer_cls(**init_kwargs), shapes, multi)
    reference = model(data).numpy()
    from_json = keras.models.model_from_json(model.to_json())
    from_json.set_weights(model.get_weights())
    np.testing.assert_array_equal(from_json(data).numpy(), reference, err_msg=f"{what}: model_from_json")
    with tempfile.TemporaryDirectory(prefix="keras_sr_layer_") as tmp:
        model.save(Path(tmp) / "layer.keras")
        reloaded = keras.models.load_model(Path(tmp) / "layer.keras")
    assert any(type(l) is layer_cls for l in reloaded.layers), f"{what}: lost in .keras round trip"
    np.testing.assert_array_equal(reloaded(data).numpy(), reference, err_msg=f"{what}: .keras round trip")

    # 4. mixed precision
    if run_mixed_precision:
        policy = keras.mixed_precision.Policy(mixed_precision_policy)
        mixed = layer_cls(**init_kwargs, dtype=policy)
        mixed(data)
        mixed.set_weights(layer.get_weights())
        low = mixed(data)
        assert low.dtype == tf.as_dtype(policy.compute_dtype), f"{what}: {low.dtype} under {policy.name}"
        for weight in mixed.weights:
            assert weight.dtype == tf.float32, f"{what}: variable {weight.name} is {weight.dtype}"
        scale = max(1.0, float(np.abs(output).max()))
        np.testing.assert_allclose(
            tf.cast(low, tf.float32).numpy(), output, rtol=0, atol=0.05 * scale, err_msg=f"{what}: {policy.name}"
        )

    # 5. quantization-aware training
    if run_quantization:
        from keras_sr.optimize import qat

        float_model = _functional(layer_cls(**init_kwargs), shapes, multi)
        float_model.layers[-1].set_weights(layer.get_weights())
        quantized = qat.quantize_model(float_model, warmup_shape=None)
        wrapped = [l for l in quantized.layers if type(getattr(l, "layer", None)) is layer_cls]
        assert wrapped, f"{what}: quantize_model did not wrap the layer: {[type(l).__name__ for l in quantized.layers]}"
        if multi:
            quantized(data, training=True)
        else:
            qat.calibrate(quantized, [data])
        got = quantized(data, training=False).numpy()
        assert got.shape == expected_output_shape and np.isfinite(got).all(), f"{what}: QAT output"
        scale = max(1.0, float(np.abs(output).max()))
        np.testing.assert_allclose(got, output, rtol=0, atol=0.05 * scale, err_msg=f"{what}: QAT vs float")


# ---------------------------------------------------------------------------- models
def assert_flat_graph(model):
    """No nested model, Lambda or inline tf op (TFOpLambda): what tfmot and TFLite need."""
    for layer in model.layers:
        assert not isinstance(layer, keras.Model), f"nested model {layer.name}"
        assert not isinstance(layer, keras.layers.Lambda), f"Lambda layer {layer.name}"
        assert "TFOpLambda" not in type(layer).__name__, f"inline tf op {layer.name}"


def tflite_float32_outputs(content, batch):
    """Runs each image of `batch` (N, H, W, 3) through a float .tflite with the LiteRT interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(content))
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, (1, *batch.shape[1:]))
    interpreter.allocate_tensors()
    out = interpreter.get_output_details()[0]["index"]
    results = []
    for image in batch:
        interpreter.set_tensor(index, image[None].astype(np.float32))
        interpreter.invoke()
        results.append(interpreter.get_tensor(out)[0].copy())
    return np.stack(results)


def run_model_test(name, scale, *, tmp_dir=None, check_tflite=True, tiny_models=None):
    """Checks one registered model at one scale with its tiny config.

    1. `build_tiny` gives a flat functional graph with input (None, None, None, 3); a
       (2, 16, 16, 3) input gives finite output (2, 16 * scale, 16 * scale, 3).
    2. `to_json`/`model_from_json` + `set_weights` gives identical output.
    3. `checkpoints.save_model_weights` to a `.weights.h5` + `checkpoints.load_model`
       (a fresh build from the sidecar) gives identical output and the same meta.
    4. With `check_tflite`: the float32 .tflite (`convert.convert_model`, dynamic
       shape) run by ai-edge-litert matches Keras within `TFLITE_FLOAT_ATOL`.

    Args:
        name, scale: the model and one of its supported scales.
        tmp_dir: folder for the weights file; None uses a temporary folder.
        check_tflite: run check 4 (about 1-2 s per model).
        tiny_models: a `TinyModels` to take the model and its float32 conversion from
            (shared with the other test files); None builds and converts here.
    """
    from keras_sr import convert

    config = tiny(name)
    model = tiny_models.model(name, scale) if tiny_models is not None else build_tiny(name, scale)
    assert_flat_graph(model)
    assert model.input_shape == (None, None, None, 3)
    x = np.random.default_rng(0).random(MODEL_INPUT_SHAPE, dtype=np.float32)
    y = model(x, training=False).numpy()
    n, h, w, c = MODEL_INPUT_SHAPE
    assert y.shape == (n, h * scale, w * scale, c), f"{name} x{scale}: output {y.shape}"
    assert np.isfinite(y).all(), f"{name} x{scale}: non-finite output"

    from_json = keras.models.model_from_json(model.to_json())
    from_json.set_weights(model.get_weights())
    np.testing.assert_array_equal(from_json(x, training=False).numpy(), y, err_msg=f"{name} x{scale}: JSON")

    with tempfile.TemporaryDirectory(prefix="keras_sr_model_") as fallback:
        folder = Path(tmp_dir or fallback)
        meta = {"model": name, "scale": scale, "config": config}
        path = checkpoints.save_model_weights(model, folder / f"{name}_x{scale}.weights.h5", meta)
        loaded, loaded_meta = checkpoints.load_model(path)
    assert {k: loaded_meta[k] for k in meta} == meta
    assert loaded is not model
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), y, err_msg=f"{name} x{scale}: weights file")

    if check_tflite:
        if tiny_models is not None:
            content = tiny_models.tflite(name, scale, "float32").read_bytes()
        else:
            content = convert.convert_model(model)
        got = tflite_float32_outputs(content, x)
        np.testing.assert_allclose(got, y, rtol=0, atol=TFLITE_FLOAT_ATOL, err_msg=f"{name} x{scale}: TFLite")


class TinyModels:
    """Tiny models, their weights files and .tflite conversions, each made once on first use.

    One instance lives for the whole test session (conftest's `tiny_models` fixture), so
    a conversion one test file needs is not repeated by another. Nothing handed out
    may be modified: build your own model (`build_tiny`) to change weights.

    Args:
        root: folder for the files.
        images: folder of HR images (calibration and evaluation data).
    """

    #: Calibration patches per int8 conversion and the largest LR side `verify` scores.
    CALIBRATION_SAMPLES = 4
    MAX_EVAL_SIZE = 24

    def __init__(self, root, images):
        self.root = Path(root)
        self.images = Path(images)
        self._models, self._weights, self._tflite, self._reports = {}, {}, {}, {}

    def model(self, name, scale):
        """`build_tiny(name, scale)` (seed 0, attention squeeze bias 1)."""
        key = (name, scale)
        if key not in self._models:
            self._models[key] = build_tiny(name, scale)
        return self._models[key]

    def weights(self, name, scale):
        """The model's `.weights.h5` with its sidecar."""
        key = (name, scale)
        if key not in self._weights:
            meta = {"model": name, "scale": scale, "config": tiny(name)}
            path = self.root / f"{name}_x{scale}.weights.h5"
            self._weights[key] = checkpoints.save_model_weights(self.model(name, scale), path, meta)
        return self._weights[key]

    def tflite(self, name, scale, precision):
        """Path of the model converted by `convert.convert_model` at `precision` (dynamic H, W)."""
        from keras_sr import convert

        key = (name, scale, precision)
        if key not in self._tflite:
            data = convert.convert_model(
                self.model(name, scale),
                precision,
                calibration=self.images,
                calibration_samples=self.CALIBRATION_SAMPLES,
                scale=scale,
            )
            path = self.root / f"{name}_x{scale}_{precision}.tflite"
            path.write_bytes(data)
            self._tflite[key] = path
        return self._tflite[key]

    def report(self, name, scale, precision):
        """`convert.verify` of `tflite(name, scale, precision)` against the model, on `images`."""
        from keras_sr import convert

        key = (name, scale, precision)
        if key not in self._reports:
            path = self.tflite(name, scale, precision)
            self._reports[key] = convert.verify(
                path, self.model(name, scale), precision, self.images, scale, max_eval_size=self.MAX_EVAL_SIZE
            )
        return self._reports[key]
