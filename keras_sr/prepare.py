"""Write a folder of HR images to an HDF5 file in the original project's format.

    keras-sr prepare --images-dir DIR -o F.h5 --scale S [--kind train|eval] [--force]
        [--downscales 1 0.9 0.8 0.7 0.6] [--min-size PX]

The file has groups `lr` and `hr` holding one uint8 (H, W, 3) dataset per item,
named "0", "1", ... Every pair comes from `keras_sr.data.make_lr`.

* Training files (`--kind train`, the default): per image, five half-size crops of the HR image
  (crop size (H // 2, W // 2)): top-left, top-right, bottom-left, bottom-right and
  centre (torchvision's FiveCrop order and centre rounding), each stored as its
  own item after `make_lr`.
* Evaluation files (`--kind eval`): whole images, the modcropped HR and its LR.
* `--downscales`: each image also enters at these sizes (PIL bicubic, before the
  crops), the classic augmentation for small training sets (the "291" set of
  VDSR/DRRN).
* `--min-size PX` applies to each stored HR item: the half-size crop for training
  files, the whole image for evaluation files. Items whose shorter side is below PX
  are left out, so every item can give an HR patch of that size (train's patch is
  `--patch-size` x scale HR pixels: 128 at the default 32 and x4).

Items too small for train's default patch are counted in a warning; train skips them.

Besides the format's two groups, the file holds a root dataset `names` (one
string per item, e.g. "baby" or "baby_tl") and root attributes `scale` and
`kind`; readers of the original format ignore them.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np


from keras_sr.data.degrade import make_lr, validate_scale
from keras_sr.data.imageio import list_images, load_image
from keras_sr.fileio import atomic_output
from keras_sr.validation import check_choice, check_int

__all__ = ["prepare", "five_crops", "main", "KINDS", "DEFAULT_PATCH_SIZE"]

KINDS = ("train", "eval")
#: train's default LR `--patch-size`; prepare warns about items too small for it.
DEFAULT_PATCH_SIZE = 32


def five_crops(hr: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Half-size crops of an (H, W, C) image: [("tl", ...), ("tr", ...), ("bl", ...), ("br", ...), ("c", ...)].

    Crop size is (H // 2, W // 2); the centre crop starts at
    (round((H - h) / 2), round((W - w) / 2)) like torchvision's `center_crop`.
    """
    h, w = hr.shape[:2]
    ch, cw = h // 2, w // 2
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return [
        ("tl", hr[:ch, :cw]),
        ("tr", hr[:ch, w - cw :]),
        ("bl", hr[h - ch :, :cw]),
        ("br", hr[h - ch :, w - cw :]),
        ("c", hr[top : top + ch, left : left + cw]),
    ]


def _sizes(img: np.ndarray, downscales, min_size: int, item_fraction: int):
    """[(name suffix, image)] for each factor whose items keep a shorter side >= min_size.

    `item_fraction` is 2 for training files (items are half-size crops), 1 for whole images.
    """
    from PIL import Image

    h, w = img.shape[:2]
    out = []
    for factor in downscales:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        if min(size) // item_fraction < min_size:
            continue
        if factor == 1:
            out.append(("", img))
        else:
            resized = np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
            out.append((f"_s{round(factor * 100)}", resized))
    return out


def prepare(images_dir, output=None, scale=None, kind="train", force=False, downscales=(1.0,), min_size=0,
            quiet=False, output_path=None, eval=None) -> int:
    """Write the images of `images_dir` (one folder or several) as an HDF5 training (or evaluation) file.

    Args:
        images_dir: a folder of HR images (`keras_sr.data.imageio.IMAGE_SUFFIXES`, sorted by
            name), or a list of folders, read in the order given (e.g. T91 and BSD200: the 291 set).
        output: the .h5 file to write; its folder is created if needed.
        scale: super-resolution factor >= 1.
        kind: "train" (five half-size crops per image) or "eval" (whole images).
        force: overwrite an existing `output`.
        downscales: factors in (0, 1]; every image is also stored downscaled by each.
        min_size: leave out items (crops for "train", images for "eval") whose shorter
            side is below this many HR pixels.
        quiet: no progress bar and no warning line.
        output_path, eval: the old names of `output` and `kind="eval"` (kept for one release).

    Returns:
        The number of (LR, HR) items written.
    """
    import warnings

    import h5py
    from tqdm import tqdm

    if output_path is not None:
        warnings.warn("`output_path` is deprecated; use `output`.", DeprecationWarning, stacklevel=2)
        output = output if output is not None else output_path
    if eval is not None:
        warnings.warn("`eval` is deprecated; use `kind='eval'`.", DeprecationWarning, stacklevel=2)
        kind = "eval" if eval else kind
    if output is None:
        raise ValueError("`output` is required: the .h5 file to write. Received: output=None")
    check_choice(kind, KINDS, "kind")
    whole = kind == "eval"
    scale = validate_scale(scale)
    folders = [Path(d) for d in ([images_dir] if isinstance(images_dir, (str, os.PathLike)) else images_dir)]
    if not folders:
        raise ValueError("`images_dir` is empty; give at least one folder of HR images.")
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"`images_dir` '{folder}' is not an existing folder.")
    output = Path(output)
    if output.exists() and not force:
        raise FileExistsError(f"`output` '{output}' already exists; pass force=True (--force) to overwrite it.")
    if output.is_dir():
        raise ValueError(f"`output` '{output}' is a folder; expected an .h5 file path.")
    downscales = tuple(downscales)
    if not downscales or any(isinstance(f, bool) or not 0 < f <= 1 for f in downscales):
        raise ValueError(f"`downscales` must be factors in (0, 1]. Received: downscales={list(downscales)}")
    min_size = check_int(min_size, "min_size", 0)
    files = [f for folder in folders for f in list_images(folder, "images_dir")]

    output.parent.mkdir(parents=True, exist_ok=True)
    patch_hr = DEFAULT_PATCH_SIZE * scale
    n = too_small = 0
    names = []
    # Written next to the target, then renamed: a crash never leaves a half file.
    with atomic_output(output, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            lr_group, hr_group = f.create_group("lr"), f.create_group("hr")
            for path in tqdm(files, desc=f"prepare x{scale}", unit="img", disable=quiet):
                original = load_image(path)
                for size_suffix, img in _sizes(original, downscales, min_size, 1 if whole else 2):
                    pieces = [("", img)] if whole else five_crops(img)
                    for suffix, piece in pieces:
                        h, w = piece.shape[:2]
                        if h < scale or w < scale:
                            what = "image" if whole else f"its {suffix!r} crop (half size)"
                            raise ValueError(
                                f"Image '{path}' ({img.shape[0]}x{img.shape[1]}, HxW) is too small "
                                f"for `scale`={scale}: {what} is {h}x{w}."
                            )
                        hr, lr = make_lr(np.ascontiguousarray(piece), scale)
                        lr_group.create_dataset(str(n), data=lr)
                        hr_group.create_dataset(str(n), data=hr)
                        names.append(f"{path.stem}{size_suffix}" + ("" if whole else f"_{suffix}"))
                        too_small += min(hr.shape[:2]) < patch_hr
                        n += 1
            if n == 0:
                raise ValueError(f"No item of {[str(d) for d in folders]} has a shorter side of at least `min_size`={min_size} "
                                 f"px (at downscales {list(downscales)}, {kind} items); lower `min_size`.")
            f.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
            f.attrs["scale"] = scale
            f.attrs["kind"] = kind
    if too_small and not quiet:
        print(f"warning: {too_small} of {n} items are smaller than {patch_hr}x{patch_hr} HR pixels, the patch of "
              f"train's default --patch-size {DEFAULT_PATCH_SIZE} at x{scale}; train skips them. Pass --min-size "
              f"{patch_hr} to leave them out here, or train with a smaller --patch-size.", file=sys.stderr)
    return n


def main(argv=None) -> int:
    """`python -m keras_sr.prepare`: the same as `keras-sr prepare`."""
    from keras_sr.cli.prepare import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
