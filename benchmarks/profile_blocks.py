"""Where a Hyena block's time goes at long lengths, next to an attention block's.

``bench_models.py`` (part 3) times a Hyena block against an attention block (pre-norm
mixer + MLP 4x, same width, batch 1, forward + backward). This script explains that
ratio: it runs both blocks under ``torch.profiler`` and sums the operators' own CPU time
by kind (matrix products, SDPA, FFTs, everything else), then prints the ratio and the
floor that the matrix products alone set. Both sides are measured in the same run.

    python3 benchmarks/profile_blocks.py --length 8192 --steps 3
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import block_step, make_block  # noqa: E402

KINDS = {
    "matmul": ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"),
    "sdpa": ("aten::_scaled_dot_product",),
    "fft": ("aten::_fft_",),
}


def kind(name: str) -> str:
    for label, prefixes in KINDS.items():
        if name.startswith(prefixes):
            return label
    return "other"


def profile(mixer: str, width: int, length: int, steps: int) -> dict[str, float]:
    """Self CPU seconds per step, by kind, of ``steps`` forward + backward steps."""
    step = block_step(make_block(mixer, width, length), torch.randn(1, length, width))
    step()  # warm-up: allocations, filter caches, thread pools
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    totals: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        totals[kind(event.key)] += event.self_cpu_time_total / 1e6 / steps
    totals["total"] = sum(totals.values())
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=8192)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = {m: profile(m, args.width, args.length, args.steps) for m in ("attention", "hyena")}
    kinds = ["matmul", "sdpa", "fft", "other", "total"]
    print(f"self CPU s per fwd+bwd step, width {args.width}, L = {args.length}, batch 1")
    print(f"{'block':<10}" + "".join(f"{k:>9}" for k in kinds))
    for mixer, row in rows.items():
        print(f"{mixer:<10}" + "".join(f"{row.get(k, 0.0):9.3f}" for k in kinds))
    att, hy = rows["attention"], rows["hyena"]
    print(f"hyena / attention: {hy['total'] / att['total']:.3f}")
    print(
        "floor, hyena's matrix products alone / attention: "
        f"{hy.get('matmul', 0.0) / att['total']:.3f}"
    )


if __name__ == "__main__":
    main()
