"""Per-split statistics of a data set, streamed shard by shard (flat memory).

For text data sets: rows, unique labels (the paper reports 2506 for its train set),
label range, program length in characters, the noise share (noise statements over
statements) and, where the split lists the globals it mentions, how often each global
appears (min/median over all globals of ``globals.json``, zeros included).
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from lolameme._io import parquet_batches, parquet_schema
from lolameme.data.store import REQUIRED_COLUMNS, DatasetInfo, open_dataset


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def split_stats(info: DatasetInfo, split: str) -> dict[str, Any]:
    import pyarrow.compute as pc

    out: dict[str, Any] = {"rows": info.rows(split)}
    if info.format != "text":
        return out
    labels: set[str] = set()
    chars = {"min": None, "max": None, "sum": 0}
    noise = statements = 0
    appearances: Counter[str] = Counter()
    has_names = has_noise = False
    for file in info.files(split):
        present = set(parquet_schema(file).names)
        wanted = [
            c for c in ("program", "label", "noise_statements", "n_statements") if c in present
        ]
        has_noise = has_noise or {"noise_statements", "n_statements"} <= present
        if "global_names" in present:
            has_names = True
            wanted.append("global_names")
        for batch in parquet_batches(file, wanted, 65536, REQUIRED_COLUMNS["text"]):
            labels.update(batch.column("label").to_pylist())
            lengths = pc.utf8_length(batch.column("program"))
            if len(lengths):
                low, high = pc.min(lengths).as_py(), pc.max(lengths).as_py()
                chars["min"] = low if chars["min"] is None else min(chars["min"], low)
                chars["max"] = high if chars["max"] is None else max(chars["max"], high)
                chars["sum"] += pc.sum(lengths).as_py()
            if "noise_statements" in batch.schema.names:
                noise += pc.sum(batch.column("noise_statements")).as_py() or 0
                statements += pc.sum(batch.column("n_statements")).as_py() or 0
            if "global_names" in batch.schema.names:
                counts = pc.value_counts(pc.list_flatten(batch.column("global_names")))
                for entry in counts.to_pylist():
                    appearances[entry["values"]] += entry["counts"]
    numbers = [v for v in map(_int_or_none, labels) if v is not None]
    out["unique_labels"] = len(labels)
    out["label_min"] = min(numbers) if numbers else None
    out["label_max"] = max(numbers) if numbers else None
    rows = out["rows"]
    out["program_chars"] = {
        "min": chars["min"],
        "mean": round(chars["sum"] / rows, 2) if rows else None,
        "max": chars["max"],
    }
    if has_noise:
        out["noise_share"] = round(noise / statements, 4) if statements else None
    if has_names:
        everyone = info.globals()
        counts = [appearances.get(name, 0) for name in everyone] or list(appearances.values())
        out["global_appearances"] = {
            "min": min(counts) if counts else 0,
            "median": statistics.median(counts) if counts else 0,
            "total": sum(appearances.values()),
        }
    return out


def dataset_stats(path: str | Path) -> dict[str, Any]:
    """``{"path", "task", "splits": {split: stats}}`` for a data set directory."""
    info = open_dataset(path)
    return {
        "path": str(info.path),
        "task": info.task,
        "splits": {split: split_stats(info, split) for split in info.splits},
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A short human table, one block per split."""
    lines = [f"{stats['path']} (task {stats['task']})"]
    for split, s in stats["splits"].items():
        lines.append(f"  {split}: {s['rows']} rows")
        if "unique_labels" in s:
            lines.append(
                f"    unique labels {s['unique_labels']}, label range "
                f"[{s['label_min']}, {s['label_max']}]"
            )
            c = s["program_chars"]
            lines.append(f"    program chars min {c['min']} mean {c['mean']} max {c['max']}")
        if s.get("noise_share") is not None:
            lines.append(f"    noise share {s['noise_share']}")
        if "global_appearances" in s:
            g = s["global_appearances"]
            lines.append(
                f"    global appearances min {g['min']} median {g['median']} total {g['total']}"
            )
    return "\n".join(lines)
