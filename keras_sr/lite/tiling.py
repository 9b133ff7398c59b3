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

__all__ = ["upscale_tiled", "tile_windows"]


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


def upscale_tiled(predict_fn, image, scale: int, tile=None, overlap: int = 0, convert=None) -> np.ndarray:
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

    Returns:
        The (scale*H, scale*W, C') output, in predict_fn's dtype (or `convert`'s).
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
    if tile is None:
        return convert(_run(predict_fn, image, scale))
    th, tw = (check_int(t, "tile", 1) for t in _as_pair(tile, "tile"))
    if min(th, tw) <= 2 * overlap:
        raise ValueError(
            "`tile` must be greater than 2 * `overlap` (a window keeps `overlap` pixels of context "
            f"on each side). Received: tile={tile!r}, overlap={overlap}"
        )
    h, w = image.shape[:2]
    rows, cols = tile_windows(h, th, overlap), tile_windows(w, tw, overlap)
    if len(rows) == 1 and len(cols) == 1:
        return convert(_run(predict_fn, image, scale))
    out = None
    s = scale
    for y0, y1, ky0, ky1 in rows:
        for x0, x1, kx0, kx1 in cols:
            sr = _run(predict_fn, image[y0:y1, x0:x1], s)
            kept = convert(sr[s * (ky0 - y0) : s * (ky1 - y0), s * (kx0 - x0) : s * (kx1 - x0)])
            if out is None:
                out = np.empty((s * h, s * w) + kept.shape[2:], dtype=kept.dtype)
            out[s * ky0 : s * ky1, s * kx0 : s * kx1] = kept
    return out


def _run(predict_fn, window, scale):
    sr = np.asarray(predict_fn(window))
    expected = (scale * window.shape[0], scale * window.shape[1])
    if sr.ndim != 3 or sr.shape[:2] != expected:
        raise ValueError(
            f"`predict_fn` must map an LR window of shape {window.shape} to an output of shape "
            f"({expected[0]}, {expected[1]}, C) for scale={scale}. Received: shape={sr.shape}"
        )
    return sr
