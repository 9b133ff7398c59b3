"""Golden data for the Java core's JUnit tests, made by keras-sr's own Python code.

    python android_sample/core/golden.py OUT_DIR [--image FILE] [--bundle DIR]

writes into OUT_DIR:
  bundle/            `keras-sr export --model fd_irb_edge_x4 --target android --tile 64` (unless --bundle)
  golden.json        the index below, read by the Java tests
  plans.txt          `keras_sr.lite.tiling.tile_windows(length, tile, overlap)` over a grid of cases
  pixels.bin         float32 of every 8-bit sample as `read_image` makes it (256 values)
  quant.bin          float32 x, int8 quantized, float32 dequantized, uint8 `to_uint8` (random + edge values)
  replay/            a small real crop of the image: its LR ARGB pixels, every window the fixed-shape
                     model saw (float32 input and output, in order) and the stitched uint8 RGB result,
                     all from `keras_sr.upscale.upscale_image` with the bundle's model; and Pillow's
                     bicubic upscale of the same pixels (the app's comparison image)
  standin/           int8-tensor stitching: a stand-in model in numpy with int8 input/output tensors,
                     its windows and the stitched result of `upscale_tiled` + `to_uint8`
  whole/             the whole image: ARGB input and the RGB bytes of `keras-sr upscale IN -o OUT
                     --tflite bundle/model.tflite --tile T --overlap P` (the CLI itself, in a subprocess)

Only keras-sr, numpy and Pillow are needed (no TensorFlow).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

#: Image the golden data is made from, relative to KERAS_SR_DATA.
DEFAULT_IMAGE = "Set5/woman.png"
PRESET = "fd_irb_edge_x4"
TILE = 64


def data_root() -> Path:
    return Path(os.environ.get("KERAS_SR_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


def argb_bytes(rgb_uint8: np.ndarray) -> bytes:
    """(H, W, 3) uint8 -> little-endian int32 0xAARRGGBB, opaque: what Bitmap.getPixels returns."""
    rgb = rgb_uint8.astype(np.uint32)
    argb = (0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return argb.astype("<u4").tobytes()


def export_bundle(out: Path) -> Path:
    from keras_sr.export import export

    export(model=PRESET, target="android", tile=(TILE, TILE), output_dir=out, log=lambda *a, **k: None)
    return out


def write_plans(path: Path):
    from keras_sr.lite.tiling import tile_windows

    lines = []
    for length in (1, 5, 12, 13, 24, 37, 64, 65, 100, 181, 228, 344, 4000):
        for tile, overlap in ((12, 0), (12, 3), (12, 5), (16, 4), (24, 6), (32, 8), (7, 3), (64, 16), (64, 31),
                              (256, 16)):
            wins = tile_windows(length, tile, overlap)
            lines.append(f"{length} {tile} {overlap} : " + " ; ".join(" ".join(map(str, w)) for w in wins))
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def write_pixels_and_quant(out: Path, quant_scale: float, quant_zero: int):
    from keras_sr.lite.runtime import _dequantize, _quantize
    from keras_sr.metrics import to_uint8

    # read_image's arithmetic on every 8-bit value
    samples = np.arange(256, dtype=np.uint8).reshape(16, 16)
    floats = np.asarray(Image.fromarray(samples, "L"), dtype=np.float32) / 255.0
    (out / "pixels.bin").write_bytes(floats.astype("<f4").tobytes())
    rng = np.random.default_rng(15)
    edges = np.array([0, 1, -0.01, 1.01, 0.5, 0.5 / 255, 1.5 / 255, 254.5 / 255, np.float32(quant_scale) * 0.5,
                      np.float32(quant_scale) * 2.5, -1, 2], np.float32)
    x = np.concatenate([edges, rng.uniform(-0.1, 1.1, 4000).astype(np.float32),
                        (np.arange(256, dtype=np.float32) / np.float32(255))])
    q = _quantize(x, np.dtype(np.int8), (np.float32(quant_scale), quant_zero))
    dq = _dequantize(q, (np.float32(quant_scale), quant_zero))
    u8 = to_uint8(x)
    (out / "quant.bin").write_bytes(x.astype("<f4").tobytes() + q.tobytes() + dq.astype("<f4").tobytes()
                                    + u8.tobytes())
    return len(x)


class Recorder:
    """A predictor that records every window it is given and the model's output for it."""

    def __init__(self, fn, scale, fixed_size):
        self.fn, self.scale, self.fixed_size = fn, scale, fixed_size
        self.inputs, self.outputs = [], []

    def __call__(self, lr):
        y = np.asarray(self.fn(lr), np.float32)
        self.inputs.append(np.asarray(lr, np.float32).copy())
        self.outputs.append(y.copy())
        return y


def write_replay(out: Path, rgb_uint8: np.ndarray, bundle: Path, overlap: int):
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.upscale import upscale_image

    out.mkdir()
    sr = TFLiteSR(bundle / "model.tflite")
    rec = Recorder(sr.predict, sr.scale, sr.fixed_size)
    rgb = rgb_uint8.astype(np.float32) / 255.0
    result, _ = upscale_image(rec, rgb, tile=sr.fixed_size, overlap=overlap, dtype=np.uint8)
    (out / "lr.argb").write_bytes(argb_bytes(rgb_uint8))
    (out / "inputs.f32").write_bytes(b"".join(i.astype("<f4").tobytes() for i in rec.inputs))
    (out / "outputs.f32").write_bytes(b"".join(o.astype("<f4").tobytes() for o in rec.outputs))
    (out / "result.rgb").write_bytes(result.tobytes())
    h, w = rgb_uint8.shape[:2]
    # The app's comparison image: Pillow's bicubic at the model's scale.
    bicubic = Image.fromarray(rgb_uint8, "RGB").resize((w * sr.scale, h * sr.scale), Image.BICUBIC)
    (out / "bicubic.rgb").write_bytes(np.asarray(bicubic, np.uint8).tobytes())
    return {"width": w, "height": h, "overlap": overlap, "tiles": len(rec.inputs)}


def write_standin(out: Path, rgb_uint8: np.ndarray, tile, overlap, scale, qin, qout):
    """int8 input/output tensors: the stand-in model and the quantization mirror the Java test's runner."""
    from keras_sr.lite.runtime import _dequantize, _quantize
    from keras_sr.lite.tiling import upscale_tiled
    from keras_sr.metrics import to_uint8

    out.mkdir()
    int8 = np.dtype(np.int8)

    def model(win):
        q = _quantize(win, int8, qin)
        # The stand-in works on the int8 tensor: out = clip(q_rep / 2 + q[0, 0] / 4 + c) with integer math.
        rep = np.repeat(np.repeat(q.astype(np.int32), scale, 0), scale, 1)
        y = np.clip(rep // 2 + int(q[0, 0, 0]) // 4 + np.arange(3, dtype=np.int32) * 7, -128, 127).astype(np.int8)
        return _dequantize(y, qout)

    rgb = rgb_uint8.astype(np.float32) / 255.0
    result = to_uint8(upscale_tiled(model, rgb, scale, tile=tile, overlap=overlap))
    (out / "lr.argb").write_bytes(argb_bytes(rgb_uint8))
    (out / "result.rgb").write_bytes(result.tobytes())
    h, w = rgb_uint8.shape[:2]
    return {"width": w, "height": h, "tile": list(tile), "overlap": overlap, "scale": scale,
            "input_scale": float(qin[0]), "input_zero_point": qin[1], "output_scale": float(qout[0]),
            "output_zero_point": qout[1]}


def write_whole(out: Path, image: Path, bundle: Path, overlap: int):
    out.mkdir()
    with Image.open(image) as im:
        rgb = np.asarray(im.convert("RGB"), np.uint8)
    (out / "lr.argb").write_bytes(argb_bytes(rgb))
    expected = out / "expected.png"
    cmd = [sys.executable, "-m", "keras_sr", "upscale", str(image), "-o", str(expected), "--tflite",
           str(bundle / "model.tflite"), "--tile", str(TILE), "--overlap", str(overlap), "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    with Image.open(expected) as im:
        sr = np.asarray(im.convert("RGB"), np.uint8)
    (out / "expected.rgb").write_bytes(sr.tobytes())
    h, w = rgb.shape[:2]
    return {"width": w, "height": h, "overlap": overlap, "command": "keras-sr upscale IN -o OUT --tflite "
            f"BUNDLE/model.tflite --tile {TILE} --overlap {overlap}"}


def make(out_dir, image=None, bundle=None, whole=True) -> dict:
    """Writes the golden data into `out_dir` (created); returns golden.json's contents."""
    from keras_sr.data.degrade import make_lr

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    image = Path(image) if image else data_root() / DEFAULT_IMAGE
    if not image.is_file():
        raise FileNotFoundError(f"Golden image '{image}' does not exist; set KERAS_SR_DATA or pass --image.")
    bundle = Path(bundle) if bundle else export_bundle(out / "bundle")
    facts = json.loads((bundle / "model.json").read_text())
    with Image.open(image) as im:
        hr = np.asarray(im.convert("RGB"), np.uint8)
    _, lr = make_lr(hr, facts["scale"])  # woman: 57x86, smaller than the tile in height (edge padding)
    qin, qout = (np.float32(1 / 255), -128), (np.float32(1 / 200), -100)
    index = {
        "image": str(image.relative_to(data_root())) if image.is_relative_to(data_root()) else image.name,
        "bundle": str(bundle.resolve()),
        "plans": write_plans(out / "plans.txt"),
        "quant": {"count": write_pixels_and_quant(out, float(qin[0]), qin[1]), "scale": float(qin[0]),
                  "zero_point": qin[1]},
        "replay": [write_replay(out / "replay_lr", lr, bundle, facts["overlap"]),
                   write_replay(out / "replay_crop", hr[40:150, 10:180], bundle, facts["overlap"])],
        "standin": write_standin(out / "standin", lr, (16, 24), 5, 3, qin, qout),
    }
    index["replay"][0]["dir"], index["replay"][1]["dir"] = "replay_lr", "replay_crop"
    if whole:
        index["whole"] = write_whole(out / "whole", image, bundle, facts["overlap"])
    (out / "golden.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--image", help=f"an RGB image (default: $KERAS_SR_DATA/{DEFAULT_IMAGE})")
    parser.add_argument("--bundle", help="an existing bundle folder (default: export one into OUT_DIR/bundle)")
    parser.add_argument("--no-whole", dest="whole", action="store_false", help="skip the whole-image CLI run")
    args = parser.parse_args(argv)
    index = make(args.out_dir, image=args.image, bundle=args.bundle, whole=args.whole)
    print(f"wrote {args.out_dir}: {index['plans']} plans, replay tiles "
          f"{[r['tiles'] for r in index['replay']]}, image {index['image']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
