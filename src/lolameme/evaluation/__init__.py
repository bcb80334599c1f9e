"""Evaluation: batched greedy decoding, exact match, loss, and ``lolameme eval``.

The public API is ``evaluate_run(run_dir, splits=None, limit=None, progress=True) -> dict``
and ``exact_match(prediction, label) -> bool``; imported lazily to keep the CLI fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lolameme._lazy import lazy_exports

if TYPE_CHECKING:
    # for type checkers: at run time the names come from __getattr__
    from lolameme.evaluation.metrics import exact_match  # noqa: F401
    from lolameme.evaluation.run_eval import evaluate_run  # noqa: F401

_EXPORTS = {
    "evaluate_run": "lolameme.evaluation.run_eval",
    "exact_match": "lolameme.evaluation.metrics",
}
__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
