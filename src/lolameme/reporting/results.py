"""The layout of an experiment output directory, as the report reads it.

The runner (``lolameme.experiments``) writes these files; the report reads only them,
never the training or model code, so a directory copied off a cluster can be reported
anywhere::

    DIR/results.parquet            one row per grid cell (the table every report starts from)
    DIR/specs/NAME--SCALE.json     the resolved experiment spec: layout of tables, figures,
                                   verdicts, the paper's numbers
    DIR/invocations.jsonl          one line per ``experiment run``: command, wall time
    DIR/cells/CELL_ID.json         per-cell bookkeeping (config at start, row at the end)
    DIR/runs/CELL_ID/eval.json     the training run of a cell, with its evaluation
    DIR/data/HASH/                 generated data sets, shared by the cells that use them

The column names of metrics are built here, by :func:`metric_column`, so that the
writer and the reader cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lolameme._io import parquet_frame
from lolameme.errors import DataError

RESULTS_FILE = "results.parquet"
SPECS_DIR = "specs"
CELLS_DIR = "cells"
RUNS_DIR = "runs"
DATA_DIR = "data"
INVOCATIONS_FILE = "invocations.jsonl"
EVAL_JSON = "eval.json"
LOCK_FILE = f".{RESULTS_FILE}.lock"  # created first by every ``experiment run``: the marker

# Columns every results row has, whatever the experiment (axis columns come on top).
BASE_COLUMNS = (
    "experiment",
    "scale",
    "tag",
    "cell_id",
    "model",
    "model_spec",
    "seed",
    "status",
    "final_loss",
    "train_seconds",
    "eval_seconds",
    "n_params",
    "steps",
    "error",
    "fingerprint",
    "overrides",
    "run_dir",
    "data_dir",
    "finished_at",
)
RESULTS_REQUIRED = ("experiment", "scale", "cell_id", "status")  # a results.parquet without
# them was not written by the runner
OK = "ok"
FAILED = "failed"
INCOMPLETE = "incomplete"  # training stopped early on purpose (stop_after); resumes on rerun


def metric_column(metric: str, split: str | None = None) -> str:
    """``em`` on ``test_with_global`` is the column ``em_test_with_global``.

    A metric without a split (``final_loss``, the last training loss) is its own column.
    """
    return f"{metric}_{split}" if split else metric


def is_experiment_dir(path: str | Path) -> bool:
    """Whether ``path`` is an output directory of ``lolameme experiment run``.

    The runner creates :data:`LOCK_FILE` before anything else, so even a run killed in
    its first second is recognised (and resumed) by the next one.
    """
    path = Path(path)
    names = (LOCK_FILE, RESULTS_FILE, SPECS_DIR, CELLS_DIR, INVOCATIONS_FILE)
    return any((path / name).exists() for name in names)


def spec_file(out: Path, experiment: str, scale: str) -> Path:
    return Path(out) / SPECS_DIR / f"{experiment}--{scale}.json"


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
