"""``kill -9`` of ``generate``, ``train`` and ``experiment run`` at several points.

After each kill: no output that looks complete but is not; a rerun (or ``--resume``)
succeeds; and the final artefacts are byte-identical to those of an uninterrupted run.
Kill points are events seen on disk (a partial directory, a shard, a checkpoint), not
sleeps, so the tests hit the same point on a fast or a loaded machine. One point of
each command runs in the default suite; the others are marked ``slow``.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SMALL_DATA, SMOKE_MODEL, spawn

DATA = [*SMALL_DATA, "--set", "DATASET_SIZE=2000", "--set", "SHARD_SIZE=250", "--seed", "5"]


def _digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _run(*argv: object, cwd: Path | None = None) -> None:
    proc = spawn(*argv, cwd=cwd)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()


def _kill_when(proc: subprocess.Popen[bytes], event: Callable[[], bool], timeout: float = 300):
    """SIGKILL ``proc`` as soon as ``event()`` holds (or fail if it exits first)."""
    deadline = time.monotonic() + timeout
    while not event():
        if proc.poll() is not None:
            raise AssertionError(f"exited before the kill point: {proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("kill point never reached")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


@pytest.fixture(scope="module")
def reference_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "data"
    _run("generate", "-o", out, *DATA, "--workers", "2")
    return out


def _partial(parent: Path) -> Path | None:
    found = [p for p in parent.glob(".data.partial-*")]
    return found[0] if found else None


GENERATE_POINTS = {
    "partial directory created": lambda parent: _partial(parent) is not None,
    "first shard written": lambda parent: bool(
        _partial(parent) and list(_partial(parent).glob("data/*.parquet"))
    ),
    "half the shards written": lambda parent: bool(
        _partial(parent) and len(list(_partial(parent).glob("data/*.parquet"))) >= 5
    ),
}


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(name, marks=() if name == "first shard written" else pytest.mark.slow)
        for name in GENERATE_POINTS
    ],
)
def test_kill_generate(tmp_path: Path, reference_data: Path, point: str) -> None:
    out = tmp_path / "data"
    proc = spawn("generate", "-o", out, *DATA, "--workers", "2")
    _kill_when(proc, lambda: GENERATE_POINTS[point](tmp_path))
    assert not out.exists()  # only a hidden partial directory, never a complete-looking one
    _run("generate", "-o", out, *DATA, "--workers", "1")
    assert _digest(out) == _digest(reference_data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the stale partial is gone


TRAIN = [*SMOKE_MODEL, "--steps", "8", "--batch-size", "8", "--eval-every", "4",
         "--eval-samples", "8", "--checkpoint-every", "2", "--threads", "1", "-q"]  # fmt: skip


def _train_args(data: Path, out: Path) -> list[object]:
    return ["train", "--data", data, "--out", out, *TRAIN]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, reference_data: Path) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    _run(*_train_args(reference_data, out))
    return out


def _losses(run: Path) -> list[tuple[str, int, float]]:
    """The metrics that must not depend on interruptions (timings do)."""
    events = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [(e["type"], e["step"], e.get("loss"), json.dumps(e.get("splits"))) for e in events]


def _checkpoint(run: Path, step: int) -> bool:
    return (run / "checkpoints" / f"step-{step:08d}" / "state.pt").is_file()


TRAIN_POINTS = {
    "run.json written, no checkpoint": lambda run: (run / "run.json").is_file(),
    "first checkpoint": lambda run: _checkpoint(run, 2),
    "after an eval": lambda run: _checkpoint(run, 4),
    "last step's checkpoint": lambda run: _checkpoint(run, 8),
}


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(name, marks=() if name == "first checkpoint" else pytest.mark.slow)
        for name in TRAIN_POINTS
    ],
)
def test_kill_train(tmp_path: Path, reference_data: Path, reference_run: Path, point: str) -> None:
    out = tmp_path / "run"
    proc = spawn(*_train_args(reference_data, out))
    _kill_when(proc, lambda: TRAIN_POINTS[point](out))
    from lolameme.runs.checkpoint import latest_checkpoint

    if latest_checkpoint(out) is None:  # nothing to resume: --resume says so; start again
        resumed = spawn("train", "--out", out, "--resume", "-q")
        _, err = resumed.communicate(timeout=600)
        assert resumed.returncode == 2 and b"no checkpoint" in err
        _run(*_train_args(reference_data, out), "--overwrite")
    else:
        _run("train", "--out", out, "--resume", "-q")
    final = "checkpoints/step-00000008/model.safetensors"
    assert (out / final).read_bytes() == (reference_run / final).read_bytes()
    assert _losses(out) == _losses(reference_run)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["data generated", "first cell checkpoint"])
def test_kill_experiment_run(tmp_path: Path, point: str) -> None:
    args = ["experiment", "run", "multi_language", "--scale", "smoke", "--models", "gpt2", "-q"]
    reference = tmp_path / "reference"
    _run(*args, "-o", reference)
    out = tmp_path / "out"
    events = {
        "data generated": lambda: bool(list(out.glob("data/*/manifest.json"))),
        "first cell checkpoint": lambda: bool(list(out.glob("runs/*/checkpoints/step-*"))),
    }
    proc = spawn(*args, "-o", out)
    _kill_when(proc, events[point], timeout=1200)
    assert not (out / "results.parquet").exists()
    _run(*args, "-o", out)
    import pandas as pd

    columns = ["cell_id", "status", "em_test_sample_mix", "em_test_module_mix", "final_loss"]
    got, want = (pd.read_parquet(d / "results.parquet")[columns] for d in (out, reference))
    assert got.equals(want)
    a, b = (max(d.glob("runs/*/checkpoints/step-*/model.safetensors")) for d in (out, reference))
    assert a.relative_to(out) == b.relative_to(reference)  # the same final step
    assert a.read_bytes() == b.read_bytes()
    (a,) = out.glob("runs/*/eval.json")  # holds its own path: compare the numbers
    (b,) = reference.glob("runs/*/eval.json")
    assert json.loads(a.read_text())["splits"] == json.loads(b.read_text())["splits"]
