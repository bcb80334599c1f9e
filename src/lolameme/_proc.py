"""Process hygiene: workers die with their parent, and SIGTERM unwinds like an exception.

Two pools exist (data generation's ``multiprocessing.Pool`` and the experiment runner's
``ProcessPoolExecutor``). Left alone, their workers outlive a parent that is killed:
they go on writing into its output directory, then idle forever. So:

- every worker runs :func:`worker_init` first: on Linux the kernel sends it ``SIGKILL``
  when its parent dies (``prctl(PR_SET_PDEATHSIG)``, through ``ctypes``); elsewhere a
  daemon thread polls the parent and exits the worker. A parent that died before the
  worker got that far is caught by comparing ``os.getppid()`` with the pid it was given.
  Workers also ignore ``SIGINT``: Ctrl-C reaches the whole process group, and it is the
  parent's job to stop them (no traceback per worker);
- the CLI calls :func:`install_sigterm_handler`, which turns ``SIGTERM`` into the
  :class:`Terminated` exception in the main process, so ``finally`` blocks run: pools
  are terminated and partial output directories removed, as on Ctrl-C.

Workers stay in the parent's process group, so ``kill -- -PGID`` (what a shell, a job
scheduler or a container runtime sends) reaches all of them as well.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCHDOG_SECONDS = 0.5
_owner: int | None = None  # the pid that installed the SIGTERM handler


class Terminated(BaseException):
    """Raised in the main process by SIGTERM (a ``BaseException``, like ``KeyboardInterrupt``,
    so no ``except Exception`` swallows it on its way to the CLI)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _owner:
        # A forked child that has not yet reset the handler: die as SIGTERM means.
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup
    raise Terminated


def install_sigterm_handler() -> None:
    """Make SIGTERM raise :class:`Terminated` in this (main) process."""
    global _owner
    if threading.current_thread() is not threading.main_thread():
        return
    _owner = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGTERM and SIGINT until the block ends (main thread, POSIX; else a no-op).

    For the few steps that must not be cut in two: two renames, a ``mkdtemp`` and the
    name that records it, the start of a pool (whose workers inherit the mask: see
    :func:`worker_init`). A signal that arrives meanwhile is delivered when it ends.
    """
    held = {signal.SIGTERM, signal.SIGINT}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` ends (see the module docstring)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl failed")
        except (OSError, AttributeError):
            _start_watchdog(parent)
    else:
        _start_watchdog(parent)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _start_watchdog(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCHDOG_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="lolameme-parent-watchdog", daemon=True).start()


def worker_init(
    parent: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> None:
    """Pool initializer: tie the worker to ``parent``, restore default signal handling,
    then run the pool's own ``initializer(*initargs)``."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the parent's
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # started inside signals_deferred (fork or exec)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)
