"""Uniform readers of (LR, HR) uint8 pairs: an HDF5 file or a folder of HR images.

No TensorFlow here. `open_pairs(path, scale)` picks the reader:

* an HDF5 file in the original project's format: groups `lr` and `hr`, one uint8
  (H, W, 3) dataset per image named "0", "1", ... (an optional root dataset
  `names` of strings, written by `keras_sr.prepare`, names the items). The file is
  opened on first use and each item is read on its own, never the whole file;
* a folder of HR images (`keras_sr.data.imageio.IMAGE_SUFFIXES`, sorted by file name)
  whose LR images are made on the fly by `make_lr`.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from keras_sr.data.degrade import make_lr, validate_scale
from keras_sr.data.imageio import list_images, load_image

__all__ = ["PairSource", "H5PairSource", "FolderPairSource", "open_pairs", "H5_SUFFIXES"]

H5_SUFFIXES = (".h5", ".hdf5")


class PairSource:
    """Random access to (LR, HR) uint8 pairs at one scale.

    `source[i]` returns `(lr, hr)`: uint8 arrays (h, w, 3) and (h * scale,
    w * scale, 3). `name(i)` is a short name for reports; `describe(i)` names the
    file (and item) for error messages. `lr_shape(i)` / `hr_shape(i)` give
    (height, width) without decoding pixels. `read_patch` returns aligned crops.
    """

    path: Path
    scale: int
    #: True when the source also holds a teacher's outputs (`keras_sr.teach`; HDF5 files only).
    has_teacher: bool = False

    def __len__(self) -> int:
        raise NotImplementedError

    def _get(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def name(self, i: int) -> str:
        raise NotImplementedError

    def describe(self, i: int) -> str:
        raise NotImplementedError

    def lr_shape(self, i: int) -> tuple[int, int]:
        raise NotImplementedError

    def hr_shape(self, i: int) -> tuple[int, int]:
        h, w = self.lr_shape(i)
        return h * self.scale, w * self.scale

    def _index(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"Index must be an integer. Received: {i!r}")
        n = len(self)
        j = int(i) + n if i < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError(f"Index {i} is out of range for {n} pairs in '{self.path}'.")
        return j

    def __getitem__(self, i) -> tuple[np.ndarray, np.ndarray]:
        return self._get(self._index(i))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def read_patch(self, i, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Aligned crops: LR [top:top+size, left:left+size] and the HR area it covers.

        Coordinates are LR pixels. Returns `(lr_patch, hr_patch)` of shapes
        (size, size, 3) and (size * scale, size * scale, 3).
        """
        lr, hr = self[i]
        s = self.scale
        return (
            lr[top : top + size, left : left + size],
            hr[top * s : (top + size) * s, left * s : (left + size) * s],
        )

    def close(self) -> None:
        """Release open files (a later access reopens them)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.path}', scale={self.scale}, n={len(self)})"


#: The HDF5 group of a teacher's outputs, one dataset per item under the `hr` group's keys (`keras_sr.teach`).
TEACHER_GROUP = "teacher"


def _hw(shape) -> str:
    return f"{shape[0]}x{shape[1]}"


class H5PairSource(PairSource):
    """Pairs stored in an HDF5 file (groups `lr` and `hr`, datasets "0", "1", ...)."""

    def __init__(self, path, scale: int):
        import h5py  # lazily: only this reader needs it

        self.path = Path(path)
        self.scale = validate_scale(scale)
        self._lock = threading.Lock()
        self._file = None
        try:
            f = h5py.File(self.path, "r")
        except OSError as e:
            raise ValueError(f"Cannot open HDF5 file '{self.path}': {e}") from e
        with f:
            missing = [g for g in ("lr", "hr") if not isinstance(f.get(g), h5py.Group)]
            if missing:
                raise ValueError(
                    f"HDF5 file '{self.path}' must have groups 'lr' and 'hr' (one uint8 "
                    f"HxWx3 dataset per image named '0', '1', ...). Missing: {missing}; "
                    f"found top-level keys: {sorted(f.keys())}"
                )
            lr_keys, hr_keys = list(f["lr"].keys()), list(f["hr"].keys())
            if len(lr_keys) != len(hr_keys):
                raise ValueError(
                    f"HDF5 file '{self.path}' has unequal counts: group 'lr' holds "
                    f"{len(lr_keys)} datasets and group 'hr' holds {len(hr_keys)}."
                )
            if set(lr_keys) != set(hr_keys):
                only_lr = sorted(set(lr_keys) - set(hr_keys))[:5]
                only_hr = sorted(set(hr_keys) - set(lr_keys))[:5]
                raise ValueError(
                    f"HDF5 file '{self.path}': groups 'lr' and 'hr' name different items "
                    f"(only in 'lr': {only_lr}, only in 'hr': {only_hr})."
                )
            if not lr_keys:
                raise ValueError(f"HDF5 file '{self.path}' holds no pairs (groups 'lr' and 'hr' are empty).")
            if all(k.isdigit() for k in lr_keys):
                self._keys = sorted(lr_keys, key=int)
            else:
                self._keys = sorted(lr_keys)
            self._names = None
            names = f.get("names")
            if isinstance(names, h5py.Dataset) and names.shape == (len(self._keys),):
                self._names = [n.decode() if isinstance(n, bytes) else str(n) for n in names[()]]
            teacher = f.get(TEACHER_GROUP)
            self.has_teacher = isinstance(teacher, h5py.Group)
            if self.has_teacher and set(teacher.keys()) != set(lr_keys):
                raise ValueError(
                    f"HDF5 file '{self.path}': group 'teacher' holds {len(teacher.keys())} items where 'lr' holds "
                    f"{len(lr_keys)}; remake it with keras-sr teach."
                )
            self._check_item(f, 0)

    def _check_item(self, f, i: int) -> None:
        key = self._keys[i]
        lr, hr = f["lr"][key], f["hr"][key]
        for g, d in (("lr", lr), ("hr", hr)):
            if d.dtype != np.uint8 or d.ndim != 3 or d.shape[-1] != 3:
                raise ValueError(
                    f"{self.describe(i)}: dataset '{g}/{key}' must be uint8 of shape "
                    f"(H, W, 3). Received: dtype={d.dtype}, shape={d.shape}"
                )
        s = self.scale
        if hr.shape[0] != lr.shape[0] * s or hr.shape[1] != lr.shape[1] * s:
            raise ValueError(
                f"{self.describe(i)} does not match `scale`={s}: HR is {_hw(hr.shape)} and "
                f"LR is {_hw(lr.shape)} (HxW); for scale={s} the HR must be "
                f"{lr.shape[0] * s}x{lr.shape[1] * s}."
            )
        if self.has_teacher and f[TEACHER_GROUP][key].shape != hr.shape:
            raise ValueError(
                f"{self.describe(i)}: the teacher's output '{TEACHER_GROUP}/{key}' is "
                f"{_hw(f[TEACHER_GROUP][key].shape)}, not the HR's {_hw(hr.shape)} (HxW)."
            )

    def _f(self):
        if self._file is None:
            with self._lock:
                if self._file is None:
                    import h5py

                    self._file = h5py.File(self.path, "r")
        return self._file

    def __len__(self) -> int:
        return len(self._keys)

    def name(self, i) -> str:
        i = self._index(i)
        return self._names[i] if self._names is not None else self._keys[i]

    def describe(self, i) -> str:
        return f"HDF5 file '{self.path}' item '{self._keys[i]}'"

    def key(self, i) -> str:
        """The dataset name of item `i` in the groups `lr`, `hr` (and `teacher`)."""
        return self._keys[self._index(i)]

    def lr_shape(self, i) -> tuple[int, int]:
        return tuple(self._f()["lr"][self._keys[self._index(i)]].shape[:2])

    def hr_shape(self, i) -> tuple[int, int]:
        return tuple(self._f()["hr"][self._keys[self._index(i)]].shape[:2])

    def _get(self, i: int):
        f = self._f()
        self._check_item(f, i)
        key = self._keys[i]
        return f["lr"][key][()], f["hr"][key][()]

    def read_patch(self, i, top: int, left: int, size: int):
        # Slicing an h5py dataset reads only the patch from disk.
        i = self._index(i)
        f = self._f()
        self._check_item(f, i)
        key = self._keys[i]
        lr = f["lr"][key][top : top + size, left : left + size]
        return lr, self._hr_patch(f["hr"][key], top, left, size)

    def _hr_patch(self, dataset, top, left, size):
        s = self.scale
        return dataset[top * s : (top + size) * s, left * s : (left + size) * s]

    def read_teacher_patch(self, i, top: int, left: int, size: int) -> np.ndarray:
        """The teacher's output under the LR patch at (`top`, `left`) of side `size` (`keras_sr.teach`)."""
        if not self.has_teacher:
            raise ValueError(f"HDF5 file '{self.path}' holds no teacher outputs (group 'teacher'); "
                             "add them with keras-sr teach.")
        return self._hr_patch(self._f()[TEACHER_GROUP][self._keys[self._index(i)]], top, left, size)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


class FolderPairSource(PairSource):
    """HR images in a folder; LR made on the fly by `make_lr`."""

    def __init__(self, path, scale: int):
        self.path = Path(path)
        self.scale = validate_scale(scale)
        self.files = list_images(self.path, "path")

    def __len__(self) -> int:
        return len(self.files)

    def name(self, i) -> str:
        return self.files[self._index(i)].stem

    def describe(self, i) -> str:
        return f"Image '{self.files[i]}'"

    def _image_size(self, i: int) -> tuple[int, int]:
        """(H, W) read from the file header, without decoding pixels."""
        p = self.files[i]
        try:
            with Image.open(p) as im:
                w, h = im.size
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"Cannot read image file '{p}': {e}") from e
        return h, w

    def _check_size(self, i: int, h: int, w: int) -> None:
        if h < self.scale or w < self.scale:
            raise ValueError(
                f"{self.describe(i)} is {h}x{w} (HxW), smaller than `scale`={self.scale}."
            )

    def lr_shape(self, i) -> tuple[int, int]:
        i = self._index(i)
        h, w = self._image_size(i)
        self._check_size(i, h, w)
        return h // self.scale, w // self.scale

    def _get(self, i: int):
        hr = load_image(self.files[i])
        self._check_size(i, *hr.shape[:2])
        hr, lr = make_lr(hr, self.scale)
        return lr, hr


def open_pairs(path, scale: int) -> PairSource:
    """Open an HDF5 file (.h5/.hdf5) or a folder of HR images as a PairSource.

    Args:
        path: HDF5 file in the original project's format, or a folder of images.
        scale: super-resolution factor; an HDF5 file's first pair is checked
            against it.
    """
    scale = validate_scale(scale)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(
            f"`path` '{p}' does not exist; expected an HDF5 file ({', '.join(H5_SUFFIXES)}) "
            "or a folder of images."
        )
    if p.is_dir():
        return FolderPairSource(p, scale)
    if p.suffix.lower() in H5_SUFFIXES:
        return H5PairSource(p, scale)
    raise ValueError(
        f"`path` '{p}' must be an HDF5 file ({', '.join(H5_SUFFIXES)}) or a folder of images. "
        f"Received a file with suffix '{p.suffix}'."
    )
