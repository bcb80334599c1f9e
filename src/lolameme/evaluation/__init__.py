"""Evaluation: batched greedy decoding, exact match, loss, and ``lolameme eval``.

The public API is ``evaluate_run(run_dir, splits=None, limit=None, progress=True) -> dict``
and ``exact_match(prediction, label) -> bool``; imported lazily to keep the CLI fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lolameme.evaluation.metrics import exact_match
    from lolameme.evaluation.run_eval import evaluate_run

__all__ = ["evaluate_run", "exact_match"]


def __getattr__(name: str) -> Any:
    if name == "evaluate_run":
        from lolameme.evaluation.run_eval import evaluate_run

        return evaluate_run
    if name == "exact_match":
        from lolameme.evaluation.metrics import exact_match

        return exact_match
    raise AttributeError(f"module 'lolameme.evaluation' has no attribute {name!r}")
