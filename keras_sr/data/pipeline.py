"""tf.data pipelines over a PairSource: random aligned patches for training.

Each element is read on its own through the PairSource (an HDF5 item's patch is
sliced from disk, a folder image is decoded and degraded by `make_lr`); nothing
loads the whole data set into memory.

`make_patch_dataset` is the resumable stream the training runs use (a pure function
of (seed, sample index) over the items that hold a patch, see `fitting_items`);
`make_train_dataset` is a plain shuffled stream.
"""
from __future__ import annotations

import functools
from typing import Iterator

import numpy as np

from keras_sr._keras import tf
from keras_sr.data.sources import PairSource, open_pairs
from keras_sr.validation import check_int

__all__ = [
    "make_train_dataset",
    "make_patch_dataset",
    "check_patch_fits",
    "fitting_items",
    "skipped_items_message",
    "make_eval_items",
    "read_train_patch",
]


def _as_source(source, scale: int) -> PairSource:
    if isinstance(source, PairSource):
        if source.scale != scale:
            raise ValueError(
                f"`scale`={scale} does not match the PairSource's scale {source.scale} "
                f"('{source.path}')."
            )
        return source
    return open_pairs(source, scale)


def _too_small(source: PairSource, i: int, lr_hw, patch_size: int) -> str:
    s = source.scale
    hr_hw = (lr_hw[0] * s, lr_hw[1] * s)
    return (
        f"{source.describe(i)} is too small for `patch_size`={patch_size} at `scale`={s}: "
        f"HR {hr_hw[0]}x{hr_hw[1]}, LR {lr_hw[0]}x{lr_hw[1]} (HxW), but a patch needs "
        f"LR {patch_size}x{patch_size} (HR {patch_size * s}x{patch_size * s})."
    )


def _sizes(source, patch_size: int, scale: int):
    """(PairSource, patch_size, [(index, (h, w)) LR sizes]) without decoding pixels."""
    patch_size = check_int(patch_size, "patch_size", 1)
    src = _as_source(source, scale)
    return src, patch_size, [(i, src.lr_shape(i)) for i in range(len(src))]


def check_patch_fits(source, patch_size: int, scale: int) -> None:
    """Raise ValueError unless every pair holds a `patch_size` LR patch.

    Scans shapes without decoding pixels (HDF5 dataset `.shape`, PIL header size).
    Training runs use `fitting_items` instead, which leaves the small pairs out.

    Args:
        source: a PairSource or a path for `open_pairs`.
        patch_size: LR patch side in pixels (the HR patch is `patch_size * scale`).
        scale: super-resolution factor.
    """
    src, patch_size, sizes = _sizes(source, patch_size, scale)
    bad = [(i, hw) for i, hw in sizes if min(hw) < patch_size]
    if bad:
        i, hw = bad[0]
        more = f" ({len(bad)} of {len(src)} pairs are too small.)" if len(bad) > 1 else ""
        raise ValueError(_too_small(src, i, hw, patch_size) + more)


def fitting_items(source, patch_size: int, scale: int) -> list[int]:
    """Indices of the pairs that hold a `patch_size` LR patch (same arguments as
    `check_patch_fits`); the others are left out. Raises ValueError when no pair is
    large enough, saying which patch size would fit and how to remake the data."""
    src, patch_size, sizes = _sizes(source, patch_size, scale)
    kept = [i for i, hw in sizes if min(hw) >= patch_size]
    if not kept and sizes:
        largest = max(min(hw) for _, hw in sizes)
        hr = patch_size * scale
        raise ValueError(
            f"No training item of '{src.path}' holds a patch: `patch_size`={patch_size} at `scale`={scale} needs "
            f"HR {hr}x{hr} (LR {patch_size}x{patch_size}), and the largest item's shorter LR side is {largest}. "
            f"Train with --patch-size {largest} or less, or remake the data from larger images "
            f"(keras-sr prepare --min-size {hr} keeps only the images that hold a patch)."
        )
    return kept


def skipped_items_message(kept: int, total: int, patch_size: int, scale: int) -> str:
    """The one line a run prints when it leaves out items smaller than the patch."""
    hr = patch_size * scale
    return (f"skipped {total - kept} of {total} training items smaller than the {hr}x{hr} HR patch "
            f"(--patch-size {patch_size} at x{scale})")


def make_patch_dataset(source, patch_size, batch_size, seed, start_sample=0, augment=True, indices=None,
                       teacher=False):
    """Endless batches of random (lr, hr) float32 patches in [0, 1], resumable by sample index.

    With K = len(indices) items (default: every pair), sample g (0, 1, 2, ...) is item
    `indices[perm(seed, g // K)[g % K]]`, cropped and flipped by a generator seeded with
    (seed, g); the dataset starts at `start_sample`, so restarting at `samples_seen`
    continues the same stream. Reads use `read_train_patch` (the same crops and
    augmentations as `make_train_dataset`). With `teacher`, the target holds 6 channels: the
    HR, then the teacher's output under the same patch (`keras_sr.teach`); the crops and
    flips are the same as without it.
    """
    indices = np.arange(len(source)) if indices is None else np.asarray(indices, np.int64)
    n = len(indices)
    if n == 0:
        raise ValueError(f"`indices` is empty: no training item to read from '{source.path}'.")
    hr_size = patch_size * source.scale

    @functools.lru_cache(maxsize=8)
    def order(pass_index):
        return indices[np.random.default_rng([seed, 1, pass_index]).permutation(n)]

    def read(g):
        g = int(g)
        i = int(order(g // n)[g % n])
        rng = np.random.default_rng([seed, 0, g])
        arrays = read_train_patch(source, i, patch_size, rng, augment, teacher=teacher)
        return (arrays[0], np.concatenate(arrays[1:], axis=-1)) if teacher else arrays

    def tf_read(g):
        lr, target = tf.numpy_function(read, [g], [tf.uint8, tf.uint8], stateful=False)
        lr.set_shape((patch_size, patch_size, 3))
        target.set_shape((hr_size, hr_size, 6 if teacher else 3))
        return tf.cast(lr, tf.float32) / 255.0, tf.cast(target, tf.float32) / 255.0

    ds = tf.data.Dataset.counter(start=int(start_sample), dtype=tf.int64)
    ds = ds.map(tf_read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=True)
    options = tf.data.Options()
    # Every worker computes the whole (cheap) index stream and keeps its share.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _augment(arrays, rng: np.random.Generator):
    """The same random flips and rotation of every array (LR, HR and the teacher's output)."""
    hflip, vflip, rot = rng.integers(0, 2, size=3)
    if hflip:
        arrays = [a[:, ::-1] for a in arrays]
    if vflip:
        arrays = [a[::-1] for a in arrays]
    if rot:
        arrays = [np.rot90(a) for a in arrays]
    return arrays


def read_train_patch(
    source: PairSource, i: int, patch_size: int, rng: np.random.Generator, augment: bool = True,
    teacher: bool = False,
) -> tuple[np.ndarray, ...]:
    """One random aligned (lr, hr) uint8 patch of pair `i`, optionally flipped/rotated.

    Returns arrays of shapes (p, p, 3) and (p * scale, p * scale, 3), and with `teacher`
    a third, the teacher's output under the same patch (`keras_sr.teach`). Raises
    ValueError naming the image when it is smaller than the patch.
    """
    h, w = source.lr_shape(i)
    if h < patch_size or w < patch_size:
        raise ValueError(_too_small(source, i, (h, w), patch_size))
    top = int(rng.integers(0, h - patch_size + 1))
    left = int(rng.integers(0, w - patch_size + 1))
    arrays = list(source.read_patch(i, top, left, patch_size))
    if teacher:
        arrays.append(source.read_teacher_patch(i, top, left, patch_size))
    if augment:
        arrays = _augment(arrays, rng)
    return tuple(np.ascontiguousarray(a) for a in arrays)


def make_train_dataset(
    path,
    scale: int,
    patch_size: int = 32,
    batch_size: int = 16,
    seed: int | None = None,
    repeat: bool = True,
    augment: bool = True,
    num_parallel_calls=tf.data.AUTOTUNE,
    check_sizes: bool = True,
) -> "tf.data.Dataset":
    """Batches of random aligned (lr, hr) patches for training.

    Args:
        path: HDF5 file, image folder (see `open_pairs`) or a PairSource.
        scale: super-resolution factor.
        patch_size: LR patch side in pixels; HR patches are `patch_size * scale`.
        batch_size: patches per batch.
        seed: integer seed; two datasets with the same seed yield the same
            batches (order, crops and augmentations). None draws a fresh seed.
        repeat: cycle forever, reshuffling every epoch (batches then all have
            `batch_size` elements). With False, one pass; the last batch may be
            smaller.
        augment: random horizontal flip, vertical flip and 90-degree rotation
            (the 8 symmetries of the square), the same for LR and HR.
        num_parallel_calls: parallel reads (tf.data.AUTOTUNE by default); the
            output order stays deterministic.
        check_sizes: scan every pair's size up front (cheap, no decoding) and
            raise ValueError if one is smaller than a patch; a read also checks.

    Returns:
        A tf.data.Dataset of `(lr, hr)` float32 in [0, 1], shapes
        (B, p, p, 3) and (B, p * scale, p * scale, 3).
    """
    patch_size = check_int(patch_size, "patch_size", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"`seed` must be None or an integer >= 0. Received: seed={seed!r}")
    source = _as_source(path, scale)
    if check_sizes:
        check_patch_fits(source, patch_size, scale)
    n = len(source)
    # Every random choice of element k comes from a generator seeded with
    # (base_seed, k), so results do not depend on thread scheduling.
    base_seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**63))
    hr_size = patch_size * source.scale

    def read(k, i):
        rng = np.random.default_rng([base_seed, int(k)])
        return read_train_patch(source, int(i), patch_size, rng, augment)

    def tf_read(k, i):
        lr, hr = tf.numpy_function(read, [k, i], [tf.uint8, tf.uint8], stateful=False)
        lr.set_shape((patch_size, patch_size, 3))
        hr.set_shape((hr_size, hr_size, 3))
        return tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0

    ds = tf.data.Dataset.range(n)
    # The shuffle buffer holds indices only, so a full-size buffer is cheap.
    ds = ds.shuffle(n, seed=base_seed % (2**31), reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate()
    ds = ds.map(tf_read, num_parallel_calls=num_parallel_calls, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=repeat)
    return ds.prefetch(tf.data.AUTOTUNE)


def make_eval_items(path, scale: int) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield `(name, lr, hr)` uint8 arrays for every pair of an HDF5 file or image folder.

    `path` may also be a PairSource. LR is (h, w, 3), HR (h * scale, w * scale, 3).
    """
    source = _as_source(path, scale)  # errors surface here, not at the first next()

    def items():
        for i in range(len(source)):
            lr, hr = source[i]
            yield source.name(i), lr, hr

    return items()
