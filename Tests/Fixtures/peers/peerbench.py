"""Times onnxruntime's histogram calibration on the benchmark activation, the cases of
`calib-bench peers` (same tensor, same four steps).

    python refbench.py --dump /tmp/bench.safetensors      # the shared benchmark tensors
    python peerbench.py --data /tmp/bench.safetensors     # in a venv with onnxruntime

modelopt_percentile_act_4steps, modelopt_entropy_act_4steps and modelopt_mse_act_4steps drive
nvidia-modelopt's HistogramCalibrator (torch_hist, one torch thread) with compute_amax of
that method after every step; modelopt_mse_sweep_act_4steps drives its MseCalibrator
(initial amax the first step's max |x|, int8 fake quantization, defaults 0.25…4.0 by 0.1)
with collect() and compute_amax() every step.
Each onnxruntime case drives onnxruntime's HistogramCollector (what Percentile/Entropy/Distribution
calibraters call after running the model) with the factory defaults of create_calibrator:
collect() once per step, then compute_collection_result(). Only the calibrator's CPU
work is timed, not model inference.
"""

import argparse
import contextlib
import io
import json
import statistics
import time
from importlib.metadata import version

import numpy as np
from safetensors.numpy import load_file
from onnxruntime.quantization.calibrate import HistogramCollector

p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
p.add_argument("--repeat", type=int, default=3)
o = p.parse_args()

act = load_file(o.data)["act"].astype(np.float32)
steps = [act * np.float32(s) for s in (1, 1.5, 0.5, 2)]
CASES = {
    "ort_percentile_act_4steps": dict(method="percentile", symmetric=True, num_bins=2048, num_quantized_bins=128, percentile=99.999),
    "ort_entropy_act_4steps": dict(method="entropy", symmetric=False, num_bins=128, num_quantized_bins=128, percentile=99.999),
    "ort_distribution_act_4steps": dict(method="distribution", symmetric=False, num_bins=2048, num_quantized_bins=128, percentile=99.999),
}
def modelopt_histogram(method, **kwargs):
    import torch
    from modelopt.torch.quantization.calib import HistogramCalibrator
    torch.set_num_threads(1)
    times = []
    for _ in range(o.repeat):
        xs = [torch.from_numpy(x) for x in steps]
        t0 = time.process_time()
        c = HistogramCalibrator(num_bits=8, axis=None, unsigned=False, num_bins=2048)
        for x in xs:
            c.collect(x)
            amax = c.compute_amax(method, **kwargs)
        times.append(time.process_time() - t0)
    print(json.dumps({"case": f"modelopt_{method}_act_4steps", "nvidia-modelopt": version("nvidia-modelopt"),
                      "cpu_seconds": round(statistics.median(times), 5), "bins": int(c._calib_hist.numel()),
                      "max": float(amax)}))


def modelopt_mse_sweep():
    import torch
    from modelopt.torch.quantization.calib import MseCalibrator
    from modelopt.torch.quantization.tensor_quant import fake_tensor_quant
    torch.set_num_threads(1)
    times = []
    for _ in range(o.repeat):
        xs = [torch.from_numpy(x) for x in steps]
        t0 = time.process_time()
        c = MseCalibrator(amax=xs[0].abs().amax(), quant_func=lambda x, a: fake_tensor_quant(x, a, None, 8, False, False))
        for x in xs:
            c.collect(x)
            amax = c.compute_amax()
        times.append(time.process_time() - t0)
    print(json.dumps({"case": "modelopt_mse_sweep_act_4steps", "nvidia-modelopt": version("nvidia-modelopt"),
                      "cpu_seconds": round(statistics.median(times), 5), "max": float(amax)}))

for name, kw in CASES.items():
    times = []
    for _ in range(o.repeat):
        t0 = time.process_time()
        c = HistogramCollector(scenario="same", **kw)
        with contextlib.redirect_stdout(io.StringIO()):
            for x in steps:
                c.collect({"x": [x]})
                r = c.compute_collection_result()["x"]
        times.append(time.process_time() - t0)
    lo, hi = (r[0], r[1]) if isinstance(r, tuple) else r.range_value
    print(json.dumps({"case": name, "onnxruntime": version("onnxruntime"), "cpu_seconds": round(statistics.median(times), 5),
                      "bins": len(c.histogram_dict["x"][0]), "min": float(lo), "max": float(hi)}))
modelopt_histogram("percentile", percentile=99.99)
modelopt_histogram("entropy")
modelopt_histogram("mse")
modelopt_mse_sweep()
