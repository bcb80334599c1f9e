"""The top-level Python API: lazy names that resolve to the functions the layers define."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import lolameme


def test_import_does_not_load_torch() -> None:
    src = str(Path(lolameme.__file__).resolve().parents[1])  # this checkout's src/
    code = "import sys, lolameme; lolameme.load_run; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": src}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "False"


def test_exports_are_the_internal_functions() -> None:
    from lolameme import api
    from lolameme.data.generate import generate
    from lolameme.evaluation.run_eval import evaluate_run
    from lolameme.export.writer import export_run
    from lolameme.training.config import TrainConfig

    expected = {
        "generate": generate,
        "evaluate": evaluate_run,
        "TrainConfig": TrainConfig,
        "train": api.train,
        "load_run": api.load_run,
        "Run": api.Run,
        "export_run": export_run,
        "__version__": lolameme.__version__,
    }
    assert sorted(lolameme.__all__) == sorted(expected)  # every export is checked here
    for name, value in expected.items():
        assert getattr(lolameme, name) is value, name
    assert isinstance(lolameme.Run, type) and callable(lolameme.export_run)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lolameme.nope  # noqa: B018
