"""Writes cases.json: torch's CPU `sum` of reproducible term sequences, for TorchSumTests.

Run in the reference env (torch as llm-compressor 0.10 pins it):
    ~/.calib-reference/bin/python Tests/Fixtures/torch-sum/generate.py

Each case names a dtype, a length n and a seed; the terms are a pure function of
(dtype, seed, i) that the Swift test recomputes (see `term` below), all exactly
representable in the dtype. torch runs with one thread for `cases`, so every sum is one
reduction in one call, the order `TorchSum` emulates; `threaded` holds single-output sums
with 2 to 4 torch threads, the split `TorchThreads` emulates. The result is stored as the bits
of torch's result: float32 bits for float32, 16-bit patterns for bf16 and f16.
"""
import json
import platform

import torch

MASK = 0xFFFFFFFF


def mix(seed: int, i: int) -> int:
    h = ((i + 1) * 0x9E3779B1 + seed * 0x85EBCA77) & MASK
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & MASK
    h ^= h >> 12
    h = (h * 0x297A2D39) & MASK
    h ^= h >> 15
    return h


def term(dtype: str, seed: int, i: int) -> float:
    h = mix(seed, i)
    e = h & 7
    if dtype == "float32":
        return ((h >> 8) | 0x800000) * 2.0 ** (-24 - 2 * e)
    if dtype == "bfloat16":
        return ((h >> 25) | 0x80) * 2.0 ** (-8 - 2 * e)
    return ((h >> 22) | 0x400) * 2.0 ** (-11 - e)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 72, 100, 127, 128,
           129, 192, 255, 256, 257, 1000, 1024, 4096, 4100, 11008, 14336]
LONG = [65536 + 24, 131072, 300_001, 600_000]


def terms(name: str, n: int, seed: int) -> torch.Tensor:
    return torch.tensor([term(name, seed, i) for i in range(n)], dtype=torch.float64)


def order_sensitive_seeds(name: str, n: int, wanted: int = 3, tries: int = 3000) -> list:
    """Seeds whose torch sum differs from the exact sum rounded once to the dtype.

    Rounded to bf16 or f16, sums in different float32 orders nearly always agree; these
    cases are the ones where they do not, so only the right order passes them.
    """
    dtype = DTYPES[name]
    found = []
    for seed in range(100, 100 + tries):
        t = terms(name, n, seed)
        if torch.sum(t.to(dtype).view(1, n), dim=-1)[0] != t.to(dtype).double().sum().to(dtype):
            found.append(seed)
            if len(found) == wanted:
                break
    return found


def toward_zero(name: str, r: float) -> torch.Tensor:
    """`r` rounded toward zero into the dtype (r ≥ 0)."""
    p = torch.tensor(r, dtype=torch.float64).to(DTYPES[name])
    if p.double().item() > r:
        p = (p.view(torch.int16) - 1).view(DTYPES[name])
    return p


def split_into(name: str, r: float, pieces: int) -> list:
    """`r` (exact in float64, ≥ 0) as `pieces` numbers exact in the dtype."""
    out = []
    for _ in range(pieces):
        out.append(toward_zero(name, r).double().item())
        r -= out[-1]
    assert r == 0, "residual does not fit"
    return out


def tie_terms(name: str, n: int, seed: int) -> list:
    """Terms whose exact sum is a tie between two neighbours in the dtype.

    Summed exactly, the tie goes to even; every float32 rounding on the way moves the sum
    off the tie, so the dtype result shows which way that order's error went.
    """
    dtype = DTYPES[name]
    # Magnitudes spread over 2^-36…1 (bf16) or 2^-9…1 (f16, whose exponent range is
    # short), so float32 partial sums lose low bits.
    base = []
    for i in range(n - 8):
        h = mix(seed + 1000, i)
        mantissa = (h >> 25) | 0x80 if name == "bfloat16" else (h >> 22) | 0x400
        bits = 8 if name == "bfloat16" else 11
        shift = 4 * (h & 7) if name == "bfloat16" else 2 * ((h & 7) % 5)
        base.append(mantissa * 2.0 ** (-bits - shift))
    total = sum(base)  # exact: 30 significant bits at most
    s = toward_zero(name, total)
    up = (s.view(torch.int16) + 1).view(dtype)
    tie = (s.double().item() + up.double().item()) / 2
    rest = split_into(name, tie - total, 8)
    return base + rest


def main() -> None:
    torch.set_num_threads(1)
    cases = []
    for name, dtype in DTYPES.items():
        for n in LENGTHS:
            for seed in range(1, 9 if n <= 256 else 4):
                cases.append((name, dtype, n, seed))
        for n in LONG:
            cases.append((name, dtype, n, 1))
        if dtype != torch.float32:
            for n in [17, 33, 64, 72, 100, 192, 257, 1000, 4100]:
                cases += [(name, dtype, n, seed) for seed in order_sensitive_seeds(name, n)]
    out = []
    for name, dtype in DTYPES.items():
        if dtype == torch.float32:
            continue
        for n in [20, 33, 64, 72, 100, 192, 257, 1000]:
            for seed in range(1, 4):
                x = torch.tensor(tie_terms(name, n, seed), dtype=torch.float64).to(dtype)
                s = torch.sum(x.view(1, n), dim=-1)[0]
                out.append([name, n, seed, s.view(torch.int16).item() & 0xFFFF,
                            [b & 0xFFFF for b in x.view(torch.int16).tolist()]])
    for name, dtype, n, seed in cases:
        t = terms(name, n, seed).to(dtype)
        s = torch.sum(t.view(1, n), dim=-1)[0]
        bits = s.view(torch.int32 if dtype == torch.float32 else torch.int16).item()
        out.append([name, n, seed, bits & (MASK if dtype == torch.float32 else 0xFFFF)])
    # A single output over T threads: torch's two-pass split (TorchThreads).
    threaded = []
    for name, dtype in DTYPES.items():
        for threads in (2, 3, 4):
            torch.set_num_threads(threads)
            for n in (32767, 32768, 40000, 100_003, 300_001):
                t = terms(name, n, 7).to(dtype)
                s = torch.sum(t.view(1, n), dim=-1)[0]
                bits = s.view(torch.int32 if dtype == torch.float32 else torch.int16).item()
                threaded.append([name, n, 7, threads, bits & (MASK if dtype == torch.float32 else 0xFFFF)])
    torch.set_num_threads(1)
    doc = {
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "machine": platform.machine(),
        "cases": out,
    }
    # One case per line: [dtype, n, seed, bits], or [dtype, n, seed, bits, term bits]
    # where the terms are given rather than made by `term`.
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"})[:-1]
    lines = ",\n".join(json.dumps(c) for c in out)
    with open(__file__.replace("generate.py", "cases.json"), "w") as f:
        f.write(head + ', "threaded": [\n' + ",\n".join(json.dumps(c) for c in threaded) + "\n]")
        f.write(', "cases": [\n' + lines + "\n]}\n")


if __name__ == "__main__":
    main()
