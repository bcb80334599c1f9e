"""LOLAMEME: synthetic languages with known rules for measuring language-model architectures.

The package is layered; each subpackage owns one concern and imports only downwards:

    languages (stdlib only) <- data <- training / evaluation -> models
    experiments orchestrate all of them; reporting reads result files only.

The top-level names are the Python API (``docs/api.md``); they are imported on first
use, so ``import lolameme`` and ``lolameme --help`` never load torch::

    lolameme.generate(task_name, preset, overrides, out, seed=None, workers=1, overwrite=False)
    lolameme.train(lolameme.TrainConfig(data=..., model=..., out=...), progress=True)
    lolameme.evaluate(run_dir, splits=None, limit=None, progress=True, ...)
    run = lolameme.load_run(path); run.predict(["a = 3;print(a)"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute in that module)
_EXPORTS = {
    "load_run": ("lolameme.api", "load_run"),
    "Run": ("lolameme.api", "Run"),
    "generate": ("lolameme.data.generate", "generate"),
    "train": ("lolameme.training.trainer", "train"),
    "TrainConfig": ("lolameme.training.config", "TrainConfig"),
    "evaluate": ("lolameme.evaluation.run_eval", "evaluate_run"),
    "export_run": ("lolameme.export", "export_run"),
}

__all__ = [
    "Run",
    "TrainConfig",
    "__version__",
    "evaluate",
    "export_run",
    "generate",
    "load_run",
    "train",
]

if TYPE_CHECKING:
    from lolameme.api import Run, load_run
    from lolameme.data.generate import generate
    from lolameme.evaluation.run_eval import evaluate_run as evaluate
    from lolameme.export import export_run
    from lolameme.training.config import TrainConfig
    from lolameme.training.trainer import train


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'lolameme' has no attribute {name!r}")
    module, attribute = target
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
