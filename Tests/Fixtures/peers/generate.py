"""Writes the peer-observer conformance fixtures (cases.json, expected.safetensors).

Drives each source's own calibrator on the MiniLM fixture samples (../minilm), one
calibration step per call, in step order, and records after every step the range the
calibrator would hand to the quantizer, its running histogram, and the scale / zero
point compressed-tensors' calculate_qparams makes of that range.

Run from this directory with a venv holding onnxruntime, torch, compressed-tensors:
    python generate.py          # this directory: float32, every source sees the
                                # samples' exact float32 upcast
    python generate.py --bf16   # ../peers-bf16: BF16_CASES as they run in a bf16 model
Samples are bf16.

What a bf16 model hands each source (--bf16), read from the sources themselves:

- onnxruntime 1.32 calibrates float32 and float16 tensors only
  (`select_tensors_to_calibrate` keeps elem_type FLOAT and FLOAT16; a BFLOAT16 tensor is
  silently not calibrated, and TensorData refuses any other dtype). A bf16 model is
  therefore calibrated through a float32 graph, and its calibrator receives NumPy float32
  arrays holding the bf16 values exactly: the same input, histograms and ranges as the
  float32 set.
- nvidia-modelopt 0.47's quantizer hooks hand the calibrators the bf16 tensors unchanged
  (`TensorQuantizer.forward` -> `collect(inputs)`):
  - MaxCalibrator reduces in bf16 (`reduce_amax`: max, min and abs are exact), so its
    amax is a bf16 tensor, and that is the dtype of the quantizer's `_amax` buffer
    (`load_calib_amax` registers a clone).
  - HistogramCalibrator takes `x.abs()` and then `x.float()` before any counting, so its
    histogram is the float32 one; `compute_amax` returns a float32 tensor.
  - MseCalibrator upcasts x with `x.to(torch.float32)`, but its initial amax is the bf16
    `_amax` that max calibration left in the weight quantizer. A candidate amax is
    `initial_amax * candidate`, with `candidate` a 0-dim float32 tensor: for a per-tensor
    (0-dim) amax this promotes to float32, but for a per-channel or per-group amax (with
    dimensions) the 0-dim float32 does not promote and every candidate amax is rounded
    to bf16 before `_tensor_quant` upcasts it. `compute_amax` multiplies by the
    candidates as a float32 tensor with dimensions, so that product is float32, and
    `load_calib_amax` then copies it into the bf16 `_amax` buffer (rounding it).
- compressed-tensors' calculate_qparams gets the range in bf16, as llm-compressor hands
  it an observer's range in a bf16 model: min_vals / max_vals hold what the source hands
  on (onnxruntime's and the histogram's float32 range, MaxCalibrator's bf16 amax, the
  sweep's amax as the quantizer's bf16 buffer holds it), and scale / zero point are
  calculate_qparams of that range rounded to bf16, computed in bf16.
"""

import json
import os
import struct
import sys
import tempfile
from importlib.metadata import version

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from safetensors.torch import load_file

from compressed_tensors.quantization import QuantizationArgs
from compressed_tensors.quantization.utils import calculate_qparams
from onnxruntime.quantization.calibrate import CalibrationDataReader, CalibrationMethod, create_calibrator

HERE = os.path.dirname(os.path.abspath(__file__))
BF16_DIR = os.path.join(HERE, "..", "peers-bf16")
STEPS = 4

ARGS = {
    "int8_asym": {"num_bits": 8, "type": "int", "symmetric": False, "strategy": "tensor", "dynamic": False},
    "int8_sym": {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "tensor", "dynamic": False},
    "int4_asym": {"num_bits": 4, "type": "int", "symmetric": False, "strategy": "tensor", "dynamic": False},
    "fp8": {"num_bits": 8, "type": "float", "symmetric": True, "strategy": "tensor", "dynamic": False},
}
W_ARGS = {k: {kk: vv for kk, vv in v.items() if kk != "dynamic"} for k, v in ARGS.items()}

# (id, module, base_name, args key, observer, observer kwargs)
ORT_CASES = [
    ("ort_minmax_in_int8_asym", "encoder.layer.0.attention.self.query", "input", "int8_asym", "ort_minmax", {}),
    ("ort_minmax_sym_out_int8_asym", "encoder.layer.5.intermediate.dense", "output", "int8_asym", "ort_minmax", {"symmetric": True}),
    ("ort_minmax_ema_in_int8_sym", "encoder.layer.0.intermediate.dense", "input", "int8_sym", "ort_minmax", {"moving_average": True}),
    ("ort_minmax_ema_half_sym_q_int4", "encoder.layer.5.attention.self", "q", "int4_asym", "ort_minmax",
     {"moving_average": True, "averaging_constant": 0.5, "symmetric": True}),
    ("ort_minmax_w_int8_sym", "encoder.layer.0.attention.self.query", "weight", "int8_sym", "ort_minmax", {}),
    ("ort_percentile_in_int8_sym", "encoder.layer.5.output.dense", "input", "int8_sym", "ort_percentile", {}),
    ("ort_percentile_out_int8_asym", "encoder.layer.5.intermediate.dense", "output", "int8_asym", "ort_percentile", {}),
    ("ort_percentile_asym_k_int8_asym", "encoder.layer.0.attention.self", "k", "int8_asym", "ort_percentile", {"symmetric": False}),
    ("ort_percentile_999_512_in_fp8", "encoder.layer.0.intermediate.dense", "input", "fp8", "ort_percentile",
     {"percentile": 99.9, "num_bins": 512}),
    ("ort_percentile_w_int4_asym", "encoder.layer.5.attention.output.dense", "weight", "int4_asym", "ort_percentile", {}),
    ("ort_entropy_in_int8_sym", "encoder.layer.5.attention.output.dense", "input", "int8_sym", "ort_entropy", {}),
    ("ort_entropy_out_int8_asym", "encoder.layer.0.attention.self.value", "output", "int8_asym", "ort_entropy", {}),
    ("ort_entropy_512_in_int8_asym", "encoder.layer.5.output.dense", "input", "int8_asym", "ort_entropy", {"num_bins": 512}),
    ("ort_entropy_1024_64_v_int8_sym", "encoder.layer.5.attention.self", "v", "int8_sym", "ort_entropy",
     {"num_bins": 1024, "num_quantized_bins": 64}),
    ("ort_entropy_w_int8_sym", "encoder.layer.0.attention.self.key", "weight", "int8_sym", "ort_entropy", {"num_bins": 512}),
    ("ort_distribution_in_fp8", "encoder.layer.0.attention.self.query", "input", "fp8", "ort_distribution", {}),
    ("ort_distribution_p3_out_int8_asym", "encoder.layer.5.attention.self.key", "output", "int8_asym", "ort_distribution",
     {"num_bins": 512, "scenario": "p3"}),
]

# nvidia-modelopt cases: (id, module, base_name, args key, observer, kwargs)
MODELOPT_CASES = [
    ("modelopt_max_in_int8_sym", "encoder.layer.0.attention.self.query", "input", "int8_sym", "modelopt_max", {}),
    ("modelopt_max_out_int8_asym", "encoder.layer.5.intermediate.dense", "output", "int8_asym", "modelopt_max", {}),
    ("modelopt_max_k_fp8", "encoder.layer.0.attention.self", "k", "fp8", "modelopt_max", {}),
    ("modelopt_max_w_int8_channel", "encoder.layer.5.attention.output.dense", "weight", "int8_sym_channel", "modelopt_max", {}),
    ("modelopt_max_w_int4_group128", "encoder.layer.5.output.dense", "weight", "int4_sym_group128", "modelopt_max", {}),
]
MODELOPT_HIST_CASES = [
    ("modelopt_percentile_in_int8_sym", "encoder.layer.5.output.dense", "input", "int8_sym", "modelopt_percentile", {}),
    ("modelopt_percentile_out_int8_asym", "encoder.layer.0.attention.self.value", "output", "int8_asym", "modelopt_percentile", {}),
    ("modelopt_percentile_999_512_q_fp8", "encoder.layer.5.attention.self", "q", "fp8", "modelopt_percentile",
     {"percentile": 99.9, "num_bins": 512}),
    ("modelopt_percentile_skip0_in_int8_sym", "encoder.layer.0.intermediate.dense", "input", "int8_sym", "modelopt_percentile",
     {"skip_zeros": True}),
    ("modelopt_percentile_w_int8_sym", "encoder.layer.0.attention.self.key", "weight", "int8_sym", "modelopt_percentile", {}),
]
# nvidia-modelopt's entropy / MSE searches on the same |x| histogram: (id, module, base_name,
# args key, observer, kwargs); the calibrator's num_bits is the arguments' bit count.
MODELOPT_SEARCH_CASES = [
    ("modelopt_entropy_in_int8_sym", "encoder.layer.5.output.dense", "input", "int8_sym", "modelopt_entropy", {}),
    ("modelopt_entropy_out_int8_asym", "encoder.layer.0.attention.self.value", "output", "int8_asym", "modelopt_entropy", {}),
    ("modelopt_entropy_512_s64_q_int4", "encoder.layer.5.attention.self", "q", "int4_asym", "modelopt_entropy",
     {"num_bins": 512, "start_bin": 64, "stride": 3}),
    ("modelopt_entropy_w_int8_sym", "encoder.layer.0.attention.self.key", "weight", "int8_sym", "modelopt_entropy", {}),
    ("modelopt_mse_in_int8_sym", "encoder.layer.5.output.dense", "input", "int8_sym", "modelopt_mse", {}),
    ("modelopt_mse_1024_s16_k_int4", "encoder.layer.0.attention.self", "k", "int4_asym", "modelopt_mse",
     {"num_bins": 1024, "start_bin": 16, "stride": 5, "skip_zeros": True}),
    ("modelopt_mse_w_int8_sym", "encoder.layer.5.attention.output.dense", "weight", "int8_sym", "modelopt_mse", {}),
]
# nvidia-modelopt's MseCalibrator: (id, module, base_name, args key, kwargs).
MODELOPT_SWEEP_CASES = [
    ("modelopt_mse_sweep_in_int8_sym", "encoder.layer.0.attention.self.query", "input", "int8_sym", {}),
    ("modelopt_mse_sweep_v_int4_asym", "encoder.layer.5.attention.self", "v", "int4_asym",
     {"start_multiplier": 0.5, "stop_multiplier": 2.0, "step_size": 0.25}),
    ("modelopt_mse_sweep_w_int8_channel", "encoder.layer.5.attention.output.dense", "weight", "int8_sym_channel", {}),
    ("modelopt_mse_sweep_w_int4_group128", "encoder.layer.5.output.dense", "weight", "int4_sym_group128",
     {"step_size": 0.05, "start_multiplier": 0.5, "stop_multiplier": 1.5, "narrow_range": True}),
]
# onnxruntime MinMaxCalibrater with per_channel (one range per index of axis 1, the head
# of q/k/v; compressed-tensors' attn_head strategy): (id, module, base, args key, kwargs,
# steps). Without moving_average onnxruntime 1.32 fails from the second step on
# (merge_range calls Python's min on arrays), so that case records one step.
ORT_PER_CHANNEL_CASES = [
    ("ort_minmax_pc_ema_k_int8_sym", "encoder.layer.0.attention.self", "k", "int8_sym_head",
     {"per_channel": True, "moving_average": True}, STEPS),
    ("ort_minmax_pc_ema_half_sym_q_int8_asym", "encoder.layer.5.attention.self", "q", "int8_asym_head",
     {"per_channel": True, "moving_average": True, "averaging_constant": 0.5, "symmetric": True}, STEPS),
    ("ort_minmax_pc_v_fp8", "encoder.layer.5.attention.self", "v", "fp8_head", {"per_channel": True}, 1),
]
ARGS["int8_sym_head"] = dict(ARGS["int8_sym"], strategy="attn_head")
ARGS["int8_asym_head"] = dict(ARGS["int8_asym"], strategy="attn_head")
ARGS["fp8_head"] = dict(ARGS["fp8"], strategy="attn_head")
W_ARGS["int8_sym_channel"] = {"num_bits": 8, "type": "int", "symmetric": True, "strategy": "channel"}
W_ARGS["int4_sym_group128"] = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group", "group_size": 128}

# The bf16 set (--bf16): every observer, both ways of growing a histogram (onnxruntime's
# signed merge, modelopt's |x| re-binning), weights and activations, and arguments whose
# parameters bf16 moves (asymmetric zero points, fp8 and int4 scales); every sweep layout,
# since a per-channel or per-group candidate amax is rounded to bf16 and a per-tensor one
# is not.
BF16_CASES = {
    "ort_minmax_in_int8_asym",
    "ort_minmax_ema_half_sym_q_int4",
    "ort_minmax_pc_ema_k_int8_sym",
    "ort_percentile_in_int8_sym",
    "ort_percentile_w_int4_asym",
    "ort_entropy_512_in_int8_asym",
    "ort_entropy_w_int8_sym",
    "ort_distribution_in_fp8",
    "ort_distribution_p3_out_int8_asym",
    "modelopt_max_in_int8_sym",
    "modelopt_max_k_fp8",
    "modelopt_max_w_int8_channel",
    "modelopt_max_w_int4_group128",
    "modelopt_percentile_in_int8_sym",
    "modelopt_percentile_999_512_q_fp8",
    "modelopt_entropy_in_int8_sym",
    "modelopt_entropy_512_s64_q_int4",
    "modelopt_mse_in_int8_sym",
    "modelopt_mse_1024_s16_k_int4",
    "modelopt_mse_sweep_in_int8_sym",
    "modelopt_mse_sweep_v_int4_asym",
    "modelopt_mse_sweep_w_int8_channel",
    "modelopt_mse_sweep_w_int4_group128",
}

ORT_METHOD = {
    "ort_minmax": CalibrationMethod.MinMax,
    "ort_percentile": CalibrationMethod.Percentile,
    "ort_entropy": CalibrationMethod.Entropy,
    "ort_distribution": CalibrationMethod.Distribution,
}


def sample_key(module, base):
    return f"{module}.{base}"


def load_samples():
    steps = [load_file(os.path.join(HERE, f"step-{i:04d}.safetensors")) for i in range(STEPS)]
    weights = load_file(os.path.join(HERE, "weights.safetensors"))
    return steps, weights


class OneBatch(CalibrationDataReader):
    def __init__(self, x):
        self.items = [{"x": x}]

    def get_next(self):
        return self.items.pop(0) if self.items else None


def identity_model(path, rank):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None] * rank)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * rank)
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def ort_range(observer, kwargs, values, tmp):
    """Runs the onnxruntime calibrator (made by create_calibrator, so with the factory's
    defaults) over the values, one collect_data call per step; returns per step the range
    and the histogram of tensor 'x'."""
    model = os.path.join(tmp, "identity.onnx")
    identity_model(model, values[0].ndim)
    cal = create_calibrator(
        model, ["Identity"], augmented_model_path=os.path.join(tmp, "augmented.onnx"),
        calibrate_method=ORT_METHOD[observer], extra_options=dict(kwargs))
    out = []
    for v in values:
        cal.collect_data(OneBatch(v))
        data = cal.compute_data()["x"]
        lo, hi = data.range_value
        hist = None
        if observer != "ort_minmax":
            h = cal.collector.histogram_dict["x"]
            hist = (np.asarray(h[0]), np.asarray(h[1]))
        lo, hi = np.asarray(lo).reshape(-1), np.asarray(hi).reshape(-1)
        assert lo.size == 1 and hi.size == 1 and lo.dtype == np.float32 and hi.dtype == np.float32
        out.append((lo[0], hi[0], hist))
    return out


def ort_per_channel_range(kwargs, values, tmp):
    """onnxruntime's MinMaxCalibrater (create_calibrator) with per_channel, one
    collect_data call per step; returns per step the (min, max) arrays over axis 1."""
    model = os.path.join(tmp, "identity.onnx")
    identity_model(model, values[0].ndim)
    cal = create_calibrator(
        model, ["Identity"], augmented_model_path=os.path.join(tmp, "augmented.onnx"),
        calibrate_method=CalibrationMethod.MinMax, extra_options=dict(kwargs))
    out = []
    for v in values:
        cal.collect_data(OneBatch(v))
        lo, hi = cal.compute_data()["x"].range_value
        lo, hi = np.asarray(lo), np.asarray(hi)
        assert lo.shape == (v.shape[1],) and lo.dtype == np.float32 and hi.dtype == np.float32
        out.append((lo, hi))
    return out


def modelopt_range(args_json, values, dtype):
    """Runs nvidia-modelopt's MaxCalibrator over the values (as torch tensors of `dtype`),
    one collect() per step; returns per step (-amax, amax) shaped like compressed-tensors'
    qparams, in float32 (a bf16 amax is exact in it). Per channel is axis 0 of the weight;
    per group reshapes the weight to (out, in // g, g) with axis (0, 1)."""
    from modelopt.torch.quantization.calib import MaxCalibrator
    strategy = args_json.get("strategy")
    if strategy == "tensor":
        cal, view = MaxCalibrator(num_bits=8, axis=None), (lambda t: t)
    elif strategy == "channel":
        cal, view = MaxCalibrator(num_bits=8, axis=0), (lambda t: t)
    else:
        g = args_json["group_size"]
        cal, view = MaxCalibrator(num_bits=8, axis=(0, 1)), (lambda t: t.reshape(t.shape[0], t.shape[1] // g, g))
    out = []
    for v in values:
        cal.collect(view(torch.from_numpy(v).to(dtype)))
        amax = cal.compute_amax()
        assert amax.dtype == dtype
        amax = amax.float()
        if strategy == "tensor":
            amax = amax.reshape(1)
        else:
            amax = amax.reshape(amax.shape[0], -1)
        out.append((-amax, amax))
    return out


def modelopt_hist(kwargs, values, dtype):
    """nvidia-modelopt's HistogramCalibrator (torch_hist=True, its default), one collect()
    per step of the values as torch tensors of `dtype`, then compute_amax("percentile");
    returns per step (-amax, amax) and the histogram (counts, edges)."""
    from modelopt.torch.quantization.calib import HistogramCalibrator
    cal = HistogramCalibrator(num_bits=8, axis=None, unsigned=False, num_bins=kwargs.get("num_bins", 2048),
                              skip_zeros=kwargs.get("skip_zeros", False))
    out = []
    for v in values:
        cal.collect(torch.from_numpy(v).to(dtype))
        amax = cal.compute_amax("percentile", percentile=kwargs.get("percentile", 99.99))
        assert amax.dtype == torch.float32
        amax = amax.reshape(1)
        out.append((-amax, amax, cal._calib_hist.float().clone(), cal._calib_bin_edges.float().clone()))
    return out


def modelopt_search(observer, num_bits, kwargs, values, dtype):
    """nvidia-modelopt's HistogramCalibrator (torch_hist=True), one collect() per step of the
    values as torch tensors of `dtype`, then compute_amax("entropy" or "mse") with the
    case's start_bin and stride; returns per step (-amax, amax) and the histogram (counts,
    edges)."""
    from modelopt.torch.quantization.calib import HistogramCalibrator
    cal = HistogramCalibrator(num_bits=num_bits, axis=None, unsigned=False, num_bins=kwargs.get("num_bins", 2048),
                              skip_zeros=kwargs.get("skip_zeros", False))
    method = observer.removeprefix("modelopt_")
    out = []
    for v in values:
        cal.collect(torch.from_numpy(v).to(dtype))
        amax = cal.compute_amax(method, start_bin=kwargs.get("start_bin", 128), stride=kwargs.get("stride", 1))
        assert amax.dtype == torch.float32
        amax = amax.reshape(1)
        out.append((-amax, amax, cal._calib_hist.float().clone(), cal._calib_bin_edges.float().clone()))
    return out


def modelopt_sweep(args_json, kwargs, values, dtype):
    """nvidia-modelopt's MseCalibrator, its initial amax MaxCalibrator's amax of the first
    step (of `dtype`, as mse_calibrate takes it from the weight quantizer's `_amax`), its
    quant_func the integer fake quantization a TensorQuantizer runs on CPU
    (fake_tensor_quant with the arguments' num_bits, unsigned False and the case's
    narrow_range, default False); one collect() and compute_amax() per step on the values
    as torch tensors of `dtype`. The amax is then cast to the initial amax's dtype, as
    load_calib_amax copies it into the quantizer's `_amax` buffer. Returns per step (-amax,
    amax) shaped like compressed-tensors' qparams, in float32, and the summed losses as
    (candidates, parameters)."""
    from modelopt.torch.quantization.calib import MaxCalibrator, MseCalibrator
    from modelopt.torch.quantization.tensor_quant import fake_tensor_quant
    strategy = args_json.get("strategy")
    if strategy == "tensor":
        axis, view = None, (lambda t: t)
    elif strategy == "channel":
        axis, view = 0, (lambda t: t)
    else:
        g = args_json["group_size"]
        axis, view = (0, 1), (lambda t: t.reshape(t.shape[0], t.shape[1] // g, g))
    first = MaxCalibrator(num_bits=8, axis=axis)
    first.collect(view(torch.from_numpy(values[0]).to(dtype)))
    initial = first.compute_amax()
    assert initial.dtype == dtype
    bits, narrow = args_json["num_bits"], kwargs.get("narrow_range", False)
    cal = MseCalibrator(
        amax=initial, axis=axis, step_size=kwargs.get("step_size", 0.1),
        start_multiplier=kwargs.get("start_multiplier", 0.25), stop_multiplier=kwargs.get("stop_multiplier", 4.0),
        quant_func=lambda x, a: fake_tensor_quant(x, a, None, bits, False, narrow))
    out = []
    for v in values:
        cal.collect(view(torch.from_numpy(v).to(dtype)))
        amax = cal.compute_amax()
        assert amax.dtype == torch.float32
        amax = amax.to(initial.dtype).float()
        amax = amax.reshape(1) if strategy == "tensor" else amax.reshape(amax.shape[0], -1)
        losses = torch.stack(cal._losses_sum).float()
        out.append((-amax, amax, losses.reshape(losses.shape[0], -1).clone()))
    return out


def f32(x):
    return torch.tensor(np.asarray(x, dtype=np.float32).reshape(-1))


def case_values(module, base, akey, steps, weights):
    """The sample key, the values the calibrator sees (the weight once, or every step's
    activation) and the case's compressed-tensors arguments."""
    key = sample_key(module, base)
    if base == "weight":
        return key, [weights[key].float().numpy()], W_ARGS[akey]
    return key, [s[key].float().numpy() for s in steps], ARGS[akey]


def case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta):
    """The cases.json entry of one case."""
    resolved = json.loads(args.model_dump_json())
    resolved["observer"] = observer
    resolved["observer_kwargs"] = kwargs
    return {
        "id": cid, "module": module, "base_name": base, "args": args_json, "resolved_args": resolved,
        "observer": observer, "observer_kwargs": kwargs, "qdq": False, "sample_key": key, "steps": step_meta,
    }


def qparams(mn, mx, args, dtype):
    """compressed-tensors' calculate_qparams of the range (mn, mx) rounded to `dtype`, so
    computed in that dtype as in a model of it."""
    return calculate_qparams(mn.to(dtype), mx.to(dtype), args)


def write_set(directory, dtype, selected, steps, weights):
    """Writes cases.json and expected.safetensors of the cases in `selected` into
    `directory`, every source driven as in a model of `dtype`."""
    expected = {}
    cases = []
    for cid, module, base, akey, observer, kwargs in ORT_CASES:
        if cid not in selected:
            continue
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        with tempfile.TemporaryDirectory() as tmp:
            results = ort_range(observer, kwargs, values, tmp)
        step_meta = []
        for i, (lo, hi, hist) in enumerate(results):
            mn, mx = f32([lo]), f32([hi])
            scale, zp = qparams(mn, mx, args, dtype)
            p = f"{cid}/{i}/"
            expected[p + "min_vals"] = mn
            expected[p + "max_vals"] = mx
            expected[p + "scale"] = scale.float().reshape(-1)
            expected[p + "zero_point"] = zp.float().reshape(-1)
            if hist is not None:
                counts, edges = hist
                assert counts.max() < 2**24
                expected[p + "histogram"] = torch.tensor(counts.astype(np.float32))
                expected[p + "hist_edges"] = torch.tensor(edges.astype(np.float32))
            step_meta.append({"scale_dtype": str(scale.dtype), "zero_point_dtype": str(zp.dtype)})
        cases.append(case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta))
        print(cid, [(float(r[0]), float(r[1]), None if r[2] is None else len(r[2][0])) for r in results], file=sys.stderr)

    for cid, module, base, akey, kwargs, count in ORT_PER_CHANNEL_CASES:
        if cid not in selected:
            continue
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        with tempfile.TemporaryDirectory() as tmp:
            results = ort_per_channel_range(kwargs, values[:count], tmp)
        step_meta = []
        for i, (lo, hi) in enumerate(results):
            mn = torch.from_numpy(lo.copy()).reshape(-1, 1, 1)
            mx = torch.from_numpy(hi.copy()).reshape(-1, 1, 1)
            scale, zp = qparams(mn, mx, args, dtype)
            p = f"{cid}/{i}/"
            expected[p + "min_vals"] = mn.contiguous()
            expected[p + "max_vals"] = mx.contiguous()
            expected[p + "scale"] = scale.float().reshape(mn.shape).contiguous()
            expected[p + "zero_point"] = zp.float().reshape(mn.shape).contiguous()
            step_meta.append({"scale_dtype": str(scale.dtype), "zero_point_dtype": str(zp.dtype)})
        cases.append(case_entry(cid, module, base, key, args_json, args, "ort_minmax", kwargs, step_meta))
        print(cid, [(r[0][:2].tolist(), r[1][:2].tolist()) for r in results], file=sys.stderr)

    for cid, module, base, akey, observer, kwargs in MODELOPT_HIST_CASES:
        if cid not in selected:
            continue
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        results = modelopt_hist(kwargs, values, dtype)
        step_meta = histogram_steps(expected, cid, results, args, dtype)
        cases.append(case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta))
        print(cid, [(float(r[1]), len(r[2]), len(r[3])) for r in results], file=sys.stderr)

    for cid, module, base, akey, observer, kwargs in MODELOPT_SEARCH_CASES:
        if cid not in selected:
            continue
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        results = modelopt_search(observer, args_json["num_bits"], kwargs, values, dtype)
        step_meta = histogram_steps(expected, cid, results, args, dtype)
        cases.append(case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta))
        print(cid, [(float(r[1]), len(r[2]), len(r[3])) for r in results], file=sys.stderr)

    for cid, module, base, akey, kwargs in MODELOPT_SWEEP_CASES:
        if cid not in selected:
            continue
        observer = "modelopt_mse_sweep"
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        step_meta = []
        results = modelopt_sweep(args_json, kwargs, values, dtype)
        for i, (mn, mx, losses) in enumerate(results):
            scale, zp = qparams(mn, mx, args, dtype)
            p = f"{cid}/{i}/"
            expected[p + "min_vals"] = mn.contiguous()
            expected[p + "max_vals"] = mx.contiguous()
            expected[p + "scale"] = scale.float().reshape(mn.shape).contiguous()
            expected[p + "zero_point"] = zp.float().reshape(mn.shape).contiguous()
            expected[p + "sweep_losses"] = losses.contiguous()
            step_meta.append({"scale_dtype": str(scale.dtype), "zero_point_dtype": str(zp.dtype)})
        cases.append(case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta))
        print(cid, [(mx.reshape(-1)[:3].tolist(), losses.shape) for _, mx, losses in results], file=sys.stderr)

    for cid, module, base, akey, observer, kwargs in MODELOPT_CASES:
        if cid not in selected:
            continue
        key, values, args_json = case_values(module, base, akey, steps, weights)
        args = QuantizationArgs(**args_json, observer="memoryless_minmax")
        step_meta = []
        for i, (mn, mx) in enumerate(modelopt_range(args_json, values, dtype)):
            scale, zp = qparams(mn, mx, args, dtype)
            p = f"{cid}/{i}/"
            expected[p + "min_vals"] = mn.contiguous()
            expected[p + "max_vals"] = mx.contiguous()
            expected[p + "scale"] = scale.float().reshape(mn.shape).contiguous()
            expected[p + "zero_point"] = zp.float().reshape(mn.shape).contiguous()
            step_meta.append({"scale_dtype": str(scale.dtype), "zero_point_dtype": str(zp.dtype)})
        cases.append(case_entry(cid, module, base, key, args_json, args, observer, kwargs, step_meta))
        print(cid, "ok", file=sys.stderr)

    missing = selected - {c["id"] for c in cases}
    assert not missing, f"unknown case ids {sorted(missing)}"
    root = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (samples of ../minilm)",
        "reference": ", ".join(
            f"{p} {version(p)}" for p in ["onnxruntime", "nvidia-modelopt", "numpy", "compressed-tensors", "torch"]),
        "generator": "Tests/Fixtures/peers/generate.py",
        "steps": STEPS,
        "sample_dtype": "bfloat16 (references computed on the exact float32 upcast)",
    }
    if dtype == torch.bfloat16:
        root["generator"] += " --bf16"
        root["sample_dtype"] = "bfloat16"
        root["arithmetic"] = "bfloat16"
        root["arithmetic_note"] = (
            "each source driven as in a bf16 model (see the generator's docstring): modelopt's"
            " calibrators get torch.bfloat16 tensors, onnxruntime's the exact float32 upcast"
            " (it does not calibrate bf16 tensors); calculate_qparams runs on the range rounded"
            " to bf16")
    root["cases"] = cases
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "cases.json"), "w") as f:
        json.dump(root, f, indent=1)
        f.write("\n")
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in sorted(expected.items())}, os.path.join(directory, "expected.safetensors"))



def histogram_steps(expected, cid, results, args, dtype):
    """Writes each step's range, qparams and histogram of a modelopt histogram case into
    `expected`; returns the steps' dtype metadata for cases.json."""
    step_meta = []
    for i, (mn, mx, counts, edges) in enumerate(results):
        scale, zp = qparams(mn, mx, args, dtype)
        p = f"{cid}/{i}/"
        expected[p + "min_vals"] = mn.contiguous()
        expected[p + "max_vals"] = mx.contiguous()
        expected[p + "scale"] = scale.float().reshape(1).contiguous()
        expected[p + "zero_point"] = zp.float().reshape(1).contiguous()
        expected[p + "histogram"] = counts.contiguous()
        expected[p + "hist_edges"] = edges.contiguous()
        step_meta.append({"scale_dtype": str(scale.dtype), "zero_point_dtype": str(zp.dtype)})
    return step_meta


def main():
    steps, weights = load_samples()
    if sys.argv[1:] == ["--bf16"]:
        write_set(os.path.abspath(BF16_DIR), torch.bfloat16, BF16_CASES, steps, weights)
    elif not sys.argv[1:]:
        every = ORT_CASES + ORT_PER_CHANNEL_CASES + MODELOPT_HIST_CASES + MODELOPT_SEARCH_CASES + MODELOPT_CASES
        selected = {c[0] for c in every} | {c[0] for c in MODELOPT_SWEEP_CASES}
        write_set(HERE, torch.float32, selected, steps, weights)
    else:
        sys.exit("usage: python generate.py [--bf16]")


if __name__ == "__main__":
    main()
