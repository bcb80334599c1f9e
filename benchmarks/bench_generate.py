"""Labelled LoLa/MeMe programs per second: one worker vs all workers, in the same run.

    python3 benchmarks/bench_generate.py [--preset base] [--size 100000] [--workers N]

Each run is a full ``lolameme generate`` (names, every split, Parquet shards, dedupe,
manifest with checksums), timed from the call to the renamed directory. Throughput
counts every row written (train + test splits). CPU time (all processes) is printed too:
on a shared machine it moves less than wall time. Peak RSS is reported for the parent
process and for the largest worker; the two data sets must be byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from lolameme.data.generate import generate


def cpu_seconds() -> float:
    """User + system time of this process and its finished workers."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(preset: str, overrides: dict, workers: int, out: Path) -> tuple[float, float, int, dict]:
    """Wall seconds, CPU seconds (all processes), rows written, sha256 of every file."""
    cpu, start = cpu_seconds(), time.perf_counter()
    generate("lolameme", preset, overrides, out, workers=workers)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    manifest = json.loads((out / "manifest.json").read_text())
    rows = sum(split["rows"] for split in manifest["splits"].values())
    return seconds, cpu, rows, manifest["sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--size", type=int, default=100_000, help="DATASET_SIZE")
    parser.add_argument("--test-size", type=int, default=10_000, help="TEST_DATASET_SIZE")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    overrides = {"DATASET_SIZE": args.size, "TEST_DATASET_SIZE": args.test_size}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        one_s, one_cpu, rows, one_sha = run(args.preset, overrides, 1, Path(tmp) / "one")
        parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        all_s, all_cpu, _, all_sha = run(args.preset, overrides, args.workers, Path(tmp) / "all")
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    parent_rss = max(parent_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(
        f"preset {args.preset}: {rows} labelled programs per run (cpu_count {os.cpu_count()}, "
        f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f})"
    )
    for label, wall, cpu in (
        ("1 worker ", one_s, one_cpu),
        (f"{args.workers} workers", all_s, all_cpu),
    ):
        print(
            f"  {label}: {wall:7.2f} s  {rows / wall:10,.0f} programs/s   "
            f"(CPU {cpu:6.2f} s = {cpu / rows * 1e6:5.1f} us per program)"
        )
    print(f"  speed-up {one_s / all_s:.2f}x; identical files: {one_sha == all_sha}")
    print(
        f"  peak RSS: parent {parent_rss / 1024:.0f} MiB, "
        f"largest worker {worker_rss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
