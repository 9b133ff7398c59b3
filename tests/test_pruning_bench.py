"""benchmarks/pruning.py's counting and table: shared filters counted once, missing rows said."""
import gzip

from benchmarks import pruning
from keras_sr import presets


def test_int8_filters_of_the_recursive_block_are_counted_once():
    nonzero, total = pruning.tflite_filter_nonzero(presets.get("fd_irb_x4").tflite)
    # 1,633,312 Conv2D kernel weights in the Keras model + the fixed 3,600-weight bicubic filter,
    # although the shared block's convs appear once per recursion in the file.
    assert total == 1_633_312 + 3_600
    assert 0.9 * total < nonzero <= total


def test_gzip_size_is_that_of_the_file_compressed():
    path = presets.get("fd_irb_micro_x4").tflite
    size = pruning.gzip_bytes(path)
    assert size == len(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    assert size < path.stat().st_size


def test_table_says_which_rows_are_missing_and_which_meet_the_goal():
    row = {"label": "pruned", "params": 1_634_948, "nonzero": 981_623, "int8_filter_nonzero": 980_000,
           "int8_filter_total": 1_636_912, "tflite_bytes": 1_790_000, "gzip_bytes": 1_200_000,
           "scores": {"Set5": {"psnr": 31.5}, "BSD100": {"psnr": 27.2}}, "latency_ms": {"median": 500, "p90": 510}}
    dense = {**row, "label": "dense", "nonzero": 1_634_948}
    text = pruning.table({"machine": "m", "date": "d", "command": "c",
                          "rows": [dense, row, {"label": "2:4", "missing": "runs/x/int8.tflite"}]})
    lines = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert "| no |" in lines["| dense"] and "| yes |" in lines["| pruned"]
    assert "missing: `runs/x/int8.tflite`" in lines["| 2:4"]
