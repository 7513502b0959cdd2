"""Times the reference observers on the cases calib-bench adds to refbench.py's: the
scheme presets that compressed-tensors 0.14 ships, whose arguments refbench.py's cases
predate. Same command line and output as refbench.py, in the same environment:

  python refbench_presets.py --data bench.safetensors [--threads 2] [--dtype bfloat16]

One JSON line per case: {"case", "threads", "seconds" (median), "GBps"}.
"""
import argparse
import json
import statistics
import time

import torch
from compressed_tensors.quantization import preset_name_to_scheme
from llmcompressor.observers import Observer
from safetensors.torch import load_file

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--threads", type=int, default=torch.get_num_threads())
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
options = parser.parse_args()

torch.set_num_threads(options.threads)
dtype = getattr(torch, options.dtype)
suffix = {"float32": "", "bfloat16": "_bf16", "float16": "_f16"}[options.dtype]
weight = load_file(options.data)["w"].to(dtype)

# (case, preset, observer): the preset's weight arguments under that observer.
CASES = [("w_nvfp4_preset_minmax", "NVFP4", "memoryless_minmax")]


class Module(torch.nn.Module):
    """Where the observer registers the global scale, as on a Linear layer."""


for case, preset, observer_name in CASES:
    args = preset_name_to_scheme(preset, ["Linear"]).weights.model_copy(update={"observer": observer_name})
    seconds = []
    for _ in range(options.repeat):
        module = Module()
        observer = Observer.load_from_registry(observer_name, base_name="weight", args=args, module=module)
        start = time.perf_counter()
        if args.strategy == "tensor_group":
            global_scale = observer.get_global_scale(weight)
            module.register_parameter("weight_global_scale", torch.nn.Parameter(global_scale, requires_grad=False))
        observer(weight)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    size = weight.numel() * weight.element_size()
    print(json.dumps({"case": case + suffix, "threads": options.threads, "seconds": round(median, 5),
                      "GBps": round(size / median / 1e9, 3)}), flush=True)
