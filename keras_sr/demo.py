"""The main job: upscale a sample image with the shipped int8 edge model.

    keras-sr demo [--image PATH] [--scale 4] [--model PRESET | --tflite FILE] [-o demo_x4.png] [--num-threads 2]

With no arguments it takes scikit-image's `astronaut` (a NASA photograph that ships in
the scikit-image wheel, so nothing is downloaded) as ground truth, makes the LR input
with keras-sr's one degradation (PIL bicubic), upscales it with the shipped int8 TFLite
model and with bicubic (both scored by `keras_sr.scoring`), and writes a side-by-side comparison
(bicubic | keras-sr | ground truth). It prints PSNR (Y channel, border shave = scale,
MATLAB conventions) and the time. Runs without TensorFlow.

An `--image` is treated the same way: it is the ground truth and is downscaled first.
An existing output is never overwritten: the next free name is used and printed.
"""
from pathlib import Path

import numpy as np
from PIL import Image

from keras_sr import metrics, scoring
from keras_sr.data.degrade import make_lr
from keras_sr.data.imageio import load_image, side_by_side, write_image

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


def run_demo(image=None, scale=4, output="demo_x4.png", model=None, tflite=None, num_threads=2):
    """Returns {'output', 'psnr_bicubic', 'psnr_model', 'ssim_*', 'seconds', 'model'}.

    `model` is a preset name and `tflite` any .tflite file; neither: the default preset at `scale`.
    """
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.upscale import tflite_file

    hr = load_image(image) if image else sample_image()
    hr, lr = make_lr(hr, scale)
    model_path = tflite_file(model, tflite, scale)
    runtime = TFLiteSR(model_path, num_threads=num_threads)
    if runtime.scale != scale:
        raise ValueError(f"`scale` is {scale} but '{model_path}' upscales x{runtime.scale}. Received: scale={scale}")
    predict = scoring.batch_predictor(runtime.predict)
    item = [("sample", lr, hr)]
    ours = scoring.score_items(predict, item, scale)  # warms up (allocation) outside the timing
    bicubic = scoring.score_items(scoring.bicubic_predictor(scale), item, scale, warm_up=False)
    sr_uint8 = metrics.to_uint8(scoring.super_resolve(predict, lr))
    bicubic_uint8 = np.asarray(Image.fromarray(lr).resize((hr.shape[1], hr.shape[0]), Image.BICUBIC))
    result = {
        "model": str(model_path),
        "input": f"{lr.shape[1]}x{lr.shape[0]}",
        "psnr_bicubic": bicubic["psnr"],
        "psnr_model": ours["psnr"],
        "ssim_bicubic": bicubic["ssim"],
        "ssim_model": ours["ssim"],
        "seconds": ours["ms_per_image"] / 1000.0,
    }
    panels = [("bicubic", bicubic_uint8), ("keras-sr int8", sr_uint8), ("ground truth", hr)]
    result["output"] = str(write_image(free_path(output), side_by_side(panels).astype(np.float32) / 255.0))
    return result


def main(argv=None) -> int:
    """`python -m keras_sr.demo`: the same as `keras-sr demo`."""
    from keras_sr.cli.demo import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
