#!/usr/bin/env python3
"""Record, from inside llm-compressor's ``oneshot``, every tensor its observers receive.

    from calib_oneshot import recording
    with recording("rec"):
        oneshot(model=model, dataset=ds, recipe="recipe.yaml", ...)

    calib record calib.sqlite --run my-run rec      # reads rec/manifest.json

Written for llm-compressor 0.10.0 on compressed-tensors 0.14.0 (the versions whose
checkpoints CalibStore reproduces bit for bit).

What is recorded, and how
-------------------------
``recording(out_dir)`` patches llm-compressor's calibration entry points, not the model:

* ``llmcompressor.modifiers.quantization.calibration.calibrate_activations`` receives
  every activation an observer sees: Linear inputs (forward pre-hook), outputs, and the
  attention ``q``/``k``/``v`` states that compressed-tensors' attention and kv-cache hooks
  pass on (post-RoPE, shape (batch, heads, seq, head_dim)). The input, output and
  q/k/v hooks, and the weight functions below, all live in that module and look these
  names up at call time, so replacing the module attributes intercepts every call.
  Because the hook runs inside the quantized forward pass, inputs arrive *after* the
  upstream layers' fake quantization, exactly as the observers saw them, and only for
  modules that actually ran (MoE experts no token was routed to never appear).
* ``...calibration.call_observer(..., base_name="weight")`` (reached through
  ``update_weight_zp_scale`` and ``update_weight_global_scale``) receives every weight a
  weight observer sees. oneshot calibrates the weights of every targeted module at the
  start of calibration, whatever the routing later does, so unused experts' weights are
  recorded too.
* ``llmcompressor.core.LifecycleCallbacks`` (calibration epoch start/end, sequential
  epoch end), ``CalibrationPipeline.from_modifiers`` (which pipeline ran) and
  ``llmcompressor.datasets.utils._make_sampler`` (which dataset rows make each batch).

Each tensor is copied to the CPU in the dtype it arrived in (nothing is widened or
reduced) and tagged with the module name, the base name (``input``, ``output``, ``q``,
``k``, ``v``, ``weight``) and the batch index oneshot set
(``active_session().state.current_batch_idx``), in the order received. The first
tensor for a (batch, module, base name) is kept; a repeat (a module called twice in
one batch) is counted in ``repeated_keys`` and reported on stderr.

Only QuantizationModifier's calibration goes through these functions. GPTQ and AWQ run
their own observers on weights they modify; recording such a recipe warns that the
weights recorded are the ones QuantizationModifier's path saw, not GPTQ's.

Pipelines
---------
* ``sequential`` (oneshot's default for recipes with activations): the model is run
  one subgraph (decoder layer) at a time over all batches. A file is written per
  (batch, subgraph) as soon as the next one starts: ``step-0003-layer-001.safetensors``
  is batch 3 in subgraph 1. Subgraph 0 holds the first decoder layer (and the
  embeddings); the last subgraph (final norm, ``lm_head``) usually calibrates nothing.
* ``basic``: the whole model runs per batch. Files are cut whenever the first number
  in the module name (the decoder layer) changes: ``step-0003-part-000.safetensors``...
* ``datafree`` (oneshot's default for weight-only recipes) and any weight-only recipe:
  no activations reach an observer, so ``"steps": []`` and only weights are written.
* ``independent`` (oneshot's ``pipeline`` default) runs one of the above per modifier
  (e.g. SmoothQuant, then QuantizationModifier); the manifest names the pipeline under
  which the observers ran, and ``sample_order`` is taken from that pass over the data.

On a host without CUDA, llm-compressor 0.10.0's ``basic`` and ``datafree`` pipelines fail
in ``dispatch_model``; wrap oneshot in ``cpu_dispatch()`` too (the command line does).

A file is also cut when its tensors exceed ``max_file_bytes`` (default 256 MiB; the
part number is then appended, ``step-0003-layer-001-part-001``). Memory use is one
such buffer plus one weight shard (``weight_shard_bytes``, default 1 GiB), never a
whole step.

Directory layout and manifest
-----------------------------
``out_dir`` (str or pathlib.Path) must be missing or empty. It receives:

* step files: safetensors, keys ``<module>.<input|output|q|k|v>``, metadata ``step``
  (the batch index as a string), ``module_types`` (JSON object module -> class name,
  for the modules in that file), ``order`` (JSON array of the file's keys in the order
  the observers received them; safetensors itself sorts keys) and ``producer``. One
  step may span several files; within a step a key appears in exactly one file.
* ``weights.safetensors`` (or ``weights-0000.safetensors``, ``weights-0001...`` when
  larger than one shard): keys ``<module>.weight``, metadata ``module_types``.
* ``recipe.yaml``: the resolved recipe oneshot ran (``Recipe.yaml()`` of the session,
  ``kv_cache_scheme`` included).
* ``manifest.json``, written last (a directory without it is an interrupted recording)::

    {"format": "calib-recording",        # always
     "version": 1,                        # manifest version
     "producer": "calib_oneshot.py",
     "pipeline": "sequential",            # sequential | basic | datafree | independent
     "model_dtype": "bfloat16",           # dtype of the model's parameters
     "recipe": "recipe.yaml",             # null if no recipe was seen
     "weights": ["weights.safetensors"],
     "steps": [{"step": 0,                # batch index; steps sorted ascending
                "files": ["step-0000-layer-000.safetensors", ...],   # in write order
                "samples": [5]}],         # dataset row ids of this batch (if known)
     "module_types": {"model.layers.0.self_attn.q_proj": "Linear", ...},
     "sample_order": [5, 2, 7],           # row ids in sampler order (null if unknown)
     "batch_size": 1,                     # oneshot's batch_size (null if unknown)
     "uncalibrated": {"model.layers.1.block_sparse_moe.experts.6.w1": ["input"]},
     "repeated_keys": 0,                  # (batch, module, base) seen again and dropped
     "versions": {"llmcompressor": "0.10.0", "compressed_tensors": "0.14.0",
                  "torch": "...", "transformers": "..."}}

  All paths are relative to ``out_dir``. ``sample_order`` are indices into the
  calibration dataset oneshot built (for an already tokenized dataset: its rows), as
  produced by oneshot's sampler (``shuffle_calibration_samples=True``, the default,
  draws a random permutation; seed torch to fix it). ``uncalibrated`` lists, per
  module, the activation observers (``input``, ``output``, ``q``, ``k``, ``v``) that
  never received a tensor; their scales in oneshot's checkpoint keep their
  uninitialised values. Readers ignore fields they do not know.

The writer half of this module (``RecordingWriter``) needs only numpy and
safetensors; torch and llm-compressor are imported when ``recording()`` starts.

Command line
------------
    python calib_oneshot.py --model DIR --recipe recipe.yaml --dataset data.jsonl --out rec

``--dataset`` is a local file or directory, nothing is downloaded:

* ``*.txt``: one calibration sample per non-empty line;
* ``*.jsonl``: one JSON object per line with ``"text"`` (tokenized by oneshot) or
  ``"input_ids"`` (used as is; ``attention_mask`` optional);
* a directory written by ``datasets.Dataset.save_to_disk``.

Options: ``--num-samples`` (default 16), ``--max-seq-length`` (512), ``--batch-size``
(1), ``--pipeline`` (default: oneshot's choice), ``--no-shuffle`` (oneshot's
length-ordered sampler instead of a random permutation), ``--seed`` (0; seeds torch,
hence the sampler), ``--save DIR`` (also save the compressed checkpoint there),
``--dtype`` (``auto``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterator, Mapping

from calib_dump import write_step, write_weights

FORMAT = "calib-recording"
VERSION = 1
PRODUCER = "calib_oneshot.py"
ACTIVATION_BASES = ("input", "output", "q", "k", "v")
MANIFEST = "manifest.json"
RECIPE = "recipe.yaml"


class RecordingError(Exception):
    """A recording that cannot be written (bad directory, inconsistent data)."""


# ------------------------------------------------------------------ writer (no torch)
def _nbytes(tensor: Any) -> int:
    """Size in bytes of a numpy array or torch tensor."""
    if hasattr(tensor, "nbytes"):
        return int(tensor.nbytes)
    return int(tensor.numel() * tensor.element_size())


def prepare_directory(out_dir) -> Path:
    """Create ``out_dir`` or accept it if it exists and is empty; refuse anything else."""
    path = Path(out_dir)
    if path.exists():
        if not path.is_dir():
            raise RecordingError(f"{path}: exists and is not a directory; choose another --out")
        if any(path.iterdir()):
            raise RecordingError(
                f"{path}: directory is not empty; record into a new or empty directory "
                "(calib_oneshot never overwrites a recording)"
            )
    path.mkdir(parents=True, exist_ok=True)
    return path


class RecordingWriter:
    """Streams tensors into a recording directory and writes its manifest.

    Activations are buffered per file: a new file starts when the step, the layer
    (``set_layer``), or the layer group (``group`` argument) changes, or when the
    buffer would exceed ``max_file_bytes``. Weights are buffered into shards of at most
    ``weight_shard_bytes``. ``close()`` flushes everything and writes ``manifest.json``.
    Works on numpy arrays or torch tensors (torch is only imported by calib_dump when a
    torch tensor is written).
    """

    def __init__(self, out_dir, *, producer: str = PRODUCER, max_file_bytes: int = 256 << 20,
                 weight_shard_bytes: int = 1 << 30):
        self.dir = prepare_directory(out_dir)
        self.producer = producer
        self.max_file_bytes = int(max_file_bytes)
        self.weight_shard_bytes = int(weight_shard_bytes)
        self.module_types: dict[str, str] = {}
        self.recipe: str | None = None
        self.pipeline: str | None = None
        self.model_dtype: str | None = None
        self.sample_order: list[int] | None = None
        self.batch_size: int | None = None
        self.uncalibrated: dict[str, list[str]] = {}
        self.versions: dict[str, str] = {}
        self.repeated_keys = 0
        self.extra: dict[str, Any] = {}
        self.closed = False
        # steps: step -> list of file names in write order; keys: step -> keys written
        self._step_files: dict[int, list[str]] = {}
        self._step_keys: dict[int, set[str]] = {}
        self._seen: set[tuple[str, str]] = set()  # (module, base) that got any tensor
        self._layer: int | None = None
        self._buffer: dict[str, Any] = {}
        self._buffer_bytes = 0
        self._buffer_at: tuple[int, int | None, Any] | None = None  # (step, layer, group)
        self._parts: dict[tuple[int, int | None], int] = {}
        self._weights: dict[str, Any] = {}
        self._weights_bytes = 0
        self._weight_keys: set[str] = set()
        self._weight_files: list[str] = []

    # -- activations
    def set_layer(self, layer: int | None) -> None:
        """Start a new layer (a sequential subgraph); later tensors go to new files."""
        self.flush()
        self._layer = layer

    def add_activation(self, step: int, module: str, base: str, tensor: Any,
                       module_type: str | None = None, group: Any = None) -> bool:
        """Buffer one tensor; False (and counted) if (step, module, base) was already seen."""
        if base not in ACTIVATION_BASES:
            raise RecordingError(f"{module}: base name {base!r} is not one of {', '.join(ACTIVATION_BASES)}")
        step = int(step)
        if step < 0:
            raise RecordingError(f"{module}.{base}: negative step {step}")
        key = f"{module}.{base}"
        keys = self._step_keys.setdefault(step, set())
        if key in keys:
            self.repeated_keys += 1
            return False
        at = (step, self._layer, group)
        size = _nbytes(tensor)
        if self._buffer and (at != self._buffer_at or self._buffer_bytes + size > self.max_file_bytes):
            self.flush()
        self._buffer_at = at
        keys.add(key)
        self._seen.add((module, base))
        self._buffer[key] = tensor
        self._buffer_bytes += size
        if module_type:
            self.module_types.setdefault(module, module_type)
        return True

    def flush(self) -> None:
        """Write the buffered activations (if any) as one step file."""
        if not self._buffer:
            return
        step, layer, _ = self._buffer_at
        part = self._parts.get((step, layer), 0)
        self._parts[(step, layer)] = part + 1
        name = f"step-{step:04d}"
        if layer is not None:
            name += f"-layer-{layer:03d}" + (f"-part-{part:03d}" if part else "")
        else:
            name += f"-part-{part:03d}"
        name += ".safetensors"
        modules = {k.rsplit(".", 1)[0] for k in self._buffer}
        types = {m: self.module_types[m] for m in sorted(modules) if m in self.module_types}
        # safetensors stores keys sorted; "order" keeps the order the observers got them.
        write_step(self.dir / name, self._buffer, step, types,
                   {"order": json.dumps(list(self._buffer)), "producer": self.producer})
        self._step_files.setdefault(step, []).append(name)
        self._buffer, self._buffer_bytes = {}, 0

    # -- weights
    def add_weight(self, module: str, tensor: Any, module_type: str | None = None) -> bool:
        """Buffer ``<module>.weight``; False if that module's weight was already recorded."""
        key = f"{module}.weight"
        if key in self._weight_keys:
            return False
        size = _nbytes(tensor)
        if self._weights and self._weights_bytes + size > self.weight_shard_bytes:
            self._flush_weights()
        self._weight_keys.add(key)
        self._weights[key] = tensor
        self._weights_bytes += size
        if module_type:
            self.module_types.setdefault(module, module_type)
        return True

    def _flush_weights(self) -> None:
        if not self._weights:
            return
        name = f"weights-{len(self._weight_files):04d}.safetensors"
        types = {m: self.module_types[m] for m in sorted(k[: -len(".weight")] for k in self._weights)
                 if m in self.module_types}
        write_weights(self.dir / name, self._weights, types)
        self._weight_files.append(name)
        self._weights, self._weights_bytes = {}, 0

    # -- metadata
    def seen(self, module: str, base: str) -> bool:
        """Whether any tensor was recorded for (module, base)."""
        return (module, base) in self._seen

    def set_recipe(self, text: str) -> None:
        self.recipe = text

    def set_sample_order(self, order, batch_size: int | None) -> None:
        self.sample_order = [int(i) for i in order] if order is not None else None
        self.batch_size = int(batch_size) if batch_size is not None else None

    def manifest(self) -> dict:
        """The manifest as it would be written now (paths relative to the directory)."""
        steps = []
        for step in sorted(self._step_files):
            entry: dict[str, Any] = {"step": step, "files": list(self._step_files[step])}
            if self.sample_order is not None and self.batch_size:
                ids = self.sample_order[step * self.batch_size:(step + 1) * self.batch_size]
                if ids:
                    entry["samples"] = ids
            steps.append(entry)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "producer": self.producer,
            "pipeline": self.pipeline,
            "model_dtype": self.model_dtype,
            "recipe": RECIPE if self.recipe is not None else None,
            "weights": list(self._weight_files),
            "steps": steps,
            "module_types": dict(sorted(self.module_types.items())),
            "sample_order": self.sample_order,
            "batch_size": self.batch_size,
            "uncalibrated": {m: list(b) for m, b in sorted(self.uncalibrated.items())},
            "repeated_keys": self.repeated_keys,
            "versions": dict(self.versions),
        }
        manifest.update(self.extra)
        return manifest

    def close(self) -> dict:
        """Flush all buffers, write recipe.yaml and manifest.json; return the manifest."""
        if self.closed:
            raise RecordingError(f"{self.dir}: recording already closed")
        self.flush()
        self._flush_weights()
        if len(self._weight_files) == 1:
            # one shard: give it the conventional name
            (self.dir / self._weight_files[0]).rename(self.dir / "weights.safetensors")
            self._weight_files = ["weights.safetensors"]
        if self.recipe is not None:
            (self.dir / RECIPE).write_text(self.recipe, encoding="utf-8")
        manifest = self.manifest()
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        tmp.replace(self.dir / MANIFEST)
        self.closed = True
        return manifest


def read_manifest(out_dir) -> dict:
    """Load and sanity-check ``manifest.json`` of a recording (the checks Swift's reader makes)."""
    root = Path(out_dir)
    path = root / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise RecordingError(f"{path}: not a {FORMAT} version {VERSION} manifest")
    listed = list(manifest["weights"]) + [f for s in manifest["steps"] for f in s["files"]]
    if manifest.get("recipe"):
        listed.append(manifest["recipe"])
    for rel in listed:
        full = (root / rel).resolve()
        if Path(rel).is_absolute() or root.resolve() not in full.parents or not full.is_file():
            raise RecordingError(f"{path}: {rel!r} is not a file inside the recording")
    numbers = [s["step"] for s in manifest["steps"]]
    if len(set(numbers)) != len(numbers) or any(n < 0 for n in numbers):
        raise RecordingError(f"{path}: step numbers must be unique and non-negative")
    return manifest


# ------------------------------------------------------------------ oneshot hooks (torch)
_LAYER_NUMBER = re.compile(r"\.(\d+)(?:\.|$)")
_PIPELINES = {"SequentialPipeline": "sequential", "BasicPipeline": "basic",
              "DataFreePipeline": "datafree", "IndependentPipeline": "independent"}


def _layer_group(module: str):
    """The first number in a module name (its decoder layer), used to cut basic-pipeline files."""
    m = _LAYER_NUMBER.search(module)
    return int(m.group(1)) if m else None


class _SamplerTap:
    """Wraps oneshot's calibration sampler and keeps the indices of each pass over it."""

    def __init__(self, inner, batch_size: int, passes: list):
        self.inner, self.batch_size, self.passes = inner, batch_size, passes

    def __iter__(self):
        order: list[int] = []
        self.passes.append(order)
        for index in self.inner:
            order.append(int(index))
            yield index

    def __len__(self):
        return len(self.inner)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("inner", "batch_size", "passes"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __deepcopy__(self, memo):
        # A copied data loader must still report to the same recording.
        import copy

        return _SamplerTap(copy.deepcopy(self.inner, memo), self.batch_size, self.passes)


class _OneshotTap:
    """The patches ``recording()`` installs, and the state they share."""

    def __init__(self, writer: RecordingWriter):
        import torch  # noqa: F401  (fail early and clearly without torch)

        self.writer = writer
        self.names: dict[int, str] = {}
        self.types: dict[str, str] = {}
        self.model = None
        self.sampler_passes: list[list[int]] = []
        self.batch_size: int | None = None
        self.chosen_pass: list[int] | None = None
        self.started = False
        self.observed = False  # an observer got a tensor: the pipeline name is final
        self.recipe_seen = False
        self.warned: set[str] = set()
        self._restore: list = []

    # -- bookkeeping
    def _index_model(self) -> None:
        from llmcompressor.core import active_session

        model = active_session().state.model
        if model is None:
            return
        self.model = model
        self.names = {id(m): n for n, m in model.named_modules()}
        self.types = {n: type(m).__name__ for n, m in model.named_modules()}
        if self.writer.model_dtype is None:
            for p in model.parameters():
                if p.is_floating_point():
                    self.writer.model_dtype = str(p.dtype).replace("torch.", "")
                    break

    def _name(self, module) -> str:
        name = self.names.get(id(module))
        if name is None:
            self._index_model()
            name = self.names.get(id(module))
        if name is None:
            raise RecordingError(f"an observer was called for a {type(module).__name__} that is not "
                                 "a submodule of the session's model")
        return name

    def _warn(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            print(f"calib_oneshot: warning: {message}", file=sys.stderr)

    def _capture_recipe(self) -> None:
        from llmcompressor.core import active_session

        try:
            recipe = active_session().lifecycle.recipe
            kinds = {type(m).__name__ for m in recipe.modifiers or []}
            if not kinds:
                return
            self.writer.set_recipe(recipe.yaml())
            self.recipe_seen = True
        except Exception as error:  # the recording stays usable without it
            self._warn("recipe", f"could not serialise the session's recipe ({error})")
            return
        custom = kinds & {"GPTQModifier", "AWQModifier", "AutoRoundModifier"}
        if custom:
            self._warn("custom", f"{', '.join(sorted(custom))} run their own weight observers; "
                                 "recorded weights are the ones QuantizationModifier's path saw")

    def _scan_uncalibrated(self) -> None:
        if self.model is None:
            return
        for name, module in self.model.named_modules():
            missed = [b for b in ACTIVATION_BASES
                      if hasattr(module, f"{b}_observer") and not self.writer.seen(name, b)]
            if missed:
                self.writer.uncalibrated[name] = missed
            else:
                self.writer.uncalibrated.pop(name, None)

    # -- replacements
    def calibrate_activations(self, orig):
        def calibrate_activations(module, value, base_name):
            if value.numel():
                from llmcompressor.core import active_session

                self.observed = True
                if self.chosen_pass is None and self.sampler_passes:
                    self.chosen_pass = self.sampler_passes[-1]
                name = self._name(module)
                step = active_session().state.current_batch_idx
                if step is None or step < 0:
                    self._warn("step", "oneshot set no batch index; recording as step 0")
                    step = 0
                group = _layer_group(name) if self.writer.pipeline != "sequential" else None
                kept = self.writer.add_activation(step, name, base_name, value.detach().to("cpu", copy=True),
                                                  self.types.get(name), group=group)
                if not kept:
                    self._warn("repeat:" + name, f"{name}.{base_name} seen twice in batch {step}; "
                                                  "keeping the first")
            return orig(module, value, base_name)
        return calibrate_activations

    def call_observer(self, orig):
        def call_observer(module, base_name, value=None, *args, **kwargs):
            if base_name == "weight":
                self.observed = True
                name = self._name(module)
                if value is None:
                    from compressed_tensors.utils import align_module_device

                    # The same onload oneshot does, so offloaded weights are real tensors.
                    with align_module_device(module):
                        self.writer.add_weight(name, module.weight.detach().to("cpu", copy=True),
                                               self.types.get(name))
                else:
                    self.writer.add_weight(name, value.detach().to("cpu", copy=True), self.types.get(name))
            return orig(module, base_name, value, *args, **kwargs)
        return call_observer

    def install(self) -> None:
        import llmcompressor.datasets.utils as data_utils
        import llmcompressor.modifiers.quantization.calibration as cal
        from llmcompressor.core import LifecycleCallbacks
        from llmcompressor.pipelines.registry import CalibrationPipeline

        def patch(owner, name, value):
            self._restore.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, value)

        patch(cal, "calibrate_activations", self.calibrate_activations(cal.calibrate_activations))
        patch(cal, "call_observer", self.call_observer(cal.call_observer))

        orig_sampler = data_utils._make_sampler

        def _make_sampler(args, dataset):
            self.batch_size = int(getattr(args, "batch_size", 1) or 1)
            return _SamplerTap(orig_sampler(args, dataset), self.batch_size, self.sampler_passes)
        patch(data_utils, "_make_sampler", _make_sampler)

        orig_from = CalibrationPipeline.__dict__["from_modifiers"].__func__

        def from_modifiers(cls, modifiers, user=None):
            pipeline = orig_from(cls, modifiers, user)
            kind = _PIPELINES.get(type(pipeline).__name__, type(pipeline).__name__)
            # "independent" (oneshot's default) asks again for each modifier; keep the
            # pipeline under which the observers ran.
            if not self.observed:
                self.writer.pipeline = kind
            self.writer.set_layer(0 if kind == "sequential" else None)
            return pipeline
        patch(CalibrationPipeline, "from_modifiers", classmethod(from_modifiers))

        orig_start = LifecycleCallbacks.__dict__["calibration_epoch_start"].__func__
        orig_seq_end = LifecycleCallbacks.__dict__["sequential_epoch_end"].__func__
        orig_end = LifecycleCallbacks.__dict__["calibration_epoch_end"].__func__

        def calibration_epoch_start(cls, **kwargs):
            # Index the model before the modifiers start: weights are observed in on_start.
            self.started = True
            self._index_model()
            self._capture_recipe()
            return orig_start(cls, **kwargs)

        def sequential_epoch_end(cls, subgraph, **kwargs):
            result = orig_seq_end(cls, subgraph, **kwargs)
            layer = self.writer._layer
            self.writer.set_layer(None if layer is None else layer + 1)
            return result

        def calibration_epoch_end(cls, **kwargs):
            # Before the modifiers end calibration: that deletes the observers we look for.
            self.writer.flush()
            self._scan_uncalibrated()
            return orig_end(cls, **kwargs)

        patch(LifecycleCallbacks, "calibration_epoch_start", classmethod(calibration_epoch_start))
        patch(LifecycleCallbacks, "sequential_epoch_end", classmethod(sequential_epoch_end))
        patch(LifecycleCallbacks, "calibration_epoch_end", classmethod(calibration_epoch_end))

    def uninstall(self) -> None:
        while self._restore:
            owner, name, value = self._restore.pop()
            setattr(owner, name, value)

    def finish(self) -> None:
        # After oneshot the session's recipe holds all modifiers again ("independent"
        # narrows it to one modifier per calibration epoch).
        self._capture_recipe()
        order = self.chosen_pass
        if order is None and self.sampler_passes:
            order = self.sampler_passes[-1]
        self.writer.set_sample_order(order, self.batch_size if order is not None else None)
        self.writer.versions = _versions()


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("llmcompressor", "compressed-tensors", "torch", "transformers"):
        try:
            out[dist.replace("-", "_")] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


@contextlib.contextmanager
def cpu_dispatch() -> Iterator[None]:
    """Let oneshot's data-free and basic pipelines run on a host without CUDA.

    In llm-compressor 0.10.0 both pipelines start with compressed-tensors'
    ``dispatch_model``, which raises ``MemoryError("Did not find any devices to dispatch
    model to")`` when no accelerator exists. On such a host the model already sits on the
    CPU, so this replaces that call with a no-op for the block; no number changes. Does
    nothing when CUDA is available. (The sequential pipeline needs no help.)
    """
    import torch

    if torch.cuda.is_available():
        yield
        return
    import llmcompressor.pipelines.basic.pipeline as basic
    import llmcompressor.pipelines.data_free.pipeline as data_free

    originals = [(m, m.dispatch_model) for m in (basic, data_free)]
    for module, _ in originals:
        module.dispatch_model = lambda model, *args, **kwargs: model
    try:
        yield
    finally:
        for module, original in originals:
            module.dispatch_model = original


@contextlib.contextmanager
def recording(out_dir, **writer_options) -> Iterator[RecordingWriter]:
    """Record what oneshot's observers receive while the ``with`` block runs.

    ``out_dir`` (str or Path) must be missing or empty. On normal exit the files are
    complete and ``manifest.json`` is written; if the block raises, the files written so
    far stay but no manifest is written. ``writer_options`` go to ``RecordingWriter``
    (``max_file_bytes``, ``weight_shard_bytes``). Yields the writer (its ``manifest()``
    shows the state so far).
    """
    writer = RecordingWriter(out_dir, **writer_options)
    tap = _OneshotTap(writer)
    tap.install()
    try:
        yield writer
    except BaseException:
        tap.uninstall()
        writer.flush()
        print(f"calib_oneshot: oneshot failed; {writer.dir} is incomplete (no {MANIFEST})", file=sys.stderr)
        raise
    tap.uninstall()
    if not tap.started:
        raise RecordingError("oneshot never started calibration inside recording(); nothing was recorded")
    tap.finish()
    writer.close()


# ------------------------------------------------------------------ command line
def load_dataset(path: Path):
    """A datasets.Dataset from a .txt, .jsonl or save_to_disk directory (see module docstring)."""
    from datasets import Dataset, load_from_disk

    if path.is_dir():
        return load_from_disk(str(path))
    if path.suffix == ".txt":
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        return Dataset.from_dict({"text": [line for line in lines if line]})
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not rows:
            raise SystemExit(f"{path}: no rows")
        if all("input_ids" in r for r in rows):
            return Dataset.from_dict({
                "input_ids": [r["input_ids"] for r in rows],
                "attention_mask": [r.get("attention_mask", [1] * len(r["input_ids"])) for r in rows],
            })
        if all("text" in r for r in rows):
            return Dataset.from_dict({"text": [r["text"] for r in rows]})
        raise SystemExit(f"{path}: every line needs \"text\" or every line needs \"input_ids\"")
    raise SystemExit(f"{path}: --dataset must be a .txt or .jsonl file or a save_to_disk directory")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path, help="local Hugging Face model directory")
    p.add_argument("--recipe", required=True, type=Path, help="llm-compressor recipe (YAML)")
    p.add_argument("--dataset", required=True, type=Path, help=".txt, .jsonl or save_to_disk directory")
    p.add_argument("--out", required=True, type=Path, help="recording directory (new or empty)")
    p.add_argument("--num-samples", type=int, default=16)
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--pipeline", choices=["sequential", "basic", "datafree", "independent"],
                   help="calibration pipeline (default: oneshot's choice)")
    p.add_argument("--no-shuffle", action="store_true", help="length-ordered sampler instead of random")
    p.add_argument("--seed", type=int, default=0, help="torch seed (fixes the random sampler)")
    p.add_argument("--save", type=Path, help="also save the compressed checkpoint here")
    p.add_argument("--dtype", default="auto", help="model dtype (default: as saved)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    try:
        prepare_directory(args.out)  # fail before loading anything
    except RecordingError as error:
        print(f"calib_oneshot: error: {error}", file=sys.stderr)
        return 2

    import torch
    from llmcompressor import oneshot
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_pretrained(str(args.model), dtype=args.dtype)
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    dataset = load_dataset(args.dataset)
    kwargs = dict(model=model, processor=tokenizer, dataset=dataset, recipe=str(args.recipe),
                  num_calibration_samples=args.num_samples, max_seq_length=args.max_seq_length,
                  batch_size=args.batch_size, shuffle_calibration_samples=not args.no_shuffle)
    if args.pipeline:
        kwargs["pipeline"] = args.pipeline
    if args.save:
        kwargs.update(output_dir=str(args.save), save_compressed=True)
    with recording(args.out) as writer, cpu_dispatch():
        oneshot(**kwargs)
    m = writer.manifest()
    files = sum(len(s["files"]) for s in m["steps"])
    print(f"recorded {len(m['steps'])} steps in {files} files, {len(m['weights'])} weight files "
          f"({m['pipeline']} pipeline) into {args.out}", file=sys.stderr)
    print(f"calib record calib.sqlite --run {args.out.name} {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
