"""No orphan process: pool workers die with their parent, whatever kills it.

Each parent runs in its own session; after the parent is killed, the process table
(``/proc``) must hold no process of that session within a few seconds: no pool worker,
no resource tracker. SIGTERM must also unwind cleanly: one error line, no traceback
(no ``BrokenPipeError`` from a worker), and no partial output directory left behind.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import children, session_pids, spawn, subprocess_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BIG_DATA = ["--preset", "tiny", "--set", "DATASET_SIZE=400000", "--set", "TEST_DATASET_SIZE=2000"]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _assert_tree_gone(sid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while session_pids(sid):
        if time.monotonic() > deadline:
            left = session_pids(sid)
            cmds = [Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in left]
            raise AssertionError(f"processes of the killed tree survive: {left} {cmds}")
        time.sleep(0.1)


def _partials(parent: Path) -> list[Path]:
    return [p for p in parent.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_generate_workers_die_with_their_parent(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "data"
    proc = spawn("generate", "-o", out, *BIG_DATA, "--workers", "2")
    try:
        _wait(lambda: len(children(proc.pid)) >= 2, 120, "two pool workers")
        _wait(lambda: bool(_partials(tmp_path)), 60, "the partial output directory")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_tree_gone(proc.pid)
    assert not out.exists()  # nothing that looks complete
    text = err.decode()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert "Traceback" not in text and "BrokenPipeError" not in text, text
        assert [line for line in text.splitlines() if line.strip()] == [
            "error: terminated (SIGTERM); partial outputs were removed"
        ]
        assert _partials(tmp_path) == []
    else:
        assert proc.returncode == -signal.SIGKILL
        assert _partials(tmp_path)  # nobody could clean up after a SIGKILL ...
        from lolameme._io import remove_stale_partials

        assert remove_stale_partials(out)  # ... but the next build of `out` does
        assert _partials(tmp_path) == []


# No SIGTERM handler here: the parent dies at once, so only the workers' own tie to it
# (the parent-death signal) can end them.
ENGINE_SCRIPT = """
import time
from lolameme.experiments.engines import LocalEngine

for _ in LocalEngine(2).map(time.sleep, [120] * 4):
    pass
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_experiment_engine_workers_die_with_their_parent(sig: signal.Signals) -> None:
    """The experiment runner's pool (spawned workers, a resource tracker beside them)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ENGINE_SCRIPT],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:

        def workers_started() -> bool:
            cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in session_pids(proc.pid)]
            return sum(b"spawn_main" in c for c in cmdlines) >= 2

        _wait(workers_started, 120, "two spawned workers")
        time.sleep(1.0)  # let them reach the initializer (the parent-death signal)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    _assert_tree_gone(proc.pid)


# A SIGTERM that arrives while the pool starts (its workers forked, Pool() not returned):
# the signal is held until `pool` exists, so the pool is stopped before the caller's
# cleanup runs. The fake Pool sends the signal itself, at the worst moment.
POOL_START_SCRIPT = """
import multiprocessing.context, os, signal, sys
from lolameme._proc import Terminated, install_sigterm_handler
from lolameme.data.pool import shard_map

install_sigterm_handler()
real = multiprocessing.context.ForkContext.Pool
started = []

def pool_then_signal(self, *args, **kwargs):
    pool = real(self, *args, **kwargs)
    started.extend(p.pid for p in pool._pool)
    os.kill(os.getpid(), signal.SIGTERM)  # held: Pool() has not returned yet
    return pool

multiprocessing.context.ForkContext.Pool = pool_then_signal
try:
    with shard_map(2, method="fork") as pmap:
        print("unreachable: the body ran", flush=True)
except Terminated:
    alive = [pid for pid in started if os.path.exists(f"/proc/{pid}")
             and open(f"/proc/{pid}/stat").read().split()[2] != "Z"]
    print("terminated", len(started), alive, flush=True)
"""


def test_sigterm_while_the_pool_starts_stops_its_workers() -> None:
    out = subprocess.run(
        [sys.executable, "-c", POOL_START_SCRIPT],
        env=subprocess_env(),
        capture_output=True,
        timeout=120,
        start_new_session=True,
    )
    assert out.stdout.decode().split("\n")[0] == "terminated 2 []", out.stderr.decode()
