"""Labelled LoLa/MeMe programs per second: one worker vs all workers, in the same run.

    python3 benchmarks/bench_generate.py [--preset base] [--size 100000] [--workers N]
                                         [--repeat R]

Each run is a full ``lolameme generate`` (names, every split, Parquet shards, dedupe,
manifest with checksums), timed from the call to the renamed directory. With the
compiled sampler built (see setup.py) a single-worker run with ``LOLAMEME_PURE_PYTHON=1``
is added, for the ratio of the two. Throughput counts every row written (train + test
splits). CPU time (all processes) is printed too: on a shared machine it moves less than
wall time; ``--repeat`` interleaves rounds of all runs and keeps each one's best. Peak
RSS is reported for the parent process and for the largest worker; all data sets must be
byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from lolameme.data.generate import generate
from lolameme.data.tasks.lolameme.compiled import PURE_ENV, compiled_sampler


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
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all runs, interleaved; best is shown"
    )
    args = parser.parse_args()
    overrides = {"DATASET_SIZE": args.size, "TEST_DATASET_SIZE": args.test_size}
    compiled = compiled_sampler() is not None
    runs = [("1 worker, pure Python", 1, True)] if compiled else []
    runs += [("1 worker", 1, False), (f"{args.workers} workers", args.workers, False)]
    best: dict[str, tuple[float, float]] = {}
    digests = set()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for label, workers, pure in runs:
                os.environ[PURE_ENV] = "1" if pure else ""
                out = Path(tmp) / f"{round_}-{workers}-{pure}"
                wall, cpu, rows, sha = run(args.preset, overrides, workers, out)
                shutil.rmtree(out)
                digests.add(json.dumps(sha, sort_keys=True))
                if label not in best or wall < best[label][0]:
                    best[label] = (wall, cpu)
        parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"preset {args.preset}: {rows} labelled programs per run (cpu_count {os.cpu_count()}, "
        f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}); sampler: "
        f"{'compiled' if compiled else 'pure Python (no compiled module built)'}; "
        f"best of {args.repeat}"
    )
    for label, (wall, cpu) in best.items():
        print(
            f"  {label:>22}: {wall:7.2f} s  {rows / wall:10,.0f} programs/s   "
            f"(CPU {cpu:6.2f} s = {cpu / rows * 1e6:5.1f} us per program)"
        )
    one, many = best["1 worker"][0], best[runs[-1][0]][0]
    if compiled:
        print(f"  compiled / pure Python, 1 worker: {best[runs[0][0]][0] / one:.2f}x")
    print(f"  speed-up {one / many:.2f}x; identical files in every run: {len(digests) == 1}")
    print(
        f"  peak RSS: parent {parent_rss / 1024:.0f} MiB, "
        f"largest worker {worker_rss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
