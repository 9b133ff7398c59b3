"""`keras-sr export`: shape freezing without TensorFlow, micro bundles checked in TFLite Micro.

TFLM runs in child processes (keras_sr.lite.tflm): a bad shape aborts the process that runs it.
One small bundle (fd_irb_edge_x2, 12x12 LR tile) is exported once per module.
"""
from __future__ import annotations

import ctypes
import json
import shutil
import subprocess

import flatbuffers
import numpy as np
import pytest

from keras_sr import presets
from keras_sr.cli.export import main
from keras_sr.export import freeze_tflite, micro, probe_tile
from keras_sr.lite import tflm

pytestmark = pytest.mark.skipif(not tflm.tflm_available(), reason="tflite-micro is not installed (keras-sr[micro])")

PRESET = "fd_irb_edge_x2"
TILE = 12


def source_bytes(name=PRESET):
    return presets.get(name).tflite.read_bytes()


def litert(model_bytes, x, hw=None):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=bytes(model_bytes),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    inp = it.get_input_details()[0]
    if hw is not None:
        it.resize_tensor_input(inp["index"], [1, *hw, 3])
    it.allocate_tensors()
    it.set_tensor(inp["index"], x[None].astype(np.float32))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])[0]


def model_t(model_bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema, schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)


def pack(model):
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "bundle"
    assert main(["--model", PRESET, "--target", "micro", "--tile", str(TILE), "--output-dir", str(out)]) == 0
    return out


def test_freeze_keeps_weights_and_output_exactly():
    src = source_bytes()
    frozen = freeze_tflite(src, (TILE, 16))
    _, a = model_t(src)
    _, b = model_t(frozen)
    assert len(a.buffers) == len(b.buffers)
    for x, y in zip(a.buffers, b.buffers):
        assert (x.data is None) == (y.data is None)
        if x.data is not None:
            assert np.array_equal(x.data, y.data)
    shapes = [list(t.shape) for t in b.subgraphs[0].tensors if t.shape is not None and len(t.shape) == 4]
    assert [1, TILE, 16, 3] in shapes and [1, 1, 1, 3] not in shapes
    x = np.random.default_rng(0).random((TILE, 16, 3), dtype=np.float32)
    assert np.array_equal(litert(frozen, x), litert(src, x, hw=(TILE, 16)))


def test_micro_bundle_layout_and_facts(bundle):
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["README.md", "model.json", "model.tflite", "model_data.cc", "model_data.h", "op_resolver.h"]
    facts = json.loads((bundle / "model.json").read_text())
    model = (bundle / "model.tflite").read_bytes()
    import hashlib

    assert facts["sha256"] == hashlib.sha256(model).hexdigest() and facts["size_bytes"] == len(model)
    assert facts["scale"] == 2 and facts["tile"] == [TILE, TILE] and facts["overlap"] == TILE // 4
    assert facts["input"]["shape"] == [1, TILE, TILE, 3] and facts["output"]["shape"] == [1, 2 * TILE, 2 * TILE, 3]
    assert facts["precision"] == "int8" and "CONV_2D" in facts["ops"]
    assert 50_000 < facts["micro"]["arena_bytes"] < 400_000
    assert facts["micro"]["tflm_vs_litert_psnr_db"] >= 40
    assert facts["multi_adds_per_tile"] > 0
    resolver = (bundle / "op_resolver.h").read_text()
    calls = [line.split("resolver.")[1].split("(")[0] for line in resolver.splitlines() if "resolver.Add" in line]
    assert calls == [micro.TFLM_OPS[op] for op in facts["ops"]]
    assert f"MicroMutableOpResolver<kNumOps>" in resolver and f"kNumOps = {len(calls)};" in resolver
    readme = (bundle / "README.md").read_text()
    assert f"{facts['micro']['arena_bytes']:,} bytes" in readme and f"{len(model):,} bytes" in readme


def test_reported_arena_is_the_smallest_that_runs(bundle):
    facts = json.loads((bundle / "model.json").read_text())
    arena = facts["micro"]["arena_bytes"]
    x = probe_tile((TILE, TILE), 2)
    sr = tflm.TFLMSR(bundle / "model.tflite", arena=arena)
    out = sr.upscale(x)
    ref = litert((bundle / "model.tflite").read_bytes(), x)
    assert out.shape == (2 * TILE, 2 * TILE, 3)
    assert 10 * np.log10(1 / np.mean((np.clip(out, 0, 1) - np.clip(ref, 0, 1)) ** 2)) >= 40
    with pytest.raises(RuntimeError, match="TFLM failed to allocate"):
        tflm.TFLMSR(bundle / "model.tflite", arena=arena - 1).upscale(x)


def test_tflm_upscale_follows_the_tile_plan(bundle):
    # A 20x30 image through the 12x12 model: TFLM tile by tile == LiteRT tile by tile within a few int8 steps.
    from keras_sr.lite.runtime import TFLiteSR
    from keras_sr.lite.tiling import upscale_tiled

    img = np.random.default_rng(1).random((20, 30, 3), dtype=np.float32)
    facts = json.loads((bundle / "model.json").read_text())
    out = tflm.TFLMSR(bundle / "model.tflite", arena=facts["micro"]["arena_bytes"]).upscale(img, overlap=3)
    ref = upscale_tiled(TFLiteSR(bundle / "model.tflite", use_xnnpack=False).predict, img, 2, tile=TILE, overlap=3)
    assert out.shape == ref.shape == (40, 60, 3)
    assert np.max(np.abs(out - ref)) < 0.1


def test_c_array_compiles_aligned_and_runs_in_tflm(bundle, tmp_path):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ is not installed (.ci/run installs it)")
    lib = tmp_path / "libmodel.so"
    subprocess.run([gxx, "-std=c++17", "-shared", "-fPIC", "-O0", "-I", str(bundle), str(bundle / "model_data.cc"),
                    "-o", str(lib)], check=True)
    so = ctypes.CDLL(str(lib))
    length = ctypes.c_uint.in_dll(so, "g_model_data_len").value
    address = ctypes.addressof(ctypes.c_ubyte.in_dll(so, "g_model_data"))
    assert address % 16 == 0
    data = ctypes.string_at(address, length)
    assert data == (bundle / "model.tflite").read_bytes()
    run = tmp_path / "from_c_array.tflite"
    run.write_bytes(data)
    arena = json.loads((bundle / "model.json").read_text())["micro"]["arena_bytes"]
    assert tflm.measure_arena(run)["arena"] == arena


def test_ram_budget_picks_a_tile_or_names_the_budget(tmp_path, capsys):
    fit = tmp_path / "fit"
    assert main(["--model", PRESET, "--target", "micro", "--ram-budget", "200K", "--tile", "12",
                 "--output-dir", str(fit)]) == 0
    facts = json.loads((fit / "model.json").read_text())
    assert "picked tile 12x12" in capsys.readouterr().out
    assert facts["tile"] == [12, 12] and facts["micro"]["arena_bytes"] <= 200 * 1024
    shutil.rmtree(fit)
    out = tmp_path / "b"
    assert main(["--model", PRESET, "--target", "micro", "--ram-budget", "1K", "--tile", "8",
                 "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ram_budget" in err and "8x8" in err and "1,024" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no partial bundle, no scratch folder


def test_int8_sqrt_is_refused_naming_the_op(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["--model", "fd_irb_x4", "--target", "micro", "--tile", "8", "--output-dir", str(out)]) == 2
    assert "op SQRT" in capsys.readouterr().err and not out.exists()


def test_static_checks_name_the_op():
    schema, model = model_t(source_bytes())
    graph = model.subgraphs[0]
    codes = {i: max(c.builtinCode, c.deprecatedBuiltinCode) for i, c in enumerate(model.operatorCodes)}
    concat = next(op for op in graph.operators if codes[op.opcodeIndex] == schema.BuiltinOperator.CONCATENATION)
    concat.inputs = np.array([concat.inputs[0]] * 11, dtype=np.int32)
    with pytest.raises(ValueError, match="CONCATENATION has 11 inputs"):
        micro.check_ops(pack(model))
    schema, model = model_t(source_bytes())
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.NON_MAX_SUPPRESSION_V4
    with pytest.raises(ValueError, match="op NON_MAX_SUPPRESSION_V4 has no TensorFlow Lite Micro kernel"):
        micro.check_ops(pack(model))


def test_float_model_is_refused_for_micro(tmp_path, capsys):
    schema, model = model_t(source_bytes())
    graph = model.subgraphs[0]
    codes = {i: max(c.builtinCode, c.deprecatedBuiltinCode) for i, c in enumerate(model.operatorCodes)}
    for op in graph.operators:
        if codes[op.opcodeIndex] == schema.BuiltinOperator.CONV_2D:
            graph.tensors[op.inputs[0]].type = schema.TensorType.FLOAT32
    path = tmp_path / "float.tflite"
    path.write_bytes(pack(model))
    assert micro.is_float_model(path.read_bytes()) and not micro.is_float_model(source_bytes())
    out = tmp_path / "b"
    assert main(["--tflite", str(path), "--target", "micro", "--tile", "8", "--output-dir", str(out)]) == 2
    assert "float model" in capsys.readouterr().err and not out.exists()


def test_android_bundle_and_usage_errors(tmp_path, capsys):
    out = tmp_path / "android"
    assert main(["--model", PRESET, "--target", "android", "--tile", "16x8", "--output-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.tflite"]
    facts = json.loads((out / "model.json").read_text())
    assert facts["tile"] == [8, 16] and "micro" not in facts
    assert main(["--model", PRESET, "--target", "android", "--tile", "16", "--output-dir", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["--model", PRESET, "--target", "android", "--tile", "8", "--overlap", "4", "--output-dir",
                 str(tmp_path / "c"), "--force"]) == 2
    assert "overlap" in capsys.readouterr().err
    assert main(["--model", PRESET, "--target", "web", "--output-dir", str(tmp_path / "d")]) == 2
    assert "--tile" in capsys.readouterr().err
    assert main(["--model", PRESET, "--target", "web", "--ram-budget", "256K", "--output-dir", str(tmp_path / "d")]) == 2


def test_dynamic_model_is_refused_by_tflm():
    with pytest.raises(ValueError, match="fixed input shape"):
        tflm.TFLMSR(presets.get(PRESET).tflite, arena=1 << 20)


def test_tflm_abort_becomes_a_runtime_error(tmp_path):
    # The dynamic file's 1x1 placeholder shapes make TFLM abort: the child dies, this process does not.
    path = tmp_path / "dynamic.tflite"
    path.write_bytes(source_bytes())
    with pytest.raises(RuntimeError, match="TFLite Micro interpreter failed|TFLM"):
        tflm.run_request({"kind": "upscale", "model": str(path), "arena": 1 << 20,
                          "image": np.zeros((4, 4, 3), np.float32), "tile": [1, 1], "overlap": 0, "scale": 2})


# --------------------------------------------------------------------------- whole images on TFLM


def small_image(path, hw=(20, 30), seed=2):
    from PIL import Image

    from keras_sr.demo import sample_image

    img = sample_image()[200:200 + hw[0], 220:220 + hw[1]]
    Image.fromarray(np.ascontiguousarray(img)).save(path)
    return path


def test_upscale_runtime_tflm_uses_the_bundle_tile_plan(bundle, tmp_path, capsys):
    from PIL import Image

    from keras_sr.cli.upscale import main as upscale

    src = small_image(tmp_path / "in.png")
    assert upscale([str(src), "-o", str(tmp_path / "bundle.png"), "--tflite", str(bundle / "model.tflite"),
                    "--runtime", "tflm"]) == 0
    # The preset's dynamic file frozen at the same tile, with the bundle's overlap: the same pixels.
    assert upscale([str(src), "-o", str(tmp_path / "frozen.png"), "--model", PRESET, "--runtime", "tflm",
                    "--tile", str(TILE), "--overlap", str(TILE // 4)]) == 0
    assert upscale([str(src), "-o", str(tmp_path / "litert.png"), "--tflite", str(bundle / "model.tflite"),
                    "--tile", str(TILE), "--overlap", str(TILE // 4), "--no-xnnpack"]) == 0
    a, b, c = (np.asarray(Image.open(tmp_path / f"{n}.png"), np.float64) for n in ("bundle", "frozen", "litert"))
    assert a.shape == (40, 60, 3) and np.array_equal(a, b)
    assert 10 * np.log10(255 ** 2 / np.mean((a - c) ** 2)) >= 40  # TFLM vs LiteRT: a few int8 steps apart
    capsys.readouterr()
    assert upscale([str(src), "-o", str(tmp_path / "x.png"), "--model", PRESET, "--runtime", "tflm"]) == 2
    assert "--tile" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_evaluate_runtime_tflm_scores_like_litert(tmp_path, capsys):
    from keras_sr.cli.evaluate import main as evaluate

    folder = tmp_path / "hr"
    folder.mkdir()
    small_image(folder / "a.png", hw=(32, 48))
    assert evaluate(["--model", PRESET, "--runtime", "tflm", "--tile", str(TILE), "--eval", str(folder),
                     "--json"]) == 0
    tflm_result = json.loads(capsys.readouterr().out)
    assert evaluate(["--model", PRESET, "--eval", str(folder), "--json"]) == 0
    litert_result = json.loads(capsys.readouterr().out)
    a = next(iter(tflm_result["datasets"].values()))["psnr"]
    b = next(iter(litert_result["datasets"].values()))["psnr"]
    assert "(TFLM)" in tflm_result["model"] and abs(a - b) < 0.5 and a > 25
    assert evaluate(["--model", PRESET, "--runtime", "tflm", "--eval", str(folder)]) == 2
    assert "--tile" in capsys.readouterr().err


def test_fixed_shape_file_brings_its_tile(bundle, tmp_path):
    out = tmp_path / "again"
    assert main(["--tflite", str(bundle / "model.tflite"), "--target", "web", "--output-dir", str(out)]) == 0
    facts = json.loads((out / "model.json").read_text())
    assert facts["tile"] == [TILE, TILE] and (out / "model.tflite").read_bytes() == (bundle / "model.tflite").read_bytes()


def test_keras_weights_are_converted_then_frozen(tmp_path, capsys):
    """--weights: the checkpoint goes through keras-sr convert (verified), then into the bundle at the tile."""
    from keras_sr.lite.runtime import TFLiteSR

    weights = presets.get("fd_irb_micro_x4").weights
    out = tmp_path / "web"
    assert main(["--weights", str(weights), "--target", "web", "--tile", "16", "--output-dir", str(out)]) == 0
    facts = json.loads((out / "model.json").read_text())
    assert facts["source"] == weights.name and facts["precision"] == "float32" and facts["tile"] == [16, 16]
    from keras_sr import checkpoints

    lr = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    bundle_sr = TFLiteSR(out / "model.tflite", use_xnnpack=False).predict(lr)
    keras_model, _ = checkpoints.load_model(weights)
    np.testing.assert_allclose(bundle_sr, keras_model(lr[None], training=False).numpy()[0], atol=2e-3)
    capsys.readouterr()
    assert main(["--weights", str(weights), "--target", "micro", "--tile", "16", "--output-dir", str(tmp_path / "m")]) == 2
    assert "--int8" in capsys.readouterr().err and not (tmp_path / "m").exists()
    assert main(["--model", PRESET, "--int8", "--target", "web", "--tile", "16", "--output-dir", str(tmp_path / "n")]) == 2
    assert "--weights" in capsys.readouterr().err and not (tmp_path / "n").exists()
