"""The one degradation: modcrop + PIL bicubic downscaling. Numpy and Pillow only.

Every LR image in the project (prepare, training, evaluation) comes from
`make_lr`, so numbers from different tools are comparable.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

# Re-exported for older imports; the one loader and suffix list live in keras_sr.data.imageio.
from keras_sr.data.imageio import IMAGE_SUFFIXES, is_image_file, load_image
from keras_sr.validation import check_int

__all__ = ["IMAGE_SUFFIXES", "IMAGE_EXTENSIONS", "is_image_file", "load_image", "modcrop", "make_lr",
           "validate_scale"]

#: The old name of `IMAGE_SUFFIXES`.
IMAGE_EXTENSIONS = IMAGE_SUFFIXES


def validate_scale(scale) -> int:
    """Return `scale` as an int, or raise a ValueError naming it."""
    return check_int(scale, "scale", 1)


def _check_rgb_uint8(img, arg: str) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(
            f"`{arg}` must be a uint8 RGB array of shape (H, W, 3). "
            f"Received: dtype={img.dtype}, shape={img.shape}"
        )
    return img


def modcrop(hr, scale: int) -> np.ndarray:
    """Crop the top-left (H - H % scale, W - W % scale) part of an (H, W, ...) image.

    Raises ValueError when the image is smaller than `scale` along either side.
    """
    scale = validate_scale(scale)
    hr = np.asarray(hr)
    if hr.ndim < 2:
        raise ValueError(f"`hr` must be an image of shape (H, W[, C]). Received: shape={hr.shape}")
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise ValueError(
            f"Image of {h}x{w} pixels (HxW) is smaller than `scale`={scale}; "
            f"it needs at least {scale}x{scale}."
        )
    return hr[: h - h % scale, : w - w % scale]


def make_lr(hr_uint8, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Make the (HR, LR) training/evaluation pair of an image.

    The HR image is modcropped, then downscaled by `scale` with PIL's bicubic
    filter (`Image.resize((w // s, h // s), Image.BICUBIC)`), the original
    project's convention.

    Args:
        hr_uint8: uint8 RGB array, (H, W, 3).
        scale: integer downscaling factor >= 1.

    Returns:
        `(hr, lr)`: the cropped HR, uint8 (H', W', 3) with H' = H - H % scale,
        and the LR, uint8 (H' / scale, W' / scale, 3).
    """
    hr = _check_rgb_uint8(hr_uint8, "hr_uint8")
    hr = np.ascontiguousarray(modcrop(hr, scale))
    h, w = hr.shape[:2]
    lr = Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC)
    return hr, np.asarray(lr, dtype=np.uint8)
