"""Degradation, pair sources (HDF5 and folders) and the tf.data training pipeline."""
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from keras_sr.data import IMAGE_EXTENSIONS, load_image, make_lr, modcrop, open_pairs
from keras_sr.data.sources import FolderPairSource, H5PairSource

REPO_ROOT = Path(__file__).resolve().parents[1]


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _write_h5(path, pairs):
    with h5py.File(path, "w") as f:
        lr_g, hr_g = f.create_group("lr"), f.create_group("hr")
        for i, (lr, hr) in enumerate(pairs):
            lr_g.create_dataset(str(i), data=lr)
            hr_g.create_dataset(str(i), data=hr)
    return path


def _coord_pair(h, w, scale):
    """LR encodes its own coordinates (R = row, G = column); HR is its nearest-neighbour upscale,
    so any aligned crop satisfies hr == repeat(lr)."""
    lr = np.zeros((h, w, 3), np.uint8)
    lr[..., 0] = np.arange(h)[:, None]
    lr[..., 1] = np.arange(w)[None, :]
    lr[..., 2] = 7
    hr = lr.repeat(scale, 0).repeat(scale, 1)
    return lr, hr


@pytest.fixture
def image_dir(tmp_path):
    """RGB PNG, grayscale PNG, palette PNG, RGBA PNG, BMP and JPG (upper-case suffix) + a non-image."""
    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(_rgb(20, 26, 1)).save(d / "a_rgb.png")
    Image.fromarray(_rgb(18, 18, 2)[..., 0]).save(d / "b_gray.png")
    Image.fromarray(_rgb(17, 21, 3)).convert("P", palette=Image.ADAPTIVE, colors=16).save(d / "c_pal.png")
    Image.fromarray(np.dstack([_rgb(16, 16, 4), np.full((16, 16), 100, np.uint8)])).save(d / "d_rgba.png")
    Image.fromarray(_rgb(19, 23, 5)).save(d / "e_bmp.bmp")
    Image.fromarray(_rgb(24, 24, 6)).save(d / "f_jpg.JPG")
    (d / "notes.txt").write_text("not an image")
    return d


# ---------------------------------------------------------------- degrade
def test_load_image_converts_modes_to_rgb(image_dir):
    for p in sorted(image_dir.iterdir()):
        if p.suffix == ".txt":
            continue
        img = load_image(p)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, p.name
    gray = load_image(image_dir / "b_gray.png")
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 0], gray[..., 2])
    assert np.array_equal(load_image(image_dir / "a_rgb.png"), _rgb(20, 26, 1))
    assert np.array_equal(load_image(image_dir / "d_rgba.png"), _rgb(16, 16, 4))  # alpha dropped
    pal = load_image(image_dir / "c_pal.png")
    with Image.open(image_dir / "c_pal.png") as im:
        assert im.mode == "P"
        assert np.array_equal(pal, np.asarray(im.convert("RGB")))


def test_load_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Image file '.*missing.png' does not exist"):
        load_image(tmp_path / "missing.png")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"definitely not a png")
    with pytest.raises(ValueError, match=r"Cannot read image file '.*broken.png'"):
        load_image(bad)
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(ValueError, match=r"deep.png' has mode 'I;16'.*only 8-bit"):
        load_image(tmp_path / "deep.png")


def test_modcrop_and_make_lr():
    hr = _rgb(22, 27)
    assert modcrop(hr, 4).shape == (20, 24, 3)
    assert np.array_equal(modcrop(hr, 4), hr[:20, :24])
    hr_c, lr = make_lr(hr, 3)
    assert hr_c.shape == (21, 27, 3) and lr.shape == (7, 9, 3) and lr.dtype == np.uint8
    expect = np.asarray(Image.fromarray(hr[:21, :27]).resize((9, 7), Image.BICUBIC))
    assert np.array_equal(lr, expect)


def test_degrade_errors():
    with pytest.raises(ValueError, match=r"2x3 pixels \(HxW\) is smaller than `scale`=4"):
        modcrop(_rgb(2, 3), 4)
    with pytest.raises(ValueError, match=r"`scale` must be an integer >= 1. Received: scale=0"):
        make_lr(_rgb(8, 8), 0)
    with pytest.raises(ValueError, match=r"`hr_uint8` must be a uint8 RGB.*dtype=float64"):
        make_lr(np.zeros((8, 8, 3)), 2)


def test_data_modules_do_not_import_tensorflow():
    code = (
        "import sys, keras_sr.metrics, keras_sr.data, keras_sr.data.sources, keras_sr.prepare;"
        "bad = [m for m in ('tensorflow', 'tf_keras', 'keras') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


# ---------------------------------------------------------------- folder source
def test_folder_source_reads_pairs(image_dir):
    src = open_pairs(image_dir, 2)
    assert isinstance(src, FolderPairSource) and len(src) == 6
    assert [src.name(i) for i in range(6)] == ["a_rgb", "b_gray", "c_pal", "d_rgba", "e_bmp", "f_jpg"]
    lr, hr = src[0]
    hr_expect, lr_expect = make_lr(_rgb(20, 26, 1), 2)
    assert np.array_equal(lr, lr_expect) and np.array_equal(hr, hr_expect)
    lr, hr = src[-2]  # e_bmp: 19x23 -> modcrop 18x22
    assert hr.shape == (18, 22, 3) and lr.shape == (9, 11, 3)
    assert src.lr_shape(4) == (9, 11) and src.hr_shape(4) == (18, 22)
    lp, hp = src.read_patch(4, 2, 3, 4)
    assert np.array_equal(lp, lr[2:6, 3:7]) and np.array_equal(hp, hr[4:12, 6:14])
    with pytest.raises(IndexError, match=r"Index 6 is out of range for 6 pairs"):
        src[6]


def test_open_pairs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`path` '.*nowhere' does not exist; expected an HDF5"):
        open_pairs(tmp_path / "nowhere", 2)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"holds no images; expected files ending in \.png, \.jpg, \.jpeg, \.bmp"):
        open_pairs(empty, 2)
    (tmp_path / "x.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"HDF5 file \(\.h5, \.hdf5\) or a folder.*suffix '\.npz'"):
        open_pairs(tmp_path / "x.npz", 2)
    with pytest.raises(ValueError, match=r"`scale` must be an integer >= 1. Received: scale=2.5"):
        open_pairs(empty, 2.5)


def test_folder_image_smaller_than_scale(tmp_path):
    Image.fromarray(_rgb(3, 10)).save(tmp_path / "tiny.png")
    src = open_pairs(tmp_path, 4)
    with pytest.raises(ValueError, match=r"Image '.*tiny.png' is 3x10 \(HxW\), smaller than `scale`=4"):
        src[0]
    with pytest.raises(ValueError, match=r"tiny.png' is 3x10 \(HxW\), smaller than `scale`=4"):
        src.lr_shape(0)


# ---------------------------------------------------------------- HDF5 source
def test_h5_source_reads_items_lazily(tmp_path):
    pairs = [_coord_pair(10, 12, 3), _coord_pair(8, 9, 3)]
    path = _write_h5(tmp_path / "t.h5", pairs)
    src = open_pairs(path, 3)
    assert isinstance(src, H5PairSource) and len(src) == 2
    assert src._file is None  # validated on open, but the file is not kept open until used
    lr, hr = src[1]
    assert np.array_equal(lr, pairs[1][0]) and np.array_equal(hr, pairs[1][1])
    assert src.name(0) == "0" and src.lr_shape(0) == (10, 12) and src.hr_shape(0) == (30, 36)
    lp, hp = src.read_patch(0, 2, 5, 4)
    assert np.array_equal(lp, pairs[0][0][2:6, 5:9]) and np.array_equal(hp, pairs[0][1][6:18, 15:27])
    src.close()
    assert src._file is None and np.array_equal(src[0][0], pairs[0][0])  # reopens on demand


def test_h5_missing_groups(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.create_group("lr")
        f.create_group("images")
    with pytest.raises(ValueError, match=r"bad.h5' must have groups 'lr' and 'hr'.*Missing: \['hr'\].*\['images', 'lr'\]"):
        open_pairs(tmp_path / "bad.h5", 2)


def test_h5_unequal_counts(tmp_path):
    path = _write_h5(tmp_path / "u.h5", [_coord_pair(4, 4, 2)] * 3)
    with h5py.File(path, "a") as f:
        del f["hr"]["2"]
    with pytest.raises(ValueError, match=r"unequal counts: group 'lr' holds 3 datasets and group 'hr' holds 2"):
        open_pairs(path, 2)


def test_h5_scale_mismatch_names_sizes(tmp_path):
    path = _write_h5(tmp_path / "x2.h5", [_coord_pair(8, 10, 2)])
    with pytest.raises(
        ValueError,
        match=r"item '0' does not match `scale`=4: HR is 16x20 and LR is 8x10 \(HxW\); "
        r"for scale=4 the HR must be 32x40",
    ):
        open_pairs(path, 4)
    assert len(open_pairs(path, 2)) == 1


# ---------------------------------------------------------------- tf.data pipeline
def _orientation(lr):
    """Which of the 8 square symmetries a coordinate-encoded patch shows."""
    r, c = lr[..., 0].astype(int), lr[..., 1].astype(int)
    return (int(np.sign(r[-1, 0] - r[0, 0])), int(np.sign(r[0, -1] - r[0, 0])),
            int(np.sign(c[-1, 0] - c[0, 0])), int(np.sign(c[0, -1] - c[0, 0])))


def test_train_dataset_shapes_alignment_and_augmentation(tmp_path):
    from keras_sr.data.pipeline import make_train_dataset

    path = _write_h5(tmp_path / "c.h5", [_coord_pair(20, 24, 2), _coord_pair(16, 18, 2)])
    ds = make_train_dataset(path, 2, patch_size=6, batch_size=8, seed=1)
    seen = set()
    for lr, hr in ds.take(4):
        assert lr.shape == (8, 6, 6, 3) and hr.shape == (8, 12, 12, 3)
        assert lr.dtype.name == "float32" and 0.0 <= float(lr.numpy().min()) and float(hr.numpy().max()) <= 1.0
        lr8 = np.round(lr.numpy() * 255).astype(np.uint8)
        hr8 = np.round(hr.numpy() * 255).astype(np.uint8)
        # Aligned through crop, flips and rotation: HR is the 2x nearest upscale of LR.
        assert np.array_equal(hr8, lr8.repeat(2, 1).repeat(2, 2))
        seen.update(_orientation(p) for p in lr8)
    assert len(seen) == 8  # all flips / rotations occur

    plain = make_train_dataset(path, 2, patch_size=6, batch_size=8, seed=1, augment=False)
    lr8 = np.round(next(iter(plain))[0].numpy() * 255).astype(np.uint8)
    assert {_orientation(p) for p in lr8} == {(1, 0, 0, 1)}


def test_train_dataset_is_reproducible_with_seed(image_dir):
    from keras_sr.data.pipeline import make_train_dataset

    def first(seed):
        ds = make_train_dataset(image_dir, 2, patch_size=8, batch_size=4, seed=seed)
        return [t.numpy() for batch in ds.take(2) for t in batch]

    a, b, c = first(7), first(7), first(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_train_dataset_one_epoch_without_repeat(image_dir):
    from keras_sr.data.pipeline import make_train_dataset

    ds = make_train_dataset(image_dir, 2, patch_size=8, batch_size=4, seed=0, repeat=False)
    assert [int(lr.shape[0]) for lr, _ in ds] == [4, 2]


def test_patch_too_large_errors(tmp_path):
    from keras_sr.data.pipeline import check_patch_fits, make_train_dataset

    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(_rgb(40, 40)).save(d / "big.png")
    Image.fromarray(_rgb(20, 44)).save(d / "small.png")
    msg = r"Image '.*small.png' is too small for `patch_size`=8 at `scale`=4: HR 20x44, LR 5x11 \(HxW\)"
    with pytest.raises(ValueError, match=msg + r".*needs LR 8x8 \(HR 32x32\)"):
        check_patch_fits(d, 8, 4)
    with pytest.raises(ValueError, match=msg):  # the upfront check runs by default
        make_train_dataset(d, 4, patch_size=8, batch_size=2, seed=0)
    check_patch_fits(d, 5, 4)
    # Without the upfront scan, the read itself fails with the same message.
    ds = make_train_dataset(d, 4, patch_size=8, batch_size=2, seed=0, check_sizes=False)
    with pytest.raises(Exception, match=msg):
        list(ds.take(1))

    h5 = _write_h5(tmp_path / "p.h5", [_coord_pair(10, 12, 2), _coord_pair(5, 30, 2)])
    with pytest.raises(ValueError, match=r"HDF5 file '.*p.h5' item '1' is too small for `patch_size`=6"):
        check_patch_fits(open_pairs(h5, 2), 6, 2)
    with pytest.raises(ValueError, match=r"`scale`=3 does not match the PairSource's scale 2"):
        check_patch_fits(open_pairs(h5, 2), 4, 3)
    with pytest.raises(ValueError, match=r"`patch_size` must be an integer >= 1. Received: patch_size=0"):
        make_train_dataset(h5, 2, patch_size=0)


def test_eval_items(image_dir):
    from keras_sr.data.pipeline import make_eval_items

    items = list(make_eval_items(image_dir, 3))
    assert [name for name, _, _ in items][:2] == ["a_rgb", "b_gray"]
    for _, lr, hr in items:
        assert hr.shape == (lr.shape[0] * 3, lr.shape[1] * 3, 3)
    with pytest.raises(FileNotFoundError):
        make_eval_items(image_dir / "nope", 3)


def test_extensions_are_case_insensitive(image_dir):
    assert "f_jpg" in [open_pairs(image_dir, 2).name(i) for i in range(6)]


def test_one_suffix_list_for_training_evaluation_and_upscaling(tmp_path):
    from keras_sr.data import imageio
    from keras_sr.upscale import plan_outputs

    assert IMAGE_EXTENSIONS is imageio.IMAGE_SUFFIXES
    for suffix in (".png", ".JPG", ".webp", ".tiff"):
        Image.fromarray(_rgb(8, 8)).save(tmp_path / f"img{suffix.lower()}_x{suffix}")
    (tmp_path / "notes.txt").write_text("not an image")
    names = sorted(p.name for p in imageio.list_images(tmp_path))
    assert names == sorted(p.name for p in open_pairs(tmp_path, 2).files)
    assert sorted(src.name for src, _ in plan_outputs([tmp_path], tmp_path / "out")) == names
    assert len(names) == 4


def test_real_sets_modes_and_patch_check(data_root):
    from keras_sr.data.pipeline import check_patch_fits

    bridge = load_image(data_root / "Set14" / "bridge.png")  # stored as mode L
    assert bridge.shape == (512, 512, 3) and np.array_equal(bridge[..., 0], bridge[..., 2])
    check_patch_fits(data_root / "Set5", 48, 4)  # smallest side: woman 228 px -> LR 57
    with pytest.raises(ValueError, match=r"woman.png' is too small for `patch_size`=64 at `scale`=4: HR 344x228, LR 86x57"):
        check_patch_fits(data_root / "Set5", 64, 4)
