"""The two scans of ``lolameme.models.scan`` on CPU, and Mamba with each, in one run.

``linear_scan`` runs the recurrence ``h_t = a_t h_{t-1} + b_t`` as a loop of in-place
multiply-adds on CPU and as a parallel (Hillis-Steele, chunked) scan elsewhere. This
script times both on the CPU, forward + backward, taking turns round by round:

1. the scan alone on Mamba's state shapes (B, L, 2D, d_state): the MQAR tiny cell's
   (32, 64, 128, 16), a longer batch (8, 512, 128, 16) and one long row (1, 8192, 256, 16);
2. a whole 2-layer ``mamba@64*2`` model step (batch 32 x 64, vocab 64: the MQAR tiny
   grid's cell) with each scan.

Both sides are checked equal (values and gradients) before timing. CPU seconds of this
thread (``time.thread_time``), median and best of ``--rounds``; the ratio is
parallel / sequential.

    python3 benchmarks/bench_scan.py [--rounds 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import lolameme.models.mixers.mamba as mamba_module  # noqa: E402
from lolameme.models import build_model  # noqa: E402
from lolameme.models.scan import linear_scan  # noqa: E402

SHAPES = [(32, 64, 128, 16), (8, 512, 128, 16), (1, 8192, 256, 16)]


def scan_step(a: torch.Tensor, b: torch.Tensor, sequential: bool) -> Callable[[], list]:
    def step() -> list[torch.Tensor]:
        a_, b_ = a.detach().requires_grad_(), b.detach().requires_grad_()
        h = linear_scan(a_, b_, sequential=sequential)
        (h * h).sum().backward()
        return [h.detach(), a_.grad, b_.grad]

    return step


def model_step(sequential: bool, seed: int = 0) -> Callable[[], list]:
    torch.manual_seed(seed)
    model = build_model("mamba@64*2", scale="tiny", vocab_size=64, max_seq_len=64)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 64, (32, 64), generator=gen)
    scan = functools.partial(linear_scan, sequential=sequential)

    def step() -> list[torch.Tensor]:
        mamba_module.linear_scan = scan  # the module-level name Mamba calls
        try:
            model.zero_grad(set_to_none=True)
            logits = model(ids)
            loss = F.cross_entropy(logits.flatten(0, 1), ids.roll(-1, 1).flatten())
            loss.backward()
        finally:
            mamba_module.linear_scan = linear_scan
        return [loss.detach()] + [p.grad.clone() for p in model.parameters()]

    return step


def check_equal(x: list[torch.Tensor], y: list[torch.Tensor], what: str) -> None:
    for i, (p, q) in enumerate(zip(x, y, strict=True)):
        scale = max(1.0, float(q.abs().max()))
        if not torch.allclose(p, q, atol=1e-4 * scale, rtol=1e-4):
            raise SystemExit(f"{what}: tensor {i} differs by {float((p - q).abs().max()):.2e}")


def timed(steps: dict[str, Callable[[], list]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):  # taking turns: load changes hit both sides alike
        for name, step in steps.items():
            start = time.thread_time()
            step()
            times[name].append(time.thread_time() - start)
    return times


def report(label: str, times: dict[str, list[float]]) -> None:
    par, seq = times["parallel"], times["sequential"]
    print(
        f"{label:<28} parallel {statistics.median(par) * 1e3:9.1f} / {min(par) * 1e3:9.1f} ms"
        f"   sequential {statistics.median(seq) * 1e3:8.1f} / {min(seq) * 1e3:8.1f} ms"
        f"   ratio {statistics.median(par) / statistics.median(seq):5.2f}x",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), load average "
        f"{os.getloadavg()[0]:.1f}; CPU ms fwd + bwd, median / best of {args.rounds}",
        flush=True,
    )
    gen = torch.Generator().manual_seed(0)
    for shape in SHAPES:
        a = torch.rand(shape, generator=gen) * 0.5 + 0.5
        b = torch.randn(shape, generator=gen)
        steps = {name: scan_step(a, b, name == "sequential") for name in ("parallel", "sequential")}
        check_equal(steps["parallel"](), steps["sequential"](), f"scan {shape}")
        report(f"scan {tuple(shape)}", timed(steps, args.rounds))
    steps = {name: model_step(name == "sequential") for name in ("parallel", "sequential")}
    check_equal(steps["parallel"](), steps["sequential"](), "mamba@64*2")
    report("mamba@64*2 step, 32 x 64", timed(steps, args.rounds))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
