"""The one image I/O module: one suffix list, one ground-truth loader, one runtime reader/writer.

Numpy and Pillow only (the board runtime uses it). Training, evaluation, prepare and
upscale all list folders with `list_images`, so they read the same files.

* `load_image`: ground truth for training, evaluation and benchmarks, uint8 RGB;
  16-bit images are refused rather than rounded, so every score is computed against
  the same 8-bit pixels.
* `read_image` / `write_image`: for upscaling, float RGB in [0, 1] with alpha kept
  apart and 16-bit grayscale read at full precision; writes are atomic and never
  overwrite unless asked.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from keras_sr.fileio import atomic_output

from keras_sr.metrics import to_uint8

__all__ = ["IMAGE_SUFFIXES", "is_image_file", "list_images", "load_image", "read_image", "write_image",
           "side_by_side", "to_uint8", "MODES", "is_16bit"]

#: Suffixes of the image files read from folders (compared case-insensitively).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

#: Modes `read_image` reports and `write_image` writes.
MODES = ("RGB", "RGBA", "L", "LA")

_16BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def is_image_file(path) -> bool:
    """True when `path` ends in one of IMAGE_SUFFIXES (case-insensitive)."""
    return os.path.splitext(str(path))[1].lower() in IMAGE_SUFFIXES


def list_images(folder, name="folder"):
    """The image files directly inside `folder`, sorted by name (hidden files skipped).

    Raises:
        FileNotFoundError: `folder` does not exist. ValueError: it holds no images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"`{name}` '{folder}' is not a folder.")
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and is_image_file(p)),
                   key=lambda p: p.name)
    if not files:
        raise ValueError(f"`{name}` '{folder}' holds no images; expected files ending in "
                         f"{', '.join(IMAGE_SUFFIXES)} (case-insensitive).")
    return files


def load_image(path) -> np.ndarray:
    """Read a ground-truth image file as a uint8 (H, W, 3) RGB array.

    Grayscale, palette, RGBA (alpha dropped), CMYK and other 8-bit modes are
    converted to RGB. Raises FileNotFoundError for a missing file and ValueError
    for a file Pillow cannot decode or a 16-bit/float image.
    """
    return _open(path, _rgb_uint8)


def _rgb_uint8(im, path):
    if im.mode in ("I", "F") or im.mode in _16BIT_MODES:
        raise ValueError(
            f"Image file '{path}' has mode '{im.mode}' (16-bit or float); "
            "only 8-bit images (RGB, RGBA, L, LA, P, CMYK, ...) are supported."
        )
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # avoids Pillow's palette-transparency warning
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))


def _open(path, decode):
    """`decode(image, path)` of a loaded Pillow image; a missing or undecodable file is named."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file '{path}' does not exist.")
    try:
        with Image.open(path) as im:
            check_still(im, path)
            im.load()
            return decode(im, path)
    except Image.DecompressionBombError as e:
        raise ValueError(bomb_message(path, e)) from e
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"Cannot read image file '{path}': {e}") from e


def bomb_message(path, error):
    """The one message for a decompression bomb: the file, its pixel count and Pillow's limit."""
    import re

    numbers = [int(n) for n in re.findall(r"\d+", str(error))]
    count = f"{numbers[0]:,} pixels" if numbers else "too many pixels"
    limit = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None
    return (f"Image file '{path}' declares {count}, more than the {limit:,} allowed (a possible decompression "
            "bomb); keras-sr refuses it rather than fill memory." if limit else
            f"Image file '{path}' declares {count} (a possible decompression bomb); keras-sr refuses it.")


def check_still(im, path):
    """Refuses an animated (or multi-page) image: only its first frame would be upscaled."""
    frames = getattr(im, "n_frames", 1)
    if getattr(im, "is_animated", False) or frames > 1:
        raise ValueError(f"Image file '{path}' is animated or multi-page ({frames} frames, {im.format}); keras-sr "
                         "upscales still images only. Extract the frames first (for example with ffmpeg) and "
                         "upscale them as a folder.")


def is_16bit(path) -> bool:
    """True when `path` holds a 16-bit (or 32-bit integer / float) image, which the outputs reduce to 8 bits."""
    try:
        with Image.open(path) as im:
            return im.mode in _16BIT_MODES or im.mode in ("I", "F")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return False


def read_image(path):
    """Read an image file for the model.

    Args:
        path: an image file Pillow can read (PNG, JPEG, BMP, WebP, ...).

    Returns:
        `(rgb, alpha, mode)`: rgb float32 (H, W, 3) in [0, 1] (grayscale replicated
        to 3 channels), alpha float32 (H, W) in [0, 1] or None, and the mode to
        save the result in, one of 'RGB', 'RGBA', 'L', 'LA'. 16-bit grayscale is
        read at full precision and reported as 'L'.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: Pillow cannot decode the file.
    """
    try:
        return _open(path, lambda im, _: _split(im))
    except ValueError as e:  # a mode _split cannot convert
        if str(e).startswith("Cannot read image file"):
            raise
        raise ValueError(f"Cannot read image file '{path}': {e}") from e


def _split(im):
    mode = im.mode
    if mode in _16BIT_MODES or mode == "I":
        g = np.asarray(im, dtype=np.float32) / 65535.0
        g = np.clip(g, 0.0, 1.0)
        return np.repeat(g[..., None], 3, axis=-1), None, "L"
    if mode == "F":
        g = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(g[..., None], 3, axis=-1), None, "L"
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("1", "L", "LA", "La"):
        im = im.convert("LA" if mode in ("LA", "La") else "L")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
    a = np.asarray(im, dtype=np.float32) / 255.0
    if im.mode == "L":
        return np.repeat(a[..., None], 3, axis=-1), None, "L"
    if im.mode == "LA":
        return np.repeat(a[..., :1], 3, axis=-1), np.ascontiguousarray(a[..., 1]), "LA"
    if im.mode == "RGBA":
        return np.ascontiguousarray(a[..., :3]), np.ascontiguousarray(a[..., 3]), "RGBA"
    return a, None, "RGB"


def write_image(path, rgb, alpha=None, mode=None, overwrite=False):
    """Write an image atomically (temp file in the same folder + rename).

    Args:
        path: output file; the format comes from its extension.
        rgb: (H, W, 3) float in [0, 1] (clipped and rounded to uint8) or uint8.
        alpha: optional (H, W) float in [0, 1] or uint8.
        mode: 'RGB', 'RGBA', 'L' or 'LA' (as returned by `read_image`); None picks
            'RGBA' when alpha is given, else 'RGB'. 'L'/'LA' store the BT.601 luma
            of rgb. An alpha channel is written only for 'RGBA'/'LA'.
        overwrite: replace an existing file; otherwise FileExistsError.

    Returns:
        The written path as a `Path`.
    """
    path = Path(path)
    if mode is None:
        mode = "RGB" if alpha is None else "RGBA"
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
    rgb8 = to_uint8(rgb)
    if rgb8.ndim != 3 or rgb8.shape[-1] != 3:
        raise ValueError(f"`rgb` must have shape (H, W, 3). Received: shape={rgb8.shape}")
    if mode in ("RGBA", "LA"):
        if alpha is None:
            raise ValueError(f"`mode`={mode!r} needs an `alpha` channel. Received: alpha=None")
        a8 = to_uint8(alpha)
        if a8.shape != rgb8.shape[:2]:
            raise ValueError(
                f"`alpha` must have shape {rgb8.shape[:2]} (the image's H, W). Received: shape={a8.shape}"
            )
    if not overwrite and path.exists():
        raise FileExistsError(f"Output file '{path}' already exists; pass overwrite=True to replace it.")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"Output file '{path}' has an unknown image extension {path.suffix!r}.")

    im = Image.fromarray(rgb8, "RGB")
    if mode in ("L", "LA"):
        im = im.convert("L")
    if mode in ("RGBA", "LA"):
        im.putalpha(Image.fromarray(a8, "L"))

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"Output folder '{folder}' of '{path}' does not exist.")
    with atomic_output(path, overwrite=overwrite) as tmp:
        try:
            im.save(tmp, format=fmt)
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"Cannot write '{path}' as {fmt} in mode {mode}: {e}") from e
    return path


def side_by_side(images, gap: int = 4, background: int = 255) -> np.ndarray:
    """Lay out labelled panels left to right, for a comparison image.

    Args:
        images: list of `(label, array)`; arrays are uint8 (or float in [0, 1])
            (H, W, 3) or (H, W). Panels of different heights are top-aligned.
        gap: pixels between panels.
        background: gray level of the gaps and the label strip.

    Returns:
        uint8 (H, W, 3) image with each label printed above its panel.
    """
    if not images:
        raise ValueError("`images` must be a non-empty list of (label, array). Received: []")
    panels = []
    for i, item in enumerate(images):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError(f"`images[{i}]` must be a (label, array) pair. Received: {type(item).__name__}")
        label, arr = item
        arr = to_uint8(arr)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=-1)
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise ValueError(f"`images[{i}]` ('{label}') must be (H, W) or (H, W, 3). Received: shape={arr.shape}")
        panels.append((str(label), arr[..., :3]))

    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes = [probe.textbbox((0, 0), label, font=font) for label, _ in panels]
    strip = max(b[3] for b in boxes) + 6
    widths = [max(a.shape[1], b[2] + 4) for (_, a), b in zip(panels, boxes)]
    height = strip + max(a.shape[0] for _, a in panels)
    width = sum(widths) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, height), (background,) * 3)
    draw = ImageDraw.Draw(canvas)
    ink = (0, 0, 0) if background >= 128 else (255, 255, 255)
    x = 0
    for (label, arr), pw in zip(panels, widths):
        draw.text((x + 2, 2), label, fill=ink, font=font)
        canvas.paste(Image.fromarray(np.ascontiguousarray(arr), "RGB"), (x, strip))
        x += pw + gap
    return np.asarray(canvas, dtype=np.uint8)
