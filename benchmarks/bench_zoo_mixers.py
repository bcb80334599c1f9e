"""Zoology's and post-Zoology mixers on CPU: training cost against attention, decoding cost.

Part 1, forward + backward: one mixer layer (batch 1, ``--width`` channels) on
random input of length L, timed against causal self-attention of the same width in
the same run. The mixers take turns within each of ``--repeat`` rounds and the best
round of each is kept, so a burst of outside load hits all alike. A mixer whose best
time passes ``--budget`` seconds is skipped at longer lengths (reported as such).

Part 2, decoding: after a prompt of L tokens (prefill), the time per generated token
of ``step``. RWKV, H3, Mamba, DeltaNet and Based carry a fixed-size state (sliding-window
attention a bounded one), so their time per token should not grow with L; attention's
KV cache grows, for contrast.

    python3 benchmarks/bench_zoo_mixers.py [--width 64] [--repeat 3] [--threads 1]
        [--mixers mamba delta_net based sliding_window] [--decode rwkv h3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from lolameme.models import MIXERS
from lolameme.models.mixers import Mixer

VOCAB = 64  # token ids for the sparse attention's pattern
KWARGS: dict[str, dict[str, Any]] = {
    "attention": {"num_heads": 4},
    "h3": {},
    "rwkv": {},
    "sparse_attention": {},
    "hyena": {"filter_emb_dim": 9, "filter_order": 32},
    "mamba": {},
    "delta_net": {},
    "based": {},
    "sliding_window": {},
}
TRAIN_CASES = ["h3", "rwkv", "sparse_attention", "hyena", "mamba", "delta_net", "based"]
TRAIN_CASES += ["sliding_window"]
# fixed-size states, then a growing KV cache
DECODE_CASES = ["rwkv", "h3", "mamba", "delta_net", "based", "sliding_window"]


def build(name: str, width: int, length: int) -> Mixer:
    torch.manual_seed(0)
    return MIXERS[name](width, 0, 1, l_max=length, **KWARGS[name])


def ids_args(mixer: Mixer, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return (ids,) if mixer.needs_token_ids else ()


def train_step(mixer: Mixer, u: torch.Tensor, ids: torch.Tensor) -> Callable[[], None]:
    """One forward + backward pass, as a closure to time."""

    def run() -> None:
        mixer.zero_grad(set_to_none=True)
        x = u.detach().requires_grad_()
        mixer(x, *ids_args(mixer, ids)).square().mean().backward()

    return run


def decode_steps(mixer: Mixer, state: Any, new: torch.Tensor) -> Callable[[], None]:
    """Generate ``len(new)`` positions after the prefilled ``state``, as a closure to time."""

    def run() -> None:
        with torch.inference_mode():
            s = state
            for u_t in new:
                _, s = mixer.step(u_t, s)

    return run


def best_times(runs: dict[str, Callable[[], None]], repeat: int) -> dict[str, float]:
    """Interleaved rounds: every closure once per round; the best round of each."""
    for run in runs.values():  # warm-up: allocations, one-time kernel setup
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def bench_training(
    width: int, lengths: list[int], repeat: int, budget: float, mixers: list[str]
) -> None:
    print(f"\n## forward + backward, batch 1, width {width} (seconds; ratio = mixer / attention)\n")
    names = ["attention", *mixers]  # attention: the baseline of every ratio
    print("| L | " + " | ".join(names) + " | " + " | ".join(f"{n}/att" for n in names[1:]) + " |")
    print("|---" * (2 * len(names)) + "|")
    skipped: set[str] = set()
    gen = torch.Generator().manual_seed(0)
    for length in lengths:
        u = torch.randn(1, length, width, generator=gen)
        ids = torch.randint(0, VOCAB, (1, length), generator=gen)
        active = [n for n in names if n not in skipped]
        runs = {n: train_step(build(n, width, length), u, ids) for n in active}
        times = best_times(runs, repeat)
        cells = [f"{times[n]:.4f}" if n in times else "skipped" for n in names]
        base = times.get("attention")
        ratios = [f"{times[n] / base:.2f}" if n in times and base else "-" for n in names[1:]]
        print(f"| {length} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |", flush=True)
        skipped |= {n for n, t in times.items() if t > budget}


def bench_decoding(
    width: int, histories: list[int], tokens: int, repeat: int, mixers: list[str]
) -> None:
    print(f"\n## decoding: microseconds per token after L tokens, batch 1, width {width}\n")
    names = [*mixers, "attention"]
    print("| L | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    gen = torch.Generator().manual_seed(1)
    for length in histories:
        prompt = torch.randn(1, length, width, generator=gen)
        new = torch.randn(tokens, 1, width, generator=gen)
        runs = {}
        for name in names:
            mixer = build(name, width, length + tokens).eval()
            with torch.inference_mode():
                _, state = mixer.prefill(prompt)
            runs[name] = decode_steps(mixer, state, new)
        times = best_times(runs, repeat)
        cells = [f"{1e6 * times[n] / tokens:.0f}" for n in names]
        print(f"| {length} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--histories", type=int, nargs="+", default=[256, 1024, 4096, 16384])
    parser.add_argument("--tokens", type=int, default=256, help="decoded tokens per timing")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds before skipping")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mixers", nargs="+", default=TRAIN_CASES, choices=TRAIN_CASES)
    parser.add_argument("--decode", nargs="*", default=DECODE_CASES, choices=DECODE_CASES)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), best of {args.repeat} rounds, "
        f"load average {load:.1f}"
    )
    bench_training(args.width, args.lengths, args.repeat, args.budget, args.mixers)
    if args.decode:
        bench_decoding(args.width, args.histories, args.tokens, args.repeat, args.decode)


if __name__ == "__main__":
    main()
