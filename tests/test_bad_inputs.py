"""Bad input to every CLI and to the public API (issue 13, part 6).

Each CLI case asserts: exit code 2, no traceback, a message naming the thing at
fault, and nothing written or overwritten under the test's folder. Each API case
asserts a ValueError (or FileNotFoundError) naming the argument or file. The bad
files are made here, in tmp_path; the TFLite cases use the shipped int8 x2 file,
the Keras cases a copy of the shipped x2 weights, and no case builds a model.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_sr.cli import main

PRETRAINED = Path(__file__).resolve().parents[1] / "keras_sr" / "pretrained"
TFLITE = PRETRAINED / "fd_irb_edge_x2_int8.tflite"
WEIGHTS = PRETRAINED / "fd_irb_edge_x2.weights.h5"
MARKER = "pickle_ran"  # a hostile pickle creates this folder when it is unpickled


# ---------------------------------------------------------------------------- bad files


def png(path, size=(12, 10), mode="RGB"):
    """A small valid image (W, H) = size."""
    path = Path(path)
    if mode == "I;16":
        Image.fromarray(np.full(size[::-1], 40000, np.uint16)).save(path)
    else:
        Image.new(mode, size, 128 if mode == "L" else (200, 100, 50)).save(path)
    return path


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path, width=100_000, height=100_000):
    """A PNG header declaring width x height RGB pixels and (almost) no data: a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                           + _chunk(b"IEND", b""))
    return Path(path)


def animated(path, fmt):
    frames = [Image.new("RGB", (12, 10), (i * 80, 0, 0)) for i in range(3)]
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return Path(path)


def truncated(src, dst, fraction=0.5):
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


class Hostile:
    """Unpickling this creates the folder MARKER in the current directory: it must never happen."""

    def __reduce__(self):
        return (os.mkdir, (MARKER,))


def weights_copy(folder, name="w", sidecar=None, data=None):
    """A copy of the shipped x2 weights (or `data`) as folder/NAME.weights.h5, with a sidecar.

    `sidecar`: None copies the shipped one; a dict is written as JSON; a str is written as is;
    False writes none.
    """
    folder = Path(folder)
    path = folder / f"{name}.weights.h5"
    if data is None:
        shutil.copyfile(WEIGHTS, path)
    else:
        path.write_bytes(data)
    side = folder / f"{name}.weights.json"
    if sidecar is None:
        shutil.copyfile(WEIGHTS.with_name("fd_irb_edge_x2.weights.json"), side)
    elif isinstance(sidecar, dict):
        side.write_text(json.dumps(sidecar))
    elif isinstance(sidecar, str):
        side.write_text(sidecar)
    return path


def shipped_meta(**changes):
    meta = json.loads(WEIGHTS.with_name("fd_irb_edge_x2.weights.json").read_text())
    meta.pop("sha256")
    for key, value in changes.items():
        if key.startswith("config."):
            meta["config"][key[7:]] = value
        elif value is None:
            meta.pop(key)
        else:
            meta[key] = value
    return meta


def tflite_copy(folder, name="m", flip=0, sidecar=True):
    """A copy of the shipped int8 x2 model; `flip` bytes inverted in its middle; its record copied beside it."""
    data = bytearray(TFLITE.read_bytes())
    if flip:
        mid = len(data) // 2
        data[mid:mid + flip] = bytes(b ^ 0xFF for b in data[mid:mid + flip])
    path = Path(folder) / f"{name}.tflite"
    path.write_bytes(bytes(data))
    if sidecar is True:
        shutil.copyfile(TFLITE.with_name(TFLITE.name + ".json"), path.with_name(path.name + ".json"))
    elif isinstance(sidecar, str):
        path.with_name(path.name + ".json").write_text(sidecar)
    return path


def data_h5(path, lr_shape=(2, 8, 8, 3), hr_shape=(2, 16, 16, 3), keys=("lr", "hr")):
    import h5py

    with h5py.File(path, "w") as f:  # keras-sr prepare's layout: groups 'lr', 'hr' of one dataset per image
        for key, shape in (("lr", lr_shape), ("hr", hr_shape)):
            if key in keys:
                group = f.create_group(key)
                for i in range(shape[0]):
                    group[str(i)] = np.zeros(shape[1:], np.uint8)
    return Path(path)


@pytest.fixture(scope="module")
def tf_models(tmp_path_factory):
    """A classifier and a Flex-op model as .tflite files (made once: the only cases that need TensorFlow)."""
    from keras_sr._keras import keras, tf

    folder = tmp_path_factory.mktemp("tf_models")
    inp = keras.Input((8, 8, 3))
    classifier = keras.Model(inp, keras.layers.Dense(4)(keras.layers.Flatten()(inp)))
    (folder / "classifier.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(classifier).convert())

    @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 3], tf.float32)])
    def flex(x):  # MatrixInverse has no builtin kernel: it converts only as a Flex op
        y = tf.linalg.inv(tf.transpose(x, [0, 3, 1, 2]) + tf.eye(4))
        return tf.transpose(y, [0, 2, 3, 1])

    converter = tf.lite.TFLiteConverter.from_concrete_functions([flex.get_concrete_function()], flex)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    (folder / "flex.tflite").write_bytes(converter.convert())
    return folder


# ---------------------------------------------------------------------------- cases
# Each case: t (the test folder, also the current directory) -> (argv, words the message must hold).
# "{t}" is not needed: builders return real paths.


def _up(t, *extra, inp=None, out=None):
    inp = png(t / "in.png") if inp is None else inp
    return ["upscale", str(inp), "-o", str(t / "out.png" if out is None else out), *extra]


def _ev(t, *extra):
    folder = t / "hr"
    folder.mkdir(exist_ok=True)
    png(folder / "a.png", (16, 16))
    return ["evaluate", "--eval", str(folder), *extra]


CASES = {
    # ----- upscale: flags out of range
    "upscale-threads-huge": lambda t: (_up(t, "--num-threads", "100000"), ["--num-threads", "100000"]),
    "upscale-threads-alias-huge": lambda t: (_up(t, "--threads", "100000"), ["--threads", "100000"]),
    "upscale-threads-zero": lambda t: (_up(t, "--num-threads", "0"), ["--num-threads", "'0'"]),
    "upscale-tile-zero": lambda t: (_up(t, "--tile", "0"), ["--tile", "'0'"]),
    "upscale-overlap-negative": lambda t: (_up(t, "--tile", "32", "--overlap", "-1"), ["--overlap", "'-1'"]),
    "upscale-tile-not-above-overlap": lambda t: (_up(t, "--tile", "8", "--overlap", "4"), ["tile", "overlap"]),
    "upscale-scale-zero": lambda t: (_up(t, "--scale", "0"), ["--scale", "'0'"]),
    "upscale-scale-mismatch": lambda t: (_up(t, "--tflite", str(TFLITE), "--scale", "3"), ["x2", "scale=3"]),
    "upscale-unknown-preset": lambda t: (_up(t, "--model", "nosuch_x9"), ["nosuch_x9"]),
    "upscale-model-and-tflite": lambda t: (_up(t, "--model", "fd_irb_edge_x2", "--tflite", str(TFLITE)),
                                           ["--model", "--tflite"]),
    "upscale-set-with-tflite": lambda t: (_up(t, "--tflite", str(TFLITE), "--set", "num_features=8"), ["config"]),
    "upscale-set-not-key-value": lambda t: (_up(t, "--weights", str(weights_copy(t)), "--set", "num_features"),
                                            ["--set", "num_features"]),
    # ----- upscale: image files
    "image-missing": lambda t: (_up(t, inp=t / "nosuch.png"), ["nosuch.png"]),
    "image-empty-file": lambda t: (_up(t, inp=_write(t / "empty.png", b"")), ["empty.png"]),
    "image-text-named-png": lambda t: (_up(t, inp=_write(t / "notes.png", b"hello")), ["notes.png"]),
    "image-truncated-png": lambda t: (_up(t, inp=truncated(png(t / "big.png", (64, 64), "RGB"), t / "cut.png", 0.6)),
                                      ["cut.png"]),
    "image-jpeg-named-png-truncated": lambda t: (
        _up(t, inp=truncated(_jpeg(t / "photo.jpg"), t / "photo.png", 0.3)), ["photo.png"]),
    "image-decompression-bomb": lambda t: (_up(t, inp=bomb_png(t / "bomb.png")),
                                           ["bomb.png", "10,000,000,000 pixels", "decompression bomb"]),
    "image-animated-gif": lambda t: (_up(t, inp=animated(t / "anim.gif", "GIF")), ["anim.gif", "animated", "3"]),
    "image-animated-png": lambda t: (_up(t, inp=animated(t / "anim.png", "PNG")), ["anim.png", "animated"]),
    "image-animated-webp": lambda t: (_up(t, inp=animated(t / "anim.webp", "WEBP")), ["anim.webp", "animated"]),
    "image-folder-without-images": lambda t: ((t / "none").mkdir() or _up(t, inp=t / "none"), ["none", "no images"]),
    "image-bomb-in-folder": lambda t: (_up(t, inp=_folder_with(t, bomb_png), out=t / "outdir"),
                                       ["x.png", "decompression bomb"]),
    # ----- upscale: output path traps
    "output-is-input": lambda t: (_up(t, "--force", out=t / "in.png"), ["in.png", "is the input"]),
    "output-exists": lambda t: (png(t / "out.png", (5, 5)) and _up(t), ["out.png", "already exist"]),
    "output-folder-missing": lambda t: (_up(t, out=t / "no" / "such" / "out.png"), ["no/such", "does not exist"]),
    "output-unknown-extension": lambda t: (_up(t, out=t / "out.xyz"), ["out.xyz", "extension"]),
    "output-two-inputs-same-name": lambda t: (
        _two_same_names(t) + ["-o", str(t / "outdir")], ["a.png", "both"]),
    "output-several-inputs-to-a-file": lambda t: (
        ["upscale", str(png(t / "in.png")), str(png(t / "b.png")), "-o", str(png(t / "o.png", (3, 3)))],
        ["o.png", "folder"]),
    "output-unicode-spaces-exists": lambda t: (
        _up(t, inp=png(t / "bild ü 1.png"), out=png(t / "résultat final.png", (4, 4))), ["résultat final.png"]),
    "upscale-output-does-not-fit-memory": lambda t: (
        _up(t, "--tflite", str(TFLITE), "--tile", "64", "--overlap", "8", inp=png(t / "wide.png", (300, 260))),
        ["wide.png", "300x260", "GiB", "available"]),
    # ----- .tflite files
    "tflite-missing": lambda t: (_up(t, "--tflite", str(t / "nosuch.tflite")), ["nosuch.tflite"]),
    "tflite-empty": lambda t: (_up(t, "--tflite", str(_write(t / "e.tflite", b""))), ["e.tflite"]),
    "tflite-random-bytes": lambda t: (
        _up(t, "--tflite", str(_write(t / "r.tflite", np.random.default_rng(0).bytes(4096)))), ["r.tflite"]),
    "tflite-truncated": lambda t: (_up(t, "--tflite", str(truncated(TFLITE, t / "half.tflite"))), ["half.tflite"]),
    "tflite-png-renamed": lambda t: (_up(t, "--tflite", str(_write(t / "pic.tflite", png(t / "p.png").read_bytes()))),
                                      ["pic.tflite"]),
    "tflite-flipped-bytes": lambda t: (_up(t, "--tflite", str(tflite_copy(t, flip=2000))),
                                       ["m.tflite", "sha256", _sha(TFLITE)]),
    "tflite-sidecar-malformed": lambda t: (_up(t, "--tflite", str(tflite_copy(t, sidecar="{not json"))),
                                           ["m.tflite.json", "not valid JSON"]),
    "tflite-sidecar-not-object": lambda t: (_up(t, "--tflite", str(tflite_copy(t, sidecar="[1, 2]"))),
                                            ["m.tflite.json", "JSON object"]),
    "tflite-classifier": lambda t, m: (_up(t, "--tflite", str(m / "classifier.tflite")),
                                       ["classifier.tflite", "not an image-to-image model"]),
    "tflite-flex-ops": lambda t, m: (_up(t, "--tflite", str(m / "flex.tflite")), ["flex.tflite", "Flex"]),
    # ----- .weights.h5 files and their sidecars (upscale / evaluate / convert)
    "weights-missing": lambda t: (_up(t, "--weights", str(t / "no.weights.h5")), ["no.weights.h5"]),
    "weights-empty": lambda t: (_up(t, "--weights", str(weights_copy(t, data=b""))),
                                ["w.weights.h5", "empty file"]),
    "weights-text": lambda t: (_up(t, "--weights", str(weights_copy(t, data=b"not hdf5 at all"))),
                               ["w.weights.h5", "not an HDF5"]),
    "weights-truncated": lambda t: (_up(t, "--weights", str(weights_copy(t, data=WEIGHTS.read_bytes()[:50_000]))),
                                    ["w.weights.h5", "damaged HDF5"]),
    "weights-flipped-sha": lambda t: (_up(t, "--weights", str(_flipped_weights(t))),
                                      ["w.weights.h5", "sha256", _sha(WEIGHTS)]),
    "sidecar-no-model": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(model=None)))),
                                   ["w.weights.json", "'model'"]),
    "sidecar-malformed": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar='{"model": "fd_irb_edge",'))),
                                    ["w.weights.json", "not valid JSON"]),
    "sidecar-not-object": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar='"fd_irb_edge"'))),
                                     ["w.weights.json", "JSON object"]),
    "sidecar-unknown-model": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(model="vgg")))),
                                        ["'vgg'", "Available"]),
    "sidecar-bad-scale": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(scale=7)))),
                                    ["scale", "7"]),
    "sidecar-num-features-65536": lambda t: (
        _up(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(**{"config.num_features": 65536,
                                                                         "config.growth_rate": 65536})))),
        ["num_features", "512", "65536"]),
    "sidecar-config-not-object": lambda t: (
        _up(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(config=[1, 2])))), ["w.weights.json", "config"]),
    "set-num-blocks-3000": lambda t: (
        _up(t, "--weights", str(weights_copy(t, sidecar=False)), "--model", "rdn", "--scale", "2",
            "--set", "num_blocks=3000"), ["num_blocks", "64", "3000"]),
    "set-unknown-key": lambda t: (
        _up(t, "--weights", str(weights_copy(t, sidecar=False)), "--model", "rdn", "--scale", "2",
            "--set", "depth=3"), ["depth", "Allowed"]),
    "weights-without-sidecar-or-model": lambda t: (_up(t, "--weights", str(weights_copy(t, sidecar=False))),
                                                   ["w.weights.h5", "no sidecar"]),
    "evaluate-weights-truncated": lambda t: (
        _ev(t, "--weights", str(weights_copy(t, data=WEIGHTS.read_bytes()[:4096]))), ["w.weights.h5", "HDF5"]),
    "evaluate-sidecar-no-model": lambda t: (
        _ev(t, "--weights", str(weights_copy(t, sidecar=shipped_meta(model=None)))), ["w.weights.json", "'model'"]),
    "convert-weights-not-hdf5": lambda t: (
        ["convert", "--weights", str(weights_copy(t, data=b"\x00" * 100)), "-o", str(t / "m.tflite")],
        ["w.weights.h5", "HDF5"]),
    "convert-weights-truncated": lambda t: (
        ["convert", "--weights", str(weights_copy(t, data=WEIGHTS.read_bytes()[:100_000])), "-o",
         str(t / "m.tflite")], ["w.weights.h5", "damaged"]),
    "convert-sidecar-num-features-huge": lambda t: (
        ["convert", "--weights", str(weights_copy(t, sidecar=shipped_meta(**{"config.num_features": 65536,
                                                                              "config.growth_rate": 65536}))),
         "-o", str(t / "m.tflite")], ["num_features", "65536"]),
    "convert-output-exists": lambda t: (
        ["convert", "--weights", str(weights_copy(t)), "-o", str(tflite_copy(t, sidecar=False))],
        ["m.tflite", "already exists"]),
    "convert-output-folder-missing": lambda t: (
        ["convert", "--weights", str(weights_copy(t)), "-o", str(t / "nosuch" / "m.tflite")],
        ["nosuch", "does not exist"]),
    "convert-output-not-tflite": lambda t: (
        ["convert", "--weights", str(weights_copy(t)), "-o", str(t / "m.bin")], ["m.bin", ".tflite"]),
    # ----- evaluate
    "evaluate-tflite-random": lambda t: (_ev(t, "--tflite", str(_write(t / "x.tflite", b"\x01" * 999))), ["x.tflite"]),
    "evaluate-threads-huge": lambda t: (_ev(t, "--tflite", str(TFLITE), "--num-threads", "100000"),
                                        ["--num-threads", "100000"]),
    "evaluate-eval-missing": lambda t: (["evaluate", "--tflite", str(TFLITE), "--eval", str(t / "NoSet")],
                                        ["NoSet"]),
    "evaluate-eval-h5-corrupt": lambda t: (
        ["evaluate", "--tflite", str(TFLITE), "--eval", str(_write(t / "set.h5", b"garbage" * 100))], ["set.h5"]),
    "evaluate-eval-h5-no-lr": lambda t: (
        ["evaluate", "--tflite", str(TFLITE), "--eval", str(data_h5(t / "set.h5", keys=("hr",)))], ["set.h5"]),
    "evaluate-eval-corrupt-image": lambda t: (
        ["evaluate", "--tflite", str(TFLITE), "--eval", str(_folder_with(t, lambda p: _write(p, b"nope")))],
        ["x.png"]),
    "evaluate-eval-bomb": lambda t: (
        ["evaluate", "--tflite", str(TFLITE), "--eval", str(_folder_with(t, bomb_png))],
        ["x.png", "decompression bomb"]),
    "evaluate-image-smaller-than-scale": lambda t: (
        ["evaluate", "--tflite", str(TFLITE), "--eval", str(_folder_with(t, lambda p: png(p, (1, 1))))],
        ["x.png", "smaller than `scale`=2"]),
    # ----- benchmark
    "benchmark-input-too-large": lambda t: (
        ["benchmark", "--tflite", str(TFLITE), "--input", "100000x100000", "--runs", "1", "--warmup", "0"],
        ["input_hw", "GiB", "available"]),
    "benchmark-threads-huge": lambda t: (["benchmark", "--tflite", str(TFLITE), "--num-threads", "100000"],
                                         ["--num-threads", "100000"]),
    "benchmark-input-malformed": lambda t: (["benchmark", "--tflite", str(TFLITE), "--input", "12by9"],
                                            ["--input", "12by9"]),
    "benchmark-runs-zero": lambda t: (["benchmark", "--tflite", str(TFLITE), "--runs", "0"], ["--runs", "'0'"]),
    "benchmark-tflite-truncated": lambda t: (
        ["benchmark", "--tflite", str(truncated(TFLITE, t / "half.tflite", 0.1))], ["half.tflite"]),
    "benchmark-tflite-flipped": lambda t: (
        ["benchmark", "--tflite", str(tflite_copy(t, flip=64))], ["m.tflite", "sha256"]),
    # ----- prepare
    "prepare-no-images": lambda t: (
        (t / "empty").mkdir() or ["prepare", "--images-dir", str(t / "empty"), "--scale", "2", "-o", str(t / "d.h5")],
        ["empty"]),
    "prepare-corrupt-image": lambda t: (
        ["prepare", "--images-dir", str(_folder_with(t, lambda p: _write(p, b"PNG?"))), "--scale", "2", "-o",
         str(t / "d.h5")],
        ["x.png"]),
    "prepare-output-exists": lambda t: (
        ["prepare", "--images-dir", str(_folder_with(t, lambda p: png(p, (32, 32)))), "--scale", "2",
         "-o", str(data_h5(t / "d.h5"))], ["d.h5", "exist"]),
    "prepare-image-too-small": lambda t: (
        ["prepare", "--images-dir", str(_folder_with(t, lambda p: png(p, (3, 3)))), "--scale", "4", "-o",
         str(t / "d.h5")], ["x.png", "too small"]),
    # ----- train (run config files and data files)
    "train-config-malformed-json": lambda t: (
        ["train", "--config", str(_write(t / "run.json", b'{"epochs": ')), "--output-dir", str(t / "run")],
        ["run.json", "not valid JSON"]),
    "train-config-malformed-yaml": lambda t: (
        ["train", "--config", str(_write(t / "run.yaml", b"epochs: [1, 2\n")), "--output-dir", str(t / "run")],
        ["run.yaml", "YAML"]),
    "train-config-missing": lambda t: (
        ["train", "--config", str(t / "nosuch.json"), "--output-dir", str(t / "run")], ["nosuch.json"]),
    "train-config-unknown-key": lambda t: (
        ["train", "--config", str(_write(t / "run.json", b'{"epochz": 3}')), "--output-dir", str(t / "run")],
        ["epochz"]),
    "train-set-num-features-huge": lambda t: (
        ["train", "--model", "fd_irb_edge", "--scale", "2", "--set", "num_features=65536", "--set",
         "growth_rate=65536", "--train", str(data_h5(t / "d.h5")), "--output-dir", str(t / "run")],
        ["num_features", "512"]),
    "train-init-weights-truncated": lambda t: (
        ["train", "--model", "fd_irb_edge", "--scale", "2", "--train", str(data_h5(t / "d.h5")), "--init-weights",
         str(weights_copy(t, data=WEIGHTS.read_bytes()[:20_000])), "--patch-size", "8", "--output-dir",
         str(t / "run")],
        ["init_weights", "w.weights.h5", "damaged"]),
    "train-data-h5-corrupt": lambda t: (
        ["train", "--model", "fd_irb_edge", "--scale", "2", "--train", str(_write(t / "d.h5", b"\x89HDF" + b"0" * 50)),
         "--output-dir", str(t / "run")], ["d.h5"]),
    # ----- demo, profile, optimize
    "demo-image-bomb": lambda t: (["demo", "--image", str(bomb_png(t / "b.png")), "-o", str(t / "d.png")],
                                  ["b.png", "decompression bomb"]),
    "demo-image-animated": lambda t: (["demo", "--image", str(animated(t / "a.gif", "GIF")), "-o", str(t / "d.png")],
                                     ["a.gif", "animated"]),
    "demo-threads-huge": lambda t: (["demo", "--num-threads", "100000", "-o", str(t / "d.png")],
                                    ["--num-threads", "100000"]),
    "demo-tflite-flipped": lambda t: (["demo", "--tflite", str(tflite_copy(t, flip=500)), "-o", str(t / "d.png")],
                                      ["m.tflite", "sha256"]),
    "profile-set-num-layers-huge": lambda t: (["profile", "--model", "fd_irb_edge", "--set", "num_layers=5000"],
                                              ["num_layers", "32", "5000"]),
    "optimize-weights-truncated": lambda t: (
        ["optimize", "--weights", str(weights_copy(t, data=WEIGHTS.read_bytes()[:30_000])), "--prune",
         "--train", str(data_h5(t / "d.h5")), "--eval", str(data_h5(t / "e.h5")), "--steps", "1",
         "--output-dir", str(t / "opt")], ["w.weights.h5", "damaged"]),
    "optimize-sidecar-no-model": lambda t: (
        ["optimize", "--weights", str(weights_copy(t, sidecar=shipped_meta(model=None))), "--prune",
         "--train", str(data_h5(t / "d.h5")), "--eval", str(data_h5(t / "e.h5")), "--steps", "1",
         "--output-dir", str(t / "opt")], ["w.weights.json", "'model'"]),
    # ----- port (hostile files: a pickle must never run)
    "port-pickle-named-npz": lambda t: (
        ["port", "--torch-weights", str(_write(t / "evil.npz", pickle.dumps(Hostile()))), "--model", "fd_irb_edge",
         "--scale", "2", "-o", str(t / "p.weights.h5")], ["evil.npz", "pickle"]),
    "port-pickle-named-pth": lambda t: (
        ["port", "--torch-weights", str(_write(t / "evil.pth", pickle.dumps(Hostile()))), "--model", "fd_irb_edge",
         "--scale", "2", "-o", str(t / "p.weights.h5")], ["evil.pth"]),
    "port-npz-object-array": lambda t: (
        ["port", "--torch-weights", str(_object_npz(t / "obj.npz")), "--model", "fd_irb_edge", "--scale", "2",
         "-o", str(t / "p.weights.h5")], ["obj.npz"]),
    "port-npz-truncated": lambda t: (
        ["port", "--torch-weights", str(truncated(_real_npz(t / "full.npz"), t / "cut.npz")), "--model",
         "fd_irb_edge", "--scale", "2", "-o", str(t / "p.weights.h5")], ["cut.npz"]),
}

# Cases whose builder also takes the TensorFlow-made models folder.
NEEDS_TF_MODELS = {"tflite-classifier", "tflite-flex-ops"}


def _write(path, data):
    Path(path).write_bytes(data)
    return Path(path)


def _jpeg(path):
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path, format="JPEG")
    return Path(path)


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _folder_with(t, make):
    folder = t / "imgs"
    folder.mkdir(exist_ok=True)
    png(folder / "a.png", (16, 16))
    make(folder / "x.png")
    return folder


def _two_same_names(t):
    for sub in ("one", "two"):
        (t / sub).mkdir()
        png(t / sub / "a.png")
    return ["upscale", str(t / "one" / "a.png"), str(t / "two" / "a.png")]


def _flipped_weights(t):
    path = weights_copy(t)
    data = bytearray(path.read_bytes())
    data[-5000:-3000] = bytes(b ^ 0xFF for b in data[-5000:-3000])
    path.write_bytes(bytes(data))
    return path


def _object_npz(path):
    np.savez(path, **{"state_dict/w": np.array([Hostile()], dtype=object)})
    return Path(path)


def _real_npz(path):
    np.savez(path, **{"state_dict/w": np.zeros((64, 64), np.float32)})
    return Path(path)


def _snapshot(root):
    return {p.relative_to(root): (p.is_dir() or hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_refuses_bad_input(case, tmp_path, monkeypatch, capsys, request):
    monkeypatch.chdir(tmp_path)  # a hostile pickle would write here
    if case == "upscale-output-does-not-fit-memory":  # a machine with 1 MiB free
        monkeypatch.setattr("keras_sr.validation.available_memory_bytes", lambda: 2**20)
    build = CASES[case]
    argv, words = build(tmp_path, request.getfixturevalue("tf_models")) if case in NEEDS_TF_MODELS \
        else build(tmp_path)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert code == 2, f"exit {code}, expected 2:\n{text}"
    assert "Traceback" not in text
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    for word in words:
        assert word in error_lines[0], f"{word!r} not in: {error_lines[0]}"
    assert _snapshot(tmp_path) == before, "a refused run wrote or changed files"
    assert not (tmp_path / MARKER).exists()


# ---------------------------------------------------------------------------- handled, not refused


def test_unicode_and_spaces_in_names_are_handled(tmp_path, capsys):
    src = png(tmp_path / "bild ü 1.png", (12, 10))
    out = tmp_path / "sortie é" / "résultat final.png"
    out.parent.mkdir()
    assert main(["upscale", str(src), "-o", str(out), "--tflite", str(TFLITE), "--quiet"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    with Image.open(out) as im:
        assert im.size == (24, 20)


def test_16bit_input_is_upscaled_with_a_note(tmp_path, capsys):
    src = png(tmp_path / "deep.png", (12, 10), "I;16")
    out = tmp_path / "deep_x2.png"
    assert main(["upscale", str(src), "-o", str(out), "--tflite", str(TFLITE), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "deep.png" in err and "8" in err and err.count("note:") == 1
    with Image.open(out) as im:
        assert im.size == (24, 20) and im.mode == "L"


def test_tflite_without_sidecar_still_loads_with_a_note(tmp_path, capsys):
    from keras_sr.lite.runtime import TFLiteSR

    model = tflite_copy(tmp_path, sidecar=False)
    sr = TFLiteSR(model)
    assert sr.sidecar is None and not sr.verified and sr.scale == 2
    assert TFLiteSR(TFLITE).verified
    out = tmp_path / "out.png"
    assert main(["upscale", str(png(tmp_path / "in.png")), "-o", str(out), "--tflite", str(model), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "m.tflite.json" in err and "without verifying" in err
    assert out.is_file()


# ---------------------------------------------------------------------------- the Python API


def _tflite_sr(**kwargs):
    from keras_sr.lite.runtime import TFLiteSR

    return TFLiteSR(TFLITE, **kwargs)


def _identity(x):
    return np.repeat(np.repeat(x, 2, axis=0), 2, axis=1)


API_CASES = {
    "TFLiteSR-num_threads-huge": (lambda t: _tflite_sr(num_threads=100000), ["num_threads", "100000"]),
    "TFLiteSR-num_threads-zero": (lambda t: _tflite_sr(num_threads=0), ["num_threads", "0"]),
    "TFLiteSR-flipped-bytes": (lambda t: _tflite(tflite_copy(t, flip=2000)), ["sha256", _sha(TFLITE)]),
    "predict-nan": (lambda t: _tflite_sr().predict(np.full((8, 8, 3), np.nan, np.float32)), ["lr", "NaN"]),
    "predict-inf": (lambda t: _tflite_sr().predict(_with(np.zeros((8, 8, 3), np.float32), np.inf)), ["lr", "infinite"]),
    "predict-0-255-floats": (lambda t: _tflite_sr().predict(np.full((8, 8, 3), 200.0, np.float32)),
                             ["lr", "[200, 200]", "255"]),
    "predict-empty": (lambda t: _tflite_sr().predict(np.zeros((0, 8, 3), np.float32)), ["lr", "empty", "(0, 8, 3)"]),
    "predict-uint8": (lambda t: _tflite_sr().predict(np.zeros((8, 8, 3), np.uint8)), ["lr", "uint8"]),
    "upscale_tiled-nan": (lambda t: _tiled(_with(np.zeros((8, 8, 3), np.float32), np.nan)), ["image", "NaN"]),
    "upscale_tiled-0-255": (lambda t: _tiled(np.full((8, 8, 3), 255.0)), ["image", "255"]),
    "upscale_tiled-empty": (lambda t: _tiled(np.zeros((8, 0, 3), np.float32)), ["image", "empty"]),
    "read_image-bomb": (lambda t: _imageio().read_image(bomb_png(t / "b.png")), ["b.png", "decompression bomb"]),
    "load_image-animated": (lambda t: _imageio().load_image(animated(t / "a.gif", "GIF")), ["a.gif", "animated"]),
    "resolve_config-num_features": (lambda t: _models().resolve_config("fd_irb_edge", 2, num_features=65536,
                                                                       growth_rate=65536), ["num_features", "512"]),
    "resolve_config-num_blocks": (lambda t: _models().resolve_config("rdn", 2, num_blocks=3000),
                                  ["num_blocks", "[1, 64]", "3000"]),
    "build-weights-truncated": (lambda t: _models().build("fd_irb_edge", 2, weights=weights_copy(
        t, data=WEIGHTS.read_bytes()[:1000], sidecar=False)), ["w.weights.h5", "HDF5"]),
    "load_model-sidecar-no-scale": (lambda t: _checkpoints().load_model(weights_copy(
        t, sidecar=shipped_meta(scale=None))), ["w.weights.json", "'scale'"]),
    "load_model-flipped": (lambda t: _checkpoints().load_model(_flipped_weights(t)), ["sha256", _sha(WEIGHTS)]),
}


def _with(x, value):
    x = x.copy()
    x[1, 2, 0] = value
    return x


def _tflite(path):
    from keras_sr.lite.runtime import TFLiteSR

    return TFLiteSR(path)


def _tiled(image):
    from keras_sr.lite import upscale_tiled

    return upscale_tiled(_identity, image, 2)


def _imageio():
    from keras_sr.data import imageio

    return imageio


def _models():
    from keras_sr import models

    return models


def _checkpoints():
    from keras_sr import checkpoints

    return checkpoints


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_api_refuses_bad_input(case, tmp_path):
    call, words = API_CASES[case]
    with pytest.raises(ValueError) as info:
        call(tmp_path)
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


def test_enough_cases():
    assert len(CASES) + len(API_CASES) >= 60


def test_written_weights_record_their_sha256_and_load_checks_it(tmp_path):
    from keras_sr import checkpoints
    from tests.harness import build_tiny, tiny

    path = checkpoints.save_model_weights(build_tiny("fd_irb_edge", 2), tmp_path / "t.weights.h5",
                                          {"model": "fd_irb_edge", "scale": 2, "config": tiny("fd_irb_edge")})
    meta = checkpoints.read_meta(path)
    assert meta["sha256"] == _sha(path)
    checkpoints.load_model(path)  # the hash matches: loads
    data = bytearray(path.read_bytes())
    data[-200:-100] = bytes(b ^ 0xFF for b in data[-200:-100])
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=meta["sha256"]):
        checkpoints.load_model(path)


# ---------------------------------------------------------------------------- crash leftovers


def _aged(path, seconds=3600):
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def test_a_write_removes_stale_temporaries_of_its_file_and_says_so(tmp_path, capsys):
    from keras_sr.fileio import write_bytes

    stale = _aged(_write(tmp_path / ".out.png.ab12cd34.tmp", b"half"))
    fresh = _write(tmp_path / ".out.png.zz99yy88.tmp", b"another run, still writing")
    other = _aged(_write(tmp_path / ".other.png.ab12cd34.tmp", b"not ours"))
    write_bytes(tmp_path / "out.png", b"done")
    assert not stale.exists() and fresh.exists() and other.exists()
    assert (tmp_path / "out.png").read_bytes() == b"done"
    err = capsys.readouterr().err
    assert ".out.png.ab12cd34.tmp" in err and "interrupted" in err


def test_a_phase_removes_stale_checkpoint_shards(tmp_path, capsys):
    from keras_sr._keras import keras
    from keras_sr.training.engine import Phase
    from tests.harness import build_tiny

    ckpt = tmp_path / "ckpt"
    (ckpt / "ckpt-3_temp").mkdir(parents=True)
    _write(ckpt / "ckpt-3_temp" / "part-00000-of-00001.data-00000-of-00001", b"x")
    _aged(ckpt / "ckpt-3_temp")
    model = build_tiny("fd_irb_edge", 2)
    Phase("train", model, keras.optimizers.Adam(), None, 2, ckpt, period=1, epochs=1)
    assert not (ckpt / "ckpt-3_temp").exists()
    assert "ckpt-3_temp" in capsys.readouterr().err


# ---------------------------------------------------------------------------- memory, estimated before any work


def test_a_whole_image_that_would_not_fit_is_tiled_with_a_note(tmp_path, capsys):
    from keras_sr.upscale import AUTO_TILE, fit_memory, job_bytes

    src = png(tmp_path / "big.png", (300, 260))
    plan = [(src, tmp_path / "out.png")]
    whole, tiled = job_bytes(260, 300, 2, canvas_bytes=0), job_bytes(260, 300, 2, AUTO_TILE, canvas_bytes=0)
    assert tiled < whole
    assert fit_memory(plan, 2, None, 16, available=whole) is None  # fits: no tiling, no note
    assert capsys.readouterr().err == ""
    assert fit_memory(plan, 2, None, 16, available=tiled) == AUTO_TILE
    err = capsys.readouterr().err
    assert err.count("note:") == 1 and "big.png" in err and f"{AUTO_TILE}-pixel tiles" in err
    with pytest.raises(ValueError, match="big.png"):
        fit_memory(plan, 2, None, 16, available=tiled - 1)


def test_tiles_are_quantized_one_by_one_with_the_same_pixels():
    """With `dtype=np.uint8` the full output never exists in float32, and the pixels are the float path's."""
    from keras_sr.metrics import to_uint8
    from keras_sr.upscale import load_predictor, upscale_image

    predictor = load_predictor(tflite=TFLITE)
    rgb = np.random.default_rng(0).random((40, 36, 3), dtype=np.float32)
    alpha = np.linspace(0, 1, 40 * 36, dtype=np.float32).reshape(40, 36)
    for tile in (None, 24):
        sr, sr_alpha = upscale_image(predictor, rgb, alpha, tile=tile, overlap=4)
        sr8, alpha8 = upscale_image(predictor, rgb, alpha, tile=tile, overlap=4, dtype=np.uint8)
        assert sr8.dtype == np.uint8 and alpha8.dtype == np.uint8 and sr8.shape == (80, 72, 3)
        np.testing.assert_array_equal(sr8, to_uint8(sr))
        np.testing.assert_array_equal(alpha8, to_uint8(sr_alpha))
