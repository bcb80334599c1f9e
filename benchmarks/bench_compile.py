"""``torch.compile`` against eager for one model's training steps on this machine.

    python3 benchmarks/bench_compile.py [--model hyena] [--steps 18]

One thread, batch 32, lengths varying 40-64 (``dynamic=True``, as length-bucketed
batches vary). Prints the first compiled step (the compile time) and the mean step
after it, for eager and compiled, measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import torch

from lolameme.models.model import build_model

VOCAB = 512
LENGTHS = (40, 48, 56, 40, 64, 48)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hyena")
    parser.add_argument("--steps", type=int, default=18)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(args.model, vocab_size=VOCAB, scale="tiny", max_seq_len=128)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step(forward: torch.nn.Module, length: int) -> None:
        x = torch.randint(0, VOCAB, (32, length))
        loss = torch.nn.functional.cross_entropy(forward(x).reshape(-1, VOCAB), x.reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    print(f"{args.model} (tiny), batch 32, lengths {LENGTHS}, 1 thread:")
    for label, forward in (("eager", model), ("compiled", torch.compile(model, dynamic=True))):
        start = time.perf_counter()
        step(forward, LENGTHS[0])
        first = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(args.steps):
            step(forward, LENGTHS[i % len(LENGTHS)])
        per_step = (time.perf_counter() - start) / args.steps
        print(f"  {label:>8}: first step {first:6.1f} s, then {per_step * 1000:5.0f} ms/step")


if __name__ == "__main__":
    main()
