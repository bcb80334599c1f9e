"""Reading an experiment's output directory (laid out in :mod:`lolameme.runs.layout`).

Only the files: never the training or model code, so a directory copied off a cluster
can be reported anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lolameme._io import parquet_frame
from lolameme.errors import DataError
from lolameme.runs.layout import (
    CELLS_DIR,
    EVAL_JSON,
    INVOCATIONS_FILE,
    RESULTS_FILE,
    RESULTS_REQUIRED,
    RUN_METRICS,
    SPECS_DIR,
    SPLIT_METRICS,
    metric_column,
)


def read_results(out: str | Path) -> Any:
    """The results table of ``out`` as a pandas DataFrame, or a clear error."""
    path = Path(out) / RESULTS_FILE
    if not path.is_file():
        raise DataError(
            f"no {RESULTS_FILE} in {out} (run 'lolameme experiment run NAME --out {out}' first)"
        )
    return read_results_file(path)


def read_results_file(path: Path, columns: list[str] | None = None) -> Any:
    """One ``results.parquet``; a damaged one is one error that says how to rebuild it."""
    try:
        return parquet_frame(path, columns, required=RESULTS_REQUIRED)
    except DataError as exc:
        raise DataError(
            f"{exc}; delete it and rerun 'lolameme experiment run' with the same --out: "
            f"it is rebuilt from {path.parent / CELLS_DIR}"
        ) from None


def check_metric_columns(frame: Any, path: Path, splits: list[str]) -> None:
    """Every metric column the report averages holds numbers (or nothing): a column of
    text is one error naming the file and the column, not a failure deep in a table."""
    import pandas as pd

    names = set(RUN_METRICS) | {metric_column(m, s) for m in SPLIT_METRICS for s in splits}
    for column in frame.columns:
        values = frame[column]
        if column not in names or pd.api.types.is_numeric_dtype(values):
            continue
        for value in values:
            if value is None or (isinstance(value, float) and value != value):
                continue
            try:
                float(value)
            except (TypeError, ValueError):
                raise DataError(
                    f"{path}: column '{column}' holds {str(value)[:40]!r}, not a number; "
                    f"delete the file and rerun 'lolameme experiment run' with the same --out: "
                    f"it is rebuilt from {path.parent / CELLS_DIR}"
                ) from None


def read_specs(out: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every resolved spec in ``out``, keyed by ``(experiment, scale)``."""
    specs = {}
    for path in sorted((Path(out) / SPECS_DIR).glob("*.json")):
        spec = read_json_object(path, ("name", "scale"))
        specs[(spec["name"], spec["scale"])] = spec
    return specs


def read_json_object(path: Path, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object with ``required`` keys, or one DataError naming the damaged file."""
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise DataError(f"{path}: damaged, not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or any(key not in data for key in required):
        raise DataError(f"{path}: damaged, not the JSON object lolameme wrote")
    return data


def read_invocations(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / INVOCATIONS_FILE
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash
            continue
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def read_eval(out: str | Path, run_dir: str) -> dict[str, dict[str, Any]]:
    """Per-split evaluation summaries of one run: ``{split: {"em", "loss", "by", ...}}``.

    ``eval.json`` keeps its splits either at the top level or under ``"splits"``;
    both are accepted. A missing file gives ``{}`` (a failed cell has none).
    """
    path = Path(out) / run_dir / EVAL_JSON
    if not path.is_file():
        return {}
    data = read_json_object(path)
    splits = data.get("splits", data)
    if not isinstance(splits, dict):
        raise DataError(f"{path}: damaged, 'splits' is not an object")
    return {k: v for k, v in splits.items() if isinstance(v, dict)}
