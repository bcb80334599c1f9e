"""Labelled LoLa/MeMe programs per second: one worker vs all workers, in the same run.

    python3 benchmarks/bench_generate.py [--preset base] [--size 100000] [--workers N]

Each run is a full ``lolameme generate`` (names, every split, Parquet shards, dedupe,
manifest with checksums), timed from the call to the renamed directory. Throughput
counts every row written (train + test splits). Peak RSS is reported for the parent
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


def run(preset: str, overrides: dict, workers: int, out: Path) -> tuple[float, int, dict]:
    start = time.perf_counter()
    generate("lolameme", preset, overrides, out, workers=workers)
    seconds = time.perf_counter() - start
    manifest = json.loads((out / "manifest.json").read_text())
    rows = sum(split["rows"] for split in manifest["splits"].values())
    return seconds, rows, manifest["sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--size", type=int, default=100_000, help="DATASET_SIZE")
    parser.add_argument("--test-size", type=int, default=10_000, help="TEST_DATASET_SIZE")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    overrides = {"DATASET_SIZE": args.size, "TEST_DATASET_SIZE": args.test_size}
    with tempfile.TemporaryDirectory() as tmp:
        one_s, rows, one_sha = run(args.preset, overrides, 1, Path(tmp) / "one")
        parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        all_s, _, all_sha = run(args.preset, overrides, args.workers, Path(tmp) / "all")
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    parent_rss = max(parent_rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(f"preset {args.preset}: {rows} labelled programs per run (cpu_count {os.cpu_count()})")
    print(f"  1 worker : {one_s:7.2f} s  {rows / one_s:10,.0f} programs/s")
    print(f"  {args.workers} workers: {all_s:7.2f} s  {rows / all_s:10,.0f} programs/s")
    print(f"  speed-up {one_s / all_s:.2f}x; identical files: {one_sha == all_sha}")
    print(
        f"  peak RSS: parent {parent_rss / 1024:.0f} MiB, "
        f"largest worker {worker_rss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
