"""Exact match and its breakdown by item metadata.

Exact match is string equality of the decoded answer and the label, as in the paper:
``-4`` and ``48`` are wrong for ``-48``, and an empty answer is always wrong (a model
that stops at once has answered nothing, whatever the label).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A metadata column with more distinct values than this (an id, a hash) is not a
# useful breakdown axis and would bloat eval.json.
MAX_BREAKDOWN_VALUES = 50


def exact_match(prediction: str, label: str) -> bool:
    return prediction != "" and prediction == label


def breakdown_columns(frame: Any, exclude: set[str]) -> list[str]:
    """Metadata columns holding scalars (numbers, bools, strings) with few distinct values.

    List-valued columns (``global_names``, token lists) are skipped: their count columns
    (``globals_used`` ...) are the breakdown axis.
    """
    import pandas as pd

    columns = []
    for name in frame.columns:
        if name in exclude:
            continue
        series = frame[name]
        if series.dtype == object:
            scalar = series.map(lambda v: v is None or isinstance(v, (str, int, float, bool)))
            if not bool(scalar.all()):
                continue
        elif not (
            pd.api.types.is_numeric_dtype(series)
            or pd.api.types.is_bool_dtype(series)
            or isinstance(series.dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(series)
        ):
            continue
        if series.nunique(dropna=False) <= MAX_BREAKDOWN_VALUES:
            columns.append(name)
    return columns


def _key(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer, np.bool_)):
        return str(value.item())
    return str(value)


def em_breakdown(frame: Any, correct: str = "correct", exclude: set[str] | None = None) -> dict:
    """``{column: {value: {"n": count, "em": share correct}}}`` for every metadata column."""
    exclude = (exclude or set()) | {correct}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in breakdown_columns(frame, exclude):
        groups = frame.groupby(name, dropna=False, sort=True)[correct]
        out[name] = {_key(value): {"n": int(len(g)), "em": float(g.mean())} for value, g in groups}
    return out
