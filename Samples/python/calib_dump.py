"""Write CalibStore recording files (safetensors), with or without torch.

Two kinds of file make up a recording:

* a step file, ``step-NNNN.safetensors``: one calibration batch, keys
  ``<module>.<base_name>`` (base_name: ``input``, ``output``, ``q``, ``k``, ``v``),
  header metadata ``{"step": "<n>", "module_types": "<JSON object>"}``;
* a weights file, ``weights.safetensors``: keys ``<module>.weight``, header
  metadata ``{"module_types": "<JSON object>"}``.

``module_types`` maps a module name to its class name (for example
``{"encoder.layer.0.attention.self.query": "Linear"}``) and is stored as a JSON
string, because safetensors metadata values must be strings.

Tensors are written in the dtype they arrive in; nothing is widened.

* numpy arrays: float32 and float16 only. numpy has no bfloat16, so bf16 data
  must be passed as torch tensors.
* torch tensors: any floating dtype torch has (bfloat16, float16, float32).
  torch is imported only when a torch tensor is passed, so numpy-only callers
  (and the tests) never need it.

Only numpy and the ``safetensors`` package are required.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

NUMPY_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


def write_step(path, tensors: Mapping[str, Any], step: int, module_types: Mapping[str, str],
               extra_metadata: Mapping[str, str] | None = None) -> Path:
    """Write one calibration step to ``path``.

    ``tensors`` maps full keys (``"<module>.<base_name>"``) to numpy arrays or
    torch tensors. ``extra_metadata`` adds string entries to the header (``step``
    and ``module_types`` cannot be overridden). Returns the path written.
    """
    metadata = {str(k): str(v) for k, v in (extra_metadata or {}).items()}
    metadata.update({"step": str(int(step)), "module_types": _types_json(module_types)})
    return _save(path, tensors, metadata)


def write_weights(path, weights: Mapping[str, Any], module_types: Mapping[str, str]) -> Path:
    """Write the weights file to ``path``.

    ``weights`` maps full keys (``"<module>.weight"``) to numpy arrays or torch
    tensors. Returns the path written.
    """
    metadata = {"module_types": _types_json(module_types)}
    return _save(path, weights, metadata)


def _types_json(module_types: Mapping[str, str]) -> str:
    return json.dumps({str(k): str(v) for k, v in module_types.items()}, sort_keys=True)


def _is_torch(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "torch"


def _save(path, tensors: Mapping[str, Any], metadata: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not tensors:
        raise ValueError(f"{path}: nothing to write")
    if any(_is_torch(t) for t in tensors.values()):
        _save_torch(path, tensors, metadata)
    else:
        _save_numpy(path, tensors, metadata)
    return path


def _save_numpy(path: Path, tensors: Mapping[str, Any], metadata: dict) -> None:
    from safetensors.numpy import save_file

    arrays = {}
    for key, value in tensors.items():
        array = np.asarray(value)
        if array.dtype not in NUMPY_DTYPES:
            raise TypeError(
                f"{key}: numpy dtype {array.dtype} is not supported; use float32 or float16 "
                "(bfloat16 needs torch tensors)"
            )
        arrays[key] = np.ascontiguousarray(array)
    save_file(arrays, str(path), metadata=metadata)


def _save_torch(path: Path, tensors: Mapping[str, Any], metadata: dict) -> None:
    import torch
    from safetensors.torch import save_file

    out = {}
    seen_storages = set()
    for key, value in tensors.items():
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu")
        else:
            array = np.asarray(value)
            if array.dtype not in NUMPY_DTYPES:
                raise TypeError(f"{key}: numpy dtype {array.dtype} is not supported; use float32 or float16")
            tensor = torch.from_numpy(np.ascontiguousarray(array))
        if not tensor.is_floating_point():
            raise TypeError(f"{key}: dtype {tensor.dtype} is not a floating type")
        if not tensor.is_contiguous():
            tensor = tensor.contiguous()
        # safetensors refuses tensors that share memory; give repeats their own copy.
        storage = tensor.untyped_storage().data_ptr()
        if storage in seen_storages:
            tensor = tensor.clone()
        else:
            seen_storages.add(storage)
        out[key] = tensor
    save_file(out, str(path), metadata=metadata)
