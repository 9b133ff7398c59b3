"""benchmarks/model_card.py --retime: the int8 file timed again, the scores kept."""
import json
import shutil

from benchmarks import model_card
from keras_sr import presets


def test_retime_rewrites_the_latency_and_keeps_the_scores(tmp_path):
    preset = presets.get("fd_irb_realtime_x4")
    for path in (preset.card_json, preset.card, preset.tflite):
        shutil.copy(path, tmp_path / path.name)
    card_json = tmp_path / preset.card_json.name
    stored = json.loads(card_json.read_text())
    # A latency no timing can give, so the test sees that it was replaced.
    stored["int8_latency_ms_320x180_2_threads"] = {"median": -1.0, "min": -1.0, "p90": -1.0}
    card_json.write_text(json.dumps(stored))

    out = model_card.retime(card_json, stages_note="Timed again alone.")

    card = json.loads(out.with_suffix(".json").read_text())
    latency = card["int8_latency_ms_320x180_2_threads"]
    assert 0 < latency["min"] <= latency["median"] <= latency["p90"]
    assert card["scores"] == stored["scores"] and card["params"] == stored["params"]
    assert card["stages"] == stored["stages"] and card["stages_note"] == "Timed again alone."
    text = out.with_suffix(".md").read_text()
    assert f"median {latency['median']:.0f} ms" in text and "Timed again alone." in text
    shipped = json.loads(preset.card_json.read_text())
    assert shipped["int8_latency_ms_320x180_2_threads"]["median"] == preset.metrics["int8_latency_ms"]  # untouched
