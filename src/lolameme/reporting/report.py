"""``lolameme report DIR``: ``report.md``, ``report.json`` and PNG figures from result files.

One section per experiment and scale found in ``DIR/specs``: the paper's tables with our
numbers beside the paper's, the figures with the numbers behind them, the computed
verdicts, the recall-gap table (AR hits vs other tokens), and exact match by item
metadata. Then the calibration runs (tagged cells), the commands that produced the
directory with their wall times, and any failed cell.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lolameme._io import atomic_write_json, atomic_write_text
from lolameme.errors import OutputError
from lolameme.reporting.aggregate import display_name, experiment_rows, summarize
from lolameme.reporting.breakdown import breakdown_json, breakdown_markdown, compute_breakdown
from lolameme.reporting.figures import figure_series, plot_figure, series_json, series_markdown
from lolameme.reporting.recall import recall_json, recall_markdown, recall_table
from lolameme.reporting.results import (
    OK,
    read_invocations,
    read_results,
    read_specs,
)
from lolameme.reporting.tables import build_table, strip_private, table_markdown
from lolameme.reporting.verdicts import compute_verdicts

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
FIGURES_DIR = "figures"


def _paper_order(spec: dict[str, Any]) -> tuple[int, int, str]:
    """Tables before figures, by number, as a reader of the paper looks them up."""
    match = re.match(r"(Table|Figure)\s*(\d+)", spec["paper"]["refs"][0])
    if not match:
        return (2, 0, spec["name"])
    return (0 if match[1] == "Table" else 1, int(match[2]), spec["name"])


def _expected_cells(spec: dict[str, Any]) -> int:
    n = len(spec["models"]) * len(spec["seeds"])
    for axis in spec.get("axes", []):
        n *= len(axis["points"])
    return n


def experiment_section(out: Path, spec: dict[str, Any], frame: Any) -> tuple[str, dict[str, Any]]:
    """The Markdown section and the JSON record of one experiment at one scale."""
    mine = frame[
        (frame["experiment"] == spec["name"])
        & (frame["scale"] == spec["scale"])
        & (frame["tag"].fillna("") == "")
    ]
    rows = experiment_rows(frame, spec)
    failed = mine[mine["status"] != OK]
    expected = _expected_cells(spec)
    refs = ", ".join(spec["paper"]["refs"])
    md = [f"## {refs}: {spec['title']}", ""]
    md.append(
        f"`lolameme experiment run {spec['name']} --scale {spec['scale']}`; "
        f"{len(mine[mine['status'] == OK])} of {expected} cells finished"
        + (f", {len(failed)} failed" if len(failed) else "")
        + "."
    )
    if spec["paper"].get("summary"):
        md += [
            "",
            f"*The paper ({refs}, section {spec['paper'].get('section', '?')}):* "
            f"{spec['paper']['summary']}",
        ]
    notes = [spec["scale_settings"].get("note", "")]
    notes += [a["note"] for a in spec.get("axes", []) if a.get("note")] + spec.get("notes", [])
    if spec.get("overrides"):
        notes.append(f"settings overridden on the command line: {spec['overrides']}")
    if len(mine[mine["status"] == OK]) < expected:
        notes.append("this is a partial grid: rows or points without finished cells show '—'")
    md += [""] + [f"- {n}" for n in notes if n]
    if len(rows):
        secs = summarize(rows["train_seconds"])
        md.append(
            f"- training time per cell: {secs.mean:.0f} s on average "
            f"({rows['train_seconds'].sum() / 60:.1f} min in all)"
        )
    record: dict[str, Any] = {
        "name": spec["name"],
        "scale": spec["scale"],
        "title": spec["title"],
        "paper": spec["paper"],
        "cells_expected": expected,
        "cells_ok": int((mine["status"] == OK).sum()),
        "cells_failed": failed["cell_id"].tolist(),
    }

    tables = [build_table(t, rows, spec) for t in spec.get("tables", [])]
    for table in tables:
        md += ["", table_markdown(table)]
    record["tables"] = [strip_private(t) for t in tables]

    verdicts = compute_verdicts(spec, rows)
    if verdicts:
        md += ["", "### Verdicts (computed from our numbers)", ""]
        md += [f"- {v['line']}" for v in verdicts]
    record["verdicts"] = [
        {k: v[k] for k in ("id", "question", "answer", "evidence")} for v in verdicts
    ]

    recall = recall_table(rows, spec)
    if recall is not None:
        md += ["", recall_markdown(recall)]
        record["recall"] = recall_json(recall)

    record["figures"] = []
    for figure in spec.get("figures", []):
        series = figure_series(figure, rows, spec)
        md += ["", f"### {figure['title']}", ""]
        if not series["panels"]:
            md.append("_Not in this scale's grid._")
            continue
        name = f"{spec['name']}--{spec['scale']}--{figure['id']}.png"
        plot_figure(figure, series, out / FIGURES_DIR / name)
        md += [f"![{figure['id']}]({FIGURES_DIR}/{name})", ""]
        if figure.get("paper_note"):
            md += [f"*Paper:* {figure['paper_note']}", ""]
        md.append(series_markdown(series))
        record["figures"].append(
            {"id": figure["id"], "file": f"{FIGURES_DIR}/{name}", **series_json(series)}
        )

    breakdown = compute_breakdown(out, spec, rows)
    md += [
        "",
        "### Exact match by item metadata",
        "",
        "<details><summary>tables</summary>",
        "",
        breakdown_markdown(breakdown, spec["models"]),
        "",
        "</details>",
    ]
    record["breakdown"] = breakdown_json(breakdown)
    return "\n".join(md), record


def calibration_section(frame: Any) -> tuple[str, list[dict[str, Any]]]:
    """Tagged cells (``--tag``): one line per tag, experiment and model."""
    tagged = frame[(frame["tag"].fillna("") != "") & (frame["status"] == OK)]
    if tagged.empty:
        return "", []
    em_cols = sorted(
        c for c in tagged.columns if c.startswith(("em_", "baseline_")) and tagged[c].notna().any()
    )
    em_cols.sort(key=lambda c: (c.split("_", 1)[1], c))  # each split's EM beside its floor
    head = (
        ["tag", "experiment", "scale", "model", "cells", "--set"]
        + em_cols
        + ["final loss", "train s/cell"]
    )
    md = [
        "## Calibration runs",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    records = []
    keys = ["tag", "experiment", "scale", "model"]
    for key, group in tagged.groupby(keys, sort=True):
        ems = {c: summarize(group[c]) for c in em_cols}
        loss, secs = summarize(group["final_loss"]), summarize(group["train_seconds"])
        sets = " ".join(sorted(set(group["overrides"].fillna("")))) or "—"
        md.append(
            "| "
            + " | ".join(
                [
                    *map(str, key[:3]),
                    display_name(key[3]),
                    str(len(group)),
                    f"`{sets}`" if sets != "—" else sets,
                ]
                + [ems[c].fmt(3) for c in em_cols]
                + [loss.fmt(3), f"{secs.mean:.0f}"]
            )
            + " |"
        )
        records.append(
            {
                **dict(zip(keys, key, strict=True)),
                "cells": len(group),
                "sets": sets,
                **{c: ems[c].to_json() for c in em_cols},
                "final_loss": loss.to_json(),
                "train_seconds": secs.to_json(),
            }
        )
    return "\n".join(md), records


def invocations_section(invocations: list[dict[str, Any]]) -> str:
    if not invocations:
        return ""
    head = ["command", "cells", "already done", "ok", "failed", "wall time"]
    md = [
        "## How this directory was produced",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    for inv in invocations:
        cmd = (
            inv.get("command")
            or f"experiment run {inv.get('experiment')} --scale {inv.get('scale')}"
        )
        wall = float(inv.get("wall_seconds", 0))
        md.append(
            f"| `{cmd}` | {inv.get('cells')} | {inv.get('skipped')} | {inv.get('ok')} | "
            f"{inv.get('failed')} | {wall / 60:.1f} min |"
        )
    return "\n".join(md)


def failures_section(frame: Any) -> str:
    failed = frame[frame["status"] != OK]
    if failed.empty:
        return ""
    md = ["## Failed cells", ""]
    for _, row in failed.iterrows():
        md.append(
            f"- `{row['cell_id']}`: {row.get('error') or 'unknown error'} "
            f"(traceback in `cells/{row['cell_id']}.error.txt`)"
        )
    return "\n".join(md)


def write_report(out: str | Path) -> Path:
    """Write ``report.md``, ``report.json`` and ``figures/`` into ``out``; return report.md."""
    out = Path(out)
    frame = read_results(out)
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"permission denied: cannot write the report into {out} (read-only)")
    if "tag" not in frame.columns:
        frame["tag"] = ""
    specs = sorted(read_specs(out).values(), key=_paper_order)
    md = [
        "# LOLAMEME experiment report",
        "",
        f"Generated by `lolameme report` from `{out.name}/results.parquet` ({len(frame)} cells). "
        "Our numbers are `mean (std)` of exact match over seeds (sample std; one seed shows the "
        "mean alone); the paper's are beside them. Verdicts compare `mean +- std` bands: "
        "overlapping bands are *inconclusive*.",
    ]
    report: dict[str, Any] = {"results": str(out / "results.parquet"), "experiments": []}
    for spec in specs:
        section, record = experiment_section(out, spec, frame)
        md += ["", section]
        report["experiments"].append(record)
    calibration, records = calibration_section(frame)
    report["calibration"] = records
    invocations = read_invocations(out)
    report["invocations"] = invocations
    for block in (calibration, invocations_section(invocations), failures_section(frame)):
        if block:
            md += ["", block]
    atomic_write_json(out / REPORT_JSON, report)
    path = out / REPORT_MD
    atomic_write_text(path, "\n".join(md) + "\n")
    return path
