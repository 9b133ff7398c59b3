"""prepare: HDF5 training/evaluation files in the original project's format."""
import h5py
import numpy as np
import pytest
from PIL import Image

from keras_sr.data import load_image, make_lr, open_pairs
from keras_sr.prepare import five_crops, main, prepare


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.fixture
def images(tmp_path):
    d = tmp_path / "hr"
    d.mkdir()
    Image.fromarray(_rgb(21, 30, 1)).save(d / "b.png")
    Image.fromarray(_rgb(17, 14, 2)).save(d / "a.bmp")
    return d


def test_five_crops_geometry():
    img = np.zeros((9, 12, 2), np.int32)
    img[..., 0] = np.arange(9)[:, None]
    img[..., 1] = np.arange(12)[None, :]
    crops = dict(five_crops(img))
    assert list(crops) == ["tl", "tr", "bl", "br", "c"]
    assert all(c.shape == (4, 6, 2) for c in crops.values())
    starts = {k: (int(c[0, 0, 0]), int(c[0, 0, 1])) for k, c in crops.items()}
    # torchvision FiveCrop: centre top = round((9 - 4) / 2) = 2, left = round((12 - 6) / 2) = 3.
    assert starts == {"tl": (0, 0), "tr": (0, 6), "bl": (5, 0), "br": (5, 6), "c": (2, 3)}


def test_prepare_train_writes_five_crops_per_image(images, tmp_path):
    out = tmp_path / "out" / "train_x2.h5"
    assert prepare(images, out, 2) == 10
    with h5py.File(out, "r") as f:
        assert sorted(f["lr"].keys(), key=int) == [str(i) for i in range(10)]
        assert f.attrs["scale"] == 2 and f.attrs["kind"] == "train"
        names = [n.decode() for n in f["names"][()]]
    assert names[:6] == ["a_tl", "a_tr", "a_bl", "a_br", "a_c", "b_tl"]
    src = open_pairs(out, 2)
    assert len(src) == 10 and src.name(4) == "a_c"
    for k, (_, crop) in enumerate(five_crops(load_image(images / "b.png"))):
        hr_expect, lr_expect = make_lr(np.ascontiguousarray(crop), 2)
        lr, hr = src[5 + k]
        assert np.array_equal(lr, lr_expect) and np.array_equal(hr, hr_expect)
    assert [p.name for p in out.parent.iterdir()] == ["train_x2.h5"]  # no temp file left


def test_prepare_eval_writes_whole_images(images, tmp_path):
    out = tmp_path / "eval_x3.h5"
    assert prepare(images, out, 3, kind="eval") == 2
    src = open_pairs(out, 3)
    assert [src.name(i) for i in range(2)] == ["a", "b"]
    lr, hr = src[0]
    hr_expect, lr_expect = make_lr(_rgb(17, 14, 2), 3)
    assert hr.shape == (15, 12, 3) and np.array_equal(hr, hr_expect) and np.array_equal(lr, lr_expect)


def test_prepare_refuses_to_overwrite_without_force(images, tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match=r"`output` '.*x.h5' already exists; pass force=True \(--force\)"):
        prepare(images, out, 2)
    assert out.read_bytes() == b"keep me"
    with pytest.warns(DeprecationWarning, match="use `kind='eval'`"):  # the old keyword, for one release
        assert prepare(images, out, 2, eval=True, force=True) == 2
    assert len(open_pairs(out, 2)) == 2


def test_prepare_failure_leaves_nothing_behind(images, tmp_path):
    Image.fromarray(_rgb(7, 30, 3)).save(images / "c_small.png")  # half-size crop 3 rows < scale 4
    out = tmp_path / "o" / "t.h5"
    with pytest.raises(ValueError, match=r"c_small.png' \(7x30, HxW\) is too small for `scale`=4: its 'tl' crop"):
        prepare(images, out, 4)
    assert list(out.parent.iterdir()) == []


def test_prepare_downscales_and_min_size(images, tmp_path):
    out = tmp_path / "ms_x2.h5"
    # a.bmp is 17x14 (HxW): at 0.5 it is 7x8 (W, H rounded), below --min-size 10; b.png 21x30 -> 10x15.
    assert prepare(images, out, 2, kind="eval", downscales=(1.0, 0.5), min_size=10) == 3
    src = open_pairs(out, 2)
    assert [src.name(i) for i in range(3)] == ["a", "b", "b_s50"]
    small = np.asarray(Image.fromarray(_rgb(21, 30, 1)).resize((15, 10), Image.BICUBIC))
    hr_expect, lr_expect = make_lr(small, 2)
    lr, hr = src[2]
    assert np.array_equal(hr, hr_expect) and np.array_equal(lr, lr_expect)
    # In training files --min-size applies to the half-size crops: a (17x14 -> 8x7 crops) and
    # b_s50 (10x15 -> 5x7) fall below 10; b (21x30 -> 10x15 crops) stays.
    train = tmp_path / "ms_train.h5"
    assert prepare(images, train, 2, downscales=(1.0, 0.5), min_size=10) == 5
    assert [open_pairs(train, 2).name(i) for i in range(5)] == ["b_tl", "b_tr", "b_bl", "b_br", "b_c"]
    assert min(min(hr.shape[:2]) for _, hr in open_pairs(train, 2)) >= 10


def test_prepare_downscale_errors(images, tmp_path):
    for bad in ((), (0.0,), (1.5,)):
        with pytest.raises(ValueError, match=r"`downscales` must be factors in \(0, 1\]"):
            prepare(images, tmp_path / "o.h5", 2, downscales=bad)
    with pytest.raises(ValueError, match="`min_size` must be an integer >= 0"):
        prepare(images, tmp_path / "o.h5", 2, min_size=-1)
    with pytest.raises(ValueError, match="No item of .* `min_size`=100"):
        prepare(images, tmp_path / "o.h5", 2, min_size=100)
    assert not (tmp_path / "o.h5").exists()


def test_prepare_input_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"`images_dir` '.*nope' is not an existing folder"):
        prepare(tmp_path / "nope", tmp_path / "o.h5", 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no images; expected files ending in \.png, \.jpg"):
        prepare(tmp_path / "empty", tmp_path / "o.h5", 2)
    assert not (tmp_path / "o.h5").exists()


def test_cli(images, tmp_path, capsys):
    out = tmp_path / "cli.h5"
    argv = ["--images-dir", str(images), "-o", str(out), "--scale", "2", "--kind", "eval", "--quiet"]
    assert main(argv) == 0
    assert "Wrote 2 eval items" in capsys.readouterr().out
    assert main(argv) == 2
    assert "already exists; pass force=True (--force)" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0
    assert main(["--images-dir", str(images), "-o", str(out), "--scale", "0"]) == 2
    assert "--scale: expected an integer >= 1. Received: '0'" in capsys.readouterr().err


def test_cli_old_spellings_still_work_with_a_warning(images, tmp_path, capsys):
    out = tmp_path / "old.h5"
    assert main(["--images-dir", str(images), "--output-path", str(out), "--scale", "2", "--eval", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "`--output-path` is deprecated" in err and "use `-o/--output`" in err and "use `--kind eval`" in err
    assert len(open_pairs(out, 2)) == 2


def test_prepare_warns_when_items_are_smaller_than_trains_default_patch(images, tmp_path, capsys):
    # At x2 train's default patch is 64x64 HR pixels; every crop of these tiny images is smaller.
    assert main(["--images-dir", str(images), "-o", str(tmp_path / "t.h5"), "--scale", "2", "--quiet"]) == 0
    assert capsys.readouterr().err == ""  # --quiet: no warning line either
    assert main(["--images-dir", str(images), "-o", str(tmp_path / "u.h5"), "--scale", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning: 10 of 10 items are smaller than 64x64 HR pixels" in err and "--min-size 64" in err


def test_prepare_real_set5(data_root, tmp_path):
    src_dir = tmp_path / "set5"
    src_dir.mkdir()
    for name in ("bird", "butterfly"):
        (src_dir / f"{name}.png").symlink_to(data_root / "Set5" / f"{name}.png")
    train = tmp_path / "train_x4.h5"
    assert main(["--images-dir", str(src_dir), "-o", str(train), "--scale", "4", "--quiet"]) == 0
    pairs = open_pairs(train, 4)
    assert len(pairs) == 10
    bird = load_image(src_dir / "bird.png")  # 288x288: half-size crops 144x144
    lr, hr = pairs[4]
    hr_expect, lr_expect = make_lr(bird[72:216, 72:216], 4)
    assert hr.shape == (144, 144, 3) and np.array_equal(hr, hr_expect) and np.array_equal(lr, lr_expect)

    ev = tmp_path / "eval_x3.h5"
    assert prepare(src_dir, ev, 3, kind="eval") == 2
    from_h5 = open_pairs(ev, 3)
    from_folder = open_pairs(src_dir, 3)
    for i in range(2):
        assert from_h5.name(i) == from_folder.name(i)
        for a, b in zip(from_h5[i], from_folder[i]):
            assert np.array_equal(a, b)
    assert from_h5[1][1].shape == (255, 255, 3)  # butterfly 256x256, modcrop by 3
