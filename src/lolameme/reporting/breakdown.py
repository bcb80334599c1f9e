"""Exact match broken down by item metadata (dependency depth, globals used, noise, latent
modifications: ``lolameme.runs.layout.BREAKDOWN_FIRST``).

Each run's ``eval.json`` holds, per split, ``by: {field: {value: {"n", "em"}}}``. Here the
runs of one model are averaged (mean and std over seeds) for every field value, so the
report can say *where* a model fails: deep dependency chains, many globals, noise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lolameme.reporting.aggregate import EMPTY, Stat, display_name, summarize, where
from lolameme.reporting.results import read_eval
from lolameme.runs.layout import BREAKDOWN_FIRST, breakdown_order


def _value_key(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def compute_breakdown(out: Path, spec: dict[str, Any], rows: Any) -> dict[str, Any]:
    """``{split: {field: {value: {model: Stat}}}}`` for the spec's breakdown settings."""
    settings = spec.get("breakdown") or {}
    rows = where(rows, spec, settings.get("where", {}))
    splits = settings.get("splits") or spec["splits"]
    wanted = settings.get("fields")
    collected: dict[str, dict[str, dict[str, dict[str, list[float]]]]] = {}
    for _, row in rows.iterrows():
        evals = read_eval(out, row["run_dir"])
        for split in splits:
            for field, values in (evals.get(split, {}).get("by") or {}).items():
                if wanted and field not in wanted:
                    continue
                for value, item in values.items():
                    em = item.get("em") if isinstance(item, dict) else None
                    if em is None:
                        continue
                    (
                        collected.setdefault(split, {})
                        .setdefault(field, {})
                        .setdefault(str(value), {})
                        .setdefault(row["model"], [])
                        .append(float(em))
                    )
    result: dict[str, Any] = {}
    for split, fields in collected.items():
        # a field with one value tells nothing (e.g. the language of a LoLa-only set)
        fields = {f: v for f, v in fields.items() if len(v) > 1 or wanted}
        if not wanted and any(f in BREAKDOWN_FIRST for f in fields):
            fields = {f: v for f, v in fields.items() if f in BREAKDOWN_FIRST}
        order = breakdown_order(fields)
        result[split] = {
            field: {
                value: {m: summarize(ems) for m, ems in fields[field][value].items()}
                for value in sorted(fields[field], key=_value_key)
            }
            for field in order
        }
    return result


def breakdown_markdown(breakdown: dict[str, Any], models: list[str]) -> str:
    if not breakdown:
        return "_No per-item metadata in the runs' eval.json._"
    blocks = []
    for split, fields in breakdown.items():
        for field, values in fields.items():
            head = [field] + [display_name(m) for m in models]
            lines = [
                f"*{split}, by {field}*",
                "",
                "| " + " | ".join(head) + " |",
                "|" + "|".join("---" for _ in head) + "|",
            ]
            for value, per_model in values.items():
                cells = [per_model.get(m, EMPTY).fmt(3) for m in models]
                lines.append("| " + " | ".join([value] + cells) + " |")
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def breakdown_from_json(data: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`breakdown_json` (a ``null`` std is an unknown spread)."""

    def back(s: dict[str, Any]) -> Stat:
        return Stat(
            math.nan if s.get("mean") is None else float(s["mean"]),
            math.nan if s.get("std") is None else float(s["std"]),
            int(s.get("n", 0)),
        )

    return {
        split: {
            field: {v: {m: back(s) for m, s in per.items()} for v, per in values.items()}
            for field, values in fields.items()
        }
        for split, fields in data.items()
    }


def breakdown_json(breakdown: dict[str, Any]) -> dict[str, Any]:
    return {
        split: {
            field: {v: {m: s.to_json() for m, s in per.items()} for v, per in values.items()}
            for field, values in fields.items()
        }
        for split, fields in breakdown.items()
    }
