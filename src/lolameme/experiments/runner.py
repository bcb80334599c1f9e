"""``lolameme experiment run``: expand a spec, build its data, run its cells, record rows.

The run is idempotent: finished cells (by their record and fingerprint) are skipped,
unfinished ones resume from their checkpoints, and failed ones run again. Each data set
is generated once, in the driver, before any cell starts, and cached under ``DIR/data``
by the hash of its resolved config.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lolameme._io import atomic_write_bytes, atomic_write_json, check_output_dir, first_missing
from lolameme.data.store import MANIFEST
from lolameme.errors import ConfigError, OutputError
from lolameme.experiments.cell import (
    CellTask,
    check_cells,
    data_config,
    data_dir_for,
    majority_baselines,
    prepare_data,
    record_path,
    run_cell,
)
from lolameme.experiments.engines import make_engine, threads_per_worker
from lolameme.experiments.grid import Cell, Selection, check_seeds, expand, with_sets
from lolameme.experiments.spec import ScaledSpec
from lolameme.experiments.spec_loader import load_spec
from lolameme.experiments.store import ResultsStore
from lolameme.runs.devices import check_device
from lolameme.runs.layout import (
    INCOMPLETE,
    INVOCATIONS_FILE,
    LOCK_FILE,
    OK,
    RESULTS_FILE,
    RESULTS_REQUIRED,
    RUNS_DIR,
    SPECS_DIR,
    spec_file,
)

# Keys every resolved spec in ``DIR/specs`` has (see :func:`resolved_spec`).
RESOLVED_SPEC_KEYS = ("name", "scale", "scale_settings", "models", "splits")


@dataclass
class InvocationSummary:
    """What one ``experiment run`` did."""

    experiment: str
    scale: str
    out: Path
    cells: int = 0
    skipped: int = 0
    ok: int = 0
    incomplete: int = 0
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.experiment} ({self.scale}): {self.cells} cells, {self.skipped} already done, "
            f"{self.ok} ran ok, {self.incomplete} stopped early, {len(self.failed)} failed, "
            f"{self.wall_seconds:.0f}s -> {self.out}"
        )


def plan(
    name: str, scale: str, selection: Selection = Selection()
) -> tuple[ScaledSpec, list[Cell]]:
    """The spec at ``scale`` (with the selection's ``--set`` overrides applied) and the
    cells it selects; no side effects."""
    scaled = with_sets(load_spec(name).at(scale), selection.overrides)
    return scaled, expand(scaled, selection)


def check_plan(
    scaled: ScaledSpec,
    cells: list[Cell],
    selection: Selection = Selection(),
    *,
    device: str = "auto",
    models: bool = True,
    out: Path | None = None,
) -> None:
    """Everything about a plan that can be checked without running it: the device, the
    seeds, each data set's task, preset and overrides, and (``models``) each cell's model
    and training settings. ``show`` and ``run`` share it, so both reject the same input;
    ``run`` calls it before it creates or writes ``--out``."""
    check_device(device)
    check_seeds(selection.seeds, "--seeds")
    where = f"experiment '{scaled.spec.name}' at scale '{scaled.scale}'"
    check_seeds(scaled.seeds, f"seeds of {where}")
    check_seeds([scaled.settings.data.seed], f"data.seed of {where}")
    requests = {cell.data.key(): cell.data for cell in cells}
    for request in requests.values():
        data_config(request)  # unknown task, preset or data key: a ConfigError naming it
    if models:
        check_cells(cells, out or Path("experiment-output"), device=device)


def is_experiment_output(path: str | Path) -> bool:
    """Whether ``path`` was written by ``experiment run`` (so a run may fill it in place).

    The runner's lock file, a resolved spec in ``specs/`` or a ``results.parquet`` with
    the results columns tells; a bare ``specs/`` or ``cells/`` folder of the user's does
    not. Directories copied without hidden files (``docs/results/*``) keep their specs.
    """
    path = Path(path)
    if (path / LOCK_FILE).is_file():
        return True
    for spec in sorted((path / SPECS_DIR).glob("*--*.json")):
        try:
            data = json.loads(spec.read_text())
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
            continue
        if isinstance(data, dict) and all(key in data for key in RESOLVED_SPEC_KEYS):
            return True
    results = path / RESULTS_FILE
    if results.is_file():
        try:
            import pyarrow.parquet as pq

            names = pq.read_schema(results).names
        except Exception:  # damaged or not Parquet: not evidence of ours
            return False
        return all(column in names for column in RESULTS_REQUIRED)
    return False


def resolved_spec(scaled: ScaledSpec, sets: dict[str, Any]) -> dict[str, Any]:
    """The spec as the report reads it: one scale, axis points resolved, defaults filled."""
    spec = scaled.spec
    data = spec.model_dump(mode="json")
    data.pop("scales")
    data["scale"] = scaled.scale
    data["scale_settings"] = scaled.settings.model_dump(mode="json")
    data["preset"] = scaled.preset
    data["seeds"] = list(scaled.seeds)
    data["overrides"] = sets
    for points, raw in zip(scaled.points, data["axes"], strict=True):
        raw["points"] = [
            {"value": p.value, "label": p.label or str(p.value)}
            | ({} if p.init_from is None else {"init_from": p.init_from})
            for p in points
        ]
        raw.pop("values", None)
        raw.pop("select", None)
    for table in data["tables"]:
        table["rows"] = table["rows"] or list(spec.models)
    for figure in data["figures"]:
        figure["models"] = figure["models"] or list(spec.models)
    return data


def run_experiment(
    name: str,
    scale: str,
    out: str | Path,
    *,
    selection: Selection = Selection(),
    engine: str = "local",
    workers: int = 1,
    replace: bool = False,
    device: str = "auto",
    progress: bool = True,
    verbose: bool = False,
    command: str = "",
    cell_fn: Callable[[CellTask], dict[str, Any]] | None = None,
) -> InvocationSummary:
    """Run (or finish) one experiment at one scale into ``out``; see the module docstring.

    ``cell_fn`` replaces :func:`run_cell` (tests count and fake cells with it).
    """
    started = time.perf_counter()
    out = Path(out).resolve()
    scaled, cells = plan(name, scale, selection)
    spec = scaled.spec
    runner = cell_fn or run_cell
    pool = make_engine(engine, workers)
    # Every check before --out is touched: a bad config leaves no trace.
    check_plan(scaled, cells, selection, device=device, models=cell_fn is None, out=out)
    summary = InvocationSummary(spec.name, scale, out, cells=len(cells))
    # Into a new, empty or earlier experiment directory only; the lock file marks it ours.
    check_output_dir(out, is_ours=is_experiment_output, what="experiment output", replace=False)
    if (out / RESULTS_FILE).exists() and not (out / RESULTS_FILE).is_file():
        raise OutputError(f"{out / RESULTS_FILE} exists and is not a file; move it away")
    created = first_missing(out)
    try:
        store = ResultsStore(out)
        with store.locked():
            pass
        _check_stale(store, cells, replace=replace)
        # The spec describes the untagged grid, so a tagged calibration run leaves it
        # alone; in a folder that has none yet, the tagged run's own spec is the only
        # one the report can read its tables from.
        if not selection.tag or not spec_file(out, spec.name, scale).is_file():
            resolved = resolved_spec(scaled, selection.overrides)
            atomic_write_json(spec_file(out, spec.name, scale), resolved)
        store.reconcile(cells)
        todo = _with_lost_first_stages(cells, [c for c in cells if not store.is_done(c)], out)
        summary.skipped = len(cells) - len(todo)
        tasks = _build_tasks(
            todo,
            out,
            threads=threads_per_worker(workers) if engine == "local" else None,
            device=device,
            progress=progress,
            verbose=verbose and workers == 1,
        )
    except Exception:
        # no cell ran: a directory this call created goes again (an interrupt keeps it,
        # with the data sets generated so far, for the rerun)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    bar = _bar(len(tasks), spec.name, progress)
    try:
        for wave in stages(tasks):
            for row in pool.map(runner, wave):
                store.upsert([row])
                if row.get("status") == OK:
                    summary.ok += 1
                elif row.get("status") == INCOMPLETE:
                    summary.incomplete += 1
                else:
                    summary.failed.append(str(row.get("cell_id")))
                bar.set_postfix_str(f"ok={summary.ok} failed={len(summary.failed)}")
                bar.update(1)
    finally:
        bar.close()
        summary.wall_seconds = time.perf_counter() - started
        with store.locked():
            _log_invocation(
                out, summary, command=command, tag=selection.tag, sets=list(selection.sets)
            )
    return summary


def _build_tasks(
    todo: list[Cell],
    out: Path,
    *,
    threads: int | None,
    device: str,
    progress: bool,
    verbose: bool,
) -> list[CellTask]:
    """Generate each data set the cells need (all validated first), then one task per cell.

    ``threads=None`` (Ray): each cell uses as many threads as the CPUs it asks for.
    """
    groups = _by_data(todo)
    data_dirs = {key: data_dir_for(group[0].data, out) for key, group in groups.items()}
    by_id = {}
    for key, group in groups.items():
        data_dir = _prepare(group[0], data_dirs[key], out, progress=progress)
        baselines = majority_baselines(data_dir, group[0].splits)
        for cell in group:
            cpus = threads or int(max(1, cell.resources.get("cpus", 1)))
            by_id[cell.cell_id] = CellTask(
                cell,
                out,
                data_dir,
                threads=cpus,
                device=device,
                progress=verbose,
                baselines=baselines,
            )
    return [by_id[c.cell_id] for c in todo]  # grid order: models outermost, seeds innermost


def _with_lost_first_stages(cells: list[Cell], todo: list[Cell], out: Path) -> list[Cell]:
    """``todo`` plus every finished first stage that a second stage in it needs but whose
    weights are gone (its run directory or checkpoints deleted, say to save disk): it
    runs again (same seed and settings), so the second stage has weights to start from."""
    from lolameme.runs.checkpoint import latest_checkpoint

    by_id = {cell.cell_id: cell for cell in cells}
    needed = {cell.cell_id for cell in todo}
    for cell in todo:
        parent = cell.init_from
        while parent and parent not in needed:
            if latest_checkpoint(out / RUNS_DIR / parent) is not None:
                break
            needed.add(parent)
            parent = by_id[parent].init_from
    return [cell for cell in cells if cell.cell_id in needed]  # grid order


def stages(tasks: list[CellTask]) -> list[list[CellTask]]:
    """The tasks in waves: a two-stage cell runs in a later wave than the cell it starts
    from when that one runs too (otherwise it finished before: wave 0). Grid order is
    kept within a wave; one-stage grids are one wave."""
    todo = {task.cell.cell_id: task for task in tasks}
    depth: dict[str, int] = {}

    def wave(cell_id: str) -> int:
        if cell_id not in depth:
            parent = todo[cell_id].cell.init_from
            depth[cell_id] = wave(parent) + 1 if parent in todo else 0
        return depth[cell_id]

    waves: list[list[CellTask]] = [[] for _ in range(1 + max(map(wave, todo), default=-1))]
    for task in tasks:
        waves[depth[task.cell.cell_id]].append(task)
    return waves


def _check_stale(store: ResultsStore, cells: list[Cell], *, replace: bool) -> None:
    stale = store.stale(cells)
    if not stale:
        return
    if not replace:
        raise ConfigError(
            f"{len(stale)} cell(s) in {store.out} were run with other settings than the spec "
            f"has now (first: {stale[0].cell_id}); use a fresh --out, a --tag, or --replace "
            "to discard them"
        )
    for cell in stale:
        shutil.rmtree(store.out / RUNS_DIR / cell.cell_id, ignore_errors=True)
        record_path(store.out, cell.cell_id).unlink(missing_ok=True)


def _by_data(cells: list[Cell]) -> dict[str, list[Cell]]:
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.data.key(), []).append(cell)
    return groups


def _prepare(cell: Cell, path: Path, out: Path, *, progress: bool) -> Path:
    if not (path / MANIFEST).is_file() and progress:
        print(f"generating data {cell.data.preset} -> {path.relative_to(out)}", file=sys.stderr)
    return prepare_data(cell.data, out, workers=threads_per_worker(1))


def _bar(total: int, name: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"{name} cells", unit="cell", disable=not progress)


def _log_invocation(
    out: Path, summary: InvocationSummary, *, command: str, tag: str, sets: list[str]
) -> None:
    """Append one line to ``invocations.jsonl`` (rewritten atomically)."""
    path = out / INVOCATIONS_FILE
    old = path.read_bytes() if path.is_file() else b""  # kept as is, even if damaged
    line = {
        "command": command,
        "experiment": summary.experiment,
        "scale": summary.scale,
        "tag": tag,
        "sets": sets,
        "cells": summary.cells,
        "skipped": summary.skipped,
        "ok": summary.ok,
        "incomplete": summary.incomplete,
        "failed": len(summary.failed),
        "wall_seconds": round(summary.wall_seconds, 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_bytes(path, old + (json.dumps(line) + "\n").encode())
