"""``lolameme report DIR``: ``report.md``, ``report.json`` and PNG figures from result files.

One section per experiment and scale found in ``DIR/specs``: the paper's tables with our
numbers beside the paper's, the figures with the numbers behind them, the computed
verdicts, the recall-gap table (AR hits vs other tokens), and exact match by item
metadata. Then the runs of the other tags (calibration runs), the commands that produced
the directory with their wall times, and any failed cell.

One tag (``--tag`` of ``experiment run``; ``""`` is untagged) fills an experiment's
tables: the one asked for, else the latest tag that covers the whole grid (every model
at every axis point, any seed), else the one covering most of it.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from lolameme._io import atomic_write_json, atomic_write_text
from lolameme.errors import DataError, OutputError
from lolameme.reporting.aggregate import (
    display_name,
    experiment_rows,
    metric_name,
    name_footnote,
    summarize,
)
from lolameme.reporting.breakdown import (
    breakdown_from_json,
    breakdown_json,
    breakdown_markdown,
    compute_breakdown,
)
from lolameme.reporting.figures import (
    drawn,
    figure_series,
    plot_figure,
    series_json,
    series_markdown,
)
from lolameme.reporting.recall import recall_json, recall_markdown, recall_table
from lolameme.reporting.results import (
    check_metric_columns,
    read_invocations,
    read_results,
    read_specs,
)
from lolameme.reporting.tables import build_table, strip_private, table_markdown
from lolameme.reporting.verdicts import compute_verdicts
from lolameme.runs.layout import OK, RESULTS_FILE

REPORT_MD = "report.md"
REPORT_JSON = "report.json"
FIGURES_DIR = "figures"


def _paper_order(spec: dict[str, Any]) -> tuple[int, int, str]:
    """Tables before figures, by number, as a reader of the paper looks them up."""
    match = re.match(r"(Table|Figure)\s*(\d+)", spec["paper"]["refs"][0])
    if not match:
        return (2, 0, spec["name"])
    return (0 if match[1] == "Table" else 1, int(match[2]), spec["name"])


def _grid_points(spec: dict[str, Any]) -> int:
    """Models times axis points: the grid's cells for one seed."""
    return len(spec["models"]) * math.prod(len(a["points"]) for a in spec.get("axes", []))


def _expected_cells(spec: dict[str, Any], seeds_run: set[int]) -> int:
    """Grid cells over the spec's seeds and any other seed that ran (``--seeds 1,2`` adds
    seeds to a spec whose scale lists only 0: they are part of the grid that ran)."""
    return _grid_points(spec) * len(set(spec["seeds"]) | seeds_run)


def _coverage(rows: Any, spec: dict[str, Any]) -> int:
    """How many grid points (model and axis values, any seed) have a finished cell."""
    keys = ["model"] + [a["name"] for a in spec.get("axes", []) if a["name"] in rows.columns]
    rows = rows[rows["model"].isin(spec["models"])]
    return len(rows[keys].astype(str).drop_duplicates())


def _cell_sets(cells: Any) -> list[str]:
    """The distinct `--set` flags the cells ran with (each cell's as one string)."""
    return sorted(set(cells["overrides"].fillna("")) - {""})


def choose_tag(frame: Any, spec: dict[str, Any], wanted: str | None = None) -> str:
    """The tag whose cells fill the tables: ``wanted``, else the latest complete one, else
    the one covering most of the grid (the latest on a tie)."""
    mine = frame[
        (frame["experiment"] == spec["name"])
        & (frame["scale"] == spec["scale"])
        & (frame["status"] == OK)
    ]
    tags = mine["tag"].fillna("")
    if wanted is not None:
        if wanted and wanted not in set(tags):
            have = ", ".join(sorted(repr(t) for t in set(tags))) or "none"
            raise DataError(
                f"no finished cells of {spec['name']} ({spec['scale']}) have tag {wanted!r}; "
                f"tags: {have}"
            )
        return wanted
    if mine.empty:
        return ""
    finished = (
        mine["finished_at"].fillna("").astype(str) if "finished_at" in mine else tags.map(str)
    )
    best = max(
        set(tags),
        key=lambda tag: (
            _coverage(experiment_rows(frame, spec, tag), spec),
            finished[tags == tag].max(),
        ),
    )
    return str(best)


def experiment_section(
    out: Path,
    spec: dict[str, Any],
    frame: Any,
    *,
    tag: str = "",
    previous: dict[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The Markdown section and the JSON record of one experiment at one scale and tag.

    ``previous`` is this experiment's record in an earlier ``report.json``: its breakdown
    is kept when the runs' ``eval.json`` files are no longer in ``out`` (a committed
    results directory keeps the results table, not the runs).
    """
    mine = frame[
        (frame["experiment"] == spec["name"])
        & (frame["scale"] == spec["scale"])
        & (frame["tag"].fillna("") == tag)
    ]
    rows = experiment_rows(frame, spec, tag)
    failed = mine[mine["status"] != OK]
    expected = _expected_cells(spec, {int(s) for s in rows["seed"]})
    refs = ", ".join(spec["paper"]["refs"])
    md = [f"## {refs}: {spec['title']}", ""]
    md.append(
        f"`lolameme experiment run {spec['name']} --scale {spec['scale']}`"
        + (f" (tag `{tag}`)" if tag else "")
        + f"; {len(mine[mine['status'] == OK])} of {expected} cells finished"
        + (f", {len(failed)} failed" if len(failed) else "")
        + "."
    )
    other_tags = set(
        frame.loc[
            (frame["experiment"] == spec["name"]) & (frame["scale"] == spec["scale"]), "tag"
        ].fillna("")
    ) - {tag}
    if other_tags:
        md.append(
            "The tables show "
            + (f"the cells tagged `{tag}`" if tag else "the untagged cells")
            + "; the other runs ("
            + ", ".join(f"`{t}`" if t else "untagged" for t in sorted(other_tags))
            + ") are under *Calibration runs* (`lolameme report DIR --tag TAG` picks another)."
        )
    if spec["paper"].get("summary"):
        md += [
            "",
            f"*The paper ({refs}, section {spec['paper'].get('section', '?')}):* "
            f"{spec['paper']['summary']}",
        ]
    notes = [spec["scale_settings"].get("note", "")]
    notes += [a["note"] for a in spec.get("axes", []) if a.get("note")] + spec.get("notes", [])
    # The cells' own `--set` flags, not the spec's: a tagged table's cells may have run
    # with other flags than the run that wrote the spec.
    sets = _cell_sets(mine)
    if sets:
        notes.append(
            "settings overridden on the command line: " + "; ".join(f"`{s}`" for s in sets)
        )
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
        "tag": tag,
        "title": spec["title"],
        "paper": spec["paper"],
        "cells_expected": expected,
        "cells_ok": int((mine["status"] == OK).sum()),
        "cells_failed": failed["cell_id"].tolist(),
    }

    tables = [build_table(t, rows, spec) for t in spec.get("tables", [])]
    for table in tables:
        md += ["", table_markdown(table)]
    footnote = name_footnote(spec["models"])
    if footnote:
        md += ["", f"Models (layer patterns, `lolameme models --help`): {footnote}."]
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
        if not drawn(series):
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
    runs_here = any((out / str(r)).is_dir() for r in rows["run_dir"])
    kept = ""
    if not breakdown and not runs_here and previous and previous.get("tag", "") == tag:
        breakdown = breakdown_from_json(previous.get("breakdown") or {})
        kept = (
            "_Kept from the previous `report.json`: the runs' `eval.json` files are not in "
            "this directory._"
        )
    record["breakdown"] = breakdown_json(breakdown)
    if not breakdown and (runs_here or spec.get("task") == "mqar" or rows.empty):
        return "\n".join(md), record  # items without metadata (MQAR): nothing to break down
    md += ["", "### Exact match by item metadata", ""]
    if not breakdown:
        md.append("_No breakdown: the runs' `eval.json` files are not in this directory._")
        return "\n".join(md), record
    md += [
        *([kept, ""] if kept else []),
        "<details><summary>tables</summary>",
        "",
        breakdown_markdown(breakdown, spec["models"]),
        "",
        "</details>",
    ]
    return "\n".join(md), record


def calibration_section(
    frame: Any, main: dict[tuple[str, str], str] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The cells of every tag that does not fill its experiment's tables (``main`` maps
    ``(experiment, scale)`` to that tag; untagged cells count as the tag ``""``): one line
    per tag, experiment and model."""
    main = main or {}
    tags = frame["tag"].fillna("")
    in_tables = [
        main.get((e, s), "") == t
        for e, s, t in zip(frame["experiment"], frame["scale"], tags, strict=True)
    ]
    tagged = frame[~_mask(in_tables, frame.index) & (frame["status"] == OK)]
    if tagged.empty:
        return "", []
    em_cols = sorted(
        c for c in tagged.columns if c.startswith(("em_", "baseline_")) and tagged[c].notna().any()
    )
    em_cols.sort(key=lambda c: (c.split("_", 1)[1], c))  # each split's EM beside its floor
    head = (
        ["tag", "experiment", "scale", "model", "cells", "steps", "--set"]
        + [_column_label(c) for c in em_cols]
        + ["final loss", "train s/cell"]
    )
    md = [
        "## Calibration runs",
        "",
        "Cells of the tags that do not fill the tables above (untagged: no `--tag`).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    records = []
    keys = ["tag", "experiment", "scale", "model"]
    for key, group in tagged.groupby(keys, sort=True):
        ems = {c: summarize(group[c]) for c in em_cols}
        loss, secs = summarize(group["final_loss"]), summarize(group["train_seconds"])
        sets = " ".join(_cell_sets(group)) or "—"
        steps = "/".join(str(int(s)) for s in sorted(set(group["steps"].dropna())))
        md.append(
            "| "
            + " | ".join(
                [
                    str(key[0]) or "(untagged)",
                    *map(str, key[1:3]),
                    display_name(key[3]),
                    str(len(group)),
                    steps or "—",
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


def _column_label(column: str) -> str:
    """``baseline_test`` -> ``majority label (test)``, ``em_test`` -> ``EM (test)``."""
    metric, split = column.split("_", 1)
    return f"{'majority label' if metric == 'baseline' else 'EM'} ({split})"


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


def _mask(values: list[bool], index: Any) -> Any:
    """A boolean pandas Series over ``index`` (pandas is imported by the caller's frame)."""
    import pandas as pd

    return pd.Series(values, index=index, dtype=bool)


def _metrics(spec: dict[str, Any]) -> list[str]:
    """The metrics an experiment's tables and figures show, in order of appearance."""
    found = [c.get("metric", "em") for t in spec.get("tables", []) for c in t["columns"]]
    found += [p.get("metric", "em") for f in spec.get("figures", []) for p in f["panels"]]
    return [metric_name(m, spec.get("task")) for m in dict.fromkeys(found or ["em"])]


def _previous_records(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The experiment records of the ``report.json`` being replaced, if any."""
    try:
        old = json.loads((out / REPORT_JSON).read_text())
        return {(e["name"], e["scale"]): e for e in old.get("experiments", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_report(out: str | Path, tag: str | None = None) -> Path:
    """Write ``report.md``, ``report.json`` and ``figures/`` into ``out``; return report.md.

    ``tag`` picks the cells that fill every experiment's tables (``""``: untagged); by
    default each experiment takes its latest complete tag (see the module docstring).
    """
    out = Path(out)
    frame = read_results(out)
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"permission denied: cannot write the report into {out} (read-only)")
    if "tag" not in frame.columns:
        frame["tag"] = ""
    specs = sorted(read_specs(out).values(), key=_paper_order)
    splits = list(dict.fromkeys(s for spec in specs for s in spec.get("splits") or []))
    check_metric_columns(frame, out / RESULTS_FILE, splits)
    for name in (REPORT_JSON, REPORT_MD):  # before any work: its error would name a temp file
        if (out / name).exists() and not (out / name).is_file():
            raise OutputError(f"cannot write {out / name}: it exists and is not a file")
    metrics = list(dict.fromkeys(m for spec in specs for m in _metrics(spec)))
    md = [
        "# LOLAMEME experiment report",
        "",
        f"Generated by `lolameme report` from `{out.name}/results.parquet` ({len(frame)} cells). "
        f"Our numbers are `mean (std)` over seeds of {', '.join(metrics)} "
        "(sample std; one seed shows the mean alone); the paper's are beside them. Verdicts "
        "compare `mean +- std` bands: overlapping bands are *inconclusive*.",
    ]
    report: dict[str, Any] = {"results": "results.parquet", "experiments": []}
    previous = _previous_records(out)
    main: dict[tuple[str, str], str] = {}
    for spec in specs:
        key = (spec["name"], spec["scale"])
        main[key] = choose_tag(frame, spec, tag)
        section, record = experiment_section(
            out, spec, frame, tag=main[key], previous=previous.get(key)
        )
        md += ["", section]
        report["experiments"].append(record)
    calibration, records = calibration_section(frame, main)
    report["calibration"] = records
    invocations = read_invocations(out)
    report["invocations"] = invocations
    for block in (calibration, invocations_section(invocations), failures_section(frame)):
        if block:
            md += ["", block]
    path = out / REPORT_MD
    for target, write in (
        (out / REPORT_JSON, lambda: atomic_write_json(out / REPORT_JSON, report)),
        (path, lambda: atomic_write_text(path, "\n".join(md) + "\n")),
    ):
        try:
            write()
        except OSError as exc:  # its own message would name the temporary file
            raise OutputError(
                f"cannot write {target}: {exc.strerror or type(exc).__name__}"
            ) from None
    return path
