"""End to end on real images: prepare -> train 2 epochs -> resume to 3 -> evaluate (CI, < 40 s)."""
import json
import shutil

import pytest

from keras_sr import evaluate, prepare, train

TINY = ["--set", "num_features=8", "--set", "growth_rate=8", "--set", "num_layers=3", "--set", "recursions=1"]


def test_prepare_train_resume_evaluate(data_root, tmp_path, capsys):
    train_dir, eval_dir = tmp_path / "train_hr", tmp_path / "eval_hr"
    train_dir.mkdir()
    eval_dir.mkdir()
    for path in sorted((data_root / "train" / "BSD200_first50").glob("*.png"))[:3]:
        shutil.copy(path, train_dir)
    for name in ("bird", "butterfly"):
        shutil.copy(data_root / "Set5" / f"{name}.png", eval_dir)
    train_h5, eval_h5 = tmp_path / "train_x4.h5", tmp_path / "eval_x4.h5"
    assert prepare.main(["--images-dir", str(train_dir), "--output-path", str(train_h5), "--scale", "4"]) == 0
    assert prepare.main(["--images-dir", str(eval_dir), "--output-path", str(eval_h5), "--scale", "4", "--eval"]) == 0

    run = tmp_path / "run"
    argv = ["--model", "fd_irb", "--scale", "4", *TINY, "--train", str(train_h5), "--eval", str(eval_h5),
            "--outputs-dir", str(run), "--steps-per-epoch", "3", "--batch-size", "2", "--patch-size", "8",
            "--verbose", "0"]
    assert train.main(argv + ["--epochs", "2"]) == 0
    assert train.main(argv + ["--epochs", "3", "--resume"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert [r["samples_seen"] for r in history] == [6, 12, 18]
    capsys.readouterr()

    assert evaluate.main(["--weights", str(run / "best.weights.h5"), "--datasets", str(eval_h5), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scores = result["datasets"][str(eval_h5)]
    best = max(history, key=lambda r: r["psnr"])
    assert scores["count"] == 2 and scores["psnr"] == pytest.approx(best["psnr"], abs=1e-9)
    assert scores["ssim"] == pytest.approx(best["ssim"], abs=1e-12)
    assert 20 < scores["psnr"] < 40
