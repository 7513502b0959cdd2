"""Tests for calib_oneshot's writer and manifest, and for the committed oneshot fixtures.

numpy only: torch and llm-compressor are not needed (and are blocked in one test to
prove the writer never imports them).

    pip install numpy safetensors pytest
    pytest Samples/python/test_calib_oneshot.py
"""

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import calib_oneshot
from calib_oneshot import RecordingError, RecordingWriter, prepare_directory, read_manifest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "Tests" / "Fixtures" / "oneshot"


def read_header(path):
    """The JSON header of a safetensors file: 8-byte little-endian length, then JSON."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


def tensor(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ import without torch
def test_writer_imports_without_torch(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['llmcompressor'] = None\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import numpy as np, calib_oneshot\n"
        f"w = calib_oneshot.RecordingWriter({str(tmp_path / 'r')!r})\n"
        "w.add_activation(0, 'm', 'input', np.ones((1, 2, 4), np.float32))\n"
        "w.add_weight('m', np.ones((3, 4), np.float32))\n"
        "w.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "r" / "manifest.json").exists()


# ------------------------------------------------------------------ output directory
@pytest.mark.parametrize("as_path", [True, False])
def test_directory_created_or_empty_accepted(tmp_path, as_path):
    new = tmp_path / "a" / "b"
    assert prepare_directory(new if as_path else str(new)) == new
    assert new.is_dir()
    empty = tmp_path / "empty"
    empty.mkdir()
    RecordingWriter(empty if as_path else str(empty)).close()
    assert (empty / "manifest.json").exists()


def test_non_empty_directory_refused(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(RecordingError, match="not empty"):
        RecordingWriter(tmp_path)
    (tmp_path / "file").mkdir()
    with pytest.raises(RecordingError, match="not a directory"):
        prepare_directory(tmp_path / "old.txt")


# ------------------------------------------------------------------ step files
def sequential_writer(tmp_path, **options):
    """Two layers x two batches, as the sequential pipeline delivers them."""
    w = RecordingWriter(tmp_path / "rec", **options)
    w.set_layer(0)
    for step in (0, 1):
        w.add_activation(step, "layers.0.q_proj", "input", tensor((1, 3, 8), step), "Linear")
        w.add_activation(step, "layers.0.attn", "k", tensor((1, 2, 3, 4), step), "LlamaAttention")
        w.add_activation(step, "layers.0.down_proj", "input", tensor((1, 3, 16), step, np.float16), "Linear")
    w.set_layer(1)
    for step in (0, 1):
        w.add_activation(step, "layers.1.q_proj", "input", tensor((1, 3, 8), 10 + step), "Linear")
    return w


def test_sequential_files_per_step_and_layer(tmp_path):
    w = sequential_writer(tmp_path)
    manifest = w.close()
    d = tmp_path / "rec"
    assert manifest["steps"] == [
        {"step": 0, "files": ["step-0000-layer-000.safetensors", "step-0000-layer-001.safetensors"]},
        {"step": 1, "files": ["step-0001-layer-000.safetensors", "step-0001-layer-001.safetensors"]},
    ]
    assert manifest["weights"] == []
    loaded = load_file(str(d / "step-0001-layer-000.safetensors"))
    np.testing.assert_array_equal(loaded["layers.0.down_proj.input"], tensor((1, 3, 16), 1, np.float16))
    assert loaded["layers.0.down_proj.input"].dtype == np.float16
    meta = read_header(d / "step-0001-layer-000.safetensors")["__metadata__"]
    assert meta["step"] == "1"
    # module_types covers exactly the modules of the file; order is the order received
    assert json.loads(meta["module_types"]) == {
        "layers.0.attn": "LlamaAttention", "layers.0.down_proj": "Linear", "layers.0.q_proj": "Linear"}
    assert json.loads(meta["order"]) == ["layers.0.q_proj.input", "layers.0.attn.k", "layers.0.down_proj.input"]
    assert manifest["module_types"]["layers.1.q_proj"] == "Linear"


def test_repeated_key_in_a_step_is_dropped_and_counted(tmp_path):
    w = RecordingWriter(tmp_path / "rec")
    assert w.add_activation(0, "m", "input", tensor((2, 4), 1))
    assert not w.add_activation(0, "m", "input", tensor((2, 4), 2))
    w.set_layer(None)  # even across files, one key per step
    assert not w.add_activation(0, "m", "input", tensor((2, 4), 3))
    assert w.add_activation(1, "m", "input", tensor((2, 4), 4))
    manifest = w.close()
    assert manifest["repeated_keys"] == 2
    np.testing.assert_array_equal(load_file(str(tmp_path / "rec" / "step-0000-part-000.safetensors"))["m.input"],
                                  tensor((2, 4), 1))


def test_files_are_cut_at_max_file_bytes(tmp_path):
    w = RecordingWriter(tmp_path / "rec", max_file_bytes=100)
    w.set_layer(2)
    for i in range(3):
        w.add_activation(0, f"m{i}", "input", tensor((4, 4), i))  # 64 bytes each
    manifest = w.close()
    assert manifest["steps"][0]["files"] == [
        "step-0000-layer-002.safetensors", "step-0000-layer-002-part-001.safetensors",
        "step-0000-layer-002-part-002.safetensors"]


def test_basic_pipeline_files_are_cut_by_layer_group(tmp_path):
    w = RecordingWriter(tmp_path / "rec")
    for module in ("model.layers.0.a", "model.layers.0.b", "model.layers.1.a"):
        w.add_activation(0, module, "input", tensor((2, 4)), group=calib_oneshot._layer_group(module))
    w.add_activation(1, "model.layers.0.a", "input", tensor((2, 4)), group=0)
    manifest = w.close()
    assert manifest["steps"] == [
        {"step": 0, "files": ["step-0000-part-000.safetensors", "step-0000-part-001.safetensors"]},
        {"step": 1, "files": ["step-0001-part-000.safetensors"]},
    ]
    assert set(load_file(str(tmp_path / "rec" / "step-0000-part-000.safetensors"))) == {
        "model.layers.0.a.input", "model.layers.0.b.input"}


@pytest.mark.parametrize("step, base, message", [(-1, "input", "negative step"), (0, "weight", "base name")])
def test_bad_activation_is_refused(tmp_path, step, base, message):
    w = RecordingWriter(tmp_path / "rec")
    with pytest.raises(RecordingError, match=message):
        w.add_activation(step, "m", base, tensor((1, 2)))


# ------------------------------------------------------------------ weights
def test_single_weight_shard_is_weights_safetensors(tmp_path):
    w = RecordingWriter(tmp_path / "rec")
    assert w.add_weight("a", tensor((3, 4), 1), "Linear")
    assert not w.add_weight("a", tensor((3, 4), 2))  # NVFP4 observes a weight twice
    manifest = w.close()
    assert manifest["weights"] == ["weights.safetensors"]
    assert manifest["steps"] == []
    weights = load_file(str(tmp_path / "rec" / "weights.safetensors"))
    np.testing.assert_array_equal(weights["a.weight"], tensor((3, 4), 1))
    meta = read_header(tmp_path / "rec" / "weights.safetensors")["__metadata__"]
    assert json.loads(meta["module_types"]) == {"a": "Linear"}
    assert "step" not in meta


def test_weights_are_sharded(tmp_path):
    w = RecordingWriter(tmp_path / "rec", weight_shard_bytes=100)
    for i in range(3):
        w.add_weight(f"m{i}", tensor((4, 4), i))
    manifest = w.close()
    assert manifest["weights"] == ["weights-0000.safetensors", "weights-0001.safetensors", "weights-0002.safetensors"]
    keys = [k for f in manifest["weights"] for k in load_file(str(tmp_path / "rec" / f))]
    assert keys == ["m0.weight", "m1.weight", "m2.weight"]


# ------------------------------------------------------------------ manifest
def test_manifest_fields_and_recipe(tmp_path):
    w = sequential_writer(tmp_path)
    w.add_weight("layers.0.q_proj", tensor((8, 8)), "Linear")
    w.pipeline, w.model_dtype = "sequential", "float32"
    w.set_recipe("quant_stage: {}\n")
    w.set_sample_order([5, 2, 7, 1], batch_size=2)
    w.uncalibrated = {"layers.0.experts.6.w1": ["input"]}
    w.versions = {"llmcompressor": "0.10.0"}
    w.close()
    d = tmp_path / "rec"
    m = read_manifest(d)
    assert m == json.loads((d / "manifest.json").read_text())
    assert (m["format"], m["version"], m["producer"]) == ("calib-recording", 1, "calib_oneshot.py")
    assert (m["pipeline"], m["model_dtype"], m["recipe"]) == ("sequential", "float32", "recipe.yaml")
    assert (d / "recipe.yaml").read_text() == "quant_stage: {}\n"
    assert [s.get("samples") for s in m["steps"]] == [[5, 2], [7, 1]]
    assert (m["sample_order"], m["batch_size"]) == ([5, 2, 7, 1], 2)
    assert m["uncalibrated"] == {"layers.0.experts.6.w1": ["input"]}
    assert m["versions"] == {"llmcompressor": "0.10.0"}
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith("step-")) == [
        "manifest.json", "recipe.yaml", "weights.safetensors"]


def test_weights_only_manifest(tmp_path):
    w = RecordingWriter(tmp_path / "rec")
    w.add_weight("m", tensor((2, 2)))
    m = w.close()
    assert m["steps"] == [] and m["recipe"] is None and m["sample_order"] is None
    assert read_manifest(tmp_path / "rec")["weights"] == ["weights.safetensors"]


def test_close_twice_is_an_error(tmp_path):
    w = RecordingWriter(tmp_path / "rec")
    w.close()
    with pytest.raises(RecordingError, match="already closed"):
        w.close()


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(version=2), "version 1"),
    (lambda m: m.update(weights=["../x.safetensors"]), "inside the recording"),
    (lambda m: m.update(weights=["missing.safetensors"]), "inside the recording"),
    (lambda m: m["steps"].append(dict(m["steps"][0])), "unique"),
])
def test_read_manifest_rejects(tmp_path, edit, message):
    sequential_writer(tmp_path).close()
    path = tmp_path / "rec" / "manifest.json"
    m = json.loads(path.read_text())
    edit(m)
    path.write_text(json.dumps(m))
    with pytest.raises(RecordingError, match=message):
        read_manifest(tmp_path / "rec")


# ------------------------------------------------------------------ committed fixtures
FIXTURE_DIRS = sorted(p for p in FIXTURES.glob("*") if p.is_dir())


@pytest.mark.skipif(not FIXTURE_DIRS, reason="no oneshot fixtures")
@pytest.mark.parametrize("case", FIXTURE_DIRS, ids=lambda p: p.name)
def test_fixture_is_a_consistent_recording(case):
    rec = case / "recording"
    m = read_manifest(rec)
    assert m["producer"] == "calib_oneshot.py" and m["model_dtype"] == "bfloat16"
    weights = {k for f in m["weights"] for k in read_header(rec / f) if k != "__metadata__"}
    assert weights and all(k.endswith(".weight") for k in weights)
    seen = set()
    for entry in m["steps"]:
        keys = []
        for f in entry["files"]:
            header = read_header(rec / f)
            meta = header.pop("__metadata__")
            assert meta["step"] == str(entry["step"])
            assert sorted(json.loads(meta["order"])) == sorted(header)
            assert all(v["dtype"] == "BF16" for v in header.values())
            keys += list(header)
        assert len(keys) == len(set(keys)), f"step {entry['step']}: a key in two files"
        seen |= {k.rsplit(".", 1)[0] for k in keys}
    # modules that got no tokens have weights but no activations
    for module in m["uncalibrated"]:
        assert f"{module}.weight" in weights
        assert module not in seen
    uncal = json.loads((case / "expected-uncalibrated.json").read_text())
    assert uncal["modules"] == m["uncalibrated"]
    expected = read_header(case / "expected.safetensors")
    assert expected.pop("__metadata__")["model_dtype"] == "bfloat16"
    assert set(uncal["checkpoint_keys"]) <= set(expected)
    if "mixtral" in case.name and m["steps"]:
        assert m["uncalibrated"], "the MoE fixtures must cover experts without tokens"


# ------------------------------------------------------------------ sampler tap and layer groups
def test_sampler_tap_keeps_each_pass_and_survives_deepcopy():
    import copy

    passes = []
    tap = calib_oneshot._SamplerTap([3, 1, 2], batch_size=1, passes=passes)
    assert next(iter(tap)) == 3  # a partial pass (oneshot's tracing sample)
    clone = copy.deepcopy(tap)  # oneshot copies data loaders
    assert list(clone) == [3, 1, 2]
    assert passes == [[3], [3, 1, 2]]
    assert len(tap) == 3
    with pytest.raises(AttributeError):
        tap.__missing_dunder__


@pytest.mark.parametrize("name, group", [
    ("model.layers.12.mlp.experts.3.w1", 12), ("model.layers.0", 0), ("lm_head", None),
    ("encoder.layer.5.attention.self", 5),
])
def test_layer_group_is_the_first_number(name, group):
    assert calib_oneshot._layer_group(name) == group


# ------------------------------------------------------------------ end to end (reference env only)
@pytest.mark.parametrize("case", ["llama-fp8-kv", "mixtral-w8a8"])
def test_oneshot_reproduces_the_committed_fixture(tmp_path, case):
    """Runs oneshot under recording() again and compares with the fixture bit for bit.

    Skipped unless llm-compressor is importable. The reference env has no pytest (and
    must not get one); use a venv with pytest that sees the reference env's packages:

        python3.11 -m venv /tmp/pt && /tmp/pt/bin/pip install pytest
        echo ~/.calib-reference/lib/python3.11/site-packages \
            > /tmp/pt/lib/python3.11/site-packages/calib-reference.pth
        /tmp/pt/bin/python -m pytest Samples/python/test_calib_oneshot.py -k oneshot_reproduces

    About a minute on 2 cores.
    """
    pytest.importorskip("llmcompressor")
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as load_torch

    import make_oneshot_fixtures

    model, recipe = case.split("-", 1)
    make_oneshot_fixtures.make_fixture(model, recipe, tmp_path / "out", tmp_path / "work", None)
    new, old = tmp_path / "out" / case / "recording", FIXTURES / case / "recording"
    assert json.loads((new / "manifest.json").read_text()) == json.loads((old / "manifest.json").read_text())
    assert (new / "recipe.yaml").read_text() == (old / "recipe.yaml").read_text()
    for f in sorted(p.name for p in old.glob("*.safetensors")):
        a, b = load_torch(str(old / f)), load_torch(str(new / f))
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), f"{f}: {key}"
