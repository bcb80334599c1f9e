"""A stand-in for training + evaluation that writes the files a real run writes.

``FakeWork`` replaces :func:`lolameme.experiments.cell.train_and_evaluate` (the runner's
bookkeeping, records and results table stay real); ``fake_data`` replaces data generation.
Exact match per cell comes from a function of the cell, so tests choose the numbers.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lolameme.experiments import runner
from lolameme.experiments.cell import CellTask, run_cell
from lolameme.experiments.grid import Cell, Selection


def default_em(cell: Cell, split: str) -> float:
    """Distinct, deterministic numbers: a model/seed/setting signature."""
    base = {"hyena": 0.30, "gpt2": 0.05}.get(cell.model, 0.20)
    return round(base + 0.01 * cell.seed - (0.2 if "without" in split else 0.0), 4)


class FakeWork:
    """Counts calls; can interrupt (KeyboardInterrupt) or fail chosen cells."""

    def __init__(
        self,
        em: Callable[[Cell, str], float] = default_em,
        interrupt_at: int | None = None,
        fail: Callable[[Cell], bool] = lambda cell: False,
    ) -> None:
        self.em, self.interrupt_at, self.fail = em, interrupt_at, fail
        self.calls: list[str] = []

    def __call__(self, task: CellTask) -> dict[str, float]:
        cell = task.cell
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls.append(cell.cell_id)
        if self.fail(cell):
            raise RuntimeError("loss became nan")
        run = task.run_dir
        run.mkdir(parents=True, exist_ok=True)
        (run / "run.json").write_text(json.dumps({"num_parameters": 1234, "finished": {"step": 3}}))
        (run / "metrics.jsonl").write_text(
            json.dumps({"type": "train", "step": 1, "loss": 2.0})
            + "\n"
            + json.dumps({"type": "train", "step": 3, "loss": 1.5 - 0.1 * cell.seed})
            + "\n"
        )
        splits = {}
        for split in cell.splits:
            em = self.em(cell, split)
            splits[split] = {
                "n": 10,
                "em": em,
                "loss": 1.0 - em,
                "by": {
                    "dependency_depth": {
                        "1": {"n": 5, "em": min(1.0, em + 0.1)},
                        "2": {"n": 5, "em": max(0.0, em - 0.1)},
                    }
                },
            }
        (run / "eval.json").write_text(json.dumps({"splits": splits, "step": 3}))
        return {"train_seconds": 1.0, "eval_seconds": 0.5}


def fake_prepare(request: Any, out: Path, *, workers: int = 1, calls: list | None = None) -> Path:
    from lolameme.experiments.cell import data_dir_for

    path = data_dir_for(request, out)
    if (path / "manifest.json").is_file():  # cached, as prepare_data does
        return path
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text(json.dumps({"preset": request.preset}))
    if calls is not None:
        calls.append(request.key())
    return path


@pytest.fixture
def data_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace data generation by an empty data directory; record each generation."""
    calls: list[str] = []
    monkeypatch.setattr(runner, "prepare_data", functools.partial(fake_prepare, calls=calls))
    monkeypatch.setattr(
        runner, "majority_baselines", lambda path, splits: dict.fromkeys(splits, 0.1)
    )
    return calls


def run_fake(work: FakeWork, name: str, out: Path, **kwargs: Any) -> runner.InvocationSummary:
    kwargs.setdefault("scale", "smoke")
    scale = kwargs.pop("scale")
    picked = {k: kwargs.pop(k) for k in ("models", "seeds", "only", "tag", "sets") if k in kwargs}
    kwargs["selection"] = Selection(**picked)
    return runner.run_experiment(
        name, scale, out, progress=False, cell_fn=functools.partial(run_cell, work=work), **kwargs
    )


@pytest.fixture
def fake() -> type[FakeWork]:
    """The FakeWork class (test modules cannot import conftest under importlib mode)."""
    return FakeWork


@pytest.fixture
def run(data_calls: list[str]) -> Callable[..., runner.InvocationSummary]:
    """``run(work, name, out, **kwargs)``: a runner call with fake training and data."""
    return run_fake
