"""XNNPACK partitions: the shipped files, a model with an op XNNPACK lacks, and the export check."""
import json

import pytest

from keras_sr import presets
from keras_sr.export import export
from keras_sr.lite.delegation import check_one_partition, xnnpack_partitions


@pytest.mark.parametrize("name", [n for n in presets.names() if not n.startswith("fd_irb_x")])
def test_edge_micro_and_realtime_presets_run_in_one_xnnpack_partition(name):
    report = xnnpack_partitions(presets.get(name).tflite)
    assert report == {"partitions": 1, "ops": report["ops"], "delegated_ops": report["ops"], "undelegated": [],
                      "one_partition": True}
    # The whole graph was read: the smallest shipped one, the one-pass real-time network, has 48 ops.
    assert report["ops"] >= 48


def test_fd_irb_contrast_attention_leaves_int8_sqrt_outside_xnnpack():
    report = xnnpack_partitions(presets.get("fd_irb_x4").tflite.read_bytes())
    assert not report["one_partition"]
    assert report["partitions"] > 1
    assert any(op.startswith("SQRT x") for op in report["undelegated"])
    # Each op left outside splits the graph: n ops in a chain give n + 1 partitions.
    outside = sum(int(op.rsplit("x", 1)[1]) for op in report["undelegated"])
    assert report["delegated_ops"] == report["ops"] - outside
    with pytest.raises(ValueError, match=r"fd_irb_x4: XNNPACK must run the whole graph as one partition.*SQRT"):
        check_one_partition(presets.get("fd_irb_x4").tflite, name="fd_irb_x4")


def test_an_op_xnnpack_lacks_splits_the_graph_in_two():
    tf = pytest.importorskip("tensorflow")
    from keras_sr._keras import keras

    inputs = keras.Input((8, 8, 4))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.Lambda(lambda t: tf.nn.local_response_normalization(t, depth_radius=1))(x)
    outputs = keras.layers.Conv2D(4, 3, padding="same")(x)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, outputs))
    report = xnnpack_partitions(converter.convert())
    assert report["partitions"] == 2
    assert report["undelegated"] == ["LOCAL_RESPONSE_NORMALIZATION x1"]
    assert report["delegated_ops"] == report["ops"] - 1 == 2
    assert not report["one_partition"]


def test_export_for_phones_records_the_partitions_and_says_when_there_are_several(tmp_path):
    facts = export(model="fd_irb_micro_x2", target="android", tile=(16, 16), output_dir=tmp_path / "micro",
                   log=lambda *a: None)
    assert facts["xnnpack"]["one_partition"] is True
    assert json.loads((tmp_path / "micro" / "model.json").read_text())["xnnpack"] == facts["xnnpack"]

    said = []
    facts = export(model="fd_irb_x4", target="web", tile=(16, 16), output_dir=tmp_path / "fd_irb",
                   log=said.append)
    assert facts["xnnpack"]["partitions"] > 1
    notes = [line for line in said if line.startswith("note: XNNPACK runs this model in")]
    assert len(notes) == 1 and "SQRT" in notes[0]
