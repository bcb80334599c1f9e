"""The one driver behind ``lolameme generate``, shared by every task.

``generate(task_name, preset, overrides, out, ...)`` resolves the config (preset, then
``--set`` overrides, then ``--seed``), validates it completely, refuses to clobber a
non-empty directory, and only then builds the data set under a temporary name
(:func:`lolameme._io.atomic_directory`) and renames it into place. A failure at any
point leaves no directory that looks complete.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lolameme import _io
from lolameme._io import atomic_directory, atomic_write_text
from lolameme.data.card import CARD, generate_command, render_card
from lolameme.data.store import DatasetInfo, DatasetWriter, fingerprint, is_dataset
from lolameme.data.tasks import Task, get_task
from lolameme.errors import ConfigError, format_validation_error


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(KEY, value)``; the value is JSON when it parses, else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key, value


def _key_table(config_cls: type[Any]) -> dict[str, str]:
    """Every accepted spelling of every field (lower-cased) -> the field name."""
    table: dict[str, str] = {}
    for name, field in config_cls.model_fields.items():
        spellings = [name]
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if choices is not None:
            spellings += [c for c in choices if isinstance(c, str)]
        elif isinstance(alias, str):
            spellings.append(alias)
        if isinstance(field.alias, str):
            spellings.append(field.alias)
        for spelling in spellings:
            table[spelling.lower()] = name
    return table


def normalize_keys(config_cls: type[Any], values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Map keys given in any accepted spelling (field name or alias, any case) to field
    names, so a preset and an override of the same knob cannot both survive a merge."""
    table = _key_table(config_cls)
    out: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in values.items():
        name = table.get(str(key).lower())
        if name is None:
            close = difflib.get_close_matches(str(key).lower(), list(table), n=1)
            hint = f"; did you mean '{table[close[0]]}'?" if close else ""
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")
        if name in out:
            raise ConfigError(f"{where}: '{given[name]}' and '{key}' both set '{name}'")
        out[name] = value
        given[name] = str(key)
    return out


def resolve_config(
    task: Task,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    seed: int | None = None,
) -> Any:
    """The validated config of ``task``: preset values, then overrides, then the seed."""
    preset = preset or task.default_preset
    if preset not in task.presets:
        raise ConfigError(
            f"unknown preset '{preset}' for task '{task.name}' "
            f"(valid: {', '.join(sorted(task.presets))})"
        )
    values = normalize_keys(task.config_cls, task.presets[preset], f"preset '{preset}'")
    values.update(normalize_keys(task.config_cls, overrides or {}, "--set"))
    if seed is not None:
        if "seed" not in task.config_cls.model_fields:
            raise ConfigError(f"task '{task.name}' has no seed to set")
        values["seed"] = seed
    try:
        return task.config_cls.model_validate(values)
    except Exception as exc:
        if type(exc).__name__ == "ValidationError":
            raise ConfigError(format_validation_error(exc, what=f"{task.name} config")) from None
        raise


def config_hash(config: Any) -> str:
    """sha256 of the resolved config's canonical JSON: equal hashes, equal data sets."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_output_dir(out: str | Path, overwrite: bool) -> Path:
    """Refuse, before any work, a path that cannot be written or is not ours to replace:
    ``--overwrite`` replaces only an earlier data set (:func:`lolameme._io.check_output_dir`)."""
    return _io.check_output_dir(out, is_ours=is_dataset, what="data set", overwrite=overwrite)


def generate(
    task_name: str,
    preset: str | None,
    overrides: Mapping[str, Any] | None,
    out: str | Path,
    seed: int | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> Path:
    """Generate a data set of ``task_name`` into ``out``; returns ``out``.

    Everything a user can get wrong (task, preset, keys, values, output directory) is
    checked before the first file is written.
    """
    task = get_task(task_name)
    preset = preset or task.default_preset
    config = resolve_config(task, preset, overrides, seed)
    target = check_output_dir(out, overwrite)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    with atomic_directory(target, overwrite=overwrite) as tmp:
        writer = DatasetWriter(tmp)
        result = task.build(config, writer, workers)
        manifest = writer.finish(
            task=task.name,
            format=task.format,
            config=config.model_dump(mode="json"),
            seed=getattr(config, "seed", seed),
            globals=result.get("globals"),
            split_order=result.get("split_order"),
            extra={
                "config_hash": config_hash(config),
                "preset": preset,
                **dict(result.get("extra") or {}),
            },
        )
        command = generate_command(task.name, preset, overrides, target.name, seed)
        write_card(DatasetInfo(tmp, manifest), task, command)
    return Path(out)


def write_card(info: DatasetInfo, task: Task, command: str) -> None:
    """Write the ``README.md`` data-set card (outside the manifest's checksums)."""
    try:
        defaults = task.config_cls().model_dump(mode="json")
    except Exception:  # a config without defaults for every field: no default column
        defaults = None
    text = render_card(
        info,
        fingerprint=fingerprint(info),
        command=command,
        description=task.description,
        defaults=defaults,
    )
    atomic_write_text(info.path / CARD, text)
