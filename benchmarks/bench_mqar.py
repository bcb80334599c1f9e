"""MQAR generation in memory: our generator against Zoology's, same rows, same run.

Zoology's ``multiquery_ar`` (``zoology/data/multiquery_ar.py``) is imported from a
checkout named on the command line, never from this repository::

    git --git-dir=ZOOLOGY.git archive HEAD zoology | tar -x -C /tmp/zoo
    python3 benchmarks/bench_mqar.py --zoology-src /tmp/zoo [--rows 10000] [--repeat 3]
                                     [--baseline-src OTHER_CHECKOUT/src]

At vocab 8192 and power_a 0.01 (Zoology's defaults) and L / kv pairs = 64/4, 256/16,
512/64, 1024/128, each side makes ``--rows`` rows: Zoology's in one call (its
``num_examples``, random filler, torch tensors out), ours as ``lolameme generate`` does,
``generate_arrays`` per shard of 10,000 rows. ``--baseline-src`` adds another
checkout's ``generate_arrays``: old vs new, and whether their arrays are equal (by
design up to 16 pairs only). The sides take turns in every round; rows/s from the
median process CPU time (single-threaded sides; less moved by other processes than
wall time), and the ratio of median wall times. Zoology gets no more calls in a
setting, and the line says so, once one of its calls took over ``--zoology-limit`` s.

Missing third-party modules that Zoology's package imports (e.g. ``wandb``) are replaced
by empty stand-ins before import; the run prints which.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lolameme.data.tasks import mqar

VOCAB = 8192
SETTINGS = [(64, 4), (256, 16), (512, 64), (1024, 128)]  # (seq_len, num_kv_pairs)


def import_zoology(src: Path) -> tuple[Callable[..., Any], list[str]]:
    """Zoology's ``multiquery_ar`` from ``src`` (holding ``zoology/``), and the stubbed names."""
    if not (src / "zoology" / "data" / "multiquery_ar.py").is_file():
        raise SystemExit(f"error: {src}/zoology/data/multiquery_ar.py not found (--zoology-src)")
    sys.path.insert(0, str(src.resolve()))
    stubbed: list[str] = []
    while True:
        try:
            module = importlib.import_module("zoology.data.multiquery_ar")
            return module.multiquery_ar, stubbed
        except ModuleNotFoundError as missing:
            name = missing.name or ""
            if not name or name.split(".")[0] == "zoology" or name in stubbed:
                raise
            stub = types.ModuleType(name)
            stub.__getattr__ = lambda attr: None  # type: ignore[method-assign]
            sys.modules[name] = stub
            stubbed.append(name)
            for key in [k for k in sys.modules if k.split(".")[0] == "zoology"]:
                del sys.modules[key]  # half-imported: import again with the stand-in


def import_generate(src: Path) -> Callable[..., Any]:
    """``generate_arrays`` of another checkout's ``mqar.py`` (its imports: this checkout's)."""
    path = src / "lolameme" / "data" / "tasks" / "mqar.py"
    spec = importlib.util.spec_from_file_location("baseline_mqar", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SystemExit(f"error: {path} not found (--baseline-src)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_arrays


def ours(generate: Callable[..., Any], seq_len: int, pairs: int, rows: int) -> list[Any]:
    """``rows`` rows in shards, each shard from its own seed, as ``mqar.write_shard``."""
    config = mqar.MQARConfig(vocab_size=VOCAB, seq_len=seq_len, num_kv_pairs=pairs)
    return [
        generate(config, size, np.random.default_rng([0, 0, shard]))
        for shard, size in enumerate(mqar.shard_sizes(rows, mqar.SHARD_ROWS))
    ]


def check_shape(name: str, out: Any, seq_len: int, pairs: int) -> None:
    """Both sides make what the comparison assumes: rows of ``seq_len``, ``pairs`` labels."""
    parts = [(out.inputs.numpy(), out.labels.numpy())] if name == "zoology" else out
    for inputs, labels in parts:
        labelled = (labels != -100).sum(axis=1)
        if inputs.shape[1] != seq_len or not (labelled == pairs).all():
            raise SystemExit(f"error: {name}: rows of {inputs.shape[1]} tokens, {labelled}")


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def bench_setting(
    sides: dict[str, Callable[[int], Any]], rows: int, repeat: int, zoology_limit: float
) -> tuple[dict[str, tuple[float, float]], str]:
    """Median (CPU, wall) seconds per side; a note when Zoology's side was cut short."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    dropped = ""
    for round_ in range(repeat):
        names = list(sides) if round_ % 2 == 0 else list(sides)[::-1]
        for name in names:
            if name == "zoology" and dropped:
                continue
            cpu, wall = timed(functools.partial(sides[name], rows))
            times[name].append((cpu, wall))
            if name == "zoology" and wall > zoology_limit:
                dropped = f"zoology: no more calls after one took {wall:.1f} s"
    medians = {
        name: (statistics.median(c for c, _ in t), statistics.median(w for _, w in t))
        for name, t in times.items()
        if t
    }
    return medians, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoology-src", type=Path, required=True, help="holds zoology/")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src: old vs new")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per side and call")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are kept")
    parser.add_argument("--zoology-limit", type=float, default=120.0, help="seconds")
    parser.add_argument("--settings", nargs="+", default=[f"{L}/{k}" for L, k in SETTINGS])
    args = parser.parse_args()
    torch.set_num_threads(1)
    multiquery_ar, stubbed = import_zoology(args.zoology_src)
    sides: dict[str, Callable[[int, int, int], Any]] = {
        "zoology": lambda L, k, rows: multiquery_ar(
            vocab_size=VOCAB, num_examples=rows, input_seq_len=L, seed=0, num_kv_pairs=k
        ),
        "ours": lambda L, k, rows: ours(mqar.generate_arrays, L, k, rows),
    }
    if args.baseline_src:
        baseline = import_generate(args.baseline_src)
        sides["old"] = lambda L, k, rows: ours(baseline, L, k, rows)
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; numpy "
        f"{np.__version__}, torch {torch.__version__}; zoology from {args.zoology_src}, "
        f"stand-ins for: {', '.join(stubbed) or 'none'}"
    )
    print(f"vocab {VOCAB}, {args.rows:,} rows per call, medians of {args.repeat} rounds (CPU)")
    header = f"{'L / kv':>9} {'zoology rows/s':>15} {'ours rows/s':>12} {'ours/zoology':>13}"
    header += f" {'wall':>7}"
    if args.baseline_src:
        header += f" {'old rows/s':>11} {'new/old':>8} {'equal':>6}"
    print(header)
    for setting in args.settings:
        seq_len, pairs = (int(x) for x in setting.split("/"))
        bound = {name: functools.partial(f, seq_len, pairs) for name, f in sides.items()}
        for name, run in bound.items():  # warm-up (first-call costs are not timed) and check
            check_shape(name, run(min(args.rows, 200)), seq_len, pairs)
        medians, dropped = bench_setting(bound, args.rows, args.repeat, args.zoology_limit)
        rate = {name: args.rows / cpu for name, (cpu, _) in medians.items()}
        wall = medians["zoology"][1] / medians["ours"][1]
        line = f"{setting:>9} {rate['zoology']:>15,.0f} {rate['ours']:>12,.0f}"
        line += f" {rate['ours'] / rate['zoology']:>12.1f}x {wall:>6.1f}x"
        if "old" in rate:
            equal = all(
                np.array_equal(a, b)
                for x, y in zip(bound["ours"](2_000), bound["old"](2_000), strict=True)
                for a, b in zip(x, y, strict=True)
            )
            line += f" {rate['old']:>11,.0f} {rate['ours'] / rate['old']:>7.2f}x {equal!s:>6}"
        print(line + (f"  ({dropped})" if dropped else ""), flush=True)


if __name__ == "__main__":
    main()
