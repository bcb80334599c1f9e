"""Reading an experiment's output directory (laid out in :mod:`lolameme.runs.layout`).

Only the files: never the training or model code, so a directory copied off a cluster
can be reported anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lolameme.errors import DataError
from lolameme.runs.layout import EVAL_JSON, INVOCATIONS_FILE, RESULTS_FILE, SPECS_DIR


def read_results(out: str | Path) -> Any:
    """The results table of ``out`` as a pandas DataFrame, or a clear error."""
    import pandas as pd

    path = Path(out) / RESULTS_FILE
    if not path.is_file():
        raise DataError(
            f"no {RESULTS_FILE} in {out} (run 'lolameme experiment run NAME --out {out}' first)"
        )
    return pd.read_parquet(path)


def read_specs(out: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every resolved spec in ``out``, keyed by ``(experiment, scale)``."""
    specs = {}
    for path in sorted((Path(out) / SPECS_DIR).glob("*.json")):
        spec = json.loads(path.read_text())
        specs[(spec["name"], spec["scale"])] = spec
    return specs


def read_invocations(out: str | Path) -> list[dict[str, Any]]:
    path = Path(out) / INVOCATIONS_FILE
    if not path.is_file():
        return []
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash
            continue
    return lines


def read_eval(out: str | Path, run_dir: str) -> dict[str, dict[str, Any]]:
    """Per-split evaluation summaries of one run: ``{split: {"em", "loss", "by", ...}}``.

    ``eval.json`` keeps its splits either at the top level or under ``"splits"``;
    both are accepted. A missing file gives ``{}`` (a failed cell has none).
    """
    path = Path(out) / run_dir / EVAL_JSON
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    splits = data.get("splits", data)
    return {k: v for k, v in splits.items() if isinstance(v, dict)}
