"""Tables in the paper's layout: one row per model, our ``mean (std)`` beside the paper's.

Every row the spec names appears, also when its cells did not run (shown as ``—``), so a
partial grid reads as partial rather than as a shorter table.
"""

from __future__ import annotations

from typing import Any

from lolameme.reporting.aggregate import Stat, display_name, stat, where


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
    return {
        "id": table["id"],
        "title": table["title"],
        "caption": table.get("caption", ""),
        "columns": [{"id": c["id"], "label": c["label"]} for c in table["columns"]],
        "has_paper": bool(table.get("paper")),
        "paper_note": table.get("paper_note", ""),
        "rows": out_rows,
    }


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
    notes = [n for n in (built["caption"], built["paper_note"]) if n]
    if notes:
        lines += ["", "; ".join(notes) + "."]
    return "\n".join(lines)


def strip_private(built: dict[str, Any]) -> dict[str, Any]:
    """The table without in-memory objects, for ``report.json``."""
    rows = [
        {**r, "cells": [{k: v for k, v in c.items() if not k.startswith("_")} for c in r["cells"]]}
        for r in built["rows"]
    ]
    return {**built, "rows": rows}
