"""Upscale image files with a .tflite model (or a Keras checkpoint).

    python -m keras_sr.upscale IN... -o OUT [--model FILE.tflite | --model NAME --weights W]
        [--scale S] [--tile T --overlap P] [--threads N] [--force]

IN is one or more image files or folders (the images directly inside, sorted). One
input file writes the file OUT; several inputs or a folder write into the folder OUT
(created), each result under its input's file name. Any input size works; grayscale
images stay grayscale (the model sees the gray value in R, G and B, the luma of its
output is saved); an alpha channel is upscaled on its own with PIL's bicubic filter.
No output is overwritten without --force, and all outputs are checked before any
work starts. Without --model the shipped int8 edge model `keras_sr/pretrained/fd_irb_edge_x{S}_int8.tflite`
is used (`default_model_path`). `--model NAME --weights W` runs the Keras model of a
checkpoint instead (needs TensorFlow); without --weights only TensorFlow-free modules
are imported.

Tiling (`--tile T --overlap P`, LR pixels): windows of T x T pixels, each keeping
P pixels of context on every side that is cropped away (no blending), see
`keras_sr.lite.tiling`. It bounds memory, and a fixed-shape model always runs tiled.

When is tiled == whole-image? Measured with the reference weights of
../shared/reference (*_x4.npz, ported, converted to float32 TFLite, XNNPACK),
Set5 'baby' (512x512 HR -> 128x128 LR at x4), tile 64; PSNR is Y, shave 4, of the
tiled vs the whole-image output:

* rdn has no attention: it is tile-exact once the overlap covers its receptive
  field. Each 3x3 conv at LR adds one pixel of radius (sfe1, sfe2, the D*C dense
  convs, gff_1, the first upscale conv); at x4 the second upscale conv adds 1/2 and
  the HR output conv 1/s LR pixel: radius = D*C + 4 (+ 1/2 at x4) + 1/s, rounded up.
  rdn_small (D=3, C=4, x4): 16.75 -> 17, confirmed by the input gradient of one
  output pixel (non-zero over exactly +-17 LR pixels). Overlap 17: max abs 0
  (bit-identical); 15-16: ~2e-7; 8: 4.8e-6 (111 dB), since the outer ring of the
  receptive field contributes little with these weights. The paper RDN (D=16,
  C=8, x4) needs overlap >= 133; a small test RDN (D=2, C=2, x2) needs 9.
* fd_irb, split and rdcab_recursive pool attention statistics (mean, or mean +
  std) over the whole image, so every output pixel depends on every input pixel and
  no overlap makes them exact. Tiled vs whole, overlap 8 / 16:
  fd_irb 70.97 / 71.20 dB (max abs 8e-4 / 1e-3), split 72.80 / 73.28 dB
  (2e-4 / 3e-4), rdcab_recursive 66.96 / 67.31 dB (2.5e-3 / 3.9e-3); PSNR vs
  the HR image unchanged to 0.01 dB. Tile 32 overlap 8: 68.3 / 68.7 / 64.4 dB. The
  error comes from the statistics, not the seams, so more overlap helps little and
  larger tiles help most. (The reference weights are seeded random initialisations, not
  trained models: read the numbers as sizes of the tiling error.)
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_sr import pretrained
from keras_sr.cli_utils import parse_set_options
from keras_sr.lite.image_io import read_image, to_uint8, write_image
from keras_sr.lite.tiling import upscale_tiled

__all__ = [
    "DEFAULT_OVERLAP",
    "default_model_path",
    "load_predictor",
    "upscale_image",
    "upscale_files",
    "main",
]

#: Context pixels per window side when --tile is given without --overlap.
DEFAULT_OVERLAP = 16
#: Suffixes of the images taken from an input folder (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def default_model_path(scale=4) -> Path:
    """The shipped int8 edge model for `scale` (see `keras_sr.pretrained`).

    Raises:
        FileNotFoundError: no such file is shipped (name the model with --model).
    """
    return pretrained.tflite_path(scale)


class Predictor:
    """An SR function LR float (H, W, 3) -> SR float (sH, sW, 3) with what tiling needs to know."""

    def __init__(self, fn, scale, fixed_size=None, description=""):
        self.fn, self.scale, self.fixed_size, self.description = fn, int(scale), fixed_size, description

    def __call__(self, lr):
        return self.fn(lr)


def load_predictor(model=None, weights=None, scale=None, config=None, threads=None) -> Predictor:
    """The model to upscale with.

    Args:
        model: a .tflite file; a registered model name when `weights` is given;
            None: `default_model_path(scale or 4)`.
        weights: a Keras `.weights.h5` checkpoint: run the Keras model (imports TensorFlow).
        scale: expected upscaling factor; a model with another scale is an error.
        config: model config overrides for a checkpoint without a sidecar.
        threads: TFLite interpreter threads (>= 1); None: the runtime's default.

    Returns:
        A `Predictor` (callable, with `.scale` and `.fixed_size` (H, W) or None).
    """
    if weights is not None:
        # Imported here: the TFLite path must work where TensorFlow is not installed.
        from keras_sr import checkpoints

        keras_model, meta = checkpoints.load_model(weights, name=model, scale=scale, config=config)

        def run(lr):
            return keras_model(np.asarray(lr, np.float32)[None], training=False).numpy()[0]

        return Predictor(run, meta["scale"], None, f"Keras {meta['model']} x{meta['scale']} from '{weights}'")
    if config:
        raise ValueError("`config` (--set) applies to a Keras checkpoint only; pass --weights.")
    if model is None:
        path = default_model_path(4 if scale is None else scale)
    else:
        path = Path(model)
        if not path.is_file():
            if path.suffix != ".tflite" and os.sep not in str(model):
                raise ValueError(
                    f"`--model {model}` is not a file; a registered model name needs --weights W "
                    "(or give a .tflite file)."
                )
            raise FileNotFoundError(f"Model file '{path}' does not exist.")
    from keras_sr.lite.runtime import TFLiteSR

    runtime = TFLiteSR(path, num_threads=threads)
    if scale is not None and runtime.scale != scale:
        raise ValueError(
            f"Model file '{path}' upscales x{runtime.scale}, which does not match `--scale`. "
            f"Received: scale={scale}"
        )
    return Predictor(runtime.predict, runtime.scale, runtime.fixed_size, f"TFLite {runtime.precision} '{path}'")


def upscale_image(predictor, rgb, alpha=None, tile=None, overlap=DEFAULT_OVERLAP):
    """Upscale one image.

    Args:
        predictor: a `Predictor` (or any callable with `.scale`, `.fixed_size`).
        rgb: float (H, W, 3) in [0, 1].
        alpha: optional float (H, W) in [0, 1], upscaled with PIL bicubic.
        tile: LR window size (int or (H, W)); None: the whole image at once
            (a fixed-shape model always uses its own size).
        overlap: context pixels per window side when tiling.

    Returns:
        (sr_rgb float32 (sH, sW, 3) clipped to [0, 1], sr_alpha float32 (sH, sW) or None).
    """
    s = predictor.scale
    h, w = rgb.shape[:2]
    fixed = getattr(predictor, "fixed_size", None)
    if fixed is not None:
        if tile is not None and tuple(np.broadcast_to(tile, 2)) != tuple(fixed):
            raise ValueError(
                f"The model has a fixed input size {fixed[1]}x{fixed[0]} (WxH); `tile` must be that size or "
                f"None. Received: tile={tile!r}"
            )
        tile = fixed
        fh, fw = fixed
        overlap = min(overlap, (min(fh, fw) - 1) // 2)
        # Edge-pad a small image up to the model's size; the padding is cropped away below.
        rgb = np.pad(rgb, ((0, max(fh - h, 0)), (0, max(fw - w, 0)), (0, 0)), mode="edge")
    sr = upscale_tiled(predictor, rgb, s, tile=tile, overlap=overlap)[: s * h, : s * w]
    sr = np.clip(sr, 0.0, 1.0).astype(np.float32)
    sr_alpha = None
    if alpha is not None:
        a = Image.fromarray(to_uint8(alpha), "L").resize((s * w, s * h), Image.BICUBIC)
        sr_alpha = np.asarray(a, np.float32) / 255.0
    return sr, sr_alpha


def _list_inputs(inputs):
    files, folder_given = [], False
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            folder_given = True
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(
                    f"Input folder '{p}' holds no images (files ending in {', '.join(IMAGE_SUFFIXES)})."
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"Input '{p}' does not exist.")
    if not files:
        raise ValueError("No input images given.")
    return files, folder_given


def _check_readable(path):
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - opening parses the header
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
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
            "pass --force to overwrite."
        )
    return plan


def upscale_files(
    inputs,
    output,
    model=None,
    weights=None,
    scale=None,
    config=None,
    tile=None,
    overlap=DEFAULT_OVERLAP,
    threads=None,
    force=False,
    progress=True,
):
    """Upscale image files; the library half of the CLI (keyword names match the flags).

    Args:
        inputs: image files and/or folders.
        output: output file (one input file) or folder.
        model, weights, scale, config, threads: see `load_predictor`.
        tile, overlap: see `upscale_image`.
        force: overwrite existing outputs.
        progress: show a tqdm progress bar when there are several images.

    Returns:
        The list of written paths.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or overlap < 0:
        raise ValueError(f"`overlap` must be an integer >= 0. Received: overlap={overlap!r}")
    plan = plan_outputs(inputs, output, force=force)
    predictor = load_predictor(model=model, weights=weights, scale=scale, config=config, threads=threads)
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
        sr, sr_alpha = upscale_image(predictor, rgb, alpha, tile=tile, overlap=overlap)
        written.append(write_image(dst, sr, sr_alpha, mode=mode, overwrite=force))
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m keras_sr.upscale", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders")
    parser.add_argument("-o", "--output", required=True, help="output file (one input file) or folder")
    parser.add_argument(
        "--model", help="FILE.tflite, or a registered model NAME with --weights (default: the shipped model)"
    )
    parser.add_argument("--weights", help="Keras checkpoint X.weights.h5: run it with Keras instead of TFLite")
    parser.add_argument("--scale", type=int, help="expected upscaling factor (default: the model's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config of --weights")
    parser.add_argument("--tile", type=int, help="LR window size in pixels (default: whole image)")
    parser.add_argument("--overlap", type=int, help=f"context pixels per window side (default {DEFAULT_OVERLAP})")
    parser.add_argument("--threads", type=int, help="TFLite interpreter threads")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.overlap is not None and args.tile is None:
        parser.error("--overlap needs --tile.")
    overlap = DEFAULT_OVERLAP if args.overlap is None else args.overlap
    if args.tile is not None:
        if args.tile < 1 or overlap < 0:
            parser.error(f"--tile must be >= 1 and --overlap >= 0. Received: --tile {args.tile} --overlap {overlap}")
        if args.tile <= 2 * overlap:
            parser.error(
                f"--tile must be greater than 2 x --overlap (each window keeps --overlap pixels of context "
                f"on both sides). Received: --tile {args.tile} --overlap {overlap}"
            )
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1. Received: {args.threads}")
    if args.scale is not None and args.scale < 1:
        parser.error(f"--scale must be >= 1. Received: {args.scale}")
    try:
        written = upscale_files(
            args.inputs,
            args.output,
            model=args.model,
            weights=args.weights,
            scale=args.scale,
            config=parse_set_options(args.set),
            tile=args.tile,
            overlap=overlap,
            threads=args.threads,
            force=args.force,
            progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.error(str(error))
    print(f"wrote {written[0]}" if len(written) == 1 else f"wrote {len(written)} images to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
