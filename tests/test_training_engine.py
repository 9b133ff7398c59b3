"""The run engine's TF-free parts: run files (`--config`), run folders, option checks."""
import json

import pytest

from keras_sr.cli import common
from keras_sr.training.options import OPTIMIZE_DEFAULTS, TRAIN_DEFAULTS, check_optimize_options, check_train_options
from keras_sr.training.run_folder import RunFolder
from keras_sr.training.runconfig import apply_config_file, load_run_config, replay_options


def toy_parser():
    """Flags of every kind the subcommands use, with non-None defaults where they have them."""
    parser = common.make_parser("toy", "a parser for the tests")
    parser.add_argument("--kind", choices=("train", "eval"), default="train")
    parser.add_argument("--downscales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--images-dir", nargs="+", metavar="DIR")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--float16", dest="precision", action="store_const", const="float16")
    group.add_argument("--int8", dest="precision", action="store_const", const="int8")
    parser.set_defaults(precision="float32")
    common.add_xnnpack(parser)
    common.add_scale(parser)
    common.add_set(parser)
    common.add_output_dir(parser, help="where")
    common.deprecated(parser, "--outputs-dir", "--output-dir", "output_dir")
    common.add_config_file(parser)
    return parser


def parse(argv, tmp_path, options):
    """`args` after `toy --config FILE ARGV` (FILE holding `options`), through run_main."""
    path = tmp_path / "run.json"
    path.write_text(json.dumps(options))
    seen = {}

    def run(args, parser):
        apply_config_file(args, parser)
        seen.update(vars(args))
        return 0

    code = common.run_main(toy_parser, run, ["--config", str(path), *argv])
    return code, seen


def test_file_fills_what_the_command_line_left_and_flags_win(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SR_DATA", str(tmp_path / "data"))
    options = {"command": "toy", "kind": "eval", "downscales": [1, 0.5], "int8": True, "no_xnnpack": True,
               "scale": 3, "config": {"recursions": 2, "attention": "mean"}, "images_dir": ["$KERAS_SR_DATA/T91"],
               "output_dir": "runs/x"}
    code, args = parse([], tmp_path, options)
    assert code == 0
    assert args["kind"] == "eval" and args["downscales"] == [1, 0.5] and args["precision"] == "int8"
    assert args["use_xnnpack"] is False and args["scale"] == 3 and args["output_dir"] == "runs/x"
    assert args["images_dir"] == [str(tmp_path / "data" / "T91")]
    assert common.parse_set_options(args["config"]) == {"recursions": 2, "attention": "mean"}
    # Given flags win, even when they repeat a default; --set wins key by key.
    code, args = parse(["--kind", "train", "--float16", "--scale", "2", "--set", "recursions=3",
                        "--outputs-dir", "runs/y"], tmp_path, options)
    assert code == 0
    assert args["kind"] == "train" and args["precision"] == "float16" and args["scale"] == 2
    assert args["output_dir"] == "runs/y"
    assert common.parse_set_options(args["config"]) == {"recursions": 3, "attention": "mean"}


@pytest.mark.parametrize("options, message", [
    ({"kinds": "eval"}, "unknown key 'kinds'"),
    ({"outputs_dir": "x"}, "unknown key 'outputs_dir'"),  # deprecated spellings are not keys
    ({"kind": "test"}, "`kind` must be one of ['train', 'eval']"),
    ({"scale": "four"}, "`scale`"),
    ({"int8": "yes"}, "`int8` must be true or false"),
    ({"config": 3}, "`config` must be an object"),
    ({"command": "train", "scale": 2}, "a run file for a `keras-sr train` run, not `keras-sr toy`"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, capsys, options, message):
    code, _ = parse([], tmp_path, options)
    err = capsys.readouterr().err
    assert code == 2 and "run.json" in err and message in err


def test_load_run_config_reads_files_and_records(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_SR_DATA", str(tmp_path))
    record = tmp_path / "config.json"
    replay = replay_options({"model": "fd_irb", "train": tmp_path / "T91", "eval": None, "jit_compile": False,
                             "resume": True, "epochs": 3, "output_dir": "runs/a"})
    assert replay == {"model": "fd_irb", "train": "$KERAS_SR_DATA/T91", "epochs": 3, "output_dir": "runs/a"}
    record.write_text(json.dumps({"command": "train", "options": {}, "replay": replay}))
    assert load_run_config(record, "train") == {**replay, "train": str(tmp_path / "T91")}
    with pytest.raises(ValueError, match="record of a `keras-sr train` run"):
        load_run_config(record, "optimize")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold an object"):
        load_run_config(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="broken.json' is not valid JSON"):
        load_run_config(tmp_path / "broken.json")


def test_run_folder_refuses_reuse_and_force_deletes_only_its_files(tmp_path):
    folder = RunFolder(tmp_path / "run", "train", weights=("best.weights.h5",), legacy=("run.json",))
    assert folder.open(resume=False, force=False) is None  # nothing there yet
    with pytest.raises(FileNotFoundError, match="no run to resume"):
        folder.open(resume=True, force=False)
    with pytest.raises(ValueError, match="exclude each other"):
        folder.open(resume=True, force=True)
    folder.path.mkdir()
    for name in ("config.json", "best.weights.h5", "best.weights.json", "run.json", "notes.txt"):
        (folder.path / name).write_text(json.dumps({"command": "train", "status": "finished"}))
    (folder.path / "ckpt").mkdir()
    with pytest.raises(FileExistsError, match="already holds a finished run; continue it with --resume"):
        folder.open(resume=False, force=False)
    assert folder.open(resume=True, force=False)["status"] == "finished"
    other = RunFolder(folder.path, "optimize")
    with pytest.raises(ValueError, match="holds a run of `keras-sr train`, not of `keras-sr optimize`"):
        other.open(resume=True, force=False)
    assert folder.open(resume=False, force=True) is None
    folder.clear()
    assert sorted(p.name for p in folder.path.iterdir()) == ["notes.txt"]


def test_option_checks_name_the_keyword():
    good = dict(TRAIN_DEFAULTS)
    check_train_options(good)
    for key, value, message in [("batch_size", 0, "`batch_size` must be an integer >= 1. Received: batch_size=0"),
                                ("lr_drop_at", 1.5, "`lr_drop_at` must be a number in (0, 1]"),
                                ("loss", "l3", "`loss` must be one of ('l1', 'l2')"),
                                ("checkpoint_every_epochs", 0, "`checkpoint_every_epochs`")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            check_train_options({**good, key: value})
    optimize = {**OPTIMIZE_DEFAULTS, "prune": True, "qat": False, "steps": 2}
    check_optimize_options(optimize)
    with pytest.raises(ValueError, match="`sparsity` must be a number in"):
        check_optimize_options({**optimize, "sparsity": 1.0})
    with pytest.raises(ValueError, match="`m_by_n` must look like M:N"):
        check_optimize_options({**optimize, "m_by_n": "2-4"})
    with pytest.raises(ValueError, match="Nothing to do"):
        check_optimize_options({**optimize, "prune": False})
