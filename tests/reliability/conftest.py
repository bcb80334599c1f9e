"""Helpers of the fault-injection tests: the CLI in-process and in a subprocess, small
real outputs (a generated data set, a trained run), and the process table.

A "clean failure" is what every test here asserts after a fault: exit code != 0, and
stderr that is exactly one ``error: ...`` line (so no traceback, no library noise).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lolameme.cli import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
# A generated LoLa/MeMe data set of a few hundred items: seconds to make.
SMALL_DATA = ["--preset", "tiny", "--set", "DATASET_SIZE=300", "--set", "TEST_DATASET_SIZE=40"]
SMOKE_MODEL = ["--model", "attention*2", "--scale", "smoke", "--tokenizer", "char"]


def assert_one_error(code: int, err: str, *needles: str) -> None:
    """Non-zero exit and one ``error:`` line on stderr containing every needle."""
    assert code != 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, err)


def subprocess_env() -> dict[str, str]:
    """The environment of a ``python -m lolameme`` child: this checkout, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.pop("TQDM_DISABLE", None)
    return env


def spawn(*argv: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m lolameme ARGV`` in its own session (so its tree can be found)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lolameme", *map(str, argv)],
        cwd=cwd,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def session_pids(sid: int) -> list[int]:
    """Every live (non-zombie) process of session ``sid``, from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            pids.append(int(entry.name))
    return pids


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated LoLa/MeMe data set (read-only for tests: copy it to damage it)."""
    out = tmp_path_factory.mktemp("generated") / "data"
    main(["generate", "-o", str(out), *SMALL_DATA, "--workers", "1", "--seed", "3"])
    return out


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Path:
    """A tiny run on ``generated`` with two checkpoints (read-only: copy it to damage it)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    main(
        ["train", "--data", str(generated), "--out", str(out), *SMOKE_MODEL, "--steps", "4",
         "--batch-size", "8", "--eval-every", "0", "--checkpoint-every", "2", "--threads", "1",
         "-q"]
    )  # fmt: skip
    return out


@pytest.fixture
def copy_of(tmp_path: Path) -> Callable[[Path], Path]:
    """``copy_of(path)``: a private copy of a session output, to damage."""
    import shutil

    def make(path: Path) -> Path:
        target = tmp_path / path.name
        shutil.copytree(path, target, symlinks=True)
        return target

    return make
