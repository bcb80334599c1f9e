"""Curves of a metric against one axis: one line per model, mean with a +-std band.

The paper's figures print no numbers, so each figure also returns the numbers behind it
(``series``) for ``report.json`` and for a table under the picture in ``report.md``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from lolameme._io import atomic_path
from lolameme.errors import OutputError
from lolameme.reporting.aggregate import (
    display_name,
    in_grid,
    metric_name,
    stat,
    summarize,
    where,
)
from lolameme.runs.layout import metric_column


def figure_series(figure: dict[str, Any], rows: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """``{"x", "points", "panels": [{"panel", "lines": {model: [Stat per x point]},
    "baseline", "in_grid"}], "task"}``.

    Every panel of the spec is kept, so the figure has the paper's layout (zoology's
    Figure 2: one panel per sequence length); a panel whose slice is outside this scale's
    grid (a reduced CPU grid has no seq_len 256) has ``in_grid`` false and no lines.
    """
    axis = next(a for a in spec["axes"] if a["name"] == figure["x"])
    points = axis["points"]
    scoped = where(rows, spec, figure.get("where", {}))
    panels = []
    for panel in figure["panels"]:
        if not in_grid(spec, {**figure.get("where", {}), **panel.get("where", {})}):
            panels.append({"panel": panel, "lines": {}, "baseline": None, "in_grid": False})
            continue
        panel_rows = where(scoped, spec, panel.get("where", {}))
        lines = {}
        for model in figure["models"]:
            lines[model] = [
                stat(
                    where(panel_rows, spec, {figure["x"]: p["value"]}),
                    model,
                    panel.get("metric", "em"),
                    panel.get("split"),
                )
                for p in points
            ]
        baseline = None
        column = metric_column("baseline", panel.get("split"))
        if panel.get("metric", "em") == "em" and column in panel_rows.columns:
            baseline = [
                summarize(where(panel_rows, spec, {figure["x"]: p["value"]})[column])
                for p in points
            ]
        panels.append({"panel": panel, "lines": lines, "baseline": baseline, "in_grid": True})
    return {"x": axis, "points": points, "panels": panels, "task": spec.get("task")}


def _label(panel: dict[str, Any]) -> str:
    if panel.get("title"):
        return panel["title"]
    return f"{metric_name(panel.get('metric', 'em'))} {panel.get('split') or ''}".strip()


def drawn(series: dict[str, Any]) -> bool:
    """Whether any panel of the figure is inside this scale's grid."""
    return any(item["in_grid"] for item in series["panels"])


def plot_figure(figure: dict[str, Any], series: dict[str, Any], path: Path) -> Path:
    """Draw the figure (matplotlib, Agg backend) and write it atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = series["points"]
    numeric = all(
        isinstance(p["value"], (int, float)) and not isinstance(p["value"], bool) for p in points
    )
    xs = [p["value"] if numeric else i for i, p in enumerate(points)]
    panels = series["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.9), squeeze=False)
    for ax, item in zip(axes[0], panels, strict=True):
        for model, stats in item["lines"].items():
            have = [(x, s) for x, s in zip(xs, stats, strict=True) if s.n]
            if not have:
                continue
            hx = [x for x, _ in have]
            mean = [s.mean for _, s in have]
            (line,) = ax.plot(hx, mean, marker="o", ms=3, label=display_name(model))
            band = [s.band for _, s in have]
            if any(band):
                lo = [m - b for m, b in zip(mean, band, strict=True)]
                hi = [m + b for m, b in zip(mean, band, strict=True)]
                ax.fill_between(hx, lo, hi, color=line.get_color(), alpha=0.18, linewidth=0)
        if item.get("baseline"):
            have = [(x, s.mean) for x, s in zip(xs, item["baseline"], strict=True) if s.n]
            if have:
                ax.plot(
                    *zip(*have, strict=True), ls="--", color="grey", lw=1, label="majority label"
                )
        ax.set_xticks(xs)
        ax.set_xticklabels(
            [p["label"] for p in points], rotation=30 if not numeric else 0, fontsize=8
        )
        ax.set_xlabel(series["x"].get("label") or series["x"]["name"])
        ax.set_ylabel(metric_name(item["panel"].get("metric", "em"), series.get("task")))
        ax.set_title(_label(item["panel"]), fontsize=10)
        if not item["in_grid"]:
            ax.text(
                0.5,
                0.5,
                "not in this scale's grid",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="grey",
            )
        ax.grid(alpha=0.3)
    labelled = [ax for ax in axes[0] if ax.get_legend_handles_labels()[0]]
    if labelled:  # the first panel with lines (a panel of a partial grid may be empty)
        labelled[0].legend(fontsize=8)
    _share_scales(axes[0], panels)
    # wrapped to the figure's width: a one-panel figure is narrower than most titles
    fig.suptitle(textwrap.fill(figure["title"], width=48 * len(panels)), fontsize=11)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    except OSError as exc:  # its own message would name the temporary file
        raise OutputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        plt.close(fig)
    return path


def _share_scales(axes: Any, panels: list[dict[str, Any]]) -> None:
    """Panels of one metric share their y range (so heights compare across panels, as in
    zoology's Figure 2), and an empty panel takes the drawn panels' x range."""
    pairs = list(zip(axes, panels, strict=True))
    drawn_axes = [ax for ax, item in pairs if item["in_grid"]]
    if not drawn_axes:
        return
    for metric in {item["panel"].get("metric", "em") for _, item in pairs}:
        group = [(ax, item) for ax, item in pairs if item["panel"].get("metric", "em") == metric]
        limits = [ax.get_ylim() for ax, item in group if item["in_grid"]]
        if not limits:
            continue
        for ax, _ in group:
            ax.set_ylim(min(lo for lo, _ in limits), max(hi for _, hi in limits))
    for ax, item in pairs:
        if not item["in_grid"]:
            ax.set_xlim(*drawn_axes[0].get_xlim())


def series_markdown(series: dict[str, Any]) -> str:
    """The numbers behind each panel: models as rows, x points as columns."""
    blocks = []
    for item in series["panels"]:
        if not item["in_grid"]:
            blocks.append(f"*{_label(item['panel'])}*: not in this scale's grid.")
            continue
        head = ["Model"] + [p["label"] for p in series["points"]]
        lines = [
            f"*{_label(item['panel'])}*",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "|".join("---" for _ in head) + "|",
        ]
        for model, stats in item["lines"].items():
            lines.append("| " + " | ".join([display_name(model)] + [s.fmt() for s in stats]) + " |")
        if item.get("baseline"):
            cells = ["*majority label*"] + [
                f"{s.mean:.4f}" if s.n else "" for s in item["baseline"]
            ]
            lines.append("| " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def series_json(series: dict[str, Any]) -> dict[str, Any]:
    def panel(item: dict[str, Any]) -> dict[str, Any]:
        lines = {m: [s.to_json() for s in stats] for m, stats in item["lines"].items()}
        base = [s.to_json() for s in item["baseline"]] if item.get("baseline") else None
        return {**item["panel"], "lines": lines, "baseline": base, "in_grid": item["in_grid"]}

    return {
        "x": series["x"]["name"],
        "points": series["points"],
        "panels": [panel(i) for i in series["panels"]],
    }
