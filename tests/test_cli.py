"""The `keras-sr` dispatcher and the exit-code contract every subcommand shares (keras_sr.cli.common)."""
import subprocess
import sys
from pathlib import Path

import pytest

from keras_sr.cli import COMMANDS, common, main


def _parser():
    parser = common.make_parser("probe", "a probe command")
    common.add_num_threads(parser)
    common.add_eval(parser)
    return parser


def _run_with(fn, argv=()):
    return common.run_main(_parser, lambda args, parser: fn(args), list(argv))


def test_exit_codes(capsys):
    assert _run_with(lambda args: 0) == 0
    assert _run_with(lambda args: (_ for _ in ()).throw(FileNotFoundError("`tflite` file 'x' does not exist."))) == 2
    err = capsys.readouterr().err
    assert "keras-sr probe: error: `tflite` file 'x' does not exist." in err and "Traceback" not in err
    assert _run_with(lambda args: (_ for _ in ()).throw(RuntimeError("kernel failed"))) == 1
    err = capsys.readouterr().err
    assert "the run failed: RuntimeError: kernel failed (--verbose shows the traceback)" in err
    assert "Traceback" not in err
    assert _run_with(lambda args: (_ for _ in ()).throw(RuntimeError("kernel failed")), ["--verbose"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert _run_with(lambda args: (_ for _ in ()).throw(KeyboardInterrupt())) == 130
    assert _run_with(lambda args: 0, ["--num-threads", "0"]) == 2  # a parser error is returned, not raised
    err = capsys.readouterr().err
    assert "--num-threads: expected an integer" in err and "Received: '0'" in err
    assert _run_with(lambda args: 0, ["--help"]) == 0
    assert "exit codes: 0 success, 2 bad usage or input, 1 failure during the run" in capsys.readouterr().out


def test_deprecated_spelling_sets_the_new_dest_and_says_so(capsys):
    seen = {}
    assert _run_with(lambda args: seen.update(n=args.num_threads), ["--threads", "3"]) == 0
    assert seen["n"] == 3
    assert "`--threads` is deprecated and will be removed in the next release; use `--num-threads`" in \
        capsys.readouterr().err


def test_legacy_verbose_level_is_translated(capsys):
    seen = {}
    assert _run_with(lambda args: seen.update(verbose=args.verbose), ["--verbose", "2"]) == 0
    assert seen["verbose"] is False and "`--verbose 2` is deprecated" in capsys.readouterr().err


def test_wxh_is_height_width_in_the_library():
    assert common.parse_wxh("320x180") == (180, 320)
    with pytest.raises(Exception, match="expected WIDTHxHEIGHT"):
        common.parse_wxh("320")


def test_dispatcher(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    assert main(["nope"]) == 2 and "unknown subcommand 'nope'" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("keras-sr ")


def test_console_script_and_module_entry_point_run_a_subcommand():
    # The console script pip installed beside this interpreter (the venv need not be on PATH).
    script = Path(sys.executable).parent / "keras-sr"
    if not script.is_file():
        pytest.skip(f"no keras-sr console script beside {sys.executable}: the package is not pip-installed")
    for argv in ([str(script), "demo", "--help"], [sys.executable, "-m", "keras_sr", "demo", "--help"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage: keras-sr demo" in done.stdout, done.stderr


def test_tensorflow_start_up_lines_are_hidden_unless_verbose():
    code = "import keras_sr._keras"
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "oneDNN" not in quiet.stderr and "cuda" not in quiet.stderr.lower()
