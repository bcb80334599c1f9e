"""``lolameme eval RUN``: evaluate a run's latest checkpoint on its data set's test splits.

Writes ``RUN/predictions-SPLIT.parquet`` per split and ``RUN/eval.json``::

    {"run": ..., "step": 1200, "format": "text", "data": {...},
     "splits": {"test_with_global": {"n", "em", "loss", "answer_loss", "limit", "baseline",
                                     "ar_hits": {"loss", "acc", "count"}, "other": {...},
                                     "by": {"n_statements": {"1": {"n", "em"}}, ...}}}}

Evaluating some splits later merges them into an existing ``eval.json`` of the same
checkpoint step and data set; a newer checkpoint starts the file afresh. Another data set
(``--data``) must be of the run's task and format, and encodable by its tokenizer; its
results go to ``RUN/evals/FINGERPRINT/`` (the data set's fingerprint), never over the
run's own ``eval.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lolameme._io import atomic_path, atomic_write_json, nearest_existing
from lolameme._threads import default_threads
from lolameme.data.store import DatasetInfo, load_split, open_dataset
from lolameme.errors import DataError, OutputError
from lolameme.evaluation.evaluate import (
    check_fits,
    check_vocabulary,
    evaluate_frame,
    path_for_predictions,
)
from lolameme.runs.directory import data_fingerprint, load_run
from lolameme.runs.layout import EVAL_JSON

TRAIN_SPLIT = "train"


def _dataset_for(meta: dict[str, Any], data: str | Path | None) -> DatasetInfo:
    """The run's data set, refusing one that was regenerated differently since training."""
    if data is not None:
        info = open_dataset(data)
        task, fmt = meta["data"].get("task"), meta["format"]
        if (info.task, info.format) != (task, fmt):
            raise DataError(
                f"cannot evaluate on {info.path}: it is a '{info.task}' data set "
                f"({info.format} format), the run was trained on '{task}' ({fmt} format)"
            )
        return info
    info = open_dataset(meta["data"]["path"])
    if data_fingerprint(info) != meta["data"]["fingerprint"]:
        raise DataError(
            f"the data set at {info.path} changed since this run was trained "
            "(pass --data to evaluate on it anyway)"
        )
    return info


def evaluate_run(
    run_dir: str | Path,
    splits: list[str] | None = None,
    limit: int | None = None,
    progress: bool = True,
    *,
    batch_size: int = 256,
    device: str = "auto",
    data: str | Path | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Evaluate every non-train split (or ``splits``); write and return ``eval.json``."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads or default_threads())  # torch's one per core stalls when busy
    try:
        return _evaluate_run(run_dir, splits, limit, progress, batch_size, device, data)
    finally:
        torch.set_num_threads(previous)


def _evaluate_run(
    run_dir: str | Path,
    splits: list[str] | None,
    limit: int | None,
    progress: bool,
    batch_size: int,
    device: str,
    data: str | Path | None,
) -> dict[str, Any]:
    run = load_run(run_dir, device=device)
    info = _dataset_for(run.meta, data)
    chosen = splits or [s for s in info.splits if s != TRAIN_SPLIT]
    for split in chosen:
        info.rows(split)  # unknown split: one error naming the available ones
    max_new = run.meta.get("max_answer_tokens")
    top = most_common_train_label(info)
    fingerprint = data_fingerprint(info)
    # Other data than the run's own: results beside, not over, the run's eval.json.
    out = (
        run.path
        if fingerprint == run.meta["data"]["fingerprint"]
        else eval_dir(run.path, fingerprint)
    )
    _check_writable(out)
    frames = {}
    for split in chosen:  # every check before the first (slow) decoding
        frame = load_split(info, split)
        if limit is not None:
            frame = frame.iloc[:limit]
        check_vocabulary(run.codec, frame, f"{info.path} split '{split}'")
        check_fits(run.codec, frame, int(run.meta["max_seq_len"]), max_new)
        frames[split] = frame
    results: dict[str, Any] = {}
    for split, frame in frames.items():
        predictions, summary = evaluate_frame(
            run.model,
            run.codec,
            frame,
            max_new_tokens=max_new,
            batch_size=batch_size,
            device=run.device,
            progress=progress,
            desc=split,
        )
        summary["limit"] = limit
        if top is not None:  # the floor an EM must clear, on the same items
            summary["baseline"] = float((frame["label"].astype(str) == top).mean())
        target = path_for_predictions(out, split)
        try:
            with atomic_path(target) as tmp:
                predictions.to_parquet(tmp, index=False)
        except PermissionError:  # its file name is the temporary sibling: name the user's
            raise OutputError(f"permission denied: cannot write {target}") from None
        results[split] = summary
    report = _merge(out / EVAL_JSON, run.step, fingerprint, results)
    report.update(
        run=str(run.path),
        step=run.step,
        format=run.format,
        model=run.meta["config"]["model"],
        data={"path": str(info.path), "fingerprint": fingerprint},
    )
    try:
        atomic_write_json(out / EVAL_JSON, report)
    except PermissionError:
        raise OutputError(f"permission denied: cannot write {out / EVAL_JSON}") from None
    return report


def _check_writable(out: Path) -> None:
    """Refuse, before decoding, a results directory that cannot be written.

    The prediction files are replaced split by split and ``eval.json`` last: checking the
    directory first means a read-only run fails before it decodes or replaces anything.
    (A directory that turns read-only during the evaluation can still leave new
    predictions beside an old ``eval.json``.)
    """
    existing = nearest_existing(out)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"permission denied: cannot write {out} ({existing} is read-only)")


def most_common_train_label(info: DatasetInfo) -> str | None:
    """The training split's most frequent label (text data sets), else ``None``.

    Always answering it scores the *majority-label baseline*: with small integers one
    label can be a sixth of a test split, so an EM means something only above it.
    """
    from collections import Counter

    if info.format != "text" or TRAIN_SPLIT not in info.splits:
        return None
    labels = load_split(info, TRAIN_SPLIT, columns=["label"])["label"].astype(str)
    return Counter(labels).most_common(1)[0][0] if len(labels) else None


def eval_dir(run_dir: str | Path, fingerprint: str) -> Path:
    """Where the evaluation of a run on another data set (by fingerprint) is written."""
    return Path(run_dir) / "evals" / fingerprint


def _merge(path: Path, step: int, fingerprint: str, results: dict[str, Any]) -> dict[str, Any]:
    splits: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            old = {}
        if not isinstance(old, dict) or not isinstance(old.get("data", {}), dict):
            old = {}  # damaged: rewritten whole below
        if old.get("step") == step and old.get("data", {}).get("fingerprint") == fingerprint:
            splits.update(old.get("splits") if isinstance(old.get("splits"), dict) else {})
    splits.update(results)
    return {"splits": splits}
