"""Upscale image files with a shipped preset, a .tflite file or Keras weights.

    keras-sr upscale IN... -o OUT [--model PRESET | --tflite FILE | --weights W]
        [--scale S] [--tile T --overlap P] [--num-threads N] [--force]

IN is one or more image files or folders (the images directly inside, sorted). One
input file writes the file OUT; several inputs or a folder write into the folder OUT
(created), each result under its input's file name. Any input size works; grayscale
images stay grayscale (the model sees the gray value in R, G and B, the luma of its
output is saved); an alpha channel is upscaled on its own with PIL's bicubic filter.
No output is overwritten without --force, and all outputs are checked before any
work starts.

The model: a preset (`--model fd_irb_x4`, see `keras_sr.presets`) runs its shipped
int8 file; `--tflite FILE` any .tflite file; `--weights W` a Keras checkpoint (needs
TensorFlow). Without any of them, the default preset at `--scale` (4 if not given).
Only the Keras path imports TensorFlow.

Tiling (`--tile T --overlap P`, LR pixels): windows of T x T pixels, each keeping
P pixels of context on every side that is cropped away (no blending), see
`keras_sr.lite.tiling`. It bounds memory, and a fixed-shape model always runs tiled.
How close tiled output is to whole-image output, per network: docs/tiling.md.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_sr.data.imageio import StripWriter, canvas_bytes_per_pixel, is_16bit, list_images, read_image, to_uint8
from keras_sr.lite.tiling import count_tiles, upscale_bands, upscale_tiled

__all__ = [
    "DEFAULT_OVERLAP",
    "default_model_path",
    "tflite_file",
    "load_predictor",
    "upscale_image",
    "upscale_image_alpha",
    "upscale_to_file",
    "upscale_files",
    "plan_outputs",
    "main",
]

#: Context pixels per window side when --tile is given without --overlap.
DEFAULT_OVERLAP = 16


def default_model_path(scale=4) -> Path:
    """The int8 file of the default preset at `scale` (see `keras_sr.presets.default`).

    Raises:
        ValueError: no preset is shipped at that scale.
    """
    from keras_sr import presets

    return Path(presets.default(scale).tflite)


class Predictor:
    """An SR function LR float (H, W, 3) -> SR float (sH, sW, 3) with what tiling needs to know."""

    def __init__(self, fn, scale, fixed_size=None, description=""):
        self.fn, self.scale, self.fixed_size, self.description = fn, int(scale), fixed_size, description

    def __call__(self, lr):
        return self.fn(lr)


def tflite_file(model=None, tflite=None, scale=None) -> Path:
    """The .tflite file to run: `tflite` itself, the int8 file of preset `model`, or the
    default preset's at `scale` (4 if None)."""
    from keras_sr import presets

    if tflite is not None:
        if model is not None:
            raise ValueError(f"Give one of `model` and `tflite`. Received: model={model!r}, tflite={tflite!r}")
        path = Path(tflite)
        if not path.is_file():
            raise FileNotFoundError(f"`tflite` file '{path}' does not exist.")
        return path
    if model is None:
        return default_model_path(4 if scale is None else scale)
    if presets.is_preset(model):
        return Path(presets.get(model).tflite)
    raise ValueError(
        f"`model`={model!r} is not a shipped preset (available: {presets.names()}); a registered "
        "network needs `weights`, and any .tflite file goes in `tflite`."
    )


def load_predictor(model=None, tflite=None, weights=None, scale=None, config=None, num_threads=None,
                   use_xnnpack=True) -> Predictor:
    """The model to upscale with.

    Args:
        model: a preset name (runs its shipped int8 file), or a registered network
            name for `weights` without a sidecar. None with no `tflite`/`weights`: the
            default preset at `scale` (4 if None).
        tflite: a .tflite file.
        weights: a Keras `.weights.h5` checkpoint: run the Keras model (imports TensorFlow).
        scale: expected upscaling factor; a model with another scale is an error.
        config: model config overrides for a checkpoint without a sidecar.
        num_threads: TFLite interpreter threads (>= 1); None: the runtime's default.
        use_xnnpack: TFLite's default XNNPACK delegate.

    Returns:
        A `Predictor` (callable, with `.scale` and `.fixed_size` (H, W) or None).
    """
    from keras_sr import presets

    if sum(x is not None for x in (tflite, weights)) > 1:
        raise ValueError(f"Give one of `tflite` and `weights`. Received: tflite={tflite!r}, weights={weights!r}")
    if weights is not None:
        if model is not None and presets.is_preset(model):
            raise ValueError(f"`model`={model!r} is a preset, which brings its own weights; drop `weights` "
                             "or name a registered network.")
        # Imported here: the TFLite path must work where TensorFlow is not installed.
        from keras_sr import checkpoints

        keras_model, meta = checkpoints.load_model(weights, name=model, scale=scale, config=config)

        def run(lr):
            return keras_model(np.asarray(lr, np.float32)[None], training=False).numpy()[0]

        return Predictor(run, meta["scale"], None, f"Keras {meta['model']} x{meta['scale']} from '{weights}'")
    if config:
        raise ValueError("`config` applies to a Keras checkpoint only; give `weights`.")
    path = tflite_file(model, tflite, scale)
    from keras_sr.lite.runtime import TFLiteSR, note_unverified

    runtime = TFLiteSR(path, num_threads=num_threads, use_xnnpack=use_xnnpack)
    note_unverified(runtime)
    if scale is not None and runtime.scale != scale:
        raise ValueError(
            f"Model file '{path}' upscales x{runtime.scale}, which does not match `scale`. Received: scale={scale}"
        )
    return Predictor(runtime.predict, runtime.scale, runtime.fixed_size, f"TFLite {runtime.precision} '{path}'")


#: Interpreters `upscale_files(runtime=...)` runs a .tflite with.
RUNTIMES = ("litert", "tflm")


def tflm_predictor(model=None, tflite=None, weights=None, scale=None, tile=None, overlap=None) -> Predictor:
    """A preset's or a file's .tflite run tile by tile in TFLite Micro's interpreter (`keras_sr.lite.tflm`).

    The predictor takes a whole LR image and runs the tile plan itself (`tile`, `overlap`: see TFLMSR).
    """
    if weights is not None:
        raise ValueError("`runtime`='tflm' runs a .tflite file: give `model` (a preset) or `tflite`, not `weights`.")
    from keras_sr.lite.tflm import TFLMSR

    path = tflite_file(model, tflite, scale)
    sr = TFLMSR(path, tile=tile, overlap=overlap)
    if scale is not None and sr.scale != scale:
        raise ValueError(f"Model file '{path}' upscales x{sr.scale}, which does not match `scale`. Received: scale={scale}")
    return Predictor(sr.upscale, sr.scale, None, f"TFLM {sr!r}")


def upscale_image(predictor, rgb, alpha=None, tile=None, overlap=DEFAULT_OVERLAP, dtype=np.float32):
    """Upscale one image.

    Args:
        predictor: a `Predictor` (or any callable with `.scale`, `.fixed_size`).
        rgb: float (H, W, 3) in [0, 1].
        alpha: optional float (H, W) in [0, 1], upscaled with PIL bicubic.
        tile: LR window size (int or (H, W)); None: the whole image at once
            (a fixed-shape model always uses its own size).
        overlap: context pixels per window side when tiling.
        dtype: np.float32, or np.uint8 to quantize tile by tile (`to_uint8`), so that with
            `tile` the full-size output never exists in float32 (what `upscale_files` writes).

    Returns:
        (sr_rgb (sH, sW, 3), sr_alpha (sH, sW) or None): float32 clipped to [0, 1], or uint8.
    """
    s = predictor.scale
    h, w = rgb.shape[:2]
    rgb, tile, overlap = _fit_model_size(predictor, rgb, tile, overlap)
    as_uint8 = np.dtype(dtype) == np.uint8
    sr = upscale_tiled(predictor, rgb, s, tile=tile, overlap=overlap,
                       convert=to_uint8 if as_uint8 else None)[: s * h, : s * w]
    if not as_uint8:
        sr = np.clip(sr, 0.0, 1.0).astype(np.float32)
    sr_alpha = None
    if alpha is not None:
        sr_alpha = upscale_image_alpha(alpha, s)
        sr_alpha = sr_alpha if as_uint8 else sr_alpha.astype(np.float32) / 255.0
    return sr, sr_alpha


def upscale_image_alpha(alpha, scale):
    """An alpha channel (H, W) float in [0, 1] or uint8, upscaled with PIL's bicubic filter: uint8 (sH, sW)."""
    h, w = np.shape(alpha)
    return np.asarray(Image.fromarray(to_uint8(alpha), "L").resize((scale * w, scale * h), Image.BICUBIC), np.uint8)


def _fit_model_size(predictor, rgb, tile, overlap):
    """(rgb, tile, overlap) for the model: a fixed-shape model runs tiles of its own size, on an
    image edge-padded up to that size (the caller crops the padding away)."""
    fixed = getattr(predictor, "fixed_size", None)
    if fixed is None:
        return rgb, tile, overlap
    if tile is not None and tuple(np.broadcast_to(tile, 2)) != tuple(fixed):
        raise ValueError(
            f"The model has a fixed input size {fixed[1]}x{fixed[0]} (WxH); `tile` must be that size or "
            f"None. Received: tile={tile!r}"
        )
    fh, fw = fixed
    h, w = rgb.shape[:2]
    rgb = np.pad(rgb, ((0, max(fh - h, 0)), (0, max(fw - w, 0)), (0, 0)), mode="edge")
    return rgb, tuple(fixed), min(overlap, (min(fh, fw) - 1) // 2)


def upscale_to_file(predictor, rgb, output, alpha=None, mode=None, tile=None, overlap=DEFAULT_OVERLAP,
                    overwrite=False, on_tile=None):
    """Upscale one image straight into the file `output`, one band of tiles at a time.

    The output exists in memory only as the current band (PNG, written in strips) or as
    Pillow's image of it (other formats, `canvas_bytes_per_pixel`); never in float32.
    Pixels equal `upscale_image(..., dtype=np.uint8)` written with `write_image`.

    Args:
        predictor, rgb, alpha, tile, overlap: as `upscale_image`.
        output: the image file to write (atomically; see `keras_sr.data.imageio.StripWriter`).
        mode: 'RGB', 'RGBA', 'L' or 'LA' (as `read_image` returns); None: 'RGBA' with alpha, else 'RGB'.
        overwrite: replace an existing `output`.
        on_tile: called after each window (progress).

    Returns:
        The written path.
    """
    s = predictor.scale
    h, w = rgb.shape[:2]
    mode = mode or ("RGB" if alpha is None else "RGBA")
    rgb, tile, overlap = _fit_model_size(predictor, rgb, tile, overlap)
    # Alpha goes through Pillow's bicubic filter as one image (1 byte per output pixel): Pillow's
    # resize of a row band (`box=`) does not reproduce the whole resize's pixels exactly.
    sr_alpha = None if alpha is None else upscale_image_alpha(alpha, s)
    with StripWriter(output, s * w, s * h, mode, overwrite=overwrite) as writer:
        for row, band in upscale_bands(predictor, rgb, s, tile, overlap, convert=to_uint8, on_tile=on_tile):
            rows = min(band.shape[0], s * h - row)
            if rows <= 0:  # rows of a fixed-shape model's padding
                continue
            writer.write(band[:rows, : s * w], None if sr_alpha is None else sr_alpha[row : row + rows])
    return Path(output)


def _list_inputs(inputs):
    files, folder_given = [], False
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            folder_given = True
            files.extend(list_images(p, "input folder"))
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"Input '{p}' does not exist.")
    if not files:
        raise ValueError("No input images given.")
    return files, folder_given


def _check_readable(path):
    from keras_sr.data.imageio import bomb_message, check_still

    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - opening parses the header
            if min(im.size) < 1:
                raise ValueError(f"Image file '{path}' is empty ({im.size[0]}x{im.size[1]} pixels).")
            check_still(im, path)
    except Image.DecompressionBombError as e:
        raise ValueError(bomb_message(path, e)) from e
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"Cannot read image file '{path}': {e}") from e


def plan_outputs(inputs, output, force=False):
    """[(input file, output file)] after every check that can be made before upscaling.

    One input file and an `output` that is not an existing folder: `output` is the
    file. Otherwise `output` is a folder holding one file per input, named as the input.
    """
    files, folder_given = _list_inputs(inputs)
    output = Path(output)
    if len(files) == 1 and not folder_given and not output.is_dir():
        plan = [(files[0], output)]
    else:
        if output.exists() and not output.is_dir():
            raise ValueError(f"Several inputs need a folder as `-o`; '{output}' is a file.")
        plan = [(f, output / f.name) for f in files]
        seen = {}
        for f, out in plan:
            if out.name in seen:
                raise ValueError(
                    f"Inputs '{seen[out.name]}' and '{f}' would both be written to '{out}'; "
                    "upscale them into different folders."
                )
            seen[out.name] = f
    for f, out in plan:
        _check_readable(f)
        if out.suffix.lower() not in Image.registered_extensions():
            raise ValueError(f"Output file '{out}' has an unknown image extension {out.suffix!r}.")
        if out.exists() and out.resolve() == f.resolve():
            raise ValueError(f"Output file '{out}' is the input file; choose another -o.")
    existing = [str(out) for _, out in plan if out.exists()]
    if existing and not force:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        raise FileExistsError(
            f"Output file(s) {', '.join(repr(e) for e in existing[:3])}{more} already exist; "
            "pass force=True (--force) to overwrite."
        )
    return plan


#: The LR tile size `fit_memory` falls back to when a whole image would not fit in memory.
AUTO_TILE = 256
# Bytes per LR pixel of a window's activations: a few live 64-channel float32 tensors (an
# upper estimate, as keras_sr.lite.bench makes it; int8 models use less).
_ACTIVATION_BYTES_PER_PIXEL = 4 * 8 * 64


def job_bytes(h, w, scale, tile=None, canvas_bytes=4, has_alpha=False):
    """A rough upper estimate of the memory `upscale_files` needs for an h x w LR image, in bytes.

    The LR input (decoded, float RGB and alpha), one window's activations and float output
    (twice: quantizing it to uint8), one band of output rows in uint8 (a row of windows;
    the whole output when `tile` is None), the output image held for writing:
    `canvas_bytes` per output pixel (0 for a PNG, written in strips; see `canvas_bytes_per_pixel`),
    and the upscaled alpha channel (1 byte per output pixel) when `has_alpha`.
    """
    h, w = int(h), int(w)
    out_px = h * w * scale * scale
    wh, ww = (h, w) if tile is None else (min(tile, h), min(tile, w))
    window = wh * ww * (_ACTIVATION_BYTES_PER_PIXEL + 2 * 4 * 3 * scale * scale)
    band = scale * wh * scale * w * 4
    return out_px * (canvas_bytes + bool(has_alpha)) + band + window + (4 + 12 + 1) * h * w


def fit_memory(plan, scale, tile, overlap, fixed_size=None, available=None):
    """The tile to upscale `plan` with, decided before any work starts.

    `tile`, unless a whole image (tile None) would not fit in the memory available: then
    AUTO_TILE, with a one-line note. A job that does not fit even so is refused with the
    estimate (ValueError).
    """
    from keras_sr.validation import available_memory_bytes

    available = available_memory_bytes() if available is None else available
    if available is None:
        return tile
    chosen = tile
    for src, dst in plan:
        with Image.open(src) as im:
            w, h = im.size
            has_alpha = "A" in im.mode or "transparency" in im.info
        canvas = canvas_bytes_per_pixel(dst)
        window = max(fixed_size) if fixed_size is not None else chosen
        need = job_bytes(h, w, scale, window, canvas, has_alpha)
        if need <= available:
            continue
        auto = max(AUTO_TILE, 2 * overlap + 1)
        if chosen is None and fixed_size is None and job_bytes(h, w, scale, auto, canvas, has_alpha) <= available:
            print(f"note: '{src}' ({w}x{h}) needs about {need / 2**30:.1f} GiB as one window, more than the "
                  f"{available / 2**30:.1f} GiB available; upscaling in {auto}-pixel tiles (`tile`, --tile).",
                  file=sys.stderr)
            chosen = auto
            continue
        output = h * w * scale * scale * 3
        strips = "" if canvas == 0 else ", or a .png output (written in strips, never whole in memory)"
        raise ValueError(
            f"Image file '{src}' ({w}x{h}) upscaled x{scale} needs about {need / 2**30:.1f} GiB "
            f"({output / 2**30:.1f} GiB is the output image itself); this machine has {available / 2**30:.1f} GiB "
            f"available. Use a smaller `tile` (--tile){strips}, or a smaller input."
        )
    return chosen


def _tile_progress(enabled, total, name):
    """A tqdm bar over the windows of one image (None when off, small, or tqdm is missing)."""
    if not enabled or total < 4:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional on a board
        return None
    return tqdm(total=total, unit="tile", desc=name, leave=False)


def upscale_files(
    inputs,
    output,
    model=None,
    tflite=None,
    weights=None,
    scale=None,
    config=None,
    tile=None,
    overlap=DEFAULT_OVERLAP,
    num_threads=None,
    use_xnnpack=True,
    force=False,
    progress=True,
    runtime="litert",
):
    """Upscale image files; the library half of `keras-sr upscale` (keyword names match the flags).

    Args:
        inputs: image files and/or folders.
        output: output file (one input file) or folder.
        model, tflite, weights, scale, config, num_threads, use_xnnpack: see `load_predictor`.
        tile, overlap: see `upscale_image`.
        force: overwrite existing outputs.
        progress: show tqdm progress bars: images when there are several, tiles when an image has
            four windows or more.
        runtime: "litert" (ai-edge-litert) or "tflm": TFLite Micro's interpreter, tile by tile at
            `tile` (needed for a dynamic-shape file; a bundle's fixed-shape model.tflite brings its
            own), `overlap` None meaning the bundle's (see `keras_sr.lite.tflm.TFLMSR`).

    Returns:
        The list of written paths.
    """
    from keras_sr.validation import check_int, check_num_threads

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if runtime not in RUNTIMES:
        raise ValueError(f"`runtime` must be one of {RUNTIMES}. Received: runtime={runtime!r}")
    if runtime == "tflm":
        plan = plan_outputs(inputs, output, force=force)
        predictor = tflm_predictor(model=model, tflite=tflite, weights=weights, scale=scale, tile=tile, overlap=overlap)
        tile, overlap = None, 0  # the TFLM predictor runs the tile plan itself, in one child process per image
    else:
        overlap = check_int(overlap, "overlap", 0)
    check_num_threads(num_threads)
    if tile is not None:
        check_int(tile, "tile", 1)
        if tile <= 2 * overlap:
            raise ValueError(f"`tile` must be greater than 2 x `overlap` (each window keeps `overlap` pixels of "
                             f"context on both sides). Received: tile={tile}, overlap={overlap}")
    if runtime != "tflm":
        plan = plan_outputs(inputs, output, force=force)
        predictor = load_predictor(model=model, tflite=tflite, weights=weights, scale=scale, config=config,
                                   num_threads=num_threads, use_xnnpack=use_xnnpack)
        tile = fit_memory(plan, predictor.scale, tile, overlap, getattr(predictor, "fixed_size", None))
    if len(plan) > 1:
        Path(output).mkdir(parents=True, exist_ok=True)
    iterator = plan
    if progress and len(plan) > 1:
        try:
            from tqdm import tqdm

            iterator = tqdm(plan, unit="img", desc=f"x{predictor.scale}")
        except ImportError:  # tqdm is optional on a board
            pass
    written = []
    for src, dst in iterator:
        rgb, alpha, mode = read_image(src)
        if is_16bit(src):
            print(f"note: '{src}' has more than 8 bits per sample; '{dst}' is written with 8.", file=sys.stderr)
        fixed = getattr(predictor, "fixed_size", None)
        bar = _tile_progress(progress, count_tiles(rgb.shape, fixed or tile, overlap), Path(src).name)
        try:
            written.append(upscale_to_file(predictor, rgb, dst, alpha=alpha, mode=mode, tile=tile, overlap=overlap,
                                           overwrite=force, on_tile=bar.update if bar else None))
        finally:
            if bar is not None:
                bar.close()
    return written


def main(argv=None) -> int:
    """`python -m keras_sr.upscale`: the same as `keras-sr upscale`."""
    from keras_sr.cli.upscale import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
