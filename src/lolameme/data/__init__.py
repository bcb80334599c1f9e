"""Data sets: generate them (LoLa/MeMe, ListOps, MQAR), store, read, inspect and verify.

- :func:`lolameme.data.generate.generate` is the one entry point (``lolameme generate``);
- :mod:`lolameme.data.store` is the on-disk layout and its readers;
- :mod:`lolameme.data.tasks` is the registry of tasks and their presets; each task is
  built over the shared store and process pool (:mod:`lolameme.data.pool`):
  :mod:`~lolameme.data.tasks.lolameme` (its knobs in ``config`` and ``presets``),
  :mod:`~lolameme.data.tasks.listops`, :mod:`~lolameme.data.tasks.mqar`.

Names below are imported on first use, so ``import lolameme.data`` stays cheap.
"""

from __future__ import annotations

from lolameme._lazy import lazy_exports

_EXPORTS = {
    "generate": "lolameme.data.generate",
    "resolve_config": "lolameme.data.generate",
    "config_hash": "lolameme.data.generate",
    "LolamemeConfig": "lolameme.data.tasks.lolameme.config",
    "PRESETS": "lolameme.data.tasks.lolameme.presets",
    "variable_length_range": "lolameme.data.tasks.lolameme.config",
    "open_dataset": "lolameme.data.store",
    "load_split": "lolameme.data.store",
    "iter_split": "lolameme.data.store",
    "dataset_stats": "lolameme.data.stats",
    "verify_dataset": "lolameme.data.tasks.lolameme.verify",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
