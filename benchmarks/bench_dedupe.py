"""Peak memory and time of finding cross-shard duplicates among N program hashes.

    python3 benchmarks/bench_dedupe.py [--items 40000000] [--repeats 300]

Each method runs in its own process (peak RSS is per process): the generator's
``later_copies`` (one sorted copy, chunked lookups) against the argsort it replaced,
measured in the same run, on the same synthetic hashes with ``--repeats`` duplicates.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time


def measure(method: str, items: int, repeats: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=items, dtype=np.uint64)
    hashes[rng.integers(0, items, repeats)] = hashes[rng.integers(0, items, repeats)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if method == "argsort":
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        later = np.sort(order[np.nonzero(ordered[1:] == ordered[:-1])[0] + 1])
    else:
        from lolameme.data.tasks.lolameme.generator import later_copies

        later, _ = later_copies(hashes)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"  {method:>12}: peak {peak / 1024:6.0f} MiB (hashes alone {before / 1024:.0f} MiB), "
        f"{seconds:5.2f} s, {later.size} later copies"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40_000_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--method", choices=["argsort", "later_copies"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        measure(args.method, args.items, args.repeats)
        return
    print(f"{args.items:,} hashes, {args.repeats} duplicates planted:")
    for method in ("argsort", "later_copies"):
        argv = [sys.argv[0], "--items", str(args.items), "--repeats", str(args.repeats)]
        subprocess.run([sys.executable, *argv, "--method", method], check=True)


if __name__ == "__main__":
    main()
