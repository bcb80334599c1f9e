"""LOLAMEME: synthetic languages with known rules for measuring language-model architectures.

The package is layered; each subpackage owns one concern and imports only downwards
(checked by ``lint-imports``; see docs/architecture.md):

    api | experiments
    reporting : training : evaluation   (training and evaluation independent)
    export                              (a run's files as a model: open_run, export)
    runs                                (codec, checkpoints, run and result layouts)
    models | data
    languages                           (standard library only)

The top-level names are the Python API (``docs/api.md``); they are imported on first
use, so ``import lolameme`` and ``lolameme --help`` never load torch::

    lolameme.generate(task_name, preset, overrides, out, seed=None, workers=1, overwrite=False)
    lolameme.train(lolameme.TrainConfig(data=..., model=..., out=...), progress=True)
    lolameme.evaluate(run_dir, splits=None, limit=None, progress=True, ...)
    run = lolameme.load_run(path); run.predict(["a = 3;print(a)"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lolameme._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "load_run": "lolameme.api",
    "Run": "lolameme.api",
    "train": "lolameme.api",
    "generate": "lolameme.data.generate",
    "TrainConfig": "lolameme.training.config",
    "evaluate": "lolameme.evaluation.run_eval:evaluate_run",
    "export_run": "lolameme.export",
}
__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ += ["__version__"]

if TYPE_CHECKING:
    # for type checkers: at run time the names come from __getattr__
    from lolameme.api import Run, load_run, train  # noqa: F401
    from lolameme.data.generate import generate  # noqa: F401
    from lolameme.evaluation.run_eval import evaluate_run as evaluate  # noqa: F401
    from lolameme.export import export_run  # noqa: F401
    from lolameme.training.config import TrainConfig  # noqa: F401
