"""Write a folder of HR images to an HDF5 file in the original project's format.

    python -m keras_sr.prepare --images-dir DIR --output-path F.h5 --scale S [--eval] [--force]
        [--downscales 1 0.9 0.8 0.7 0.6] [--min-size PX]

The file has groups `lr` and `hr` holding one uint8 (H, W, 3) dataset per item,
named "0", "1", ... Every pair comes from `keras_sr.data.make_lr`.

* Training files (default): per image, five half-size crops of the HR image
  (crop size (H // 2, W // 2)): top-left, top-right, bottom-left, bottom-right and
  centre (torchvision's FiveCrop order and centre rounding), each stored as its
  own item after `make_lr`.
* Evaluation files (`--eval`): whole images, the modcropped HR and its LR.
* `--downscales`: each image also enters at these sizes (PIL bicubic, before the
  crops), the classic augmentation for small training sets (the "291" set of
  VDSR/DRRN). `--min-size` leaves out the images (after downscaling) whose shorter
  side is below it, so that every item can give a patch of that size.

Besides the format's two groups, the file holds a root dataset `names` (one
string per item, e.g. "baby" or "baby_tl") and root attributes `scale` and
`kind`; readers of the original format ignore them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


from keras_sr.data.degrade import IMAGE_EXTENSIONS, load_image, make_lr, validate_scale
from keras_sr.data.sources import FolderPairSource
from keras_sr.fileio import atomic_output

__all__ = ["prepare", "five_crops", "main"]


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


def _sizes(img: np.ndarray, downscales, min_size: int):
    """[(name suffix, image)] for each factor whose result keeps a shorter side >= min_size."""
    from PIL import Image

    h, w = img.shape[:2]
    out = []
    for factor in downscales:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        if min(size) < min_size:
            continue
        if factor == 1:
            out.append(("", img))
        else:
            resized = np.asarray(Image.fromarray(img).resize(size, Image.BICUBIC))
            out.append((f"_s{round(factor * 100)}", resized))
    return out


def prepare(images_dir, output_path, scale: int, eval: bool = False, force: bool = False,
            downscales=(1.0,), min_size: int = 0) -> int:
    """Write the images of `images_dir` as an HDF5 training (or evaluation) file.

    Args:
        images_dir: folder of HR images (IMAGE_EXTENSIONS, sorted by file name).
        output_path: the .h5 file to write; its folder is created if needed.
        scale: super-resolution factor >= 1.
        eval: store whole images (evaluation) instead of five half-size crops.
        force: overwrite an existing `output_path`.
        downscales: factors in (0, 1]; every image is also stored downscaled by each.
        min_size: leave out images (after downscaling) whose shorter side is below this.

    Returns:
        The number of (LR, HR) items written.
    """
    import h5py
    from tqdm import tqdm

    scale = validate_scale(scale)
    images_dir, output_path = Path(images_dir), Path(output_path)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"`images_dir` '{images_dir}' is not an existing folder.")
    if output_path.exists() and not force:
        raise FileExistsError(
            f"`output_path` '{output_path}' already exists; pass --force (force=True) to overwrite it."
        )
    if output_path.is_dir():
        raise ValueError(f"`output_path` '{output_path}' is a folder; expected an .h5 file path.")
    downscales = tuple(downscales)
    if not downscales or any(isinstance(f, bool) or not 0 < f <= 1 for f in downscales):
        raise ValueError(f"`downscales` must be factors in (0, 1]. Received: {list(downscales)}")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
        raise ValueError(f"`min_size` must be an integer >= 0 (pixels). Received: {min_size!r}")
    files = FolderPairSource(images_dir, scale).files  # raises on an empty folder

    output_path.parent.mkdir(parents=True, exist_ok=True)
    # Written next to the target, then renamed: a crash never leaves a half file.
    n = 0
    names = []
    with atomic_output(output_path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            lr_group, hr_group = f.create_group("lr"), f.create_group("hr")
            for path in tqdm(files, desc=f"prepare x{scale}", unit="img"):
                original = load_image(path)
                for size_suffix, img in _sizes(original, downscales, min_size):
                    pieces = [("", img)] if eval else five_crops(img)
                    for suffix, piece in pieces:
                        h, w = piece.shape[:2]
                        if h < scale or w < scale:
                            what = "image" if eval else f"its {suffix!r} crop (half size)"
                            raise ValueError(
                                f"Image '{path}' ({img.shape[0]}x{img.shape[1]}, HxW) is too small "
                                f"for `scale`={scale}: {what} is {h}x{w}."
                            )
                        hr, lr = make_lr(np.ascontiguousarray(piece), scale)
                        lr_group.create_dataset(str(n), data=lr)
                        hr_group.create_dataset(str(n), data=hr)
                        names.append(f"{path.stem}{size_suffix}" + ("" if eval else f"_{suffix}"))
                        n += 1
            if n == 0:
                raise ValueError(f"No image of '{images_dir}' has a shorter side of at least `min_size`={min_size} "
                                 f"px (at downscales {list(downscales)}); lower --min-size.")
            f.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
            f.attrs["scale"] = scale
            f.attrs["kind"] = "eval" if eval else "train"
    return n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m keras_sr.prepare",
        description="Write HR images as (LR, HR) pairs in an HDF5 file (groups 'lr' and 'hr').",
    )
    parser.add_argument("--images-dir", required=True,
                        help=f"folder of HR images ({', '.join(IMAGE_EXTENSIONS)})")
    parser.add_argument("--output-path", required=True, help="HDF5 file to write (.h5)")
    parser.add_argument("--scale", required=True, type=int, help="super-resolution factor")
    parser.add_argument("--eval", action="store_true",
                        help="store whole images (evaluation) instead of five half-size crops per image")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    parser.add_argument("--downscales", type=float, nargs="+", default=[1.0], metavar="F",
                        help="also store each image downscaled by these factors in (0, 1] (default: 1)")
    parser.add_argument("--min-size", type=int, default=0, metavar="PX",
                        help="leave out images whose shorter side (after downscaling) is below PX")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error(f"--scale must be an integer >= 1. Received: --scale {args.scale}")
    try:
        n = prepare(args.images_dir, args.output_path, args.scale, eval=args.eval, force=args.force,
                    downscales=args.downscales, min_size=args.min_size)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        parser.error(str(e))
    print(f"Wrote {n} items to {args.output_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
