"""The typed schema of an experiment spec (one YAML file per paper table or figure).

A spec says everything a run and its report need, and nothing about how to run it:

- *what is trained*: the task, its data preset and overrides, the models, the seeds,
  and the data-setting axes (number of globals, name length, training regime...);
- *at which size*: one :class:`ScaleSettings` per scale (``smoke``, ``tiny``, ``small``, ``paper``)
  with the data knobs, the training settings and the evaluation limit of that size;
- *how it is read*: tables in the paper's layout with the paper's own numbers, figures,
  the verdicts to compute, and the metadata breakdown.

Every model rejects unknown keys, so a misspelt knob is an error, never a silent no-op.
Cross-references (a table filtering on an axis that does not exist, a paper number for a
model the spec does not train) are checked when the spec is loaded.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lolameme.runs.layout import BASE_COLUMNS, RUN_METRICS, SPLIT_METRICS

# The sizes an experiment spec may define (not the model scales of lolameme.models).
EXPERIMENT_SCALES = ("smoke", "tiny", "small", "paper")
Scalar = str | int | float | bool
# A filter value: an axis value, or "min"/"max" for the smallest/largest value present.
Where = dict[str, Scalar]
# The paper's number for one cell: a mean, or [mean, std]; null where the paper has none.
PaperValue = float | tuple[float, float] | None

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# A placeholder in a model spec (``attention@{width}*2``), filled by an axis's model_key.
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# The mixers of the presets without a layer pattern (thex-N: hyena and attention).
_PRESET_MIXERS = {"gpt2": {"attention"}, "hyena": {"hyena"}, "base_conv": {"base_conv"}}


def model_placeholders(model: str) -> list[str]:
    """The ``{name}`` placeholders of a model spec template, in order."""
    return _PLACEHOLDER.findall(model)


def model_mixers(model: str) -> set[str]:
    """The mixers a model spec uses (``a@{width}*2,b`` -> {a, b}; ``thex-13`` -> hyena and
    attention), as ``mixer_kwargs`` keys name them: names lower-cased, paths as written."""
    text = re.sub(r"\s+", "", model)
    if text.lower() in _PRESET_MIXERS or text.lower().startswith("thex-"):
        return _PRESET_MIXERS.get(text.lower(), {"hyena", "attention"})
    names = (re.split(r"[@*]", item, maxsplit=1)[0] for item in text.split(","))
    return {name if ":" in name else name.lower() for name in names}


def fill_model(model: str, values: dict[str, Scalar]) -> str:
    """The model spec with every ``{name}`` replaced by ``values[name]``."""
    return _PLACEHOLDER.sub(lambda m: str(values[m[1]]), model)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PaperRef(_Strict):
    """Where the experiment comes from in the paper."""

    refs: list[str] = Field(min_length=1, description="e.g. ['Table 1'] or ['Figure 1']")
    section: str = ""
    summary: str = Field("", description="what the paper concludes from it, in a sentence")


class DataSettings(_Strict):
    """A data preset plus overrides (the paper's UPPER-CASE keys); ``preset`` may be omitted
    in a scale to keep the spec's own."""

    preset: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(0, description="generator seed: every model seed sees the same data")


class EvalSettings(_Strict):
    limit: int | None = Field(None, ge=1, description="items per test split (None: all)")


class Resources(_Strict):
    """What one cell asks of a Ray cluster (the local pool ignores it: it shares the idle
    cores among ``--workers``)."""

    cpus: float = Field(1, gt=0)
    gpus: float = Field(0, ge=0)


class ScaleSettings(_Strict):
    """One size of the experiment. ``train`` holds :class:`lolameme.training.TrainConfig`
    fields (steps or epochs, batch_size, lr, ...); they are checked against it at run time."""

    model_scale: str | None = Field(None, description="model scale (default: the scale's name)")
    data: DataSettings = Field(default_factory=DataSettings)
    train: dict[str, Any] = Field(default_factory=dict)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    seeds: list[int] | None = Field(None, description="default: the spec's seeds")
    resources: Resources = Field(default_factory=Resources)
    note: str = Field("", description="how this size differs from the paper's")


class AxisPoint(_Strict):
    """One value of a data-setting axis and what it changes."""

    value: Scalar
    label: str | None = Field(None, description="tick label, e.g. '5 [4,6]'")
    preset: str | None = Field(None, description="a different data preset for this point")
    data: dict[str, Any] = Field(default_factory=dict, description="data overrides")
    train: dict[str, Any] = Field(default_factory=dict, description="training overrides")
    model: dict[str, Scalar] = Field(
        default_factory=dict, description="values of {placeholders} in the model specs"
    )
    init_from: Scalar | None = Field(
        None,
        description="value of another point of this axis: this point's cells start from "
        "the final weights of that point's cell with the same model, seed and other points "
        "(a two-stage cell: pretrain then fine-tune, or a curriculum)",
    )


class Axis(_Strict):
    """A grid dimension besides model and seed.

    Compact form: ``key`` (a data override), ``train_key`` (a training setting) or
    ``model_key`` (the ``{placeholder}`` it fills in model specs such as
    ``attention@{width}*2``: a width sweep) and ``values``. Full form: ``points``.
    Either may be one list for every scale or a mapping ``{scale: list}`` where the
    sweep shrinks with the scale.
    """

    name: str = Field(description="results column, lower_snake_case")
    label: str = ""
    key: str | None = None
    train_key: str | None = None
    model_key: str | None = None
    values: list[Scalar] | dict[str, list[Scalar]] | None = None
    points: list[AxisPoint] | dict[str, list[AxisPoint]] | None = None
    select: dict[str, list[Scalar]] = Field(
        default_factory=dict, description="{scale: values}: the points a scale keeps"
    )
    note: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"axis name '{value}' must be lower_snake_case")
        if value in BASE_COLUMNS:
            raise ValueError(f"axis name '{value}' is a reserved results column")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Axis:
        if (self.values is None) == (self.points is None):
            raise ValueError(f"axis '{self.name}': give either values or points")
        kinds = [k for k in (self.key, self.train_key, self.model_key) if k is not None]
        if self.values is not None and len(kinds) != 1:
            raise ValueError(
                f"axis '{self.name}': values need exactly one of key, train_key, model_key"
            )
        for scale in _scale_keys(self.values) + _scale_keys(self.points) + list(self.select):
            if scale not in EXPERIMENT_SCALES:
                raise ValueError(f"axis '{self.name}': unknown scale '{scale}'")
        for scale, chosen in self.select.items():
            known = [p.value for p in self._all_points(scale)]
            extra = [v for v in chosen if v not in known]
            if extra:
                raise ValueError(
                    f"axis '{self.name}': select.{scale} has values {extra} that are not points "
                    f"({known})"
                )
        if self.points is not None:
            for scale in _scale_keys(self.points) or list(EXPERIMENT_SCALES):
                self._check_init_from(scale)
        return self

    def _check_init_from(self, scale: str) -> None:
        """Every ``init_from`` at ``scale`` names another point of the axis that the scale
        keeps (``select``), and following them never loops."""
        parents = {p.value: p.init_from for p in self.points_for(scale)}
        for value, parent in parents.items():
            seen = [value]
            while parent is not None:
                if parent not in parents:
                    raise ValueError(
                        f"axis '{self.name}': point {seen[-1]!r} starts from {parent!r}, "
                        f"which is not a point at scale '{scale}' ({list(parents)})"
                    )
                if parent in seen:
                    raise ValueError(
                        f"axis '{self.name}': init_from loops at scale '{scale}': "
                        + " -> ".join(map(repr, [*seen, parent]))
                    )
                seen.append(parent)
                parent = parents[parent]

    def _all_points(self, scale: str) -> list[AxisPoint]:
        if self.points is not None:
            return list(self.points[scale] if isinstance(self.points, dict) else self.points)
        values = self.values[scale] if isinstance(self.values, dict) else self.values
        return [
            AxisPoint(
                value=v,
                data={self.key: v} if self.key else {},
                train={self.train_key: v} if self.train_key else {},
                model={self.model_key: v} if self.model_key else {},
            )
            for v in values or []
        ]

    def points_for(self, scale: str) -> list[AxisPoint]:
        """The points of this axis at ``scale`` (those ``select`` keeps, if it names the scale)."""
        points = self._all_points(scale)
        if scale in self.select:
            points = [p for p in points if p.value in self.select[scale]]
        return points

    def defined_for(self, scale: str) -> bool:
        form = self.points if self.points is not None else self.values
        return not isinstance(form, dict) or scale in form


def _scale_keys(form: Any) -> list[str]:
    return list(form) if isinstance(form, dict) else []


class Measure(_Strict):
    """What a table column, a figure panel or a verdict reads from the results: one
    ``metric`` (column :func:`~lolameme.runs.layout.metric_column`) of one ``split``, on
    the slice of the grid that ``where`` keeps."""

    metric: str = "em"
    split: str | None = None
    where: Where = Field(default_factory=dict)


class Column(Measure):
    """One table column: a metric of one split, optionally on a slice of the grid."""

    id: str
    label: str


class Table(_Strict):
    """A table in the paper's layout: one row per model, the paper's number beside ours."""

    id: str
    title: str
    caption: str = ""
    where: Where = Field(default_factory=dict, description="slice of the grid shown")
    rows: list[str] | None = Field(None, description="models, in order (default: all)")
    columns: list[Column] = Field(min_length=1)
    paper: dict[str, dict[str, PaperValue]] = Field(
        default_factory=dict, description="{model: {column id: mean or [mean, std]}}"
    )
    paper_note: str = ""


class Panel(Measure):
    """One panel of a figure: a metric, on a slice of the grid (e.g. one sequence length)."""

    title: str = ""


class Figure(_Strict):
    """A curve of metrics against one axis, one line per model, mean with a std band."""

    id: str
    title: str
    x: str = Field(description="the axis on the x axis")
    panels: list[Panel] = Field(min_length=1)
    where: Where = Field(default_factory=dict)
    models: list[str] | None = None
    paper_note: str = Field("", description="what the paper's figure shows (it prints no numbers)")


class Side(Measure):
    """One side of a before/after verdict."""

    label: str = ""


class BeatsVerdict(Measure):
    """Does model group ``a`` beat every model of ``b`` on one metric?

    ``pick: best`` judges the best of ``a`` by mean (and says how many others of ``a``
    also beat all of ``b``); ``pick: all`` needs every model of ``a`` to beat ``b``.
    Model names may be globs (``thex-*``).
    """

    kind: Literal["beats"]
    id: str
    question: str
    a: list[str] = Field(min_length=1)
    b: list[str] = Field(min_length=1)
    pick: Literal["best", "all"] = "best"


class ChangeVerdict(_Strict):
    """Does every model fall (``falls``) or rise (``rises``) from ``before`` to ``after``?"""

    kind: Literal["falls", "rises"]
    id: str
    question: str
    before: Side
    after: Side
    models: list[str] | None = None


class GapVerdict(Measure):
    """Which share of the gap between ``low`` and ``high`` does ``model`` close?

    ``share = (model - low) / (high - low)`` on one metric (zoology: the BaseConv +
    sparse-attention hybrid closes 97.4% of the BaseConv-to-attention gap on MQAR).
    The answer is *yes* when the share reaches ``closes``; *inconclusive* when the gap is
    under ``min_gap`` or ``high`` is not clearly above ``low`` (too small to divide by).
    """

    kind: Literal["gap_closed"]
    id: str
    question: str
    model: str
    low: str
    high: str
    closes: float = Field(0.9, gt=0, le=1)
    min_gap: float = Field(0.05, ge=0)


Verdict = Annotated[BeatsVerdict | ChangeVerdict | GapVerdict, Field(discriminator="kind")]


class SelectBest(_Strict):
    """Keep, per model and setting, the value of ``axis`` (an lr sweep) with the best mean."""

    axis: str
    metric: str = "em"
    split: str | None = None
    mode: Literal["max", "min"] = "max"


class Breakdown(_Strict):
    """EM by item metadata (read from each run's eval.json)."""

    splits: list[str] | None = None
    fields: list[str] | None = Field(
        None, description="metadata columns to show (default: all that eval.json has)"
    )
    where: Where = Field(default_factory=dict)


class ExperimentSpec(_Strict):
    """One experiment of the paper (see the module docstring)."""

    name: str
    title: str
    paper: PaperRef
    description: str = ""
    task: str = "lolameme"
    data: DataSettings = Field(default_factory=DataSettings)
    models: list[str] = Field(min_length=1)
    mixer_kwargs: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="keyword arguments per mixer (as the models name it, e.g. a plugin's "
        "module.path:Class), given to every model that uses it",
    )
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    axes: list[Axis] = Field(default_factory=list)
    splits: list[str] = Field(min_length=1, description="test splits evaluated in every cell")
    scales: dict[str, ScaleSettings]
    tables: list[Table] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    verdicts: list[Verdict] = Field(default_factory=list)
    select_best: SelectBest | None = None
    breakdown: Breakdown = Field(default_factory=Breakdown)
    notes: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"experiment name '{value}' must be lower_snake_case")
        return value

    @model_validator(mode="after")
    def _references(self) -> ExperimentSpec:
        """Every name a table, figure or verdict uses must exist in the grid."""
        for scale in self.scales:
            if scale not in EXPERIMENT_SCALES:
                raise ValueError(f"unknown scale '{scale}' (valid: {', '.join(EXPERIMENT_SCALES)})")
        if self.data.preset is None and any(s.data.preset is None for s in self.scales.values()):
            raise ValueError("data.preset is required (at the top or in every scale)")
        axes = {a.name for a in self.axes}
        if len(axes) != len(self.axes):
            raise ValueError("axis names must be unique")
        for axis in self.axes:
            missing = [s for s in self.scales if not axis.defined_for(s)]
            if missing:
                raise ValueError(f"axis '{axis.name}' has no values for scale(s) {missing}")
        for what, where in self._filters():
            unknown = sorted(set(where) - axes)
            if unknown:
                raise ValueError(
                    f"{what}: where uses unknown axis {unknown} (axes: {sorted(axes)})"
                )
        for what, split in self._split_uses():
            if split is not None and split not in self.splits:
                raise ValueError(
                    f"{what}: split '{split}' is not evaluated (splits: {self.splits})"
                )
        for what, metric in self._metric_uses():
            if metric not in SPLIT_METRICS + RUN_METRICS:
                raise ValueError(
                    f"{what}: unknown metric '{metric}' (valid: "
                    f"{', '.join(SPLIT_METRICS + RUN_METRICS)})"
                )
        self._check_placeholders()
        used = {name for model in self.models for name in model_mixers(model)}
        unused = sorted(set(self.mixer_kwargs) - used)
        if unused:
            raise ValueError(f"mixer_kwargs for {unused}: no model uses such a mixer")
        for what, names in self._model_uses():
            for name in names:
                if not fnmatch.filter(self.models, name):
                    raise ValueError(f"{what}: model '{name}' is not in models {self.models}")
        for table in self.tables:
            ids = {c.id for c in table.columns}
            for model, values in table.paper.items():
                if model not in (table.rows or self.models):
                    raise ValueError(f"table {table.id}: paper number for unknown row '{model}'")
                if set(values) - ids:
                    raise ValueError(f"table {table.id}: paper column(s) {set(values) - ids}")
        for figure in self.figures:
            if figure.x not in axes:
                raise ValueError(f"figure {figure.id}: x '{figure.x}' is not an axis")
        if self.select_best and self.select_best.axis not in axes:
            raise ValueError(f"select_best: '{self.select_best.axis}' is not an axis")
        return self

    def _check_placeholders(self) -> None:
        """Every ``{name}`` of a model spec is filled at every point of every scale."""
        used = {name for model in self.models for name in model_placeholders(model)}
        for scale in self.scales:
            filled: set[str] = set()
            for axis in self.axes:
                points = axis.points_for(scale)
                names = {k for p in points for k in p.model}
                partial = [k for k in names if not all(k in p.model for p in points)]
                if partial:
                    raise ValueError(
                        f"axis '{axis.name}': not every point at scale {scale} sets {partial}"
                    )
                twice = names & filled
                if twice:
                    raise ValueError(f"model placeholder(s) {sorted(twice)} set by two axes")
                filled |= names
            missing, unused = sorted(used - filled), sorted(filled - used)
            if missing:
                raise ValueError(
                    f"model placeholder(s) {missing} are filled by no axis at scale {scale} "
                    "(give an axis model_key)"
                )
            if unused:
                raise ValueError(f"axes set model placeholder(s) {unused} that no model uses")

    def _filters(self) -> list[tuple[str, Where]]:
        out = [("breakdown", self.breakdown.where)]
        for t in self.tables:
            out += [(f"table {t.id}", t.where)] + [(f"table {t.id}", c.where) for c in t.columns]
        out += [(f"figure {f.id}", f.where) for f in self.figures]
        out += [(f"figure {f.id}", p.where) for f in self.figures for p in f.panels]
        for v in self.verdicts:
            if isinstance(v, (BeatsVerdict, GapVerdict)):
                out.append((f"verdict {v.id}", v.where))
            else:
                out += [(f"verdict {v.id}", v.before.where), (f"verdict {v.id}", v.after.where)]
        return out

    def _measures(self) -> list[tuple[str, str, Any]]:
        """Every part that reads a metric on a split: table columns, figure panels, each
        side of a verdict. ``(place, column, part)``: the column label names a table's
        column (``", column C"``), empty elsewhere."""
        out: list[tuple[str, str, Any]] = [
            (f"table {t.id}", f", column {c.id}", c) for t in self.tables for c in t.columns
        ]
        out += [(f"figure {f.id}", "", p) for f in self.figures for p in f.panels]
        for v in self.verdicts:
            sides = [v] if isinstance(v, (BeatsVerdict, GapVerdict)) else [v.before, v.after]
            out += [(f"verdict {v.id}", "", side) for side in sides]
        return out

    def _split_uses(self) -> list[tuple[str, str | None]]:
        out = [(place, part.split) for place, _, part in self._measures()]
        out += [("breakdown", s) for s in self.breakdown.splits or []]
        if self.select_best:
            out.append(("select_best", self.select_best.split))
        return out

    def _metric_uses(self) -> list[tuple[str, str]]:
        out = [(place + column, part.metric) for place, column, part in self._measures()]
        if self.select_best:
            out.append(("select_best", self.select_best.metric))
        return out

    def _model_uses(self) -> list[tuple[str, list[str]]]:
        out = [(f"table {t.id}", t.rows or []) for t in self.tables]
        out += [(f"figure {f.id}", f.models or []) for f in self.figures]
        for v in self.verdicts:
            if isinstance(v, BeatsVerdict):
                out.append((f"verdict {v.id}", v.a + v.b))
            elif isinstance(v, GapVerdict):
                out.append((f"verdict {v.id}", [v.model, v.low, v.high]))
            else:
                out.append((f"verdict {v.id}", v.models or []))
        return out

    @property
    def paper_refs(self) -> str:
        return ", ".join(self.paper.refs)

    def at(self, scale: str) -> ScaledSpec:
        """This spec resolved at one scale, or an error listing the scales it has.

        The one place a scale name is checked and looked up: everything downstream
        (grid expansion, the resolved spec the report reads) takes the result.
        """
        from lolameme.errors import ConfigError

        if scale not in self.scales:
            raise ConfigError(
                f"experiment '{self.name}' has no scale '{scale}' "
                f"(valid: {', '.join(s for s in EXPERIMENT_SCALES if s in self.scales)})"
            )
        settings = self.scales[scale]
        preset = settings.data.preset or self.data.preset
        assert preset is not None  # checked by _references
        return ScaledSpec(
            spec=self,
            scale=scale,
            settings=settings,
            preset=preset,
            seeds=tuple(settings.seeds or self.seeds),
            points=tuple(tuple(axis.points_for(scale)) for axis in self.axes),
        )


@dataclass(frozen=True)
class ScaledSpec:
    """An experiment spec at one scale, resolved once by :meth:`ExperimentSpec.at`.

    ``points[i]`` are the points of ``spec.axes[i]`` at this scale; ``model_scale`` is the
    models' size (the scale's own ``model_scale``, else the scale's name).
    """

    spec: ExperimentSpec
    scale: str
    settings: ScaleSettings
    preset: str
    seeds: tuple[int, ...]
    points: tuple[tuple[AxisPoint, ...], ...]

    @property
    def model_scale(self) -> str:
        return self.settings.model_scale or self.scale
