"""The default torch thread count: idle cores shared among the workers, never oversubscribed."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lolameme import _threads
from lolameme._threads import default_threads, idle_cores, threads_help


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch):
    def set_cores(n: int) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    return set_cores


def test_busy_two_core_machine_gets_one_thread(cores) -> None:
    cores(2)
    assert default_threads(1, load=10.6) == 1  # the machine: 42 s with 2 threads
    assert default_threads(1, load=0.2) == 2  # idle: both cores
    assert default_threads(2, load=0.0) == 1  # two workers: one thread each


def test_workers_share_the_idle_cores(cores) -> None:
    cores(16)
    assert default_threads(1, load=0.0) == 16
    assert default_threads(4, load=0.0) == 4
    assert default_threads(4, load=8.0) == 2
    assert default_threads(32, load=0.0) == 1


@given(st.integers(1, 256), st.integers(1, 64), st.floats(0, 500))
def test_never_more_threads_than_idle_cores(n: int, workers: int, load: float) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)
        threads = default_threads(workers, load=load)
        assert threads >= 1
        assert threads * workers <= max(workers, idle_cores(load))
        assert idle_cores(load) <= n


def test_affinity_limits_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert _threads.usable_cores() == 1  # taskset / a container's cpuset, not the machine


def test_help_shows_the_current_choice(cores, monkeypatch: pytest.MonkeyPatch) -> None:
    cores(8)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 0.0, 0.0))
    assert threads_help(1).endswith("here now: 5]")
    assert threads_help(2).endswith("here now: 2]")
