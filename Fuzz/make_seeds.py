#!/usr/bin/env python3
"""Regenerates the seed corpus in Fuzz/Corpus/ from the files in Samples/.

safetensors/: the header JSON of two sample files (the header target parses input as JSON
too), the first tensors of each sample repacked as a small complete file, and a file with
one tensor of every dtype the reader knows. recipe/: the sample recipes, as they are.
The other recipe seeds (anchors and kv_cache_scheme, a bare JSON config_groups, and the
first crash the fuzzer found) are written by hand and left in place.
"""
import json
import pathlib
import shutil
import struct

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "Fuzz" / "Corpus"


def safetensors_bytes(header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def repacked(path, count):
    """The metadata and first `count` tensors of `path`, shrunk to a few elements each."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    out = {"__metadata__": header.get("__metadata__", {})}
    data = b""
    names = [name for name in header if name != "__metadata__"][:count]
    for name in names:
        entry = header[name]
        begin = 8 + length + entry["data_offsets"][0]
        width = {"F32": 4, "BF16": 2, "F16": 2}[entry["dtype"]]
        chunk = raw[begin : begin + 4 * width]
        out[name] = {"dtype": entry["dtype"], "shape": [2, 2],
                     "data_offsets": [len(data), len(data) + len(chunk)]}
        data += chunk
    return raw[8 : 8 + length], safetensors_bytes(out, data)


def every_dtype():
    widths = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I8": 1, "U8": 1, "I32": 4,
              "I64": 8, "F8_E4M3": 1, "BOOL": 1}
    header = {"__metadata__": {"step": "0"}}
    data = b""
    for dtype, width in widths.items():
        size = 3 * width
        header[dtype.lower()] = {"dtype": dtype, "shape": [3],
                                 "data_offsets": [len(data), len(data) + size]}
        data += bytes(range(1, size + 1))
    header["empty"] = {"dtype": "F32", "shape": [0, 4], "data_offsets": [len(data), len(data)]}
    return safetensors_bytes(header, data)


def main():
    (corpus / "safetensors").mkdir(parents=True, exist_ok=True)
    (corpus / "recipe").mkdir(parents=True, exist_ok=True)
    for stem in ["step-0000", "weights"]:
        header, small = repacked(root / "Samples" / "minilm" / f"{stem}.safetensors", 3)
        (corpus / "safetensors" / f"{stem}-header.json").write_bytes(header)
        (corpus / "safetensors" / f"{stem}-small.safetensors").write_bytes(small)
    (corpus / "safetensors" / "every-dtype.safetensors").write_bytes(every_dtype())
    for recipe in sorted((root / "Samples" / "recipes").glob("*.yaml")):
        shutil.copy(recipe, corpus / "recipe" / recipe.name)


if __name__ == "__main__":
    main()
