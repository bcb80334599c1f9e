"""The recall-gap table of an experiment: loss and accuracy on AR hits vs other tokens.

Zoology's analysis (``lolameme.evaluation.recall``): every evaluated prediction is
either an *AR hit* (it completes a bigram already seen in the same sequence) or not.
The runner copies both groups' loss and accuracy per split into the results rows
(``ar_hits_loss_SPLIT``, ``other_acc_SPLIT``, ...); this table shows their mean over
seeds per model, so one sees whether the models differ on recall or everywhere. Rows
without those columns (results from before the split existed) give no table.
"""

from __future__ import annotations

from typing import Any

from lolameme.reporting.aggregate import Stat, display_name, stat

# (metric, header): loss first, the quantity the gap is usually stated in
COLUMNS = (
    ("ar_hits_loss", "AR-hit loss"),
    ("other_loss", "other loss"),
    ("ar_hits_acc", "AR-hit acc"),
    ("other_acc", "other acc"),
)


def recall_table(rows: Any, spec: dict[str, Any]) -> dict[str, Any] | None:
    """``{"splits", "models", "cells": {model: {split: {metric: Stat}}}}``, or None."""
    splits = [s for s in spec["splits"] if f"ar_hits_loss_{s}" in rows.columns]
    if not splits:
        return None
    models = [m for m in spec["models"] if (rows["model"] == m).any()]
    cells = {
        m: {s: {metric: stat(rows, m, metric, s) for metric, _ in COLUMNS} for s in splits}
        for m in models
    }
    return {"splits": splits, "models": models, "cells": cells}


def recall_markdown(table: dict[str, Any]) -> str:
    head = ["model"] + [f"{label} ({s})" for s in table["splits"] for _, label in COLUMNS]
    lines = [
        "### Recall gap: AR hits vs other tokens",
        "",
        "Teacher-forced next-token loss and accuracy on predictions that complete a bigram "
        "already seen in the same sequence (AR hits, zoology's associative-recall tokens) "
        "and on all other predictions; mean (std) over seeds.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for model in table["models"]:
        values = [
            table["cells"][model][s][metric].fmt(3)
            for s in table["splits"]
            for metric, _ in COLUMNS
        ]
        lines.append("| " + " | ".join([display_name(model), *values]) + " |")
    return "\n".join(lines)


def recall_json(table: dict[str, Any]) -> dict[str, Any]:
    def cell(stats: dict[str, Stat]) -> dict[str, Any]:
        return {metric: s.to_json() for metric, s in stats.items()}

    return {
        "splits": table["splits"],
        "models": {
            m: {s: cell(table["cells"][m][s]) for s in table["splits"]} for m in table["models"]
        },
    }
