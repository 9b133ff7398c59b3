"""PSNR and SSIM as super-resolution papers report them (MATLAB conventions).

Numpy only, float64, no TensorFlow: the board-side benchmark imports this file.

Conventions (those of the MATLAB scripts behind the published tables, e.g. the
EDSR/RCAN `Evaluate_PSNR_SSIM.m`, and of BasicSR's `calculate_psnr/ssim`):

* Inputs are RGB images, either `uint8` (0..255) or floats in [0, 1]. Floats are
  first quantised to uint8 exactly like MATLAB's `im2uint8` (clip to [0, 1], then
  round half away from zero), because a network's float output is saved as an
  8-bit image before it is scored.
* `y_channel=True` (default) scores the luma of MATLAB's `rgb2ycbcr` (ITU-R BT.601,
  "studio swing"): Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in [0, 1].
  Y is kept as float64 on the 0..255 scale (16..235), not rounded.
* `scale` pixels are shaved from every border before scoring (`shave = scale`).
* PSNR = 10 log10(255^2 / MSE); identical images give `inf`.
* SSIM is Wang et al.'s original `ssim_index.m`: an 11x11 Gaussian window with
  sigma 1.5 (`fspecial('gaussian', 11, 1.5)`), K1 = 0.01, K2 = 0.03, L = 255,
  'valid' filtering (no padding) and the mean of the SSIM map. There is no
  automatic downsampling (the later `ssim.m` adds one; SR papers do not use it).
  With `y_channel=False` the SSIM of each RGB channel is averaged.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rgb_to_y", "to_uint8", "psnr", "ssim", "gaussian_window"]

# MATLAB rgb2ycbcr, first row of the BT.601 matrix for inputs in [0, 1].
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0

_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03
_SSIM_L = 255.0


def to_uint8(img) -> np.ndarray:
    """Quantise an image to uint8 the way MATLAB's `im2uint8` does.

    Args:
        img: `uint8` array (returned unchanged) or a float array with values in
            [0, 1]; values outside are clipped, then `floor(255 x + 0.5)` (MATLAB
            rounds halves away from zero, numpy's `round` would round to even).

    Returns:
        A `uint8` array of the same shape.
    """
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_ or not (
        np.issubdtype(img.dtype, np.floating) or np.issubdtype(img.dtype, np.integer)
    ):
        raise ValueError(
            "Images must be uint8 (0..255) or float (0..1). "
            f"Received: dtype={img.dtype}"
        )
    if np.issubdtype(img.dtype, np.integer):
        raise ValueError(
            "Integer images must be uint8; convert other integer types yourself "
            f"(their range is ambiguous). Received: dtype={img.dtype}"
        )
    x = np.clip(img.astype(np.float64), 0.0, 1.0)
    return np.floor(x * 255.0 + 0.5).astype(np.uint8)


def rgb_to_y(img) -> np.ndarray:
    """Luma Y of MATLAB's `rgb2ycbcr` (BT.601), as float64 on the 0..255 scale.

    Args:
        img: RGB image of shape (H, W, 3), `uint8` (0..255) or float in [0, 1].
            Floats are used as they are (not quantised).

    Returns:
        float64 array of shape (H, W) with values in [16, 235].
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(
            f"`img` must be an RGB image of shape (H, W, 3). Received: shape={img.shape}"
        )
    x = img.astype(np.float64)
    if img.dtype == np.uint8:
        x = x / 255.0
    elif not np.issubdtype(img.dtype, np.floating):
        raise ValueError(
            f"`img` must be uint8 (0..255) or float (0..1). Received: dtype={img.dtype}"
        )
    return x @ _Y_WEIGHTS + _Y_OFFSET


def _validate_pair(sr, hr, scale):
    sr = np.asarray(sr)
    hr = np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(
            "`sr` and `hr` must have the same shape. "
            f"Received: sr.shape={sr.shape}, hr.shape={hr.shape}"
        )
    if sr.ndim != 3 or sr.shape[-1] != 3:
        raise ValueError(
            "`sr` and `hr` must be RGB images of shape (H, W, 3). "
            f"Received: shape={sr.shape}"
        )
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 0:
        raise ValueError(
            "`scale` (the border shave in pixels) must be an integer >= 0. "
            f"Received: scale={scale!r}"
        )
    h, w = sr.shape[:2]
    if h <= 2 * scale or w <= 2 * scale:
        raise ValueError(
            f"Images of shape {sr.shape} leave nothing after shaving `scale`={scale} "
            "pixels from each border."
        )
    return to_uint8(sr), to_uint8(hr), int(scale)


def _prepare(sr, hr, scale, y_channel):
    """uint8 RGB pair -> float64 (H', W', C) arrays on the 0..255 scale, shaved."""
    sr, hr, scale = _validate_pair(sr, hr, scale)
    if y_channel:
        sr = rgb_to_y(sr)[..., None]
        hr = rgb_to_y(hr)[..., None]
    else:
        sr = sr.astype(np.float64)
        hr = hr.astype(np.float64)
    if scale:
        sr = sr[scale:-scale, scale:-scale]
        hr = hr[scale:-scale, scale:-scale]
    return sr, hr


def psnr(sr, hr, scale: int, y_channel: bool = True) -> float:
    """Peak signal-to-noise ratio in dB, MATLAB conventions (see module docstring).

    Args:
        sr: super-resolved RGB image, (H, W, 3), uint8 or float in [0, 1].
        hr: ground truth of the same shape and kind.
        scale: upscaling factor; this many pixels are shaved from each border
            (0 shaves nothing).
        y_channel: score BT.601 luma (True, as SR papers do) or all of R, G, B.

    Returns:
        PSNR in dB as a Python float (`inf` for identical images).
    """
    a, b = _prepare(sr, hr, scale, y_channel)
    mse = np.mean((a - b) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / mse))


def gaussian_window(size: int = _SSIM_WINDOW, sigma: float = _SSIM_SIGMA) -> np.ndarray:
    """MATLAB `fspecial('gaussian', size, sigma)`: a normalised (size, size) float64 window."""
    r = (size - 1) / 2.0
    x = np.arange(size, dtype=np.float64) - r
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    w = np.outer(g, g)
    # fspecial zeroes values below eps * max before normalising; none are that small here.
    w[w < np.finfo(np.float64).eps * w.max()] = 0
    return w / w.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """'valid' 2-D correlation of (H, W) `img` with the separable window outer(g, g)."""
    k = g.size
    h, w = img.shape
    rows = np.zeros((h - k + 1, w), dtype=np.float64)
    for i in range(k):
        rows += g[i] * img[i : i + h - k + 1, :]
    out = np.zeros((h - k + 1, w - k + 1), dtype=np.float64)
    for j in range(k):
        out += g[j] * rows[:, j : j + w - k + 1]
    return out


def _ssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    c1 = (_SSIM_K1 * _SSIM_L) ** 2
    c2 = (_SSIM_K2 * _SSIM_L) ** 2
    # The 2-D Gaussian is separable: its normalised 1-D factor, applied twice,
    # gives exactly the normalised fspecial window.
    x = np.arange(_SSIM_WINDOW, dtype=np.float64) - (_SSIM_WINDOW - 1) / 2.0
    g = np.exp(-(x**2) / (2.0 * _SSIM_SIGMA**2))
    g /= g.sum()
    mu_a = _filter_valid(a, g)
    mu_b = _filter_valid(b, g)
    mu_a2, mu_b2, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = _filter_valid(a * a, g) - mu_a2
    var_b = _filter_valid(b * b, g) - mu_b2
    cov = _filter_valid(a * b, g) - mu_ab
    ssim_map = ((2 * mu_ab + c1) * (2 * cov + c2)) / ((mu_a2 + mu_b2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(sr, hr, scale: int, y_channel: bool = True) -> float:
    """Structural similarity (Wang et al. 2004, `ssim_index.m`), MATLAB conventions.

    Args:
        sr: super-resolved RGB image, (H, W, 3), uint8 or float in [0, 1].
        hr: ground truth of the same shape and kind.
        scale: upscaling factor; this many pixels are shaved from each border.
        y_channel: score BT.601 luma (True) or average the SSIM of R, G and B.

    Returns:
        Mean SSIM as a Python float, 1.0 for identical images.
    """
    a, b = _prepare(sr, hr, scale, y_channel)
    if a.shape[0] < _SSIM_WINDOW or a.shape[1] < _SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs at least {_SSIM_WINDOW}x{_SSIM_WINDOW} pixels after shaving "
            f"`scale`={scale} pixels from each border. Received: shape={np.shape(sr)}"
        )
    return float(np.mean([_ssim_channel(a[..., c], b[..., c]) for c in range(a.shape[-1])]))
