"""Small data sets and independent readings of them, shared by the data tests.

``build`` makes LoLa/MeMe data sets; ``build_task_dataset`` makes any task's data set
(ListOps, MQAR, ...) through the same driver as ``lolameme generate``.

Tests run with ``--import-mode=importlib`` (no sibling imports), so helpers are fixtures.
Sizes are small: a data set here takes well under a second to build in-process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lolameme.data.generate import generate
from lolameme.data.store import load_split, open_dataset
from lolameme.data.tasks.lolameme.config import LolamemeConfig, latent_config
from lolameme.languages import BinOp, Num, Program, Var, evaluate, parse, render
from lolameme.languages.ast import expr_names

# Overrides that make any preset small and quick.
SMALL: dict[str, Any] = {
    "DATASET_SIZE": 400,
    "TEST_DATASET_SIZE": 80,
    "GLOBALVAR_COUNT": 16,
    "GLOBAL_VARIABLES_NUM_APPEARANCE": 30,
    "SHARD_SIZE": 150,
}


@dataclass
class Loaded:
    """A generated data set read back: config, globals, manifest and every split."""

    path: Path
    config: LolamemeConfig
    globals: dict[str, int]
    manifest: dict[str, Any]
    splits: dict[str, pd.DataFrame]

    def programs(self, split: str) -> list[Program]:
        return [parse(text) for text in self.splits[split]["program"]]

    def label_of(self, program: Program) -> str:
        return str(evaluate(program, self.globals, latent_config(self.config)))


def names_in(program: Program) -> Counter[str]:
    """Every name occurrence: targets, reads and the print."""
    found: Counter[str] = Counter(st.target for st in program.statements)
    for st in program.statements:
        found.update(expr_names(st.value))
    found[program.output] += 1
    return found


def literals_in(expr: Any) -> list[int]:
    if isinstance(expr, BinOp):
        return literals_in(expr.left) + literals_in(expr.right)
    return [expr.value] if isinstance(expr, Num) else []


def canonical(text: str) -> str:
    return render(parse(text), "lola")


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Loaded]:
    """``build(preset="base", workers=1, small=True, **overrides) -> Loaded``, cached."""
    cache: dict[tuple, Loaded] = {}

    def _build(preset: str = "base", workers: int = 1, small: bool = True, **overrides: Any):
        values = {**(SMALL if small else {}), **overrides}
        key = (preset, workers, tuple(sorted((k, repr(v)) for k, v in values.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp("ds") / "data"
            generate("lolameme", preset, values, out, workers=workers)
            info = open_dataset(out)
            cache[key] = Loaded(
                path=out,
                config=LolamemeConfig.model_validate(info.config()),
                globals=info.globals(),
                manifest=info.manifest,
                splits={split: load_split(info, split) for split in info.splits},
            )
        return cache[key]

    return _build


@pytest.fixture(scope="session")
def helpers() -> Any:
    """The independent readers above, for test modules (which cannot import conftest)."""

    class _Helpers:
        names_in = staticmethod(names_in)
        literals_in = staticmethod(literals_in)
        canonical = staticmethod(canonical)
        Var = Var

    return _Helpers


@pytest.fixture
def build_task_dataset(tmp_path: Path) -> Callable[..., Path]:
    """``build_task_dataset(task, preset="smoke", workers=1, name="ds", **overrides) -> dir``."""

    def _build(
        task_name: str,
        preset: str = "smoke",
        *,
        workers: int = 1,
        name: str = "ds",
        **overrides: Any,
    ) -> Path:
        return generate(task_name, preset, overrides, tmp_path / name, workers=workers)

    return _build
