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

import contextlib
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from keras_sr.fileio import atomic_output

from keras_sr.metrics import to_uint8

__all__ = ["IMAGE_SUFFIXES", "is_image_file", "list_images", "load_image", "read_image", "write_image",
           "side_by_side", "to_uint8", "MODES", "is_16bit", "StripWriter", "STRIP_SUFFIXES",
           "canvas_bytes_per_pixel"]

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


#: Output suffixes written in strips (`StripWriter` streams them; other formats need the whole image).
STRIP_SUFFIXES = (".png",)

_PNG_COLOR_TYPE = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}
_CHANNELS = {"L": 1, "RGB": 3, "LA": 2, "RGBA": 4}


def canvas_bytes_per_pixel(path, mode="RGB") -> int:
    """Bytes per output pixel `StripWriter` holds for `path`: 0 for a format written in strips,
    else Pillow's in-memory image (4 bytes a pixel for RGB, RGBA and LA, 1 for L)."""
    if Path(path).suffix.lower() in STRIP_SUFFIXES:
        return 0
    return 1 if mode == "L" else 4


class StripWriter:
    """Writes an image file top to bottom, one band of rows at a time, atomically.

    PNG is encoded as the rows arrive (Paeth filter, zlib level 6), so only the current
    band is ever in memory. Other formats collect the bands in one Pillow image
    (`canvas_bytes_per_pixel`), which is written when the writer closes. Nothing exists
    at `path` until every row has been written: an error or an interruption leaves no
    partial file.

        with StripWriter("out.png", width, height, mode="RGB") as writer:
            for first_row, band in upscale_bands(...):
                writer.write(band)

    Args:
        path: output file; the format comes from its extension.
        width, height: the image size in pixels.
        mode: 'RGB', 'RGBA', 'L' or 'LA'; 'L'/'LA' store the luma of the rgb rows
            (Pillow's convert('L'), as `write_image`).
        overwrite: replace an existing file; otherwise FileExistsError.
    """

    def __init__(self, path, width, height, mode="RGB", overwrite=False):
        self.path = Path(path)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        self.width, self.height, self.mode = int(width), int(height), mode
        if min(self.width, self.height) < 1:
            raise ValueError(f"`width` and `height` must be >= 1. Received: {width}x{height}")
        self.format = Image.registered_extensions().get(self.path.suffix.lower())
        if self.format is None:
            raise ValueError(f"Output file '{self.path}' has an unknown image extension {self.path.suffix!r}.")
        if not overwrite and self.path.exists():
            raise FileExistsError(f"Output file '{self.path}' already exists; pass overwrite=True to replace it.")
        self.overwrite = overwrite
        self.rows_written = 0
        self._stack = None

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite))
        if self.path.suffix.lower() in STRIP_SUFFIXES:
            self._file = self._stack.enter_context(open(self._tmp, "wb"))
            self._file.write(b"\x89PNG\r\n\x1a\n")
            self._chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height, 8,
                                             _PNG_COLOR_TYPE[self.mode], 0, 0, 0))
            self._zlib = zlib.compressobj(6)
            self._previous = np.zeros(self.width * _CHANNELS[self.mode], np.uint8)
            self._canvas = None
        else:
            self._canvas = Image.new(self.mode, (self.width, self.height))
        return self

    def __exit__(self, kind, error, trace):
        if kind is None:
            try:
                if self.rows_written != self.height:
                    raise ValueError(f"'{self.path}': {self.rows_written} of {self.height} rows were written; "
                                     "the image is incomplete.")
                self._finish()
            except BaseException:
                self._stack.__exit__(*sys.exc_info())  # removes the temporary file
                raise
        return self._stack.__exit__(kind, error, trace)

    def write(self, rgb, alpha=None):
        """Appends rows: rgb (n, width, 3) uint8 (or float in [0, 1]); alpha (n, width) for 'RGBA'/'LA'."""
        rgb8 = to_uint8(rgb)
        if rgb8.ndim != 3 or rgb8.shape[1:] != (self.width, 3):
            raise ValueError(f"`rgb` rows must have shape (n, {self.width}, 3). Received: shape={rgb8.shape}")
        n = rgb8.shape[0]
        if self.rows_written + n > self.height:
            raise ValueError(f"'{self.path}' is {self.height} rows high; {self.rows_written + n} were given.")
        pixels = np.asarray(Image.fromarray(rgb8, "RGB").convert("L"))[..., None] if self.mode in ("L", "LA") else rgb8
        if self.mode in ("RGBA", "LA"):
            if alpha is None:
                raise ValueError(f"`mode`={self.mode!r} needs an `alpha` channel. Received: alpha=None")
            a8 = to_uint8(alpha)
            if a8.shape != (n, self.width):
                raise ValueError(f"`alpha` rows must have shape {(n, self.width)}. Received: shape={a8.shape}")
            pixels = np.concatenate([pixels, a8[..., None]], axis=-1)
        if self._canvas is not None:
            self._canvas.paste(Image.fromarray(np.ascontiguousarray(pixels.squeeze(-1) if self.mode == "L" else pixels),
                                               self.mode), (0, self.rows_written))
        else:
            flat = pixels.reshape(n, -1)
            # A few rows at a time: the filter's int16 temporaries stay small beside the band.
            step = max(1, (4 << 20) // flat.shape[1])
            for start in range(0, n, step):
                self._encode(flat[start : start + step])
        self.rows_written += n

    def _encode(self, rows):
        channels = _CHANNELS[self.mode]
        above = np.concatenate([self._previous[None], rows[:-1]]).astype(np.int16)
        raw = rows.astype(np.int16)
        left = np.zeros_like(raw)
        left[:, channels:] = raw[:, :-channels]
        upper_left = np.zeros_like(above)
        upper_left[:, channels:] = above[:, :-channels]
        # Paeth predictor (PNG spec 9.4): the neighbour closest to left + above - upper_left.
        guess = left + above - upper_left
        pa, pb, pc = np.abs(guess - left), np.abs(guess - above), np.abs(guess - upper_left)
        predicted = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left))
        filtered = ((raw - predicted) & 0xFF).astype(np.uint8)
        lines = np.concatenate([np.full((rows.shape[0], 1), 4, np.uint8), filtered], axis=1)
        self._idat(self._zlib.compress(lines.tobytes()))
        self._previous = rows[-1].copy()

    def _idat(self, data):
        if data:
            self._chunk(b"IDAT", data)

    def _chunk(self, kind, data):
        self._file.write(struct.pack(">I", len(data)) + kind + data
                         + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    def _finish(self):
        if self._canvas is None:
            self._idat(self._zlib.flush())
            self._chunk(b"IEND", b"")
            return
        try:
            self._canvas.save(self._tmp, format=self.format)
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"Cannot write '{self.path}' as {self.format} in mode {self.mode}: {e}") from e
        finally:
            self._canvas = None


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
