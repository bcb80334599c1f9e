"""Running one grid cell: generate its data, train, evaluate, record one results row.

The grid's calls into the layers below (``quickstart`` makes the same three calls for
its one run):

- ``lolameme.data.generate.generate`` builds each data set once (:func:`prepare_data`);
- ``lolameme.training.TrainConfig`` / ``train`` train a run, resuming from its checkpoint;
- ``lolameme.evaluation.evaluate_run`` writes ``RUN/eval.json``, read back through
  :func:`lolameme.reporting.results.read_eval` like the report does.

:func:`run_cell` runs in a worker process (or a Ray task). It never raises for a failing
cell: it returns a row with ``status = "failed"`` and writes the traceback next to the
cell's record, so one diverging model does not stop a grid of sixty.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lolameme._io import atomic_write_json, atomic_write_text
from lolameme.data.store import MANIFEST
from lolameme.errors import ConfigError, format_validation_error
from lolameme.experiments.grid import Cell, DataRequest, check_train_settings
from lolameme.reporting.results import read_eval
from lolameme.runs.layout import (
    CELLS_DIR,
    DATA_DIR,
    FAILED,
    INCOMPLETE,
    OK,
    RUNS_DIR,
    metric_column,
)

# Per-split scalars copied from eval.json into the results row (as METRIC_SPLIT).
EVAL_METRICS = ("em", "loss", "answer_loss", "token_accuracy")
# eval.json's recall-gap groups ({"loss", "acc", "count"} each), flattened as
# GROUP_KEY_SPLIT: ar_hits_loss_test, other_acc_test, ...
RECALL_GROUPS = ("ar_hits", "other")
RECALL_KEYS = ("loss", "acc")


class IncompleteRun(Exception):
    """Training stopped before its last step (``train.stop_after``): rerun to resume."""


@dataclass(frozen=True)
class CellTask:
    """What a worker needs to run one cell; paths are absolute, so any worker can run it."""

    cell: Cell
    out: Path
    data_dir: Path
    threads: int | None = None
    device: str = "auto"
    progress: bool = False
    baselines: dict[str, float] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, float]:
        return self.cell.resources

    @property
    def run_dir(self) -> Path:
        return self.out / RUNS_DIR / self.cell.cell_id


def record_path(out: Path, cell_id: str) -> Path:
    """``DIR/cells/CELL_ID.json``: the cell's config while it runs, its row when done."""
    return Path(out) / CELLS_DIR / f"{cell_id}.json"


def read_record(out: Path, cell_id: str) -> dict[str, Any] | None:
    """A cell's record; None when missing, cut or damaged (the cell then runs again)."""
    try:
        record = json.loads(record_path(out, cell_id).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_finished(record: dict[str, Any] | None, fingerprint: str) -> bool:
    """Whether a cell's record says it finished with the settings of ``fingerprint`` (a
    record of other settings is stale, not finished)."""
    return bool(record and record.get("status") == OK and record.get("fingerprint") == fingerprint)


# -- data -------------------------------------------------------------------------------


def data_config(request: DataRequest) -> Any:
    """The data layer's resolved, validated config of ``request`` (a clear error if bad)."""
    from lolameme.data.generate import resolve_config
    from lolameme.data.tasks import get_task

    return resolve_config(get_task(request.task), request.preset, request.overrides, request.seed)


def data_dir_for(request: DataRequest, out: Path) -> Path:
    """``DIR/data/HASH``: one directory per distinct resolved data config.

    The hash is the data layer's own hash of the resolved config, so two requests that
    resolve to the same config (a preset value restated as an override) share a data set,
    and a preset that changes in the code gets a new one.
    """
    from lolameme.data.generate import config_hash

    return Path(out) / DATA_DIR / config_hash(data_config(request))[:16]


def prepare_data(request: DataRequest, out: Path, *, workers: int = 1) -> Path:
    """Generate the data set of ``request`` unless a complete one is already cached."""
    path = data_dir_for(request, out)
    if (path / MANIFEST).is_file():
        return path
    from lolameme.data.generate import generate

    generate(
        task_name=request.task,
        preset=request.preset,
        overrides=dict(request.overrides),
        out=path,
        seed=request.seed,
        workers=workers,
        overwrite=True,
    )
    return path


def majority_baselines(data_dir: Path, splits: tuple[str, ...]) -> dict[str, float]:
    """Per split, the exact match of always answering the most frequent training label.

    The floor a model must clear before its exact match means anything: with small
    integers, one label can be a sixth of a test set. Text data sets only.
    """
    from collections import Counter

    from lolameme.data.store import load_split, open_dataset

    info = open_dataset(data_dir)
    if info.format != "text":
        return {}
    train = load_split(info, "train", columns=["label"])["label"].astype(str)
    if train.empty:
        return {}
    top = Counter(train).most_common(1)[0][0]
    out = {}
    for split in splits:
        labels = load_split(info, split, columns=["label"])["label"].astype(str)
        out[split] = float((labels == top).mean()) if len(labels) else 0.0
    return out


# -- training settings ---------------------------------------------------------------------


def train_config(task: CellTask, *, resume: bool = True) -> Any:
    """The :class:`lolameme.training.TrainConfig` of a cell (validated: unknown keys fail)."""
    from pydantic import ValidationError

    from lolameme.training import TrainConfig

    cell = task.cell
    staged = {"init_from": task.out / RUNS_DIR / cell.init_from} if cell.init_from else {}
    if staged and "init_from" in cell.train:
        raise ConfigError(
            f"training settings of {cell.experiment}: give init_from as a path or as an axis "
            "point's init_from, not both"
        )
    try:
        return TrainConfig(
            data=task.data_dir,
            model=cell.model_spec,
            scale=cell.model_scale,
            out=task.run_dir,
            seed=cell.seed,
            threads=task.threads,
            device=task.device,
            resume=resume,
            **cell.train,
            **staged,
        )
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(exc, what=f"training settings of {cell.experiment}")
        ) from None


def check_cells(cells: list[Cell], out: Path, *, device: str = "auto") -> None:
    """Fail before any data is generated if a cell's model spec, model scale or training
    settings are invalid (the errors name the valid presets, scales and fields)."""
    from lolameme.models import parse_spec

    checked: set[str] = set()
    for cell in cells:
        # before the model layer sees mixer_kwargs, and before TrainConfig gets a key twice
        check_train_settings(cell.train, f"training settings of {cell.experiment}")
        mixer_kwargs = cell.train.get("mixer_kwargs")
        key = json.dumps([cell.model_spec, cell.model_scale, mixer_kwargs], sort_keys=True)
        if key not in checked:
            checked.add(key)
            parse_spec(
                cell.model_spec,
                scale=cell.model_scale,
                vocab_size=256,
                max_seq_len=64,
                mixer_kwargs=mixer_kwargs,
            )
    seen: set[str] = set()
    for cell in cells:
        key = json.dumps(cell.train, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            train_config(CellTask(cell=cell, out=out, data_dir=out, device=device))


# -- one cell ------------------------------------------------------------------------------


def run_cell(
    task: CellTask, work: Callable[[CellTask], dict[str, float]] | None = None
) -> dict[str, Any]:
    """Train (or resume) and evaluate one cell; return its results row.

    ``work`` replaces :func:`train_and_evaluate` (tests use a fake that writes the run
    files); everything else, the bookkeeping included, is the same.
    """
    record = record_path(task.out, task.cell.cell_id)
    atomic_write_json(record, {**_identity(task), "status": "running", "started_at": _now()})
    try:
        _check_first_stage(task)
        timings = (work or train_and_evaluate)(task)
        row = {**_identity(task), "status": OK, "error": "", **timings, **collect(task)}
    except KeyboardInterrupt:
        raise
    except IncompleteRun as exc:
        row = {**_identity(task), "status": INCOMPLETE, "error": str(exc)}
    except Exception as exc:  # any failure is recorded, the grid goes on
        atomic_write_text(record.with_suffix(".error.txt"), traceback.format_exc())
        row = {**_identity(task), "status": FAILED, "error": f"{type(exc).__name__}: {exc}"}
    row["finished_at"] = _now()
    atomic_write_json(record, row)
    return row


def _check_first_stage(task: CellTask) -> None:
    """A two-stage cell needs the cell it starts from finished, with the settings the
    spec gives it now (the runner runs that one in an earlier wave)."""
    cell = task.cell
    if not cell.init_from:
        return
    source = read_record(task.out, cell.init_from)
    if not is_finished(source, cell.init_fingerprint):
        raise RuntimeError(
            f"the cell it starts from, {cell.init_from}, has not finished "
            f"(status: {(source or {}).get('status', 'not run')}); rerun the experiment to "
            "retry both"
        )


def _identity(task: CellTask) -> dict[str, Any]:
    cell = task.cell
    return {
        "experiment": cell.experiment,
        "scale": cell.scale,
        "tag": cell.tag,
        "cell_id": cell.cell_id,
        "model": cell.model,
        "model_spec": cell.model_spec,
        "seed": cell.seed,
        **cell.settings,
        **({"init_from": cell.init_from} if cell.init_from else {}),
        "fingerprint": cell.fingerprint,
        "overrides": " ".join(cell.sets),
        **{metric_column("baseline", s): v for s, v in task.baselines.items()},
        "run_dir": str(Path(RUNS_DIR) / cell.cell_id),
        "data_dir": os.path.relpath(task.data_dir, task.out),
    }


def train_and_evaluate(task: CellTask) -> dict[str, float]:
    """Train the cell's run (resuming its checkpoint if any), then evaluate it."""
    from lolameme.evaluation import evaluate_run
    from lolameme.evaluation.evaluate import evaluate_frame
    from lolameme.runs.checkpoint import latest_checkpoint
    from lolameme.runs.layout import RUN_JSON
    from lolameme.training import train

    run_dir = task.run_dir
    resume = (run_dir / RUN_JSON).is_file() and latest_checkpoint(run_dir) is not None
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)  # killed before its first checkpoint: nothing worth resuming
    started = time.perf_counter()
    train(train_config(task, resume=resume), progress=task.progress, evaluate=evaluate_frame)
    trained = time.perf_counter()
    finished = json.loads((run_dir / RUN_JSON).read_text()).get("finished") or {}
    if finished.get("complete") is False:
        raise IncompleteRun(f"training stopped at step {finished.get('step')}; rerun to resume")
    evaluate_run(
        run_dir, splits=list(task.cell.splits), limit=task.cell.eval_limit, progress=task.progress
    )
    # a resumed cell also counts the training its checkpoint holds (steps redone after a
    # kill are counted once, in this call)
    seconds = trained - started + float(finished.get("resumed_seconds", 0.0))
    return {"train_seconds": seconds, "eval_seconds": time.perf_counter() - trained}


def collect(task: CellTask) -> dict[str, Any]:
    """The numbers of a finished run: metrics per split, final loss, size, steps."""
    from lolameme.runs.layout import METRICS, RUN_JSON

    run_dir = task.run_dir
    meta = json.loads((run_dir / RUN_JSON).read_text())
    row: dict[str, Any] = {
        "final_loss": final_loss(run_dir / METRICS),
        "n_params": meta.get("num_parameters"),
        "steps": (meta.get("finished") or {}).get("step", meta.get("total_steps")),
    }
    evals = read_eval(task.out, os.path.relpath(run_dir, task.out))
    for split, summary in evals.items():
        for metric in EVAL_METRICS:
            if isinstance(summary.get(metric), (int, float)):
                row[metric_column(metric, split)] = float(summary[metric])
        for group in RECALL_GROUPS:
            values = summary.get(group) or {}
            for key in RECALL_KEYS:
                if isinstance(values.get(key), (int, float)):
                    row[metric_column(f"{group}_{key}", split)] = float(values[key])
    missing = [s for s in task.cell.splits if s not in evals]
    if missing:
        raise RuntimeError(f"{run_dir}/eval.json has no result for split(s) {missing}")
    return row


def final_loss(metrics: Path) -> float | None:
    """The loss of the last training event in ``metrics.jsonl``."""
    loss = None
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "train" and event.get("loss") is not None:
                loss = float(event["loss"])
    return loss


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
