"""Shared fixtures for data-set tests.

``build_task_dataset`` builds a task's data set the way the generic driver does
(preset + overrides -> config, ``TASK.build`` into a ``DatasetWriter`` inside an
``atomic_directory``, then ``finish``), so task modules can be tested end to end on
their own. Once ``lolameme.data.generate.generate`` lands, switch to it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lolameme._io import atomic_directory
from lolameme.data.store import DatasetWriter
from lolameme.data.tasks import get_task


@pytest.fixture
def build_task_dataset(tmp_path: Path) -> Callable[..., Path]:
    def build(
        task_name: str,
        preset: str = "smoke",
        *,
        workers: int = 1,
        name: str = "ds",
        **overrides: Any,
    ) -> Path:
        task = get_task(task_name)
        config = task.config_cls(**{**task.presets[preset], **overrides})
        out = tmp_path / name
        with atomic_directory(out) as tmp:
            writer = DatasetWriter(tmp)
            result = task.build(config, writer, workers)
            writer.finish(
                task=task.name,
                format=task.format,
                config=config.model_dump(),
                seed=config.seed,
                globals=result["globals"],
                split_order=result["split_order"],
                extra=result["extra"],
            )
        return out

    return build
