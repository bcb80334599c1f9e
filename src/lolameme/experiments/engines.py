"""Where cells run: in this process, in a bounded local process pool, or on Ray.

An engine maps a picklable function over tasks and yields results as they finish (not
in order), so the driver can record each cell the moment it is done.

- ``local`` with one worker runs cells in this process (easy to debug, no pickling).
  With N workers it uses a ``spawn`` process pool; each worker limits torch to
  ``idle cores // N`` threads (:mod:`lolameme._threads`) so that N workers do not fight
  over the same cores.
- ``ray`` submits each cell as a Ray task asking for the cell's ``cpus``/``gpus``, on a
  local Ray or on the cluster named by ``RAY_ADDRESS``. The output directory must then
  be on storage every node sees. Ray is an optional extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from lolameme._proc import worker_init
from lolameme._threads import default_threads
from lolameme.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")
ENGINES = ("local", "ray")


class Engine(Protocol):
    workers: int

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]: ...


def threads_per_worker(workers: int) -> int:
    """torch threads for each of ``workers`` cells at once: the idle cores shared out."""
    return default_threads(workers)


def _limit_threads(threads: int) -> None:
    """Pool initializer: set before torch is imported in the worker."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


class LocalEngine:
    """Cells in this process (``workers=1``) or in a pool of ``workers`` processes."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, not {workers}")
        self.workers = workers

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_init,  # workers die with this process (lolameme._proc)
            initargs=(os.getpid(), _limit_threads, (threads_per_worker(self.workers),)),
        )
        try:
            futures = [pool.submit(fn, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            # Interrupted (Ctrl-C, a kill, the consumer gone): stop the running cells now
            # rather than wait for them; each resumes from its checkpoint on the next run.
            # ``_processes`` is private; Python 3.14 names this ``terminate_workers()``.
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


class RayEngine:
    """Cells as Ray tasks; ``workers`` caps how many are in flight at once (0: no cap)."""

    def __init__(self, workers: int = 0, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "the ray engine needs Ray, which is not installed: pip install 'lolameme[ray]'"
            ) from None
        self.ray = ray
        self.workers = workers
        if not ray.is_initialized():
            ray.init(address=address or os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        remote = self.ray.remote(_call)  # a plain function: ray.remote refuses partials
        pending: list[Any] = []
        queue = list(tasks)
        cap = self.workers or len(queue)
        while queue or pending:
            while queue and len(pending) < cap:
                task = queue.pop(0)
                res = getattr(task, "resources", {}) or {}
                options = {"num_cpus": res.get("cpus", 1), "num_gpus": res.get("gpus", 0)}
                pending.append(remote.options(**options).remote(fn, task))
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                yield self.ray.get(ref)


def _call(fn: Callable[[T], R], task: T) -> R:
    return fn(task)


def make_engine(name: str, workers: int) -> Engine:
    if name == "local":
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(workers)
    raise ConfigError(f"unknown engine '{name}' (valid: {', '.join(ENGINES)})")
