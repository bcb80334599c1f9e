"""torch CPU threads for ``lolameme eval``: 1, 2, torch's default and lolameme's default.

The issue behind :mod:`lolameme._threads`: on a 2-core machine with other jobs running,
``lolameme eval RUN --limit 50`` took 42 s with torch's default threads (one per core)
and 4.1 s with ``--threads 1``. This benchmark measures the candidates in one run, on
the same run directory, each in a fresh process (as a user runs the CLI), interleaved
so that a change of the machine's load hits every candidate alike:

- ``1`` and ``2`` threads (``2`` only where it is not also torch's default);
- torch's own default, one thread per usable core (``--threads`` = that count);
- ``lolameme``: no ``--threads``, so the default of :func:`default_threads` decides.

With ``--concurrent 2`` each measurement runs two evaluations at once (the case of
``experiment run --workers 2``), and the wall time is that of the slower one.

It prints the machine (usable cores, load average before and after), the median wall
seconds per candidate and each candidate's time as a multiple of the 1-thread time.

    python3 benchmarks/bench_threads.py [--limit 50] [--repeats 3] [--concurrent 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lolameme._threads import default_threads, usable_cores
from lolameme.data.generate import generate
from lolameme.training import TrainConfig, train


def make_run(root: Path, steps: int) -> Path:
    """A tiny GPT-2 trained for a few steps on the ``tiny`` preset (single-threaded, so the
    set-up does not depend on the candidates)."""
    data = generate("lolameme", "tiny", {}, root / "data", seed=0, workers=1)
    config = TrainConfig(
        data=data,
        model="gpt2",
        scale="tiny",
        out=root / "run",
        steps=steps,
        eval_every=0,
        eval_samples=0,
        threads=1,
    )
    return train(config, progress=False)


def eval_seconds(run: Path, limit: int, threads: int | None, concurrent: int) -> float:
    """Wall seconds of ``concurrent`` simultaneous ``lolameme eval RUN --limit N`` runs."""
    command = [sys.executable, "-m", "lolameme", "eval", str(run), "--limit", str(limit), "-q"]
    if threads is not None:
        command += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # let torch see every core
        env.pop(var, None)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(concurrent)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"eval failed: {err.decode().strip()}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=50, help="items per test split")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=1, help="evaluations at once")
    parser.add_argument("--train-steps", type=int, default=10)
    args = parser.parse_args()

    cores = usable_cores()
    candidates: dict[str, int | None] = {"1": 1}
    if cores != 2:
        candidates["2"] = 2
    candidates[f"{cores} (torch's default)"] = cores
    candidates["lolameme's default"] = None
    say(f"usable cores {cores}; load average {os.getloadavg()[0]:.2f} at start")
    say(f"lolameme's default now: {default_threads(args.concurrent)} thread(s) per process")
    with tempfile.TemporaryDirectory() as tmp:
        run = make_run(Path(tmp), args.train_steps)
        eval_seconds(run, 4, 1, 1)  # warm the file cache and the tokenizer load
        times: dict[str, list[float]] = {name: [] for name in candidates}
        for repeat in range(args.repeats):
            for name, threads in candidates.items():
                times[name].append(eval_seconds(run, args.limit, threads, args.concurrent))
                say(f"  repeat {repeat}: {name}: {times[name][-1]:.1f} s")
    base = statistics.median(times["1"])
    say(f"\neval --limit {args.limit}, {args.concurrent} at once, median of {args.repeats}:")
    width = max(len("threads"), *map(len, times))
    say(f"{'threads':<{width}} {'wall s':>8} {'x 1 thread':>11}   all runs")
    for name, values in times.items():
        median = statistics.median(values)
        runs = " ".join(f"{v:.1f}" for v in values)
        say(f"{name:<{width}} {median:>8.2f} {median / base:>11.2f}   {runs}")
    say(f"load average {os.getloadavg()[0]:.2f} at the end")


def say(line: str) -> None:
    """Print at once: a long run killed by a time limit keeps what it measured."""
    print(line, flush=True)


if __name__ == "__main__":
    main()
