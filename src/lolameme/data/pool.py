"""The one process pool of data generation, shared by every task (LoLa/MeMe, ListOps, MQAR).

A generator cuts every split into fixed-size shards whose contents depend only on the
config and the shard index (each shard seeds its own RNG), so the worker count changes
how fast the shards are made, never what they contain. :func:`shard_map` hands the
results back in job order (``imap``, not ``imap_unordered``), so anything the parent
does with them (de-duplication, writing files) is also independent of the worker count.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lolameme._proc import signals_deferred, worker_init

# Type of the ordered map a generator receives: (function, jobs) -> results in job order.
OrderedMap = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


def shard_count(rows: int, shard_rows: int) -> int:
    """Number of shards of at most ``shard_rows`` rows that hold ``rows`` rows."""
    return -(-rows // shard_rows)


def shard_sizes(rows: int, shard_rows: int) -> list[int]:
    """Row counts of the shards of a split: all ``shard_rows`` except maybe the last."""
    return [min(shard_rows, rows - start) for start in range(0, rows, shard_rows)]


def start_method() -> str:
    """``fork`` when this process has no other Python thread (workers start in
    milliseconds instead of re-importing everything), else ``spawn`` (forking a process
    with threads, e.g. after torch started its pools, can deadlock the child).

    Workers must get all their state from the jobs or the pool initializer, so both
    methods give the same files.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


@contextlib.contextmanager
def shard_map(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    method: str | None = None,
) -> Iterator[OrderedMap]:
    """Yield ``map(fn, jobs)`` that runs in ``workers`` processes and keeps job order.

    ``workers <= 1`` runs in this process (no pool start-up, easiest to debug);
    ``initializer(*initargs)`` then runs here, once, like it runs once per worker.
    ``fn`` and ``initializer`` must be module-level functions and jobs must pickle.
    ``method`` forces a start method (default: :func:`start_method`). Leaving the block,
    normally or not, ends the workers at once (an interrupted run waits for nothing).
    """
    if workers <= 1:
        if initializer is not None:
            initializer(*initargs)
        yield lambda fn, jobs: map(fn, jobs)
        return
    context = multiprocessing.get_context(method or start_method())
    pool = None
    try:
        # A SIGTERM inside Pool() would leave its workers running (it cleans up after an
        # Exception only), and a worker still in its initializer could then re-create
        # an output directory that the caller had removed. So the start is not cut:
        # the signal lands once ``pool`` exists, and the finally below stops it.
        with signals_deferred():
            # Workers die with this process, even by SIGKILL (see lolameme._proc).
            pool = context.Pool(
                workers, initializer=worker_init, initargs=(os.getpid(), initializer, initargs)
            )
        yield lambda fn, jobs: pool.imap(fn, jobs, chunksize=1)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
