"""Synthetic experiment directories: results.parquet, specs/*.json and eval.json written
directly, with the numbers a test chooses, so the report is tested on its inputs alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lolameme._io import atomic_write_json
from lolameme.experiments.grid import Selection, expand
from lolameme.experiments.runner import resolved_spec
from lolameme.experiments.spec_loader import load_spec
from lolameme.runs.layout import RUNS_DIR, spec_file

# em(model, seed, settings, split) -> exact match of that cell
EmFn = Callable[[str, int, dict[str, Any], str], float | None]


def write_synthetic(
    out: Path,
    name: str,
    em: EmFn,
    *,
    scale: str = "tiny",
    models: list[str] | None = None,
    tag: str = "",
) -> pd.DataFrame:
    """Write what ``experiment run`` would have written, with chosen numbers."""
    spec = load_spec(name)
    if not tag:
        atomic_write_json(spec_file(out, name, scale), resolved_spec(spec.at(scale), {}))
    rows = []
    for cell in expand(spec.at(scale), Selection(models=models, tag=tag)):
        row: dict[str, Any] = {
            "experiment": name,
            "scale": scale,
            "tag": tag,
            "cell_id": cell.cell_id,
            "model": cell.model,
            "seed": cell.seed,
            "status": "ok",
            "error": "",
            "final_loss": 1.0,
            "train_seconds": 60.0,
            "eval_seconds": 5.0,
            "n_params": 10,
            "steps": 3,
            "fingerprint": cell.fingerprint,
            "overrides": "data.GLOBALVAR_COUNT=3" if tag else "",
            "run_dir": f"{RUNS_DIR}/{cell.cell_id}",
            **cell.settings,
        }
        splits = {}
        for split in cell.splits:
            value = em(cell.model, cell.seed, cell.settings, split)
            if value is None:
                continue
            row[f"em_{split}"] = value
            row[f"token_accuracy_{split}"] = value  # the metric of token tasks (MQAR)
            row[f"baseline_{split}"] = 0.05
            row[f"loss_{split}"] = 2.0 - value
            splits[split] = {
                "em": value,
                "loss": 2.0 - value,
                "by": {
                    "dependency_depth": {
                        "1": {"n": 4, "em": value},
                        "3": {"n": 4, "em": value / 2},
                    },
                    "latent_mods": {"0": {"n": 6, "em": value}, "2": {"n": 2, "em": 0.0}},
                    "language": {"lola": {"n": 8, "em": value}},
                    "answer_tokens": {"1": {"n": 4, "em": value}, "2": {"n": 4, "em": 0.0}},
                },
            }
        run_dir = out / row["run_dir"]
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "eval.json").write_text(json.dumps({"splits": splits}))
        rows.append(row)
    frame = pd.DataFrame(rows)
    path = out / "results.parquet"
    if path.exists():
        frame = pd.concat([pd.read_parquet(path), frame], ignore_index=True)
    frame.to_parquet(path, index=False)
    return frame


@pytest.fixture
def synthetic() -> Callable[..., pd.DataFrame]:
    """``synthetic(out, name, em, scale=..., models=..., tag=...)``."""
    return write_synthetic
