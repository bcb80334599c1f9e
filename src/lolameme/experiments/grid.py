"""Expanding a spec at one scale into grid cells: model x data setting x seed.

What one invocation runs of that grid is a :class:`Selection` (the CLI's ``--models``,
``--seeds``, ``--only``, ``--tag`` and ``--set``, parsed once), passed whole from the
CLI through :func:`~lolameme.experiments.runner.run_experiment` and
:func:`~lolameme.experiments.runner.plan` to :func:`expand`.

A :class:`Cell` is fully resolved (data preset and overrides, training settings, splits)
so that a worker needs nothing but the cell. Its ``cell_id`` is readable and stable; its
``fingerprint`` hashes everything that changes the cell's numbers, so a rerun after the
spec changed can tell a finished cell from a stale one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lolameme.errors import ConfigError
from lolameme.experiments.spec import (
    ExperimentSpec,
    Scalar,
    ScaledSpec,
    fill_model,
    model_mixers,
)
from lolameme.experiments.spec_loader import deep_merge
from lolameme.training.config import MAX_SEED  # the seeds every layer accepts

SET_SECTIONS = ("data", "train", "eval", "model_scale", "seeds")
# Train settings that do not change a cell's numbers: stopping early, and where metrics
# are mirrored (``--set train.tensorboard=true`` on finished cells must not rerun them).
NOT_IN_FINGERPRINT = (
    "stop_after",
    "tensorboard",
    "wandb",
    "wandb_project",
    "wandb_name",
    "wandb_group",
    "wandb_entity",
)
# TrainConfig fields the runner fills in for every cell, and the option that sets each:
# a ``train.KEY`` of these (in a spec or a --set) would be given twice.
RUNNER_TRAIN_KEYS = {
    "data": "data.KEY=VALUE (--set) or the spec's data",
    "model": "--models",
    "scale": "--set model_scale=NAME",
    "out": "--out",
    "seed": "--seeds",
    "threads": "--workers",
    "device": "--device",
    "resume": "a rerun (cells resume by themselves)",
}


@dataclass(frozen=True)
class DataRequest:
    """One data set to generate: cells that ask for equal requests share it."""

    task: str
    preset: str
    overrides: dict[str, Any]
    seed: int

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


@dataclass(frozen=True)
class Cell:
    """One training run of the grid, with everything needed to run and record it.

    ``model`` is the name in the spec (the results' ``model`` column, which reports
    group by); ``model_spec`` is what is trained: the same, or the name with its
    ``{placeholders}`` filled by the cell's axis points (``attention@{width}*2`` ->
    ``attention@64*2``).
    """

    experiment: str
    scale: str
    model: str
    seed: int
    settings: dict[str, Scalar]
    data: DataRequest
    model_scale: str
    train: dict[str, Any]
    eval_limit: int | None
    splits: tuple[str, ...]
    resources: dict[str, float] = field(default_factory=dict)
    tag: str = ""
    sets: tuple[str, ...] = ()  # the --set items behind this cell, for the record only
    model_spec: str = ""  # default: model
    # A two-stage cell (an axis point's ``init_from``): the cell whose final weights this
    # one starts from, and that cell's fingerprint (its numbers depend on it).
    init_from: str = ""
    init_fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.model_spec:
            object.__setattr__(self, "model_spec", self.model)

    @property
    def cell_id(self) -> str:
        parts = [self.experiment, self.scale, self.model_spec]
        parts += [f"{k}={v}" for k, v in self.settings.items()]
        parts.append(f"seed{self.seed}")
        if self.tag:
            parts.insert(0, f"tag={self.tag}")
        raw = "--".join(str(p) for p in parts)
        safe = re.sub(r"[^A-Za-z0-9._=-]", "_", raw)
        # Sanitising could merge two model patterns (``a*2`` and ``a_2``): keep them apart.
        return safe if safe == raw else f"{safe}-{hashlib.sha256(raw.encode()).hexdigest()[:6]}"

    @property
    def fingerprint(self) -> str:
        """A hash of what determines the cell's numbers (not threads, devices or paths)."""
        basis = {
            "model": self.model_spec,
            "model_scale": self.model_scale,
            "seed": self.seed,
            "data": asdict(self.data),
            "train": {k: v for k, v in self.train.items() if k not in NOT_IN_FINGERPRINT},
            "eval_limit": self.eval_limit,
            "splits": list(self.splits),
        }
        if self.init_fingerprint:  # only then: one-stage cells keep their old fingerprints
            basis["init_from"] = self.init_fingerprint
        return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[
            :16
        ]


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``--set train.steps=400 --set data.GLOBALVAR_COUNT=30`` as a nested mapping.

    The first dot separates the section from the key, so data keys keep their dots
    (``data.OPERATORS.LOLA=[+, -]``). Values are read as YAML: numbers, lists, null.
    """

    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if (
            not sep
            or section not in SET_SECTIONS
            or (section in ("data", "train", "eval")) != bool(dot and key)
        ):
            raise ConfigError(
                f"bad --set '{item}': use SECTION.KEY=VALUE with SECTION one of data, train, "
                "eval (e.g. train.steps=400, data.GLOBALVAR_COUNT=30), or model_scale=/seeds="
            )
        value = _value(text)
        if section == "train":
            check_train_settings({key: value}, f"--set {name.strip()}")
        if section == "data" and key not in ("preset", "seed"):
            out.setdefault("data", {}).setdefault("overrides", {})[key] = value
        elif section in ("data", "train", "eval"):
            out.setdefault(section, {})[key] = value
        else:
            out[section] = value
    return out


def check_train_settings(train: Mapping[str, Any], where: str) -> None:
    """Refuse training settings the runner sets itself, and a ``mixer_kwargs`` that is not
    ``{mixer: {name: value}}`` (the model layer would fail on it deep inside a cell)."""
    for key in train:
        if key in RUNNER_TRAIN_KEYS:
            raise ConfigError(
                f"{where}: train.{key} is set by 'experiment run' for every cell; "
                f"use {RUNNER_TRAIN_KEYS[key]} instead"
            )
    kwargs = train.get("mixer_kwargs")
    if kwargs is not None and not (
        isinstance(kwargs, Mapping)
        and all(isinstance(k, str) and isinstance(v, Mapping) for k, v in kwargs.items())
    ):
        raise ConfigError(
            f"{where}: train.mixer_kwargs must map mixer names to keyword mappings, "
            f"e.g. {{hyena: {{filter_order: 32}}}}, not {kwargs!r}"
        )


def check_seeds(seeds: Sequence[Any], where: str) -> None:
    """Every seed an integer in 0 .. 2**32 - 1 (what the data and training seeds accept)."""
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ConfigError(f"{where}: seed {seed!r} is out of range (0 to {MAX_SEED})")


def _value(text: str) -> Any:
    """YAML, plus the floats YAML 1.1 reads as strings (``3e-4``)."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


@dataclass(frozen=True)
class Selection:
    """The part of a grid one invocation runs, and the overrides it runs it with.

    Empty ``models``/``seeds`` mean all of the spec's; ``only`` is ``{axis: [values]}``
    (see :func:`parse_only`); ``tag`` records the cells apart; ``sets`` are the raw
    ``--set`` items, parsed once into ``overrides`` (see :func:`parse_sets`).
    """

    models: Sequence[str] = ()
    seeds: Sequence[int] = ()
    only: Mapping[str, Sequence[str]] = field(default_factory=dict)
    tag: str = ""
    sets: Sequence[str] = ()
    overrides: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("models", "seeds", "sets"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))
        object.__setattr__(self, "overrides", parse_sets(self.sets))


def with_sets(scaled: ScaledSpec, sets: dict[str, Any]) -> ScaledSpec:
    """The spec with one scale's settings overridden from the command line, re-validated
    and resolved again at that scale."""
    if not sets:
        return scaled
    from pydantic import ValidationError

    from lolameme.errors import format_validation_error

    data = scaled.spec.model_dump(mode="json", exclude_unset=True)
    current = scaled.settings.model_dump(mode="json", exclude_unset=True)
    data["scales"][scaled.scale] = deep_merge(current, sets)
    try:
        return ExperimentSpec.model_validate(data).at(scaled.scale)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, what="--set")) from None


def _pick_models(spec: ExperimentSpec, models: Sequence[str]) -> list[str]:
    if not models:
        return list(spec.models)
    unknown = [m for m in models if m not in spec.models]
    if unknown:
        # '; ' and quotes: a model spec may itself contain commas ('base_conv,attention')
        raise ConfigError(
            f"unknown model(s) {'; '.join(map(repr, unknown))} for experiment '{spec.name}' "
            f"(valid: {'; '.join(map(repr, spec.models))})"
        )
    return [m for m in spec.models if m in models]


def parse_only(items: Sequence[str]) -> dict[str, list[str]]:
    """``--only seq_len=64,128 --only width=64`` as ``{axis: [values]}``."""
    only: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        chosen = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name.strip() or not chosen:
            raise ConfigError(f"--only '{item}': expected AXIS=VALUE[,VALUE...], e.g. seq_len=64")
        only.setdefault(name.strip(), []).extend(chosen)
    return only


def _names_point(text: str, point: Any) -> bool:
    """Whether ``--only`` text names an axis point: its value or tick label as written,
    or the same number (``1e-3`` names 0.001)."""
    if text in (str(point.value), point.label):
        return True
    try:
        return not isinstance(point.value, bool) and float(text) == float(point.value)
    except (TypeError, ValueError):
        return False


def _pick_points(scaled: ScaledSpec, only: Mapping[str, Sequence[str]]) -> list[list[int]]:
    """Per axis, the indices of its points at the scale that ``only`` keeps."""
    spec, scale = scaled.spec, scaled.scale
    names = [axis.name for axis in spec.axes]
    unknown = [name for name in only if name not in names]
    if unknown:
        raise ConfigError(
            f"--only: experiment '{spec.name}' has no axis {', '.join(unknown)} "
            f"(axes: {', '.join(names) or 'none'})"
        )
    per_axis = []
    for axis, points in zip(spec.axes, scaled.points, strict=True):
        kept = list(range(len(points)))
        if axis.name in only:
            wanted = only[axis.name]
            missing = [w for w in wanted if not any(_names_point(w, p) for p in points)]
            if missing:
                raise ConfigError(
                    f"--only {axis.name}: no point {', '.join(missing)} at scale '{scale}' "
                    f"(values: {', '.join(str(p.value) for p in points)})"
                )
            kept = [i for i in kept if any(_names_point(w, points[i]) for w in wanted)]
        per_axis.append(kept)
    return per_axis


def _parent_combo(scaled: ScaledSpec, combo: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axis points of the cell that a cell at ``combo`` starts from (its one point
    with ``init_from`` replaced by the point it names), or None for a one-stage cell."""
    parent = None
    for axis, (points, index) in enumerate(zip(scaled.points, combo, strict=True)):
        value = points[index].init_from
        if value is None:
            continue
        if parent is not None:
            names = [
                scaled.spec.axes[a].name
                for a, i in enumerate(combo)
                if scaled.points[a][i].init_from is not None
            ]
            raise ConfigError(
                f"experiment '{scaled.spec.name}': a cell can start from one other cell only, "
                f"but its points on axes {', '.join(names)} each name one (init_from)"
            )
        target = next(i for i, p in enumerate(points) if p.value == value)
        parent = combo[:axis] + (target,) + combo[axis + 1 :]
    return parent


def _with_parents(scaled: ScaledSpec, combos: list[tuple[int, ...]]) -> set[tuple[int, ...]]:
    """``combos`` and every cell they start from, however many stages back: a selection
    that keeps only a fine-tuning point still trains what it starts from."""
    needed: set[tuple[int, ...]] = set()
    for combo in combos:
        current: tuple[int, ...] | None = combo
        while current is not None and current not in needed:
            needed.add(current)
            current = _parent_combo(scaled, current)
    return needed


def expand(scaled: ScaledSpec, selection: Selection = Selection()) -> list[Cell]:
    """Every cell of the spec at its scale, models outermost, seeds innermost; the
    selection's ``models``, ``seeds`` and ``only`` keep a part of the grid, plus the cells
    that the kept ones start from (``init_from``). Its ``sets`` are recorded in the cells;
    apply them to the spec first (:func:`with_sets`)."""
    spec, scale, settings = scaled.spec, scaled.scale, scaled.settings
    chosen_seeds = list(selection.seeds or scaled.seeds)
    kept = _with_parents(scaled, list(itertools.product(*_pick_points(scaled, selection.only))))
    every = itertools.product(*(range(len(points)) for points in scaled.points))
    combos = [combo for combo in every if combo in kept]  # in grid order
    by_key: dict[tuple[str, tuple[int, ...], int], Cell] = {}
    for model in _pick_models(spec, selection.models):
        for combo in combos:
            preset = scaled.preset
            overrides = deep_merge(spec.data.overrides, settings.data.overrides)
            train = dict(settings.train)
            placeholders: dict[str, Scalar] = {}
            points = [scaled.points[axis][index] for axis, index in enumerate(combo)]
            for point in points:
                preset = point.preset or preset
                overrides = deep_merge(overrides, point.data)
                train = deep_merge(train, point.train)
                placeholders.update(point.model)
            kwargs = {k: v for k, v in spec.mixer_kwargs.items() if k in model_mixers(model)}
            if kwargs:  # only the model's own mixers: a spec's other plugins are no error
                # a scale's, a point's or a --set train.mixer_kwargs refines the spec's
                # own, knob by knob (it replaced them whole, in silence, before)
                train = {
                    **train,
                    "mixer_kwargs": deep_merge(kwargs, train.get("mixer_kwargs") or {}),
                }
            for seed in chosen_seeds:
                by_key[model, combo, seed] = Cell(
                    experiment=spec.name,
                    scale=scale,
                    model=model,
                    model_spec=fill_model(model, placeholders),
                    seed=seed,
                    settings={a.name: p.value for a, p in zip(spec.axes, points, strict=True)},
                    data=DataRequest(spec.task, preset, overrides, settings.data.seed),
                    model_scale=scaled.model_scale,
                    train=train,
                    eval_limit=settings.eval.limit,
                    splits=tuple(spec.splits),
                    resources=settings.resources.model_dump(),
                    tag=selection.tag,
                    sets=tuple(selection.sets),
                )
    staged: dict[tuple[str, tuple[int, ...], int], Cell] = {}

    def link(key: tuple[str, tuple[int, ...], int]) -> Cell:
        """The cell at ``key`` with its parent's id and fingerprint (parents first)."""
        if key not in staged:
            model, combo, seed = key
            parent = _parent_combo(scaled, combo)
            cell = by_key[key]
            if parent is not None:
                source = link((model, parent, seed))
                cell = replace(cell, init_from=source.cell_id, init_fingerprint=source.fingerprint)
            staged[key] = cell
        return staged[key]

    cells = [link(key) for key in by_key]
    ids = [c.cell_id for c in cells]
    if len(set(ids)) != len(ids):  # two axis points with the same value
        raise ConfigError(f"experiment '{spec.name}': duplicate cells in the grid at {scale}")
    return cells
