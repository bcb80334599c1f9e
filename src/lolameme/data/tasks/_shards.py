"""Ordered fan-out of generation shards over worker processes.

A generator splits every split into fixed-size shards whose contents depend only on
the config and the shard index (each shard seeds its own RNG), so the worker count
changes how fast the shards are made, never what they contain. Results come back in
shard order (``imap``, not ``imap_unordered``), so anything the parent does with them
(de-duplication, writing files) is also independent of the worker count.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import Any

# Type of the ordered map a generator receives: (function, jobs) -> results in job order.
OrderedMap = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


def shard_count(rows: int, shard_rows: int) -> int:
    """Number of shards of at most ``shard_rows`` rows that hold ``rows`` rows."""
    return -(-rows // shard_rows)


def shard_sizes(rows: int, shard_rows: int) -> list[int]:
    """Row counts of the shards of a split: all ``shard_rows`` except maybe the last."""
    return [min(shard_rows, rows - start) for start in range(0, rows, shard_rows)]


@contextlib.contextmanager
def ordered_map(workers: int) -> Iterator[OrderedMap]:
    """Yield ``map(fn, jobs)`` that runs in ``workers`` processes and keeps job order.

    ``workers <= 1`` runs in this process (no pool start-up, easiest to debug).
    ``fn`` must be a module-level function and jobs must pickle.
    """
    if workers <= 1:
        yield lambda fn, jobs: map(fn, jobs)
        return
    with multiprocessing.get_context().Pool(processes=workers) as pool:
        yield lambda fn, jobs: pool.imap(fn, jobs, chunksize=1)
