"""How many torch CPU threads to use when the user did not say (``--threads``).

torch's own default is one thread per core of the machine. On a machine whose cores are
busy with other jobs, OpenMP threads then spin waiting for cores they do not get: on
a busy 2-core machine ``lolameme eval RUN --limit 50`` took 42 s with
torch's default and 4.1 s with one thread (``benchmarks/bench_threads.py`` compares the
candidates; docs/performance.md has its figures). So the default counts only the cores
this process may run on (``os.sched_getaffinity``: a container's or ``taskset``'s
limit) that are not already busy (the 1-minute load average), and splits them among
the workers that will run at once (experiment cells, DDP processes).

Standard library only, so the CLI can print the choice in ``--help`` without torch.
"""

from __future__ import annotations

import math
import os


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def idle_cores(load: float | None = None) -> int:
    """Usable cores not already busy: ``usable - load average``, at least 1.

    ``load`` is the 1-minute load average (read from the OS when ``None``); where the
    OS has none, every usable core counts as idle.
    """
    cores = usable_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return cores
    return max(1, min(cores, math.floor(cores - load + 0.5)))


def default_threads(workers: int = 1, load: float | None = None) -> int:
    """torch threads for each of ``workers`` processes: the idle cores shared out, at least 1.

    With ``workers > 1`` every worker gets ``idle // workers`` threads, so N workers never
    ask for more cores than are free (on a 2-core machine: one thread each).
    """
    return max(1, idle_cores(load) // max(1, workers))


# The one-line description each command's --help shows beside --threads.
THREADS_HELP = (
    "torch CPU threads.  [default: idle cores (usable cores minus the load average) "
    "/ workers; here now: {now}]"
)


def threads_help(workers: int = 1) -> str:
    """:data:`THREADS_HELP` with the value the default would take right now."""
    return THREADS_HELP.format(now=default_threads(workers))
