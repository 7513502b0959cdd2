#!/usr/bin/env python3
"""Build the oneshot test fixtures in ``Tests/Fixtures/oneshot/`` with calib_oneshot.py.

Run in the reference env (llm-compressor 0.10.0, compressed-tensors 0.14.0, CPU torch;
``shared/tools/reference/setup.sh``), from the repository root:

    python Samples/python/make_oneshot_fixtures.py                  # all models x recipes
    python Samples/python/make_oneshot_fixtures.py --models llama --recipes nvfp4

For each (model, recipe) it builds a tiny random bf16 model (nothing is downloaded), runs
``oneshot(..., save_compressed=True)`` inside ``calib_oneshot.recording()`` and writes
``<out>/<model>-<recipe>/``:

* ``recording/``: what calib_oneshot.py wrote (manifest.json, recipe.yaml, step files,
  weights.safetensors);
* ``expected.safetensors``: every qparam of oneshot's saved checkpoint
  (``*_scale``, ``*_zero_point``, ``*_global_scale``) under its compressed-tensors name
  and dtype, metadata ``model_dtype`` and ``source``;
* ``expected-uncalibrated.json``: the modules whose activation observers never received
  a tensor (MoE experts no token was routed to) and the checkpoint keys that therefore
  hold uninitialised values, which a reproduction must not be compared against.

Models (``--models``):

* ``llama``: LlamaForCausalLM, hidden 64, 2 layers, 4 query / 2 KV heads (head_dim 16),
  MLP 128, vocab 256.
* ``mixtral``: MixtralForCausalLM, hidden 64, 2 layers, 8 experts top-2, expert MLP 64.
  Experts 6 and 7 of every layer are made unreachable so that the fixture covers experts
  that get no tokens: embedding column 0 is set to +0.1 for every token (so the router's
  input has a positive coordinate 0 after RMSNorm) and router rows 6 and 7 are
  ``-1 * e_0``, which puts their logits far below the others for every token.

Recipes (``--recipes``), all ignoring ``lm_head`` (and, for mixtral, the router
``re:.*block_sparse_moe.gate$``, as llm-compressor's Mixtral examples do):

* ``w8a8``: int8 channel weights, int8 tensor static inputs, ``observer: minmax``;
* ``fp8-kv``: ``scheme: FP8`` + ``kv_cache_scheme`` FP8 tensor static (k/v scales);
* ``nvfp4``: ``scheme: NVFP4``;
* ``w4a16-g64-mse``: int4 group-64 weights, ``observer: mse`` (weight only).

Calibration data: 4 sequences of 32 random token ids (fixed seed), batch size 1,
oneshot's default random sampler seeded with ``torch.manual_seed(0)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("LLM_COMPRESSOR_LOG_DISABLED", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calib_oneshot  # noqa: E402

VOCAB = 256
SAMPLES = 4
SEQ = 32
MODEL_SEED = 7
DATA_SEED = 1234
QPARAM_SUFFIXES = ("_scale", "_zero_point", "_global_scale")

_INT8_W = "{num_bits: 8, type: int, symmetric: true, strategy: channel, dynamic: false, observer: minmax}"
_INT8_A = "{num_bits: 8, type: int, symmetric: true, strategy: tensor, dynamic: false, observer: minmax}"
_INT4_G64 = ("{num_bits: 4, type: int, symmetric: true, strategy: group, group_size: 64, dynamic: false, "
             "observer: mse}")
_KV_FP8 = "{num_bits: 8, type: float, symmetric: true, strategy: tensor, dynamic: false}"

RECIPES = {
    "w8a8": f"""      config_groups:
        group_0:
          targets: [Linear]
          weights: {_INT8_W}
          input_activations: {_INT8_A}
""",
    "fp8-kv": f"""      targets: [Linear]
      scheme: FP8
      kv_cache_scheme: {_KV_FP8}
""",
    "nvfp4": """      targets: [Linear]
      scheme: NVFP4
""",
    "w4a16-g64-mse": f"""      config_groups:
        group_0:
          targets: [Linear]
          weights: {_INT4_G64}
""",
}
IGNORE = {"llama": ["lm_head"], "mixtral": ["lm_head", "re:.*block_sparse_moe.gate$"]}


def recipe_text(recipe: str, model: str) -> str:
    return ("quant_stage:\n  quant_modifiers:\n    QuantizationModifier:\n"
            f"      ignore: {json.dumps(IGNORE[model])}\n" + RECIPES[recipe])


# ------------------------------------------------------------------ models
def save_tokenizer(path: Path) -> None:
    """A whitespace WordLevel tokenizer over t4..t255, so ids are exactly the ones chosen."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<pad>": 1, "<s>": 2, "</s>": 3, **{f"t{i}": i for i in range(4, VOCAB)}}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", pad_token="<pad>",
                            bos_token="<s>", eos_token="</s>").save_pretrained(str(path))


def build_model(kind: str, root: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, MixtralConfig, MixtralForCausalLM

    path = root / kind
    if (path / "config.json").exists():
        return path
    torch.manual_seed(MODEL_SEED)
    common = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  vocab_size=VOCAB, max_position_embeddings=128, pad_token_id=1, bos_token_id=2,
                  eos_token_id=3, tie_word_embeddings=False)
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(intermediate_size=128, **common))
    elif kind == "mixtral":
        model = MixtralForCausalLM(MixtralConfig(intermediate_size=64, num_local_experts=8,
                                                 num_experts_per_tok=2, **common))
        with torch.no_grad():
            model.model.embed_tokens.weight[:, 0] = 0.1
            for layer in model.model.layers:
                gate = layer.block_sparse_moe.gate.weight
                gate[6:8] = 0.0
                gate[6:8, 0] = -1.0
    else:
        raise SystemExit(f"unknown model {kind!r}")
    model = model.to(torch.bfloat16)
    model.save_pretrained(str(path))
    save_tokenizer(path)
    return path


def corpus() -> list[list[int]]:
    rng = random.Random(DATA_SEED)
    return [[rng.randrange(4, VOCAB) for _ in range(SEQ)] for _ in range(SAMPLES)]


# ------------------------------------------------------------------ one fixture
def checkpoint_qparams(checkpoint: Path) -> dict:
    from safetensors.torch import load_file

    out = {}
    for f in sorted(checkpoint.glob("*.safetensors")):
        for key, value in load_file(str(f)).items():
            if key.rsplit(".", 1)[-1].endswith(QPARAM_SUFFIXES):
                out[key] = value.contiguous()
    return out


def make_fixture(model_kind: str, recipe: str, out: Path, work: Path, pipeline: str | None) -> dict:
    import torch
    from datasets import Dataset
    from llmcompressor import oneshot
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = build_model(model_kind, work / "models")
    case = out / f"{model_kind}-{recipe}"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    recipe_path = work / f"{model_kind}-{recipe}.yaml"
    recipe_path.write_text(recipe_text(recipe, model_kind))
    checkpoint = work / f"{model_kind}-{recipe}-checkpoint"
    shutil.rmtree(checkpoint, ignore_errors=True)

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    ids = corpus()
    dataset = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(x) for x in ids]})
    kwargs = dict(model=model, processor=tokenizer, dataset=dataset, recipe=str(recipe_path),
                  num_calibration_samples=SAMPLES, max_seq_length=SEQ, output_dir=str(checkpoint),
                  save_compressed=True)
    if pipeline:
        kwargs["pipeline"] = pipeline
    torch.manual_seed(0)
    start = time.monotonic()
    with calib_oneshot.recording(case / "recording") as writer, calib_oneshot.cpu_dispatch():
        oneshot(**kwargs)
    seconds = time.monotonic() - start
    manifest = writer.manifest()

    expected = checkpoint_qparams(checkpoint)
    save_file(expected, str(case / "expected.safetensors"),
              metadata={"source": "llm-compressor 0.10.0 oneshot (compressed-tensors 0.14.0)",
                        "model_dtype": manifest["model_dtype"] or "bfloat16"})
    field = {"input": "input", "output": "output", "q": "q", "k": "k", "v": "v"}
    stale = sorted(k for k in expected
                   for m, bases in manifest["uncalibrated"].items()
                   for b in bases if k.startswith(f"{m}.{field[b]}_"))
    (case / "expected-uncalibrated.json").write_text(json.dumps({
        "note": ("activation observers that received no tensor during oneshot (no token routed "
                 "to the module); their checkpoint qparams below keep uninitialised values and "
                 "are not reproducible from the recording"),
        "modules": manifest["uncalibrated"],
        "checkpoint_keys": stale,
    }, indent=1) + "\n")
    shutil.rmtree(checkpoint, ignore_errors=True)
    size = sum(f.stat().st_size for f in case.rglob("*") if f.is_file())
    return {"case": case.name, "seconds": round(seconds, 1), "bytes": size,
            "pipeline": manifest["pipeline"], "steps": len(manifest["steps"]),
            "step_files": sum(len(s["files"]) for s in manifest["steps"]),
            "qparams": len(expected), "uncalibrated_modules": len(manifest["uncalibrated"]),
            "stale_keys": len(stale)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("Tests/Fixtures/oneshot"))
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "calib-oneshot-fixtures")
    ap.add_argument("--models", default="llama,mixtral")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--pipeline", help="force a pipeline (default: oneshot's choice)")
    args = ap.parse_args(argv)
    out, work = args.out.resolve(), args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # oneshot may write logs into the working directory
    rows = []
    for model_kind in [m for m in args.models.split(",") if m]:
        for recipe in [r for r in args.recipes.split(",") if r]:
            if recipe not in RECIPES:
                raise SystemExit(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
            print(f"[{model_kind}-{recipe}] oneshot ...", file=sys.stderr)
            row = make_fixture(model_kind, recipe, out, work, args.pipeline)
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    print("| fixture | pipeline | steps | step files | qparams | uncalibrated modules | size | oneshot s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['pipeline']} | {r['steps']} | {r['step_files']} | {r['qparams']} | "
              f"{r['uncalibrated_modules']} | {r['bytes'] / 1e3:.0f} kB | {r['seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
