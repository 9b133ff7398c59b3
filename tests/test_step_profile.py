"""benchmarks/step_profile.py's parser: a real profile of one tiny train step, and self times on a made-up trace."""
import numpy as np
import pytest

from benchmarks import step_profile
from benchmarks.train_throughput import keras_train_step
from keras_sr import models
from keras_sr._keras import keras, tf
from tests.harness import tiny


def test_profile_of_one_tiny_train_step_finds_the_convolutions():
    keras.backend.clear_session()
    config = tiny("fd_irb_edge")
    base_weights = models.build("fd_irb_edge", 2, **config).get_weights()
    rng = np.random.default_rng(0)
    lr = tf.constant(rng.uniform(size=(2, 16, 16, 3)).astype(np.float32))
    hr = tf.constant(rng.uniform(size=(2, 32, 32, 3)).astype(np.float32))
    _, _, run_step = keras_train_step("fd_irb_edge", 2, config, base_weights, "float32", 1e-3, False, "fit", lr, hr)
    run_step()  # tracing stays out of the profile

    result, walls = step_profile.profile(run_step, 1)

    assert len(walls) == 1 and walls[0] > 0
    assert result["time"] == "self" and result["steps"] == 1 and result["total_ms"] > 0
    by_type = {row["type"]: row for row in result["ops"]}
    convs = [row for name, row in by_type.items() if "Conv2D" in name]
    assert any("Backprop" in row["type"] for row in convs), sorted(by_type)
    assert all(row["ms"] > 0 and row["count"] >= 1 for row in convs)
    assert sum(row["share"] for row in result["ops"]) == pytest.approx(1.0, abs=1e-9)
    assert sum(p["share"] for p in result["phases"].values()) == pytest.approx(1.0, abs=1e-9)
    assert result["phases"]["backward"]["ms"] > 0 and result["phases"]["forward"]["ms"] > 0
    assert [row["ms"] for row in result["ops"]] == sorted((row["ms"] for row in result["ops"]), reverse=True)
    text = step_profile.report(dict(batch_size=2, patch_size=16, scale=2, cpu="cpu", cpus=2, tensorflow=tf.__version__,
                                    date="today", load_at_start=[1, 1, 1], load_at_end=[1, 1, 1], command="python x",
                                    steps=1, warmup=1),
                               [dict(model="tiny", precision="float32", profile=result, profiled_walls=walls,
                                     summary=dict(no_xla=dict(median=1.0, p90=1.0, cpu_median=1.0)))], top=3)
    assert "| op type |" in text and f"| {result['ops'][0]['type']} |" in text


def test_self_time_subtracts_nested_op_events_only():
    module = step_profile.xplane_pb2()
    space = module.XSpace()
    plane = space.planes.add(name="/host:CPU")
    names = {1: "outer/f:PartitionedCall", 2: "outer/conv:Conv2D", 3: "ExecutorState::Process",
             4: "gradient_tape/x/Slice:Slice", 5: "Adam/mul:Mul"}
    for key, name in names.items():
        plane.event_metadata[key].id, plane.event_metadata[key].name = key, name
    line = plane.lines.add(name="tf_Compute/1")
    for key, offset, duration in ((1, 0, 100), (2, 10, 30), (3, 50, 40), (4, 200, 5)):
        line.events.add(metadata_id=key, offset_ps=offset, duration_ps=duration)
    plane.lines.add(name="tf_Compute/2").events.add(metadata_id=5, offset_ps=20, duration_ps=7)

    events = sorted(step_profile.op_events(space))
    assert events == [("Adam/mul", "Mul", 7), ("gradient_tape/x/Slice", "Slice", 5),
                      ("outer/conv", "Conv2D", 30), ("outer/f", "PartitionedCall", 70)]
    result = step_profile.aggregate([space], steps=1)
    assert result["total_ms"] == pytest.approx(112 / 1e9)
    assert result["ops"][0]["type"] == "PartitionedCall" and result["ops"][0]["share"] == pytest.approx(70 / 112)
    assert result["phases"]["optimizer"]["share"] == pytest.approx(7 / 112)
    assert result["phases"]["backward"]["share"] == pytest.approx(5 / 112)
