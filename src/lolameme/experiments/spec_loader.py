"""Finding, merging and validating the experiment specs shipped in ``specs/``.

A spec file is merged, in this order, over:

1. ``specs/_scales.yaml``: the per-scale defaults every experiment shares (steps, batch,
   lr...) and, per task, the data overrides of each scale (the size of the ``tiny``
   LoLa/MeMe data). Calibrating the tiny scale edits one file.
2. the spec it ``extends`` (if any): e.g. the MeMe variant of the THEX table only changes
   the language and the paper's numbers.

Mappings merge key by key; anything else (lists, numbers) is replaced; ``null`` removes
a key, except under ``scales``, where it opts the spec out of that scale. The merged
mapping is validated by :class:`ExperimentSpec`.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lolameme.errors import ConfigError, format_validation_error
from lolameme.experiments.spec import ExperimentSpec

DEFAULTS_FILE = "_scales.yaml"
# Scales added after the specs were written (``small``: one GPU); see spec_from_mapping.
OPTIONAL_SCALES = ("small",)


def _specs_dir() -> Path:
    return Path(str(resources.files("lolameme.experiments") / "specs"))


def available_experiments() -> list[str]:
    """Names of the shipped specs (files starting with ``_`` hold shared defaults)."""
    return sorted(p.stem for p in _specs_dir().glob("*.yaml") if not p.name.startswith("_"))


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings merge recursively, ``None`` deletes a key."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return copy.deepcopy(over)
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_problem(exc)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec must be a mapping")
    return data


def _yaml_problem(exc: Exception) -> str:
    """A YAML error in one line: what is wrong, at which line and column (1-based)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    text = " ".join(str(problem or exc).split())
    if mark is None:
        return text
    return f"line {mark.line + 1}, column {mark.column + 1}: {text}"


def _raw(path: Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be the name or path of a spec")
    if parent in seen:
        raise ConfigError(f"{path}: 'extends' loops through {' -> '.join((*seen, parent))}")
    merged = deep_merge(_raw(_resolve_path(parent), (*seen, parent)), data)
    # ``scale: null`` in the child opts out of that scale (see spec_from_mapping), where a
    # plain merge would only delete the parent's entry and so give the scale the defaults.
    scales = data.get("scales")
    for scale, settings in (scales if isinstance(scales, dict) else {}).items():
        if settings is None:
            merged.setdefault("scales", {})[scale] = None
    return merged


def _resolve_path(name: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    shipped = _specs_dir() / f"{name}.yaml"
    if name.startswith("_") or not shipped.is_file():
        raise ConfigError(
            f"unknown experiment '{name}' (valid: {', '.join(available_experiments())}; "
            "or the path of a .yaml spec)"
        )
    return shipped


def scale_defaults(task: str) -> dict[str, Any]:
    """The shared per-scale defaults, with the data overrides of ``task`` only."""
    raw = _read_yaml(_specs_dir() / DEFAULTS_FILE)
    data = (raw.get("data") or {}).get(task) or {}
    return {
        scale: deep_merge(settings or {}, {"data": data[scale]} if data.get(scale) else {})
        for scale, settings in (raw.get("scales") or {}).items()
    }


def _axes_cover(data: dict[str, Any], scale: str) -> bool:
    """Whether every axis of a raw spec has values (or points) at ``scale``."""
    axes = data.get("axes")
    for axis in axes if isinstance(axes, list) else []:  # other shapes: the schema says why
        if not isinstance(axis, dict):
            continue
        for form in (axis.get("values"), axis.get("points")):
            if isinstance(form, dict) and scale not in form:
                return False
    return True


def spec_from_mapping(data: dict[str, Any], *, source: str = "spec") -> ExperimentSpec:
    """Validate a raw mapping after merging the per-scale defaults under its scales."""
    from pydantic import ValidationError

    defaults = scale_defaults(str(data.get("task", "lolameme")))
    data = copy.deepcopy(data)
    scales = data.get("scales") or {}
    if not isinstance(scales, dict):
        raise ConfigError(f"invalid experiment spec {source}: field 'scales': must be a mapping")
    # A scale the spec leaves out gets the defaults; ``scale: null`` opts out of it. An
    # optional scale is also left out where an axis gives its values per scale without
    # it: there is no sweep to run (a spec opts in by naming the scale in that axis).
    merged = {
        k: copy.deepcopy(v)
        for k, v in defaults.items()
        if k not in scales and (k not in OPTIONAL_SCALES or _axes_cover(data, k))
    }
    merged.update(
        {k: deep_merge(defaults.get(k, {}), v) for k, v in scales.items() if v is not None}
    )
    data["scales"] = merged
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, what=f"experiment spec {source}")) from None


@cache
def load_spec(name: str) -> ExperimentSpec:
    """A shipped spec by name (or a spec file by path), merged and validated."""
    path = _resolve_path(name)
    return spec_from_mapping(_raw(path), source=path.name)
