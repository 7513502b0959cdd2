"""Tests for calib_dump (numpy only; torch is not needed).

    pip install numpy safetensors pytest
    pytest Samples/python/test_calib_dump.py
"""

import json
import struct
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from calib_dump import write_step, write_weights

MODULE_TYPES = {
    "encoder.layer.0.attention.self": "BertSelfAttention",
    "encoder.layer.0.attention.self.query": "Linear",
    "encoder.layer.0.intermediate.dense": "Linear",
}


def read_header(path):
    """The JSON header of a safetensors file: 8-byte little-endian length, then JSON."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length))


def step_tensors(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "encoder.layer.0.attention.self.query.input": rng.standard_normal((2, 5, 8), dtype=np.float32),
        "encoder.layer.0.attention.self.query.output": rng.standard_normal((2, 5, 8)).astype(np.float16),
        "encoder.layer.0.attention.self.k": rng.standard_normal((2, 4, 5, 2), dtype=np.float32),
        "encoder.layer.0.intermediate.dense.output": rng.standard_normal((2, 5, 16)).astype(np.float16),
    }


def test_step_roundtrip_with_safetensors(tmp_path):
    tensors = step_tensors()
    path = write_step(tmp_path / "step-0000.safetensors", tensors, 0, MODULE_TYPES)
    assert path.exists()

    loaded = load_file(str(path))
    assert set(loaded) == set(tensors)
    for key, expected in tensors.items():
        assert loaded[key].dtype == expected.dtype
        assert loaded[key].shape == expected.shape
        np.testing.assert_array_equal(loaded[key], expected)


def test_step_header(tmp_path):
    tensors = step_tensors(1)
    path = write_step(tmp_path / "step-0003.safetensors", tensors, 3, MODULE_TYPES)

    header = read_header(path)
    metadata = header.pop("__metadata__")
    assert metadata["step"] == "3"
    assert isinstance(metadata["module_types"], str)
    assert json.loads(metadata["module_types"]) == MODULE_TYPES
    assert set(metadata) == {"step", "module_types"}

    assert set(header) == set(tensors)
    dtype_names = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}
    for key, expected in tensors.items():
        assert header[key]["dtype"] == dtype_names[expected.dtype]
        assert header[key]["shape"] == list(expected.shape)
        start, end = header[key]["data_offsets"]
        assert end - start == expected.nbytes


def test_several_steps(tmp_path):
    for step in range(3):
        write_step(tmp_path / f"step-{step:04d}.safetensors", step_tensors(step), step, MODULE_TYPES)
    files = sorted(tmp_path.glob("step-*.safetensors"))
    assert [f.name for f in files] == ["step-0000.safetensors", "step-0001.safetensors", "step-0002.safetensors"]
    assert [read_header(f)["__metadata__"]["step"] for f in files] == ["0", "1", "2"]


def test_weights(tmp_path):
    weights = {
        "encoder.layer.0.attention.self.query.weight": np.arange(32, dtype=np.float32).reshape(4, 8),
        "encoder.layer.0.intermediate.dense.weight": np.ones((16, 8), dtype=np.float16),
    }
    path = write_weights(tmp_path / "weights.safetensors", weights, MODULE_TYPES)

    loaded = load_file(str(path))
    assert set(loaded) == set(weights)
    for key, expected in weights.items():
        np.testing.assert_array_equal(loaded[key], expected)
        assert loaded[key].dtype == expected.dtype

    header = read_header(path)
    metadata = header.pop("__metadata__")
    assert json.loads(metadata["module_types"]) == MODULE_TYPES
    assert "step" not in metadata
    assert header["encoder.layer.0.attention.self.query.weight"]["dtype"] == "F32"
    assert header["encoder.layer.0.attention.self.query.weight"]["shape"] == [4, 8]
    assert header["encoder.layer.0.intermediate.dense.weight"]["dtype"] == "F16"
    assert header["encoder.layer.0.intermediate.dense.weight"]["shape"] == [16, 8]


def test_non_contiguous_array_is_written_in_logical_order(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    transposed = base.transpose(0, 2, 1)  # (2, 4, 3), not C-contiguous
    path = write_step(tmp_path / "step-0000.safetensors", {"m.k": transposed}, 0, {"m": "Attention"})
    np.testing.assert_array_equal(load_file(str(path))["m.k"], transposed)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int8])
def test_other_numpy_dtypes_are_rejected(tmp_path, dtype):
    with pytest.raises(TypeError, match="float32 or float16"):
        write_step(tmp_path / "step-0000.safetensors", {"m.input": np.zeros((2, 2), dtype=dtype)}, 0, {"m": "Linear"})


def test_empty_step_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        write_step(tmp_path / "step-0000.safetensors", {}, 0, {})


def test_numpy_path_does_not_import_torch(tmp_path):
    had_torch = "torch" in sys.modules
    write_step(tmp_path / "step-0000.safetensors", step_tensors(), 0, MODULE_TYPES)
    assert ("torch" in sys.modules) == had_torch


def test_torch_bf16_and_shared_storage(tmp_path):
    """bf16 needs torch; skipped where torch is not installed."""
    torch = pytest.importorskip("torch")
    hidden = torch.randn(2, 5, 8).to(torch.bfloat16)
    tensors = {
        "a.input": hidden,
        "b.input": hidden,  # same storage twice, as when q/k/v share their input
        "a.q": hidden.view(2, 5, 2, 4).transpose(1, 2),  # non-contiguous view
        "c.output": np.ones((3,), dtype=np.float16),  # numpy mixed in
    }
    path = write_step(tmp_path / "step-0000.safetensors", tensors, 0, {"a": "Linear"})
    header = read_header(path)
    assert header["a.input"]["dtype"] == "BF16"
    assert header["a.q"]["shape"] == [2, 2, 5, 4]
    assert header["c.output"]["dtype"] == "F16"

    from safetensors.torch import load_file as load_torch

    loaded = load_torch(str(path))
    assert torch.equal(loaded["b.input"], hidden)
    assert torch.equal(loaded["a.q"], tensors["a.q"])
