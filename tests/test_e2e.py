"""End to end on real images, with the default patch: prepare -> train 2 epochs -> resume to 3 -> evaluate."""
import json
import shutil

import pytest
from PIL import Image

from keras_sr.cli import main

TINY = ["--set", "num_features=8", "--set", "growth_rate=8", "--set", "num_layers=3", "--set", "recursions=1"]


def test_prepare_train_resume_evaluate(data_root, tmp_path, capsys):
    train_dir, eval_dir = tmp_path / "train_hr", tmp_path / "eval_hr"
    train_dir.mkdir()
    eval_dir.mkdir()
    for path in sorted((data_root / "train" / "BSD200_first50").glob("*.png"))[:3]:
        shutil.copy(path, train_dir)
    # Its five half-size crops (100 px) are smaller than the default HR patch (32 x 4 = 128 px).
    Image.open(data_root / "Set5" / "bird.png").convert("RGB").crop((0, 0, 200, 200)).save(train_dir / "small.png")
    for name in ("bird", "butterfly"):
        shutil.copy(data_root / "Set5" / f"{name}.png", eval_dir)
    train_h5, eval_h5 = tmp_path / "train_x4.h5", tmp_path / "eval_x4.h5"
    assert main(["prepare", "--images-dir", str(train_dir), "-o", str(train_h5), "--scale", "4", "--quiet"]) == 0
    assert main(["prepare", "--images-dir", str(eval_dir), "-o", str(eval_h5), "--scale", "4", "--kind", "eval",
                 "--quiet"]) == 0
    capsys.readouterr()

    # prepare -> train with the default patch: the small crops are skipped, with a count.
    run = tmp_path / "run"
    argv = ["train", "--model", "fd_irb", "--scale", "4", *TINY, "--train", str(train_h5), "--eval", str(eval_h5),
            "--output-dir", str(run), "--steps-per-epoch", "3", "--batch-size", "4", "--quiet"]
    assert main(argv + ["--epochs", "2"]) == 0
    assert "skipped 5 of 20 training items smaller than the 128x128 HR patch (--patch-size 32 at x4)" in \
        capsys.readouterr().out
    assert main(argv + ["--epochs", "3", "--resume"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert [r["samples_seen"] for r in history] == [12, 24, 36]
    capsys.readouterr()

    assert main(["evaluate", "--weights", str(run / "best.weights.h5"), "--eval", str(eval_h5), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (scores,) = result["datasets"].values()
    best = max(history, key=lambda r: r["psnr"])
    assert scores["count"] == 2 and scores["psnr"] == pytest.approx(best["psnr"], abs=1e-9)
    assert scores["ssim"] == pytest.approx(best["ssim"], abs=1e-12)
    assert 20 < scores["psnr"] < 40
