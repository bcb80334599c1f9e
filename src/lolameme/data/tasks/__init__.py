"""The registry of data-set tasks: LoLa/MeMe programs, ListOps, MQAR.

Every task has a typed config, named presets and a ``build`` function that fills a
:class:`~lolameme.data.store.DatasetWriter` with split shards. Storage, manifest,
atomic writes, ``--set`` overrides and the CLI are shared (``lolameme.data.generate``),
so a new task is one module exposing ``TASK`` plus one line in ``TASK_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lolameme.errors import ConfigError

# name -> module that defines ``TASK: Task``; imported lazily so listing is cheap.
TASK_MODULES: dict[str, str] = {
    "lolameme": "lolameme.data.tasks.lolameme",
    "listops": "lolameme.data.tasks.listops",
    "mqar": "lolameme.data.tasks.mqar",
}


@dataclass(frozen=True)
class Task:
    """One kind of data set.

    ``build(config, writer, workers)`` writes every split's shards through ``writer``
    (``writer.write_shard(split, index, frame)``) and returns
    ``{"split_order": [...], "globals": {...} | None, "extra": {...}}`` for the manifest.
    It must give byte-identical shards for any ``workers`` value.
    """

    name: str
    description: str
    format: Literal["text", "tokens"]
    config_cls: type[Any]
    presets: Mapping[str, Mapping[str, Any]]
    build: Callable[[Any, Any, int], Mapping[str, Any]]
    default_preset: str = "base"
    notes: Mapping[str, str] = field(default_factory=dict)


def get_task(name: str) -> Task:
    """Look a task up by name, with an error that lists the valid names."""
    module_name = TASK_MODULES.get(name)
    if module_name is None:
        raise ConfigError(f"unknown task '{name}' (valid: {', '.join(sorted(TASK_MODULES))})")
    return importlib.import_module(module_name).TASK


def available_tasks() -> list[str]:
    return sorted(TASK_MODULES)
