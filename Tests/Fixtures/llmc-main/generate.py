"""Writes the conformance fixtures of llm-compressor's newer weight observers,
nvfp4_expanded_mse and imatrix_mse, into this directory (float32 arithmetic) and
../llmc-main-bf16 (bf16 arithmetic): cases.json and expected.safetensors each.

Drives llm-compressor's own observers (Observer.load_from_registry) on the MiniLM fixture
weights (../minilm, symlinked). For imatrix_mse the observer is attached to an
nn.Linear holding the weight, and the module's recorded input samples
(`<module>.input`, every step in order) are run through it, so its forward-pre hook
accumulates E[x^2] exactly as during calibration; then the weight is observed once and
get_qparams() returns the scale, zero point and (TENSOR_GROUP) global scale.

Run from this directory with a venv holding llmcompressor (see cases.json "reference";
torch from the CPU wheel):
    python generate.py
The eager CPU search runs (no CUDA, so neither the Triton backend nor torch.compile).
"""

import json
import os
import sys
from importlib.metadata import version

import torch
from safetensors.torch import load_file, save_file

from compressed_tensors.quantization import QuantizationArgs
from llmcompressor.observers import Observer
from llmcompressor.observers.helpers import flatten_for_calibration

HERE = os.path.dirname(os.path.abspath(__file__))
BF16_DIR = os.path.join(HERE, "..", "llmc-main-bf16")
STEPS = 4

ARGS = {
    "nvfp4": {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "tensor_group", "group_size": 16},
    "nvfp4_fp8scale": {"num_bits": 4, "type": "float", "symmetric": True, "strategy": "tensor_group",
                       "group_size": 16, "scale_dtype": "torch.float8_e4m3fn"},
    "int4_group128": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 128},
    "int4_asym_group64": {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "group", "group_size": 64},
    "int4_channel": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "channel"},
    "int4_tensor": {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "tensor"},
    "fp8_channel": {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "channel"},
}

# (id, module, args key, observer, observer kwargs). Weights only: both observers are
# weight observers (imatrix_mse falls back to its plain search elsewhere).
CASES = [
    ("nvfp4_exp_w_nvfp4_query", "encoder.layer.0.attention.self.query", "nvfp4", "nvfp4_expanded_mse", {}),
    ("nvfp4_exp_w_nvfp4_fp8scale_out", "encoder.layer.5.output.dense", "nvfp4_fp8scale", "nvfp4_expanded_mse", {}),
    ("nvfp4_exp_w_int4_group128_inter", "encoder.layer.5.intermediate.dense", "int4_group128", "nvfp4_expanded_mse", {}),
    ("nvfp4_exp_w_fp8_channel_kwargs", "encoder.layer.5.attention.output.dense", "fp8_channel", "nvfp4_expanded_mse",
     {"expand": 1.25, "maxshrink": 0.3, "grid": 50, "patience": 3}),
    ("imatrix_w_int4_channel_attn_out", "encoder.layer.0.attention.output.dense", "int4_channel", "imatrix_mse", {}),
    ("imatrix_w_nvfp4_query5", "encoder.layer.5.attention.self.query", "nvfp4", "imatrix_mse", {}),
    ("imatrix_w_nvfp4_fp8scale_query", "encoder.layer.0.attention.self.query", "nvfp4_fp8scale", "imatrix_mse", {}),
    ("imatrix_w_int4_asym_group64_out", "encoder.layer.5.output.dense", "int4_asym_group64", "imatrix_mse",
     {"norm": 2.4, "grid": 50, "patience": 0}),
    ("imatrix_w_fp8_channel_inter", "encoder.layer.5.intermediate.dense", "fp8_channel", "imatrix_mse",
     {"expand": 1.2, "maxshrink": 0.5}),
    ("imatrix_w_int4_tensor_uniform", "encoder.layer.5.attention.self.query", "int4_tensor", "imatrix_mse", {}),
]


def observe(observer, module, args_json, kwargs, weight, inputs, dtype):
    """One weight observation by llm-compressor's observer in `dtype`; returns the searched
    (min, max), the qparams dict and, for imatrix_mse, the normalized importance."""
    args = QuantizationArgs(**args_json, observer=observer, observer_kwargs=dict(kwargs))
    obs = Observer.load_from_registry(observer, base_name="weight", args=args)
    w = weight.to(dtype)
    importance = None
    if observer == "imatrix_mse":
        linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=dtype)
        linear.weight.data = w
        obs.attach(linear)
        with torch.no_grad():
            for x in inputs:
                linear(x.to(dtype))
        obs.detach(linear)
        if obs._get_validated_importance(flatten_for_calibration(w, "weight", args)) is not None:
            importance = (obs._imatrix_sum / obs._imatrix_count.float())
            importance = importance / (importance.mean() + torch.finfo(torch.float32).tiny)
    obs(w)
    mn, mx = obs.min_vals.clone(), obs.max_vals.clone()
    q = obs.get_qparams()
    return mn, mx, q, importance, args


def write_set(directory, dtype, weights, steps):
    expected = {}
    cases = []
    for cid, module, akey, observer, kwargs in CASES:
        args_json = ARGS[akey]
        weight = weights[module + ".weight"].float()
        inputs = [s[module + ".input"].float() for s in steps]
        mn, mx, q, importance, args = observe(observer, module, args_json, kwargs, weight, inputs, dtype)
        p = f"{cid}/0/"
        expected[p + "min_vals"] = mn.float().contiguous()
        expected[p + "max_vals"] = mx.float().contiguous()
        expected[p + "scale"] = q["scale"].float().reshape(mn.shape).contiguous()
        expected[p + "zero_point"] = q["zero_point"].float().reshape(mn.shape).contiguous()
        meta = {"scale_dtype": str(q["scale"].dtype), "zero_point_dtype": str(q["zero_point"].dtype)}
        if q.get("global_scale") is not None:
            expected[p + "global_scale"] = q["global_scale"].float().reshape(1).contiguous()
            meta["global_scale"] = True
            meta["global_scale_dtype"] = str(q["global_scale"].dtype)
        if importance is not None:
            expected[p + "importance"] = importance.float().contiguous()
        resolved = json.loads(args.model_dump_json())
        entry = {
            "id": cid, "module": module, "base_name": "weight", "args": args_json, "resolved_args": resolved,
            "observer": observer, "observer_kwargs": kwargs, "qdq": False, "sample_key": module + ".weight",
            "steps": [meta],
        }
        if observer == "imatrix_mse":
            entry["input_key"] = module + ".input"
            entry["input_steps"] = STEPS
        cases.append(entry)
        print(directory.split("/")[-1], cid, mn.reshape(-1)[:2].tolist(), q["scale"].reshape(-1)[:2].tolist(), file=sys.stderr)
    root = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (samples of ../minilm)",
        "reference": ", ".join(f"{p} {version(p)}" for p in ["llmcompressor", "compressed-tensors", "torch"])
        + " (llmcompressor's observers equal llm-compressor main at ab1ba3effcafc15746cd6d6ca24cba3f7bd7a582"
        " on the eager CPU path)",
        "generator": "Tests/Fixtures/llmc-main/generate.py",
        "steps": 1,
        "sample_dtype": "bfloat16",
    }
    if dtype == torch.bfloat16:
        root["arithmetic"] = "bfloat16"
        root["arithmetic_note"] = "weights and inputs fed as torch.bfloat16 tensors, as in a model of that dtype"
    else:
        root["sample_dtype"] = "bfloat16 (references computed on the exact float32 upcast)"
    root["cases"] = cases
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "cases.json"), "w") as f:
        json.dump(root, f, indent=1)
        f.write("\n")
    save_file({k: v for k, v in sorted(expected.items())}, os.path.join(directory, "expected.safetensors"))


def main():
    torch.manual_seed(0)
    weights = load_file(os.path.join(HERE, "weights.safetensors"))
    steps = [load_file(os.path.join(HERE, f"step-{i:04d}.safetensors")) for i in range(STEPS)]
    write_set(HERE, torch.float32, weights, steps)
    write_set(os.path.abspath(BF16_DIR), torch.bfloat16, weights, steps)


if __name__ == "__main__":
    main()
