"""The main job: upscale a sample image with the shipped int8 edge model.

    python -m keras_sr.demo [--image PATH] [--scale 4] [-o demo_x4.png] [--threads 2]

With no arguments it takes scikit-image's `astronaut` (a NASA photograph that ships in
the scikit-image wheel, so nothing is downloaded) as ground truth, makes the LR input
with keras-sr's one degradation (PIL bicubic), upscales it with the shipped int8 TFLite
model and with bicubic, and writes a side-by-side comparison
(bicubic | keras-sr | ground truth). It prints PSNR (Y channel, border shave = scale,
MATLAB conventions) and the time. Runs without TensorFlow.

An `--image` is treated the same way: it is the ground truth and is downscaled first.
An existing output is never overwritten: the next free name is used and printed.
"""
import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from keras_sr import metrics
from keras_sr.data.degrade import load_image, make_lr
from keras_sr.lite import TFLiteSR, side_by_side, write_image
from keras_sr.upscale import default_model_path

SAMPLE = "astronaut"


def sample_image(name=SAMPLE):
    """A uint8 RGB ground-truth image from scikit-image's bundled data."""
    try:
        from skimage import data
    except ImportError as error:
        raise ImportError(
            "The built-in sample image comes from scikit-image: `pip install scikit-image` "
            "(or `pip install keras-sr[demo]`), or pass --image PATH."
        ) from error
    return np.ascontiguousarray(getattr(data, name)()[..., :3])


def free_path(path):
    """`path`, or `stem_2.suffix`, `stem_3.suffix`, ... whichever does not exist yet."""
    path = Path(path)
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return candidate


def run_demo(image=None, scale=4, output="demo_x4.png", model=None, threads=2):
    """Returns {'output', 'psnr_bicubic', 'psnr_model', 'ssim_*', 'seconds', 'model'}."""
    hr = load_image(image) if image else sample_image()
    hr, lr = make_lr(hr, scale)
    model_path = Path(model) if model else default_model_path(scale)
    runtime = TFLiteSR(model_path, num_threads=threads)
    if runtime.scale != scale:
        raise ValueError(f"`--scale` is {scale} but {model_path} upscales x{runtime.scale}")
    lr_float = lr.astype(np.float32) / 255.0
    runtime.predict(lr_float[:16, :16])  # first call allocates; keep it out of the timing
    start = time.perf_counter()
    sr = np.clip(runtime.predict(lr_float), 0.0, 1.0)
    seconds = time.perf_counter() - start
    sr_uint8 = metrics.to_uint8(sr)
    bicubic = np.asarray(Image.fromarray(lr).resize((hr.shape[1], hr.shape[0]), Image.BICUBIC))
    result = {
        "model": str(model_path),
        "input": f"{lr.shape[1]}x{lr.shape[0]}",
        "psnr_bicubic": metrics.psnr(bicubic, hr, scale),
        "psnr_model": metrics.psnr(sr_uint8, hr, scale),
        "ssim_bicubic": metrics.ssim(bicubic, hr, scale),
        "ssim_model": metrics.ssim(sr_uint8, hr, scale),
        "seconds": seconds,
    }
    panels = [("bicubic", bicubic), ("keras-sr int8", sr_uint8), ("ground truth", hr)]
    result["output"] = str(write_image(free_path(output), side_by_side(panels).astype(np.float32) / 255.0))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m keras_sr.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", help="ground-truth image (default: scikit-image's astronaut)")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--model", help="a .tflite model (default: the shipped edge model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("-o", "--output", default="demo_x4.png", help="comparison image (never overwritten)")
    args = parser.parse_args(argv)
    try:
        result = run_demo(args.image, args.scale, args.output, args.model, args.threads)
    except (FileNotFoundError, ValueError, ImportError) as error:
        parser.error(str(error))
    print(f"model        {result['model']}")
    print(f"input        {result['input']} LR -> x{args.scale}")
    print(f"bicubic      PSNR {result['psnr_bicubic']:.2f} dB  SSIM {result['ssim_bicubic']:.4f}")
    print(f"keras-sr     PSNR {result['psnr_model']:.2f} dB  SSIM {result['ssim_model']:.4f}  ({result['seconds'] * 1000:.0f} ms)")
    print(f"comparison   {result['output']}  (bicubic | keras-sr int8 | ground truth)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
