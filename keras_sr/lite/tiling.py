"""Tiled upscaling: run an SR function on overlapping LR windows and stitch the results.

Numpy only. Each window carries `overlap` LR pixels of context on each side of
the part of it that is kept; the context is cropped away (no blending). For a
model whose output pixel depends only on LR pixels within a radius r (a stack of
'same'-padded convolutions and pixel shuffles), `overlap >= r` makes the result
identical to upscaling the whole image, because windows that touch the image
border use the same padding as the whole image. Models with global statistics
(e.g. contrast/channel attention pooled over the whole image) are only
approximated, better with larger tiles.
"""
from __future__ import annotations

import numpy as np

from keras_sr.validation import check_int, check_pixels

__all__ = ["upscale_tiled", "upscale_bands", "tile_windows", "count_tiles"]


def _as_pair(value, name):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or an (H, W) pair. Received: {name}={value!r}")
        return tuple(value)
    return (value, value)


def tile_windows(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Split one axis of `length` LR pixels into windows.

    Args:
        length: image size along the axis.
        tile: window size (the input given to the model), including context.
        overlap: context pixels kept on each side of the written part of a window.

    Returns:
        A list of `(win_start, win_end, keep_start, keep_end)` in image coordinates:
        the model sees [win_start, win_end) and its output for [keep_start,
        keep_end) is written. The keep ranges tile [0, length) without gaps or
        overlaps; every kept pixel has >= `overlap` pixels of context on both
        sides or lies within `overlap` pixels of the image border, which the
        window then touches. All windows have size `tile` when `length >= tile`
        (the last one is shifted back inside the image), so fixed-shape models
        work; a shorter axis gives one window of the whole axis.
    """
    if length <= tile:
        return [(0, length, 0, length)]
    windows = []
    start, keep_start = 0, 0
    while True:
        end = start + tile
        keep_end = length if end >= length else end - overlap
        windows.append((start, end, keep_start, keep_end))
        if keep_end == length:
            return windows
        keep_start = keep_end
        start = min(keep_end - overlap, length - tile)


def count_tiles(shape, tile=None, overlap: int = 0) -> int:
    """How many windows `upscale_tiled` runs for an LR image of `shape` (H, W, ...)."""
    if tile is None:
        return 1
    th, tw = _as_pair(tile, "tile")
    return len(tile_windows(shape[0], th, overlap)) * len(tile_windows(shape[1], tw, overlap))


def upscale_tiled(predict_fn, image, scale: int, tile=None, overlap: int = 0, convert=None, on_tile=None) -> np.ndarray:
    """Upscale `image` window by window with `predict_fn`.

    Args:
        predict_fn: maps an LR window float (h, w, C) to its SR output (scale*h, scale*w, C'),
            e.g. `TFLiteSR(...).predict`.
        image: float (H, W, C) LR image.
        scale: upscaling factor of `predict_fn` (integer >= 1).
        tile: window size in LR pixels, context included: an int or an (H, W) pair;
            None runs the whole image at once. Must be > 2 * overlap.
        overlap: LR pixels of context on each side of the kept part of a window
            (use >= the model's receptive-field radius for an exact result).
        convert: optional function applied to each kept block before it is stored
            (e.g. `keras_sr.metrics.to_uint8`): the full-size output then exists only
            in its dtype, never as float32.
        on_tile: optional function called with no argument after each window (progress).

    Returns:
        The (scale*H, scale*W, C') output, in predict_fn's dtype (or `convert`'s).
    """
    out = None
    for row, band in upscale_bands(predict_fn, image, scale, tile, overlap, convert, on_tile):
        if out is None:
            if row == 0 and band.shape[0] == scale * np.shape(image)[0]:
                return band  # one band: the whole output
            out = np.empty((scale * np.shape(image)[0],) + band.shape[1:], dtype=band.dtype)
        out[row : row + band.shape[0]] = band
    return out


def upscale_bands(predict_fn, image, scale: int, tile=None, overlap: int = 0, convert=None, on_tile=None):
    """`upscale_tiled`, one band of output rows at a time, top to bottom.

    Yields `(first_row, band)`: `band` holds output rows [first_row, first_row + len(band))
    at full output width, made from one row of windows. Only one band exists at a time, so
    a writer that takes rows in order (a PNG written in strips) never holds the whole output.
    Arguments as `upscale_tiled`; the checks run before the first window.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"`image` must have shape (H, W, C). Received: shape={image.shape}")
    if min(image.shape[:2]) < 1:
        raise ValueError(f"`image` is empty: it must be at least 1x1 pixels. Received: shape={image.shape}")
    check_pixels(image, "image")
    scale = check_int(scale, "scale", 1)
    overlap = check_int(overlap, "overlap", 0)
    convert = convert or (lambda block: block)
    on_tile = on_tile or (lambda: None)
    h, w = image.shape[:2]
    if tile is None:
        th, tw = h, w
    else:
        th, tw = (check_int(t, "tile", 1) for t in _as_pair(tile, "tile"))
        if min(th, tw) <= 2 * overlap:
            raise ValueError(
                "`tile` must be greater than 2 * `overlap` (a window keeps `overlap` pixels of context "
                f"on each side). Received: tile={tile!r}, overlap={overlap}"
            )
    rows, cols = tile_windows(h, th, overlap), tile_windows(w, tw, overlap)
    return _bands(predict_fn, image, scale, rows, cols, convert, on_tile)


def _bands(predict_fn, image, s, rows, cols, convert, on_tile):
    for y0, y1, ky0, ky1 in rows:
        band = None
        for x0, x1, kx0, kx1 in cols:
            sr = _run(predict_fn, image[y0:y1, x0:x1], s)
            kept = convert(sr[s * (ky0 - y0) : s * (ky1 - y0), s * (kx0 - x0) : s * (kx1 - x0)])
            on_tile()
            if len(cols) == 1:
                band = kept
                break
            if band is None:
                band = np.empty((s * (ky1 - ky0), s * image.shape[1]) + kept.shape[2:], dtype=kept.dtype)
            band[:, s * kx0 : s * kx1] = kept
        yield s * ky0, band


def _run(predict_fn, window, scale):
    sr = np.asarray(predict_fn(window))
    expected = (scale * window.shape[0], scale * window.shape[1])
    if sr.ndim != 3 or sr.shape[:2] != expected:
        raise ValueError(
            f"`predict_fn` must map an LR window of shape {window.shape} to an output of shape "
            f"({expected[0]}, {expected[1]}, C) for scale={scale}. Received: shape={sr.shape}"
        )
    return sr
