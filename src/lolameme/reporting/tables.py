"""Tables in the paper's layout: one row per model, our ``mean (std)`` beside the paper's.

Every row the spec names appears, also when its cells did not run (shown as ``—``), so a
partial grid reads as partial rather than as a shorter table.
"""

from __future__ import annotations

from typing import Any

from lolameme.reporting.aggregate import EMPTY, Stat, display_name, stat, summarize, where
from lolameme.runs.layout import metric_column

BASELINE_LABEL = "*majority label*"


def paper_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return f"{value[0]:.4f} ({value[1]:.4f})"
    return f"{float(value):.4f}"


def build_table(table: dict[str, Any], rows: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Our statistics and the paper's numbers for every row and column of ``table``."""
    scoped = where(rows, spec, table.get("where", {}))
    out_rows = []
    for model in table["rows"]:
        cells = []
        for col in table["columns"]:
            sliced = where(scoped, spec, col.get("where", {}))
            ours: Stat = stat(sliced, model, col.get("metric", "em"), col.get("split"))
            paper = table.get("paper", {}).get(model, {}).get(col["id"])
            cells.append(
                {"column": col["id"], "ours": ours.to_json(), "paper": paper, "_stat": ours}
            )
        out_rows.append({"model": model, "label": display_name(model), "cells": cells})
    baseline = _baseline_row(table, scoped, spec)
    return {
        "id": table["id"],
        "title": table["title"],
        "caption": table.get("caption", ""),
        "columns": [{"id": c["id"], "label": c["label"]} for c in table["columns"]],
        "has_paper": bool(table.get("paper")),
        "paper_note": table.get("paper_note", ""),
        "rows": out_rows,
        "baseline": baseline,
    }


def _baseline_row(
    table: dict[str, Any], scoped: Any, spec: dict[str, Any]
) -> dict[str, Any] | None:
    """Exact match of always answering the most frequent training label, per column."""
    cells, found = [], False
    for col in table["columns"]:
        column = metric_column("baseline", col.get("split"))
        ours = EMPTY
        if col.get("metric", "em") == "em" and col.get("split") and column in scoped.columns:
            ours = summarize(where(scoped, spec, col.get("where", {}))[column])
            found |= ours.n > 0
        cells.append({"column": col["id"], "ours": ours.to_json(), "paper": None, "_stat": ours})
    return {"model": None, "label": BASELINE_LABEL, "cells": cells} if found else None


def table_markdown(built: dict[str, Any]) -> str:
    """A Markdown table; with the paper's numbers, each column is ``ours | paper``."""
    head = ["Model"]
    for col in built["columns"]:
        head += (
            [f"{col['label']} (ours)", f"{col['label']} (paper)"]
            if built["has_paper"]
            else [col["label"]]
        )
    head.append("seeds")
    lines = [f"**{built['title']}**", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for row in built["rows"]:
        cells = [row["label"]]
        seeds = set()
        for cell in row["cells"]:
            ours: Stat = cell["_stat"]
            seeds.add(ours.n)
            cells.append(ours.fmt())
            if built["has_paper"]:
                cells.append(paper_text(cell["paper"]))
        cells.append("/".join(str(n) for n in sorted(seeds)))
        lines.append("| " + " | ".join(cells) + " |")
    if built.get("baseline"):
        cells = [built["baseline"]["label"]]
        for cell in built["baseline"]["cells"]:
            cells.append(f"{cell['_stat'].mean:.4f}" if cell["_stat"].n else "")  # one per data set
            if built["has_paper"]:
                cells.append("")
        lines.append("| " + " | ".join(cells + [""]) + " |")
    notes = [n for n in (built["caption"], built["paper_note"]) if n]
    if built.get("baseline"):
        notes.append(
            "*majority label*: the exact match of always answering the most frequent "
            "training label, the floor a model must clear"
        )
    if notes:
        lines += ["", "; ".join(notes) + "."]
    return "\n".join(lines)


def strip_private(built: dict[str, Any]) -> dict[str, Any]:
    """The table without in-memory objects, for ``report.json``."""

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        cells = [{k: v for k, v in c.items() if not k.startswith("_")} for c in row["cells"]]
        return {**row, "cells": cells}

    baseline = clean(built["baseline"]) if built.get("baseline") else None
    return {**built, "rows": [clean(r) for r in built["rows"]], "baseline": baseline}
