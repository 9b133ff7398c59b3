"""benchmarks/realtime_latency.py: ratios from interleaved timings, the table, and its --file checks."""
import argparse
import json
import statistics

import pytest

from benchmarks import realtime_latency
from keras_sr import presets


def test_ratio_is_the_median_over_the_references_median():
    times = {"fast": [10.0, 12.0, 11.0], "ref": [40.0, 30.0, 35.0], "alone": [1.0]}
    (row,) = realtime_latency.summarize(times, pairs=(("fast", "ref"), ("alone", "absent")))
    assert row["ratio"] == pytest.approx(11.0 / 35.0)
    assert row["meets_goal"] is True
    (slow,) = realtime_latency.summarize({"fast": [20.0], "ref": [40.0]}, pairs=(("fast", "ref"),))
    assert slow["meets_goal"] is False
    assert "| missed |" in realtime_latency.table({"machine": "m", "date": "d", "command": "c", "rounds": 1,
                                                   "rows": [slow]})


def test_file_argument_names_what_is_wrong(tmp_path):
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=PATH"):
        realtime_latency.parse_file("just/a/path.tflite")
    with pytest.raises(argparse.ArgumentTypeError, match="no such file"):
        realtime_latency.parse_file(f"fd_irb_realtime_x4={tmp_path / 'absent.tflite'}")


def test_main_times_the_given_files_in_one_run(tmp_path):
    micro, edge = presets.get("fd_irb_micro_x4").tflite, presets.get("fd_irb_micro_x2").tflite
    argv = [f"--file=fd_irb_realtime_x4={micro}", f"--file=fd_irb_edge_x4={edge}",
            f"--file=fd_irb_realtime_x2={micro}", f"--file=fd_irb_edge_x2={edge}",
            "--rounds", "2", "--output-dir", str(tmp_path)]
    assert realtime_latency.main(argv) == 0
    result = json.loads((tmp_path / "realtime_latency.json").read_text())
    assert [row["model"] for row in result["rows"]] == ["fd_irb_realtime_x4", "fd_irb_realtime_x2"]
    for row in result["rows"]:
        times = result["times_ms"]
        assert len(times[row["model"]]) == 2
        assert row["ratio"] == pytest.approx(statistics.median(times[row["model"]])
                                             / statistics.median(times[row["reference"]]))
    assert "fd_irb_realtime_x4" in (tmp_path / "realtime_latency.md").read_text()


def test_candidate_ratio_is_against_the_edge_file_of_the_same_scale():
    times = {"fd_irb_edge_x4": [100.0], "fd_irb_edge_x2": [80.0], "F40 C4 U1 x4": [21.0], "F40 C4 U2 x2": [30.0]}
    rows = {row["candidate"]: row for row in realtime_latency.candidate_rows(times)}
    assert set(rows) == {"F40 C4 U1 x4", "F40 C4 U2 x2"}
    assert rows["F40 C4 U1 x4"]["ratio"] == pytest.approx(0.21) and rows["F40 C4 U1 x4"]["meets_goal"]
    assert rows["F40 C4 U2 x2"]["ratio"] == pytest.approx(0.375) and not rows["F40 C4 U2 x2"]["meets_goal"]


def test_candidate_files_already_built_and_runnable_are_reused(tmp_path):
    kept = presets.get("fd_irb_micro_x4").tflite.read_bytes()
    for name in realtime_latency.CANDIDATES:
        for scale in (4, 2):
            (tmp_path / f"{name.replace(' ', '_')}_x{scale}.tflite").write_bytes(kept)
    files = realtime_latency.candidate_files(tmp_path)
    assert len(files) == 2 * len(realtime_latency.CANDIDATES)
    assert all(path.read_bytes() == kept for path in files.values())


def test_a_file_xnnpack_cannot_run_is_reported_not_timed(tmp_path):
    good = presets.get("fd_irb_micro_x4").tflite
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    ok, refused = realtime_latency.runnable({"good": good, "bad": bad})
    assert list(ok) == ["good"] and list(refused) == ["bad"]
