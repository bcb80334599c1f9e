"""From results rows to ``mean (std)`` per cell of a table, and the comparisons verdicts use.

The spread is the sample standard deviation over seeds (``ddof=1``); with one seed it is
unknown (``nan``), and a comparison then rests on the means alone. Two numbers differ
*clearly* only when their ``mean +- std`` bands do not overlap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from lolameme.runs.layout import OK, metric_column

Comparison = Literal["above", "below", "overlap"]


@dataclass(frozen=True)
class Stat:
    """Mean and spread of one metric over the seeds of one table cell."""

    mean: float
    std: float
    n: int

    @property
    def band(self) -> float:
        return self.std if self.n > 1 and math.isfinite(self.std) else 0.0

    def fmt(self, digits: int = 4) -> str:
        if self.n == 0:
            return "—"
        if self.n == 1:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ({self.std:.{digits}f})"

    def to_json(self) -> dict[str, Any]:
        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {"mean": clean(self.mean), "std": clean(self.std), "n": self.n}


EMPTY = Stat(math.nan, math.nan, 0)


def summarize(values: Any) -> Stat:
    """``Stat`` of the finite values in ``values`` (missing metrics are skipped)."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return EMPTY
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else math.nan
    return Stat(mean, std, len(xs))


def compare(a: Stat, b: Stat) -> Comparison:
    """Is ``a`` clearly above, clearly below, or within the spread of ``b``?"""
    if a.mean - a.band > b.mean + b.band:
        return "above"
    if a.mean + a.band < b.mean - b.band:
        return "below"
    return "overlap"


def experiment_rows(frame: Any, spec: dict[str, Any], tag: str = "") -> Any:
    """The finished rows of one experiment at one scale and ``tag`` (``""``: untagged),
    best lr kept."""
    rows = frame[
        (frame["experiment"] == spec["name"])
        & (frame["scale"] == spec["scale"])
        & (frame["status"] == OK)
        & (frame["tag"].fillna("") == tag)
    ]
    best = spec.get("select_best")
    return select_best(rows, best, spec) if best else rows


def axis_values(spec: dict[str, Any], axis: str) -> list[Any]:
    for a in spec.get("axes", []):
        if a["name"] == axis:
            return [p["value"] for p in a["points"]]
    raise KeyError(axis)


def in_grid(spec: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """False when ``conditions`` ask for an axis value this scale's grid does not have
    (a ``seq_len: 256`` panel of a spec whose tiny grid has only 64)."""
    names = {a["name"] for a in spec.get("axes", [])}
    for axis, wanted in conditions.items():
        outside = axis in names and wanted not in ("min", "max")
        if outside and all(str(v) != str(wanted) for v in axis_values(spec, axis)):
            return False
    return True


def where(rows: Any, spec: dict[str, Any], conditions: dict[str, Any]) -> Any:
    """Rows whose axis columns match ``conditions``; ``min``/``max`` name the spec's
    smallest/largest point of that axis."""
    for axis, wanted in conditions.items():
        if wanted in ("min", "max"):
            values = axis_values(spec, axis)
            wanted = min(values) if wanted == "min" else max(values)
        if axis not in rows.columns:
            return rows.iloc[0:0]
        column = rows[axis]
        rows = rows[(column == wanted) | (column.astype(str) == str(wanted))]
    return rows


def stat(rows: Any, model: str, metric: str, split: str | None = None) -> Stat:
    column = metric_column(metric, split)
    if column not in rows.columns:
        return EMPTY
    return summarize(rows.loc[rows["model"] == model, column])


def select_best(rows: Any, best: dict[str, Any], spec: dict[str, Any]) -> Any:
    """Per model and setting, keep the rows of the ``best['axis']`` value (an lr) whose
    mean metric over seeds is best."""
    axis, column = best["axis"], metric_column(best.get("metric", "em"), best.get("split"))
    if rows.empty or column not in rows.columns:
        return rows
    others = ["model"] + [a["name"] for a in spec["axes"] if a["name"] != axis]
    means = rows.groupby(others + [axis], dropna=False)[column].mean().reset_index()
    pick = means.loc[
        means.groupby(others, dropna=False)[column].idxmax()
        if best.get("mode", "max") == "max"
        else means.groupby(others, dropna=False)[column].idxmin()
    ]
    keys = set(map(tuple, pick[others + [axis]].astype(str).values.tolist()))
    mask = rows[others + [axis]].astype(str).apply(tuple, axis=1).isin(keys)
    return rows[mask]


# Paper spellings of presets and mixers, for reports and legends.
_NAMES = {
    "gpt2": "GPT-2",
    "hyena": "Hyena",
    "base_conv": "BaseConv",
    "attention": "Attention",
    "sparse_attention": "Sparse attention",
    "h3": "H3",
    "rwkv": "RWKV",
    "mamba": "Mamba",
    "based": "Based",
    "delta_net": "DeltaNet",
    "sliding_window": "Sliding-window attention",
}
# One item of a layer pattern, MIXER[@WIDTH][*COUNT]; WIDTH may be an axis placeholder.
_ITEM = re.compile(r"^(?P<mixer>[a-z_][a-z0-9_]*)(?:@(?:\{\w+\}|\d+))?(?:\*(?P<count>\d+))?$")

# What each metric column measures, in words (the table and figure labels say it).
METRIC_NAMES = {
    "em": "exact match",
    "token_accuracy": "query accuracy",
    "loss": "loss",
    "final_loss": "final training loss",
}


def metric_name(metric: str, task: str | None = None) -> str:
    """``token_accuracy`` -> ``query accuracy``: the name a reader of the paper knows.

    On MQAR an item is a whole sequence of queries, so its ``em`` is "all queries right".
    """
    if metric == "em" and task == "mqar":
        return "all queries right"
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def display_name(model: str) -> str:
    """A readable model name: ``thex-13`` -> ``THEX-13``, ``gpt2`` -> ``GPT-2``, and a layer
    pattern ``base_conv@{width}*2,sparse_attention@{width}`` -> ``BaseConv ×2 + Sparse
    attention``.

    Widths are left out (they are an axis of the grid or a footnote of the report, see
    :func:`name_footnote`); a spec that is not a pattern of known mixers stays as written.
    """
    if model in _NAMES:
        return _NAMES[model]
    if model.startswith("thex-"):
        return "THEX-" + model[5:]
    parts = []
    for item in model.split(","):
        match = _ITEM.match(item.strip())
        if not match or match["mixer"] not in _NAMES:
            return model
        count = int(match["count"] or 1)
        parts.append(_NAMES[match["mixer"]] + (f" ×{count}" if count > 1 else ""))
    return " + ".join(parts)


def name_footnote(models: list[str]) -> str:
    """``Attention ×2 = `attention@64*2`; ...`` for every model whose name hides its spec."""
    pairs = [(display_name(m), m) for m in models if "@" in m or "*" in m or "," in m]
    return "; ".join(f"{name} = `{spec}`" for name, spec in pairs)
