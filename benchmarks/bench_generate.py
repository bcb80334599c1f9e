"""Labelled LoLa/MeMe programs per second: one worker vs all workers, in the same run.

    python3 benchmarks/bench_generate.py [--preset base] [--size 100000] [--workers N]
                                         [--repeat R]
    python3 benchmarks/bench_generate.py --fixed-cost [--sizes 40000 400000] [--workers 2]
                                         [--repeat R] [--baseline-src OTHER_CHECKOUT/src]

Each run is a full ``lolameme generate`` (names, every split, Parquet shards, dedupe,
manifest with checksums), timed from the call to the renamed directory. With the
compiled sampler built (see setup.py) a single-worker run with ``LOLAMEME_PURE_PYTHON=1``
is added, for the ratio of the two. Throughput counts every row written (train + test
splits). CPU time (all processes) is printed too: on a shared machine it moves less than
wall time; ``--repeat`` interleaves rounds of all runs and keeps each one's best. Peak
RSS is reported for the parent process and for the largest worker; all data sets must be
byte-identical.

``--fixed-cost`` times the command line itself (``python3 -m lolameme generate`` in a
fresh process, so interpreter start-up, imports, pool start-up, manifest and data card
all count) at two sizes, in turns, and prints time(small) / time(large) and the fixed
cost: the intercept of the line through the two (wall seconds at zero rows, from total
rows written). With ``--baseline-src`` the same runs of another checkout's ``src`` take
turns with this one's (old vs new in one run), and the manifests' sha256 must match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
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


def cli_run(
    src: Path, preset: str, size: int, workers: int, out: Path
) -> tuple[float, float, int, str]:
    """Wall and CPU seconds (with its workers) of one ``python3 -m lolameme generate`` with
    ``src`` on the path, rows written, and the manifest's sha256 (of its own bytes: every
    file's checksum is in it)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "lolameme", "generate", "--preset", preset, "--out", str(out)]
    command += ["--set", f"DATASET_SIZE={size}", "--workers", str(workers)]
    cpu, start = cpu_seconds(), time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    manifest = (out / "manifest.json").read_bytes()
    rows = sum(split["rows"] for split in json.loads(manifest)["splits"].values())
    return seconds, cpu, rows, hashlib.sha256(manifest).hexdigest()


def fixed_cost(args: argparse.Namespace) -> None:
    """Time the CLI at two sizes (and two checkouts), in turns; print ratio and intercept."""
    trees = {"this checkout": Path(__file__).resolve().parents[1] / "src"}
    if args.baseline_src:
        trees = {"baseline": Path(args.baseline_src).resolve(), **trees}
    best: dict[tuple[str, int], float] = {}
    best_cpu: dict[tuple[str, int], float] = {}
    rows: dict[int, int] = {}
    digests: dict[int, set[str]] = {size: set() for size in args.sizes}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            for size in args.sizes:
                for label, src in trees.items():
                    out = Path(tmp) / f"{round_}-{size}-{len(label)}"
                    wall, cpu, rows[size], sha = cli_run(src, args.preset, size, args.workers, out)
                    shutil.rmtree(out)
                    digests[size].add(sha)
                    best[label, size] = min(wall, best.get((label, size), float("inf")))
                    best_cpu[label, size] = min(cpu, best_cpu.get((label, size), float("inf")))
    small, large = args.sizes
    print(
        f"preset {args.preset}, `lolameme generate --workers {args.workers}` in a fresh process, "
        f"best of {args.repeat} (load average before {load[0]:.1f}, after "
        f"{os.getloadavg()[0]:.1f}, cpu_count {os.cpu_count()})"
    )
    for label in trees:
        t_small, t_large = best[label, small], best[label, large]
        per_row = (t_large - t_small) / (rows[large] - rows[small])
        print(
            f"  {label:>14}: DATASET_SIZE={small}: {t_small:6.2f} s, {large}: {t_large:6.2f} s "
            f"({rows[large] / t_large:,.0f} rows/s); ratio {t_small / t_large:.3f} "
            f"(target <= 0.2); fixed cost {t_small - rows[small] * per_row:.2f} s; "
            f"CPU s {best_cpu[label, small]:.2f} / {best_cpu[label, large]:.2f}"
        )
    same = all(len(d) == 1 for d in digests.values())
    print(f"  identical manifests across checkouts and rounds: {same}")
    if not same:
        raise SystemExit("manifests differ: benchmark invalid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--size", type=int, default=100_000, help="DATASET_SIZE")
    parser.add_argument("--test-size", type=int, default=10_000, help="TEST_DATASET_SIZE")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all runs, interleaved; best is shown"
    )
    parser.add_argument("--fixed-cost", action="store_true", help="time the CLI at two sizes")
    parser.add_argument("--sizes", type=int, nargs=2, default=[40_000, 400_000])
    parser.add_argument("--baseline-src", help="another checkout's src, run in turns with this one")
    args = parser.parse_args()
    if args.fixed_cost:
        fixed_cost(args)
        return
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
